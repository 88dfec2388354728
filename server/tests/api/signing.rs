//! The signing ceremony over HTTP: prepare, send, sign by link, and every refusal on the way.
//! Mail goes to the file outbox here (read back from the `.eml` files); the browser tests read
//! it back from a real SMTP server (MailDev).

use crate::helpers::{Options, TestApp, pdf, pdf_of_objects, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;

/// A 1×1 transparent PNG: a valid signature image for the server's checks.
pub(crate) const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

pub(crate) struct Ceremony {
    pub(crate) app: TestApp,
    pub(crate) id: String,
    pub(crate) sha256: String,
}

fn outbox(app: &TestApp) -> PathBuf {
    app.data.path().join("outbox")
}

/// A signed-in owner with one uploaded two-page PDF.
pub(crate) async fn owner_with_document(
    configure: impl FnOnce(&mut attesta_server::config::Config) + Send + 'static,
) -> Ceremony {
    owner_with_document_in(Options::configured(configure)).await
}

/// [`owner_with_document`] in an app started with these options.
pub(crate) async fn owner_with_document_in(options: Options) -> Ceremony {
    let app = spawn_app_with(options).await;
    app.set_up_owner().await;
    let bytes = pdf(2, "Agreement");
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let id = app.upload_ok("agreement.pdf", bytes).await;
    Ceremony { app, id, sha256 }
}

impl Ceremony {
    pub(crate) async fn call(&self, path: &str, body: Value) -> reqwest::Response {
        self.app.client.post(self.app.url(path)).json(&body).send().await.expect("request")
    }

    pub(crate) async fn ok(&self, path: &str, body: Value) -> Value {
        let r = self.call(path, body).await;
        let status = r.status();
        let text = r.text().await.expect("body");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub(crate) async fn revision(&self) -> i64 {
        self.ok("/api/draft", json!({ "id": self.id })).await["revision"].as_i64().expect("revision")
    }

    /// Saves a draft with these signers (name, email, code?), one signature field each, plus
    /// `extra` fields; returns the new revision.
    pub(crate) async fn save(&self, order: &str, signers: &[(&str, &str, bool)], extra: Vec<Value>) -> i64 {
        let recipients: Vec<Value> = signers
            .iter()
            .enumerate()
            .map(|(i, (name, email, otp))| json!({ "id": format!("r{}", i + 1), "name": name, "email": email, "otp": otp }))
            .collect();
        let mut fields: Vec<Value> = (0..signers.len())
            .map(|i| {
                json!({ "id": format!("s{}", i + 1), "recipient": format!("r{}", i + 1), "kind": "signature", "page": 1,
                        "rect": { "x": 72.0, "y": 100.0 + 60.0 * i as f64, "width": 180.0, "height": 48.0 },
                        "required": true, "label": "" })
            })
            .collect();
        fields.extend(extra);
        let draft = json!({ "order": order, "recipients": recipients, "fields": fields, "message": "Please sign." });
        let revision = self.revision().await;
        self.ok("/api/draft/save", json!({ "id": self.id, "revision": revision, "draft": draft }))
            .await
            .as_i64()
            .expect("rev")
    }

    pub(crate) async fn send(&self, order: &str, signers: &[(&str, &str, bool)], extra: Vec<Value>) {
        let revision = self.save(order, signers, extra).await;
        self.ok("/api/draft/send", json!({ "id": self.id, "revision": revision })).await;
    }

    pub(crate) async fn status(&self) -> Value {
        self.ok("/api/signing/status", json!({ "id": self.id })).await
    }

    pub(crate) async fn event_types(&self) -> Vec<String> {
        sqlx::query_scalar::<_, String>("SELECT event_type FROM audit_events WHERE document_id = $1 ORDER BY seq")
            .bind(&self.id)
            .fetch_all(&self.app.pool)
            .await
            .expect("events")
    }

    /// The newest signing link mailed to `email` so far.
    pub(crate) fn link_now(&self, email: &str) -> Option<String> {
        mails(&self.app).into_iter().rev().find(|m| m.to.contains(email)).and_then(|m| token_in(&m.body))
    }

    /// The newest signing link mailed to `email` other than `not`, once the jobs due have run
    /// (mail goes out in a job after the request that caused it has answered).
    pub(crate) async fn link_after(&self, email: &str, not: Option<&str>) -> Option<String> {
        self.app.run_due_jobs().await;
        self.link_now(email).filter(|l| Some(l.as_str()) != not)
    }

    pub(crate) async fn link_for(&self, email: &str) -> Option<String> {
        self.link_after(email, None).await
    }

    /// The document's status once the follow-up work due has run (it runs in jobs).
    pub(crate) async fn status_becomes(&self, status: &str) -> Value {
        self.app.run_due_jobs().await;
        let s = self.status().await;
        assert_eq!(s["status"], status, "the document did not become {status}: {s}");
        s
    }

    /// The mails to `email` once the jobs due have run (at least `n` expected).
    pub(crate) async fn mails_arrive(&self, email: &str, n: usize) -> Vec<Mail> {
        self.app.run_due_jobs().await;
        let m = self.mails_to(email);
        assert!(m.len() >= n, "{} mails to {email}, expected {n}", m.len());
        m
    }

    pub(crate) fn mails_to(&self, email: &str) -> Vec<Mail> {
        mails(&self.app).into_iter().filter(|m| m.to.contains(email)).collect()
    }
}

/// A signer: their own cookie jar (a different browser), same site.
pub(crate) struct Signer {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Signer {
    pub(crate) fn new(app: &TestApp, token: String) -> Self {
        Self { client: crate::helpers::client_with_origin(&app.address), base: app.address.clone(), token }
    }

    pub(crate) async fn call(&self, endpoint: &str, mut body: Value) -> reqwest::Response {
        body["token"] = json!(self.token);
        self.client.post(format!("{}/api/sign/{endpoint}", self.base)).json(&body).send().await.expect("request")
    }

    pub(crate) async fn expect(&self, endpoint: &str, body: Value, status: StatusCode) -> String {
        let r = self.call(endpoint, body).await;
        let got = r.status();
        let text = r.text().await.expect("body");
        assert_eq!(got, status, "{endpoint}: {text}");
        text
    }

    /// Opens the link as the signer's page does: the view (rendered) and the view recorded (by
    /// the running page).
    pub(crate) async fn open(&self) -> Value {
        let view = serde_json::from_str(&self.expect("open", json!({}), StatusCode::OK).await).expect("json");
        self.expect("viewed", json!({}), StatusCode::OK).await;
        view
    }

    pub(crate) async fn consent(&self) {
        self.expect("consent", json!({ "geo": null }), StatusCode::OK).await;
    }

    pub(crate) fn submission(&self, sha256: &str, values: Value) -> Value {
        json!({ "submission": { "values": values, "signature_png": PNG_1X1, "signature_method": "drawn",
                                "initials_png": null, "initials_method": null, "client_sha256": sha256 } })
    }

    pub(crate) async fn sign(&self, sha256: &str, field: &str) {
        let body = self.submission(sha256, json!({ field: { "type": "applied" } }));
        self.expect("submit", body, StatusCode::OK).await;
    }
}

pub(crate) struct Mail {
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) body: String,
}

/// Every mail in the outbox, oldest first, with quoted-printable soft breaks and escapes undone.
pub(crate) fn mails(app: &TestApp) -> Vec<Mail> {
    let mut files: Vec<_> = std::fs::read_dir(outbox(app))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let raw = std::fs::read_to_string(p).expect("eml");
            let header = |name: &str| {
                raw.lines().find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:"))).unwrap_or("").to_owned()
            };
            Mail { to: header("to").to_lowercase(), subject: header("subject"), body: unquote(&raw) }
        })
        .collect()
}

pub(crate) fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn token_in(text: &str) -> Option<String> {
    // A signer's, an approver's or an acknowledger's link.
    let start = ["/sign/", "/approvals/", "/documents/acknowledge/"]
        .iter()
        .find_map(|prefix| text.find(prefix).map(|at| at + prefix.len()))?;
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (token.len() == 43).then_some(token)
}

pub(crate) fn mail_dir(c: &mut attesta_server::config::Config) {
    // The outbox lives in the test's data folder: the blob folder's path tells where that is.
    c.mail.outbox_dir = c.storage.path.with_file_name("outbox");
}

#[tokio::test]
async fn a_sequential_ceremony_mails_each_signer_in_turn_and_completes_with_every_event() {
    let c = owner_with_document(mail_dir).await;
    c.send(
        "sequential",
        &[("Bob Builder", "bob@example.com", false), ("Carol Danvers", "carol@example.com", false)],
        vec![],
    )
    .await;
    // The first link goes out just after the answer to Send.
    c.link_for("bob@example.com").await.expect("bob's link");
    let status = c.status().await;
    assert_eq!(status["status"], "sent");
    assert_eq!(status["recipients"][0]["status"], "sent");
    assert_eq!(status["recipients"][1]["status"], "waiting");
    assert!(c.link_now("carol@example.com").is_none(), "the second signer waits for the first");
    let request = &c.mails_arrive("bob@example.com", 1).await[0];
    assert!(request.subject.contains("sign"), "{}", request.subject);

    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("bob's link"));
    let view = bob.open().await;
    assert_eq!(view["recipient_name"], "Bob Builder");
    assert_eq!(view["fields"].as_array().map(Vec::len), Some(1), "only bob's own field: {view}");
    assert!(view["disclosure"].as_str().is_some_and(|d| d.contains("Ada Lovelace")));
    bob.open().await; // a second open is not a second view
    // Rendering the link (as a mail scanner fetching it does) records nothing.
    let scanned = c.app.client.get(c.app.url(&format!("/sign/{}", bob.token))).send().await.expect("page");
    assert_eq!(scanned.status(), StatusCode::OK);
    assert_eq!(scanned.headers()["cache-control"], "private, no-store");
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    assert_eq!(c.status().await["status_label"], "Partially signed (1 of 2)");
    let used = bob.expect("open", json!({}), StatusCode::GONE).await;
    assert!(used.contains("already signed"), "{used}");

    let carol = Signer::new(&c.app, c.link_for("carol@example.com").await.expect("carol's link after bob signed"));
    carol.open().await;
    carol.consent().await;
    carol.sign(&c.sha256, "s2").await;

    c.status_becomes("completed").await;
    crate::completion::sealed_sha256(&c).await;
    assert_eq!(
        c.event_types().await,
        [
            "document.uploaded",
            "document.sent",
            "recipient.link_issued",
            "recipient.email_sent",
            "recipient.viewed",
            "recipient.consented",
            "recipient.signed",
            "recipient.link_issued",
            "recipient.email_sent",
            "recipient.viewed",
            "recipient.consented",
            "recipient.signed",
            "document.completed",
            "document.sealed",
        ]
    );
    // The signed event carries the browser's hash and the signature image's.
    let details: String = sqlx::query_scalar(
        "SELECT record FROM audit_events WHERE document_id = $1 AND event_type = 'recipient.signed' ORDER BY seq LIMIT 1",
    )
    .bind(&c.id)
    .fetch_one(&c.app.pool)
    .await
    .expect("signed event");
    let record: Value = serde_json::from_str(&details).expect("record json");
    assert_eq!(record["client_file_sha256"], c.sha256.as_str());
    assert_eq!(record["details"]["images"]["signature"]["method"], "drawn");
    // Everyone hears about completion; the link no longer works.
    let owner_mail = c.mails_arrive("ada@example.com", 1).await;
    assert!(
        owner_mail.iter().any(|m| m.subject.to_lowercase().contains("signed")),
        "{:?}",
        owner_mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let after = carol.expect("open", json!({}), StatusCode::GONE).await;
    assert!(after.contains("completed"), "{after}");
    assert!(!after.contains("agreement"), "a dead link says nothing about the document: {after}");
    let r = c.app.post_form("/api/documents/verify", &[("id", &c.id)]).await;
    let outcome: Value = r.json().await.expect("verify json");
    assert_eq!(outcome["valid"], true, "the whole chain verifies: {outcome}");
}

#[tokio::test]
async fn a_parallel_ceremony_mails_everyone_at_once() {
    let c = owner_with_document(mail_dir).await;
    let people =
        [("A One", "a@example.com", false), ("B Two", "b@example.com", false), ("C Three", "c@example.com", false)];
    c.send("parallel", &people, vec![]).await;
    let mut links = Vec::new();
    for p in &people {
        links.push(c.link_for(p.1).await.expect("everyone has a link"));
    }
    // Any order works: the last signs first.
    for (i, token) in links.iter().enumerate().rev() {
        let s = Signer::new(&c.app, token.clone());
        s.open().await;
        s.consent().await;
        s.sign(&c.sha256, &format!("s{}", i + 1)).await;
    }
    c.status_becomes("completed").await;
    crate::completion::sealed_sha256(&c).await;
    let types = c.event_types().await;
    assert_eq!(types.iter().filter(|t| *t == "recipient.signed").count(), 3);
    assert_eq!(&types[types.len() - 2..], ["document.completed", "document.sealed"]);
}

#[tokio::test]
async fn sending_checks_the_draft_and_then_freezes_it() {
    let c = owner_with_document(mail_dir).await;
    // No recipients: refused with the reason, nothing sent.
    let revision = c.revision().await;
    let r = c.call("/api/draft/send", json!({ "id": c.id, "revision": revision })).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The core says "add at least one recipient"; the page shows a sentence.
    assert!(r.text().await.expect("body").contains("Add at least one recipient"));
    // A duplicate email and a signer without a field.
    let recipients = json!([
        { "id": "r1", "name": "Bob", "email": "bob@example.com" },
        { "id": "r2", "name": "Bob again", "email": "BOB@example.com" }
    ]);
    let draft = json!({ "order": "parallel", "recipients": recipients, "fields": [
        { "id": "s1", "recipient": "r1", "kind": "signature", "page": 1,
          "rect": { "x": 72, "y": 72, "width": 180, "height": 48 }, "required": true }
    ]});
    let revision = c.ok("/api/draft/save", json!({ "id": c.id, "revision": revision, "draft": draft })).await;
    let r = c.call("/api/draft/send", json!({ "id": c.id, "revision": revision })).await;
    let text = r.text().await.expect("body");
    assert!(text.contains("is already recipient 1") && text.contains("Place at least one field"), "{text}");
    // A field off the page is refused at save time.
    let off = json!({ "order": "parallel", "recipients": recipients, "fields": [
        { "id": "s9", "recipient": "r1", "kind": "signature", "page": 3,
          "rect": { "x": 72, "y": 72, "width": 180, "height": 48 }, "required": true }
    ]});
    let r = c.call("/api/draft/save", json!({ "id": c.id, "revision": revision, "draft": off })).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("body").contains("Page 3 does not exist"));
    let stale = c.call("/api/draft/save", json!({ "id": c.id, "revision": 0, "draft": draft })).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT, "a save from an older revision is a conflict");

    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    let r = c.call("/api/draft/save", json!({ "id": c.id, "revision": c.revision().await, "draft": draft })).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "a sent document's layout cannot change");
    // Not even behind the application's back.
    let direct =
        sqlx::query("UPDATE documents SET layout_json = '{}' WHERE id = $1").bind(&c.id).execute(&c.app.pool).await;
    assert!(direct.is_err(), "the database refuses to change a sent layout");
    let sent = c.app.records_of(&c.id, "document.sent").await;
    let sent = sent.first().expect("sent event")["details"]["layout_sha256"].as_str().expect("a hash").to_owned();
    assert_eq!(sent.len(), 64);
}

#[tokio::test]
async fn wrong_malformed_and_expired_links_reveal_nothing() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    let token = c.link_for("bob@example.com").await.expect("link");
    for bad in ["nope", &"A".repeat(43), &format!("{}x", &token[..42])] {
        let s = Signer::new(&c.app, bad.to_owned());
        let text = s.expect("open", json!({}), StatusCode::GONE).await;
        assert!(text.contains("invalid") && !text.contains("Agreement") && !text.contains("Bob"), "{text}");
    }
    // The page for a bad link is a clear page, not an error dump.
    let page = c.app.client.get(c.app.url("/sign/not-a-token")).send().await.expect("page");
    let html = page.text().await.expect("html");
    assert!(html.contains("This link cannot be used"), "{html}");
    let file = c.app.client.get(c.app.url("/sign/not-a-token/file")).send().await.expect("file");
    assert_eq!(file.status(), StatusCode::GONE);

    sqlx::query("UPDATE documents SET status = 'expired' WHERE id = $1")
        .bind(&c.id)
        .execute(&c.app.pool)
        .await
        .expect("expire");
    let s = Signer::new(&c.app, token);
    let text = s.expect("open", json!({}), StatusCode::GONE).await;
    assert!(text.contains("expired"), "{text}");
}

#[tokio::test]
async fn nobody_signs_out_of_order() {
    let c = owner_with_document(mail_dir).await;
    c.send("sequential", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    // Carol has no link yet; give her one behind the server's back to test its own check.
    let token = attesta_core::signing::token::SigningToken::from_random([9; 32]);
    sqlx::query("UPDATE recipients SET token_hash = $1, status = 'sent' WHERE document_id = $2 AND id = 'r2'")
        .bind(token.hash().as_bytes().as_slice())
        .bind(&c.id)
        .execute(&c.app.pool)
        .await
        .expect("plant a link");
    let carol = Signer::new(&c.app, token.as_str().to_owned());
    carol.open().await;
    carol.consent().await;
    let body = carol.submission(&c.sha256, json!({ "s2": { "type": "applied" } }));
    let text = carol.expect("submit", body, StatusCode::CONFLICT).await;
    assert!(text.contains("not your turn"), "{text}");
    assert!(!c.event_types().await.contains(&"recipient.signed".to_owned()));
}

#[tokio::test]
async fn a_signature_needs_consent_every_required_field_and_the_same_file() {
    let c = owner_with_document(mail_dir).await;
    let text_field = json!({ "id": "t1", "recipient": "r1", "kind": "text", "page": 2,
        "rect": { "x": 72, "y": 300, "width": 160, "height": 22 }, "required": true, "label": "Job title" });
    let tick = json!({ "id": "c1", "recipient": "r1", "kind": "checkbox", "page": 2,
        "rect": { "x": 72, "y": 200, "width": 18, "height": 18 }, "required": false, "label": "" });
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![text_field, tick]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;

    let complete = json!({ "s1": { "type": "applied" }, "t1": { "type": "text", "value": "Director" } });
    let text = bob.expect("submit", bob.submission(&c.sha256, complete.clone()), StatusCode::CONFLICT).await;
    assert!(text.contains("Agree to sign electronically first"), "{text}");
    bob.consent().await;

    let missing = json!({ "s1": { "type": "applied" } });
    let text = bob.expect("submit", bob.submission(&c.sha256, missing), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(text.contains("Job title"), "{text}");

    let other = "0".repeat(64);
    let text = bob.expect("submit", bob.submission(&other, complete.clone()), StatusCode::CONFLICT).await;
    assert!(text.contains(&other) && text.contains(&c.sha256), "both hashes are named: {text}");

    let mut not_png = bob.submission(&c.sha256, complete.clone());
    not_png["submission"]["signature_png"] = json!("aGVsbG8=");
    let text = bob.expect("submit", not_png, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(text.contains("not a PNG"), "{text}");

    let foreign =
        json!({ "s1": { "type": "applied" }, "t1": { "type": "text", "value": "x" }, "zz": { "type": "applied" } });
    bob.expect("submit", bob.submission(&c.sha256, foreign), StatusCode::UNPROCESSABLE_ENTITY).await;

    assert!(!c.event_types().await.contains(&"recipient.signed".to_owned()), "no refusal recorded a signature");
    assert_eq!(c.app.count("field_values").await, 0);

    bob.expect("submit", bob.submission(&c.sha256, complete.clone()), StatusCode::OK).await;
    // A replayed submission is refused: the link is used (and, a moment later, the document
    // completed: either answer is right).
    let text = bob.expect("submit", bob.submission(&c.sha256, complete), StatusCode::GONE).await;
    assert!(text.contains("already signed") || text.contains("completed"), "{text}");
    assert_eq!(c.event_types().await.iter().filter(|t| *t == "recipient.signed").count(), 1);
    let values: Vec<String> =
        sqlx::query_scalar("SELECT value_json FROM field_values WHERE document_id = $1 ORDER BY field_id")
            .bind(&c.id)
            .fetch_all(&c.app.pool)
            .await
            .expect("values");
    assert_eq!(values.len(), 2, "signature and text; the unticked optional box is not stored: {values:?}");
    assert_eq!(c.app.count("blobs").await, 2, "the document and the signature image");
}

#[tokio::test]
async fn one_time_codes_are_emailed_checked_and_lock_after_five_wrong_tries() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", true)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    let view = bob.open().await;
    assert_eq!(view["otp_required"], true);
    assert_eq!(view["otp_destination"], "b***@example.com");
    bob.consent().await;
    // Without the code, no signature.
    let body = bob.submission(&c.sha256, json!({ "s1": { "type": "applied" } }));
    bob.expect("submit", body.clone(), StatusCode::FORBIDDEN).await;

    bob.expect("code", json!({}), StatusCode::OK).await;
    let mail = c.mails_to("bob@example.com").into_iter().last().expect("code mail");
    let code = code_in(&mail.body).expect("the code is in the body");
    assert!(mail.subject.starts_with("Subject: Your signing code"), "{}", mail.subject);
    assert!(!mail.subject.contains(&code), "the code stays out of the subject: {}", mail.subject);
    // Asking again at once is refused with a wait.
    let r = bob.call("code", json!({})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));

    for left in (1..5).rev() {
        let text = bob.expect("verify", json!({ "code": "000000" }), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(text.contains(&format!("{left} tries left")) || mail.body.contains("000 000"), "{text}");
    }
    let r = bob.call("verify", json!({ "code": "000000" })).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Locked: even asking for a new code waits.
    let r = bob.call("code", json!({})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(wait > 60, "a lock lasts minutes: {wait}");
    let types = c.event_types().await;
    assert!(types.contains(&"recipient.otp_sent".to_owned()) && !types.contains(&"recipient.otp_verified".to_owned()));
    // Every wrong code is in the chain, with the tries it left.
    assert_eq!(types.iter().filter(|t| *t == "recipient.otp_failed").count(), 5, "{types:?}");
    let last: String = sqlx::query_scalar(
        "SELECT record FROM audit_events WHERE document_id = $1 AND event_type = 'recipient.otp_failed' ORDER BY seq DESC LIMIT 1",
    )
    .bind(&c.id)
    .fetch_one(&c.app.pool)
    .await
    .expect("the last wrong code");
    let last: serde_json::Value = serde_json::from_str(&last).expect("json");
    assert_eq!(last["details"], json!({ "recipient": "r1", "channel": "email", "remaining": 0 }), "{last}");
}

#[tokio::test]
async fn the_right_code_lets_this_browser_sign_and_no_other() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", true)], vec![]).await;
    let token = c.link_for("bob@example.com").await.expect("link");
    let bob = Signer::new(&c.app, token.clone());
    bob.open().await;
    bob.consent().await;
    bob.expect("code", json!({}), StatusCode::OK).await;
    let mail = c.mails_to("bob@example.com").into_iter().last().expect("code mail");
    let code = code_in(&mail.body).expect("a 6-digit code in the mail");
    bob.expect("verify", json!({ "code": code }), StatusCode::OK).await;
    // Someone else holding the link (a forwarded email) has not proved the inbox.
    let other = Signer::new(&c.app, token);
    let body = other.submission(&c.sha256, json!({ "s1": { "type": "applied" } }));
    other.expect("submit", body.clone(), StatusCode::FORBIDDEN).await;
    bob.expect("submit", body, StatusCode::OK).await;
    let types = c.event_types().await;
    let verified = types.iter().position(|t| t == "recipient.otp_verified").expect("verified");
    let signed = types.iter().position(|t| t == "recipient.signed").expect("signed");
    assert!(verified < signed);
}

fn code_in(body: &str) -> Option<String> {
    // The code is written `123 456`.
    let chars: Vec<char> = body.chars().collect();
    chars.windows(7).find_map(|w| {
        let ok = w[..3].iter().all(char::is_ascii_digit) && w[3] == ' ' && w[4..].iter().all(char::is_ascii_digit);
        ok.then(|| w.iter().filter(|c| c.is_ascii_digit()).collect())
    })
}

#[tokio::test]
async fn voiding_ends_every_link_and_tells_the_recipients() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;
    bob.consent().await;
    let r = c.call("/api/signing/void", json!({ "id": c.id, "reason": "  " })).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a void needs a reason");
    c.ok("/api/signing/void", json!({ "id": c.id, "reason": "Wrong amount" })).await;
    assert_eq!(c.status().await["status"], "voided");
    let body = bob.submission(&c.sha256, json!({ "s1": { "type": "applied" } }));
    let text = bob.expect("submit", body, StatusCode::GONE).await;
    assert!(text.contains("cancelled"), "{text}");
    assert!(c.mails_arrive("carol@example.com", 2).await.iter().any(|m| m.body.contains("Wrong amount")));
    assert_eq!(c.event_types().await.iter().filter(|t| *t == "document.voided").count(), 1);
    let again = c.call("/api/signing/void", json!({ "id": c.id, "reason": "again" })).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn after_a_void_recipients_read_voided_and_keep_the_time_their_link_was_emailed() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;
    c.mails_arrive("carol@example.com", 1).await;
    let before = c.status().await;
    assert_eq!(before["recipients"][0]["status"], "viewed");
    let emailed: Vec<Value> = (0..2).map(|i| before["recipients"][i]["emailed_at"].clone()).collect();
    assert!(emailed.iter().all(Value::is_i64), "{before}");
    c.ok("/api/signing/void", json!({ "id": c.id, "reason": "Wrong amount" })).await;
    c.mails_arrive("carol@example.com", 2).await;
    let after = c.status().await;
    for (i, r) in after["recipients"].as_array().expect("recipients").iter().enumerate() {
        assert_eq!(r["status"], "voided", "{after}");
        assert_eq!(r["status_label"], "Voided before they signed");
        assert_eq!(r["emailed_at"], emailed[i], "the void notice moved the link's time: {after}");
        assert_eq!(r["can_resend"], false);
    }
    // What they did stays on record.
    assert!(after["recipients"][0]["viewed_at"].is_i64());
}

#[tokio::test]
async fn a_decline_ends_the_ceremony_and_tells_the_sender() {
    let c = owner_with_document(mail_dir).await;
    c.send("sequential", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;
    bob.expect("decline", json!({ "reason": "" }), StatusCode::UNPROCESSABLE_ENTITY).await;
    bob.expect("decline", json!({ "reason": "Not my company" }), StatusCode::OK).await;
    let status = c.status().await;
    assert_eq!(status["status"], "declined");
    assert_eq!(status["recipients"][0]["decline_reason"], "Not my company");
    assert!(c.link_now("carol@example.com").is_none(), "nobody after a decline is asked");
    assert!(c.mails_arrive("ada@example.com", 1).await.iter().any(|m| m.body.contains("Not my company")));
    bob.expect("open", json!({}), StatusCode::GONE).await;
}

#[tokio::test]
async fn resending_replaces_the_link() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    let old = c.link_for("bob@example.com").await.expect("link");
    c.ok("/api/signing/resend", json!({ "id": c.id, "recipient": "r1" })).await;
    let new = c.link_after("bob@example.com", Some(&old)).await.expect("new link");
    assert_ne!(old, new);
    Signer::new(&c.app, old).expect("open", json!({}), StatusCode::GONE).await;
    Signer::new(&c.app, new).open().await;
    let actors: Vec<String> = c
        .app
        .records_of(&c.id, "recipient.email_sent")
        .await
        .iter()
        .map(|r| r["actor"]["kind"].as_str().expect("an actor kind").to_owned())
        .collect();
    assert_eq!(actors, ["system", "user"], "the first link is the system's doing, the resend the sender's");
}

#[tokio::test]
async fn the_signer_file_is_the_sent_file() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    let token = c.link_for("bob@example.com").await.expect("link");
    let r = c.app.client.get(c.app.url(&format!("/sign/{token}/file"))).send().await.expect("file");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let bytes = r.bytes().await.expect("bytes");
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)), c.sha256);
}

#[tokio::test]
async fn public_signing_endpoints_are_rate_limited() {
    let c = owner_with_document(|cfg| {
        mail_dir(cfg);
        cfg.signing.public_requests_per_minute = 2;
        cfg.signing.public_burst = 3;
    })
    .await;
    let s = Signer::new(&c.app, "x".repeat(43));
    let mut limited = None;
    for _ in 0..10 {
        let r = s.call("open", json!({})).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the limit is reached within 10 requests");
    let wait: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // The signed-in app is not affected.
    assert_eq!(c.app.get("/healthz").await.status(), StatusCode::OK);
    c.status().await;
}

/// Three pages: portrait Letter, landscape A4, and a Letter page turned 90° with its crop box
/// away from the origin.
fn mixed_pages_pdf() -> Vec<u8> {
    let content = "BT /F1 18 Tf 72 500 Td (Mixed) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [5 0 R 6 0 R 7 0 R] /Count 3 >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /CropBox [50 60 400 700] /Rotate 90 \
         /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
    ];
    pdf_of_objects(&objects)
}

#[tokio::test]
async fn pages_are_measured_as_shown_landscape_rotated_and_cropped() {
    let app = spawn_app_with(Options::configured(mail_dir)).await;
    app.set_up_owner().await;
    let id = app.upload_ok("mixed.pdf", mixed_pages_pdf()).await;
    let c = Ceremony { app, id, sha256: String::new() };
    let view = c.ok("/api/draft", json!({ "id": c.id })).await;
    let pages = view["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 3);
    assert_eq!((pages[1]["x1"].as_f64(), pages[1]["y1"].as_f64()), (Some(842.0), Some(595.0)), "landscape");
    assert_eq!(pages[2]["rotate"], 90);
    assert_eq!((pages[2]["x0"].as_f64(), pages[2]["y0"].as_f64()), (Some(50.0), Some(60.0)), "crop box offset");
    assert_eq!((pages[2]["x1"].as_f64(), pages[2]["y1"].as_f64()), (Some(400.0), Some(700.0)));

    let draft = |x: f64, y: f64| {
        json!({ "order": "parallel", "recipients": [{ "id": "r1", "name": "Bob", "email": "bob@example.com" }],
                "fields": [{ "id": "s1", "recipient": "r1", "kind": "signature", "page": 3,
                             "rect": { "x": x, "y": y, "width": 48, "height": 180 }, "required": true }] })
    };
    let revision = view["revision"].as_i64().expect("revision");
    // On the turned page a 180 × 48 signature is 48 × 180 in user space, inside the crop box.
    let saved = c.ok("/api/draft/save", json!({ "id": c.id, "revision": revision, "draft": draft(60.0, 70.0) })).await;
    // Left of the crop box is off the visible page.
    let r = c.call("/api/draft/save", json!({ "id": c.id, "revision": saved, "draft": draft(10.0, 70.0) })).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("body").contains("not inside its page"));
}

#[tokio::test]
async fn wrong_codes_add_up_across_codes_until_the_sender_resends_the_link() {
    let c = owner_with_document(|cfg| {
        mail_dir(cfg);
        cfg.signing.otp_resend_pause = std::time::Duration::ZERO;
        cfg.signing.otp_lock_pause = std::time::Duration::ZERO;
    })
    .await;
    c.send("parallel", &[("Bob", "bob@example.com", true)], vec![]).await;
    let first = c.link_for("bob@example.com").await.expect("link");
    let bob = Signer::new(&c.app, first.clone());
    bob.open().await;
    bob.consent().await;
    // Declining ends the ceremony for everyone: not without the code either.
    bob.expect("decline", json!({ "reason": "not me" }), StatusCode::FORBIDDEN).await;
    let mut refused = 0;
    for _ in 0..2 {
        bob.expect("code", json!({}), StatusCode::OK).await;
        for _ in 0..5 {
            let r = bob.call("verify", json!({ "code": "000000" })).await;
            assert!(!r.status().is_success());
            refused += 1;
        }
    }
    assert_eq!(refused, 10);
    // Ten wrong codes over two codes: no new code, whatever the wait.
    let text = bob.expect("code", json!({}), StatusCode::CONFLICT).await;
    assert!(text.contains("ask the sender"), "{text}");
    // A resent link starts afresh.
    c.ok("/api/signing/resend", json!({ "id": c.id, "recipient": "r1" })).await;
    let fresh = c.link_after("bob@example.com", Some(&first)).await.expect("new link");
    let bob = Signer::new(&c.app, fresh);
    bob.expect("code", json!({}), StatusCode::OK).await;
    let mail = c.mails_to("bob@example.com").into_iter().last().expect("code mail");
    bob.expect("verify", json!({ "code": code_in(&mail.body).expect("code") }), StatusCode::OK).await;
}

#[tokio::test]
async fn a_document_not_finished_by_its_deadline_expires_and_everyone_with_a_link_is_told() {
    let clock = std::sync::Arc::new(attesta_server::clock::MovableClock::default());
    let mut options = Options::configured(|c| {
        mail_dir(c);
        c.signing.expire_after = std::time::Duration::from_secs(3600);
    });
    options.clock = Some(clock.clone());
    let app = spawn_app_with(options).await;
    app.set_up_owner().await;
    let bytes = pdf(2, "Agreement");
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let id = app.upload_ok("agreement.pdf", bytes).await;
    let c = Ceremony { app, id, sha256 };
    c.send("parallel", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("bob's link"));
    let carol = Signer::new(&c.app, c.link_for("carol@example.com").await.expect("carol's link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;

    // Before the deadline nothing expires.
    c.app.run_due_jobs().await;
    // (The test clock runs with real time too, so "just before" leaves room for a slow machine.)
    clock.advance(std::time::Duration::from_secs(3000));
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "sent");
    // From the deadline on, nobody acts, even before the expiry is recorded.
    clock.advance(std::time::Duration::from_secs(601));
    let late = carol.expect("consent", json!({}), StatusCode::GONE).await;
    assert!(late.contains("expired"), "{late}");
    // The `document.expire` job committed with the send is due now.
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "expired");
    assert_eq!(c.app.documents.expire_due().await, 0, "expired once");

    let types = c.event_types().await;
    assert_eq!(types.iter().filter(|t| *t == "document.expired").count(), 1, "{types:?}");
    let expired: String = sqlx::query_scalar(
        "SELECT record FROM audit_events WHERE document_id = $1 AND event_type = 'document.expired'",
    )
    .bind(&c.id)
    .fetch_one(&c.app.pool)
    .await
    .expect("the expiry");
    let expired: Value = serde_json::from_str(&expired).expect("json");
    assert_eq!(expired["details"]["unsigned"], 1, "{expired}");
    assert_eq!(expired["actor"]["id"], "system:attesta");
    let sent: String =
        sqlx::query_scalar("SELECT record FROM audit_events WHERE document_id = $1 AND event_type = 'document.sent'")
            .bind(&c.id)
            .fetch_one(&c.app.pool)
            .await
            .expect("the send");
    let sent: Value = serde_json::from_str(&sent).expect("json");
    assert_eq!(expired["details"]["deadline"], sent["details"]["expires_at"], "the deadline set at sending");

    // Both had a link: both are told, by the jobs committed with the expiry.
    c.app.run_due_jobs().await;
    for email in ["bob@example.com", "carol@example.com"] {
        assert!(
            c.mails_to(email).iter().any(|m| m.subject.contains("expired before everyone signed")),
            "{email} is told"
        );
    }
    let gone = carol.expect("open", json!({}), StatusCode::GONE).await;
    assert!(gone.contains("expired"), "{gone}");
}

#[tokio::test]
async fn log_verify_names_a_change_of_state_made_behind_the_applications_back() {
    let c = owner_with_document(mail_dir).await;
    c.send("parallel", &[("Bob Builder", "bob@example.com", false)], vec![]).await;
    let verify = || crate::helpers::attesta().envs(c.app.cli_env()).args(["log", "verify"]).output().expect("runs");
    // Sending changed the document and its recipient, each with its event: all accounted for.
    let ok = verify();
    let text = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(text.contains("captured changes of state, each with the event that caused it"), "{text}");
    let captured: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM state_changes").fetch_one(&c.app.pool).await.expect("count");
    assert!(captured >= 2, "the send changed the document and the recipient: {captured}");

    // Bookkeeping columns are not evidence: changing them is no finding.
    sqlx::query("UPDATE documents SET completion_error = 'x' WHERE id = $1")
        .bind(&c.id)
        .execute(&c.app.pool)
        .await
        .expect("bookkeeping");
    assert_eq!(verify().status.code(), Some(0));

    // Someone with database access marks Bob as signed: the triggers capture it, with no event.
    sqlx::query("UPDATE recipients SET status = 'signed' WHERE document_id = $1")
        .bind(&c.id)
        .execute(&c.app.pool)
        .await
        .expect("rewrite");
    let bad = verify();
    let text = String::from_utf8_lossy(&bad.stdout).into_owned();
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL changes"), "{text}");
    assert!(text.contains("update of recipients") && text.contains(&c.id), "{text}");
    // And the capture itself cannot be erased.
    let erase = sqlx::query("DELETE FROM state_changes").execute(&c.app.pool).await.expect_err("append-only");
    assert!(erase.to_string().contains("append-only"), "{erase}");
}
