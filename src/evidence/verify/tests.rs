use super::*;
use crate::evidence::chain::ChainHead;
use crate::evidence::checkpoint::{KeyName, LogSigner};
use crate::evidence::event::{Details, NewEvent};
use crate::evidence::fixture::{LOG_NAME, fixture};
use crate::evidence::hash::Sha256;
use crate::evidence::merkle::MemoryTree;
use crate::time::Timestamp;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

const ALL_CHECKS: [&str; 12] = [
    "log_key",
    "key_pinned",
    "checkpoint_signature",
    "document_head",
    "event_hashes",
    "document_ids",
    "sequence_numbers",
    "hash_chain",
    "personal_data",
    "log_order",
    "inclusion_proofs",
    "file_hashes",
];

fn real_key() -> &'static VerifierKey {
    fixture().signer.verifier_key()
}

fn package() -> EvidencePackage {
    fixture().package_a.clone()
}

/// Whether the verifier noticed: the input is unreadable, or some check failed.
fn detected_json(json: &[u8], key: Option<&VerifierKey>) -> bool {
    match verify_package_json(json, key) {
        Err(_) => true,
        // Tampering shows as a failed check; without a pinned key the verdict is never valid
        // anyway, so that alone would prove nothing.
        Ok(report) => !report.no_failures(),
    }
}

fn failed(report: &Report) -> Vec<&'static str> {
    report.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name).collect()
}

fn attacker() -> LogSigner {
    LogSigner::from_seed(KeyName::parse(LOG_NAME).expect("name"), &[0x66; 32])
}

#[test]
fn the_fixture_packages_pass_every_check() {
    for package in [&fixture().package_a, &fixture().package_b] {
        let report = verify_package(package, None);
        assert!(report.no_failures(), "{report}");
        assert_eq!(report.verdict(), Verdict::Unverified, "no key pinned: nothing failed, nothing proven");
        let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
        assert_eq!(names, ALL_CHECKS);
        assert_eq!(report.check("key_pinned").map(|c| c.status), Some(Status::Skip));
        assert_eq!(report.checks.iter().filter(|c| c.status == Status::Pass).count(), ALL_CHECKS.len() - 1);

        let pinned = verify_package(package, Some(real_key()));
        assert!(pinned.checks.iter().all(|c| c.status == Status::Pass), "{pinned}");
    }
}

#[test]
fn pretty_and_compact_json_read_back_to_the_same_package() {
    let package = package();
    for json in [package.to_json(), package.to_json_compact()] {
        let read = EvidencePackage::from_json(json.as_bytes()).expect("readable");
        assert_eq!(read, package);
        assert!(verify_package_json(json.as_bytes(), Some(real_key())).expect("readable").is_valid());
    }
}

#[test]
fn a_package_stays_valid_after_its_personal_data_is_purged() {
    let mut package = package();
    package.purge_personal_data();
    let json = package.to_json();
    for secret in ["owner@example.com", "Rita Recipient", "203.0.113.7", "Firefox", "Berlin", "\"salt\""] {
        assert!(!json.contains(secret), "{secret} survived the purge");
    }
    let report = verify_package_json(json.as_bytes(), Some(real_key())).expect("readable");
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.check("personal_data").map(|c| c.status), Some(Status::Skip));
}

#[test]
fn a_package_stays_valid_when_only_some_events_were_purged() {
    let mut package = package();
    for event in package.events.iter_mut().step_by(2) {
        event.personal = None;
        event.salt = None;
    }
    let report = verify_package(&package, Some(real_key()));
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.check("personal_data").map(|c| c.status), Some(Status::Pass));
}

#[test]
fn personal_data_without_its_salt_or_with_different_values_fails() {
    let mut package = package();
    package.events[1].salt = None;
    package.events[3].personal.as_mut().expect("present").email = None;
    let report = verify_package(&package, None);
    assert_eq!(failed(&report), vec!["personal_data"]);
    let failures: Vec<&str> = report.failures().map(|(_, f)| f).collect();
    assert_eq!(
        failures,
        vec![
            "event 1 (document.sent): personal data without its salt",
            "event 3 (recipient.viewed): personal data does not match its commitment",
        ]
    );
}

#[test]
fn unreadable_input_is_an_error_rather_than_a_failed_report() {
    let package = package();
    let mut value: Value = serde_json::from_str(&package.to_json()).expect("json");
    value["format"] = Value::from("attesta/evidence@v2");
    assert_eq!(
        verify_package_json(value.to_string().as_bytes(), None),
        Err(PackageError::UnsupportedFormat("attesta/evidence@v2".into()))
    );
    let mut value: Value = serde_json::from_str(&package.to_json()).expect("json");
    value["document"]["title"] = Value::from("extra");
    assert!(matches!(verify_package_json(value.to_string().as_bytes(), None), Err(PackageError::Json(_))));
    let mut value: Value = serde_json::from_str(&package.to_json()).expect("json");
    value["events"] = Value::Array(vec![]);
    assert_eq!(verify_package_json(value.to_string().as_bytes(), None), Err(PackageError::NoEvents));
    let mut value: Value = serde_json::from_str(&package.to_json()).expect("json");
    value["events"][0]["record"]["v"] = Value::from(2);
    assert!(matches!(verify_package_json(value.to_string().as_bytes(), None), Err(PackageError::Json(_))));
    assert!(matches!(verify_package_json(b"{", None), Err(PackageError::Json(_))));
    assert!(matches!(verify_package_json(b"[]", None), Err(PackageError::Json(_))));
    let json = package.to_json();
    assert!(matches!(verify_package_json(&json.as_bytes()[..json.len() / 2], None), Err(PackageError::Json(_))));
}

#[test]
fn failures_say_which_event_broke_and_how() {
    let mut package = package();
    package.events[3].record.time = Timestamp::from_micros(0);
    let report = verify_package(&package, None);
    assert_eq!(failed(&report), vec!["event_hashes"]);
    assert_eq!(report.failures().next(), Some(("event_hashes", "event 3 (recipient.viewed): hash mismatch")));
    let text = report.to_string();
    assert!(text.contains("FAIL event_hashes\n     event 3 (recipient.viewed): hash mismatch\n"), "{text}");
    assert!(text.ends_with("INVALID: 1 of 12 checks failed"), "{text}");
    let unpinned = verify_package(&fixture().package_a, None).to_string();
    assert!(unpinned.ends_with("NOT VERIFIED: no check failed, but key_pinned could not run"), "{unpinned}");
    let pinned = verify_package(&fixture().package_a, Some(real_key())).to_string();
    assert!(pinned.ends_with("VALID: every check passed"), "{pinned}");
}

#[test]
fn dropping_the_last_events_is_caught_by_the_signed_document_head() {
    let mut package = package();
    package.events.truncate(package.events.len() - 2);
    package.document.latest_sha256 = package.events.last().expect("events").record.file_sha256;
    let report = verify_package(&package, Some(real_key()));
    assert_eq!(failed(&report), vec!["document_head"]);
    let failures: Vec<&str> = report.failures().map(|(_, f)| f).collect();
    assert_eq!(
        failures,
        vec![
            "the log recorded 9 events, the package has 7",
            "the last event is not the one the log recorded as the document's latest",
        ]
    );
}

#[test]
fn an_event_moved_from_another_document_is_caught() {
    let mut package = package();
    let foreign = fixture().package_b.events[2].clone();
    package.events.insert(2, foreign);
    let report = verify_package(&package, None);
    let failed = failed(&report);
    for check in ["document_head", "document_ids", "sequence_numbers", "hash_chain", "log_order"] {
        assert!(failed.contains(&check), "{check} should fail: {report}");
    }
}

#[test]
fn a_re_signed_forgery_passes_only_when_no_key_is_pinned() {
    // Someone rewrites an event, rebuilds the chain and the whole log, and signs it all with a
    // key of their own: self-consistent, so only pinning the real key exposes it.
    let forger = attacker();
    let mut events = fixture().doc_a.clone();
    events[0].0.record.details = Details::empty();
    let mut head = ChainHead::genesis(events[0].0.record.document_id.clone());
    let mut tree = MemoryTree::new();
    let mut rebuilt = Vec::new();
    for (event, _) in &events {
        let record = &event.record;
        let new = NewEvent {
            event_id: record.event_id.clone(),
            event_type: record.event_type.clone(),
            time: record.time,
            actor: record.actor.clone(),
            file_sha256: record.file_sha256,
            client_file_sha256: record.client_file_sha256,
            details: record.details.clone(),
        };
        let event = head
            .append(new, event.personal.clone().expect("present"), event.salt.clone().expect("present"))
            .expect("append");
        rebuilt.push((event.clone(), tree.size()));
        tree.push_leaf_hash(event.leaf_hash());
    }
    let checkpoint = Checkpoint::new(forger.verifier_key().name(), tree.size(), tree.root());
    let note = forger.sign_checkpoint(&checkpoint).expect("sign");
    let forged = EvidencePackage::assemble(rebuilt, &note, &tree, &forger).expect("forgery is self-consistent");

    assert!(verify_package(&forged, None).no_failures());
    assert_eq!(verify_package(&forged, None).verdict(), Verdict::Unverified, "never valid without a pinned key");
    let pinned = verify_package(&forged, Some(real_key()));
    // The proofs do lead to the forged root; it is the signature on that root that fails.
    assert_eq!(failed(&pinned), vec!["key_pinned", "checkpoint_signature", "document_head"]);
}

#[test]
fn a_forged_checkpoint_signature_fails_with_or_without_a_pinned_key() {
    let mut package = package();
    let note = package.log.checkpoint.clone();
    let split = note.rfind(' ').expect("signature line");
    let mut blob = real_key().key_id().to_be_bytes().to_vec();
    blob.extend_from_slice(&[0x5a; 64]);
    package.log.checkpoint = format!("{} {}\n", &note[..split], BASE64.encode(blob));
    for key in [None, Some(real_key())] {
        let report = verify_package(&package, key);
        assert!(failed(&report).contains(&"checkpoint_signature"), "{report}");
    }
}

#[test]
fn assembling_refuses_a_checkpoint_that_does_not_cover_the_events() {
    let f = fixture();
    let name = KeyName::parse(LOG_NAME).expect("name");
    let early_size = f.doc_a[4].1;
    let early = Checkpoint::new(&name, early_size, crate::evidence::merkle::root(&f.tree, early_size).expect("root"));
    let note = f.signer.sign_checkpoint(&early).expect("sign");
    assert!(EvidencePackage::assemble(f.doc_a.clone(), &note, &f.tree, &f.signer).is_err());
    let mixed: Vec<_> = f.doc_a.iter().chain(&f.doc_b).cloned().collect();
    assert_eq!(
        EvidencePackage::assemble(mixed, &f.checkpoint_note, &f.tree, &f.signer),
        Err(PackageError::MixedDocuments)
    );
    assert_eq!(EvidencePackage::assemble(vec![], &f.checkpoint_note, &f.tree, &f.signer), Err(PackageError::NoEvents));
}

#[test]
fn assembling_reads_only_the_planned_proof_nodes() {
    let f = fixture();
    let indices: Vec<u64> = f.doc_a.iter().map(|(_, i)| *i).collect();
    let plan = EvidencePackage::proof_nodes(&indices, f.tree.size()).expect("plan");
    let nodes = crate::evidence::fixture::PlannedNodes { tree: &f.tree, plan };
    let package = EvidencePackage::assemble(f.doc_a.clone(), &f.checkpoint_note, &nodes, &f.signer).expect("assemble");
    assert_eq!(package, f.package_a);
}

// ---- tamper probes --------------------------------------------------------------------------

fn compact_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| fixture().package_a.to_json_compact())
}

/// The fixture package as a JSON value, with the path to every scalar in it.
fn json_leaves() -> &'static (Value, Vec<Vec<Value>>) {
    static LEAVES: OnceLock<(Value, Vec<Vec<Value>>)> = OnceLock::new();
    LEAVES.get_or_init(|| {
        let value: Value = serde_json::from_str(compact_json()).expect("json");
        let mut paths = Vec::new();
        leaves(&value, &mut Vec::new(), &mut paths);
        (value, paths)
    })
}

/// Every scalar in a JSON value, as a path of keys and indices.
fn leaves(value: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Value::from(k.as_str()));
                leaves(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Value::from(i));
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(value: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().expect("index") as usize],
        _ => unreachable!("paths hold keys and indices"),
    })
}

/// A different value of the same kind (or, for null, a plausible one).
fn changed(value: &Value, seed: usize) -> Value {
    match value {
        Value::String(s) if !s.is_empty() => {
            let chars: Vec<char> = s.chars().collect();
            let i = seed % chars.len();
            let replacement = ['0', 'a', 'f', 'Z', '=', ' ', '\n', '.', 'é'][seed % 9];
            let replacement = if chars[i] == replacement { '1' } else { replacement };
            let mut out = chars.clone();
            out[i] = replacement;
            Value::from(out.into_iter().collect::<String>())
        }
        Value::String(_) => Value::from("x"),
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Value::from(if seed.is_multiple_of(2) || u == 0 { u + 1 } else { u - 1 }),
            (None, Some(f)) => Value::from(f + 0.25),
            _ => Value::from(0),
        },
        Value::Bool(b) => Value::from(!b),
        Value::Null => Value::from(Sha256::digest(&seed.to_be_bytes()).to_hex()),
        other => other.clone(),
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Move(usize, usize),
    InsertForeign(usize, usize),
    Truncate(usize),
    MoveToOtherDocument(usize, usize),
    RewriteAndRechain(usize),
    FlipProofBit(usize, usize, usize),
    DropProofHash(usize, usize),
    AppendProofHash(usize),
    ShiftLogIndex(usize, i8),
    BorrowProof(usize, usize),
}

fn edits() -> impl Strategy<Value = Edit> {
    let n = 9usize;
    prop_oneof![
        (0..n).prop_map(Edit::Drop),
        (0..n).prop_map(Edit::Duplicate),
        (0..n, 0..n).prop_filter("distinct", |(a, b)| a != b).prop_map(|(a, b)| Edit::Swap(a, b)),
        (0..n, 0..n).prop_filter("distinct", |(a, b)| a != b).prop_map(|(a, b)| Edit::Move(a, b)),
        (0..4usize, 0..=n).prop_map(|(a, b)| Edit::InsertForeign(a, b)),
        (1..n).prop_map(Edit::Truncate),
        (0..n, 0..5usize).prop_map(|(a, b)| Edit::MoveToOtherDocument(a, b)),
        (0..n).prop_map(Edit::RewriteAndRechain),
        (0..n, 0..64usize, 0..256usize).prop_map(|(e, h, b)| Edit::FlipProofBit(e, h, b)),
        (0..n, 0..64usize).prop_map(|(e, h)| Edit::DropProofHash(e, h)),
        (0..n).prop_map(Edit::AppendProofHash),
        (0..n, prop_oneof![Just(-1i8), Just(1i8), Just(7i8)]).prop_map(|(e, d)| Edit::ShiftLogIndex(e, d)),
        (0..n, 0..n).prop_filter("distinct", |(a, b)| a != b).prop_map(|(a, b)| Edit::BorrowProof(a, b)),
    ]
}

/// Applies an edit; returns the package to verify (B's, for a move to the other document).
fn apply(edit: &Edit) -> EvidencePackage {
    let mut p = package();
    let events = &mut p.events;
    match *edit {
        Edit::Drop(i) => {
            events.remove(i);
        }
        Edit::Duplicate(i) => {
            let copy = events[i].clone();
            events.insert(i + 1, copy);
        }
        Edit::Swap(a, b) => events.swap(a, b),
        Edit::Move(a, b) => {
            let e = events.remove(a);
            events.insert(b, e);
        }
        Edit::InsertForeign(k, at) => events.insert(at, fixture().package_b.events[k].clone()),
        Edit::Truncate(k) => events.truncate(events.len() - k),
        Edit::MoveToOtherDocument(i, at) => {
            let mut b = fixture().package_b.clone();
            b.events.insert(at, events[i].clone());
            return b;
        }
        Edit::RewriteAndRechain(i) => {
            // A forger without the log key rewrites one event and recomputes every hash after it.
            events[i].record.time = Timestamp::from_micros(events[i].record.time.as_micros() - 3_600_000_000);
            for j in i..events.len() {
                if j > i {
                    events[j].record.prev_hash = events[j - 1].hash;
                }
                events[j].hash = events[j].record.hash();
            }
        }
        Edit::FlipProofBit(e, h, bit) => {
            let proof = &mut events[e].inclusion_proof;
            let h = h % proof.len();
            let mut bytes = *proof[h].as_bytes();
            bytes[bit / 8] ^= 1 << (bit % 8);
            proof[h] = Sha256::from_bytes(bytes);
        }
        Edit::DropProofHash(e, h) => {
            let proof = &mut events[e].inclusion_proof;
            let h = h % proof.len();
            proof.remove(h);
        }
        Edit::AppendProofHash(e) => events[e].inclusion_proof.push(Sha256::digest(b"extra")),
        Edit::ShiftLogIndex(e, d) => {
            let index = &mut events[e].log_index;
            *index = index.checked_add_signed(i64::from(d)).unwrap_or(*index + 1);
        }
        Edit::BorrowProof(a, b) => events[a].inclusion_proof = events[b].inclusion_proof.clone(),
    }
    // A careful forger also keeps the summary in step with the edited events.
    if let (Some(first), Some(last)) = (p.events.first(), p.events.last()) {
        p.document.original_sha256 = first.record.file_sha256;
        p.document.latest_sha256 = last.record.file_sha256;
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn changing_any_byte_of_the_package_json_is_detected(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut json = compact_json().as_bytes().to_vec();
        let i = position.index(json.len());
        prop_assume!(json[i] != byte);
        json[i] = byte;
        prop_assert!(detected_json(&json, None), "byte {} changed to {:?}", i, byte as char);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn changing_any_value_in_the_package_is_detected(which in any::<prop::sample::Index>(), seed in any::<usize>()) {
        let (original, paths) = json_leaves();
        let path = &paths[which.index(paths.len())];
        let mut value = original.clone();
        let slot = at(&mut value, path);
        *slot = changed(slot, seed);
        prop_assume!(value != *original);
        prop_assert!(detected_json(value.to_string().as_bytes(), None), "changed {:?}", path);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn dropping_reordering_inserting_moving_or_rewriting_events_and_altering_proofs_is_detected(edit in edits()) {
        let tampered = apply(&edit);
        // Pinning changes nothing here: the package's own key is the real one.
        prop_assert!(!verify_package(&tampered, None).no_failures(), "{:?} went unnoticed", edit);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn swapping_in_another_log_key_is_detected_when_the_real_key_is_pinned(
        seed in any::<[u8; 32]>(),
        edit in edits(),
        same_name in any::<bool>(),
    ) {
        // The forger edits the events, then re-signs the checkpoint and head with their own key
        // and puts that key in the package.
        let name = if same_name { LOG_NAME } else { "forger.example/log" };
        let forger = LogSigner::from_seed(KeyName::parse(name).expect("name"), &seed);
        prop_assume!(forger.verifier_key() != real_key());
        let mut p = apply(&edit);
        let checkpoint = Checkpoint::parse_text(
            unverified_note_text(&p.log.checkpoint).expect("text"),
        ).expect("checkpoint");
        let checkpoint = Checkpoint::new(forger.verifier_key().name(), checkpoint.size(), *checkpoint.root());
        p.log.checkpoint = forger.sign_checkpoint(&checkpoint).expect("sign");
        let head = DocumentHead::parse_text(unverified_note_text(&p.log.document_head).expect("text")).expect("head");
        p.log.document_head = forger.sign_note(&head.to_text()).expect("sign");
        p.log.verifier_key = forger.verifier_key().to_string();
        let report = verify_package(&p, Some(real_key()));
        prop_assert!(!report.is_valid());
        prop_assert_eq!(report.check("key_pinned").map(|c| c.status), Some(Status::Fail));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn purging_the_personal_data_of_any_subset_of_events_keeps_the_package_valid(mask in any::<u16>()) {
        let mut package = package();
        for (i, event) in package.events.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                event.personal = None;
                event.salt = None;
            }
        }
        let json = package.to_json();
        let report = verify_package_json(json.as_bytes(), Some(real_key())).expect("readable");
        prop_assert!(report.is_valid(), "{}", report);
    }
}
