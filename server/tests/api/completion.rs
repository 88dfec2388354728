//! Completion over HTTP: the last signature leads to a signed PDF with every mark drawn in,
//! certificate pages, the evidence attached and a PAdES seal; every party gets it by mail; the
//! document page offers both downloads; and the one verifier (the same code `/verify` runs in
//! the browser and `attesta verify --pdf` on a command line) accepts it and rejects it tampered.

use crate::helpers::{TestApp, attesta, pdf};
use crate::signing::{Ceremony, Signer, mail_dir, mails, owner_with_document, owner_with_document_in};
use attesta_core::evidence::sealed::{Inputs, embedded_package, verify_document};
use attesta_core::evidence::{EvidencePackage, KeyName, LogSigner, Status, VerifierKey};
use serde_json::{Value, json};
use std::time::Duration;

#[path = "../support/validators.rs"]
pub(crate) mod validators;

/// Bob's text, date and checkbox fields beside each signer's signature.
fn bobs_fields() -> Vec<Value> {
    let field = |id: &str, kind: &str, y: f64, w: f64, h: f64| {
        json!({ "id": id, "recipient": "r1", "kind": kind, "page": 2,
                "rect": { "x": 72.0, "y": y, "width": w, "height": h }, "required": true, "label": "" })
    };
    vec![
        field("t1", "text", 600.0, 220.0, 24.0),
        field("d1", "date_signed", 560.0, 110.0, 22.0),
        field("k1", "checkbox", 520.0, 16.0, 16.0),
    ]
}

/// Runs a parallel ceremony with two signers to its end; returns once the sealed PDF exists.
pub(crate) async fn completed() -> Ceremony {
    completed_in(crate::helpers::Options::configured(mail_dir)).await
}

/// [`completed`] in an app started with these options (which should keep the mail outbox of
/// [`mail_dir`]).
pub(crate) async fn completed_in(options: crate::helpers::Options) -> Ceremony {
    let c = owner_with_document_in(options).await;
    c.send(
        "parallel",
        &[("Bob Builder", "bob@example.com", false), ("Carol Danvers", "carol@example.com", false)],
        bobs_fields(),
    )
    .await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("bob's link"));
    bob.open().await;
    bob.consent().await;
    let values = json!({ "s1": { "type": "applied" }, "t1": { "type": "text", "value": "WWWW Zoë Q. Public" },
                         "k1": { "type": "checked", "value": true } });
    bob.expect("submit", bob.submission(&c.sha256, values), reqwest::StatusCode::OK).await;
    let carol = Signer::new(&c.app, c.link_for("carol@example.com").await.expect("carol's link"));
    carol.open().await;
    carol.consent().await;
    carol.sign(&c.sha256, "s2").await;
    sealed_sha256(&c).await;
    c
}

/// The seal's hash as the document page shows it, once the jobs due have run.
pub(crate) async fn sealed_sha256(c: &Ceremony) -> String {
    c.app.run_due_jobs().await;
    let detail = c.app.document(&c.id).await;
    match detail["completion"]["sealed_sha256"].as_str() {
        Some(sha) => sha.to_owned(),
        None => panic!("not sealed: {}", detail["completion"]),
    }
}

pub(crate) async fn get_bytes(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let r = app.client.get(app.url(path)).send().await.expect("request");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    let headers = r.headers().clone();
    (headers, r.bytes().await.expect("body").to_vec())
}

/// This instance's published keys, as `/verify` pins them.
pub(crate) async fn published(app: &TestApp) -> (VerifierKey, Vec<Vec<u8>>, String) {
    let key = app.get("/log/key").await.text().await.expect("key");
    let pem = app.get("/seal/ca.pem").await.text().await.expect("pem");
    let anchors = attesta_server::cli::pem_certificates(pem.as_bytes()).expect("pem parses");
    assert!(!anchors.is_empty());
    (VerifierKey::parse(key.trim()).expect("key parses"), anchors, pem)
}

#[tokio::test]
async fn the_last_signature_leads_to_a_sealed_pdf_that_verifies_offline_and_fails_tampered() {
    let c = completed().await;
    let original = pdf(2, "Agreement");
    let (headers, sealed) = get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"].to_str().expect("ascii").starts_with("attachment;"));
    assert!(sealed.starts_with(&original), "completion only appends: the upload is the sealed file's prefix");
    let (_, package) = get_bytes(&c.app, &format!("/documents/{}/evidence.json", c.id)).await;
    let (key, anchors, _) = published(&c.app).await;

    // The PDF alone, with the evidence it carries; then with the package mailed beside it.
    let alone = verify_document(Inputs {
        pdf: Some(&sealed),
        log_key: Some(&key),
        seal_anchors: &anchors,
        ..Inputs::default()
    })
    .expect("readable");
    assert!(alone.is_valid(), "{alone}");
    for check in ["embedded_package", "original_file", "signed_file", "inclusion_proofs", "key_pinned"] {
        assert_eq!(alone.check(check).map(|c| c.status), Some(Status::Pass), "{check}: {alone}");
    }
    assert_eq!(alone.check("sealed_file").map(|c| c.status), Some(Status::Skip), "{alone}");
    let both = verify_document(Inputs {
        pdf: Some(&sealed),
        package: Some(&package),
        log_key: Some(&key),
        seal_anchors: &anchors,
    })
    .expect("readable");
    assert!(both.is_valid(), "{both}");
    assert_eq!(both.check("sealed_file").map(|c| c.status), Some(Status::Pass), "{both}");
    assert_eq!(both.check("packages_agree").map(|c| c.status), Some(Status::Pass), "{both}");

    // One byte changed anywhere: in the original part, in the certificate, in the seal itself.
    for at in [original.len() / 2, original.len() + (sealed.len() - original.len()) / 3, sealed.len() - 40] {
        let mut tampered = sealed.clone();
        tampered[at] ^= 0x01;
        // An unreadable file (Err) is not valid either.
        if let Ok(report) = verify_document(Inputs {
            pdf: Some(&tampered),
            package: Some(&package),
            log_key: Some(&key),
            seal_anchors: &anchors,
        }) {
            assert!(!report.is_valid(), "a flipped byte at {at} went unnoticed: {report}");
        }
    }
    // Another instance's log key or seal authority is not this one's.
    let other = LogSigner::from_seed(KeyName::parse("other.test/log").expect("name"), &[7; 32]);
    let report = verify_document(Inputs {
        pdf: Some(&sealed),
        log_key: Some(other.verifier_key()),
        seal_anchors: &anchors,
        ..Inputs::default()
    })
    .expect("readable");
    assert_eq!(report.check("key_pinned").map(|c| c.status), Some(Status::Fail), "{report}");

    // pyHanko, pdfsig and qpdf accept the sealed file, with this instance's CA as the only anchor.
    if let Some(v) = validators::validators() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, ca) = (dir.path().join("sealed.pdf"), dir.path().join("ca.pem"));
        std::fs::write(&path, &sealed).expect("write");
        std::fs::write(&ca, published(&c.app).await.2).expect("write");
        let (ok, report) = validators::pyhanko(&v, &path, &[ca.as_path()]);
        assert!(ok && report.contains("The signature is judged VALID."), "{report}");
        assert!(report.contains("The signature covers the entire file."), "{report}");
        let sig = validators::pdfsig(&path);
        assert!(
            sig.contains("Signature Validation: Signature is Valid.") && sig.contains("Total document signed"),
            "{sig}"
        );
        let (ok, check) = validators::qpdf_check(&path);
        assert!(ok, "{check}");
        let mut flipped = sealed.clone();
        flipped[original.len() / 2] ^= 0x01;
        std::fs::write(&path, &flipped).expect("write");
        let (ok, report) = validators::pyhanko(&v, &path, &[ca.as_path()]);
        assert!(!ok, "pyHanko took a tampered file: {report}");
    }

    // The events: one completion, one seal, carrying the files' hashes and lengths.
    let embedded =
        EvidencePackage::from_json(&embedded_package(&sealed).expect("pdf").expect("attached")).expect("json");
    let full = EvidencePackage::from_json(&package).expect("json");
    let types: Vec<&str> = full.events.iter().map(|e| e.record.event_type().as_str()).collect();
    assert_eq!(types.iter().filter(|t| **t == "document.completed").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "document.sealed").count(), 1, "{types:?}");
    let sealed_event =
        full.events.iter().find(|e| e.record.event_type().as_str() == "document.sealed").expect("sealed");
    assert_eq!(
        sealed_event.record.file_sha256().to_hex(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&sealed))
    );
    assert_eq!(embedded.events.last().map(|e| e.record.event_type().as_str()), Some("document.completed"));

    // The certificate pages list every event of the chain up to the completion, and the checkpoint.
    if let Some(text) = pdftotext(&sealed).map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ")) {
        assert!(text.contains("Certificate of completion"), "{text}");
        assert!(text.contains("Bob Builder") && text.contains("carol@example.com"), "{text}");
        for event in &embedded.events {
            assert!(text.contains(&event.hash.to_hex()), "event {} missing from the certificate", event.record.seq());
        }
        let size_line = embedded.log.checkpoint.lines().nth(1).expect("size");
        assert!(text.contains(&format!("first {size_line} entries")), "{text}");
        assert!(text.contains("/verify#document="), "{text}");
    }
}

/// pdftotext's text of a PDF, `None` (with a message) where poppler is not installed.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sealed.pdf");
    std::fs::write(&path, pdf).expect("write");
    match std::process::Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) if validators::required() => {
            panic!("pdftotext is required (apt install poppler-utils)")
        }
        Err(_) => {
            eprintln!("pdftotext not installed (apt install poppler-utils): certificate text not checked");
            None
        }
    }
}

#[tokio::test]
async fn every_party_gets_the_sealed_pdf_and_the_evidence_by_mail_and_downloads_are_recorded() {
    let c = completed().await;
    let sealed = sealed_sha256(&c).await;
    c.app.run_due_jobs().await;
    for who in ["ada@example.com", "bob@example.com", "carol@example.com"] {
        let mail = mails(&c.app).into_iter().find(|m| m.to.contains(who) && m.subject.contains("signed by everyone"));
        let mail = mail.unwrap_or_else(|| panic!("no completion mail to {who}"));
        assert!(mail.body.contains(&format!("attesta-evidence-{}.json\"", c.id)), "{}", mail.body);
        assert!(mail.body.contains("(signed).pdf\""), "the sealed PDF is attached: {}", mail.body);
        assert!(mail.body.contains("attesta.test/log"), "the checkpoint is stated: {}", mail.body);
    }
    // The attachment is the sealed file.
    let raw = attachment(&c.app, "bob@example.com", "application/pdf").expect("a PDF attachment");
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&raw)), sealed);

    let before = c.event_types().await.len();
    get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    get_bytes(&c.app, &format!("/documents/{}/evidence.json", c.id)).await;
    let after = c.event_types().await;
    assert_eq!(after.len(), before + 2);
    assert_eq!(&after[before..], ["document.downloaded", "document.downloaded"]);
    // Completion is idempotent: running it again, twice at once, or queuing it again changes
    // nothing.
    let (a, b) = tokio::join!(c.app.documents.complete_now(&c.id), c.app.documents.complete_now(&c.id));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(c.app.documents.queue_pending_completions().await.expect("sweep"), 0, "nothing is pending");
    c.app.run_due_jobs().await;
    assert_eq!(c.event_types().await.len(), before + 2);
    let mails_now = mails(&c.app).iter().filter(|m| m.subject.contains("signed by everyone")).count();
    assert_eq!(mails_now, 3, "one completion mail per party");
}

/// The decoded bytes of the first attachment of `content_type` in a mail to `to`.
fn attachment(app: &TestApp, to: &str, content_type: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let dir = app.data.path().join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir).ok()?.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for path in files.iter().rev() {
        let raw = std::fs::read_to_string(path).ok()?;
        if !raw.to_lowercase().contains(&format!("to: {to}")) && !raw.to_lowercase().contains(&format!("<{to}>")) {
            continue;
        }
        let Some(start) = raw.find(&format!("Content-Type: {content_type}")) else { continue };
        let part = &raw[start..];
        let body_start = part.find("\r\n\r\n").map(|i| i + 4).or_else(|| part.find("\n\n").map(|i| i + 2))?;
        let body = &part[body_start..];
        let end = body.find("\n--").unwrap_or(body.len());
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD.decode(b64).ok();
    }
    None
}

#[tokio::test]
async fn attesta_verify_pdf_exits_0_valid_1_tampered_2_unreadable() {
    let c = completed().await;
    let (_, sealed) = get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let (key, _, pem) = published(&c.app).await;
    let dir = tempfile::tempdir().expect("dir");
    let (pdf_path, ca_path) = (dir.path().join("sealed.pdf"), dir.path().join("ca.pem"));
    std::fs::write(&pdf_path, &sealed).expect("write");
    std::fs::write(&ca_path, pem).expect("write");
    let run = |path: &std::path::Path| {
        attesta()
            .args(["verify", "--pdf"])
            .arg(path)
            .args(["--log-key", &key.to_string(), "--seal-ca"])
            .arg(&ca_path)
            .output()
            .expect("runs")
    };
    let ok = run(&pdf_path);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(out.contains("VALID"), "{out}");
    let mut tampered = sealed.clone();
    let at = sealed.len() / 3;
    tampered[at] ^= 0x20;
    let bad = dir.path().join("tampered.pdf");
    std::fs::write(&bad, &tampered).expect("write");
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let junk = dir.path().join("junk.pdf");
    std::fs::write(&junk, b"not a pdf at all").expect("write");
    assert_eq!(run(&junk).status.code(), Some(2));
}

/// A step that fails (here the timestamp authority cannot be reached) leaves the document
/// completed, unsealed, with the reason for the sender and no mail; a restart with a working
/// configuration finishes it: one seal event, everyone mailed once.
#[tokio::test]
async fn a_failed_seal_is_finished_after_a_restart_without_a_duplicate_event() {
    // A port nothing listens on: bind one and let it go.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let c = owner_with_document(move |config| {
        mail_dir(config);
        config.seal.tsa_url = Some(format!("http://127.0.0.1:{dead}/tsa"));
        config.seal.tsa_timeout = Duration::from_secs(2);
        config.jobs.worker = false; // this test runs the jobs, and sees each outcome
    })
    .await;
    c.send("parallel", &[("Bob Builder", "bob@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    let ran = c.app.run_due_jobs().await;
    assert_eq!(ran.retried, 1, "the completion job failed and waits to be retried: {ran:?}");
    let detail = c.app.document(&c.id).await;
    assert_eq!(detail["row"]["status"], "completed", "{detail}");
    assert!(detail["completion"]["sealed_sha256"].is_null(), "{detail}");
    assert!(detail["completion"]["error"].as_str().is_some_and(|e| e.contains("sealing")), "{detail}");
    let types = c.event_types().await;
    assert_eq!(types.last().map(String::as_str), Some("document.completed"));
    assert!(!mails(&c.app).iter().any(|m| m.subject.contains("signed by everyone")), "no mail before the seal");
    // Another attempt with the authority still down changes nothing.
    assert!(c.app.documents.complete_now(&c.id).await.is_err());
    assert_eq!(c.event_types().await, types);

    // Restart over the same data without the authority: once the retry is due, the job seals it.
    let Ceremony { app, id, sha256 } = c;
    let data = app.stop().await;
    let clock = std::sync::Arc::new(attesta_server::clock::MovableClock::default());
    let restarted = crate::helpers::spawn_app_with(crate::helpers::Options {
        data: Some(data),
        clock: Some(clock.clone()),
        ..crate::helpers::Options::configured(mail_dir)
    })
    .await;
    let c = Ceremony { app: restarted, id, sha256 };
    c.app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    clock.advance(Duration::from_secs(60));
    sealed_sha256(&c).await;
    let types = c.event_types().await;
    assert_eq!(types.iter().filter(|t| *t == "document.completed").count(), 1);
    assert_eq!(types.iter().filter(|t| *t == "document.sealed").count(), 1);
    assert!(c.app.document(&c.id).await["completion"]["error"].is_null());
    c.app.run_due_jobs().await;
    for who in ["ada@example.com", "bob@example.com"] {
        let count =
            mails(&c.app).iter().filter(|m| m.to.contains(who) && m.subject.contains("signed by everyone")).count();
        assert_eq!(count, 1, "{who}");
    }
}
