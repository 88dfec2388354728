//! Durable jobs: follow-up work that survives a crash and runs once across server processes.
//!
//! - [`store::enqueue`] inserts a job on the connection of the transaction that changes state
//!   (an evidence [`crate::evidence::Effect`]), so the job exists exactly when the change did.
//! - [`Jobs`] is the runner: it claims due jobs with a lease ([`store::claim`], one statement,
//!   safe with several processes), runs them through a [`Handler`], and records the outcome while
//!   it still holds the lease: done, retried after the core's [`Backoff`] (exponential, with
//!   jitter), or failed for good after the last attempt (logged with the job's id, counted in
//!   `jobs_failed_total`, listed on the admin page).
//! - Recurring work ([`Recurring`]) is enqueued once per period of its cron [`Schedule`]: the job's
//!   once-only key is `kind@period-start`, so however many processes notice a period, one job
//!   runs it.
//! - One loop per process ([`Jobs::run`]) polls every `jobs.poll_interval`, and wakes early when
//!   this process enqueued ([`Jobs::wake`]) or the next job is due. Time comes only from the
//!   [`Clock`] port: a test moves its clock and calls [`Jobs::run_due`], never sleeps.

pub mod admin;
pub mod handlers;
pub mod store;

use attesta_core::jobs::{AfterFailure, Backoff, Dedupe, JobKind, NewJob, Schedule};
use attesta_core::ports::Clock;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub use store::{ClaimedJob, enqueue};

/// Jobs claimed per round.
const CLAIM_BATCH: i64 = 8;
/// After a database error, the loop waits this long.
const ERROR_PAUSE: Duration = Duration::from_secs(5);

/// Why a job's attempt did not succeed.
#[derive(Debug)]
pub enum JobFailure {
    /// Worth trying again later (a mail server down, a timestamp authority unreachable).
    Retry(String),
    /// Trying again cannot help (the payload is unreadable): failed now.
    Permanent(String),
}

impl JobFailure {
    pub fn message(&self) -> &str {
        match self {
            JobFailure::Retry(m) | JobFailure::Permanent(m) => m,
        }
    }
}

impl<E: std::fmt::Display> From<E> for JobFailure {
    fn from(e: E) -> Self {
        JobFailure::Retry(e.to_string())
    }
}

/// What runs a job of a given kind.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn run(&self, kind: JobKind, job: &ClaimedJob) -> Result<(), JobFailure>;
}

/// A recurring job and its schedule.
#[derive(Debug, Clone)]
pub struct Recurring {
    pub kind: JobKind,
    pub schedule: Schedule,
}

/// How the runner behaves (`[jobs]` in the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub poll_interval: Duration,
    /// How long a claimed job is this process's before another may take it over.
    pub lease: Duration,
    pub backoff: Backoff,
    pub recurring: Vec<Recurring>,
}

/// The job runner of this process. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
    handler: Arc<dyn Handler>,
    settings: Settings,
    owner: String,
    wake: Arc<Notify>,
    /// The period key each recurring kind was last enqueued for by this process (so a poll
    /// writes only when a period begins).
    enqueued: std::sync::Mutex<std::collections::HashMap<JobKind, String>>,
}

/// What one [`Jobs::run_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
}

impl RunReport {
    pub fn ran(&self) -> usize {
        self.done + self.retried + self.failed
    }
}

impl Jobs {
    pub fn new(
        pool: AnyPool,
        clock: Arc<dyn Clock>,
        handler: Arc<dyn Handler>,
        settings: Settings,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                clock,
                handler,
                settings,
                owner: store::new_job_id().replacen("job_", "worker_", 1),
                wake,
                enqueued: Default::default(),
            }),
        }
    }

    /// The notification that wakes this process's loop (given to whoever enqueues).
    pub fn wake(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Enqueues the current period's run of every recurring job not yet enqueued for it.
    pub async fn schedule_recurring(&self) -> Result<usize, sqlx::Error> {
        let now = self.inner.clock.now();
        let mut made = 0;
        for r in &self.inner.settings.recurring {
            let Some((key, start)) = r.schedule.period_key(r.kind, now) else { continue };
            if self.inner.enqueued.lock().map(|m| m.get(&r.kind) == Some(&key)).unwrap_or(false) {
                continue;
            }
            let job = NewJob {
                kind: r.kind,
                subject: String::new(),
                payload: "{}".to_owned(),
                run_at: start,
                dedupe: Dedupe::Once(key.clone()),
            };
            if store::enqueue_now(&self.inner.pool, &job, now).await? {
                made += 1;
            }
            if let Ok(mut m) = self.inner.enqueued.lock() {
                m.insert(r.kind, key);
            }
        }
        Ok(made)
    }

    /// Claims and runs every job due now, batch after batch, until none is left.
    pub async fn run_due(&self) -> Result<RunReport, sqlx::Error> {
        let mut report = RunReport::default();
        loop {
            let now = self.inner.clock.now();
            let claimed =
                store::claim(&self.inner.pool, &self.inner.owner, now, self.inner.settings.lease, CLAIM_BATCH).await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            for job in claimed {
                match self.run_one(&job).await? {
                    Outcome::Done => report.done += 1,
                    Outcome::Retried => report.retried += 1,
                    Outcome::Failed => report.failed += 1,
                    Outcome::LeaseLost => {}
                }
            }
        }
    }

    async fn run_one(&self, job: &ClaimedJob) -> Result<Outcome, sqlx::Error> {
        let pool = &self.inner.pool;
        let owner = &self.inner.owner;
        let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
        let backoff = self.inner.settings.backoff;
        let Some(kind) = JobKind::parse(&job.kind) else {
            // Claimed only by known kinds; a row changed under us is not ours to run.
            return Ok(Outcome::LeaseLost);
        };
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, subject = %job.subject, attempt = attempts);
        let result = if attempts > backoff.max_attempts {
            // Its lease expired more often than it may be tried: its process keeps dying on it.
            Err(JobFailure::Permanent(format!("abandoned {} times without an answer", attempts - 1)))
        } else {
            tracing::Instrument::instrument(self.inner.handler.run(kind, job), span.clone()).await
        };
        let now = self.inner.clock.now();
        let _entered = span.enter();
        let (outcome, recorded) = match result {
            Ok(()) => (Outcome::Done, store::mark_done(pool, &job.id, owner, now).await?),
            Err(failure) => {
                let message = failure.message().to_owned();
                let next = match failure {
                    JobFailure::Permanent(_) => AfterFailure::GiveUp,
                    JobFailure::Retry(_) => backoff.after_failure(&job.id, attempts, now),
                };
                match next {
                    AfterFailure::RetryAt(at) => {
                        tracing::warn!(error = %message, retry_at = at.as_micros(), "job attempt failed; will retry");
                        (Outcome::Retried, store::mark_retry(pool, &job.id, owner, at, &message).await?)
                    }
                    AfterFailure::GiveUp => {
                        tracing::error!(error = %message, attempts, "job failed for good");
                        metrics::counter!("jobs_failed_total", "kind" => kind.as_str()).increment(1);
                        (Outcome::Failed, store::mark_failed(pool, &job.id, owner, now, &message).await?)
                    }
                }
            }
        };
        if !recorded {
            // The lease ran out and another worker took the job: its record counts.
            tracing::warn!("job lease lost before its outcome was recorded");
            return Ok(Outcome::LeaseLost);
        }
        let label = match outcome {
            Outcome::Done => "done",
            Outcome::Retried => "retried",
            Outcome::Failed => "failed",
            Outcome::LeaseLost => "lease_lost",
        };
        metrics::counter!("jobs_runs_total", "kind" => kind.as_str(), "outcome" => label).increment(1);
        Ok(outcome)
    }

    /// How long until the next job is due, at most the poll interval.
    async fn until_next(&self) -> Result<Duration, sqlx::Error> {
        let poll = self.inner.settings.poll_interval;
        let now = self.inner.clock.now().as_micros();
        Ok(match store::next_due(&self.inner.pool).await? {
            Some(at) => Duration::from_micros(u64::try_from(at.saturating_sub(now)).unwrap_or(0)).min(poll),
            None => poll,
        })
    }

    /// The loop of this process: schedule, run what is due, wait. Runs until aborted.
    pub async fn run(self) {
        loop {
            let wait = match self.round().await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::error!(error = %e, "job round failed");
                    ERROR_PAUSE
                }
            };
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn round(&self) -> Result<Duration, sqlx::Error> {
        self.schedule_recurring().await?;
        self.run_due().await?;
        self.until_next().await
    }

    /// For tests: schedules recurring work, runs everything due by the clock now, and waits out
    /// jobs another worker of this process (the loop) holds, so that when it returns no due work
    /// is left. Returns what this call itself ran.
    pub async fn run_due_now(&self) -> Result<RunReport, sqlx::Error> {
        let mut total = RunReport::default();
        // A test must fail, not hang, if work stays due that nothing here can finish (a job
        // another process holds and never releases): after this many rounds (about two minutes
        // of waiting) it says which jobs and returns.
        const MAX_ROUNDS: u32 = 12_000;
        for _ in 0..MAX_ROUNDS {
            self.schedule_recurring().await?;
            let r = self.run_due().await?;
            total.done += r.done;
            total.retried += r.retried;
            total.failed += r.failed;
            if store::outstanding(&self.inner.pool, self.inner.clock.now()).await? == 0 {
                return Ok(total);
            }
            // The loop holds a job: give it the runtime until it records the outcome.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (recent, _) = store::recent(&self.inner.pool, 20).await?;
        let stuck: Vec<_> = recent
            .iter()
            .filter(|j| j.state == "running" || (j.state == "queued" && j.run_at <= self.inner.clock.now().as_micros()))
            .map(|j| format!("{} {} {} (attempts {}, run_at {})", j.id, j.kind, j.state, j.attempts, j.run_at))
            .collect();
        tracing::error!(?stuck, "due work still outstanding after waiting about two minutes");
        Ok(total)
    }
}

enum Outcome {
    Done,
    Retried,
    Failed,
    LeaseLost,
}

#[cfg(test)]
mod tests;
