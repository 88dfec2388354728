//! The self-verification job: it passes on an untouched instance, and when a stored file or a
//! row is changed behind the application's back it names both, stores the failed run, and mails
//! the owner.

use crate::signing::{Signer, mail_dir, mails, owner_with_document};
use attesta_core::jobs::{JobKind, NewJob};

/// Queues a self-verification now and runs it, as the nightly schedule would.
pub(crate) async fn self_verify(app: &crate::helpers::TestApp) {
    let now = app.ports.clock.now();
    let job = NewJob::about(JobKind::SelfVerify, "", now);
    attesta_server::jobs::store::enqueue_now(&app.pool, &job, now).await.expect("queued");
    app.run_due_jobs().await;
}

#[tokio::test]
async fn the_self_verification_names_a_changed_file_and_an_unrecorded_change_and_mails_the_owner() {
    let c = owner_with_document(|c| {
        mail_dir(c);
        crate::webhooks::allow_private(c);
        c.jobs.self_verify_rehash_period = std::time::Duration::ZERO; // every file, every run
    })
    .await;
    // The owner's integration listens for failures.
    let receiver = crate::webhooks::Receiver::start().await;
    let (_, secret) =
        crate::webhooks::add_endpoint(&c.app, &receiver.url, &["instance.self_verification_failed"]).await;
    receiver.trust(&secret);
    c.send("parallel", &[("Bob Builder", "bob@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    crate::completion::sealed_sha256(&c).await;

    self_verify(&c.app).await;
    // (The nightly run of the current period may have been scheduled beside it.)
    let runs = attesta_server::integrity::recent(&c.app.pool, 10).await.expect("runs");
    assert!(!runs.is_empty());
    assert!(runs.iter().all(|r| r.ok), "{}", runs[0].findings);
    assert_eq!(runs[0].files_checked, 3, "the original, the signed and the sealed file");
    assert!(runs[0].log_events > 5);

    // Behind the application's back: one byte of the stored sealed file, and a recipient's row.
    let key: String = sqlx::query_scalar("SELECT sealed_blob_key FROM documents WHERE id = $1")
        .bind(&c.id)
        .fetch_one(&c.app.pool)
        .await
        .expect("key");
    let path = c.app.data.path().join("blobs").join(&key);
    let mut bytes = std::fs::read(&path).expect("stored file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).expect("tampered");
    sqlx::query("UPDATE recipients SET decline_reason = 'forged' WHERE document_id = $1")
        .bind(&c.id)
        .execute(&c.app.pool)
        .await
        .expect("row changed");

    // The next run finds both.
    self_verify(&c.app).await;
    let runs = attesta_server::integrity::recent(&c.app.pool, 10).await.expect("runs");
    let failed = &runs[0];
    assert!(!failed.ok, "the newest run fails");
    assert_eq!(failed.files_failed, 1, "{}", failed.findings);
    assert!(failed.findings.contains(&format!("document {} sealed file", c.id)), "{}", failed.findings);
    assert!(failed.findings.contains("update of recipients"), "{}", failed.findings);
    // The finding is in the instance chain, and the owner's webhook hears of it.
    let recorded =
        c.app.records_of(attesta_core::evidence::INSTANCE_CHAIN_ID, "instance.self_verification_failed").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["details"]["failed_checks"], serde_json::json!(["changes", "files"]), "{}", recorded[0]);
    assert_eq!(recorded[0]["details"]["files_failed"], 1);
    let hook = receiver.wait_for("instance.self_verification_failed").await;
    assert_eq!(hook.body["data"]["details"], recorded[0]["details"]);
    assert_eq!(hook.body["data"]["chain"], attesta_core::evidence::INSTANCE_CHAIN_ID);
    let alert = mails(&c.app)
        .into_iter()
        .find(|m| m.subject.contains("self-verification found a problem"))
        .expect("the owner is mailed");
    assert!(alert.to.contains("ada@example.com"), "{}", alert.to);
    assert!(alert.body.contains("sealed file"), "{}", alert.body);
}

#[tokio::test]
async fn owners_read_the_runs_on_the_integrity_page_and_members_are_refused() {
    let c = owner_with_document(mail_dir).await;
    self_verify(&c.app).await;
    let overview = c.ok("/api/integrity", serde_json::json!({})).await;
    assert_eq!(overview["schedule"], "15 2 * * * (UTC)", "{overview}");
    assert_eq!(overview["rehash_period"], "7 days", "{overview}");
    let runs = overview["runs"].as_array().expect("runs");
    assert!(!runs.is_empty(), "{overview}");
    assert_eq!(runs[0]["ok"], true, "{overview}");
    let checks: Vec<&str> =
        runs[0]["checks"].as_array().expect("checks").iter().filter_map(|c| c["check"].as_str()).collect();
    for check in ["events", "changes", "files"] {
        assert!(checks.contains(&check), "{check} in {checks:?}");
    }

    crate::sessions::add_member(&c.app).await;
    let member = crate::helpers::client_with_origin(&c.app.address);
    crate::sessions::log_in(&c.app, &member, crate::sessions::MEMBER_EMAIL, crate::sessions::MEMBER_PASSWORD).await;
    let refused = member.post(c.app.url("/api/integrity")).json(&serde_json::json!({})).send().await.expect("request");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn files_are_rehashed_on_a_rolling_schedule_that_covers_each_within_the_period() {
    let clock = std::sync::Arc::new(attesta_server::clock::MovableClock::default());
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        clock: Some(clock.clone()),
        ..crate::helpers::Options::configured(|c| {
            mail_dir(c);
            c.jobs.worker = false;
        })
    })
    .await;
    app.run_due_jobs().await; // this period's recurring work, before any file is stored
    app.set_up_owner().await;
    for i in 0..14 {
        app.upload_ok(&format!("d{i}.pdf"), crate::helpers::pdf(1, &format!("D{i}"))).await;
    }
    // Each night's run (the recurring job, as the clock reaches it): the first re-hashes every
    // file never checked; the next its share, 14 files over the 7 runs of the default 7-day
    // period, 2 a night.
    let night = |days: u64| {
        clock.advance(std::time::Duration::from_secs(days * 86_400));
        let app = &app;
        async move {
            app.run_due_jobs().await;
            attesta_server::integrity::recent(&app.pool, 1).await.expect("runs").remove(0)
        }
    };
    let first = night(1).await;
    assert_eq!(first.files_checked, 14, "{}", first.findings);
    let second = night(1).await;
    assert_eq!(second.files_checked, 2, "{}", second.findings);
    assert!(
        second.findings.contains("2 of 14 stored files (each is re-hashed at least every 7 days)"),
        "{}",
        second.findings
    );
    // A week after the first night, the 12 not re-hashed since are due at once.
    let third = night(6).await;
    assert_eq!(third.files_checked, 12, "{}", third.findings);
    // The dashboard counts files verified within the period.
    let key = app.create_api_key(1, "dash", "read,admin").await;
    let d: serde_json::Value = app
        .client
        .get(app.url("/api/v1/trust"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (d["files_stored"].clone(), d["files_verified"].clone()),
        (serde_json::json!(14), serde_json::json!(14))
    );
    assert_eq!(d["rehash_period"], "7 days");
}
