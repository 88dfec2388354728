//! Clause risk, running: a real CUAD contract uploaded is scanned by a job, its flags stored each
//! with a `risk.flagged` event (the clause's hash in it), the owner mailed about serious ones;
//! owners and admins review flags through the pages' server functions and the REST API (each a
//! `risk.reviewed` event); completion resolves the rest (`risk.resolved`); and the log and the
//! evidence package still verify. The hourly sweep re-scans what the current engine has not read,
//! and a PDF without text is recorded as having nothing to analyse.

use crate::helpers::{Options, TestApp, attesta, spawn_app_with};
use crate::sessions::add_member;
use crate::signing::{Ceremony, Signer, mail_dir, mails};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest as _;
use std::sync::Arc;
use std::time::Duration;

/// A CUAD contract the engine finds serious clauses in (uncapped liability, non-compete, …).
const CONTRACT: &str = "d001.pdf";

/// The contract's bytes, or `None` (with a message) when the shared corpus is not here.
fn cuad_contract() -> Option<Vec<u8>> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/cuad/pdf").join(CONTRACT);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            assert!(std::env::var("CI").is_err(), "the CUAD corpus is missing at {}: {e}", path.display());
            eprintln!("SKIPPED: the CUAD corpus is not at {}", path.display());
            None
        }
    }
}

fn no_worker(config: &mut attesta_server::config::Config) {
    mail_dir(config);
    config.jobs.worker = false;
}

async fn app_with_clock() -> (TestApp, Arc<attesta_server::clock::MovableClock>) {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let app = spawn_app_with(Options { clock: Some(clock.clone()), ..Options::configured(no_worker) }).await;
    app.set_up_owner().await;
    (app, clock)
}

async fn call(app: &TestApp, client: &reqwest::Client, endpoint: &str, body: Value) -> (StatusCode, Value) {
    let r = client.post(app.url(&format!("/api/{endpoint}"))).json(&body).send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn ok(app: &TestApp, endpoint: &str, body: Value) -> Value {
    let (status, body) = call(app, &app.client, endpoint, body).await;
    assert!(status.is_success(), "{endpoint}: {status} {body}");
    body
}

/// The details of the document's events of `event_type`, in order.
async fn details(app: &TestApp, document: &str, event_type: &str) -> Vec<Value> {
    app.records_of(document, event_type).await.into_iter().map(|r| r["details"].clone()).collect()
}

async fn review(app: &TestApp, flag: &str, action: &str, reason: &str, to: &str) -> (StatusCode, Value) {
    let body = json!({ "id": flag, "action": action, "reason": reason, "escalate_to": to });
    call(app, &app.client, "review_flag", body).await
}

#[tokio::test]
async fn a_cuad_contract_is_flagged_reviewed_and_its_flags_resolve_when_it_completes() {
    let Some(bytes) = cuad_contract() else { return };
    let (app, _clock) = app_with_clock().await;
    let id = app.upload_ok("contract.pdf", bytes.clone()).await;
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    app.run_due_jobs().await;

    // The scan: flags stored, each with one `risk.flagged` event naming it and its clause's hash.
    let risk = ok(&app, "document_risk", json!({ "id": id })).await;
    assert_eq!(risk["state"], "analysed", "{risk}");
    let flags = risk["flags"].as_array().expect("flags").clone();
    assert!(flags.len() >= 4, "a real contract has several clauses worth a look: {risk}");
    let flagged = details(&app, &id, "risk.flagged").await;
    assert_eq!(flagged.len(), flags.len());
    for flag in &flags {
        let event = flagged.iter().find(|d| d["flag"] == flag["id"]).expect("an event per flag");
        let clause = flag["clause"].as_str().expect("clause");
        assert_eq!(event["clause_sha256"], hex::encode(sha2::Sha256::digest(clause.as_bytes())));
        assert_eq!(event["category"], flag["category"]);
        assert_eq!(event["severity"], flag["severity"]);
        assert_eq!(event["engine_version"], attesta_core::risk::VERSION);
        assert_eq!((event["start"].as_i64(), event["end"].as_i64()), (flag["start"].as_i64(), flag["end"].as_i64()));
        assert_eq!(flag["status"], "open");
    }
    let serious: Vec<&Value> =
        flags.iter().filter(|f| f["severity"] == "high" || f["severity"] == "critical").collect();
    assert!(!serious.is_empty(), "{CONTRACT} has high or critical clauses: {risk}");
    let alert = mails(&app).into_iter().find(|m| m.subject.contains("to review")).expect("the owner is alerted");
    assert!(alert.to.contains(crate::helpers::OWNER_EMAIL), "{}", alert.to);
    assert!(alert.body.contains(serious[0]["category"].as_str().expect("category")), "{}", alert.body);

    // A second run adds nothing: the scan is done for this engine version.
    app.run_due_jobs().await;
    assert_eq!(details(&app, &id, "risk.flagged").await.len(), flags.len());

    // The Risk page: open flags across documents, counts by severity, filters.
    let page = ok(&app, "risk_flags", json!({ "severity": "", "category": "", "status": "open", "owner": "" })).await;
    assert_eq!(page["flags"].as_array().map(Vec::len), Some(flags.len()));
    let total: i64 = page["counts"].as_array().expect("counts").iter().map(|c| c["count"].as_i64().unwrap_or(0)).sum();
    assert_eq!(total, flags.len() as i64);
    assert_eq!(page["counts"][0]["severity"], "critical");
    let category = flags[0]["category"].as_str().expect("category");
    let only = ok(&app, "risk_flags", json!({ "severity": "", "category": category, "status": "", "owner": "" })).await;
    assert!(only["flags"].as_array().expect("flags").iter().all(|f| f["category"] == category));
    let (status, _) = call(
        &app,
        &app.client,
        "risk_flags",
        json!({ "severity": "dreadful", "category": "", "status": "", "owner": "" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Reviews: acknowledge, dismiss (a reason required), escalate to a named user (mailed).
    let flag = |i: usize| flags[i]["id"].as_str().expect("id").to_owned();
    let (status, acknowledged) = review(&app, &flag(0), "acknowledge", "", "").await;
    assert_eq!(status, StatusCode::OK, "{acknowledged}");
    assert_eq!(acknowledged["status"], "acknowledged");
    let (status, again) = review(&app, &flag(0), "acknowledge", "", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, refused) = review(&app, &flag(1), "dismiss", "  ", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, dismissed) = review(&app, &flag(1), "dismiss", "Standard for this supplier", "").await;
    assert_eq!(status, StatusCode::OK, "{dismissed}");
    assert_eq!(dismissed["review_reason"], "Standard for this supplier");
    add_member(&app).await;
    let (status, refused) = review(&app, &flag(2), "escalate", "", crate::sessions::MEMBER_EMAIL).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a member cannot see the owner's document: {refused}");
    let (status, refused) = review(&app, &flag(2), "escalate", "", "nobody@example.com").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    // Through the REST API, with a key of the owner's that has the admin scope.
    let key = app.create_api_key(1, "risk", "read admin").await;
    let rest = reqwest::Client::new();
    let r = rest.get(app.url("/api/v1/risk/flags?status=all")).bearer_auth(&key).send().await.expect("list");
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.expect("json");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(flags.len()));
    let listed = list["data"].as_array().expect("data").iter().find(|f| f["id"] == flag(1).as_str()).expect("listed");
    assert_eq!(listed["status"], "dismissed");
    let r = rest
        .post(app.url(&format!("/api/v1/risk/flags/{}/review", flag(3))))
        .bearer_auth(&key)
        .json(&json!({ "action": "acknowledge" }))
        .send()
        .await
        .expect("review");
    assert_eq!(r.status(), StatusCode::OK);
    let narrow = app.create_api_key(1, "read only", "read").await;
    let r = rest.get(app.url("/api/v1/risk/flags")).bearer_auth(&narrow).send().await.expect("list");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a key without the admin scope does not review");

    let reviewed = details(&app, &id, "risk.reviewed").await;
    assert_eq!(reviewed.len(), 3, "{reviewed:?}");
    assert_eq!(reviewed[0], json!({ "flag": flag(0), "action": "acknowledge", "status": "acknowledged" }));
    assert_eq!(
        reviewed[1],
        json!({ "flag": flag(1), "action": "dismiss", "status": "dismissed", "reason": "Standard for this supplier" })
    );
    let by_key = app.records_of(&id, "risk.reviewed").await[2]["actor"]["kind"].clone();
    assert_eq!(by_key, "api_key", "the key is the actor");

    // Sent, signed and completed: every flag not dismissed resolves, with the reason.
    let c = Ceremony { app, id: id.clone(), sha256 };
    c.send("parallel", &[("Bob Builder", "bob@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    crate::completion::sealed_sha256(&c).await;
    c.app.run_due_jobs().await;
    let after = ok(&c.app, "document_risk", json!({ "id": id })).await;
    for f in after["flags"].as_array().expect("flags") {
        if f["id"] == flag(1).as_str() {
            assert_eq!(f["status"], "dismissed", "a dismissed flag stays dismissed");
        } else {
            assert_eq!(f["status"], "resolved", "{f}");
            assert_eq!(f["resolved_reason"], "document.completed");
        }
    }
    let resolved = details(&c.app, &id, "risk.resolved").await;
    assert_eq!(resolved.len(), flags.len() - 1);
    assert!(resolved.iter().all(|d| d["reason"] == "document.completed"));
    assert!(resolved.iter().any(|d| d["flag"] == flag(0).as_str() && d["previous_status"] == "acknowledged"));
    let (status, closed) = review(&c.app, &flag(2), "acknowledge", "", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "a resolved flag is closed: {closed}");

    // The evidence still verifies: the whole log, and the document's package offline.
    let verified = attesta().envs(c.app.cli_env()).args(["log", "verify"]).output().expect("runs");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let (_, package) = crate::completion::get_bytes(&c.app, &format!("/documents/{id}/evidence.json")).await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("evidence.json"), &package).expect("write");
    let key = c.app.get("/log/key").await.text().await.expect("key").trim().to_owned();
    let offline =
        attesta().arg("verify").arg(dir.path().join("evidence.json")).args(["--log-key", &key]).output().expect("runs");
    assert!(offline.status.success(), "{}", String::from_utf8_lossy(&offline.stdout));
}

#[tokio::test]
async fn an_escalated_flag_is_mailed_to_the_admin_it_names() {
    let Some(bytes) = cuad_contract() else { return };
    let (app, _clock) = app_with_clock().await;
    let id = app.upload_ok("contract.pdf", bytes).await;
    app.run_due_jobs().await;
    // A second admin, who sees every document.
    let accounts = attesta_server::store::accounts::SqlStore::new(app.pool.clone(), app.instance());
    let service = attesta_core::AccountService::new(
        Arc::new(accounts),
        Arc::new(attesta_server::password::Argon2Hasher::new(app.ports.entropy.clone())),
        app.ports.clock.clone(),
        attesta_core::ThrottlePolicy { max_failures: 5, window: Duration::from_secs(900) },
        attesta_core::ThrottlePolicy { max_failures: 50, window: Duration::from_secs(900) },
    );
    let by = attesta_core::evidence::Acting::operator();
    service
        .create_user("Grace Admin", "grace@example.com", "another long password", attesta_core::Role::Admin, &by)
        .await
        .expect("admin");
    let risk = ok(&app, "document_risk", json!({ "id": id })).await;
    let flag = risk["flags"][0]["id"].as_str().expect("a flag").to_owned();
    let (status, escalated) = review(&app, &flag, "escalate", "", "grace@example.com").await;
    assert_eq!(status, StatusCode::OK, "{escalated}");
    assert_eq!(escalated["status"], "escalated");
    let mail = mails(&app).into_iter().find(|m| m.to.contains("grace@example.com")).expect("the admin is told");
    assert!(mail.subject.contains("asks you to review"), "{}", mail.subject);
    assert!(mail.body.contains(&format!("/documents/{id}#flag-{flag}")), "{}", mail.body);
    let reviewed = details(&app, &id, "risk.reviewed").await;
    assert_eq!(reviewed[0]["escalated_to"], "user:2", "the target by id, never by email");
}

#[tokio::test]
async fn members_see_their_documents_flags_but_neither_the_risk_page_nor_reviews() {
    let Some(bytes) = cuad_contract() else { return };
    let (app, _clock) = app_with_clock().await;
    add_member(&app).await;
    let member = crate::helpers::client_with_origin(&app.address);
    let r = member
        .post(app.url("/api/login"))
        .form(&[("email", crate::sessions::MEMBER_EMAIL), ("password", crate::sessions::MEMBER_PASSWORD)])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    let part =
        reqwest::multipart::Part::bytes(bytes).file_name("contract.pdf").mime_str("application/pdf").expect("mime");
    let form = reqwest::multipart::Form::new().text("sha256", sha256).part("file", part);
    let r = member.post(app.url("/api/documents")).multipart(form).send().await.expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("json");
    let id = body["id"].as_str().expect("id").to_owned();
    app.run_due_jobs().await;

    // The sender sees the flags on their document, before sending.
    let (status, risk) = call(&app, &member, "document_risk", json!({ "id": id })).await;
    assert_eq!(status, StatusCode::OK, "{risk}");
    assert!(!risk["flags"].as_array().expect("flags").is_empty());
    assert_eq!(risk["may_review"], false);
    let flag = risk["flags"][0]["id"].as_str().expect("id").to_owned();
    let body = json!({ "id": flag, "action": "acknowledge", "reason": "", "escalate_to": "" });
    let (status, _) = call(&app, &member, "review_flag", body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let filter = json!({ "severity": "", "category": "", "status": "", "owner": "" });
    let (status, _) = call(&app, &member, "risk_flags", filter.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The owner (an admin of the instance) sees and reviews the member's flags.
    let page = ok(&app, "risk_flags", filter).await;
    assert!(page["flags"].as_array().expect("flags").iter().any(|f| f["id"] == flag.as_str()));
    assert_eq!(review(&app, &flag, "acknowledge", "", "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_pdf_without_text_is_recorded_as_nothing_to_analyse() {
    let (app, _clock) = app_with_clock().await;
    let id = app.upload_ok("scan.pdf", crate::helpers::pdf(2, "Scanned")).await;
    let before = ok(&app, "document_risk", json!({ "id": id })).await;
    assert_eq!(before["state"], Value::Null, "not scanned until the job runs");
    app.run_due_jobs().await;
    let risk = ok(&app, "document_risk", json!({ "id": id })).await;
    assert_eq!(risk["state"], "no_text", "{risk}");
    assert_eq!(risk["flags"], json!([]));
    assert!(details(&app, &id, "risk.flagged").await.is_empty());
}

#[tokio::test]
async fn the_hourly_sweep_rescans_what_the_current_engine_has_not_read_without_duplicating_flags() {
    let Some(bytes) = cuad_contract() else { return };
    let (app, clock) = app_with_clock().await;
    let id = app.upload_ok("contract.pdf", bytes).await;
    app.run_due_jobs().await;
    let first = details(&app, &id, "risk.flagged").await.len();
    assert!(first > 0);
    // As if an older engine had read it: the scan record names another version.
    sqlx::query("UPDATE document_risk_scans SET engine_version = '0.0.1' WHERE document_id = $1")
        .bind(&id)
        .execute(&app.pool)
        .await
        .expect("older");
    app.run_due_jobs().await;
    let versions = |app: &TestApp| {
        let pool = app.pool.clone();
        let id = id.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT engine_version FROM document_risk_scans WHERE document_id = $1 ORDER BY engine_version",
            )
            .bind(&id)
            .fetch_all(&pool)
            .await
            .expect("scans")
        }
    };
    assert_eq!(versions(&app).await, vec!["0.0.1".to_owned()], "nothing re-scans before the next hour");
    clock.advance(Duration::from_secs(3600));
    app.run_due_jobs().await;
    assert_eq!(versions(&app).await, vec!["0.0.1".to_owned(), attesta_core::risk::VERSION.to_owned()]);
    assert_eq!(details(&app, &id, "risk.flagged").await.len(), first, "a clause already flagged is not flagged again");
}
