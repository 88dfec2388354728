//! The document seal against independent validators: pyHanko (`sign validate`), poppler's
//! `pdfsig` and `qpdf --check`, on generated PDFs and, when the corpus is there, real CUAD
//! contracts with both kinds of cross-reference data; with and without an RFC 3161 timestamp
//! from the test authority (`scripts/services/tsa.sh`); and after tampering.
//!
//! The validators are installed by `scripts/bootstrap.sh`. Without them these tests print
//! SKIPPED and pass, unless `ATTESTA_TEST_REQUIRE_VALIDATORS=1` (as `scripts/test.sh` sets), when
//! a missing validator fails the run. The same goes for the test authority
//! (`ATTESTA_TEST_TSA_URL`, `ATTESTA_TEST_TSA_CA`).

use attesta_core::Timestamp;
use attesta_core::evidence::verify::Status;
use attesta_core::seal::verify_seal;
use attesta_server::config::SealConfig;
use attesta_server::seal::tsa::{self, TsaClient};
use attesta_server::seal::{SealError, Sealer};
use lopdf::{Document, IncrementalDocument, Object, Stream};
use std::path::{Path, PathBuf};
use std::time::Duration;
use validators::{Syntax, Validators, pdfsig, pyhanko, pyhanko_with, qpdf_check, required, validators};

#[path = "support/validators.rs"]
mod validators;

#[path = "support/pdf.rs"]
mod pdf;

/// The test time-stamping authority's URL and root certificate, when it runs.
fn test_tsa() -> Option<(String, PathBuf)> {
    match (std::env::var("ATTESTA_TEST_TSA_URL"), std::env::var_os("ATTESTA_TEST_TSA_CA")) {
        (Ok(url), Some(ca)) => Some((url, PathBuf::from(ca))),
        _ => {
            let message = "no test time-stamping authority: run scripts/services/tsa.sh start and eval its env";
            assert!(!required(), "{message}");
            eprintln!("SKIPPED: {message}");
            None
        }
    }
}

/// A sealer with a fresh embedded identity in its own folder, and the instance CA as a file.
struct Instance {
    dir: tempfile::TempDir,
    sealer: Sealer,
}

impl Instance {
    fn new(tsa_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = SealConfig {
            dir: dir.path().join("seal"),
            organization: "Attesta Test".to_owned(),
            tsa_url,
            tsa_timeout: Duration::from_secs(20),
            ..SealConfig::default()
        };
        let sealer = Sealer::from_config(
            &config,
            "sign.example.test",
            now(),
            std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
        )
        .expect("sealer");
        Self { dir, sealer }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("seal/ca.pem")
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        path
    }
}

fn now() -> Timestamp {
    let since = std::time::UNIX_EPOCH.elapsed().expect("after 1970");
    Timestamp::from_micros(i64::try_from(since.as_micros()).expect("in range"))
}

/// Every validator, and our own verifier, say the sealed file at `path` is valid and whole.
fn assert_all_accept(validators: &Validators, instance: &Instance, path: &Path, extra_trust: &[&Path]) -> String {
    assert_all_accept_with(validators, instance, path, extra_trust, Syntax::Strict)
}

fn assert_all_accept_with(
    validators: &Validators,
    instance: &Instance,
    path: &Path,
    extra_trust: &[&Path],
    syntax: Syntax,
) -> String {
    let ca = instance.ca();
    let mut trust = vec![ca.as_path()];
    trust.extend_from_slice(extra_trust);
    let (ok, report) = pyhanko_with(validators, path, &trust, syntax);
    assert!(ok, "pyHanko rejected {}:\n{report}", path.display());
    for line in [
        "The signature is judged VALID.",
        "The signature covers the entire file.",
        "The signer's certificate is trusted.",
    ] {
        assert!(report.contains(line), "pyHanko on {} did not say {line:?}:\n{report}", path.display());
    }
    let sig = pdfsig(path);
    for line in
        ["Signature Type: ETSI.CAdES.detached", "Total document signed", "Signature Validation: Signature is Valid."]
    {
        assert!(sig.contains(line), "pdfsig on {} did not say {line:?}:\n{sig}", path.display());
    }
    let (ok, check) = qpdf_check(path);
    assert!(
        ok && check.contains("No syntax or stream encoding errors found"),
        "qpdf --check {}:\n{check}",
        path.display()
    );
    let bytes = std::fs::read(path).expect("read back");
    let ours = verify_seal(&bytes, &instance.sealer.trust_anchors_der());
    assert!(ours.is_valid(), "our verifier on {}:\n{ours}", path.display());
    report
}

/// A hand-written PDF with a classic cross-reference table.
fn classic_pdf(pages: usize) -> Vec<u8> {
    pdf::pdf(pages, "Agreement")
}

/// `pdf` with one more page appended as an incremental update by lopdf, the way the completion
/// pipeline adds certificate pages before sealing.
fn with_appended_page(pdf: &[u8]) -> Vec<u8> {
    let document = Document::load_mem(pdf).expect("parses");
    let pages = document.catalog().and_then(|c| c.get(b"Pages")).and_then(Object::as_reference).expect("pages");
    let mut update = IncrementalDocument::create_from(pdf.to_vec(), document);
    let content = update.new_document.add_object(Stream::new(
        lopdf::Dictionary::new(),
        b"BT /F1 12 Tf 72 720 Td (Certificate of completion) Tj ET".to_vec(),
    ));
    let mut page = lopdf::Dictionary::new();
    page.set("Type", Object::Name(b"Page".to_vec()));
    page.set("Parent", Object::Reference(pages));
    page.set("MediaBox", Object::Array([0, 0, 612, 792].map(Object::Integer).to_vec()));
    page.set("Contents", Object::Reference(content));
    let page = update.new_document.add_object(page);
    update.opt_clone_object_to_new_document(pages).expect("pages cloned");
    let tree = update.new_document.get_object_mut(pages).and_then(Object::as_dict_mut).expect("pages dict");
    let count = tree.get(b"Count").and_then(Object::as_i64).expect("count");
    tree.set("Count", count + 1);
    tree.get_mut(b"Kids").and_then(Object::as_array_mut).expect("kids").push(Object::Reference(page));
    let mut out = Vec::new();
    update.save_to(&mut out).expect("saved");
    out
}

/// `sealed` with page 1's content replaced by an incremental update after sealing.
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

/// Whether the file's last cross-reference section is a stream (`N 0 obj`) or a table (`xref`).
fn has_xref_stream(pdf: &[u8]) -> bool {
    let tail = &pdf[pdf.len().saturating_sub(64)..];
    let text = String::from_utf8_lossy(tail);
    let offset = text
        .rsplit_once("startxref")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap_or(0);
    !pdf.get(offset..).is_some_and(|rest| rest.starts_with(b"xref"))
}

/// What kind of file a corpus PDF is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    XrefTable,
    XrefStream,
    /// Linearized ("fast web view"): a first-page section before the main one. pyHanko's strict
    /// reader refuses some of these outright ("XRef stream objects must not be clobbered"),
    /// signed or not, so they are validated with `--no-strict-syntax`.
    Linearized,
}

fn kind(pdf: &[u8]) -> Kind {
    if pdf[..pdf.len().min(1024)].windows(10).any(|w| w == b"Linearized") {
        Kind::Linearized
    } else if has_xref_stream(pdf) {
        Kind::XrefStream
    } else {
        Kind::XrefTable
    }
}

/// The first two corpus PDFs of each kind (CUAD has one plain xref-stream file, d026), or
/// `None` (after saying so) without the corpus.
fn cuad_pdfs() -> Option<Vec<(PathBuf, Kind, Vec<u8>)>> {
    let dir = std::env::var_os("ATTESTA_CUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/cuad/pdf"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display());
        return None;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut chosen: Vec<(PathBuf, Kind, Vec<u8>)> = Vec::new();
    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|x| x == "pdf")) {
        let bytes = std::fs::read(&path).expect("readable");
        let kind = kind(&bytes);
        // Files whose cross-reference data is damaged are refused by design; skip them here.
        if chosen.iter().filter(|(_, k, _)| *k == kind).count() < 2
            && Document::load_mem(&bytes).is_ok_and(|d| d.xref_recovery.is_none())
        {
            chosen.push((path, kind, bytes));
        }
    }
    for kind in [Kind::XrefTable, Kind::XrefStream, Kind::Linearized] {
        assert!(chosen.iter().any(|(_, k, _)| *k == kind), "the corpus has no usable {kind:?} file");
    }
    Some(chosen)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

#[test]
fn generated_pdfs_sealed_are_valid_for_pyhanko_pdfsig_and_qpdf() {
    let Some(validators) = validators() else { return };
    let instance = Instance::new(None);
    let markdown = attesta_server::markdown::render(
        "# Services agreement\n\nThe parties agree to the terms below.\n\n| Party | Role |\n|---|---|\n| Ada | Client |\n",
        &attesta_server::markdown::Options::default(),
    )
    .expect("typeset");
    let inputs = [
        ("classic-xref.pdf", classic_pdf(3)),
        ("markdown.pdf", markdown.pdf),
        ("with-certificate-page.pdf", with_appended_page(&classic_pdf(2))),
    ];
    let runtime = runtime();
    for (name, original) in inputs {
        let sealed = runtime.block_on(instance.sealer.seal(original.clone(), now())).expect("sealed");
        assert!(sealed.bytes.starts_with(&original), "{name}: the original is a prefix");
        assert_eq!(sealed.timestamp, None);
        assert_eq!(sealed.signed_ranges[2] + sealed.signed_ranges[3], sealed.bytes.len() as u64);
        let path = instance.write(name, &sealed.bytes);
        let report = assert_all_accept(&validators, &instance, &path, &[]);
        assert!(report.contains("Field 1: Seal1"), "{report}");
        assert!(report.contains("sha256_ecdsa"), "{report}");
        assert!(report.contains("Common Name: sign.example.test document seal"), "{report}");
    }
}

#[test]
fn cuad_contracts_of_each_cross_reference_kind_are_sealed_validly() {
    let Some(validators) = validators() else { return };
    let Some(pdfs) = cuad_pdfs() else { return };
    let instance = Instance::new(None);
    let runtime = runtime();
    for (path, kind, original) in pdfs {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let sealed = runtime.block_on(instance.sealer.seal(original.clone(), now())).expect("sealed");
        assert!(sealed.bytes.starts_with(&original));
        let sealed_path = instance.write(&format!("sealed-{name}"), &sealed.bytes);
        let syntax = if kind == Kind::Linearized { Syntax::Lenient } else { Syntax::Strict };
        assert_all_accept_with(&validators, &instance, &sealed_path, &[], syntax);
        eprintln!("{name} ({kind:?}, {} bytes): valid for pyHanko, pdfsig, qpdf and ours", original.len());
    }
}

#[test]
fn a_timestamped_seal_is_valid_with_the_authority_trusted() {
    let Some(validators) = validators() else { return };
    let Some((url, tsa_ca)) = test_tsa() else { return };
    let instance = Instance::new(Some(url));
    let before = now();
    let sealed = runtime().block_on(instance.sealer.seal(classic_pdf(2), before)).expect("sealed");
    let stamped = sealed.timestamp.expect("a timestamp");
    assert!(stamped.duration_since(before) < Duration::from_secs(60), "the authority's time is now");
    let path = instance.write("timestamped.pdf", &sealed.bytes);
    let report = assert_all_accept(&validators, &instance, &path, &[tsa_ca.as_path()]);
    for line in [
        "This timestamp is backed by a time stamping authority.",
        "The timestamp token is cryptographically sound.",
        "The TSA certificate is trusted.",
        "Common Name: Attesta Test TSA",
    ] {
        assert!(report.contains(line), "pyHanko did not say {line:?}:\n{report}");
    }

    let tsa_anchor = attesta_server::seal::identity::read_pem_certificates(&std::fs::read(&tsa_ca).expect("tsa ca"))
        .expect("pem")
        .remove(0)
        .der;
    let mut anchors = instance.sealer.trust_anchors_der();
    anchors.push(tsa_anchor);
    let ours = verify_seal(&sealed.bytes, &anchors);
    assert_eq!(ours.check("timestamp").map(|c| c.status), Some(Status::Pass), "{ours}");
    assert_eq!(ours.check("timestamp_trust").map(|c| c.status), Some(Status::Pass), "{ours}");
    let instance_only = verify_seal(&sealed.bytes, &instance.sealer.trust_anchors_der());
    assert!(instance_only.is_valid(), "{instance_only}");
    assert_eq!(instance_only.check("timestamp_trust").map(|c| c.status), Some(Status::Skip), "{instance_only}");
}

#[test]
fn tampering_after_sealing_is_caught_by_pyhanko_pdfsig_and_ours() {
    let Some(validators) = validators() else { return };
    let instance = Instance::new(None);
    let sealed = runtime().block_on(instance.sealer.seal(classic_pdf(2), now())).expect("sealed");
    let ca = instance.ca();

    // One byte of the page content flipped.
    let mut flipped = sealed.bytes.clone();
    let at = flipped.windows(9).position(|w| w == b"Agreement").expect("page text");
    flipped[at] = b'X';
    let path = instance.write("flipped.pdf", &flipped);
    let (ok, report) = pyhanko(&validators, &path, &[&ca]);
    assert!(!ok && report.contains("INVALID"), "pyHanko accepted a flipped byte:\n{report}");
    let sig = pdfsig(&path);
    assert!(sig.contains("Digest Mismatch"), "pdfsig on a flipped byte:\n{sig}");
    assert!(!verify_seal(&flipped, &instance.sealer.trust_anchors_der()).is_valid());

    // Page 1 given new content by an incremental update after sealing.
    let changed = with_page_content_changed(&sealed.bytes);
    let path = instance.write("changed.pdf", &changed);
    let (ok, report) = pyhanko(&validators, &path, &[&ca]);
    assert!(!ok && report.contains("INVALID"), "pyHanko accepted a changed page:\n{report}");
    let sig = pdfsig(&path);
    assert!(sig.contains("Not total document signed"), "pdfsig on a changed page:\n{sig}");
    let ours = verify_seal(&changed, &instance.sealer.trust_anchors_der());
    let why = ours.check("whole_file").map(|c| c.failures.join("; ")).unwrap_or_default();
    assert!(why.contains("does not cover the whole file"), "{ours}");
}

#[test]
fn the_time_stamp_client_refuses_what_it_should() {
    let runtime = runtime();
    runtime.block_on(async {
        // Nothing listens on the port: a clear connection error.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let url = format!("http://{}/tsa", closed.local_addr().expect("addr"));
        drop(closed);
        let client = TsaClient::new(
            &url,
            Duration::from_secs(5),
            std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
        )
        .expect("client");
        match client.stamp(b"signature").await {
            Err(SealError::Timestamp(why)) => assert!(why.contains("cannot connect"), "{why}"),
            other => panic!("expected a connection error, got {:?}", other.map(|s| s.der.len())),
        }

        // A server that redirects, fails, answers garbage or answers slowly.
        let app = axum::Router::new()
            .route("/redirect", axum::routing::post(|| async { axum::response::Redirect::temporary("/elsewhere") }))
            .route("/fail", axum::routing::post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }))
            .route("/garbage", axum::routing::post(|| async { "this is not DER" }))
            .route(
                "/slow",
                axum::routing::post(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        for (path, expected) in [
            ("/redirect", "answered HTTP 307"),
            ("/fail", "answered HTTP 500"),
            ("/garbage", "not a time-stamp response"),
            ("/slow", "did not answer in time"),
        ] {
            let client = TsaClient::new(
                &format!("{base}{path}"),
                Duration::from_millis(1500),
                std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
            )
            .expect("client");
            match client.stamp(b"signature").await {
                Err(SealError::Timestamp(why)) => assert!(why.contains(expected), "{path}: {why}"),
                other => panic!("{path}: expected a refusal, got {:?}", other.map(|s| s.der.len())),
            }
        }
    });

    // A genuine answer replayed for another request: refused (imprint and nonce differ).
    let Some((url, _)) = test_tsa() else { return };
    // One seeded source for both nonces: its draws follow each other, so they differ.
    let entropy = attesta_core::entropy::SeededEntropy::new(13);
    let nonce = tsa::nonce(&entropy).expect("nonce");
    let request = tsa::request(b"first signature", &nonce).expect("request");
    let answer = runtime.block_on(async {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/timestamp-query")
            .body(request)
            .send()
            .await
            .expect("sent")
            .bytes()
            .await
            .expect("body")
    });
    tsa::check_response(&answer, b"first signature", &nonce).expect("the genuine answer is accepted");
    let why = tsa::check_response(&answer, b"second signature", &nonce).err().expect("refused");
    assert!(why.contains("message imprint"), "{why}");
    let other_nonce = tsa::nonce(&entropy).expect("nonce");
    let why = tsa::check_response(&answer, b"first signature", &other_nonce).err().expect("refused");
    assert!(why.contains("nonce"), "{why}");
}
