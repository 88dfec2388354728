//! `/api/v1/risk/flags`: the clause flags across documents and their review, the REST door of
//! the same risk service and access policy the Risk page uses (`crate::risk`). Listing needs
//! the `read` scope; both need a key whose user is an owner or admin and that holds the `admin`
//! scope (one that reaches every document, `attesta_core::risk::review::may_review`).

use super::ApiState;
use super::auth::Caller;
use super::documents::json_rejection;
use super::error::{ApiError, ErrorBody};
use crate::risk::{ReviewRequest, RiskError, filter_of};
use attesta_app::ssr::risk::RiskFilter;
use attesta_core::api_keys::Scope;
use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<RiskError> for ApiError {
    fn from(e: RiskError) -> Self {
        match e {
            RiskError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "no such flag"),
            RiskError::Forbidden(why) => Self::new(StatusCode::FORBIDDEN, "forbidden", why),
            RiskError::Invalid { field, message } => Self::validation(field, message),
            RiskError::Conflict(why) => Self::new(StatusCode::CONFLICT, "conflict", why),
            RiskError::Internal(e) => Self::internal(e),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagParams {
    /// `low`, `medium`, `high` or `critical`.
    pub severity: Option<String>,
    /// The category's name, e.g. `Cap On Liability`.
    pub category: Option<String>,
    /// `open` (the default), `acknowledged`, `dismissed`, `escalated`, `resolved`, or `all`.
    pub status: Option<String>,
    /// The documents' owner (a user id).
    pub owner: Option<String>,
}

/// One flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagResource {
    pub id: String,
    pub document_id: String,
    pub category: String,
    pub severity: String,
    /// The clause as extracted from the document's text.
    pub clause: String,
    /// SHA-256 of the clause's UTF-8 bytes, as its `risk.flagged` event records it.
    pub clause_sha256: String,
    pub page: Option<i64>,
    /// Character span in the extracted text, end exclusive.
    pub start: i64,
    pub end: i64,
    pub explanation: String,
    pub engine: String,
    pub engine_version: String,
    pub status: String,
    pub review_reason: Option<String>,
    pub resolved_reason: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeverityCount {
    pub severity: String,
    pub open: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagList {
    pub data: Vec<FlagResource>,
    /// Open flags by severity, most serious first.
    pub counts: Vec<SeverityCount>,
}

/// A review: `acknowledge`, `dismiss` (with `reason`) or `escalate` (to the user whose email is
/// `escalate_to`, who is mailed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    #[schema(example = "dismiss")]
    pub action: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub escalate_to: Option<String>,
}

fn resource(f: crate::risk::repo::FlagRow) -> FlagResource {
    FlagResource {
        clause_sha256: hex::encode(&f.clause_sha256),
        created_at: attesta_core::webhooks::events::rfc3339(attesta_core::time::Timestamp::from_micros(f.created_at)),
        id: f.id,
        document_id: f.document_id,
        category: f.category,
        severity: f.severity.as_str().to_owned(),
        clause: f.clause_text,
        page: f.page,
        start: f.char_start,
        end: f.char_end,
        explanation: f.explanation,
        engine: f.engine,
        engine_version: f.engine_version,
        status: f.status.as_str().to_owned(),
        review_reason: f.review_reason,
        resolved_reason: f.resolved_reason,
    }
}

#[utoipa::path(
    get, path = "/api/v1/risk/flags", tag = "risk",
    params(FlagParams),
    responses(
        (status = 200, body = FlagList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    params: Result<Query<FlagParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FlagList>, ApiError> {
    caller.require(Scope::Read)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let status = p.status.clone().unwrap_or_else(|| "open".to_owned());
    let filter =
        RiskFilter::parse(&text(&p.severity), &text(&p.category), &status, &text(&p.owner)).map_err(|e| match e {
            attesta_app::error::AppError::Validation { field, message } => ApiError::validation(field, message),
            other => ApiError::bad_request(other.to_string()),
        })?;
    let (flags, counts) = state.risk.list(&caller.principal(), &filter_of(&filter)).await?;
    Ok(Json(FlagList {
        data: flags.into_iter().map(resource).collect(),
        counts: crate::risk::counts_of(&counts)
            .into_iter()
            .map(|c| SeverityCount { severity: c.severity, open: c.count })
            .collect(),
    }))
}

#[utoipa::path(
    post, path = "/api/v1/risk/flags/{id}/review", tag = "risk",
    params(("id" = String, Path, description = "The flag's id")),
    request_body = ReviewBody,
    responses(
        (status = 200, body = FlagResource),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn review(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<ReviewBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<FlagResource>, ApiError> {
    caller.require(Scope::Read)?;
    let Json(body) = body.map_err(json_rejection)?;
    let request = ReviewRequest { action: body.action, reason: body.reason, escalate_to: body.escalate_to };
    let flag = state.risk.review(&caller.principal(), &caller.user, &id, request, &caller.meta).await?;
    Ok(Json(resource(flag)))
}
