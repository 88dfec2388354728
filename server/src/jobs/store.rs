//! The `jobs` table (migration 0010): enqueue inside the caller's transaction, claim with a
//! lease in one statement, and record the outcome only while the lease is still ours.
//!
//! Every write is a single statement, so no write lock is held across an `await` of a handler.
//! The SQL is portable where a portable form exists (ON CONFLICT with a partial index target,
//! `CASE` instead of `MIN`); PostgreSQL's adapter adds `FOR UPDATE SKIP LOCKED` to the claim's
//! inner SELECT.

use crate::store::db::Sql;
use attesta_core::Timestamp;
use attesta_core::jobs::{Dedupe, JobKind, NewJob};
use sqlx::AnyConnection;
use sqlx::AnyPool;

/// A job a worker holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub payload: String,
    /// Attempts started, this one included.
    pub attempts: i64,
    pub run_at: i64,
}

/// A row for the admin page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub state: String,
    pub run_at: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A fresh job id: 128 random bits.
pub fn new_job_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    format!("job_{}", hex::encode(bytes))
}

/// Enqueues `job` on `conn`: inside the transaction the caller holds (an evidence effect), so the
/// job exists exactly when the change that asked for it committed. Returns whether a row was
/// inserted (`false`: it joined a waiting twin, or its once-only key was taken).
pub async fn enqueue(conn: &mut AnyConnection, job: &NewJob, now: Timestamp) -> Result<bool, sqlx::Error> {
    let id = new_job_id();
    let (dedupe_key, mergeable) = match &job.dedupe {
        Dedupe::None => (None, 0_i64),
        Dedupe::WhileWaiting => (None, 1),
        Dedupe::Once(key) => (Some(key.as_str()), 0),
    };
    let conflict = match &job.dedupe {
        Dedupe::None => "",
        // The earlier due time wins: asking again never delays work already asked for.
        Dedupe::WhileWaiting => {
            " ON CONFLICT (kind, subject) WHERE mergeable = 1 AND state = 'queued' AND attempts = 0 \
             DO UPDATE SET run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END"
        }
        Dedupe::Once(_) => " ON CONFLICT (dedupe_key) DO NOTHING",
    };
    let sql = format!(
        "INSERT INTO jobs (id, kind, subject, payload, dedupe_key, mergeable, state, run_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8){conflict} RETURNING id"
    );
    let inserted: Option<String> = sqlx::query_scalar(&sql)
        .bind(&id)
        .bind(job.kind.as_str())
        .bind(&job.subject)
        .bind(&job.payload)
        .bind(dedupe_key)
        .bind(mergeable)
        .bind(job.run_at.as_micros())
        .bind(now.as_micros())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(inserted.as_deref() == Some(id.as_str()))
}

/// Enqueues on a connection of its own (work that follows no state change: recurring runs).
pub async fn enqueue_now(pool: &AnyPool, job: &NewJob, now: Timestamp) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    enqueue(&mut conn, job, now).await
}

/// Claims up to `limit` due jobs of the kinds this build knows: waiting ones due by `now`, and
/// running ones whose lease expired (their process stopped). One statement: of several workers
/// each job goes to exactly one. The attempt is counted here, so a job that kills its process
/// every time still runs out of attempts.
pub async fn claim(
    pool: &AnyPool,
    owner: &str,
    now: Timestamp,
    lease: std::time::Duration,
    limit: i64,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let until = now.saturating_add(lease).as_micros();
    let mut q = Sql::new("UPDATE jobs SET state = 'running', lease_owner = ");
    q.push_bind(owner)
        .push(", lease_until = ")
        .push_bind(until)
        .push(", attempts = attempts + 1, started_at = ")
        .push_bind(now.as_micros())
        .push(
            " WHERE id IN (SELECT id FROM jobs WHERE \
             ((state = 'queued' AND run_at <= ",
        )
        .push_bind(now.as_micros())
        .push(") OR (state = 'running' AND lease_until < ")
        .push_bind(now.as_micros())
        .push(")) AND kind IN (");
    for (i, kind) in JobKind::ALL.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push_bind(kind.as_str());
    }
    q.push(") ORDER BY run_at LIMIT ").push_bind(limit);
    // On PostgreSQL, rows another worker is claiming right now are skipped rather than waited
    // for (and its claim re-checked): each job goes to one worker, and workers do not queue up
    // behind each other. SQLite has one writer at a time, so the statement is atomic there.
    if crate::store::db::Backend::of_pool(pool) == crate::store::db::Backend::Postgres {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    q.push(") RETURNING id, kind, subject, payload, attempts, run_at");
    q.query_as().fetch_all(pool).await
}

/// Marks a job done, if `owner` still holds its lease. Returns whether it did.
pub async fn mark_done(pool: &AnyPool, id: &str, owner: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
    release(pool, id, owner, Release { state: "done", run_at: None, finished_at: Some(now), error: None }).await
}

/// Puts a failed job back to wait until `run_at`, if `owner` still holds its lease.
pub async fn mark_retry(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    run_at: Timestamp,
    error: &str,
) -> Result<bool, sqlx::Error> {
    release(pool, id, owner, Release { state: "queued", run_at: Some(run_at), finished_at: None, error: Some(error) })
        .await
}

/// Gives a job up for good, if `owner` still holds its lease.
pub async fn mark_failed(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    now: Timestamp,
    error: &str,
) -> Result<bool, sqlx::Error> {
    release(pool, id, owner, Release { state: "failed", run_at: None, finished_at: Some(now), error: Some(error) })
        .await
}

/// How a running job leaves its lease.
struct Release<'a> {
    state: &'static str,
    /// When it runs again (a retry); `None` keeps the time it had.
    run_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    error: Option<&'a str>,
}

/// Ends `owner`'s lease on a running job with `release`; false when the lease is no longer
/// theirs (it expired and another worker took the job), so a late outcome records nothing.
async fn release(pool: &AnyPool, id: &str, owner: &str, release: Release<'_>) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), finished_at = $3, last_error = $4, \
         lease_owner = NULL, lease_until = NULL \
         WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
    )
    .bind(release.state)
    .bind(release.run_at.map(Timestamp::as_micros))
    .bind(release.finished_at.map(Timestamp::as_micros))
    .bind(release.error)
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// When the next waiting job is due, or a running one's lease runs out.
pub async fn next_due(pool: &AnyPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(t) FROM (SELECT MIN(run_at) AS t FROM jobs WHERE state = 'queued' \
         UNION ALL SELECT MIN(lease_until) FROM jobs WHERE state = 'running') AS due",
    )
    .fetch_one(pool)
    .await
}

/// How many jobs are due by `now` or running (what a test waits out).
pub async fn outstanding(pool: &AnyPool, now: Timestamp) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_at <= $1)")
        .bind(now.as_micros())
        .fetch_one(pool)
        .await
}

/// Deletes jobs finished before `before`. Returns how many.
pub async fn purge_finished(pool: &AnyPool, before: Timestamp) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1")
        .bind(before.as_micros())
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// The most recent jobs, and separately every failed one still kept, newest first.
pub async fn recent(pool: &AnyPool, limit: i64) -> Result<(Vec<JobRow>, Vec<JobRow>), sqlx::Error> {
    const COLUMNS: &str =
        "SELECT id, kind, subject, state, run_at, attempts, last_error, created_at, started_at, finished_at FROM jobs";
    let recent =
        sqlx::query_as(&format!("{COLUMNS} ORDER BY created_at DESC, id LIMIT $1")).bind(limit).fetch_all(pool).await?;
    let failed = sqlx::query_as(&format!("{COLUMNS} WHERE state = 'failed' ORDER BY finished_at DESC LIMIT $1"))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok((recent, failed))
}
