//! `/api/v1/documents/{id}/legal-holds` and `/api/v1/trust`: legal holds placed, released and
//! listed, and the trust dashboard's figures, over the same document service and dashboard as
//! the web app's server functions (and the same access policy: only owners and admins hold, a
//! key needs the `admin` scope to reach other people's documents or the dashboard).

use super::ApiState;
use super::auth::Caller;
use super::documents::json_rejection;
use super::error::{ApiError, ErrorBody};
use crate::documents::holds::HoldRow;
use attesta_core::api_keys::Scope;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A legal hold. Times are RFC 3339, UTC.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldResource {
    pub id: i64,
    pub document_id: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: String,
    /// Whether the hold is in force (not released).
    pub active: bool,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// Why the hold is placed or released (a matter or case number): recorded in the evidence.
    #[schema(min_length = 3, max_length = 500)]
    pub reason: String,
}

fn rfc3339(micros: i64) -> String {
    attesta_core::webhooks::events::rfc3339(attesta_core::Timestamp::from_micros(micros))
}

fn resource(h: &HoldRow) -> HoldResource {
    HoldResource {
        id: h.id,
        document_id: h.document_id.clone(),
        reason: h.reason.clone(),
        placed_by: h.placed_by_name.clone(),
        placed_at: rfc3339(h.placed_at),
        active: h.released_at.is_none(),
        released_by: h.released_by_name.clone(),
        released_at: h.released_at.map(rfc3339),
        release_reason: h.release_reason.clone(),
    }
}

#[utoipa::path(
    get, path = "/api/v1/documents/{id}/legal-holds", tag = "trust",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, body = Vec<HoldResource>, description = "Every hold the document had, newest first"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn holds(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HoldResource>>, ApiError> {
    caller.require(Scope::Read)?;
    let holds = state.documents.holds(&caller.principal(), &id).await?;
    Ok(Json(holds.iter().map(resource).collect()))
}

#[utoipa::path(
    post, path = "/api/v1/documents/{id}/legal-holds", tag = "trust",
    params(("id" = String, Path, description = "The document's id")),
    request_body(content = HoldRequest, content_type = "application/json"),
    responses(
        (status = 200, body = HoldResource, description = "The hold now in force"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Not an owner or admin, or the key lacks the admin scope"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already on hold"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn place(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<HoldRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<HoldResource>, ApiError> {
    change(state, caller, id, body, true).await
}

#[utoipa::path(
    post, path = "/api/v1/documents/{id}/legal-holds/release", tag = "trust",
    params(("id" = String, Path, description = "The document's id")),
    request_body(content = HoldRequest, content_type = "application/json"),
    responses(
        (status = 200, body = HoldResource, description = "The hold, released"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not on hold"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn release(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<HoldRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<HoldResource>, ApiError> {
    change(state, caller, id, body, false).await
}

#[utoipa::path(
    get, path = "/api/v1/trust", tag = "trust",
    responses(
        (status = 200, content_type = "application/json", description = "The trust dashboard's figures, computed now: the last self-verification, the log and its latest checkpoint, certificates and seals issued, the seal certificate, sessions and API keys in use, the retention policy with its last and next run, and the legal holds in force (times in UTC microseconds)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Not an owner or admin, or the key lacks the admin scope"),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn dashboard(State(state): State<ApiState>, caller: Caller) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Admin)?;
    if !caller.user.role.can_administer() {
        return Err(ApiError::new(
            http::StatusCode::FORBIDDEN,
            "forbidden",
            "only owners and admins see the dashboard",
        ));
    }
    let dashboard = state.trust.dashboard().await.map_err(ApiError::internal)?;
    Ok(Json(serde_json::to_value(dashboard).map_err(ApiError::internal)?))
}

/// Places (`place`) or releases the hold: the access policy decides who may (owners and admins,
/// through a key with the `admin` scope), the core whether it may now.
async fn change(
    state: ApiState,
    caller: Caller,
    id: String,
    body: Result<Json<HoldRequest>, axum::extract::rejection::JsonRejection>,
    place: bool,
) -> Result<Json<HoldResource>, ApiError> {
    caller.require(Scope::Read)?;
    let Json(body) = body.map_err(json_rejection)?;
    let (principal, reason) = (caller.principal(), body.reason.as_str());
    let hold = if place {
        state.documents.place_hold(&principal, &caller.user, &id, reason, &caller.meta).await?
    } else {
        state.documents.release_hold(&principal, &caller.user, &id, reason, &caller.meta).await?
    };
    Ok(Json(resource(&hold)))
}
