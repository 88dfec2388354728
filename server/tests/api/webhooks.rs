//! Signed webhooks end to end: a receiver in the test checks every request's Standard Webhooks
//! signature with its own HMAC-SHA256 (not the server's code) and a 5-minute tolerance, and
//! records what it accepted; the server's messages must pass it and carry the document's real
//! hashes, go only where subscribed, retry on failure, sign with both secrets during a rotation,
//! and never reach an internal address unless allowed.

use crate::helpers::{TestApp, client_with_origin};
use crate::signing::{Ceremony, Signer, mail_dir, owner_with_document};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver accepted.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) id: String,
    timestamp: i64,
    /// For each signature in the header, the index of the receiver's secret that verified it.
    verified_by: Vec<Option<usize>>,
    user_agent: String,
    pub(crate) body: Value,
}

#[derive(Default)]
struct ReceiverState {
    secrets: Vec<Vec<u8>>,
    accepted: Vec<Accepted>,
    refused: Vec<String>,
    /// Status codes to answer valid requests with, in turn; 200 once empty.
    script: VecDeque<u16>,
    /// Every request that reached the receiver, valid or not.
    requests: usize,
}

/// A Standard Webhooks receiver on 127.0.0.1.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    state: Arc<Mutex<ReceiverState>>,
}

#[expect(clippy::disallowed_methods, reason = "a receiver judges timestamps by its own clock")]
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs() as i64
}

fn hmac_b64(secret: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The receiver's check, written from the specification: 401 with the reason when it fails.
fn check(state: &ReceiverState, headers: &HeaderMap, body: &[u8]) -> Result<Accepted, String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let id = header("webhook-id").ok_or("no webhook-id")?;
    let ts = header("webhook-timestamp").ok_or("no webhook-timestamp")?;
    let signatures = header("webhook-signature").ok_or("no webhook-signature")?;
    let timestamp: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    if (unix_now() - timestamp).abs() > 300 {
        return Err(format!("timestamp too old or new: {timestamp}"));
    }
    let verified_by: Vec<Option<usize>> = signatures
        .split(' ')
        .map(|sig| {
            let b64 = sig.strip_prefix("v1,")?;
            state.secrets.iter().position(|s| hmac_b64(s, &id, &ts, body) == b64)
        })
        .collect();
    if !verified_by.iter().any(Option::is_some) {
        return Err("no signature verifies".to_owned());
    }
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    Ok(Accepted { id, timestamp, verified_by, user_agent: header("user-agent").unwrap_or_default(), body })
}

async fn receive(State(state): State<Arc<Mutex<ReceiverState>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut s = state.lock().expect("lock");
    s.requests += 1;
    match check(&s, &headers, &body) {
        Ok(accepted) => {
            let code = s.script.pop_front().unwrap_or(200);
            if code == 200 {
                s.accepted.push(accepted);
            }
            StatusCode::from_u16(code).expect("status")
        }
        Err(reason) => {
            s.refused.push(reason);
            StatusCode::UNAUTHORIZED
        }
    }
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver serves") });
        Self { url, state }
    }

    pub(crate) fn trust(&self, whsec: &str) {
        let b64 = whsec.strip_prefix("whsec_").expect("whsec_ prefix");
        self.state.lock().expect("lock").secrets.push(STANDARD.decode(b64).expect("base64 secret"));
    }

    fn answer_with(&self, codes: &[u16]) {
        self.state.lock().expect("lock").script.extend(codes);
    }

    pub(crate) fn accepted(&self) -> Vec<Accepted> {
        self.state.lock().expect("lock").accepted.clone()
    }

    fn types(&self) -> Vec<String> {
        self.accepted().iter().map(|a| a.body["type"].as_str().unwrap_or("").to_owned()).collect()
    }

    fn requests(&self) -> usize {
        self.state.lock().expect("lock").requests
    }

    /// Waits up to 30 s until a message of type `t` was accepted.
    pub(crate) async fn wait_for(&self, t: &str) -> Accepted {
        // Up to two minutes: a delivery is a job behind others on a loaded machine. Waiting long
        // costs nothing when it arrives, which is the only case that passes.
        for _ in 0..2400 {
            if let Some(a) = self.accepted().into_iter().find(|a| a.body["type"] == t) {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {t} arrived; accepted {:?}, refused {:?}", self.types(), self.state.lock().expect("lock").refused);
    }

    /// Posts a request to the receiver as a forger would; its status and refusal reason.
    async fn post_raw(&self, id: &str, ts: &str, signature: &str, body: &str) -> (u16, Option<String>) {
        let r = reqwest::Client::new()
            .post(&self.url)
            .header("webhook-id", id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("receiver answers");
        (r.status().as_u16(), self.state.lock().expect("lock").refused.last().cloned())
    }
}

async fn call(app: &TestApp, client: &reqwest::Client, endpoint: &str, body: Value) -> reqwest::Response {
    client.post(app.url(&format!("/api/webhooks/{endpoint}"))).json(&body).send().await.expect("request")
}

async fn ok(app: &TestApp, endpoint: &str, body: Value) -> Value {
    let r = call(app, &app.client, endpoint, body).await;
    let status = r.status();
    let text = r.text().await.expect("body");
    assert!(status.is_success(), "{endpoint}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Adds an endpoint for `url` with these types; its id and signing secret.
pub(crate) async fn add_endpoint(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let endpoint = ok(app, "create", json!({ "url": url, "description": "tests", "event_types": types })).await;
    let id = endpoint["id"].as_str().expect("id").to_owned();
    let secret = ok(app, "secret", json!({ "id": id })).await.as_str().expect("secret").to_owned();
    (id, secret)
}

pub(crate) fn allow_private(c: &mut attesta_server::config::Config) {
    mail_dir(c);
    c.webhooks.allow_private_targets = true;
}

fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A second account, signed in through its own client.
async fn second_user(app: &TestApp) -> reqwest::Client {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = crate::helpers::attesta()
        .args(["user", "create", "--email", "eve@example.com", "--name", "Eve", "--role", "member"])
        .envs(app.cli_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("attesta runs");
    child.stdin.take().expect("stdin").write_all(b"eve's long password\n").expect("write");
    let output = child.wait_with_output().expect("waits");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let eve = client_with_origin(&app.address);
    let r = eve
        .post(app.url("/api/login"))
        .form(&[("email", "eve@example.com"), ("password", "eve's long password")])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success() || r.status().is_redirection());
    eve
}

async fn signed_and_sealed(c: &Ceremony) -> (String, String) {
    crate::completion::sealed_sha256(c).await;
    let (signed, sealed): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT signed_sha256, sealed_sha256 FROM documents WHERE id = $1")
            .bind(&c.id)
            .fetch_one(&c.app.pool)
            .await
            .expect("hashes");
    (hex_of(&signed), hex_of(&sealed))
}

#[tokio::test]
async fn a_ceremony_is_delivered_signed_with_the_documents_hashes_to_subscribers_only() {
    let c = owner_with_document(allow_private).await;
    let all = Receiver::start().await;
    let (_, secret) = add_endpoint(&c.app, &all.url, &["*"]).await;
    all.trust(&secret);
    let some = Receiver::start().await;
    let (_, secret) = add_endpoint(&c.app, &some.url, &["recipient.signed", "document.voided"]).await;
    some.trust(&secret);
    // Another account's endpoint, for the same kind of events: it hears nothing of Ada's.
    let eve = second_user(&c.app).await;
    let other = Receiver::start().await;
    let r = call(&c.app, &eve, "create", json!({ "url": other.url, "description": "", "event_types": ["*"] })).await;
    assert!(r.status().is_success(), "{}", r.status());
    let eves: Value = r.json().await.expect("json");
    // Nor can Eve see or use Ada's endpoints.
    let adas: Value = ok(&c.app, "list", json!({})).await;
    assert_eq!(adas.as_array().expect("list").len(), 2);
    let r = call(&c.app, &eve, "secret", json!({ "id": adas[0]["id"] })).await;
    assert_eq!(r.status(), 404);
    let r = call(&c.app, &c.app.client, "test", json!({ "id": eves["id"] })).await;
    assert_eq!(r.status(), 404);

    c.send("sequential", &[("Bob Builder", "bob@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("bob's link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    let (signed, sealed) = signed_and_sealed(&c).await;
    let sealed_message = all.wait_for("document.sealed").await;

    let types = all.types();
    for t in ["document.sent", "recipient.viewed", "recipient.signed", "document.completed", "document.sealed"] {
        assert_eq!(types.iter().filter(|x| *x == t).count(), 1, "{t} exactly once in {types:?}");
    }
    assert!(!types.iter().any(|t| t == "recipient.consented" || t == "document.uploaded"), "{types:?}");
    for a in all.accepted() {
        let data = &a.body["data"];
        assert_eq!(data["document_id"], c.id.as_str());
        assert!(a.id.starts_with("msg_"), "{}", a.id);
        assert!(a.user_agent.starts_with("Attesta-Webhooks/"), "{}", a.user_agent);
        assert_eq!(data["document"]["original_sha256"], c.sha256.as_str());
        // The event's hash and the file's hash at that moment are the stored evidence's.
        let (record, hash): (String, Vec<u8>) =
            sqlx::query_as("SELECT record, event_hash FROM audit_events WHERE log_index = $1")
                .bind(data["log_index"].as_i64().expect("log index"))
                .fetch_one(&c.app.pool)
                .await
                .expect("event");
        let record: Value = serde_json::from_str(&record).expect("record");
        assert_eq!(data["event_hash"], hex_of(&hash).as_str());
        assert_eq!(data["event_id"], record["event_id"]);
        assert_eq!(record["type"], a.body["type"]);
        assert_eq!(data["file"]["sha256"], record["file_sha256"]);
    }
    let sent = all.accepted().into_iter().find(|a| a.body["type"] == "document.sent").expect("sent");
    assert_eq!(sent.body["data"]["file"]["sha256"], c.sha256.as_str(), "sent: the original file");
    let signed_by = all.accepted().into_iter().find(|a| a.body["type"] == "recipient.signed").expect("signed");
    assert_eq!(signed_by.body["data"]["actor"]["kind"], "recipient");
    assert_eq!(signed_by.body["data"]["recipient_id"], "r1");
    let completed = all.wait_for("document.completed").await;
    assert_eq!(completed.body["data"]["document"]["signed_sha256"], signed.as_str());
    assert_eq!(sealed_message.body["data"]["document"]["sealed_sha256"], sealed.as_str());

    assert_eq!(some.wait_for("recipient.signed").await.body["data"]["document_id"], c.id.as_str());
    // The subset endpoint had every chance to receive the rest: only what it chose came.
    assert_eq!(some.types(), ["recipient.signed"]);
    assert_eq!(other.requests(), 0, "another account's endpoint hears nothing");

    // The receiver itself refuses a tampered body and an old (correctly signed) message.
    let original = serde_json::to_string(&signed_by.body).expect("json");
    let key = all.state.lock().expect("lock").secrets[0].clone();
    let ts = signed_by.timestamp.to_string();
    let good = format!("v1,{}", hmac_b64(&key, &signed_by.id, &ts, original.as_bytes()));
    let (status, _) = all.post_raw(&signed_by.id, &ts, &good, &original).await;
    assert_eq!(status, 200, "the receiver accepts a faithful copy");
    let tampered = original.replacen("recipient.signed", "recipient.declined", 1);
    let (status, reason) = all.post_raw(&signed_by.id, &ts, &good, &tampered).await;
    assert_eq!((status, reason.as_deref()), (401, Some("no signature verifies")));
    let old_ts = (unix_now() - 600).to_string();
    let old_sig = format!("v1,{}", hmac_b64(&key, &signed_by.id, &old_ts, original.as_bytes()));
    let (status, reason) = all.post_raw(&signed_by.id, &old_ts, &old_sig, &original).await;
    assert_eq!(status, 401);
    assert!(reason.expect("reason").starts_with("timestamp too old"));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_the_log_shows_each_status() {
    let c = owner_with_document(|c| {
        allow_private(c);
        c.webhooks.retry_schedule =
            vec![Duration::ZERO.into(), Duration::from_millis(300).into(), Duration::from_millis(300).into()];
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500]);
    let (id, secret) = add_endpoint(&c.app, &receiver.url, &["*"]).await;
    receiver.trust(&secret);
    let message = ok(&c.app, "test", json!({ "id": id })).await;
    let accepted = receiver.wait_for("webhook.test").await;
    assert_eq!(accepted.id, message.as_str().expect("message id"));
    assert_eq!(receiver.requests(), 2, "one failure, one success");
    let mut log = Value::Null;
    for _ in 0..100 {
        log = ok(&c.app, "log", json!({ "id": id })).await;
        if log[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let entry = &log[0];
    assert_eq!(entry["status"], "delivered", "{log}");
    assert_eq!(entry["attempts"], 2);
    assert_eq!(entry["last_status_code"], 200);
    let codes: Vec<i64> =
        entry["attempt_log"].as_array().expect("attempts").iter().filter_map(|a| a["status_code"].as_i64()).collect();
    assert_eq!(codes, [500, 200]);

    // A receiver that never accepts: the message fails after the last scheduled attempt.
    receiver.answer_with(&[503, 503, 503]);
    ok(&c.app, "test", json!({ "id": id })).await;
    let mut failed = Value::Null;
    for _ in 0..200 {
        let log = ok(&c.app, "log", json!({ "id": id })).await;
        if log[0]["status"] == "failed" {
            failed = log[0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(failed["next_attempt_at"], Value::Null);
}

#[tokio::test]
async fn after_a_rotation_messages_carry_both_signatures_each_verifying_with_its_secret() {
    let c = owner_with_document(allow_private).await;
    let receiver = Receiver::start().await;
    let (id, old) = add_endpoint(&c.app, &receiver.url, &["*"]).await;
    ok(&c.app, "rotate", json!({ "id": id })).await;
    let new = ok(&c.app, "secret", json!({ "id": id })).await.as_str().expect("secret").to_owned();
    assert_ne!(old, new);
    receiver.trust(&old);
    receiver.trust(&new);
    ok(&c.app, "test", json!({ "id": id })).await;
    let accepted = receiver.wait_for("webhook.test").await;
    // The new secret signs first; the old one goes on signing for 24 hours.
    assert_eq!(accepted.verified_by, [Some(1), Some(0)]);
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL")
            .bind(&id)
            .fetch_one(&c.app.pool)
            .await
            .expect("count");
    assert_eq!(stored, 1);
    let plain: Vec<Vec<u8>> = sqlx::query_scalar("SELECT ciphertext FROM webhook_secrets WHERE endpoint_id = $1")
        .bind(&id)
        .fetch_all(&c.app.pool)
        .await
        .expect("secrets");
    for ciphertext in plain {
        let raw = STANDARD.decode(new.strip_prefix("whsec_").expect("prefix")).expect("b64");
        assert!(!ciphertext.windows(raw.len()).any(|w| w == raw.as_slice()), "secrets are stored encrypted");
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
    let c = owner_with_document(mail_dir).await;
    let receiver = Receiver::start().await;
    let r =
        call(&c.app, &c.app.client, "create", json!({ "url": receiver.url, "description": "", "event_types": ["*"] }))
            .await;
    assert_eq!(r.status(), 422, "an internal address literal is refused when saved");
    // A name is checked when it is resolved, at delivery: localhost is internal.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let (id, _) = add_endpoint(&c.app, &by_name, &["*"]).await;
    ok(&c.app, "test", json!({ "id": id })).await;
    let mut entry = Value::Null;
    for _ in 0..100 {
        let log = ok(&c.app, "log", json!({ "id": id })).await;
        if log[0]["attempts"].as_i64().unwrap_or(0) > 0 {
            entry = log[0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = entry["attempt_log"][0]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("internal address"), "{entry}");
    assert_eq!(entry["last_status_code"], Value::Null);
    assert_eq!(receiver.requests(), 0, "nothing reached the internal address");
}

#[tokio::test]
async fn a_refused_action_makes_no_message() {
    let c = owner_with_document(allow_private).await;
    let receiver = Receiver::start().await;
    let (id, secret) = add_endpoint(&c.app, &receiver.url, &["document.voided", "document.sent"]).await;
    receiver.trust(&secret);
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    c.ok("/api/signing/void", json!({ "id": c.id, "reason": "Wrong amount" })).await;
    // The second void is refused: its event and state change rolled back together.
    let again = c.call("/api/signing/void", json!({ "id": c.id, "reason": "again" })).await;
    assert_eq!(again.status(), StatusCode::CONFLICT.as_u16());
    receiver.wait_for("document.voided").await;
    // A test event queued after the refusal arrives after anything the refusal could have made.
    ok(&c.app, "test", json!({ "id": id })).await;
    receiver.wait_for("webhook.test").await;
    assert_eq!(receiver.types().iter().filter(|t| *t == "document.voided").count(), 1, "{:?}", receiver.types());
    let messages: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_messages WHERE event_type = 'document.voided'")
            .fetch_one(&c.app.pool)
            .await
            .expect("count");
    assert_eq!(messages, 1);
}

#[tokio::test]
async fn webhook_secrets_survive_a_master_key_rotation() {
    let key_a = STANDARD.encode([1u8; 32]);
    let key_b = STANDARD.encode([2u8; 32]);
    let start = |data: Option<tempfile::TempDir>, current: String, previous: Vec<String>| {
        crate::helpers::spawn_app_with(crate::helpers::Options {
            data,
            configure: Some(Box::new(move |c| {
                c.storage.master_key = current.into();
                c.storage.previous_master_keys = previous.into_iter().map(Into::into).collect();
                c.webhooks.allow_private_targets = true;
            })),
            ..crate::helpers::Options::default()
        })
    };
    let app = start(None, key_a.clone(), vec![]).await;
    app.set_up_owner().await;
    let receiver = Receiver::start().await;
    let (id, secret) = add_endpoint(&app, &receiver.url, &["*"]).await;
    let output = crate::helpers::run_attesta(|c| {
        c.args(["storage", "rotate-key"])
            .envs(app.cli_env())
            .env("ATTESTA__STORAGE__MASTER_KEY", &key_b)
            .env("ATTESTA__STORAGE__PREVIOUS_MASTER_KEYS", format!("[\"{key_a}\"]"))
    })
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 re-wrapped"),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    // The new master key alone opens the secret, which did not change.
    let again = start(Some(app.stop().await), key_b, vec![]).await;
    again.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    assert_eq!(ok(&again, "secret", json!({ "id": id })).await, secret.as_str());
    receiver.trust(&secret);
    ok(&again, "test", json!({ "id": id })).await;
    receiver.wait_for("webhook.test").await;
}
