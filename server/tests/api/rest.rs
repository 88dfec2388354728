//! The REST API over HTTP with API keys: create and send in one call, sign from the mailed
//! links, read the result back and verify it; scopes, bad keys, idempotency, rate limits,
//! validation errors, and no authority from cookies.

use crate::helpers::{Options, TestApp, attesta, pdf, spawn_app_with};
use crate::signing::{Ceremony, Signer, mail_dir};
use attesta_core::evidence::sealed::{Inputs, verify_document};
use attesta_core::evidence::{Sha256, VerifierKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GRACE: &str = "grace@example.com";
const ALAN: &str = "alan@example.com";

/// An app with its owner (Ada) set up, mail to the outbox, and a plain client without cookies.
pub(crate) async fn app_with(configure: impl FnOnce(&mut attesta_server::config::Config) + Send + 'static) -> TestApp {
    let app = spawn_app_with(Options::configured(move |c| {
        mail_dir(c);
        configure(c);
    }))
    .await;
    app.set_up_owner().await;
    app
}

async fn ada_id(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = 'ada@example.com'").fetch_one(&app.pool).await.expect("ada")
}

/// A new key of Ada's with these scopes.
pub(crate) async fn key(app: &TestApp, name: &str, scopes: &str) -> String {
    app.create_api_key(ada_id(app).await, name, scopes).await
}

fn plain() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

pub(crate) fn multipart(document: Value, file: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().text("document", document.to_string()).part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("contract.pdf").mime_str("application/pdf").expect("mime"),
    )
}

pub(crate) async fn json_of(r: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let (status, headers) = (r.status(), r.headers().clone());
    let text = r.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}

fn two_signers(send: bool) -> Value {
    json!({
        "title": "Consulting agreement",
        "signing_order": "sequential",
        "message": "Please sign.",
        "send": send,
        "recipients": [
            { "name": "Alan Turing", "email": ALAN, "order": 2 },
            { "name": "Grace Hopper", "email": GRACE, "order": 1 },
        ],
        "fields": [
            { "recipient": GRACE, "kind": "signature", "page": 1, "x": 72.0, "y": 100.0, "width": 180.0, "height": 48.0 },
            { "recipient": ALAN, "kind": "signature", "page": 1, "x": 72.0, "y": 200.0, "width": 180.0, "height": 48.0 },
        ],
    })
}

async fn get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    plain().get(app.url(path)).bearer_auth(key).send().await.expect("request")
}

/// The JSON `GET path` answers with `key` (any status: the caller looks).
pub(crate) async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    get(app, key, path).await.json().await.expect("json")
}

async fn bytes(app: &TestApp, key: &str, path: &str) -> Vec<u8> {
    let r = get(app, key, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.bytes().await.expect("body").to_vec()
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).to_hex()
}

#[tokio::test]
async fn a_document_created_and_sent_by_api_is_signed_sealed_and_verifiable_with_the_key_as_actor() {
    let app = app_with(|_| {}).await;
    let key = key(&app, "CRM", "send").await;
    let original = pdf(2, "Agreement");
    let r = plain()
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&key)
        .multipart(multipart(two_signers(true), original.clone()))
        .send()
        .await
        .expect("request");
    let (status, _, created) = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "sent");
    assert_eq!(created["title"], "Consulting agreement");
    assert_eq!(created["original_sha256"], sha(&original));
    assert_eq!(created["recipients"][0]["email"], GRACE, "order 1 signs first");
    assert_eq!(created["recipients"][1]["status"], "waiting");
    let id = created["id"].as_str().expect("id").to_owned();

    let c = Ceremony { app, id: id.clone(), sha256: sha(&original) };
    for email in [GRACE, ALAN] {
        let signer = Signer::new(&c.app, c.link_for(email).await.expect("link"));
        signer.open().await;
        signer.consent().await;
        let field = if email == GRACE { "f1" } else { "f2" };
        signer.sign(&c.sha256, field).await;
    }

    c.app.run_due_jobs().await;
    let document = json_of(get(&c.app, &key, &format!("/api/v1/documents/{id}")).await).await.2;
    assert_eq!(document["status"], "completed", "{document}");
    assert!(document["completed_at"].is_string(), "{document}");
    for r in document["recipients"].as_array().expect("recipients") {
        assert_eq!(r["status"], "signed");
        assert!(r["signed_at"].is_string());
        assert_eq!(r["ip"], "127.0.0.1", "the address the signer signed from");
    }

    let original_back = bytes(&c.app, &key, &format!("/api/v1/documents/{id}/original.pdf")).await;
    assert_eq!(sha(&original_back), document["original_sha256"]);
    let sealed = bytes(&c.app, &key, &format!("/api/v1/documents/{id}/sealed.pdf")).await;
    assert_eq!(sha(&sealed), document["sealed_sha256"]);
    assert!(sealed.starts_with(&original));
    let package = bytes(&c.app, &key, &format!("/api/v1/documents/{id}/evidence.json")).await;
    let log_key = VerifierKey::parse(c.app.get("/log/key").await.text().await.expect("key").trim()).expect("key");
    let pem = c.app.get("/seal/ca.pem").await.text().await.expect("pem");
    let anchors = attesta_server::cli::pem_certificates(pem.as_bytes()).expect("pem");
    let report = verify_document(Inputs {
        pdf: Some(&sealed),
        package: Some(&package),
        log_key: Some(&log_key),
        seal_anchors: &anchors,
    })
    .expect("readable");
    assert!(report.is_valid(), "{report}");
    let signed_hash = document["signed_sha256"].as_str().expect("signed hash");
    let package_text = String::from_utf8(package).expect("utf-8");
    assert!(package_text.contains(signed_hash), "the package names the signed file's hash");

    // The key is the actor of what it did, in the hashed record and on the timeline.
    let public_id = key.split('_').nth(1).expect("public id");
    let actors: Vec<(String, String)> = c
        .app
        .records(&id)
        .await
        .iter()
        .map(|r| {
            let actor =
                format!("{}:{}", r["actor"]["kind"].as_str().unwrap_or("?"), r["actor"]["id"].as_str().unwrap_or("?"));
            (r["type"].as_str().unwrap_or_default().to_owned(), actor)
        })
        .collect();
    for event in ["document.uploaded", "document.sent"] {
        let (_, actor) = actors.iter().find(|(t, _)| t == event).expect(event);
        assert_eq!(actor, &format!("api_key:api_key:{public_id}"), "{event}");
    }
    let detail = c.app.document(&id).await;
    let timeline = detail["timeline"].as_array().expect("timeline");
    assert!(
        timeline.iter().any(|e| e["actor"]
            .as_str()
            .is_some_and(|a| a.contains("Ada Lovelace") && a.ends_with("via API key 'CRM'"))),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn markdown_documents_are_created_from_json_and_drafts_stay_drafts() {
    let app = app_with(|_| {}).await;
    let key = key(&app, "wiki", "send").await;
    let body = json!({ "title": "Policy", "markdown": "# Policy\n\nSign below.\n" });
    let r = plain().post(app.url("/api/v1/documents")).bearer_auth(&key).json(&body).send().await.expect("request");
    let (status, _, created) = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["source"], "markdown");
    assert_eq!(created["status"], "draft");
    let file =
        bytes(&app, &key, &format!("/api/v1/documents/{}/original.pdf", created["id"].as_str().expect("id"))).await;
    assert!(file.starts_with(b"%PDF-"));

    let (status, _, list) = json_of(get(&app, &key, "/api/v1/documents?status=draft&per_page=10").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], created["id"]);
    let (_, _, none) = json_of(get(&app, &key, "/api/v1/documents?status=completed").await).await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn a_read_key_cannot_create_or_void() {
    let app = app_with(|_| {}).await;
    let key = key(&app, "reporting", "read").await;
    let r = plain()
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&key)
        .json(&json!({ "markdown": "# x" }))
        .send()
        .await
        .expect("request");
    let (status, _, body) = json_of(r).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "insufficient_scope");
    assert_eq!(app.count("documents").await, 0);
    let (status, _, _) = json_of(get(&app, &key, "/api/v1/documents").await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn missing_malformed_wrong_revoked_and_disabled_keys_get_401_json() {
    let app = app_with(|_| {}).await;
    let good = key(&app, "one", "read").await;
    let url = app.url("/api/v1/documents");
    let wrong_secret = format!("{}{}", &good[..good.len() - 2], if good.ends_with("AA") { "BA" } else { "AA" });
    let unknown = attesta_core::api_keys::ApiKey::from_random([3; 10], [4; 32]).expose();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("malformed", Some("Bearer not-a-key".to_owned())),
        ("basic", Some(format!("Basic {good}"))),
        ("wrong secret", Some(format!("Bearer {wrong_secret}"))),
        ("unknown", Some(format!("Bearer {unknown}"))),
    ];
    for (what, header) in cases {
        let mut request = plain().get(&url);
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let (status, headers, body) = json_of(request.send().await.expect("request")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(headers["www-authenticate"].to_str().expect("ascii").starts_with("Bearer"), "{what}");
        assert_eq!(body["error"]["code"], "unauthorized", "{what}");
    }
    assert_eq!(get(&app, &good, "/api/v1/documents").await.status(), StatusCode::OK);

    let public_id = good.split('_').nth(1).expect("id");
    let by = attesta_core::evidence::Acting::operator();
    attesta_server::api::keys::revoke(&app.instance(), &by, ada_id(&app).await, public_id, 2).await.expect("revoked");
    let (status, _, body) = json_of(get(&app, &good, "/api/v1/documents").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked: {body}");

    let other = key(&app, "two", "read").await;
    assert_eq!(get(&app, &other, "/api/v1/documents").await.status(), StatusCode::OK);
    sqlx::query("UPDATE users SET disabled = 1").execute(&app.pool).await.expect("disable");
    assert_eq!(get(&app, &other, "/api/v1/documents").await.status(), StatusCode::UNAUTHORIZED, "disabled user");
}

#[tokio::test]
async fn the_same_idempotency_key_replays_and_refuses_another_body() {
    let app = app_with(|_| {}).await;
    let key = key(&app, "retrying", "send").await;
    let post = |body: Value| {
        plain()
            .post(app.url("/api/v1/documents"))
            .bearer_auth(&key)
            .header("idempotency-key", "order-42")
            .json(&body)
            .send()
    };
    let first = json_of(post(json!({ "markdown": "# One" })).await.expect("request")).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.2);
    assert!(first.1.get("idempotent-replayed").is_none());
    let again = json_of(post(json!({ "markdown": "# One" })).await.expect("request")).await;
    assert_eq!(again.0, StatusCode::CREATED);
    assert_eq!(again.1["idempotent-replayed"], "true");
    assert_eq!(again.2["id"], first.2["id"]);
    assert_eq!(app.count("documents").await, 1, "the replay created nothing");
    let other = json_of(post(json!({ "markdown": "# Two" })).await.expect("request")).await;
    assert_eq!(other.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.2["error"]["code"], "idempotency_key_reused");
    assert_eq!(app.count("documents").await, 1);

    // A request still running under a key (claimed, no answer yet): the same request waits its turn.
    let body = json!({ "markdown": "# Three" });
    let fingerprint =
        attesta_server::api::idempotency::fingerprint("application/json", &serde_json::to_vec(&body).expect("json"));
    sqlx::query(
        "INSERT INTO api_idempotency (api_key_id, idempotency_key, request_sha256, created_at) \
         SELECT id, 'running', $1, $2 FROM api_keys",
    )
    .bind(fingerprint.as_bytes().as_slice())
    .bind(app.ports.clock.now().as_micros())
    .execute(&app.pool)
    .await
    .expect("claim");
    let r = plain()
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&key)
        .header("idempotency-key", "running")
        .json(&body)
        .send()
        .await
        .expect("request");
    let (status, _, busy) = json_of(r).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert_eq!(busy["error"]["code"], "idempotency_in_progress");
}

#[tokio::test]
async fn each_key_is_rate_limited_with_retry_after() {
    let app = app_with(|c| {
        c.api.requests_per_minute = 1;
        c.api.burst = 3;
    })
    .await;
    let key = key(&app, "busy", "read").await;
    let mut limited = None;
    for _ in 0..5 {
        let r = get(&app, &key, "/api/v1/documents").await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let (_, headers, body) = json_of(limited.expect("limited within 5 requests")).await;
    assert!(headers["retry-after"].to_str().expect("ascii").parse::<u64>().expect("seconds") >= 1);
    assert_eq!(body["error"]["code"], "rate_limited");
    let fresh = self::key(&app, "other", "read").await;
    assert_eq!(get(&app, &fresh, "/api/v1/documents").await.status(), StatusCode::OK, "per key");
}

/// An error's message starts with a capital letter, as people read it.
fn assert_sentence(body: &Value) {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.chars().next().is_some_and(char::is_uppercase), "not a sentence: {body}");
}

#[tokio::test]
async fn invalid_requests_get_json_errors_with_codes_and_leave_nothing_behind() {
    let app = app_with(|_| {}).await;
    let key = key(&app, "strict", "send").await;
    let send =
        |body: reqwest::RequestBuilder| async { json_of(body.bearer_auth(&key).send().await.expect("request")).await };
    let url = app.url("/api/v1/documents");

    let (status, _, body) = send(plain().post(&url).json(&json!({ "title": "no source" }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
    assert_eq!(body["error"]["field"], "markdown");
    let (status, _, body) = send(plain().post(&url).json(&json!({ "markdown": "# x", "colour": "red" }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_json")));
    let (status, _, body) = send(plain().post(&url).header("content-type", "text/plain").body("hello")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
    );
    let (status, _, body) =
        send(plain().post(&url).multipart(multipart(two_signers(true), b"not a pdf".to_vec()))).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    // The core's refusal ("this is not a PDF …") reaches people as a sentence.
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("This is not a PDF")), "{body}");
    // Sent with a field off the page: refused, and the upload does not stay behind as a draft.
    let mut off_page = two_signers(true);
    off_page["fields"][0]["x"] = json!(5000.0);
    let (status, _, body) = send(plain().post(&url).multipart(multipart(off_page, pdf(1, "x")))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
        "{body}"
    );
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE status <> 'deleted'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(live, 0);
    assert_sentence(&body);
    let (status, _, body) = send(plain().get(app.url("/api/v1/documents/dnope"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(body["error"]["message"], "No such document");
    let (status, _, body) = send(plain().get(app.url("/api/v1/nothing-here"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn a_cross_site_request_with_the_session_cookie_is_not_authenticated() {
    let app = app_with(|_| {}).await;
    // app.client holds Ada's session cookie; the request comes from another site.
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "markdown": "# Pwned" }))
        .send()
        .await
        .expect("request");
    let (status, _, body) = json_of(r).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let r = app.client.get(app.url("/api/v1/documents")).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "same-site with a cookie: still no key, no access");
    assert_eq!(app.count("documents").await, 0);
    // A bearer request from any origin is not refused as cross-site.
    let key = key(&app, "cors", "send").await;
    let r = plain()
        .post(app.url("/api/v1/documents"))
        .header("origin", "https://crm.example")
        .header("sec-fetch-site", "cross-site")
        .bearer_auth(&key)
        .json(&json!({ "markdown": "# Fine" }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_openapi_document_is_public_and_declares_3_1() {
    let app = app_with(|_| {}).await;
    let (status, _, doc) = json_of(plain().get(app.url("/api/v1/openapi.json")).send().await.expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1."), "{}", doc["openapi"]);
    for path in ["/api/v1/documents", "/api/v1/documents/{id}", "/api/v1/documents/{id}/sealed.pdf"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
}

#[tokio::test]
async fn the_cli_creates_a_key_that_works() {
    let app = app_with(|_| {}).await;
    let out = attesta()
        .envs(app.cli_env())
        .args(["api-key", "create", "--email", "ada@example.com", "--name", "script", "--scopes", "read,send"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    assert!(key.starts_with("atk_"));
    assert_eq!(get(&app, &key, "/api/v1/documents").await.status(), StatusCode::OK);
    let out = attesta()
        .envs(app.cli_env())
        .args(["api-key", "create", "--email", "nobody@example.com", "--name", "x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn the_settings_functions_create_list_and_revoke_the_users_own_keys() {
    let app = app_with(|_| {}).await;
    let r = app.post_form("/api/api-keys/create", &[("name", "Zapier"), ("scope", "send")]).await;
    let (status, _, created) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert_eq!(created["row"]["scopes"], json!(["send"]));
    assert_eq!(get(&app, &secret, "/api/v1/documents").await.status(), StatusCode::OK);

    let (status, _, list) = json_of(app.get("/api/api-keys/list").await).await;
    assert_eq!(status, StatusCode::OK);
    let rows = list.as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(!list.to_string().contains(&secret[20..]), "the list never shows the secret");
    assert!(rows[0]["last_used_at"].is_i64(), "the use was noted");
    let public_id = rows[0]["public_id"].as_str().expect("id").to_owned();

    let (status, _, refused) =
        json_of(app.post_form("/api/api-keys/create", &[("name", " "), ("scope", "send")]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    let r = app.post_form("/api/api-keys/revoke", &[("public_id", &public_id)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(get(&app, &secret, "/api/v1/documents").await.status(), StatusCode::UNAUTHORIZED);
    let (_, _, list) = json_of(app.get("/api/api-keys/list").await).await;
    assert!(list[0]["revoked_at"].is_i64());

    // Signed out, none of it answers.
    app.log_out().await;
    let r = app.post_form("/api/api-keys/create", &[("name", "x"), ("scope", "read")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
