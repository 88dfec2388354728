//! The retention run (recurring job `retention.run`, daily at 02:00 in `jobs.time_zone` by
//! default; `attesta retention plan` and `attesta retention run`): finds what the policy
//! (`[retention]`, rules in `attesta_core::retention`) lets go and purges it in bounded
//! transactions, nothing on legal hold, each chain's purge with its evidence event
//! (`crate::documents::purge`). Every run is reported in `retention_runs`.
//!
//! What a party already holds keeps verifying: packages carry the personal data they were
//! exported with, and a package exported afterwards verifies without it (docs/EVIDENCE.md §5).

use crate::documents::Documents;
use crate::documents::purge::Purged;
use attesta_core::Timestamp;
use attesta_core::documents::DocumentStatus;
use attesta_core::ports::Clock;
use attesta_core::retention::{self, Policy, Rule};
use serde::Serialize;
use sqlx::AnyPool;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The retention service. Cheap to clone.
#[derive(Clone)]
pub struct Retention {
    pub pool: AnyPool,
    pub documents: Documents,
    pub clock: Arc<dyn Clock>,
    pub policy: Policy,
    /// Records per transaction (chains per page for personal data).
    pub batch: u32,
    /// `jobs.retention` and `jobs.time_zone`, shown with the policy.
    pub schedule: attesta_core::jobs::Schedule,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Cli,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Cli => "cli",
        }
    }
}

/// What a run would purge, or did: per rule, how many records; and how many documents a hold
/// kept out of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub purged: BTreeMap<&'static str, u64>,
    /// Chains (documents) whose personal data is due, counted apart from the records.
    pub chains: u64,
    pub held: u64,
}

impl Counts {
    fn add(&mut self, rule: Rule, n: u64) {
        *self.purged.entry(rule.as_str()).or_default() += n;
    }

    pub fn total(&self) -> u64 {
        self.purged.values().sum()
    }
}

/// One stored run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRun {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub trigger: String,
    pub policy: String,
    pub purged: String,
    pub held: i64,
    pub error: Option<String>,
}

impl Retention {
    pub fn new(
        pool: AnyPool,
        documents: Documents,
        clock: Arc<dyn Clock>,
        config: &crate::config::Config,
    ) -> anyhow::Result<Self> {
        let zone = attesta_core::jobs::parse_time_zone(&config.jobs.time_zone)?;
        Ok(Self {
            pool,
            documents,
            clock,
            policy: config.retention.policy(),
            batch: config.retention.batch.max(1),
            schedule: attesta_core::jobs::Schedule::parse_in(&config.jobs.retention, zone)?,
        })
    }

    /// What a run now would purge (nothing is changed).
    pub async fn plan(&self) -> anyhow::Result<Counts> {
        let now = self.clock.now();
        let held = held_documents(&self.pool).await?;
        let mut counts = Counts::default();
        for rule in Rule::ALL {
            counts.add(rule, 0);
        }
        if let Some(cutoff) = self.policy.cutoff(Rule::PersonalData, now) {
            for (chain, n) in personal_due(&self.pool, cutoff, None, i64::MAX).await? {
                if retention::personal_data_purgeable(held.contains(&chain)) {
                    counts.add(Rule::PersonalData, n);
                    counts.chains += 1;
                } else {
                    counts.held += 1;
                }
            }
        }
        for rule in [Rule::UnsentDrafts, Rule::DocumentFiles] {
            if let Some(cutoff) = self.policy.cutoff(rule, now) {
                self.purge_documents(rule, cutoff, &held, &mut counts, false).await?;
            }
        }
        if let Some(cutoff) = self.policy.cutoff(Rule::WebhookMessages, now) {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM webhook_messages WHERE next_attempt_at IS NULL AND created_at < $1",
            )
            .bind(cutoff.as_micros())
            .fetch_one(&self.pool)
            .await?;
            counts.add(Rule::WebhookMessages, u64::try_from(n).unwrap_or(0));
        }
        if let Some(cutoff) = self.policy.cutoff(Rule::Idempotency, now) {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_idempotency WHERE created_at < $1")
                .bind(cutoff.as_micros())
                .fetch_one(&self.pool)
                .await?;
            counts.add(Rule::Idempotency, u64::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }

    /// Applies the policy now and stores the run's report (also when it stopped on an error,
    /// which it then returns).
    pub async fn run(&self, trigger: Trigger) -> anyhow::Result<(StoredRun, Counts)> {
        let started_at = self.clock.now();
        let mut counts = Counts::default();
        for rule in Rule::ALL {
            counts.add(rule, 0);
        }
        let outcome = self.apply(started_at, &mut counts).await;
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        let run = self.store(started_at, trigger, &counts, error.as_deref()).await?;
        metrics::gauge!("attesta_retention_last_run_seconds").set(run.finished_at as f64 / 1e6);
        metrics::gauge!("attesta_retention_last_run_purged").set(counts.total() as f64);
        match outcome {
            Ok(()) => {
                tracing::info!(purged = ?counts.purged, held = counts.held, "retention run finished");
                Ok((run, counts))
            }
            Err(e) => Err(e.context("the retention run stopped (what it purged before is recorded)")),
        }
    }

    async fn apply(&self, now: Timestamp, counts: &mut Counts) -> anyhow::Result<()> {
        let batch = i64::from(self.batch);
        let held = held_documents(&self.pool).await?;
        if let Some(cutoff) = self.policy.cutoff(Rule::PersonalData, now) {
            let policy = self.policy.reference(Rule::PersonalData);
            let mut after: Option<String> = None;
            loop {
                let page = personal_due(&self.pool, cutoff, after.as_deref(), batch).await?;
                let Some((last, _)) = page.last() else { break };
                after = Some(last.clone());
                for (chain, _) in page {
                    if !retention::personal_data_purgeable(held.contains(&chain)) {
                        counts.held += 1;
                        continue;
                    }
                    counts.chains += 1;
                    // A chain with more records than a batch goes in several transactions,
                    // each stating the moment before which nothing personal is left.
                    loop {
                        let (before, n) = self.slice(&chain, cutoff).await?;
                        if n == 0 {
                            break;
                        }
                        match self.documents.purge_personal_data(&chain, before.as_micros(), n, policy.clone()).await? {
                            Purged::Done(n) => counts.add(Rule::PersonalData, n),
                            Purged::Held => {
                                counts.held += 1;
                                break;
                            }
                            Purged::Nothing => break,
                        }
                        if before >= cutoff {
                            break;
                        }
                    }
                }
            }
        }
        // Drafts nobody sent, and finished documents' files: one document per transaction, its
        // rows and its event; the stored objects after the commit.
        for rule in [Rule::UnsentDrafts, Rule::DocumentFiles] {
            if let Some(cutoff) = self.policy.cutoff(rule, now) {
                self.purge_documents(rule, cutoff, &held, counts, true).await?;
            }
        }
        if let Some(cutoff) = self.policy.cutoff(Rule::WebhookMessages, now) {
            // Attempts go with their message (ON DELETE CASCADE).
            let n = delete_in_batches(
                &self.pool,
                "DELETE FROM webhook_messages WHERE id IN (SELECT id FROM webhook_messages \
                 WHERE next_attempt_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2)",
                cutoff,
                batch,
            )
            .await?;
            counts.add(Rule::WebhookMessages, n);
        }
        if let Some(cutoff) = self.policy.cutoff(Rule::Idempotency, now) {
            let n = delete_in_batches(
                &self.pool,
                "DELETE FROM api_idempotency WHERE (api_key_id, idempotency_key) IN \
                 (SELECT api_key_id, idempotency_key FROM api_idempotency WHERE created_at < $1 \
                 ORDER BY created_at LIMIT $2)",
                cutoff,
                batch,
            )
            .await?;
            counts.add(Rule::Idempotency, n);
        }
        Ok(())
    }

    /// Goes through the documents `rule` (unsent drafts, or finished documents' files) may
    /// purge, a page at a time: counts each one the core says may go, and when `purge`, purges
    /// it (its own transaction and event; the transaction re-checks the hold).
    async fn purge_documents(
        &self,
        rule: Rule,
        cutoff: Timestamp,
        held: &HashSet<String>,
        counts: &mut Counts,
        purge: bool,
    ) -> anyhow::Result<()> {
        let policy = self.policy.reference(rule);
        let batch = i64::from(self.batch);
        let mut after: Option<String> = None;
        loop {
            let page = match rule {
                Rule::UnsentDrafts => drafts_due(&self.pool, cutoff, after.as_deref(), batch).await?,
                _ => finished_due(&self.pool, cutoff, after.as_deref(), batch).await?,
            };
            let Some((last, _, _)) = page.last() else { break };
            after = Some(last.clone());
            for (id, status, at) in page {
                let is_held = held.contains(&id);
                let at = Timestamp::from_micros(at);
                let purgeable = match rule {
                    Rule::UnsentDrafts => retention::draft_purgeable(status, at, is_held, cutoff),
                    _ => retention::files_purgeable(status, Some(at), false, is_held, cutoff),
                };
                if !purgeable {
                    counts.held += u64::from(is_held);
                    continue;
                }
                if !purge {
                    counts.add(rule, 1);
                    continue;
                }
                let purged = match rule {
                    Rule::UnsentDrafts => self.documents.purge_draft(&id, policy.clone()).await?,
                    _ => self.documents.purge_files(&id, policy.clone()).await?,
                };
                match purged {
                    Purged::Done(n) => counts.add(rule, n),
                    Purged::Held => counts.held += 1,
                    Purged::Nothing => {}
                }
            }
        }
        Ok(())
    }

    /// The next slice of a chain's personal data to purge: at most a batch of records, all
    /// older than the returned moment (the cutoff, or the time of the first record past the
    /// batch), and how many there are.
    async fn slice(&self, chain: &str, cutoff: Timestamp) -> anyhow::Result<(Timestamp, u64)> {
        let beyond: Option<i64> = sqlx::query_scalar(
            "SELECT e.occurred_at FROM audit_events e JOIN audit_personal p ON p.log_index = e.log_index \
             WHERE e.document_id = $1 AND e.occurred_at < $2 ORDER BY e.occurred_at LIMIT 1 OFFSET $3",
        )
        .bind(chain)
        .bind(cutoff.as_micros())
        .bind(i64::from(self.batch))
        .fetch_optional(&self.pool)
        .await?;
        // Records sharing the boundary's time stay together: when a whole batch has one time,
        // the slice grows to the cutoff rather than stalling.
        let mut before = beyond.map_or(cutoff, Timestamp::from_micros);
        let mut n = count_personal(&self.pool, chain, before).await?;
        if n == 0 && before < cutoff {
            before = cutoff;
            n = count_personal(&self.pool, chain, before).await?;
        }
        Ok((before, n))
    }

    async fn store(
        &self,
        started_at: Timestamp,
        trigger: Trigger,
        counts: &Counts,
        error: Option<&str>,
    ) -> anyhow::Result<StoredRun> {
        let policy: BTreeMap<&str, u32> =
            Rule::ALL.iter().map(|r| (r.as_str(), self.policy.window(*r).days().unwrap_or(0))).collect();
        let finished_at = self.clock.now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO retention_runs (started_at, finished_at, trigger, policy, purged, held, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(started_at.as_micros())
        .bind(finished_at.as_micros())
        .bind(trigger.as_str())
        .bind(serde_json::to_string(&policy)?)
        .bind(serde_json::to_string(&counts.purged)?)
        .bind(i64::try_from(counts.held).unwrap_or(i64::MAX))
        .bind(error)
        .fetch_one(&self.pool)
        .await?;
        Ok(StoredRun {
            id,
            started_at: started_at.as_micros(),
            finished_at: finished_at.as_micros(),
            trigger: trigger.as_str().to_owned(),
            policy: serde_json::to_string(&policy)?,
            purged: serde_json::to_string(&counts.purged)?,
            held: i64::try_from(counts.held).unwrap_or(i64::MAX),
            error: error.map(str::to_owned),
        })
    }
}

/// The most recent runs, newest first.
pub async fn recent_runs(pool: &AnyPool, limit: i64) -> Result<Vec<StoredRun>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, started_at, finished_at, trigger, policy, purged, held, error FROM retention_runs \
         ORDER BY started_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The documents on legal hold now.
async fn held_documents(pool: &AnyPool) -> Result<HashSet<String>, sqlx::Error> {
    Ok(crate::documents::holds::active_holds(pool).await?.into_iter().map(|h| h.document_id).collect())
}

/// Chains with personal data recorded before `cutoff`, in id order after `after`: each with
/// how many records.
async fn personal_due(
    pool: &AnyPool,
    cutoff: Timestamp,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, u64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT e.document_id, COUNT(*) FROM audit_events e JOIN audit_personal p ON p.log_index = e.log_index \
         WHERE e.occurred_at < $1 AND e.document_id > $2 GROUP BY e.document_id ORDER BY e.document_id LIMIT $3",
    )
    .bind(cutoff.as_micros())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))).collect())
}

async fn count_personal(pool: &AnyPool, chain: &str, before: Timestamp) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events e JOIN audit_personal p ON p.log_index = e.log_index \
         WHERE e.document_id = $1 AND e.occurred_at < $2",
    )
    .bind(chain)
    .bind(before.as_micros())
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Documents uploaded before `cutoff` that are still drafts (the status to look for is the
/// core's; whether each goes is decided by `retention::draft_purgeable`), in id order.
async fn drafts_due(
    pool: &AnyPool,
    cutoff: Timestamp,
    after: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<(String, DocumentStatus, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, status, created_at FROM documents WHERE status = $1 AND created_at < $2 AND id > $3 \
         ORDER BY id LIMIT $4",
    )
    .bind(DocumentStatus::Draft.as_str())
    .bind(cutoff.as_micros())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    with_statuses(rows)
}

/// Candidate rows (id, status as stored, a time) with their status read.
fn with_statuses(rows: Vec<(String, String, i64)>) -> anyhow::Result<Vec<(String, DocumentStatus, i64)>> {
    rows.into_iter()
        .map(|(id, status, at)| {
            let status =
                DocumentStatus::parse(&status).ok_or_else(|| anyhow::anyhow!("document {id}: status {status}"))?;
            Ok((id, status, at))
        })
        .collect()
}

/// Documents that finished before `cutoff` with their files still kept, after `after` by id.
/// Which of them may lose their files is the core's to say ([`retention::files_purgeable`]).
async fn finished_due(
    pool: &AnyPool,
    cutoff: Timestamp,
    after: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<(String, DocumentStatus, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, status, finished_at FROM documents WHERE files_purged_at IS NULL AND finished_at IS NOT NULL \
         AND finished_at < $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(cutoff.as_micros())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    with_statuses(rows)
}

/// Runs `sql` (`$1` the cutoff, `$2` the batch) until it deletes less than a batch.
async fn delete_in_batches(pool: &AnyPool, sql: &str, cutoff: Timestamp, batch: i64) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let done = sqlx::query(sql).bind(cutoff.as_micros()).bind(batch).execute(pool).await?;
        total += done.rows_affected();
        if i64::try_from(done.rows_affected()).unwrap_or(i64::MAX) < batch {
            return Ok(total);
        }
    }
}
