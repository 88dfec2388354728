//! The trust dashboard (Settings › Trust, owners and admins; also `GET /api/v1/trust`) and the
//! legal holds of a document. Every figure is computed from the data when asked: the files the
//! last self-verification re-hashed, the log and its latest checkpoint, the seal certificate,
//! sessions and keys in use, the retention policy with its last and next run, and the holds.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The last self-verification, as the dashboard sums it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCheckDto {
    /// UTC microseconds.
    pub finished_at: i64,
    pub ok: bool,
    pub files_checked: i64,
    pub files_failed: i64,
    pub log_events: i64,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// One rule of the retention policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRuleDto {
    /// `personal_data`, `unsent_drafts`, …
    pub rule: String,
    pub label: String,
    /// 0: kept for ever.
    pub days: u32,
}

/// One retention run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRunDto {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: i64,
    /// `schedule` or `cli`.
    pub trigger: String,
    /// Per rule, how many records it purged.
    pub purged: Vec<(String, i64)>,
    /// Documents a legal hold kept out of it.
    pub held: i64,
    pub error: Option<String>,
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldDto {
    pub id: i64,
    pub document_id: String,
    /// The document's title (the dashboard's list), or empty.
    pub title: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: i64,
    pub released_by: Option<String>,
    pub released_at: Option<i64>,
    pub release_reason: Option<String>,
}

/// The dashboard's content. Every count is as of `generated_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustDashboard {
    pub generated_at: i64,
    /// The last self-verification, if one ran.
    pub self_check: Option<SelfCheckDto>,
    /// `jobs.self_verify` and the zone it is read in.
    pub self_check_schedule: String,
    /// The next self-verification, UTC microseconds (none when off).
    pub self_check_next: Option<i64>,
    /// Files stored now (originals, signed and sealed).
    pub files_stored: i64,
    /// Of those, how many were re-hashed within the rolling period and matched, and how many
    /// did not match at their latest check.
    pub files_verified: i64,
    pub files_failing: i64,
    /// `jobs.self_verify_rehash_period`, for people ("7 days"); "every run" when 0.
    pub rehash_period: String,
    /// Events in the log, and its latest checkpoint's size and time.
    pub log_size: i64,
    pub checkpoint_size: Option<i64>,
    pub checkpoint_at: Option<i64>,
    /// The public key checkpoints are signed with (`name+hash+key`).
    pub log_key: String,
    pub events_last_30_days: i64,
    /// Documents completed (each has its certificate of completion), and sealed.
    pub certificates_issued: i64,
    pub sealed_documents: i64,
    pub seal_subject: String,
    pub seal_certificate_sha256: String,
    /// When the seal certificate expires, UTC microseconds.
    pub seal_not_after: i64,
    /// The timestamp authority's URL, when one is configured.
    pub timestamp_authority: Option<String>,
    pub live_sessions: i64,
    pub live_sso_sessions: i64,
    pub api_keys_in_use: i64,
    pub retention_policy: Vec<RetentionRuleDto>,
    /// `jobs.retention` and the zone it is read in.
    pub retention_schedule: String,
    pub retention_next: Option<i64>,
    pub retention_last: Option<RetentionRunDto>,
    pub legal_holds: Vec<HoldDto>,
    /// Risk flags still asking for attention (open, acknowledged, escalated), by severity:
    /// `[("critical", n), ("high", n), ("medium", n), ("low", n)]`.
    pub risk_open: Vec<(String, i64)>,
}

/// The dashboard (owners and admins).
#[server(prefix = "/api", endpoint = "trust", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_trust() -> Result<TrustDashboard, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let viewer = crate::ssr::session::require_user(&ctx).await?;
            if !viewer.role.can_administer() {
                return Err(AppError::Forbidden);
            }
            ctx.trust_dashboard.dashboard().await
        }
        .await,
    )
}

/// A document's legal holds, newest first (whoever may see the document).
#[server(prefix = "/api", endpoint = "documents/holds", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_holds(id: String) -> Result<Vec<HoldDto>, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            ctx.documents.holds(&user, &id).await
        }
        .await,
    )
}

/// Places a legal hold on a document (owners and admins), with a reason.
#[server(prefix = "/api", endpoint = "documents/hold")]
pub async fn place_hold(id: String, reason: String) -> Result<HoldDto, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let meta = crate::ssr::request_meta().await;
            ctx.documents.change_hold(&user, &id, &reason, true, meta).await
        }
        .await,
    )
}

/// Releases a document's legal hold (owners and admins), with a reason.
#[server(prefix = "/api", endpoint = "documents/release-hold")]
pub async fn release_hold(id: String, reason: String) -> Result<HoldDto, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let meta = crate::ssr::request_meta().await;
            ctx.documents.change_hold(&user, &id, &reason, false, meta).await
        }
        .await,
    )
}
