//! Users, for owners and admins: the list, and disabling or re-enabling an account. Disabling
//! ends every session of that user at once.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One user as an administrator sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    /// UTC microseconds.
    pub created_at: i64,
    /// Whether the viewer may disable or re-enable this user.
    pub can_change: bool,
}

#[server(prefix = "/api", endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    crate::ssr::respond(list_inner().await)
}

#[cfg(feature = "ssr")]
async fn list_inner() -> Result<Vec<UserRow>, AppError> {
    use crate::ssr::{account_error, context, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    let users = ctx.accounts.list_users(&viewer).await.map_err(account_error)?;
    Ok(users
        .into_iter()
        .map(|u| UserRow {
            can_change: attesta_core::accounts::may_disable(&viewer, &u).is_ok(),
            id: u.id.0,
            name: u.name.into(),
            email: u.email.into(),
            role: u.role.as_str().to_owned(),
            disabled: u.disabled,
            created_at: u.created_at.as_micros(),
        })
        .collect())
}

#[server(prefix = "/api", endpoint = "users/disabled")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    crate::ssr::respond(set_disabled_inner(id, disabled).await)
}

#[cfg(feature = "ssr")]
async fn set_disabled_inner(id: i64, disabled: bool) -> Result<(), AppError> {
    use crate::ssr::{account_error, context, internal, session};
    let ctx = context()?;
    let viewer = session::require_user(&ctx).await?;
    let target = attesta_core::UserId(id);
    let by = crate::ssr::acting(&viewer).await;
    ctx.accounts.set_disabled(&viewer, target, disabled, &by).await.map_err(account_error)?;
    if disabled {
        // The generation bump already ends their sessions; revoking the records also takes them
        // off their sessions list at once.
        let now = ctx.accounts.clock().now();
        let reason = attesta_core::sessions::RevokeReason::UserDisabled;
        ctx.sessions.revoke_all(target, None, now, &by, reason).await.map_err(internal)?;
    }
    tracing::info!(by = %viewer.id, user_id = id, disabled, "user account changed");
    Ok(())
}
