//! The webhooks port: what the settings page's server functions need from the server's
//! webhook service. Every method takes the signed-in user and acts on their endpoints only; an
//! endpoint of someone else is `NotFound`, exactly like one that does not exist.

use crate::api::webhooks::{EndpointDto, MessageDto};
use crate::error::AppError;
use attesta_core::User;

#[async_trait::async_trait]
pub trait WebhooksPort: Send + Sync {
    async fn list(&self, owner: &User) -> Result<Vec<EndpointDto>, AppError>;
    async fn create(
        &self,
        owner: &User,
        url: String,
        description: String,
        event_types: Vec<String>,
    ) -> Result<EndpointDto, AppError>;
    /// The current signing secret, `whsec_…`.
    async fn secret(&self, owner: &User, id: &str) -> Result<String, AppError>;
    /// A new current secret; the previous one keeps signing beside it for 24 hours.
    async fn rotate(&self, owner: &User, id: &str) -> Result<(), AppError>;
    async fn set_enabled(&self, owner: &User, id: &str, enabled: bool) -> Result<(), AppError>;
    async fn delete(&self, owner: &User, id: &str) -> Result<(), AppError>;
    /// Queues a `webhook.test` message; its id.
    async fn send_test(&self, owner: &User, id: &str) -> Result<String, AppError>;
    /// The newest messages of the endpoint with their attempts.
    async fn log(&self, owner: &User, id: &str) -> Result<Vec<MessageDto>, AppError>;
}
