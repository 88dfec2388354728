//! Scheduled sending (issue 17): a draft scheduled for a day and time on its sender's clock is
//! locked, goes out once at that minute (not before, not twice, not after a cancellation, at the
//! new time when moved, across a restart and with two instances racing), and every step is in
//! the chain: `document.scheduled`, `document.schedule_cancelled`, then `document.sent` by the
//! system. Both front doors (the app's server functions and the REST API) go through the same use
//! case. Time moves by the clock port; nothing sleeps.

use crate::helpers::{Options, TestApp, spawn_app_with};
use crate::signing::{Ceremony, mail_dir};
use attesta_core::Timestamp;
use attesta_core::ceremony::schedule;
use attesta_core::ports::Clock as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);
const BOB: (&str, &str, bool) = ("Bob", "bob@example.com", false);

type MovableClock = attesta_server::clock::MovableClock;

fn no_worker(c: &mut attesta_server::config::Config) {
    mail_dir(c);
    c.jobs.worker = false; // the test runs the jobs once it moved the clock
}

async fn start(clock: &Arc<MovableClock>, data: Option<tempfile::TempDir>) -> TestApp {
    spawn_app_with(Options { clock: Some(clock.clone()), data, ..Options::configured(no_worker) }).await
}

/// A draft ready to send to Bob, on an app whose jobs run only when the test says.
async fn draft(app: TestApp) -> Ceremony {
    let bytes = crate::helpers::pdf(1, "Agreement");
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let id = app.upload_ok("agreement.pdf", bytes).await;
    let c = Ceremony { app, id, sha256 };
    c.save("parallel", &[BOB], vec![]).await;
    c
}

/// `days` days from now at 09:00 on the clock of `zone`: the `datetime-local` text and its instant.
fn at_nine(clock: &MovableClock, days: u32, zone: &str) -> (String, Timestamp) {
    let day = schedule::local_input(clock.now().saturating_add(DAY * days), zone);
    let local = format!("{}T09:00", &day[..10]);
    let at = schedule::instant_in(&local, zone).expect("09:00 exists");
    (local, at)
}

async fn schedule_for(c: &Ceremony, local: &str, zone: &str) -> reqwest::Response {
    let revision = c.revision().await;
    c.call("/api/draft/schedule", json!({ "id": c.id, "revision": revision, "local": local, "time_zone": zone })).await
}

/// Moves `clock` to `at` plus `after` (never backwards), and signs the owner in again: their
/// session ends after 12 idle hours of the moved clock.
async fn move_to(app: &TestApp, clock: &MovableClock, at: Timestamp, after: Duration) {
    let now = clock.now();
    let target = at.saturating_add(after);
    if target > now {
        clock.advance(target.duration_since(now));
    }
    app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
}

fn count(types: &[String], t: &str) -> usize {
    types.iter().filter(|x| *x == t).count()
}

#[tokio::test]
async fn a_draft_scheduled_for_nine_on_its_senders_clock_is_locked_and_goes_out_once_at_that_minute() {
    let clock = Arc::new(MovableClock::default());
    let app = start(&clock, None).await;
    app.set_up_owner().await;
    let c = draft(app).await;
    let (local, at) = at_nine(&clock, 2, "Europe/Paris");
    let r = schedule_for(&c, &local, "Europe/Paris").await;
    assert_eq!(r.status(), StatusCode::OK);
    let scheduled: Value = r.json().await.expect("json");
    assert_eq!(scheduled["send_at"], at.as_micros());
    assert_eq!(scheduled["time_zone"], "Europe/Paris");
    assert!(scheduled["label"].as_str().expect("label").ends_with(", 09:00 (Europe/Paris)"), "{scheduled}");

    // The evidence: who scheduled what, for when, on which clock.
    let events = c.app.records_of(&c.id, "document.scheduled").await;
    assert_eq!(events.len(), 1);
    let details = &events[0]["details"];
    assert_eq!(details["send_at"], at.as_micros());
    assert_eq!(details["time_zone"], "Europe/Paris");
    assert_eq!((details["recipients"].clone(), details["fields"].clone()), (json!(1), json!(1)));
    assert_eq!(details["replaces"], Value::Null);
    assert_eq!(details["layout_sha256"].as_str().map(str::len), Some(64));
    assert!(events[0]["actor"]["id"].as_str().expect("actor").starts_with("user:"));

    // Locked: the draft cannot change, the page and the lists say when it goes.
    let refused = c
        .call(
            "/api/draft/save",
            json!({ "id": c.id, "revision": c.revision().await, "draft": { "order": "parallel", "recipients": [], "fields": [], "message": "" } }),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(crate::helpers::error_message(refused).await.contains("scheduled"));
    let status = c.status().await;
    assert_eq!(status["status"], "draft");
    assert_eq!(status["scheduled"]["send_at"], at.as_micros());
    let list = c.app.get("/?status=scheduled").await.text().await.expect("page");
    assert!(list.contains(&format!("/documents/{}", c.id)), "the Scheduled list shows it");
    let key = crate::rest::key(&c.app, "robot", "read").await;
    let listed: Value = crate::rest::get_json(&c.app, &key, "/api/v1/documents?status=scheduled").await;
    assert_eq!(listed["data"][0]["id"], c.id.as_str(), "{listed}");
    let resource: Value = crate::rest::get_json(&c.app, &key, &format!("/api/v1/documents/{}", c.id)).await;
    assert_eq!(resource["scheduled_send"]["time_zone"], "Europe/Paris", "{resource}");

    // A minute before, nothing; at 09:00 the draft goes out.
    move_to(&c.app, &clock, at.saturating_sub(MINUTE), Duration::ZERO).await;
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "draft");
    clock.advance(MINUTE);
    c.app.run_due_jobs().await;
    let types = c.event_types().await;
    let sent_now = count(&types, "document.sent");
    assert_eq!(sent_now, 1, "at 09:00 the draft goes out");
    assert_eq!(c.status().await["status"], "sent");
    assert!(c.link_for("bob@example.com").await.is_some(), "Bob got his link");
    let sent = c.app.records_of(&c.id, "document.sent").await;
    assert_eq!(sent[0]["actor"]["id"], "system:attesta", "the schedule sent it");
    assert_eq!(sent[0]["details"]["layout_sha256"], events[0]["details"]["layout_sha256"], "what was scheduled went");
    let scheduled_seq = types.iter().position(|t| t == "document.scheduled");
    let sent_seq = types.iter().position(|t| t == "document.sent");
    assert!(scheduled_seq < sent_seq);

    // Once: the jobs running again, or later, send nothing more; the schedule is gone.
    clock.advance(DAY);
    c.app.run_due_jobs().await;
    c.app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    assert_eq!(count(&c.event_types().await, "document.sent"), 1);
    assert_eq!(c.status().await["scheduled"], Value::Null);
    let list = c.app.get("/?status=scheduled").await.text().await.expect("page");
    assert!(!list.contains(&format!("/documents/{}", c.id)), "no longer on the Scheduled list");
}

#[tokio::test]
async fn nothing_goes_out_before_the_minute() {
    let clock = Arc::new(MovableClock::default());
    let app = start(&clock, None).await;
    app.set_up_owner().await;
    let c = draft(app).await;
    let (local, at) = at_nine(&clock, 1, "America/New_York");
    assert_eq!(schedule_for(&c, &local, "America/New_York").await.status(), StatusCode::OK);
    move_to(&c.app, &clock, at.saturating_sub(MINUTE), Duration::ZERO).await;
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "draft");
    assert!(c.mails_to("bob@example.com").is_empty());
    clock.advance(MINUTE);
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "sent");
}

#[tokio::test]
async fn a_moved_schedule_fires_at_its_new_time_only_even_across_a_restart_and_a_cancelled_one_never() {
    let clock = Arc::new(MovableClock::default());
    let app = start(&clock, None).await;
    app.set_up_owner().await;
    let c = draft(app).await;
    let (first_local, first) = at_nine(&clock, 1, "UTC");
    let (second_local, second) = at_nine(&clock, 3, "UTC");
    assert_eq!(schedule_for(&c, &first_local, "UTC").await.status(), StatusCode::OK);
    assert_eq!(schedule_for(&c, &second_local, "UTC").await.status(), StatusCode::OK);
    let moved = c.app.records_of(&c.id, "document.scheduled").await;
    assert_eq!(moved[1]["details"]["replaces"], first.as_micros(), "the move names the time it replaces");

    // The process stops and starts again between scheduling and firing.
    let Ceremony { app, id, sha256 } = c;
    let app = start(&clock, Some(app.stop().await)).await;
    app.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
    let c = Ceremony { app, id, sha256 };
    move_to(&c.app, &clock, first, MINUTE).await;
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "draft", "not at the old time");
    move_to(&c.app, &clock, second, Duration::ZERO).await;
    c.app.run_due_jobs().await;
    assert_eq!(c.status().await["status"], "sent", "at the new time");
    assert_eq!(count(&c.event_types().await, "document.sent"), 1);

    // Another draft, scheduled then cancelled: editable again, and its time passes quietly.
    let d = draft(Ceremony { app: c.app, id: String::new(), sha256: String::new() }.app).await;
    let (local, at) = at_nine(&clock, 1, "UTC");
    assert_eq!(schedule_for(&d, &local, "UTC").await.status(), StatusCode::OK);
    d.ok("/api/draft/unschedule", json!({ "id": d.id })).await;
    let cancelled = d.app.records_of(&d.id, "document.schedule_cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["details"], json!({ "send_at": at.as_micros() }));
    let again = d.call("/api/draft/unschedule", json!({ "id": d.id })).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "nothing left to cancel");
    d.save("parallel", &[BOB, ("Carol", "carol@example.com", false)], vec![]).await;
    move_to(&d.app, &clock, at, DAY).await;
    d.app.run_due_jobs().await;
    assert_eq!(d.status().await["status"], "draft");
    assert_eq!(count(&d.event_types().await, "document.sent"), 0);
}

#[tokio::test]
async fn two_instances_racing_for_a_scheduled_send_send_it_once() {
    let clock = Arc::new(MovableClock::default());
    let first = start(&clock, None).await;
    first.set_up_owner().await;
    let c = draft(first).await;
    let second =
        spawn_app_with(Options { clock: Some(clock.clone()), ..crate::helpers::beside(&c.app, no_worker) }).await;
    let (local, at) = at_nine(&clock, 1, "UTC");
    assert_eq!(schedule_for(&c, &local, "UTC").await.status(), StatusCode::OK);
    move_to(&c.app, &clock, at, Duration::ZERO).await;
    let _ = tokio::join!(c.app.run_due_jobs(), second.run_due_jobs());
    c.app.run_due_jobs().await;
    second.run_due_jobs().await;
    assert_eq!(count(&c.event_types().await, "document.sent"), 1);
    assert_eq!(count(&c.event_types().await, "recipient.link_issued"), 1);
}

#[tokio::test]
async fn bad_times_and_unready_drafts_are_refused_with_a_reason_through_both_doors() {
    let clock = Arc::new(MovableClock::default());
    let app = start(&clock, None).await;
    app.set_up_owner().await;
    let c = draft(app).await;
    let refused = |r: reqwest::Response| async move {
        let status = r.status();
        (status, crate::helpers::error_message(r).await)
    };
    let (past, _) = at_nine(&clock, 0, "UTC");
    let yesterday = format!("{}T09:00", &schedule::local_input(clock.now().saturating_sub(DAY), "UTC")[..10]);
    for (local, zone, says) in [
        (yesterday.as_str(), "UTC", "future"),
        ("2999-01-01T09:00", "UTC", "a year"),
        ("2027-03-28T02:30", "Europe/Paris", "does not exist"),
        ("tomorrow", "UTC", "YYYY-MM-DD"),
        (past.as_str(), "Mars/Olympus", "time zone"),
    ] {
        let (status, message) = refused(schedule_for(&c, local, zone).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{local} {zone}: {message}");
        assert!(message.contains(says), "{local} {zone}: {message}");
    }
    // A draft that could not be sent cannot be scheduled either.
    c.save("parallel", &[], vec![]).await;
    let (local, _) = at_nine(&clock, 1, "UTC");
    assert_eq!(schedule_for(&c, &local, "UTC").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(c.app.records_of(&c.id, "document.scheduled").await.is_empty());

    // The REST API: create-and-schedule in one call, move, cancel.
    let key = crate::rest::key(&c.app, "robot", "read,send").await;
    let api = reqwest::Client::new();
    let (_, at) = at_nine(&clock, 2, "Europe/Berlin");
    let rfc3339 = time::OffsetDateTime::from_unix_timestamp(at.as_micros() / 1_000_000)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let document = json!({
        "title": "Scheduled by API", "markdown": "# Terms\n\nAgreed.",
        "recipients": [{ "name": "Dan", "email": "dan@example.com" }],
        "fields": [{ "recipient": "dan@example.com", "kind": "signature", "page": 1, "x": 72.0, "y": 600.0, "width": 180.0, "height": 48.0 }],
        "send_at": rfc3339, "time_zone": "Europe/Berlin",
    });
    let r = api.post(c.app.url("/api/v1/documents")).bearer_auth(&key).json(&document).send().await.expect("create");
    let status = r.status();
    let created: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "draft");
    assert_eq!(created["scheduled_send"]["time_zone"], "Europe/Berlin", "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let both = json!({ "title": "x", "markdown": "# x", "send": true, "send_at": rfc3339 });
    let r = api.post(c.app.url("/api/v1/documents")).bearer_auth(&key).json(&both).send().await.expect("create");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "send now or schedule, not both");
    let r = api
        .post(c.app.url(&format!("/api/v1/documents/{id}/schedule")))
        .bearer_auth(&key)
        .json(&json!({ "send_at": "not a time" }))
        .send()
        .await
        .expect("schedule");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = api.delete(c.app.url(&format!("/api/v1/documents/{id}/schedule"))).bearer_auth(&key).send().await;
    let cancelled: Value = r.expect("cancel").json().await.expect("json");
    assert_eq!(cancelled["scheduled_send"], Value::Null, "{cancelled}");
    let r = api.delete(c.app.url(&format!("/api/v1/documents/{id}/schedule"))).bearer_auth(&key).send().await;
    assert_eq!(r.expect("cancel").status(), StatusCode::CONFLICT);
    // A read-only key may not schedule.
    let reader = crate::rest::key(&c.app, "reader", "read").await;
    let r = api
        .post(c.app.url(&format!("/api/v1/documents/{id}/schedule")))
        .bearer_auth(&reader)
        .json(&json!({ "send_at": rfc3339 }))
        .send()
        .await
        .expect("schedule");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
