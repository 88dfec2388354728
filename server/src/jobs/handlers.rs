//! What each kind of job does: a thin step into the service that owns the work.

use super::{ClaimedJob, Handler, JobFailure};
use crate::documents::Documents;
use crate::evidence::EvidenceLog;
use attesta_core::jobs::JobKind;
use attesta_core::ports::Clock;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;

/// The services jobs reach.
pub struct Services {
    pub pool: AnyPool,
    pub clock: Arc<dyn Clock>,
    pub documents: Documents,
    pub evidence: EvidenceLog,
    /// The instance chain (session records revoke through it; purging records nothing).
    pub instance: crate::evidence::InstanceLog,
    pub session_store: crate::store::web_sessions::WebSessions,
    pub session_policy: attesta_core::sessions::SessionPolicy,
    /// How long finished jobs are kept (the admin page shows them meanwhile).
    pub keep_finished: Duration,
    /// How the self-verification spreads the re-hashing of files over its runs.
    pub rehash: crate::integrity::Rehash,
    /// The retention policy and its purges.
    pub retention: crate::retention::Retention,
    /// Clause scans, their sweep and the resolution of finished documents' flags.
    pub risk: crate::risk::Risk,
}

#[async_trait::async_trait]
impl Handler for Services {
    async fn run(&self, kind: JobKind, job: &ClaimedJob) -> Result<(), JobFailure> {
        match kind {
            JobKind::CeremonyAdvance => self.documents.advance(&job.subject).await.map_err(JobFailure::from),
            JobKind::DocumentComplete => self.documents.complete_now(&job.subject).await.map_err(JobFailure::from),
            JobKind::DocumentExpire => match self.documents.expire(&job.subject).await {
                // Finished before its deadline, or already expired: nothing to do.
                Ok(()) | Err(crate::documents::signing::SigningError::Refused(_)) => Ok(()),
                Err(e) => Err(JobFailure::from(e)),
            },
            JobKind::MailNotice => self.documents.send_notice(&job.subject, &job.payload).await,
            JobKind::Remind => self.documents.send_reminders(&job.subject).await.map_err(JobFailure::from),
            JobKind::ScheduledSend => self.documents.send_scheduled(&job.subject).await.map_err(JobFailure::from),
            JobKind::StallSweep => {
                let n = self.documents.stall_sweep().await.map_err(JobFailure::from)?;
                if n > 0 {
                    tracing::info!(recorded = n, "stalled documents");
                }
                Ok(())
            }
            JobKind::Checkpoint => {
                let c = self.evidence.checkpoint(self.clock.now().as_micros()).await?;
                tracing::debug!(tree_size = c.tree_size, "checkpoint");
                Ok(())
            }
            JobKind::SessionPurge => {
                use attesta_core::sessions::SessionRegistry as _;
                let registry = crate::store::sessions::SqlSessions::new(self.pool.clone(), self.instance.clone());
                let n = registry.purge(self.session_policy.idle_cutoff(self.clock.now())).await?;
                tracing::debug!(records = n, "purged ended sessions");
                Ok(())
            }
            JobKind::ExpiredSessions => {
                use tower_sessions::ExpiredDeletion as _;
                self.session_store.delete_expired().await?;
                Ok(())
            }
            JobKind::OrphanSweep => {
                let report = crate::blob::sweep::sweep(
                    &self.pool,
                    self.documents.blobs().as_ref(),
                    self.documents.spool_dir(),
                    self.clock.as_ref(),
                    crate::blob::sweep::GRACE,
                )
                .await?;
                tracing::debug!(?report, "swept orphan files");
                Ok(())
            }
            JobKind::CompletionSweep => {
                let n = self.documents.queue_pending_completions().await?;
                if n > 0 {
                    tracing::info!(documents = n, "queued pending completions");
                }
                // A safety net for deadlines whose `document.expire` job was lost or gave up.
                let n = self.documents.expire_due().await;
                if n > 0 {
                    tracing::info!(documents = n, "expired documents past their deadline");
                }
                Ok(())
            }
            JobKind::JobPurge => {
                let before = self.clock.now().saturating_sub(self.keep_finished);
                let n = super::store::purge_finished(&self.pool, before).await?;
                tracing::debug!(jobs = n, "purged finished jobs");
                Ok(())
            }
            JobKind::Retention => {
                let (run, _) = self
                    .retention
                    .run(crate::retention::Trigger::Schedule)
                    .await
                    .map_err(|e| JobFailure::Retry(format!("{e:#}")))?;
                tracing::info!(run = run.id, purged = %run.purged, "retention applied");
                Ok(())
            }
            JobKind::RiskScan => {
                self.risk.scan(&job.subject).await.map_err(|e| JobFailure::Retry(format!("risk scan: {e:#}")))?;
                Ok(())
            }
            JobKind::RiskSweep => {
                let (queued, resolved) =
                    self.risk.sweep().await.map_err(|e| JobFailure::Retry(format!("risk sweep: {e:#}")))?;
                if queued + resolved > 0 {
                    tracing::info!(queued, resolved, "risk sweep");
                }
                Ok(())
            }
            JobKind::RiskResolve => {
                self.risk
                    .resolve_finished(&job.subject)
                    .await
                    .map_err(|e| JobFailure::Retry(format!("resolving risk flags: {e:#}")))?;
                Ok(())
            }
            JobKind::SelfVerify => {
                let result = crate::integrity::run(
                    &self.pool,
                    &self.evidence,
                    &self.documents,
                    self.clock.as_ref(),
                    &self.rehash,
                )
                .await
                .map_err(|e| JobFailure::Retry(format!("self-verification: {e:#}")))?;
                if result.is_ok() {
                    tracing::info!(
                        events = result.log_events,
                        files = result.files_checked,
                        "self-verification passed"
                    );
                } else {
                    tracing::error!(failures = ?result.failures(), "self-verification FAILED");
                    // Recorded in the instance chain (the finding cannot be quietly removed),
                    // which announces it to owners' and admins' webhooks.
                    crate::integrity::record_failure(&self.instance, &result)
                        .await
                        .map_err(|e| JobFailure::Retry(format!("recording the failure: {e}")))?;
                    let sent = crate::integrity::alert(&self.pool, self.documents.mailer(), &result)
                        .await
                        .map_err(|e| JobFailure::Retry(format!("alerting: {e:#}")))?;
                    tracing::info!(mails = sent, "self-verification failure mailed to owners and admins");
                }
                Ok(())
            }
        }
    }
}
