//! The runner against a real SQLite database (migrated), with a clock the tests set.

use super::*;
use attesta_core::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// A clock that stands still until a test moves it.
struct TestClock(AtomicI64);

impl TestClock {
    fn at(micros: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(micros)))
    }
    fn advance(&self, by: Duration) {
        self.0.fetch_add(i64::try_from(by.as_micros()).expect("small"), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.load(Ordering::SeqCst))
    }
}

/// 2027-01-15 08:00:00 UTC: the start of a five-minute period.
const T0: i64 = 1_800_000_000 * 1_000_000;

/// Counts runs per job id; fails while `failing` is set; takes `pause` per run.
#[derive(Default)]
struct Recorder {
    runs: Mutex<HashMap<String, u32>>,
    kinds: Mutex<Vec<JobKind>>,
    failing: std::sync::atomic::AtomicBool,
    pause: Duration,
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn run(&self, kind: JobKind, job: &ClaimedJob) -> Result<(), JobFailure> {
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        *self.runs.lock().expect("lock").entry(job.id.clone()).or_default() += 1;
        self.kinds.lock().expect("lock").push(kind);
        if self.failing.load(Ordering::SeqCst) {
            Err(JobFailure::Retry("the mail server said no".to_owned()))
        } else {
            Ok(())
        }
    }
}

async fn database() -> (tempfile::TempDir, AnyPool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let pool = crate::store::db::connect(&url, 4).await.expect("database");
    (dir, pool)
}

fn settings(recurring: Vec<Recurring>) -> Settings {
    Settings {
        poll_interval: Duration::from_secs(1),
        lease: Duration::from_secs(60),
        backoff: Backoff { base: Duration::from_secs(10), max: Duration::from_secs(60), max_attempts: 3 },
        recurring,
    }
}

fn runner(pool: &AnyPool, clock: Arc<TestClock>, handler: Arc<Recorder>, recurring: Vec<Recurring>) -> Jobs {
    Jobs::new(pool.clone(), clock, handler, settings(recurring), Arc::new(Notify::new()))
}

async fn state_of(pool: &AnyPool, id: &str) -> (String, i64, Option<String>) {
    sqlx::query_as("SELECT state, attempts, last_error FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("job row")
}

async fn only_job_id(pool: &AnyPool) -> String {
    sqlx::query_scalar("SELECT id FROM jobs").fetch_one(pool).await.expect("one job")
}

async fn enqueue_one(pool: &AnyPool, job: NewJob) -> bool {
    let mut conn = pool.acquire().await.expect("connection");
    enqueue(&mut conn, &job, job.run_at).await.expect("enqueue")
}

#[tokio::test]
async fn two_workers_never_run_one_job() {
    let (_dir, pool) = database().await;
    let clock = TestClock::at(T0);
    for i in 0..24 {
        let job = NewJob::with_payload(JobKind::MailNotice, format!("doc{i}"), "{}".to_owned(), clock.now());
        assert!(enqueue_one(&pool, job).await);
    }
    let handler = Arc::new(Recorder { pause: Duration::from_millis(5), ..Recorder::default() });
    let a = runner(&pool, clock.clone(), handler.clone(), vec![]);
    let b = runner(&pool, clock.clone(), handler.clone(), vec![]);
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    let (ra, rb) = (ra.expect("a runs"), rb.expect("b runs"));
    assert_eq!(ra.done + rb.done, 24, "every job ran: {ra:?} {rb:?}");
    let runs = handler.runs.lock().expect("lock").clone();
    assert_eq!(runs.len(), 24);
    assert!(runs.values().all(|&n| n == 1), "no job ran twice: {runs:?}");
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND lease_owner IS NULL")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(done, 24);
}

#[tokio::test]
async fn a_lease_keeps_a_job_from_others_until_it_expires_and_then_the_first_holder_records_nothing() {
    let (_dir, pool) = database().await;
    let clock = TestClock::at(T0);
    assert!(enqueue_one(&pool, NewJob::about(JobKind::DocumentComplete, "doc1", clock.now())).await);
    // A worker claims it and then stops answering (its process died mid-job).
    let stale = store::claim(&pool, "worker_dead", clock.now(), Duration::from_secs(60), 8).await.expect("claim");
    assert_eq!(stale.len(), 1);
    let handler = Arc::new(Recorder::default());
    let other = runner(&pool, clock.clone(), handler.clone(), vec![]);
    assert_eq!(other.run_due().await.expect("runs").ran(), 0, "the lease is held");
    clock.advance(Duration::from_secs(61));
    assert_eq!(other.run_due().await.expect("runs").done, 1, "an expired lease is taken over");
    let id = only_job_id(&pool).await;
    assert_eq!(state_of(&pool, &id).await.0, "done");
    assert_eq!(state_of(&pool, &id).await.1, 2, "the abandoned attempt counts");
    assert!(!store::mark_done(&pool, &id, "worker_dead", clock.now()).await.expect("update"), "the old holder lost it");
    assert!(!store::mark_failed(&pool, &id, "worker_dead", clock.now(), "late").await.expect("update"));
    assert_eq!(state_of(&pool, &id).await.0, "done");
}

#[tokio::test]
async fn a_failing_job_backs_off_then_gives_up_visibly() {
    let (_dir, pool) = database().await;
    let clock = TestClock::at(T0);
    assert!(enqueue_one(&pool, NewJob::about(JobKind::CeremonyAdvance, "doc1", clock.now())).await);
    let handler = Arc::new(Recorder::default());
    handler.failing.store(true, Ordering::SeqCst);
    let jobs = runner(&pool, clock.clone(), handler.clone(), vec![]);
    let id = only_job_id(&pool).await;

    assert_eq!(jobs.run_due().await.expect("runs").retried, 1);
    let (state, attempts, error) = state_of(&pool, &id).await;
    assert_eq!((state.as_str(), attempts, error.as_deref()), ("queued", 1, Some("the mail server said no")));
    let run_at: i64 = sqlx::query_scalar("SELECT run_at FROM jobs").fetch_one(&pool).await.expect("run_at");
    // After the first failure: between half and all of the 10 s base.
    assert!((T0 + 5_000_000..=T0 + 10_000_000).contains(&run_at), "{run_at}");
    assert_eq!(jobs.run_due().await.expect("runs").ran(), 0, "not due before its pause is over");

    clock.advance(Duration::from_secs(10));
    assert_eq!(jobs.run_due().await.expect("runs").retried, 1);
    let run_at: i64 = sqlx::query_scalar("SELECT run_at FROM jobs").fetch_one(&pool).await.expect("run_at");
    let now = clock.now().as_micros();
    assert!((now + 10_000_000..=now + 20_000_000).contains(&run_at), "the pause doubled: {}", run_at - now);

    clock.advance(Duration::from_secs(20));
    assert_eq!(jobs.run_due().await.expect("runs").failed, 1, "the third failure is the last");
    let (state, attempts, error) = state_of(&pool, &id).await;
    assert_eq!((state.as_str(), attempts), ("failed", 3));
    assert_eq!(error.as_deref(), Some("the mail server said no"));
    clock.advance(Duration::from_secs(3600));
    assert_eq!(jobs.run_due().await.expect("runs").ran(), 0, "a failed job stays failed");
    let (_, failed) = store::recent(&pool, 10).await.expect("listing");
    assert_eq!(failed.len(), 1, "the admin page lists it");
}

#[tokio::test]
async fn a_recurring_schedule_fires_once_per_period_across_processes() {
    let (_dir, pool) = database().await;
    let clock = TestClock::at(T0 + 30_000_000);
    let every_5_min =
        vec![Recurring { kind: JobKind::Checkpoint, schedule: Schedule::parse("*/5 * * * *").expect("cron") }];
    let handler = Arc::new(Recorder::default());
    let a = runner(&pool, clock.clone(), handler.clone(), every_5_min.clone());
    let b = runner(&pool, clock.clone(), handler.clone(), every_5_min);

    let (ma, mb) = tokio::join!(a.schedule_recurring(), b.schedule_recurring());
    assert_eq!(ma.expect("a") + mb.expect("b"), 1, "one job for the period");
    a.run_due().await.expect("runs");
    b.run_due().await.expect("runs");
    // A process that starts later in the same period, or notices it again, makes nothing.
    let c = runner(
        &pool,
        clock.clone(),
        handler.clone(),
        vec![Recurring { kind: JobKind::Checkpoint, schedule: Schedule::parse("*/5 * * * *").expect("cron") }],
    );
    clock.advance(Duration::from_secs(200));
    assert_eq!(c.schedule_recurring().await.expect("c"), 0);
    assert_eq!(c.run_due().await.expect("runs").ran(), 0);
    assert_eq!(handler.kinds.lock().expect("lock").as_slice(), &[JobKind::Checkpoint]);

    clock.advance(Duration::from_secs(100)); // 08:05:30: the next period
    let (ma, mb) = tokio::join!(a.schedule_recurring(), b.schedule_recurring());
    assert_eq!(ma.expect("a") + mb.expect("b"), 1);
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    assert_eq!(ra.expect("a").done + rb.expect("b").done, 1);
    assert_eq!(handler.kinds.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn an_enqueued_job_rolls_back_with_its_transaction() {
    let (_dir, pool) = database().await;
    let now = Timestamp::from_micros(T0);
    let job = NewJob::about(JobKind::CeremonyAdvance, "doc1", now);
    let mut tx = pool.begin().await.expect("begin");
    assert!(enqueue(&mut tx, &job, now).await.expect("enqueue"));
    tx.rollback().await.expect("rollback");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(&pool).await.expect("count");
    assert_eq!(count, 0, "no change, no job");
    let mut tx = pool.begin().await.expect("begin");
    assert!(enqueue(&mut tx, &job, now).await.expect("enqueue"));
    tx.commit().await.expect("commit");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(&pool).await.expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn asking_twice_before_a_job_ran_makes_one_job_but_asking_while_it_runs_makes_another() {
    let (_dir, pool) = database().await;
    let clock = TestClock::at(T0);
    let later = Timestamp::from_micros(T0 + 60_000_000);
    assert!(enqueue_one(&pool, NewJob::about(JobKind::CeremonyAdvance, "doc1", later)).await);
    assert!(!enqueue_one(&pool, NewJob::about(JobKind::CeremonyAdvance, "doc1", clock.now())).await, "merged");
    assert!(enqueue_one(&pool, NewJob::about(JobKind::CeremonyAdvance, "doc2", clock.now())).await, "other subject");
    let run_at: i64 =
        sqlx::query_scalar("SELECT run_at FROM jobs WHERE subject = 'doc1'").fetch_one(&pool).await.expect("run_at");
    assert_eq!(run_at, T0, "the earlier due time wins");
    let claimed = store::claim(&pool, "worker_a", clock.now(), Duration::from_secs(60), 8).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    // The state changed again while the job runs: it may have read the old state, so a new one.
    assert!(enqueue_one(&pool, NewJob::about(JobKind::CeremonyAdvance, "doc1", clock.now())).await);
    // Notices are never merged: one per person.
    for _ in 0..2 {
        let job = NewJob::with_payload(JobKind::MailNotice, "doc1", "{}".to_owned(), clock.now());
        assert!(enqueue_one(&pool, job).await);
    }
}

#[tokio::test]
async fn jobs_of_kinds_this_build_does_not_know_are_left_alone() {
    let (_dir, pool) = database().await;
    let clock = TestClock::at(T0);
    sqlx::query("INSERT INTO jobs (id, kind, run_at, created_at) VALUES ('job_new', 'from.the.future', $1, $1)")
        .bind(T0)
        .execute(&pool)
        .await
        .expect("insert");
    let jobs = runner(&pool, clock.clone(), Arc::new(Recorder::default()), vec![]);
    assert_eq!(jobs.run_due().await.expect("runs").ran(), 0);
    assert_eq!(state_of(&pool, "job_new").await.0, "queued");
}
