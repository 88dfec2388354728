//! Follow-ups of a document out for signature (issue 17). Reminders: a recipient whose turn it
//! is and who has not acted is reminded on the document's schedule, each time with a fresh link
//! (the old one stops working), at most as many times as the document was sent with, and never
//! once it is finished. Stalls: a document without progress past a threshold is recorded once
//! per threshold, its sender mailed and their webhook called, and it is on "Needs attention".
//! Time moves by the clock port; nothing sleeps.

use crate::helpers::{Options, spawn_app_with};
use crate::signing::{Ceremony, Signer, mail_dir};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Reminders one day after a link, then every two days, two at most.
async fn sent(clock: &Arc<attesta_server::clock::MovableClock>, order: &str, reminders: u32) -> Ceremony {
    let mut options = Options::configured(move |c| {
        mail_dir(c);
        c.jobs.worker = false; // the test runs the jobs when it moved the clock
        c.signing.remind_after = DAY;
        c.signing.remind_every = 2 * DAY;
        c.signing.reminders = reminders;
        c.signing.expire_after = 30 * DAY;
    });
    options.clock = Some(clock.clone());
    let app = spawn_app_with(options).await;
    app.set_up_owner().await;
    let bytes = crate::helpers::pdf(2, "Agreement");
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let id = app.upload_ok("agreement.pdf", bytes).await;
    let c = Ceremony { app, id, sha256 };
    c.send(order, &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    c
}

/// Reminder mails to `email` (the subject is RFC 2047-encoded in the file; the body is plain).
fn reminders_to(c: &Ceremony, email: &str) -> usize {
    c.mails_to(email).iter().filter(|m| m.body.contains("is still waiting for your signature")).count()
}

#[tokio::test]
async fn whoever_has_not_acted_is_reminded_on_schedule_with_a_fresh_link_up_to_the_maximum() {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let c = sent(&clock, "sequential", 2).await;
    let first = c.link_for("bob@example.com").await.expect("bob's link");

    // Not before a day has passed.
    clock.advance(23 * HOUR);
    c.app.run_due_jobs().await;
    assert_eq!(reminders_to(&c, "bob@example.com"), 0);

    // A day after the link: Bob is reminded with a new link; Carol, whose turn has not come, is not.
    clock.advance(2 * HOUR);
    c.app.run_due_jobs().await;
    assert_eq!(reminders_to(&c, "bob@example.com"), 1);
    assert_eq!(reminders_to(&c, "carol@example.com"), 0);
    let mail = c.mails_to("bob@example.com").into_iter().last().expect("the reminder");
    assert!(mail.body.contains("no longer works"), "the mail says the old link died");
    let second = c.link_now("bob@example.com").expect("a link in the reminder");
    assert_ne!(first, second);
    Signer::new(&c.app, first.clone()).expect("open", json!({}), StatusCode::GONE).await;
    let reminded = c.app.records_of(&c.id, "recipient.reminded").await;
    assert_eq!(reminded.len(), 1);
    assert_eq!(reminded[0]["details"], json!({ "recipient": "r1", "position": 1, "number": 1, "of": 2 }));
    assert_eq!(reminded[0]["actor"]["id"], "system:attesta");
    let delivered = c.app.records_of(&c.id, "recipient.email_sent").await;
    let last = delivered.last().expect("the reminder's delivery");
    assert_eq!(last["details"]["purpose"], "reminder");
    assert_eq!(last["details"]["template"], "signing_reminder");

    // Running the jobs again, or a day later, sends nothing more; two days after it, the second.
    c.app.run_due_jobs().await;
    clock.advance(DAY);
    c.app.run_due_jobs().await;
    assert_eq!(reminders_to(&c, "bob@example.com"), 1);
    clock.advance(DAY + HOUR);
    c.app.run_due_jobs().await;
    assert_eq!(reminders_to(&c, "bob@example.com"), 2);
    // The maximum was two.
    clock.advance(10 * DAY);
    c.app.run_due_jobs().await;
    assert_eq!(reminders_to(&c, "bob@example.com"), 2);

    // Bob signs with the newest link; Carol's turn comes, and her own count starts.
    let bob = Signer::new(&c.app, c.link_now("bob@example.com").expect("link"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s1").await;
    let carol = c.link_for("carol@example.com").await.expect("carol's link");
    clock.advance(DAY + HOUR);
    c.app.run_due_jobs().await;
    assert_eq!(reminders_to(&c, "carol@example.com"), 1);
    assert_eq!(reminders_to(&c, "bob@example.com"), 2, "a signer is never reminded");
    let carol_now = c.link_now("carol@example.com").expect("link");
    assert_ne!(carol, carol_now);
    let carol = Signer::new(&c.app, carol_now);
    carol.open().await;
    carol.consent().await;
    carol.sign(&c.sha256, "s2").await;
    c.app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    c.status_becomes("completed").await;

    // Finished: no more reminders, ever.
    clock.advance(20 * DAY);
    c.app.run_due_jobs().await;
    assert_eq!(c.app.records_of(&c.id, "recipient.reminded").await.len(), 3);
    // Every change of a recipient's row has its event.
    let verify = crate::helpers::attesta().envs(c.app.cli_env()).args(["log", "verify"]).output().expect("runs");
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[tokio::test]
async fn a_reminder_is_sent_once_though_two_runs_race_and_none_after_a_void_or_when_off() {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let c = sent(&clock, "parallel", 2).await;
    c.link_for("bob@example.com").await.expect("bob's link");
    clock.advance(DAY + HOUR);
    // Two workers on the same due reminders (as two instances would be): one reminder each.
    let (a, b) = tokio::join!(c.app.documents.send_reminders(&c.id), c.app.documents.send_reminders(&c.id));
    a.expect("first run");
    b.expect("second run");
    c.app.run_due_jobs().await;
    let reminded = c.app.records_of(&c.id, "recipient.reminded").await;
    assert_eq!(reminded.len(), 2, "Bob and Carol, once each: {reminded:?}");
    assert_eq!(reminders_to(&c, "bob@example.com"), 1);
    assert_eq!(reminders_to(&c, "carol@example.com"), 1);

    // Voided: nothing more is sent. (The owner's session went idle while the clock moved.)
    c.app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    c.ok("/api/signing/void", json!({ "id": c.id, "reason": "wrong version" })).await;
    clock.advance(5 * DAY);
    c.app.run_due_jobs().await;
    assert_eq!(c.app.records_of(&c.id, "recipient.reminded").await.len(), 2);

    // With reminders off, nobody is reminded.
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let off = sent(&clock, "parallel", 0).await;
    off.link_for("bob@example.com").await.expect("bob's link");
    clock.advance(40 * DAY);
    off.app.run_due_jobs().await;
    assert!(off.app.records_of(&off.id, "recipient.reminded").await.is_empty());
    assert_eq!(reminders_to(&off, "bob@example.com"), 0);
}

#[tokio::test]
async fn a_stalled_document_is_recorded_once_per_threshold_mailed_announced_and_listed() {
    let clock = Arc::new(attesta_server::clock::MovableClock::default());
    let mut options = Options::configured(|c| {
        crate::webhooks::allow_private(c);
        c.jobs.worker = false;
        c.signing.reminders = 0; // only the stalls here
        c.signing.stalled_after_days = vec![3, 7];
        c.signing.expire_after = 60 * DAY;
    });
    options.clock = Some(clock.clone());
    let app = spawn_app_with(options).await;
    app.set_up_owner().await;
    let receiver = crate::webhooks::Receiver::start().await;
    crate::webhooks::add_endpoint(&app, &receiver.url, &["document.stalled"]).await;
    let bytes = crate::helpers::pdf(2, "Agreement");
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let id = app.upload_ok("agreement.pdf", bytes).await;
    let c = Ceremony { app, id, sha256 };
    c.send("parallel", &[("Bob", "bob@example.com", false), ("Carol", "carol@example.com", false)], vec![]).await;
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("bob's link"));
    let stalls = || async { c.app.records_of(&c.id, "document.stalled").await };

    // Not before three days.
    clock.advance(2 * DAY);
    c.app.run_due_jobs().await;
    assert!(stalls().await.is_empty());
    clock.advance(DAY + HOUR);
    c.app.run_due_jobs().await;
    let recorded = stalls().await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["details"]["days"], 3);
    assert_eq!(recorded[0]["details"]["waiting_for"], json!(["r1", "r2"]));
    assert_eq!(recorded[0]["actor"]["id"], "system:attesta");
    // The sender is mailed and their webhook called.
    let notice = crate::signing::mails(&c.app).into_iter().find(|m| m.body.contains("has been waiting for 3 days"));
    let notice = notice.expect("the sender's mail");
    assert!(notice.to.contains(crate::helpers::OWNER_EMAIL), "{}", notice.to);
    assert!(notice.body.contains("Bob <bob@example.com>"), "who has still to act");
    // (Its delivery carries the moved clock's time, which a receiver rightly refuses as too
    // old or new, so the message is read where the dispatcher put it.)
    let payload = stalled_message(&c).await;
    assert_eq!(payload["data"]["stalled"], json!({ "days": 3, "waiting_for": ["r1", "r2"] }));
    assert_eq!(payload["data"]["document_id"], json!(c.id));
    // On the sender's "Needs attention" list, and on no other filter of in-progress work.
    c.app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let page = c.app.get("/?status=attention").await.text().await.expect("page");
    assert!(page.contains(&format!("/documents/{}", c.id)), "listed under Needs attention");
    assert!(page.contains("Needs attention"), "the filter is offered");

    // Once per threshold: the next runs add nothing. Bob opens it on day 4: the seven days
    // count from then.
    clock.advance(HOUR);
    c.app.run_due_jobs().await;
    assert_eq!(stalls().await.len(), 1);
    bob.open().await;
    clock.advance(6 * DAY);
    c.app.run_due_jobs().await;
    assert_eq!(stalls().await.len(), 1, "six days after Bob's view");
    clock.advance(DAY + HOUR);
    c.app.run_due_jobs().await;
    let recorded = stalls().await;
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["details"]["days"], 7);
    // Every threshold recorded: nothing more, however long.
    clock.advance(20 * DAY);
    c.app.run_due_jobs().await;
    assert_eq!(stalls().await.len(), 2);
    let verify = crate::helpers::attesta().envs(c.app.cli_env()).args(["log", "verify"]).output().expect("runs");
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
}

/// The payload of the webhook message made for the document's first `document.stalled`, once
/// the dispatcher (which runs on its own) made it.
async fn stalled_message(c: &Ceremony) -> serde_json::Value {
    for _ in 0..600 {
        let payload: Option<String> = sqlx::query_scalar(
            "SELECT payload FROM webhook_messages WHERE event_type = 'document.stalled' ORDER BY log_index LIMIT 1",
        )
        .fetch_optional(&c.app.pool)
        .await
        .expect("messages");
        if let Some(payload) = payload {
            return serde_json::from_str(&payload).expect("json");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no document.stalled webhook message was made");
}
