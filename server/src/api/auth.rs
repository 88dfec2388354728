//! Who is calling: the bearer API key, checked on every request, then its rate limit and scope.
//!
//! `/api/v1` never looks at cookies. A browser that happens to hold a session gets no authority
//! here (no ambient authority), which is also why the cross-site refusal does not apply to it.

use super::ApiState;
use super::error::ApiError;
use super::keys::{self, KeyInfo, Rejection};
use attesta_app::ssr::documents::{ApiKeyActor, RequestMeta};
use attesta_core::User;
use attesta_core::api_keys::{Scope, bearer};
use axum::extract::FromRequestParts;
use http::header;
use http::request::Parts;

/// Requests per key over time (GCRA): `per_minute` on average with a burst, shared by every
/// instance on PostgreSQL (see [`crate::http::limiter`]).
#[derive(Clone)]
pub struct KeyLimit(crate::http::limiter::Limiter);

impl KeyLimit {
    pub fn new(limiter: crate::http::limiter::Limiter) -> Self {
        Self(limiter)
    }

    async fn check(&self, key_id: i64) -> Result<(), ApiError> {
        self.0.check(&format!("api-key:{key_id}")).await.map_err(|wait| ApiError {
            retry_after: Some(crate::http::limiter::retry_after_secs(wait)),
            ..ApiError::new(
                http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests with this API key: wait as long as Retry-After says",
            )
        })
    }
}

/// An authenticated caller: the key, its user, and the request's origin for the evidence.
pub struct Caller {
    pub key: KeyInfo,
    pub user: User,
    pub meta: RequestMeta,
}

impl Caller {
    /// Refuses with 403 unless the key has `scope` (or one that includes it).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.key.scopes.allow(scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                http::StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this API key lacks the `{}` scope", scope.as_str()),
            ))
        }
    }

    /// The caller as the access policy sees them (`attesta_core::access`, the web app's too):
    /// with the `admin` scope a key reaches whatever its user sees in the app; otherwise only
    /// its user's own documents.
    pub fn principal(&self) -> attesta_core::access::Principal {
        attesta_core::access::Principal::api_key(&self.user, self.key.scopes.allow(Scope::Admin))
    }

    /// Whose documents the key reaches; `None`: everyone's.
    pub fn owner_filter(&self) -> Option<i64> {
        self.principal().list_filter().map(|owner| owner.0)
    }

    /// The document if this key may reach it (404 otherwise, saying nothing about others').
    pub async fn document(&self, state: &ApiState, id: &str) -> Result<crate::documents::StoredDocument, ApiError> {
        Ok(state.documents.visible_to(&self.principal(), id).await?)
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(presented) = header.and_then(bearer) else {
            return Err(ApiError::unauthorized("send an API key as `Authorization: Bearer atk_…`"));
        };
        let now = state.clock.now().as_micros();
        let (key, user) = match keys::authenticate(&state.pool, &state.accounts, presented, now).await {
            Ok(found) => found,
            Err(rejection) => {
                tracing::info!(?rejection, "API key refused");
                let message = match rejection {
                    Rejection::Malformed => "the API key is malformed",
                    Rejection::Revoked => "this API key was revoked",
                    _ => "the API key is not valid",
                };
                return Err(ApiError::unauthorized(message));
            }
        };
        state.limit.check(key.id).await?;
        let meta = RequestMeta {
            api_key: keys::public_id(&key).map(|public_id| ApiKeyActor { public_id, name: key.name.clone() }),
            ..RequestMeta::of_request(&parts.extensions, &parts.headers)
        };
        Ok(Self { key, user, meta })
    }
}
