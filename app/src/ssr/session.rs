//! Server-side sessions on top of tower-sessions (stored in the database).
//!
//! A session records the user id, the user's session generation at sign-in and the sign-in
//! time. It is valid while the user exists, is not disabled, still has that generation (bumping
//! it ends every session of the user at once) and the absolute timeout has not passed; the idle
//! timeout is the store's expiry, renewed on each request. The session id is cycled at sign-in so
//! an id planted before sign-in is worthless after it.

use super::{ServerContext, internal};
use crate::error::AppError;
use attesta_core::{Timestamp, User, UserId};
use tower_sessions::Session;

const USER_ID: &str = "uid";
const GENERATION: &str = "gen";
const SIGNED_IN_AT: &str = "at";

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| internal(format!("session layer missing: {e}")))
}

/// The signed-in user, or `None`. An invalid session is ended on the way.
pub async fn current_user(ctx: &ServerContext) -> Result<Option<User>, AppError> {
    user_of(ctx, &session().await?).await
}

/// The user signed in with `session`, or `None`; for handlers outside server functions.
pub async fn user_of(ctx: &ServerContext, session: &Session) -> Result<Option<User>, AppError> {
    let uid: Option<i64> = session.get(USER_ID).await.map_err(internal)?;
    let Some(uid) = uid else { return Ok(None) };
    let generation: Option<i64> = session.get(GENERATION).await.map_err(internal)?;
    let signed_in_at: Option<i64> = session.get(SIGNED_IN_AT).await.map_err(internal)?;
    let user = ctx.accounts.user(UserId(uid)).await.map_err(super::account_error)?;
    let now = ctx.accounts.clock().now();
    let valid = match (&user, generation, signed_in_at) {
        (Some(user), Some(generation), Some(at)) => {
            !user.disabled
                && user.session_generation == generation
                && Timestamp::from_micros(at).saturating_add(ctx.session_absolute_timeout) > now
        }
        _ => false,
    };
    if !valid {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    }
    Ok(user)
}

/// The signed-in user, or `Unauthorized`.
pub async fn require_user(ctx: &ServerContext) -> Result<User, AppError> {
    current_user(ctx).await?.ok_or_else(|| AppError::Unauthorized("sign in first".to_owned()))
}

/// Starts a fresh session for `user`, under a new id.
pub async fn start(ctx: &ServerContext, user: &User) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(internal)?;
    session.insert(USER_ID, user.id.0).await.map_err(internal)?;
    session.insert(GENERATION, user.session_generation).await.map_err(internal)?;
    session.insert(SIGNED_IN_AT, ctx.accounts.clock().now().as_micros()).await.map_err(internal)?;
    Ok(())
}

/// Ends the current session: removed from the store, cookie cleared.
pub async fn end() -> Result<(), AppError> {
    session().await?.flush().await.map_err(internal)
}

const SIGNER_VERIFIED: &str = "signer_verified";

/// Whether this browser entered the right one-time code for the recipient `key`
/// (`document/recipient`).
pub async fn signer_verified(key: &str) -> bool {
    let Ok(session) = session().await else { return false };
    let verified: Vec<String> = session.get(SIGNER_VERIFIED).await.ok().flatten().unwrap_or_default();
    verified.iter().any(|k| k == key)
}

/// Remembers in this browser's session that it proved access to the recipient's inbox.
pub async fn mark_signer_verified(key: &str) -> Result<(), AppError> {
    let session = session().await?;
    let mut verified: Vec<String> = session.get(SIGNER_VERIFIED).await.map_err(internal)?.unwrap_or_default();
    if !verified.iter().any(|k| k == key) {
        verified.push(key.to_owned());
        // A browser signs for a handful of people at most; keep the session small regardless.
        if verified.len() > 20 {
            verified.remove(0);
        }
    }
    session.insert(SIGNER_VERIFIED, verified).await.map_err(internal)
}
