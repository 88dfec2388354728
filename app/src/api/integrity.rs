//! The instance's self-verification, for owners and admins (Settings › Integrity): every run of
//! the nightly job, what it checked (the log re-derived, captured changes, every stored file)
//! and what it found, newest first.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One check of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDto {
    /// `events`, `changes`, `nodes`, `checkpoints`, `files`, …
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

/// One run of the self-verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDto {
    pub id: i64,
    /// UTC microseconds.
    pub started_at: i64,
    pub finished_at: i64,
    pub ok: bool,
    pub log_events: i64,
    pub files_checked: i64,
    pub files_failed: i64,
    pub checks: Vec<CheckDto>,
}

/// The page's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityOverview {
    /// The schedule, as configured, with its time zone, e.g. `15 2 * * * (UTC)`.
    pub schedule: String,
    /// Each stored file is re-hashed at least once per this period ("7 days"), or "every run".
    pub rehash_period: String,
    pub runs: Vec<RunDto>,
}

#[server(prefix = "/api", endpoint = "integrity")]
pub async fn load_integrity() -> Result<IntegrityOverview, AppError> {
    crate::ssr::respond(overview_inner().await)
}

#[cfg(feature = "ssr")]
async fn overview_inner() -> Result<IntegrityOverview, AppError> {
    use crate::ssr::{context, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    if !viewer.role.can_administer() {
        return Err(AppError::Forbidden);
    }
    ctx.integrity.overview().await
}
