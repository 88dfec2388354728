//! The checked-in test vectors of `test-vectors/evidence/`: one evidence package per edge of
//! the format that `docs/EVIDENCE.md` settles (nesting exactly at the limit and one over, the
//! details size counted in JCS bytes, duplicate member names, a byte order mark, an unknown
//! format, the system actor's id, the worked example), each with its expected verdict in
//! `expected.json`, so an independent verifier can run the same files.
//!
//! Two tests keep them honest: every file is regenerated here and must equal the checked-in
//! one byte for byte (so a vector cannot drift from what the code writes), and every file is
//! verified and must give its expected verdict. Regenerate after a deliberate change with
//! `ATTESTA_WRITE_VECTORS=1 cargo test -p attesta-core --lib vectors`.

use super::chain::ChainHead;
use super::checkpoint::{Checkpoint, KeyName, LogSigner, VerifierKey};
use super::event::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, MAX_DETAILS_BYTES, MAX_DETAILS_DEPTH, NewEvent,
    PersonalData, Salt, Text,
};
use super::hash::Sha256;
use super::merkle::MemoryTree;
use super::package::EvidencePackage;
use super::verify::{Status, Verdict, verify_package_json};
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/evidence")
}

fn signer() -> LogSigner {
    LogSigner::from_seed(KeyName::parse("log.attesta.example").expect("name"), &[0x01; 32])
}

const FILE: &[u8] = b"%PDF-1.7 example";

fn text(s: &str) -> Option<Text> {
    Some(Text::new(s).expect("short"))
}

/// A package of one document `doc-v` whose events are `(type, actor id, details, personal)`.
fn package(events: Vec<(EventType, &str, Value, PersonalData)>) -> EvidencePackage {
    let signer = signer();
    let mut head = ChainHead::genesis(DocumentId::parse("doc-v").expect("id"));
    let file = Sha256::digest(FILE);
    let mut tree = MemoryTree::new();
    let mut placed = Vec::new();
    for (i, (event_type, actor, details, personal)) in events.into_iter().enumerate() {
        let kind = ActorKind::parse(actor.split(':').next().expect("kind")).expect("kind");
        let event = head
            .append(
                NewEvent {
                    event_id: EventId::parse(&format!("evt-{i}")).expect("id"),
                    event_type,
                    time: Timestamp::from_micros(1_795_329_000_000_000 + i as i64 * 60_000_000),
                    actor: Actor { kind, id: Some(ActorId::parse(actor).expect("id")) },
                    file_sha256: file,
                    client_file_sha256: None,
                    details: Details::from_value(details).expect("details within the limits"),
                },
                personal,
                Salt::from_bytes([i as u8 + 1; 32]),
            )
            .expect("append");
        tree.push_leaf_hash(event.leaf_hash());
        placed.push((event, i as u64));
    }
    let checkpoint = Checkpoint::new(signer.verifier_key().name(), tree.size(), tree.root());
    let note = signer.sign_checkpoint(&checkpoint).expect("sign");
    EvidencePackage::assemble(placed, &note, &tree, &signer).expect("assembles")
}

fn uploaded(details: Value) -> (EventType, &'static str, Value, PersonalData) {
    let owner = PersonalData { email: text("owner@example.com"), name: text("Olivia Owner"), ..PersonalData::none() };
    (EventType::DocumentUploaded, "user:42", details, owner)
}

fn upload_details(title: &str) -> serde_json::Map<String, Value> {
    let Value::Object(map) =
        json!({"title": title, "pages": 1, "size": FILE.len(), "source": "pdf", "pdf_version": "1.7"})
    else {
        unreachable!("an object literal")
    };
    map
}

/// `[[…[]…]]` whose innermost array is at `depth` when the array itself is a member of details.
fn nested(depth: usize) -> Value {
    (1..depth).fold(json!([]), |inner, _| json!([inner]))
}

fn json_of(package: &EvidencePackage) -> Vec<u8> {
    package.to_json().into_bytes()
}

fn edit(json: &[u8], change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(json).expect("json");
    change(&mut value);
    serde_json::to_string_pretty(&value).expect("json").into_bytes()
}

fn replace_once(json: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(json.to_vec()).expect("utf-8");
    assert!(text.contains(from), "{from} not in the vector");
    text.replacen(from, to, 1).into_bytes()
}

/// Every vector: file name and bytes.
fn vectors() -> Vec<(&'static str, Vec<u8>)> {
    let worked = json_of(&super::golden::example().package);

    let system = json_of(&package(vec![
        uploaded(Value::Object(upload_details("Lease"))),
        (
            EventType::RecipientEmailSent,
            super::event::SYSTEM_ACTOR_ID,
            json!({"recipient": "r-1", "position": 0, "purpose": "signing_request", "resend": false}),
            // A system event about a person carries that person's data.
            PersonalData { email: text("rita@example.org"), name: text("Rita Recipient"), ..PersonalData::none() },
        ),
    ]));

    let mut deep = upload_details("Deep");
    deep.insert("nested".into(), nested(MAX_DETAILS_DEPTH));
    let depth_at_limit = json_of(&package(vec![uploaded(Value::Object(deep))]));
    let depth_over = edit(&depth_at_limit, |v| {
        let nested = &mut v["events"][0]["record"]["details"]["nested"];
        *nested = json!([nested.take()]);
    });

    // Filler so that the details' JCS is exactly the limit; the file spells some of it with
    // `\u0041` escapes, so its own bytes are more than the limit: only JCS bytes count.
    let mut big = upload_details("Big");
    big.insert("filler".into(), json!(""));
    let base = serde_json_canonicalizer::to_vec(&big).expect("jcs").len();
    big.insert("filler".into(), json!("A".repeat(MAX_DETAILS_BYTES - base)));
    assert_eq!(serde_json_canonicalizer::to_vec(&big).expect("jcs").len(), MAX_DETAILS_BYTES);
    let size_at_limit =
        replace_once(&json_of(&package(vec![uploaded(Value::Object(big))])), "AAAA", "\\u0041\\u0041AA");
    let size_over = edit(&size_at_limit, |v| {
        let filler = &mut v["events"][0]["record"]["details"]["filler"];
        *filler = json!(format!("{}A", filler.as_str().expect("text")));
    });

    let duplicate_in_details =
        replace_once(&worked, "\"title\": \"Lease\"", "\"title\": \"Lease\",\n          \"title\": \"Lease\"");
    let duplicate_at_top = replace_once(
        &worked,
        "\"format\": \"attesta/evidence@v1\",",
        "\"format\": \"attesta/evidence@v1\",\n  \"format\": \"attesta/evidence@v1\",",
    );
    let bom = [b"\xEF\xBB\xBF".as_slice(), &worked].concat();
    let unknown_format = replace_once(&worked, "attesta/evidence@v1", "attesta/evidence@v2");
    let edited_title = replace_once(&worked, "\"title\": \"Lease\"", "\"title\": \"Loan\"");

    vec![
        ("worked-example.json", worked),
        ("system-actor.json", system),
        ("details-depth-16.json", depth_at_limit),
        ("details-depth-17.json", depth_over),
        ("details-jcs-65536-bytes.json", size_at_limit),
        ("details-jcs-65537-bytes.json", size_over),
        ("duplicate-member-in-details.json", duplicate_in_details),
        ("duplicate-member-at-top.json", duplicate_at_top),
        ("byte-order-mark.json", bom),
        ("unknown-format.json", unknown_format),
        ("edited-title.json", edited_title),
    ]
}

#[test]
fn the_checked_in_vectors_are_what_the_code_writes() {
    let write = std::env::var_os("ATTESTA_WRITE_VECTORS").is_some();
    for (name, bytes) in vectors() {
        let path = dir().join(name);
        if write {
            std::fs::write(&path, &bytes).expect("write vector");
            continue;
        }
        let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(stored == bytes, "{name} differs from what the code writes: regenerate (see the module docs)");
    }
}

#[test]
fn every_vector_gives_its_expected_verdict() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir().join("expected.json")).expect("expected.json")).expect("json");
    let key = VerifierKey::parse(expected["log_key"].as_str().expect("log_key")).expect("key");
    let cases = expected["vectors"].as_array().expect("vectors");
    assert_eq!(cases.len(), vectors().len(), "every vector has an expectation");
    for case in cases {
        let name = case["file"].as_str().expect("file");
        let bytes = std::fs::read(dir().join(name)).expect("vector");
        let outcome = verify_package_json(&bytes, Some(&key));
        match case["verdict"].as_str().expect("verdict") {
            "unreadable" => {
                let err = outcome.expect_err(name).to_string();
                let why = case["error"].as_str().expect("error");
                assert!(err.contains(why), "{name}: {err:?} does not say {why:?}");
            }
            verdict => {
                let report = outcome.unwrap_or_else(|e| panic!("{name}: unreadable: {e}"));
                let want = if verdict == "valid" { Verdict::Valid } else { Verdict::Invalid };
                assert_eq!(report.verdict(), want, "{name}: {report}");
                let failed: Vec<&str> =
                    report.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name).collect();
                let want_failed: Vec<&str> =
                    case["failed"].as_array().map_or(vec![], |a| a.iter().filter_map(Value::as_str).collect());
                assert_eq!(failed, want_failed, "{name}: {report}");
            }
        }
    }
}

#[test]
fn the_worked_example_in_evidence_md_is_the_generated_package() {
    let doc = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/EVIDENCE.md"))
        .expect("docs/EVIDENCE.md");
    let package = super::golden::example().package.to_json();
    assert!(
        doc.contains(&format!("```json\n{package}\n```")),
        "the package in EVIDENCE.md §12 is not the generated one"
    );
    let report = verify_package_json(package.as_bytes(), Some(signer().verifier_key())).expect("readable");
    assert!(doc.contains(&format!("```text\n{report}\n```")), "the report in EVIDENCE.md §12 is not the generated one");
}
