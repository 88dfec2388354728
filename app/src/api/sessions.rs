//! The signed-in user's sessions: the list of devices, revoking one, signing out everywhere.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One signed-in session as its user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// The session's public handle (not a credential): what revoking names.
    pub handle: String,
    /// "Firefox on Linux".
    pub device: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// UTC microseconds.
    pub signed_in_at: i64,
    pub last_seen_at: i64,
    /// The session this page is being read with.
    pub current: bool,
}

#[server(prefix = "/api", endpoint = "sessions")]
pub async fn list_sessions() -> Result<Vec<SessionRow>, AppError> {
    crate::ssr::respond(list_inner().await)
}

#[cfg(feature = "ssr")]
async fn list_inner() -> Result<Vec<SessionRow>, AppError> {
    use crate::ssr::{context, internal};
    let ctx = context()?;
    let (user, current) = signed_in(&ctx).await?;
    let now = ctx.accounts.clock().now();
    let records = ctx.sessions.list(user.id, ctx.session_policy.idle_cutoff(now)).await.map_err(internal)?;
    Ok(records
        .into_iter()
        .filter(|r| ctx.session_policy.is_live(r, now))
        .map(|r| SessionRow {
            current: r.handle == current,
            device: attesta_core::sessions::device_label(r.user_agent.as_deref()),
            handle: r.handle.as_str().to_owned(),
            user_agent: r.user_agent,
            ip: r.ip,
            signed_in_at: r.created_at.as_micros(),
            last_seen_at: r.last_seen_at.as_micros(),
        })
        .collect())
}

#[cfg(feature = "ssr")]
async fn signed_in(
    ctx: &crate::ssr::ServerContext,
) -> Result<(attesta_core::User, attesta_core::sessions::SessionHandle), AppError> {
    crate::ssr::session::current(ctx).await?.ok_or_else(|| AppError::Unauthorized("sign in first".to_owned()))
}

/// Ends one of the user's own sessions (another device); ending the current one is signing out.
#[server(prefix = "/api", endpoint = "sessions/revoke")]
pub async fn revoke_session(handle: String) -> Result<(), AppError> {
    crate::ssr::respond(revoke_inner(handle).await)
}

#[cfg(feature = "ssr")]
async fn revoke_inner(handle: String) -> Result<(), AppError> {
    use crate::ssr::{context, internal, session};
    let ctx = context()?;
    let (user, current) = signed_in(&ctx).await?;
    let handle = attesta_core::sessions::SessionHandle::parse(&handle).ok_or(AppError::NotFound)?;
    let now = ctx.accounts.clock().now();
    let by = crate::ssr::acting(&user).await;
    let reason = attesta_core::sessions::RevokeReason::Revoked;
    if !ctx.sessions.revoke(user.id, &handle, now, &by, reason).await.map_err(internal)? {
        return Err(AppError::NotFound);
    }
    tracing::info!(user_id = %user.id, session = handle.as_str(), "session revoked");
    if handle == current {
        session::end(&ctx).await?;
        leptos_axum::redirect("/login?signed_out=1");
    }
    Ok(())
}

/// Signs the user out on every device: with `keep_this`, every other session; otherwise all of
/// them, this one included (the session generation is bumped, so even a session the registry
/// does not know of ends).
#[server(prefix = "/api", endpoint = "sessions/end-all")]
pub async fn sign_out_everywhere(keep_this: bool) -> Result<u64, AppError> {
    crate::ssr::respond(end_all_inner(keep_this).await)
}

#[cfg(feature = "ssr")]
async fn end_all_inner(keep_this: bool) -> Result<u64, AppError> {
    use crate::ssr::{account_error, context, internal, session};
    let ctx = context()?;
    let (user, current) = signed_in(&ctx).await?;
    let now = ctx.accounts.clock().now();
    let by = crate::ssr::acting(&user).await;
    let reason = if keep_this {
        attesta_core::sessions::RevokeReason::OthersRevoked
    } else {
        attesta_core::sessions::RevokeReason::AllRevoked
    };
    let ended =
        ctx.sessions.revoke_all(user.id, keep_this.then_some(&current), now, &by, reason).await.map_err(internal)?;
    if !keep_this {
        ctx.accounts.end_all_sessions(user.id).await.map_err(account_error)?;
        session::end(&ctx).await?;
        leptos_axum::redirect("/login?signed_out=1");
    }
    tracing::info!(user_id = %user.id, ended, keep_this, "signed out everywhere");
    Ok(ended)
}
