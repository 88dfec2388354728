//! API keys of the signed-in user: list, create (the secret is returned once), revoke. The keys
//! authenticate the REST API (`/api/v1`, served by the server crate), not these functions.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A key as the settings page lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    /// `atk_<public id>`: enough to recognise the key, useless to use it.
    pub prefix: String,
    pub public_id: String,
    pub name: String,
    /// `read`, `send`, `admin`.
    pub scopes: Vec<String>,
    /// UTC microseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just made: the whole secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub secret: String,
    pub row: ApiKeyRow,
}

#[server(prefix = "/api", endpoint = "api-keys/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            ctx.api_keys.list(&user).await
        }
        .await,
    )
}

/// `scope` is the widest scope the key gets (they nest: admin ⊇ send ⊇ read).
#[server(prefix = "/api", endpoint = "api-keys/create")]
pub async fn create_api_key(name: String, scope: String) -> Result<CreatedApiKey, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let scopes = attesta_core::api_keys::Scopes::parse(&scope)
                .map_err(|e| AppError::validation("scope", e.to_string()))?;
            let name =
                attesta_core::api_keys::clean_name(&name).map_err(|e| AppError::validation("name", e.to_string()))?;
            ctx.api_keys.create(&user, &name, &scopes).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "api-keys/revoke")]
pub async fn revoke_api_key(public_id: String) -> Result<(), AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            ctx.api_keys.revoke(&user, &public_id).await
        }
        .await,
    )
}
