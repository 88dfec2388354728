//! A sealed PDF changed after sealing can never pass as valid, with only the log key in hand:
//! the evidence inside the file names the instance's seal certificate (`document.completed`),
//! so a file signed again with any other certificate (self-signed, another instance's), a
//! second signature after the seal, or bytes appended after it all fail, in the core verifier
//! and in `attesta verify --pdf`; the genuine file stays valid.

use crate::completion::{completed, get_bytes, published};
use crate::helpers::attesta;
use attesta_core::Timestamp;
use attesta_core::evidence::Report;
use attesta_core::evidence::VerifierKey;
use attesta_core::evidence::sealed::{Inputs, verify_document};
use attesta_core::evidence::verify::{Status, Verdict};
use attesta_core::seal::certs::Cert;
use attesta_server::config::SealConfig;
use attesta_server::seal::Sealer;
use attesta_server::seal::identity::{SealIdentity, SealKey};
use lopdf::{Document, IncrementalDocument, Object, Stream};

fn now() -> Timestamp {
    let since = std::time::UNIX_EPOCH.elapsed().expect("after 1970");
    Timestamp::from_micros(i64::try_from(since.as_micros()).expect("in range"))
}

/// `sealed` with page 1's content replaced by an incremental update, as an attacker would.
fn with_page_content_changed(sealed: &[u8]) -> Vec<u8> {
    let document = Document::load_mem(sealed).expect("parses");
    let page = *document.get_pages().values().next().expect("a page");
    let mut update = IncrementalDocument::create_from(sealed.to_vec(), document);
    let content = update.new_document.add_object(Stream::new(
        lopdf::Dictionary::new(),
        b"BT /F1 24 Tf 72 700 Td (We owe you nothing) Tj ET".to_vec(),
    ));
    update.opt_clone_object_to_new_document(page).expect("page cloned");
    update.new_document.get_object_mut(page).and_then(Object::as_dict_mut).expect("page dict").set("Contents", content);
    let mut out = Vec::new();
    update.save_to(&mut out).expect("saved");
    out
}

/// The attacker's sealer: a self-signed P-256 certificate with the seal's key usages.
fn self_signed_sealer() -> Sealer {
    use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose};
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "sign.example.test document seal");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    let cert = params.self_signed(&key).expect("certificate");
    let cert = Cert::from_der(cert.der()).expect("parses");
    let identity = SealIdentity::new(SealKey::from_pkcs8_der(key.serialized_der()).expect("key"), vec![cert], None)
        .expect("identity");
    Sealer::new(identity, None)
}

/// Another Attesta instance's seal (its own embedded CA).
fn other_instance_sealer(dir: &std::path::Path) -> Sealer {
    let config = SealConfig { dir: dir.join("other-seal"), ..SealConfig::default() };
    Sealer::from_config(
        &config,
        "other.example.test",
        now(),
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
    )
    .expect("sealer")
}

fn verify(pdf: &[u8], key: &VerifierKey, anchors: &[Vec<u8>]) -> Report {
    verify_document(Inputs { pdf: Some(pdf), log_key: Some(key), seal_anchors: anchors, ..Inputs::default() })
        .expect("readable")
}

fn status(report: &Report, check: &str) -> Option<Status> {
    report.check(check).map(|c| c.status)
}

#[tokio::test]
async fn a_sealed_pdf_changed_or_signed_again_after_sealing_fails_with_only_the_log_key() {
    let c = completed().await;
    let (_, sealed) = get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let (key, anchors, _) = published(&c.app).await;
    let dir = tempfile::tempdir().expect("dir");

    // The genuine file: valid with the log key alone, and with the seal authority too.
    for given in [&[][..], &anchors[..]] {
        let report = verify(&sealed, &key, given);
        assert_eq!(report.verdict(), Verdict::Valid, "{report}");
        assert_eq!(status(&report, "seal_certificate"), Some(Status::Pass), "{report}");
    }

    // Changed by an incremental update, then sealed again with a self-signed certificate.
    let changed = with_page_content_changed(&sealed);
    let resealed = self_signed_sealer().seal(changed.clone(), now()).await.expect("sealed").bytes;
    let report = verify(&resealed, &key, &[]);
    assert_eq!(report.verdict(), Verdict::Invalid, "{report}");
    assert_eq!(status(&report, "seal_certificate"), Some(Status::Fail), "{report}");
    let why = report.check("seal_certificate").map(|c| c.failures.join(" ")).unwrap_or_default();
    assert!(why.contains("signed again after it was sealed"), "{report}");

    // Bytes appended after the seal.
    let appended = [sealed.as_slice(), b"\n% a comment added after sealing\n"].concat();
    let report = verify(&appended, &key, &[]);
    assert_eq!(report.verdict(), Verdict::Invalid, "{report}");
    assert_eq!(status(&report, "whole_file"), Some(Status::Fail), "{report}");

    // A second signature after the seal, content unchanged.
    let second = self_signed_sealer().seal(sealed.clone(), now()).await.expect("sealed").bytes;
    let report = verify(&second, &key, &[]);
    assert_eq!(report.verdict(), Verdict::Invalid, "{report}");
    assert_eq!(status(&report, "seal_certificate"), Some(Status::Fail), "{report}");

    // Sealed by another instance's certificate (a real Attesta seal, not this one's).
    let other = other_instance_sealer(dir.path()).seal(changed, now()).await.expect("sealed").bytes;
    for given in [&[][..], &anchors[..]] {
        let report = verify(&other, &key, given);
        assert_eq!(report.verdict(), Verdict::Invalid, "{report}");
        assert_eq!(status(&report, "seal_certificate"), Some(Status::Fail), "{report}");
    }

    // The command line says the same: never VALID for the re-sealed file, even without --seal-ca.
    let run = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        attesta().args(["verify", "--pdf"]).arg(&path).args(["--log-key", &key.to_string()]).output().expect("runs")
    };
    let out = run("genuine.pdf", &sealed);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("VALID: every check passed") && text.contains("Signed by: Bob Builder"), "{text}");
    for (name, bytes) in
        [("resealed.pdf", &resealed), ("appended.pdf", &appended), ("second.pdf", &second), ("other.pdf", &other)]
    {
        let out = run(name, bytes);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {text}");
        assert!(text.contains("INVALID") && !text.contains("VALID: every check passed"), "{name}: {text}");
    }
}

#[tokio::test]
async fn without_a_pinned_log_key_a_genuine_file_is_not_verified_rather_than_valid() {
    let c = completed().await;
    let (_, sealed) = get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let report = verify_document(Inputs { pdf: Some(&sealed), ..Inputs::default() }).expect("readable");
    assert_eq!(report.verdict(), Verdict::Unverified, "{report}");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sealed.pdf");
    std::fs::write(&path, &sealed).expect("write");
    let out = attesta().args(["verify", "--pdf"]).arg(&path).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("NOT VERIFIED") && text.contains("key_pinned"), "{text}");
}

/// The seal certificate replaced between completion and sealing (the seal failed, the operator
/// renewed the certificate, the server restarted): `document.seal_certificate` names the new
/// one before the seal, so the file verifies with only the log key.
#[tokio::test]
async fn a_seal_certificate_changed_after_completion_is_named_before_the_seal() {
    use crate::completion::sealed_sha256;
    use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, Options, spawn_app_with};
    use crate::signing::{Ceremony, Signer, mail_dir, owner_with_document};
    use std::time::Duration;
    // A port nothing listens on: the first seal fails after completion.
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
    assert_eq!(c.app.run_due_jobs().await.retried, 1, "sealing failed and waits for a retry");
    assert!(c.app.document(&c.id).await["completion"]["error"].is_string());
    assert_eq!(c.event_types().await.last().map(String::as_str), Some("document.completed"));

    // Restart with another seal identity (a new folder: a new CA and certificate).
    let Ceremony { app, id, sha256 } = c;
    let clock = std::sync::Arc::new(attesta_server::clock::MovableClock::default());
    let restarted = spawn_app_with(Options {
        data: Some(app.stop().await),
        clock: Some(clock.clone()),
        ..Options::configured(|config| {
            mail_dir(config);
            config.seal.dir = config.seal.dir.with_file_name("renewed-seal");
        })
    })
    .await;
    let c = Ceremony { app: restarted, id, sha256 };
    c.app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    clock.advance(Duration::from_secs(60)); // the retry is due
    sealed_sha256(&c).await;
    let types = c.event_types().await;
    let at = |t: &str| types.iter().position(|x| x == t).unwrap_or_else(|| panic!("{t} in {types:?}"));
    assert!(at("document.completed") < at("document.seal_certificate"), "{types:?}");
    assert!(at("document.seal_certificate") < at("document.sealed"), "{types:?}");

    let (_, sealed) = get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let (key, anchors, _) = published(&c.app).await;
    for given in [&[][..], &anchors[..]] {
        let report = verify(&sealed, &key, given);
        assert_eq!(report.verdict(), Verdict::Valid, "{report}");
        let detail = report.check("seal_certificate").and_then(|c| c.detail.clone()).unwrap_or_default();
        assert!(detail.contains("document.seal_certificate"), "{report}");
    }
}
