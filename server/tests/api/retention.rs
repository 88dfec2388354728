//! Retention (issue 19): the daily run purges what the policy lets go (personal data of audit
//! events after 90 days, drafts never sent) and nothing on legal hold; every proof handed out
//! before the purge still verifies after it, and so does one exported after it; holds are
//! placed and released only by owners and admins, each as an evidence event; the trust
//! dashboard's figures are true. Time moves by the clock port; nothing sleeps.

use crate::completion::{completed_in, get_bytes};
use crate::helpers::{Options, TestApp, attesta, spawn_app_with};
use crate::signing::mail_dir;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn no_worker(config: &mut attesta_server::config::Config) {
    mail_dir(config);
    config.jobs.worker = false; // the test runs the jobs and sees each outcome
}

fn text(out: &std::process::Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// How many events of `chain` still have their personal data (the purge events' own, empty,
/// records aside).
async fn personal_left(app: &TestApp, chain: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events e JOIN audit_personal p ON p.log_index = e.log_index \
         WHERE e.document_id = $1 AND e.event_type <> 'retention.personal_data_purged'",
    )
    .bind(chain)
    .fetch_one(&app.pool)
    .await
    .expect("count")
}

/// `attesta verify` on a package (`flag` empty) or a sealed PDF (`--pdf`), pinned to this
/// instance's log key.
fn verify(app: &TestApp, dir: &std::path::Path, name: &str, bytes: &[u8], flag: &str, key: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    let mut args = vec!["verify"];
    if !flag.is_empty() {
        args.push(flag);
    }
    args.extend([path.to_str().expect("path"), "--log-key", key]);
    let out = attesta().envs(app.cli_env()).args(args).output();
    let out = out.expect("runs");
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{name}: {report}");
    report
}

async fn hold(app: &TestApp, id: &str, reason: &str) -> reqwest::Response {
    app.post_form("/api/documents/hold", &[("id", id), ("reason", reason)]).await
}

#[tokio::test]
async fn the_daily_run_purges_old_personal_data_and_drafts_but_nothing_held_and_every_proof_still_verifies() {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let c = completed_in(Options { clock: Some(clock.clone()), ..Options::configured(no_worker) }).await;
    let app = &c.app;
    // A second completed-looking chain is not needed: a held draft and a free draft suffice.
    let held_draft = app.upload_ok("held.pdf", crate::helpers::pdf(1, "Held")).await;
    let old_draft = app.upload_ok("old.pdf", crate::helpers::pdf(1, "Old")).await;
    let r = hold(app, &held_draft, "Case 2026-114, Smith v. Acme").await;
    assert!(r.status().is_success(), "{}", crate::helpers::error_message(r).await);

    // What the parties hold before any purge.
    let exports = tempfile::tempdir().expect("temp dir");
    let (_, package_before) = get_bytes(app, &format!("/documents/{}/evidence.json", c.id)).await;
    let (_, sealed) = get_bytes(app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let key = app.get("/log/key").await.text().await.expect("key").trim().to_owned();
    let api_key = app.create_api_key(1, "records", "read,admin").await;
    let rest = |path: String| {
        let request = app.client.get(app.url(&path)).bearer_auth(api_key.clone());
        async move {
            let r = request.send().await.expect("request");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.bytes().await.expect("body").to_vec()
        }
    };
    let status = |id: String| {
        let fetch = rest(format!("/api/v1/documents/{id}"));
        async move { serde_json::from_slice::<Value>(&fetch.await).expect("json")["status"].clone() }
    };
    assert!(String::from_utf8_lossy(&package_before).contains("bob@example.com"), "the package carries personal data");
    let personal_before = personal_left(app, &c.id).await;
    assert!(personal_before > 5);

    // Nothing is due yet: the plan says so, and a run purges nothing.
    let plan = crate::helpers::run_attesta(|c| c.envs(app.cli_env()).args(["retention", "plan"])).await;
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(text(&plan).contains("Personal data in audit events"), "{}", text(&plan));
    app.run_due_jobs().await; // today's run (the period has begun)
    assert_eq!(personal_left(app, &c.id).await, personal_before);

    // 91 days later, the next daily run at 02:00.
    clock.advance(91 * DAY);
    app.run_due_jobs().await;

    // (The owner's browser session ended meanwhile, idle for 91 days: the REST API reads on.)

    // The completed document's personal data is gone, with one event saying so.
    assert_eq!(personal_left(app, &c.id).await, 0, "every event of the document was older than 90 days");
    let purges = app.records_of(&c.id, "retention.personal_data_purged").await;
    assert_eq!(purges.len(), 1, "{purges:?}");
    let details = &purges[0]["details"];
    assert_eq!(details["policy"], json!({ "rule": "personal_data", "days": 90 }));
    assert_eq!(details["events"], json!(personal_before));
    assert_eq!(purges[0]["actor"]["id"], "system:attesta");
    // The held draft kept everything; the other draft was deleted by the server.
    assert!(personal_left(app, &held_draft).await > 0, "a document on hold keeps its personal data");
    assert!(app.records_of(&held_draft, "retention.personal_data_purged").await.is_empty());
    assert_eq!(status(held_draft.clone()).await, "draft");
    assert_eq!(status(old_draft.clone()).await, "deleted");
    let deleted = app.records_of(&old_draft, "document.deleted").await;
    assert_eq!(deleted[0]["details"]["retention"], json!({ "rule": "unsent_drafts", "days": 90 }));
    assert_eq!(deleted[0]["actor"]["id"], "system:attesta");

    // The run is reported.
    let runs = attesta_server::retention::recent_runs(&app.pool, 5).await.expect("runs");
    let run = runs.first().expect("a run");
    assert_eq!(run.trigger, "schedule");
    let purged: Value = serde_json::from_str(&run.purged).expect("json");
    assert!(purged["personal_data"].as_i64().expect("n") >= personal_before, "{purged}");
    assert_eq!(purged["unsent_drafts"], 1, "{purged}");
    assert!(run.held >= 1, "the held draft was left alone");

    // Every proof handed out before still verifies; one exported now verifies without the data.
    verify(app, exports.path(), "before.json", &package_before, "", &key);
    let report = verify(app, exports.path(), "sealed.pdf", &sealed, "--pdf", &key);
    assert!(report.contains("PASS"), "{report}");
    let package_after = rest(format!("/api/v1/documents/{}/evidence.json", c.id)).await;
    assert!(!String::from_utf8_lossy(&package_after).contains("bob@example.com"), "the data is gone from new exports");
    let report = verify(app, exports.path(), "after.json", &package_after, "", &key);
    assert!(report.contains("personal_data"), "{report}");
    let log = crate::helpers::run_attesta(|c| c.envs(app.cli_env()).args(["log", "verify"])).await;
    assert_eq!(log.status.code(), Some(0), "{}", text(&log));

    // The same day's run again purges nothing more (once per day), and a second run finds nothing due.
    let events: i64 = app.count("audit_events").await;
    app.run_due_jobs().await;
    let again = crate::helpers::run_attesta(|c| c.envs(app.cli_env()).args(["retention", "run"])).await;
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(app.count("audit_events").await, events, "nothing left to purge, nothing recorded");
}

#[tokio::test]
async fn finished_documents_lose_their_files_after_the_window_unless_held_and_every_proof_still_verifies() {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let c = completed_in(Options {
        clock: Some(clock.clone()),
        ..Options::configured(|config| {
            no_worker(config);
            config.retention.document_files_days = 365;
            config.jobs.self_verify_rehash_period = Duration::ZERO; // every file, every run
        })
    })
    .await;
    let app = &c.app;
    let exports = tempfile::tempdir().expect("temp dir");
    let (_, package_before) = get_bytes(app, &format!("/documents/{}/evidence.json", c.id)).await;
    let (_, sealed) = get_bytes(app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let key = app.get("/log/key").await.text().await.expect("key").trim().to_owned();
    let api_key = app.create_api_key(1, "records", "read,admin").await;
    let get = |path: String| app.client.get(app.url(&path)).bearer_auth(api_key.clone()).send();
    let objects_before = app.files_in("blobs").len();
    let r = hold(app, &c.id, "Case 2027-3, audit of the 2026 accounts").await;
    assert!(r.status().is_success(), "{}", crate::helpers::error_message(r).await);

    // 400 days on, past the 365-day window: the hold keeps every file.
    clock.advance(400 * DAY);
    app.run_due_jobs().await;
    let r = get(format!("/api/v1/documents/{}/sealed.pdf", c.id)).await.expect("request");
    assert_eq!(r.status(), 200, "a held document keeps its files");
    assert!(app.records_of(&c.id, "retention.document_files_purged").await.is_empty());
    let plan = crate::helpers::run_attesta(|c| c.envs(app.cli_env()).args(["retention", "plan"])).await;
    assert!(text(&plan).contains("Files of finished documents"), "{}", text(&plan));

    // Released, the next day's run deletes them, with one event.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/documents/{}/legal-holds/release", c.id)))
        .bearer_auth(&api_key)
        .json(&json!({ "reason": "audit closed" }))
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success(), "{}", crate::helpers::error_message(r).await);
    clock.advance(DAY);
    app.run_due_jobs().await;
    let purges = app.records_of(&c.id, "retention.document_files_purged").await;
    assert_eq!(purges.len(), 1, "{purges:?}");
    let details = &purges[0]["details"];
    assert_eq!(details["policy"], json!({ "rule": "document_files", "days": 365 }));
    let document: Value = serde_json::from_slice(
        &get(format!("/api/v1/documents/{}", c.id)).await.expect("request").bytes().await.expect("body"),
    )
    .expect("json");
    let files: Vec<(String, String)> = details["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["file"].as_str().expect("file").to_owned(), f["sha256"].as_str().expect("sha").to_owned()))
        .collect();
    let hash = |name: &str| document[name].as_str().expect(name).to_owned();
    assert_eq!(
        files,
        [
            ("original".to_owned(), hash("original_sha256")),
            ("signed".to_owned(), hash("signed_sha256")),
            ("sealed".to_owned(), hash("sealed_sha256"))
        ]
    );
    assert!(details["images"].as_u64().expect("images") >= 2, "both signers' signatures: {details}");
    assert_eq!(purges[0]["actor"]["id"], "system:attesta");
    assert_eq!(purges[0]["file_sha256"], document["sealed_sha256"], "the event names the current file");
    assert!(document["files_purged_at"].is_string(), "{document}");

    // The files are gone: a clear 410 over REST, the stored objects deleted.
    for file in ["original.pdf", "sealed.pdf"] {
        let r = get(format!("/api/v1/documents/{}/{file}", c.id)).await.expect("request");
        assert_eq!(r.status(), 410, "{file}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "gone", "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("retention policy")), "{body}");
    }
    // The document page says so in place of the pages, and offers no file to download.
    app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let detail = app.document(&c.id).await;
    assert_eq!(detail["has_file"], false, "{detail}");
    assert!(detail["completion"]["files_purged_at"].is_i64(), "{detail}");
    let page = app.get(&format!("/documents/{}", c.id)).await.text().await.expect("page");
    assert!(page.contains("under the retention policy"), "the page explains where the files went");
    assert!(!page.contains("download-sealed"), "no download of a file that is gone");
    let objects_after = app.files_in("blobs").len();
    assert!(objects_after + 5 <= objects_before, "{objects_before} stored objects before, {objects_after} after");

    // Every proof handed out before still verifies, and so does a package exported now.
    verify(app, exports.path(), "before.json", &package_before, "", &key);
    let report = verify(app, exports.path(), "sealed.pdf", &sealed, "--pdf", &key);
    assert!(report.contains("PASS"), "{report}");
    let package_after =
        get(format!("/api/v1/documents/{}/evidence.json", c.id)).await.expect("request").bytes().await.expect("body");
    verify(app, exports.path(), "after.json", &package_after, "", &key);
    let log = crate::helpers::run_attesta(|c| c.envs(app.cli_env()).args(["log", "verify"])).await;
    assert_eq!(log.status.code(), Some(0), "every captured change has its event: {}", text(&log));
    // The self-verification does not take deleted files for missing ones.
    crate::integrity::self_verify(app).await;
    let runs = attesta_server::integrity::recent(&app.pool, 1).await.expect("runs");
    assert!(runs[0].ok, "{}", runs[0].findings);
    // The next day's run finds nothing more to delete.
    let purged = app.records_of(&c.id, "retention.document_files_purged").await.len();
    clock.advance(DAY);
    app.run_due_jobs().await;
    assert_eq!(app.records_of(&c.id, "retention.document_files_purged").await.len(), purged);
}

#[tokio::test]
async fn holds_are_placed_and_released_by_owners_and_admins_with_a_reason_each_as_evidence() {
    let app = spawn_app_with(Options::configured(mail_dir)).await;
    app.set_up_owner().await;
    let id = app.upload_ok("contract.pdf", crate::helpers::pdf(2, "Contract")).await;

    // A reason is required; a second hold is refused; the REST API sees the same hold.
    let r = hold(&app, &id, " ").await;
    assert_eq!(r.status(), 422);
    let r = hold(&app, &id, "Litigation hold, matter 42").await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = hold(&app, &id, "Again").await;
    assert_eq!(r.status(), 409);
    assert!(crate::helpers::error_message(r).await.contains("already on legal hold"));
    let key = app.create_api_key(1, "compliance", "read,admin").await;
    let rest = app.client.get(app.url(&format!("/api/v1/documents/{id}/legal-holds"))).bearer_auth(&key).send().await;
    let holds: Value = rest.expect("request").json().await.expect("json");
    assert_eq!(holds[0]["reason"], "Litigation hold, matter 42");
    assert_eq!(holds[0]["active"], true);

    // A key without the admin scope may not release it (nor place one).
    let narrow = app.create_api_key(1, "narrow", "read").await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/documents/{id}/legal-holds/release")))
        .bearer_auth(&narrow)
        .json(&json!({ "reason": "not mine to end" }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);

    // Released through the REST API with its reason.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/documents/{id}/legal-holds/release")))
        .bearer_auth(&key)
        .json(&json!({ "reason": "Matter settled" }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let released: Value = r.json().await.expect("json");
    assert_eq!(
        (released["active"].clone(), released["release_reason"].clone()),
        (json!(false), json!("Matter settled"))
    );
    let r = app.post_form("/api/documents/release-hold", &[("id", &id), ("reason", "twice")]).await;
    assert_eq!(r.status(), 409);

    // Both acts are in the document's chain, with their reasons and actors.
    let placed = app.records_of(&id, "document.legal_hold_placed").await;
    let ended = app.records_of(&id, "document.legal_hold_released").await;
    assert_eq!(placed[0]["details"], json!({ "reason": "Litigation hold, matter 42" }));
    assert_eq!(placed[0]["actor"]["id"], "user:1");
    assert_eq!(ended[0]["details"], json!({ "reason": "Matter settled" }));
    assert_eq!(ended[0]["actor"]["kind"], "api_key");

    // A hold's row changed behind the application's back is named by the log's verification.
    sqlx::query("UPDATE legal_holds SET release_reason = 'forged' WHERE document_id = $1")
        .bind(&id)
        .execute(&app.pool)
        .await
        .expect("row changed");
    let log = crate::helpers::run_attesta(|c| c.envs(app.cli_env()).args(["log", "verify"])).await;
    assert_eq!(log.status.code(), Some(1), "{}", text(&log));
    assert!(text(&log).contains("update of legal_holds"), "{}", text(&log));
}

#[tokio::test]
async fn the_trust_dashboard_counts_what_is_there_for_admins_only() {
    let app = spawn_app_with(Options::configured(no_worker)).await;
    app.set_up_owner().await;
    let id = app.upload_ok("a.pdf", crate::helpers::pdf(1, "A")).await;
    let r = hold(&app, &id, "Audit 2026").await;
    assert!(r.status().is_success());
    let key = app.create_api_key(1, "dash", "read,admin").await;

    let r = app.client.get(app.url("/api/v1/trust")).bearer_auth(&key).send().await.expect("request");
    assert_eq!(r.status(), 200);
    let d: Value = r.json().await.expect("json");
    let events = app.count("audit_events").await;
    assert_eq!(d["log_size"], json!(events));
    assert_eq!(d["files_stored"], 1);
    assert_eq!(d["api_keys_in_use"], 1);
    assert_eq!(d["live_sessions"], 1, "the owner's browser");
    assert_eq!(d["legal_holds"][0]["document_id"], json!(id));
    assert_eq!(d["legal_holds"][0]["title"], "a");
    assert_eq!(
        d["retention_policy"][0],
        json!({ "rule": "personal_data", "label": "Personal data in audit events", "days": 90 })
    );
    assert!(d["retention_schedule"].as_str().is_some_and(|s| s.starts_with("0 2 * * *")), "{d}");
    assert!(d["retention_next"].as_i64().is_some() && d["seal_not_after"].as_i64() > d["generated_at"].as_i64());
    assert!(d["self_check"].is_null(), "no self-verification ran yet");
    let severities: Vec<&str> = d["risk_open"].as_array().expect("risk").iter().filter_map(|p| p[0].as_str()).collect();
    assert_eq!(severities, ["critical", "high", "medium", "low"]);

    // The page's server function gives the same figures; the gauges are on /metrics.
    let page: Value = app.get("/api/trust").await.json().await.expect("json");
    assert_eq!(page["log_size"], d["log_size"]);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(metrics.contains("attesta_legal_holds 1"), "{metrics}");

    // A key without the admin scope, and a member, are refused.
    let narrow = app.create_api_key(1, "narrow", "read").await;
    let r = app.client.get(app.url("/api/v1/trust")).bearer_auth(&narrow).send().await.expect("request");
    assert_eq!(r.status(), 403);
    app.log_out().await;
    let r = app.get("/api/trust").await;
    assert!(!r.status().is_success());
}

#[tokio::test]
async fn two_instances_apply_the_daily_run_once() {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let first = spawn_app_with(Options { clock: Some(clock.clone()), ..Options::configured(no_worker) }).await;
    first.set_up_owner().await;
    first.upload_ok("old.pdf", crate::helpers::pdf(1, "Old")).await;
    let second =
        spawn_app_with(Options { clock: Some(clock.clone()), ..crate::helpers::beside(&first, no_worker) }).await;
    first.run_due_jobs().await;
    let before = attesta_server::retention::recent_runs(&first.pool, 10).await.expect("runs").len();
    clock.advance(91 * DAY);
    // Both notice the new day; only one run happens, and the draft is deleted once.
    let _ = tokio::join!(first.run_due_jobs(), second.run_due_jobs());
    first.run_due_jobs().await;
    second.run_due_jobs().await;
    let runs = attesta_server::retention::recent_runs(&first.pool, 10).await.expect("runs");
    assert_eq!(runs.len(), before + 1, "one run for the day across both instances");
    let deleted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event_type = 'document.deleted'")
        .fetch_one(&first.pool)
        .await
        .expect("count");
    assert_eq!(deleted, 1);
}
