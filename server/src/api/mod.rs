//! The REST API, `/api/v1`: API keys as bearer tokens, documents created and sent in one call,
//! read, downloaded and voided, and the OpenAPI 3.1 document generated from these handlers
//! (`GET /api/v1/openapi.json`, public).
//!
//! Separate from the Leptos server functions (which live under `/api/<name>` and authenticate by
//! session cookie): nothing here reads a cookie, so a browser's session gives no authority to a
//! cross-site request, and the cross-site refusal is not needed (the router is merged outside
//! the session and CSRF layers). Every error is `{"error":{"code","message"}}` (`error.rs`).

pub mod auth;
pub mod documents;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod risk;
pub mod trust;

use crate::http::client_address;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use sqlx::AnyPool;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// What the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub pool: AnyPool,
    pub accounts: attesta_core::AccountService,
    pub documents: crate::documents::Documents,
    pub limit: auth::KeyLimit,
    /// Largest JSON body, and the allowance for the JSON beside a file.
    pub max_json_bytes: usize,
    pub clock: std::sync::Arc<dyn attesta_core::ports::Clock>,
    /// The trust dashboard's figures (`GET /api/v1/trust`).
    pub trust: crate::trust::Trust,
    pub risk: crate::risk::Risk,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Attesta API",
        version = "1",
        description = "Create documents, send them for signature and collect the sealed results. \
            Authenticate with an API key: `Authorization: Bearer atk_…` (create one under Settings → API keys, \
            or `attesta api-key create`). Errors are `{\"error\":{\"code\",\"message\"}}` with stable codes."
    ),
    paths(
        documents::list,
        documents::create,
        documents::get,
        documents::void,
        documents::schedule,
        documents::unschedule,
        documents::original,
        documents::sealed,
        documents::evidence,
        trust::holds,
        trust::place,
        trust::release,
        trust::dashboard,
        risk::list,
        risk::review,
    ),
    components(schemas(documents::StatusFilter)),
    modifiers(&BearerKeys),
    tags(
        (name = "documents", description = "Documents and their signing"),
        (name = "trust", description = "Legal holds, and the trust dashboard's figures"),
        (name = "risk", description = "Clauses flagged for review, and their review")
    )
)]
pub struct ApiDoc;

struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("atk_<id>_<secret>").build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`.
async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => documents::json_response(StatusCode::OK, json),
        Err(e) => error::ApiError::internal(e).into_response(),
    }
}

async fn not_found() -> error::ApiError {
    error::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint: see /api/v1/openapi.json")
}

/// The `/api/v1` routes, with their own body limit (a file and its JSON), time limit (files move
/// slowly) and the client address (for the evidence).
pub fn router(
    state: ApiState,
    proxies: client_address::TrustedProxies,
    transfer_timeout: std::time::Duration,
) -> Router {
    let body_limit =
        usize::try_from(state.documents.limits().max_bytes).unwrap_or(usize::MAX).saturating_add(state.max_json_bytes);
    let v1 = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/documents", get(documents::list).post(documents::create))
        .route("/documents/{id}", get(documents::get))
        .route("/documents/{id}/void", post(documents::void))
        .route("/documents/{id}/schedule", post(documents::schedule).delete(documents::unschedule))
        .route("/documents/{id}/original.pdf", get(documents::original))
        .route("/documents/{id}/sealed.pdf", get(documents::sealed))
        .route("/documents/{id}/evidence.json", get(documents::evidence))
        .route("/documents/{id}/legal-holds", get(trust::holds).post(trust::place))
        .route("/documents/{id}/legal-holds/release", post(trust::release))
        .route("/trust", get(trust::dashboard))
        .route("/risk/flags", get(risk::list))
        .route("/risk/flags/{id}/review", post(risk::review))
        .fallback(not_found)
        .with_state(state);
    Router::new()
        .nest("/api/v1", v1)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, transfer_timeout))
        .layer(from_fn_with_state(proxies, client_address::resolve))
}
