//! Documents: upload and every refusal, encrypted storage, reading, deleting drafts, the list,
//! the timeline and verification, over HTTP against the real server.

use crate::helpers::{Options, TestApp, pdf, spawn_app, spawn_app_with};
use serde_json::Value;

async fn signed_in() -> TestApp {
    let app = spawn_app().await;
    app.set_up_owner().await;
    app
}

async fn signed_in_with(options: Options) -> TestApp {
    let app = spawn_app_with(options).await;
    app.set_up_owner().await;
    app
}

/// Nothing of a refused upload remains: no row, no event, no stored file, no spool file.
async fn nothing_stored(app: &TestApp) {
    assert_eq!(app.count("documents").await, 0, "no document row");
    assert_eq!(app.count("blobs").await, 0, "no blob row");
    assert_eq!(app.document_events().await, 0, "no event");
    assert!(app.files_in("blobs").is_empty(), "no stored file: {:?}", app.files_in("blobs"));
    assert!(app.files_in("spool").is_empty(), "no spooled file: {:?}", app.files_in("spool"));
}

async fn refused(app: &TestApp, file_name: &str, bytes: Vec<u8>, status: u16, code: &str) -> String {
    let r = app.upload(file_name, bytes, None).await;
    assert_eq!(r.status(), status, "{file_name}");
    let body: Value = r.json().await.expect("json error");
    assert_eq!(body["error"], code, "{body}");
    body["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_uploaded_pdf_becomes_a_draft_with_its_upload_in_the_timeline() {
    let app = signed_in().await;
    let bytes = pdf(3, "Master Services Agreement");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let r = app.upload("Master_Services_Agreement.pdf", bytes.clone(), None).await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().expect("location").to_owned();
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["title"], "Master Services Agreement");
    assert_eq!(body["pages"], 3);
    assert_eq!(body["status"], "draft");
    assert_eq!(body["sha256"], sha.as_str());
    assert_eq!(location, format!("/documents/{}", body["id"].as_str().expect("id")));

    let detail = app.document(body["id"].as_str().expect("id")).await;
    assert_eq!(detail["sha256"], sha.as_str());
    let timeline = detail["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 1);
    let uploaded = &timeline[0];
    assert_eq!(uploaded["event_type"], "document.uploaded");
    assert_eq!(uploaded["file_sha256"], sha.as_str());
    assert_eq!(uploaded["actor"], "Ada Lovelace <ada@example.com>");
    assert_eq!(uploaded["ip"], "127.0.0.1");
    assert_eq!(uploaded["location"], "unknown", "no GeoIP database configured: never guessed");
    assert!(uploaded["user_agent"].is_string());
    assert_eq!(uploaded["event_hash"].as_str().map(str::len), Some(64));
}

#[tokio::test]
async fn what_is_not_a_pdf_is_refused_and_nothing_is_stored() {
    let app = signed_in().await;
    let message = refused(&app, "contract.docx", b"PK\x03\x04 not a pdf".to_vec(), 415, "unsupported_type").await;
    assert!(message.contains("not a PDF"), "{message}");
    refused(&app, "empty.pdf", Vec::new(), 422, "empty_file").await;
    nothing_stored(&app).await;
}

#[tokio::test]
async fn corrupt_and_pageless_pdfs_are_refused() {
    let app = signed_in().await;
    let mut truncated = pdf(2, "x");
    truncated.truncate(60);
    refused(&app, "truncated.pdf", truncated, 422, "corrupt_pdf").await;
    refused(&app, "garbage.pdf", b"%PDF-1.7\n\x00\x01\x02 nothing else".to_vec(), 422, "corrupt_pdf").await;
    let code = {
        let r = app.upload("zero.pdf", pdf(0, "x"), None).await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.expect("json");
        body["error"].as_str().unwrap_or_default().to_owned()
    };
    assert!(code == "no_pages" || code == "corrupt_pdf", "{code}");
    nothing_stored(&app).await;
}

#[tokio::test]
async fn an_encrypted_pdf_is_refused() {
    let app = signed_in().await;
    let plain = String::from_utf8_lossy(&pdf(1, "secret")).into_owned();
    let encrypted = plain.replace(
        "/Root 1 0 R >>",
        "/Root 1 0 R /Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /O <00> /U <00> /P -3904 >> /ID [<01> <01>] >>",
    );
    let message = refused(&app, "locked.pdf", encrypted.into_bytes(), 422, "encrypted_pdf").await;
    assert!(message.contains("password"), "{message}");
    // A real AES-256 password-protected file, when qpdf is installed to make one.
    if let Some(real) = qpdf_encrypted(&pdf(1, "secret")) {
        refused(&app, "locked-aes.pdf", real, 422, "encrypted_pdf").await;
    } else {
        eprintln!("SKIPPED part: qpdf is not installed, so no AES-256 encrypted PDF was made");
    }
    nothing_stored(&app).await;
}

fn qpdf_encrypted(plain: &[u8]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().ok()?;
    let (input, output) = (dir.path().join("in.pdf"), dir.path().join("out.pdf"));
    std::fs::write(&input, plain).ok()?;
    let status = std::process::Command::new("qpdf")
        .args(["--encrypt", "user-pw", "owner-pw", "256", "--"])
        .arg(&input)
        .arg(&output)
        .status()
        .ok()?;
    status.success().then(|| std::fs::read(&output).ok()).flatten()
}

#[tokio::test]
async fn too_many_pages_and_too_large_files_are_refused() {
    let app = signed_in_with(Options::configured(|c| {
        c.documents.max_pages = 2;
        c.documents.max_upload_bytes = 4096;
    }))
    .await;
    let message = refused(&app, "long.pdf", pdf(3, "x"), 422, "too_many_pages").await;
    assert!(message.contains("3 pages") && message.contains("at most 2"), "{message}");

    // Announced too large: refused before the body is read.
    let big = [pdf(1, "x"), vec![b' '; 8192]].concat();
    let message = refused(&app, "big.pdf", big.clone(), 413, "too_large").await;
    assert!(message.contains("4 KB"), "{message}");

    // Not announced (a chunked body): refused as soon as the stream passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let r = app
        .client
        .post(app.url("/api/documents?filename=big.pdf"))
        .header("content-type", "application/pdf")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 413);
    nothing_stored(&app).await;
}

#[tokio::test]
async fn a_hash_that_differs_from_the_received_file_is_refused() {
    let app = signed_in().await;
    let r = app.upload("a.pdf", pdf(1, "x"), Some(&"ab".repeat(32))).await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "hash_mismatch");
    nothing_stored(&app).await;
}

#[tokio::test]
async fn raw_uploads_with_a_content_digest_work_and_are_checked() {
    let app = signed_in().await;
    let bytes = pdf(1, "raw");
    let digest = base64_of(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let send = |digest: String| {
        app.client
            .post(app.url("/api/documents?title=Raw%20upload"))
            .header("content-type", "application/pdf")
            .header("content-digest", format!("sha-256=:{digest}:"))
            .body(bytes.clone())
            .send()
    };
    let r = send(digest).await.expect("request");
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["title"], "Raw upload");
    let r = send(base64_of(&[0u8; 32])).await.expect("request");
    assert_eq!(r.status(), 422);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn uploads_need_a_signed_in_user_from_this_site() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    app.log_out().await;
    let r = app.upload("a.pdf", pdf(1, "x"), None).await;
    assert_eq!(r.status(), 401);
    nothing_stored(&app).await;
}

#[tokio::test]
async fn stored_files_are_ciphertext_and_read_back_as_the_original() {
    let app = signed_in().await;
    let marker = "UNIQUE-PLAINTEXT-MARKER-4711";
    let bytes = pdf(2, marker);
    let id = app.upload_ok("secret.pdf", bytes.clone()).await;

    let stored = app.files_in("blobs");
    assert_eq!(stored.len(), 1, "one object");
    let object = std::fs::read(&stored[0]).expect("object");
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&object, marker.as_bytes()), "the object holds the plaintext");
    assert!(!contains(&object, b"%PDF"), "the object holds the PDF header");
    assert!(object.starts_with(b"ATTESTA\0"), "the object is an Attesta envelope");

    let r = app.get(&format!("/documents/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"].to_str().expect("cd").starts_with("inline"));
    assert_eq!(r.bytes().await.expect("body").as_ref(), bytes.as_slice());

    let r = app.get(&format!("/documents/{id}/file?download=1")).await;
    assert!(r.headers()["content-disposition"].to_str().expect("cd").starts_with("attachment"));
    assert_eq!(r.bytes().await.expect("body").as_ref(), bytes.as_slice());

    let detail = app.document(&id).await;
    let types: Vec<&str> =
        detail["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["event_type"].as_str()).collect();
    assert_eq!(types, ["document.uploaded", "document.viewed", "document.downloaded"]);
}

#[tokio::test]
async fn a_wrong_master_key_fails_cleanly_and_rotation_rewraps_without_rewriting_files() {
    let key_a = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=".to_owned();
    let key_b = "ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4Q=".to_owned();
    let app = signed_in_with(Options::configured({
        let a = key_a.clone();
        move |c| c.storage.master_key = a.into()
    }))
    .await;
    let bytes = pdf(1, "rotate me");
    let id = app.upload_ok("rotate.pdf", bytes.clone()).await;
    let object = app.files_in("blobs").pop().expect("object");
    let before = std::fs::read(&object).expect("object");
    let data = app.stop().await;

    // Restarted with another key only: the file cannot be opened, and says so without crashing.
    let wrong = restart(data, key_b.clone(), vec![]).await;
    wrong.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let r = wrong.get(&format!("/documents/{id}/file")).await;
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.expect("json");
    assert!(body["message"].as_str().unwrap_or_default().contains("reference"), "{body}");
    let data = wrong.stop().await;

    // The new key with the old one still listed: readable; then rotate.
    let both = restart(data, key_b.clone(), vec![key_a.clone()]).await;
    both.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let r = both.get(&format!("/documents/{id}/file")).await;
    assert_eq!(r.bytes().await.expect("body").as_ref(), bytes.as_slice());
    let output = crate::helpers::attesta()
        .arg("storage")
        .arg("rotate-key")
        .envs(both.cli_env())
        .env("ATTESTA__STORAGE__MASTER_KEY", &key_b)
        .env("ATTESTA__STORAGE__PREVIOUS_MASTER_KEYS", format!("[\"{key_a}\"]"))
        .output()
        .expect("attesta runs");
    assert!(output.status.success(), "rotate: {}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 re-wrapped"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let data = both.stop().await;

    // The new key alone now opens it; the stored object did not change by a byte.
    let only_b = restart(data, key_b, vec![]).await;
    only_b.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let r = only_b.get(&format!("/documents/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").as_ref(), bytes.as_slice());
    assert_eq!(std::fs::read(&object).expect("object"), before, "rotation rewrote the file");
}

async fn restart(data: tempfile::TempDir, current: String, previous: Vec<String>) -> TestApp {
    spawn_app_with(Options {
        data: Some(data),
        configure: Some(Box::new(move |c| {
            c.storage.master_key = current.into();
            c.storage.previous_master_keys = previous.into_iter().map(Into::into).collect();
        })),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_draft_can_be_deleted_by_its_owner_and_its_evidence_stays() {
    let app = signed_in().await;
    let id = app.upload_ok("draft.pdf", pdf(1, "x")).await;
    assert_eq!(app.files_in("blobs").len(), 1);
    let r = app.post_form("/api/documents/delete", &[("id", &id)]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert!(app.files_in("blobs").is_empty(), "the file is gone");
    assert_eq!(app.count("blobs").await, 0);

    let detail = app.document(&id).await;
    assert_eq!(detail["row"]["status"], "deleted");
    assert_eq!(detail["has_file"], false);
    let types: Vec<&str> =
        detail["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["event_type"].as_str()).collect();
    assert_eq!(types, ["document.uploaded", "document.deleted"]);
    assert_eq!(app.get(&format!("/documents/{id}/file")).await.status(), 404);

    // Deleting twice is refused; the evidence still verifies.
    let r = app.post_form("/api/documents/delete", &[("id", &id)]).await;
    assert_eq!(r.status(), 409);
    let outcome = verify(&app, &id).await;
    assert_eq!(outcome["valid"], true, "{outcome}");
    assert_eq!(check(&outcome, "stored_file")["status"], "skip");
}

#[tokio::test]
async fn an_owner_renames_a_draft_the_evidence_records_it_and_sent_documents_keep_their_title() {
    let app = signed_in().await;
    let id = app.upload_ok("draft_v2.pdf", pdf(1, "x")).await;
    let r = app.post_form("/api/documents/rename", &[("id", &id), ("title", "  Lease   Berlin 2027 ")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.json::<Value>().await.expect("json"), "Lease Berlin 2027");
    let detail = app.document(&id).await;
    assert_eq!(detail["row"]["title"], "Lease Berlin 2027");
    assert_eq!(detail["can_rename"], true);
    let renamed =
        detail["timeline"].as_array().expect("timeline").iter().find(|e| e["event_type"] == "document.renamed");
    assert_eq!(renamed.expect("a document.renamed event")["label"], "Renamed");
    let renamed = app.records_of(&id, "document.renamed").await;
    let details = renamed.first().expect("event")["details"]["title"].as_str().expect("a title").to_owned();
    assert_eq!(details, "Lease Berlin 2027");
    // A blank title is refused with the field named, and nothing changes.
    let r = app.post_form("/api/documents/rename", &[("id", &id), ("title", " \t ")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("body").contains("title"));
    assert_eq!(app.document(&id).await["row"]["title"], "Lease Berlin 2027");
    let outcome = verify(&app, &id).await;
    assert_eq!(outcome["valid"], true, "{outcome}");

    // Once deleted (no longer a draft), the title stays.
    app.post_form("/api/documents/delete", &[("id", &id)]).await;
    let r = app.post_form("/api/documents/rename", &[("id", &id), ("title", "Other")]).await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.document(&id).await["can_rename"], false);
}

async fn verify(app: &TestApp, id: &str) -> Value {
    let r = app.post_form("/api/documents/verify", &[("id", id)]).await;
    assert!(r.status().is_success(), "verify: {}", r.status());
    r.json().await.expect("json")
}

fn check<'a>(outcome: &'a Value, name: &str) -> &'a Value {
    outcome["checks"].as_array().expect("checks").iter().find(|c| c["name"] == name).expect("check present")
}

#[tokio::test]
async fn verify_runs_every_check_and_catches_a_tampered_stored_file() {
    let app = signed_in().await;
    let id = app.upload_ok("v.pdf", pdf(2, "verify")).await;
    let outcome = verify(&app, &id).await;
    assert_eq!(outcome["valid"], true, "{outcome}");
    for name in ["event_hashes", "hash_chain", "inclusion_proofs", "checkpoint_signature", "key_pinned", "stored_file"]
    {
        assert_eq!(check(&outcome, name)["status"], "pass", "{name}: {outcome}");
    }

    // Flip one byte of the stored ciphertext: decryption refuses it, and verify says so.
    let object = app.files_in("blobs").pop().expect("object");
    let mut bytes = std::fs::read(&object).expect("object");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&object, bytes).expect("tamper");
    let outcome = verify(&app, &id).await;
    assert_eq!(outcome["valid"], false);
    assert_eq!(check(&outcome, "stored_file")["status"], "fail");
    assert_eq!(check(&outcome, "hash_chain")["status"], "pass", "the evidence itself is intact");
}

#[tokio::test]
async fn members_see_only_their_own_documents() {
    let app = signed_in().await;
    let id = app.upload_ok("owner.pdf", pdf(1, "x")).await;
    let output = {
        use std::io::Write as _;
        use std::process::Stdio;
        let mut child = crate::helpers::attesta()
            .args(["user", "create", "--email", "bob@example.com", "--name", "Bob", "--role", "member"])
            .envs(app.cli_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("attesta runs");
        child.stdin.take().expect("stdin").write_all(b"bob's long password\n").expect("write");
        child.wait_with_output().expect("waits")
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bob = crate::helpers::client_with_origin(&app.address);
    let r = bob
        .post(app.url("/api/login"))
        .form(&[("email", "bob@example.com"), ("password", "bob's long password")])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success() || r.status().is_redirection());
    let r = bob.get(app.url(&format!("/api/documents/get?id={id}"))).send().await.expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(bob.get(app.url(&format!("/documents/{id}/file"))).send().await.expect("file").status(), 404);
    let r = bob.post(app.url("/api/documents/delete")).form(&[("id", &id)]).send().await.expect("delete");
    assert_eq!(r.status(), 404);
    let list: Value = bob.get(app.url("/api/documents/list")).send().await.expect("list").json().await.expect("json");
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn the_list_searches_filters_sorts_and_paginates() {
    let app = signed_in().await;
    for title in ["Lease Berlin", "NDA Acme", "Lease Paris"] {
        app.upload_ok(&format!("{title}.pdf"), pdf(1, title)).await;
    }
    let list = |query: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/documents/list?{query}")).await;
            assert!(r.status().is_success());
            r.json::<Value>().await.expect("json")
        }
    };
    let titles = |v: &Value| -> Vec<String> {
        v["rows"].as_array().expect("rows").iter().map(|r| r["title"].as_str().unwrap_or_default().to_owned()).collect()
    };
    assert_eq!(titles(&list("search=lease&sort=title").await), ["Lease Berlin", "Lease Paris"]);
    assert_eq!(titles(&list("search=LEASE%20par").await), ["Lease Paris"]);
    assert_eq!(titles(&list("sort=title_desc").await), ["NDA Acme", "Lease Paris", "Lease Berlin"]);
    assert_eq!(list("status=sent").await["total"], 0);
    assert_eq!(list("status=draft").await["total"], 3);
    assert_eq!(list("search=100%25").await["total"], 0, "LIKE wildcards are literal");

    // 30 more rows: two pages of 25.
    for i in 0..30 {
        sqlx::query(
            "INSERT INTO documents (id, owner_id, title, title_folded, status, source, page_count, size, sha256, \
             created_at, updated_at) VALUES ($1, 1, $2, lower($2), 'sent', 'pdf', 1, 1, $4, $3, $3)",
        )
        .bind(format!("seed{i}"))
        .bind(format!("Seeded {i:02}"))
        .bind(i64::from(i))
        .bind(vec![0u8; 32])
        .execute(&app.pool)
        .await
        .expect("seed");
    }
    let first = list("status=sent&sort=oldest").await;
    assert_eq!((first["total"].as_u64(), first["page_count"].as_u64()), (Some(30), Some(2)));
    assert_eq!(titles(&first).first().map(String::as_str), Some("Seeded 00"));
    let second = list("status=sent&sort=oldest&page=2").await;
    assert_eq!(titles(&second), (25..30).map(|i| format!("Seeded {i:02}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies_and_are_located_from_the_geoip_database() {
    let app = signed_in_with(Options::configured(|c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        c.geoip.database = Some(geoip_fixture());
    }))
    .await;
    let event = upload_event_via(&app, "198.51.100.1, 192.0.2.55").await;
    assert_eq!(event["ip"], "192.0.2.55", "the right-most untrusted hop");
    assert_eq!(event["location"], "Berlin, BE, DE");

    // From an untrusted peer the header is ignored, and 127.0.0.1 is not in the database.
    let plain = signed_in_with(Options::configured(|c| c.geoip.database = Some(geoip_fixture()))).await;
    let event = upload_event_via(&plain, "192.0.2.55").await;
    assert_eq!(event["ip"], "127.0.0.1");
    assert_eq!(event["location"], "unknown");
}

fn geoip_fixture() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb")
}

/// Uploads a PDF with the given `X-Forwarded-For`; the `document.uploaded` event it got.
async fn upload_event_via(app: &TestApp, forwarded_for: &str) -> Value {
    let r = app
        .upload_request("geo.pdf", pdf(1, "geo"), None)
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    app.document(&id).await["timeline"][0].clone()
}

#[tokio::test]
async fn markdown_is_typeset_into_a_pdf() {
    let app = signed_in().await;
    let source = "# Consulting Agreement\n\nThis **agreement** is made between *Acme* and *Beta*.\n\n## 1. Services\n\n- Advice\n- Reports\n";
    let r = app.upload("consulting.md", source.as_bytes().to_vec(), None).await;
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["source"], "markdown");
    assert!(body["pages"].as_u64() >= Some(1));
    let id = body["id"].as_str().expect("id");
    let file = app.get(&format!("/documents/{id}/file")).await.bytes().await.expect("pdf");
    assert!(file.starts_with(b"%PDF-"));
    assert_eq!(body["sha256"], hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file)), "the PDF is what is hashed");
    let md_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(source.as_bytes()));
    let record: String = sqlx::query_scalar("SELECT record FROM audit_events WHERE document_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("event");
    assert!(record.contains(&md_sha), "the source's hash is in the evidence");
}

#[tokio::test]
async fn concurrent_uploads_all_land_with_their_events() {
    let app = signed_in().await;
    let names: Vec<String> = (0..8).map(|i| format!("c{i}.pdf")).collect();
    let uploads = names.iter().map(|name| app.upload_ok(name, pdf(1, name)));
    let ids = futures_util::future::join_all(uploads).await;
    assert_eq!(ids.len(), 8);
    assert_eq!(app.count("documents").await, 8);
    assert_eq!(app.document_events().await, 8);
    assert_eq!(app.files_in("blobs").len(), 8);
}

/// The whole document path on the S3 adapter, against the real S3 server the test script starts
/// (skipped, with a message, when `ATTESTA_TEST_S3_*` are not set).
#[tokio::test]
async fn on_s3_storage_the_bucket_holds_only_ciphertext() {
    use attesta_server::blob::BlobStore as _;
    let var = |name: &str| std::env::var(format!("ATTESTA_TEST_S3_{name}")).ok().filter(|v| !v.is_empty());
    let (Some(endpoint), Some(bucket), Some(access), Some(secret)) =
        (var("ENDPOINT"), var("BUCKET"), var("ACCESS_KEY"), var("SECRET_KEY"))
    else {
        eprintln!("SKIPPED on_s3_storage: ATTESTA_TEST_S3_* are not set (scripts/services/s3.sh start)");
        return;
    };
    let region = var("REGION").unwrap_or_else(|| "us-east-1".to_owned());
    let prefix = format!("test-{}/", std::process::id());
    let settings = (endpoint.clone(), bucket.clone(), access.clone(), secret.clone(), region.clone(), prefix.clone());
    let app = signed_in_with(Options::configured(move |c| {
        let (endpoint, bucket, access, secret, region, prefix) = settings;
        c.storage.backend = attesta_server::config::StorageBackend::S3;
        c.s3.endpoint = endpoint;
        c.s3.bucket = bucket;
        c.s3.access_key_id = access;
        c.s3.secret_access_key = secret.into();
        c.s3.region = region;
        c.s3.path_style = true;
        c.s3.prefix = prefix;
    }))
    .await;
    let marker = "S3-PLAINTEXT-MARKER-0815";
    let bytes = pdf(2, marker);
    let id = app.upload_ok("s3.pdf", bytes.clone()).await;
    assert!(app.files_in("blobs").is_empty(), "nothing on local disk");
    let r = app.get(&format!("/documents/{id}/file")).await;
    assert_eq!(r.bytes().await.expect("body").as_ref(), bytes.as_slice());

    // Read the object straight from the bucket: ciphertext.
    let key: String = sqlx::query_scalar("SELECT blob_key FROM documents WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .expect("blob key");
    let store = attesta_server::blob::s3::S3BlobStore::new(attesta_server::blob::s3::S3Config {
        endpoint: Some(endpoint),
        region,
        bucket,
        access_key_id: access,
        secret_access_key: secret.into(),
        path_style: true,
        prefix,
    })
    .expect("store");
    let blob_key = attesta_server::blob::BlobKey::parse(&key).expect("key");
    let mut stream = store.get(&blob_key).await.expect("object");
    let mut object = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        object.extend_from_slice(&chunk.expect("chunk"));
    }
    assert!(object.starts_with(b"ATTESTA\0"));
    assert!(!object.windows(marker.len()).any(|w| w == marker.as_bytes()), "plaintext in the bucket");

    let outcome = verify(&app, &id).await;
    assert_eq!(outcome["valid"], true, "{outcome}");
    let r = app.post_form("/api/documents/delete", &[("id", &id)]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    assert!(matches!(store.get(&blob_key).await, Err(attesta_server::blob::BlobError::NotFound(_))));
}
