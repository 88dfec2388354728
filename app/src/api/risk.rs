//! Clause risk, for the Risk page (owners and admins: open flags across documents, filtered, with
//! counts by severity) and the document page (its flags and missing clauses, for whoever may see
//! it, the sender too), and the review of a flag (acknowledge, dismiss with a reason, escalate to
//! a named user). Thin: the server's risk service decides with the core's rules
//! (`attesta_core::risk::review`), the same one `/api/v1/risk/flags` calls.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One stored flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagDto {
    pub id: String,
    pub document_id: String,
    pub document_title: String,
    pub owner_id: i64,
    pub owner_name: String,
    /// CUAD's category name where one fits (`Cap On Liability`), else ours.
    pub category: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The clause as extracted.
    pub clause: String,
    /// 1-based page, when known.
    pub page: Option<i64>,
    /// Character span in the extracted text.
    pub start: i64,
    pub end: i64,
    pub explanation: String,
    pub engine_version: String,
    /// `open`, `acknowledged`, `dismissed`, `escalated` or `resolved`.
    pub status: String,
    pub review_reason: Option<String>,
    /// UTC microseconds of the last review.
    pub reviewed_at: Option<i64>,
    /// `document.completed` or `document.expired` once resolved.
    pub resolved_reason: Option<String>,
    pub created_at: i64,
}

/// Open flags of one severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCount {
    pub severity: String,
    pub count: i64,
}

/// The Risk page's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskOverview {
    pub flags: Vec<FlagDto>,
    /// Open flags by severity, critical first, every severity present.
    pub counts: Vec<SeverityCount>,
    /// The categories to filter by.
    pub categories: Vec<String>,
}

/// A clause the document's kind of contract should have but lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingDto {
    pub clause: String,
    pub severity: String,
    pub why: String,
}

/// A document's risk, for its page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRiskDto {
    /// `None` until scanned; then `analysed`, `no_text` (no text layer: nothing to analyse) or
    /// `unreadable`.
    pub state: Option<String>,
    pub contract_type: Option<String>,
    pub engine_version: Option<String>,
    pub missing: Vec<MissingDto>,
    pub flags: Vec<FlagDto>,
    /// Whether the viewer may review these flags (owners and admins).
    pub may_review: bool,
}

/// The flags across documents, filtered (empty strings: any).
#[server(prefix = "/api", endpoint = "risk_flags", input = leptos::server_fn::codec::Json)]
pub async fn load_risk(
    severity: String,
    category: String,
    status: String,
    owner: String,
) -> Result<RiskOverview, AppError> {
    crate::ssr::respond(load_inner(severity, category, status, owner).await)
}

#[cfg(feature = "ssr")]
async fn load_inner(
    severity: String,
    category: String,
    status: String,
    owner: String,
) -> Result<RiskOverview, AppError> {
    use crate::ssr::{context, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    let filter = crate::ssr::risk::RiskFilter::parse(&severity, &category, &status, &owner)?;
    ctx.risk.overview(&viewer, filter).await
}

/// A document's flags and missing clauses.
#[server(prefix = "/api", endpoint = "document_risk", input = leptos::server_fn::codec::Json)]
pub async fn load_document_risk(id: String) -> Result<DocumentRiskDto, AppError> {
    crate::ssr::respond(document_inner(id).await)
}

#[cfg(feature = "ssr")]
async fn document_inner(id: String) -> Result<DocumentRiskDto, AppError> {
    use crate::ssr::{context, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    ctx.risk.document(&viewer, &id).await
}

/// One review of a flag: `action` is `acknowledge`, `dismiss` (with `reason`) or `escalate`
/// (to the user whose email is `escalate_to`).
#[server(prefix = "/api", endpoint = "review_flag", input = leptos::server_fn::codec::Json)]
pub async fn review_flag(id: String, action: String, reason: String, escalate_to: String) -> Result<FlagDto, AppError> {
    crate::ssr::respond(review_inner(id, action, reason, escalate_to).await)
}

#[cfg(feature = "ssr")]
async fn review_inner(id: String, action: String, reason: String, escalate_to: String) -> Result<FlagDto, AppError> {
    use crate::ssr::{context, request_meta, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    let meta = request_meta().await;
    let review = crate::ssr::risk::ReviewInput {
        action,
        reason: Some(reason).filter(|r| !r.trim().is_empty()),
        escalate_to: Some(escalate_to).filter(|e| !e.trim().is_empty()),
    };
    ctx.risk.review(&viewer, &id, review, meta).await
}
