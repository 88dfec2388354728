//! The trust dashboard's figures (Settings › Trust, `GET /api/v1/trust`, and gauges on
//! `/metrics`), each computed from the data when asked: nothing here is a stored summary that
//! could drift from what it sums up.

use crate::evidence::EvidenceLog;
use crate::retention::Retention;
use attesta_app::api::trust::{RetentionRuleDto, RetentionRunDto, SelfCheckDto, TrustDashboard};
use attesta_app::error::AppError;
use attesta_core::evidence::EventType;
use attesta_core::jobs::Schedule;
use attesta_core::ports::Clock;
use attesta_core::retention::Rule;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;

/// What the dashboard reads. Cheap to clone.
#[derive(Clone)]
pub struct Trust {
    pub pool: AnyPool,
    pub evidence: EvidenceLog,
    pub sealer: crate::seal::Sealer,
    pub retention: Retention,
    /// `jobs.self_verify` in `jobs.time_zone`.
    pub self_verify: Schedule,
    /// `jobs.self_verify_rehash_period`.
    pub rehash_period: Duration,
    pub session_policy: attesta_core::sessions::SessionPolicy,
    pub clock: Arc<dyn Clock>,
}

const THIRTY_DAYS: Duration = Duration::from_secs(30 * 24 * 3600);

fn count(n: i64) -> i64 {
    n.max(0)
}

impl Trust {
    /// Every figure, now.
    pub async fn dashboard(&self) -> anyhow::Result<TrustDashboard> {
        let now = self.clock.now();
        let pool = &self.pool;
        let last: Option<(i64, i64, crate::store::db::Flag, i64, i64, i64)> = sqlx::query_as(
            "SELECT started_at, finished_at, ok, log_events, files_checked, files_failed FROM self_verifications \
             ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(pool)
        .await?;
        let self_check = last.map(|(started, finished, ok, events, checked, failed)| SelfCheckDto {
            finished_at: finished,
            ok: ok.0,
            files_checked: checked,
            files_failed: failed,
            log_events: events,
            duration_ms: (finished - started) / 1000,
        });
        let files_stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(blob_key) + COUNT(signed_blob_key) + COUNT(sealed_blob_key) FROM documents",
        )
        .fetch_one(pool)
        .await?;
        // A stored file counts as verified when its latest re-hash matched within the period.
        let keys = "SELECT blob_key FROM documents WHERE blob_key IS NOT NULL \
             UNION SELECT signed_blob_key FROM documents WHERE signed_blob_key IS NOT NULL \
             UNION SELECT sealed_blob_key FROM documents WHERE sealed_blob_key IS NOT NULL";
        let since = if self.rehash_period.is_zero() {
            self.self_check_start(pool).await?
        } else {
            now.saturating_sub(self.rehash_period).as_micros()
        };
        let (files_verified, files_failing): (i64, i64) = sqlx::query_as(&format!(
            "SELECT COALESCE(SUM(CASE WHEN ok = 1 AND checked_at >= $1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN ok = 0 THEN 1 ELSE 0 END), 0) FROM file_checks WHERE blob_key IN ({keys})"
        ))
        .bind(since)
        .fetch_one(pool)
        .await?;
        let log_size: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(log_index) + 1, 0) FROM audit_events").fetch_one(pool).await?;
        let checkpoint = self.evidence.latest_checkpoint().await?;
        let events_last_30_days: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE occurred_at >= $1")
            .bind(now.saturating_sub(THIRTY_DAYS).as_micros())
            .fetch_one(pool)
            .await?;
        let certificates_issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event_type = $1")
            .bind(EventType::DocumentCompleted.as_str())
            .fetch_one(pool)
            .await?;
        let sealed_documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event_type = $1")
            .bind(EventType::DocumentSealed.as_str())
            .fetch_one(pool)
            .await?;
        let cutoff = self.session_policy.idle_cutoff(now).as_micros();
        let (live_sessions, live_sso_sessions): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM sso_identities i WHERE i.user_id = s.user_id) \
             THEN s.handle END) FROM user_sessions s WHERE s.revoked_at IS NULL AND s.last_seen_at >= $1",
        )
        .bind(cutoff)
        .fetch_one(pool)
        .await?;
        let api_keys_in_use: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetch_one(pool).await?;
        let policy = self.retention.policy;
        let retention_last = crate::retention::recent_runs(pool, 1).await?.into_iter().next().map(|r| {
            let purged: std::collections::BTreeMap<String, i64> = serde_json::from_str(&r.purged).unwrap_or_default();
            RetentionRunDto {
                id: r.id,
                started_at: r.started_at,
                finished_at: r.finished_at,
                trigger: r.trigger,
                purged: purged.into_iter().collect(),
                held: r.held,
                error: r.error,
            }
        });
        let legal_holds =
            crate::documents::holds::active_holds(pool).await?.iter().map(crate::documents::holds::dto).collect();
        // Live flags by severity; which statuses are live is the core's rule.
        let flags: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT severity, status, COUNT(*) FROM document_risk_flags GROUP BY severity, status")
                .fetch_all(pool)
                .await?;
        let risk_open = ["critical", "high", "medium", "low"]
            .into_iter()
            .map(|severity| {
                let n = flags
                    .iter()
                    .filter(|(s, status, _)| {
                        s == severity
                            && attesta_core::risk::review::FlagStatus::parse(status).is_some_and(|st| st.is_live())
                    })
                    .map(|(_, _, n)| *n)
                    .sum();
                (severity.to_owned(), n)
            })
            .collect();
        let described = |s: &Schedule| {
            if s.is_off() { "off".to_owned() } else { format!("{} ({})", s.pattern(), s.zone()) }
        };
        Ok(TrustDashboard {
            generated_at: now.as_micros(),
            self_check,
            self_check_schedule: described(&self.self_verify),
            self_check_next: self.self_verify.next_after(now).map(|t| t.as_micros()),
            files_stored: count(files_stored),
            files_verified: count(files_verified),
            files_failing: count(files_failing),
            rehash_period: if self.rehash_period.is_zero() {
                "every run".to_owned()
            } else {
                crate::integrity::describe_period(self.rehash_period)
            },
            log_size: count(log_size),
            checkpoint_size: checkpoint.as_ref().map(|c| i64::try_from(c.tree_size).unwrap_or(i64::MAX)),
            checkpoint_at: checkpoint.as_ref().map(|c| c.created_at),
            log_key: self.evidence.signer().verifier_key().to_string(),
            events_last_30_days: count(events_last_30_days),
            certificates_issued: count(certificates_issued),
            sealed_documents: count(sealed_documents),
            seal_subject: self.sealer.subject(),
            seal_certificate_sha256: self.sealer.certificate_sha256().to_hex(),
            seal_not_after: self.sealer.not_after().as_micros(),
            timestamp_authority: self.sealer.tsa_url(),
            live_sessions: count(live_sessions),
            live_sso_sessions: count(live_sso_sessions),
            api_keys_in_use: count(api_keys_in_use),
            retention_policy: Rule::ALL
                .iter()
                .map(|r| RetentionRuleDto {
                    rule: r.as_str().to_owned(),
                    label: r.label().to_owned(),
                    days: policy.window(*r).days().unwrap_or(0),
                })
                .collect(),
            retention_schedule: described(&self.retention.schedule),
            retention_next: self.retention.schedule.next_after(now).map(|t| t.as_micros()),
            retention_last,
            legal_holds,
            risk_open,
        })
    }

    /// When the latest self-verification started (0 before the first): with no rolling period,
    /// a file is verified when that run re-hashed it.
    async fn self_check_start(&self, pool: &AnyPool) -> Result<i64, sqlx::Error> {
        let started: Option<i64> =
            sqlx::query_scalar("SELECT started_at FROM self_verifications ORDER BY started_at DESC, id DESC LIMIT 1")
                .fetch_optional(pool)
                .await?;
        Ok(started.unwrap_or(0))
    }

    /// The dashboard as Prometheus gauges (refreshed on every scrape).
    pub async fn record_gauges(&self) {
        let d = match self.dashboard().await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "the trust figures could not be computed for /metrics");
                return;
            }
        };
        let g = |name: &'static str, v: i64| metrics::gauge!(name).set(v as f64);
        g("attesta_log_events", d.log_size);
        g("attesta_log_checkpoint_size", d.checkpoint_size.unwrap_or(0));
        g("attesta_log_checkpoint_age_seconds", d.checkpoint_at.map_or(0, |at| (d.generated_at - at) / 1_000_000));
        g("attesta_audit_events_last_30_days", d.events_last_30_days);
        g("attesta_certificates_issued", d.certificates_issued);
        g("attesta_sealed_documents", d.sealed_documents);
        g("attesta_files_stored", d.files_stored);
        g("attesta_files_verified", d.files_verified);
        g("attesta_files_failing", d.files_failing);
        g("attesta_seal_certificate_expiry_seconds", d.seal_not_after / 1_000_000);
        g("attesta_live_sessions", d.live_sessions);
        g("attesta_live_sso_sessions", d.live_sso_sessions);
        g("attesta_api_keys_in_use", d.api_keys_in_use);
        g("attesta_legal_holds", i64::try_from(d.legal_holds.len()).unwrap_or(i64::MAX));
        for (severity, n) in &d.risk_open {
            metrics::gauge!("attesta_risk_flags_open", "severity" => severity.clone()).set(*n as f64);
        }
    }
}

#[async_trait::async_trait]
impl attesta_app::ssr::trust::TrustPort for Trust {
    async fn dashboard(&self) -> Result<TrustDashboard, AppError> {
        Trust::dashboard(self).await.map_err(|e| attesta_app::ssr::internal(format!("{e:#}")))
    }
}
