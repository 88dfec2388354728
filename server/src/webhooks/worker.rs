//! The delivery worker: one per server process, started with the server.
//!
//! Each round it first turns newly committed audit events into messages ([`super::dispatch`]),
//! then leases due messages and posts them. A lease is a row update (`lease_owner`,
//! `lease_until`) made in one statement, so of several processes only one takes a message; it
//! expires after the request's time limit plus a margin, so a process that died mid-attempt
//! leaves the message to the others. The result of an attempt is written only by the process
//! that still holds the lease.
//!
//! It wakes when the evidence log commits (a `Notify` from the sequencer) or a message is queued
//! here, when the next retry is due, and at least every second (appends by other processes).

use super::client::Outcome;
use super::{Webhooks, micros};
use attesta_core::entropy::EntropyExt as _;
use attesta_core::webhooks::signature::signature_header;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Messages leased per round.
const LEASE_BATCH: i64 = 16;
/// The longest the worker sleeps without looking (other processes' appends, expired leases).
const POLL: Duration = Duration::from_secs(1);
/// After a database error, wait this long before the next round.
const BACKOFF: Duration = Duration::from_secs(5);

/// Runs until the task is aborted.
pub async fn run(webhooks: Webhooks, commits: Arc<Notify>) {
    let owner = super::random_id(&*webhooks.inner.ports.entropy, "worker");
    loop {
        let wait = match round(&webhooks, &owner).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery round failed");
                BACKOFF
            }
        };
        tokio::select! {
            () = commits.notified() => {}
            () = webhooks.inner.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round: dispatch everything new, deliver everything due; how long until the next is due.
async fn round(webhooks: &Webhooks, owner: &str) -> anyhow::Result<Duration> {
    while super::dispatch::pass(webhooks.pool(), &webhooks.inner.ports).await? > 0 {}
    loop {
        let leased = lease(webhooks, owner).await?;
        if leased.is_empty() {
            break;
        }
        let deliveries = leased.into_iter().map(|m| deliver(webhooks, owner, m));
        for result in futures_util::future::join_all(deliveries).await {
            if let Err(e) = result {
                tracing::error!(error = %e, "recording a webhook attempt failed");
            }
        }
    }
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(m.next_attempt_at) FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id \
         WHERE m.status = 'pending' AND e.enabled = 1",
    )
    .fetch_one(webhooks.pool())
    .await?;
    let until_next = next.map_or(POLL, |at| Duration::from_micros(u64::try_from(at - webhooks.now()).unwrap_or(0)));
    Ok(until_next.min(POLL))
}

struct Leased {
    id: String,
    endpoint_id: String,
    url: String,
    payload: String,
    attempts: i64,
}

/// Takes up to [`LEASE_BATCH`] due messages of enabled endpoints whose lease is free or expired.
async fn lease(webhooks: &Webhooks, owner: &str) -> anyhow::Result<Vec<Leased>> {
    let at = webhooks.now();
    let lease = webhooks.settings().timeout + Duration::from_secs(30);
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "UPDATE webhook_messages SET lease_owner = $1, lease_until = $2 \
         WHERE id IN (SELECT m.id FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id \
                      WHERE m.status = 'pending' AND m.next_attempt_at <= $3 AND e.enabled = 1 \
                        AND (m.lease_until IS NULL OR m.lease_until < $3) \
                      ORDER BY m.next_attempt_at LIMIT $4) \
         RETURNING id, endpoint_id, payload, attempts",
    )
    .bind(owner)
    .bind(at + micros(lease))
    .bind(at)
    .bind(LEASE_BATCH)
    .fetch_all(webhooks.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, endpoint_id, payload, attempts) in rows {
        let url: String = sqlx::query_scalar("SELECT url FROM webhook_endpoints WHERE id = $1")
            .bind(&endpoint_id)
            .fetch_one(webhooks.pool())
            .await?;
        out.push(Leased { id, endpoint_id, url, payload, attempts });
    }
    Ok(out)
}

/// Signs (at the moment of sending, with every live secret) and posts one message, then
/// records the attempt and its consequence.
async fn deliver(webhooks: &Webhooks, owner: &str, m: Leased) -> anyhow::Result<()> {
    let at = webhooks.now();
    let timestamp = at.div_euclid(1_000_000);
    let secrets = webhooks.signing_secrets(&m.endpoint_id, at).await?;
    let signature = signature_header(&secrets, &m.id, timestamp, m.payload.as_bytes());
    let outcome = webhooks.inner.client.post(&m.url, &m.id, timestamp, &signature, m.payload).await;
    record(webhooks, owner, &m.id, m.attempts, at, &outcome).await
}

async fn record(
    webhooks: &Webhooks,
    owner: &str,
    id: &str,
    attempts_before: i64,
    at: i64,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let attempts = attempts_before + 1;
    let (status, next) = if outcome.delivered() {
        ("delivered", None)
    } else {
        let jitter = webhooks.inner.ports.entropy.unit_f64();
        match webhooks.settings().schedule.next_pause(u32::try_from(attempts).unwrap_or(u32::MAX), jitter) {
            Some(pause) => ("pending", Some(webhooks.now() + micros(pause))),
            None => ("failed", None),
        }
    };
    if let Some(e) = &outcome.error {
        tracing::info!(message_id = id, error = %e, attempts, "webhook attempt failed");
    }
    // Two single statements, no transaction held across an await: the attempt first (only
    // while this process still holds the lease), then the message. A crash in between leaves the
    // attempt logged and the message leased until the lease expires, then tried again.
    let logged = sqlx::query(
        "INSERT INTO webhook_attempts (message_id, attempted_at, status_code, duration_ms, error, response_head) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
           (SELECT 1 FROM webhook_messages WHERE id = $1 AND lease_owner = $7)",
    )
    .bind(id)
    .bind(at)
    .bind(outcome.status.map(i64::from))
    .bind(i64::try_from(outcome.duration.as_millis()).unwrap_or(i64::MAX))
    .bind(outcome.error.as_deref())
    .bind(outcome.head.as_deref())
    .bind(owner)
    .execute(webhooks.pool())
    .await?;
    if logged.rows_affected() == 0 {
        // The lease expired and another process took the message over: its record counts.
        tracing::warn!(message_id = id, "webhook lease lost before the attempt was recorded");
        return Ok(());
    }
    sqlx::query(
        "UPDATE webhook_messages SET attempts = $1, status = $2, next_attempt_at = $3, last_status_code = $4, \
         lease_owner = NULL, lease_until = NULL WHERE id = $5 AND lease_owner = $6",
    )
    .bind(attempts)
    .bind(status)
    .bind(next)
    .bind(outcome.status.map(i64::from))
    .bind(id)
    .bind(owner)
    .execute(webhooks.pool())
    .await?;
    Ok(())
}
