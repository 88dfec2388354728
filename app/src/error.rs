//! The one error type that crosses the wire: safe to show to whoever made the request.
//!
//! Internal failures are logged on the server with a reference id and reach the client only as
//! `Internal { ref_id }`, so a user can quote the id and an operator can find the log line.

use http::StatusCode;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Not found")]
    NotFound,
    #[error("{0}")]
    Unauthorized(String),
    #[error("You are not allowed to do this")]
    Forbidden,
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("The request is too large")]
    TooLarge,
    /// A draft cannot be sent yet: everything the sender must fix, each tied to what it is about.
    #[error("{}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Problems(Vec<attesta_core::signing::DraftProblem>),
    /// A signing link that cannot be used (any more). The message says why in general terms and
    /// never names the document.
    #[error("{message}")]
    LinkUnusable { reason: String, message: String },
    #[error("Something went wrong on our side (reference {ref_id})")]
    Internal { ref_id: String },
    #[error("Could not reach the server: {0}")]
    ServerFn(ServerFnErrorErr),
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.to_owned(), message: message.into() }
    }

    /// The error as people read it: every message a sentence (`attesta_core::text::sentence`).
    /// The core's messages are lower case so they compose; this is the one place the app's
    /// answers become sentences (`ssr::respond` applies it to every server function).
    pub fn into_sentences(self) -> Self {
        use attesta_core::text::sentence;
        match self {
            AppError::Unauthorized(m) => AppError::Unauthorized(sentence(&m)),
            AppError::Validation { field, message } => AppError::Validation { field, message: sentence(&message) },
            AppError::Conflict(m) => AppError::Conflict(sentence(&m)),
            AppError::TooManyRequests { message, retry_after_secs } => {
                AppError::TooManyRequests { message: sentence(&message), retry_after_secs }
            }
            AppError::Problems(problems) => AppError::Problems(
                problems
                    .into_iter()
                    .map(|p| attesta_core::signing::DraftProblem { message: sentence(&p.message), ..p })
                    .collect(),
            ),
            AppError::LinkUnusable { reason, message } => {
                AppError::LinkUnusable { reason, message: sentence(&message) }
            }
            other => other,
        }
    }

    /// The form field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value)
    }
}

impl AppError {
    /// The HTTP status a response carrying this error has.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Problems(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::LinkUnusable { .. } => StatusCode::GONE,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::ServerFn(e) => match e {
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}
