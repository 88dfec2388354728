//! The API keys port: what the settings page's server functions need from the server's key
//! store (the server implements it over its database; `app` never touches SQL).

use crate::api::api_keys::{ApiKeyRow, CreatedApiKey};
use crate::error::AppError;
use attesta_core::User;
use attesta_core::api_keys::Scopes;

#[async_trait::async_trait]
pub trait ApiKeysPort: Send + Sync {
    /// The user's keys, newest first, revoked ones included.
    async fn list(&self, user: &User) -> Result<Vec<ApiKeyRow>, AppError>;
    /// A new key for the user; the secret is in the answer and nowhere else.
    async fn create(&self, user: &User, name: &str, scopes: &Scopes) -> Result<CreatedApiKey, AppError>;
    /// Revokes one of the user's own keys.
    async fn revoke(&self, user: &User, public_id: &str) -> Result<(), AppError>;
}
