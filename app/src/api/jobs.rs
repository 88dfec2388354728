//! Durable jobs, for owners and admins: the most recent jobs and every failed one still kept
//! (Settings › Jobs). Read-only: the worker retries by itself, and a failed job's follow-up is
//! picked up again by the recurring sweeps.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One job as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDto {
    pub id: String,
    /// `ceremony.advance`, `evidence.checkpoint`, …
    pub kind: String,
    /// What it is about (a document id), or empty.
    pub subject: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// UTC microseconds: when it is (or was) due.
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// The page's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsOverview {
    pub recent: Vec<JobDto>,
    pub failed: Vec<JobDto>,
}

#[server(prefix = "/api", endpoint = "jobs")]
pub async fn list_jobs() -> Result<JobsOverview, AppError> {
    crate::ssr::respond(list_inner().await)
}

#[cfg(feature = "ssr")]
async fn list_inner() -> Result<JobsOverview, AppError> {
    use crate::ssr::{context, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    if !viewer.role.can_administer() {
        return Err(AppError::Forbidden);
    }
    ctx.jobs.overview().await
}
