//! Webhook endpoints of the signed-in user: list, add, reveal and rotate the signing secret,
//! enable or disable, delete, send a test event, and the delivery log.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One endpoint as the settings page shows it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDto {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Subscribed types; `["*"]` is every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// UTC microseconds.
    pub created_at: i64,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptDto {
    /// UTC microseconds.
    pub attempted_at: i64,
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// One message of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDto {
    pub id: String,
    pub event_type: String,
    /// UTC microseconds.
    pub created_at: i64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    /// UTC microseconds; none once delivered or failed.
    pub next_attempt_at: Option<i64>,
    pub attempt_log: Vec<AttemptDto>,
}

/// The event types an endpoint may choose, as (name, words): the core's list, so a new type
/// is offered as soon as it is announced.
pub fn event_types() -> impl Iterator<Item = (&'static str, &'static str)> {
    attesta_core::webhooks::events::WebhookEventType::SUBSCRIBABLE.into_iter().map(|t| (t.as_str(), t.label()))
}

#[cfg(feature = "ssr")]
async fn with_user<T>(
    f: impl AsyncFnOnce(crate::ssr::ServerContext, attesta_core::User) -> Result<T, AppError>,
) -> Result<T, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            f(ctx, user).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "webhooks/list", input = leptos::server_fn::codec::Json)]
pub async fn list_webhooks() -> Result<Vec<EndpointDto>, AppError> {
    with_user(async |ctx, user| ctx.webhooks.list(&user).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/create", input = leptos::server_fn::codec::Json)]
pub async fn create_webhook(
    url: String,
    description: String,
    event_types: Vec<String>,
) -> Result<EndpointDto, AppError> {
    with_user(async |ctx, user| ctx.webhooks.create(&user, url, description, event_types).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/secret", input = leptos::server_fn::codec::Json)]
pub async fn webhook_secret(id: String) -> Result<String, AppError> {
    with_user(async |ctx, user| ctx.webhooks.secret(&user, &id).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/rotate", input = leptos::server_fn::codec::Json)]
pub async fn rotate_webhook_secret(id: String) -> Result<(), AppError> {
    with_user(async |ctx, user| ctx.webhooks.rotate(&user, &id).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/enable", input = leptos::server_fn::codec::Json)]
pub async fn set_webhook_enabled(id: String, enabled: bool) -> Result<(), AppError> {
    with_user(async |ctx, user| ctx.webhooks.set_enabled(&user, &id, enabled).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/delete", input = leptos::server_fn::codec::Json)]
pub async fn delete_webhook(id: String) -> Result<(), AppError> {
    with_user(async |ctx, user| ctx.webhooks.delete(&user, &id).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/test", input = leptos::server_fn::codec::Json)]
pub async fn send_test_webhook(id: String) -> Result<String, AppError> {
    with_user(async |ctx, user| ctx.webhooks.send_test(&user, &id).await).await
}

#[server(prefix = "/api", endpoint = "webhooks/log", input = leptos::server_fn::codec::Json)]
pub async fn webhook_log(id: String) -> Result<Vec<MessageDto>, AppError> {
    with_user(async |ctx, user| ctx.webhooks.log(&user, &id).await).await
}
