//! The REST API's one error shape: `{"error":{"code":"stable_snake_case","message":"…"}}` with
//! the matching HTTP status. Codes are stable (clients branch on them); messages are for people.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable, snake_case.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer: status, code, message, and the headers some statuses need.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such document")
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message) }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A failure the client cannot act on: logged with a reference, only the reference sent.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        // Unique, not secret: the process and a counter (no randomness needed to find a line).
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reference = format!("{:x}-{n:x}", std::process::id());
        tracing::error!(error = %e, reference, "REST API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("something went wrong on the server (reference {reference})"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The one place the REST API's messages become sentences: the core's are lower case so
        // they compose ("the PDF has no pages"), clients show `message` to people as it is.
        let message = attesta_core::text::sentence(&self.message);
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message, field: self.field } };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"attesta\", error=\"invalid_token\""),
            );
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::documents::DocumentError> for ApiError {
    fn from(e: crate::documents::DocumentError) -> Self {
        use crate::documents::DocumentError as E;
        match e {
            E::NotFound => Self::not_found(),
            E::Forbidden => Self::new(StatusCode::FORBIDDEN, "forbidden", "only the document's owner may do this"),
            E::Conflict(why) => Self::new(StatusCode::CONFLICT, "conflict", why),
            E::Gone(why) => Self::new(StatusCode::GONE, "gone", why),
            E::Invalid { field, message } => Self::validation(field, message),
            E::Internal(e) => Self::internal(e),
        }
    }
}

impl From<crate::documents::signing::SigningError> for ApiError {
    fn from(e: crate::documents::signing::SigningError) -> Self {
        use crate::documents::signing::SigningError as E;
        match e {
            E::Document(e) => e.into(),
            E::Problems(problems) => {
                let field = problems.first().map(|p| p.target.clone());
                let message = problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ");
                Self { field, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message) }
            }
            E::Invalid { field, message } => Self::validation(field, message),
            E::TooMany { message, retry_after } => Self {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            E::Link(problem) => Self::new(StatusCode::CONFLICT, "conflict", problem.message()),
            E::Refused(refusal) => Self::new(StatusCode::CONFLICT, "conflict", refusal.to_string()),
        }
    }
}

impl From<crate::documents::ingest::IngestError> for ApiError {
    fn from(e: crate::documents::ingest::IngestError) -> Self {
        use crate::documents::ingest::IngestError as E;
        use attesta_core::documents::Refusal;
        match e {
            E::Refused(refusal) => {
                let status = match refusal {
                    Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    Refusal::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let retry_after = (refusal == Refusal::Busy).then_some(crate::documents::ingest::BUSY_RETRY_SECONDS);
                Self {
                    field: Some("file".to_owned()),
                    retry_after,
                    ..Self::new(status, refusal.code(), refusal.to_string())
                }
            }
            E::Interrupted(why) => Self::bad_request(format!("the upload was interrupted: {why}")),
            E::Internal(e) => Self::internal(e),
        }
    }
}
