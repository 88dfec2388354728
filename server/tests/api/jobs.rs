//! Durable jobs end to end: follow-up work happens when due jobs run (and not before), every mail
//! a job sends is evidence with its template and the transport's answer, and recurring work
//! becomes due when the clock moves. The apps here run no job loop of their own
//! (`jobs.worker = false`): the test runs the jobs, so nothing happens behind its back.

use crate::helpers::{Options, spawn_app_with};
use crate::signing::{Ceremony, Signer, mail_dir, mails, owner_with_document};
use serde_json::{Value, json};
use std::time::Duration;

fn no_worker(config: &mut attesta_server::config::Config) {
    mail_dir(config);
    config.jobs.worker = false;
}

/// The records of the document's events of `event_type`, in order.
async fn records(c: &Ceremony, event_type: &str) -> Vec<Value> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT record FROM audit_events WHERE document_id = $1 AND event_type = $2 ORDER BY seq")
            .bind(&c.id)
            .bind(event_type)
            .fetch_all(&c.app.pool)
            .await
            .expect("events");
    rows.iter().map(|r| serde_json::from_str(r).expect("record json")).collect()
}

#[tokio::test]
async fn links_completion_and_sealing_happen_when_due_jobs_run_and_not_before() {
    let c = owner_with_document(no_worker).await;
    c.send("sequential", &[("Bob Builder", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![])
        .await;
    assert!(c.link_now("bob@example.com").is_none(), "no mail goes out inside the request");
    assert_eq!(c.app.run_due_jobs().await.failed, 0);
    let bob = Signer::new(&c.app, c.link_now("bob@example.com").expect("bob's link, sent by the job"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    assert!(c.link_now("carol@example.com").is_none(), "the next link waits for its job");
    c.app.run_due_jobs().await;
    let carol = Signer::new(&c.app, c.link_now("carol@example.com").expect("carol's link"));
    carol.open().await;
    carol.consent().await;
    carol.sign(&c.sha256, "s2").await;
    assert_eq!(c.status().await["status"], "sent", "completion is a job");
    assert!(!c.event_types().await.contains(&"document.completed".to_owned()));

    let ran = c.app.run_due_jobs().await;
    assert_eq!((ran.failed, ran.retried), (0, 0), "{ran:?}");
    let types = c.event_types().await;
    assert!(types.ends_with(&["document.completed".to_owned(), "document.sealed".to_owned()]), "{types:?}");
    assert_eq!(c.status().await["status"], "completed");
    let completion_mails = mails(&c.app).iter().filter(|m| m.subject.contains("signed by everyone")).count();
    assert_eq!(completion_mails, 3, "the sender and both signers");
    // Nothing is left to do, and running again does nothing twice.
    assert_eq!(c.app.run_due_jobs().await.failed, 0);
    assert_eq!(c.event_types().await, types);
}

#[tokio::test]
async fn every_mail_a_job_sends_is_evidence_with_its_template_and_the_transports_answer() {
    let c = owner_with_document(no_worker).await;
    c.send("parallel", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    c.app.run_due_jobs().await;
    let sent = records(&c, "recipient.email_sent").await;
    assert_eq!(sent.len(), 2);
    for record in &sent {
        let d = &record["details"];
        assert_eq!(d["purpose"], "signing_request");
        assert_eq!(d["template"], "signing_request");
        assert_eq!(d["delivery"]["transport"], "outbox");
        assert_eq!(d["delivery"]["code"], Value::Null);
        assert!(d["delivery"]["answer"].as_str().is_some_and(|a| a.starts_with("written as ") && a.ends_with(".eml")));
        assert!(d["delivery"]["message_id"].as_str().is_some_and(|m| m.starts_with('<') && m.ends_with('>')));
        assert_eq!(record["actor"]["kind"], "system");
    }

    // A decline tells the sender, by a job, recorded as sender.email_sent.
    let bob = Signer::new(&c.app, c.link_now("bob@example.com").expect("link"));
    bob.open().await;
    bob.consent().await;
    bob.expect("decline", json!({ "reason": "Not my company" }), reqwest::StatusCode::OK).await;
    assert!(records(&c, "sender.email_sent").await.is_empty(), "the notice is a job");
    c.app.run_due_jobs().await;
    let notice = records(&c, "sender.email_sent").await;
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0]["details"]["template"], "declined_notice");
    assert_eq!(notice[0]["details"]["delivery"]["transport"], "outbox");
    assert!(mails(&c.app).iter().any(|m| m.to.contains("ada@example.com") && m.body.contains("Not my company")));
}

#[tokio::test]
async fn void_notices_are_jobs_recorded_as_the_systems_mail() {
    let c = owner_with_document(no_worker).await;
    c.send("parallel", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    c.app.run_due_jobs().await;
    c.ok("/api/signing/void", json!({ "id": c.id, "reason": "Wrong amount" })).await;
    assert_eq!(records(&c, "recipient.email_sent").await.len(), 2, "only the links so far");
    c.app.run_due_jobs().await;
    let sent = records(&c, "recipient.email_sent").await;
    let notices: Vec<_> = sent.iter().filter(|r| r["details"]["purpose"] == "voided_notice").collect();
    assert_eq!(notices.len(), 2, "one per person who had a link");
    for n in notices {
        assert_eq!(n["details"]["template"], "voided_notice");
        assert_eq!(n["actor"]["kind"], "system");
    }
    assert_eq!(c.mails_to("carol@example.com").iter().filter(|m| m.body.contains("Wrong amount")).count(), 1);
}

#[tokio::test]
async fn a_mail_the_server_refuses_is_evidence_too_and_shown_to_the_sender() {
    // A port nothing listens on: the SMTP server cannot be reached.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let c = owner_with_document(move |config| {
        no_worker(config);
        config.mail.transport = attesta_server::config::MailTransport::Smtp;
        config.mail.smtp_host = "127.0.0.1".to_owned();
        config.mail.smtp_port = dead;
        config.mail.smtp_tls = attesta_server::config::SmtpTls::None;
        config.mail.smtp_timeout = Duration::from_secs(2);
    })
    .await;
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    c.app.run_due_jobs().await;
    assert!(records(&c, "recipient.email_sent").await.is_empty());
    let failed = records(&c, "recipient.email_failed").await;
    assert_eq!(failed.len(), 1);
    let d = &failed[0]["details"];
    assert_eq!(d["template"], "signing_request");
    assert_eq!(d["error"], json!({ "kind": "connect", "permanent": false }));
    assert!(d.get("delivery").is_none());
    let status = c.status().await;
    assert!(status["recipients"][0]["email_error"].as_str().is_some_and(|e| e.contains("connect")), "{status}");
}

#[tokio::test]
async fn recurring_work_runs_when_the_clock_reaches_its_next_period() {
    let clock = std::sync::Arc::new(attesta_server::clock::MovableClock::default());
    let app = spawn_app_with(Options {
        clock: Some(clock.clone()),
        ..Options::configured(|config| {
            no_worker(config);
            // Once a year, so the real time the test takes never crosses into a new period.
            config.jobs.checkpoint = "0 0 1 1 *".to_owned();
            // A year on, retention would purge (and record) the upload's personal data after
            // the checkpoint of that run: not what this test looks at.
            config.jobs.retention = "off".to_owned();
        })
    })
    .await;
    app.run_due_jobs().await; // this period's checkpoint (and the other recurring jobs)
    app.set_up_owner().await;
    app.upload_ok("a.pdf", crate::helpers::pdf(1, "A")).await;
    let size = |app: &crate::helpers::TestApp| {
        let evidence = app.evidence.clone();
        async move { evidence.latest_checkpoint().await.expect("checkpoint").map_or(0, |c| c.tree_size) }
    };
    let before = size(&app).await;
    app.run_due_jobs().await;
    assert_eq!(size(&app).await, before, "the period's checkpoint was signed already");
    clock.advance(Duration::from_secs(366 * 24 * 3600));
    app.run_due_jobs().await;
    let events: i64 = app.count("audit_events").await;
    assert_eq!(
        size(&app).await,
        u64::try_from(events).expect("count"),
        "the next period's checkpoint covers the upload"
    );
}

#[tokio::test]
async fn admins_see_recent_and_failed_jobs_and_members_are_refused() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let c = owner_with_document(move |config| {
        no_worker(config);
        // Every attempt fails at once and the first failure is the last: a failed job to list.
        config.seal.tsa_url = Some(format!("http://127.0.0.1:{dead}/tsa"));
        config.seal.tsa_timeout = Duration::from_secs(2);
        config.jobs.max_attempts = 1;
    })
    .await;
    c.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    c.app.run_due_jobs().await;
    let bob = Signer::new(&c.app, c.link_now("bob@example.com").expect("link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    assert_eq!(c.app.run_due_jobs().await.failed, 1, "sealing without the authority gave up");

    let overview = c.ok("/api/jobs", json!({})).await;
    let failed = overview["failed"].as_array().expect("failed jobs");
    assert_eq!(failed.len(), 1, "{overview}");
    assert_eq!(failed[0]["kind"], "ceremony.advance");
    assert_eq!(failed[0]["subject"], c.id.as_str());
    assert!(failed[0]["last_error"].as_str().is_some_and(|e| e.contains("time-stamping")), "{overview}");
    let recent = overview["recent"].as_array().expect("recent jobs");
    assert!(recent.iter().any(|j| j["kind"] == "evidence.checkpoint" && j["state"] == "done"), "{overview}");

    crate::sessions::add_member(&c.app).await;
    let member = crate::helpers::client_with_origin(&c.app.address);
    crate::sessions::log_in(&c.app, &member, crate::sessions::MEMBER_EMAIL, crate::sessions::MEMBER_PASSWORD).await;
    let refused = member.post(c.app.url("/api/jobs")).json(&json!({})).send().await.expect("request");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
}
