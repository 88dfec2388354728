//! Server-only glue: the services the server hands to server functions, and the mapping of
//! domain errors to the user-safe [`AppError`].

pub mod api_keys;
pub mod documents;
pub mod integrity;
pub mod jobs;
pub mod risk;
pub mod session;
pub mod signing;
pub mod trust;
pub mod webhooks;

use crate::api::auth::UserDto;
use crate::error::AppError;
use attesta_core::{AccountError, AccountService, User};
use leptos::prelude::*;
use std::net::IpAddr;

/// Everything a server function may use, provided by the server for each request.
#[derive(Clone)]
pub struct ServerContext {
    pub accounts: AccountService,
    /// How long sessions last.
    pub session_policy: attesta_core::sessions::SessionPolicy,
    /// Which sessions exist, for listing and revoking them.
    pub sessions: std::sync::Arc<dyn attesta_core::sessions::SessionRegistry>,
    pub documents: std::sync::Arc<dyn documents::DocumentsPort>,
    pub signing: std::sync::Arc<dyn signing::SigningPort>,
    pub webhooks: std::sync::Arc<dyn webhooks::WebhooksPort>,
    /// Largest upload accepted, in bytes (the upload page checks it before sending).
    pub max_upload_bytes: u64,
    /// The keys `/verify` pins.
    pub trust: crate::api::verify::TrustAnchors,
    /// Single sign-on, when configured: the button's name and whether it is the only way in.
    pub sso: Option<crate::api::auth::SsoInfo>,
    /// The user's REST API keys (settings page).
    pub api_keys: std::sync::Arc<dyn api_keys::ApiKeysPort>,
    /// Where session handles come from (the Entropy port, built once at start-up).
    pub entropy: std::sync::Arc<dyn attesta_core::ports::Entropy>,
    /// The instance's jobs (admin page).
    pub jobs: std::sync::Arc<dyn jobs::JobsPort>,
    /// The self-verification's runs (admin page).
    pub integrity: std::sync::Arc<dyn integrity::IntegrityPort>,
    /// The trust dashboard's figures (admin page, and `GET /api/v1/trust`).
    pub trust_dashboard: std::sync::Arc<dyn trust::TrustPort>,
    /// Clause risk: flags, missing clauses, reviews.
    pub risk: std::sync::Arc<dyn risk::RiskPort>,
}

/// The client's address as the server decided it (the peer, or `X-Forwarded-For` from a
/// trusted proxy). Set by the server's middleware on every request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

/// Gives a failed server function's response the status its error calls for.
/// Every message in it becomes a sentence on the way out ([`AppError::into_sentences`]).
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    let result = result.map_err(AppError::into_sentences);
    if let Err(e) = &result
        && let Some(res) = use_context::<leptos_axum::ResponseOptions>()
    {
        res.set_status(e.status_code());
    }
    result
}

pub fn context() -> Result<ServerContext, AppError> {
    use_context::<ServerContext>().ok_or_else(|| internal("server context missing"))
}

/// The address and user agent of the current request, for evidence.
pub async fn request_meta() -> documents::RequestMeta {
    let ip = leptos_axum::extract::<axum::Extension<ClientAddress>>().await.ok().map(|axum::Extension(c)| c.0);
    let user_agent = leptos_axum::extract::<http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| h.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned));
    documents::RequestMeta { ip, user_agent, api_key: None }
}

/// Who acts in this request, for the instance chain: `user`, with the request's address and
/// user agent as their personal data.
pub async fn acting(user: &User) -> attesta_core::evidence::Acting {
    let meta = request_meta().await;
    let ip = meta.ip.map(|ip| ip.to_string());
    attesta_core::evidence::Acting::user(user, ip.as_deref(), meta.user_agent.as_deref())
}

/// The server acting on its own in this request (an account that creates itself: the first-run
/// setup, a first single sign-on), with the person's email and name and the request's address
/// and user agent as the personal data.
pub async fn acting_as_system(email: &str, name: &str) -> attesta_core::evidence::Acting {
    use attesta_core::evidence::{PersonalData, Text};
    let meta = request_meta().await;
    attesta_core::evidence::Acting::system(PersonalData {
        email: Some(Text::truncated(email)),
        name: Some(Text::truncated(name)),
        ip: meta.ip.map(|ip| Text::truncated(&ip.to_string())),
        user_agent: meta.user_agent.as_deref().map(Text::truncated),
        geo: None,
    })
}

pub async fn client_address() -> Option<String> {
    leptos_axum::extract::<axum::Extension<ClientAddress>>()
        .await
        .ok()
        .map(|axum::Extension(ClientAddress(ip))| ip.to_string())
}

/// Logs an internal failure with a fresh reference id and returns the error the user sees.
pub fn internal(detail: impl std::fmt::Display) -> AppError {
    let ref_id = reference_id();
    tracing::error!(ref_id = %ref_id, error = %detail, "internal error");
    AppError::Internal { ref_id }
}

fn reference_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!("{pid:x}-{n:x}")
}

pub fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::InvalidEmail => AppError::validation("email", e.to_string()),
        AccountError::InvalidName => AppError::validation("name", e.to_string()),
        AccountError::PasswordTooShort { .. } | AccountError::PasswordTooLong { .. } => {
            AppError::validation("password", e.to_string())
        }
        AccountError::InvalidRole => AppError::validation("role", e.to_string()),
        AccountError::EmailTaken | AccountError::AlreadySetUp => AppError::Conflict(e.to_string()),
        AccountError::WrongCredentials | AccountError::Disabled => AppError::Unauthorized(e.to_string()),
        AccountError::Forbidden(_) => AppError::Forbidden,
        AccountError::UnknownUser => AppError::NotFound,
        AccountError::Throttled { retry_after } => {
            let secs = retry_after.as_secs().max(1);
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            AppError::TooManyRequests { message: e.to_string(), retry_after_secs: secs }
        }
        AccountError::Store(inner) => internal(inner),
    }
}

pub fn user_dto(user: User) -> UserDto {
    UserDto { id: user.id.0, name: user.name.into(), email: user.email.into(), role: user.role.as_str().to_owned() }
}
