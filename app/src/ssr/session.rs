//! Server-side sessions on top of tower-sessions (stored in the database).
//!
//! A session records the user id, the user's session generation at sign-in, the sign-in time
//! and its handle in the session registry (`attesta_core::sessions`). It is valid while the user
//! exists, is not disabled, still has that generation (bumping it ends every session of the user
//! at once), and its registry record is live (not revoked, within the idle and absolute
//! timeouts). The session id is cycled at sign-in so an id planted before sign-in is worthless
//! after it.

use super::documents::RequestMeta;
use super::{ServerContext, internal};
use crate::error::AppError;
use attesta_core::sessions::{SessionHandle, SessionRecord};
use attesta_core::{Timestamp, User, UserId};
use tower_sessions::Session;

const USER_ID: &str = "uid";
const GENERATION: &str = "gen";
const SIGNED_IN_AT: &str = "at";
const HANDLE: &str = "sid";

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| internal(format!("session layer missing: {e}")))
}

/// The signed-in user, or `None`. An invalid session is ended on the way.
pub async fn current_user(ctx: &ServerContext) -> Result<Option<User>, AppError> {
    Ok(signed_in(ctx, &session().await?, &super::request_meta().await).await?.map(|(user, _)| user))
}

/// The signed-in user and their session's handle, or `None`.
pub async fn current(ctx: &ServerContext) -> Result<Option<(User, SessionHandle)>, AppError> {
    signed_in(ctx, &session().await?, &super::request_meta().await).await
}

/// The user signed in with `session`, or `None`; for handlers outside server functions.
pub async fn user_of(ctx: &ServerContext, session: &Session, meta: &RequestMeta) -> Result<Option<User>, AppError> {
    Ok(signed_in(ctx, session, meta).await?.map(|(user, _)| user))
}

/// The user signed in with `session` and the session's handle, or `None`. Writes the registry's
/// "last seen" (at most once a minute, or when the address changes).
pub async fn signed_in(
    ctx: &ServerContext,
    session: &Session,
    meta: &RequestMeta,
) -> Result<Option<(User, SessionHandle)>, AppError> {
    let uid: Option<i64> = session.get(USER_ID).await.map_err(internal)?;
    let Some(uid) = uid else { return Ok(None) };
    let generation: Option<i64> = session.get(GENERATION).await.map_err(internal)?;
    let signed_in_at: Option<i64> = session.get(SIGNED_IN_AT).await.map_err(internal)?;
    let handle: Option<String> = session.get(HANDLE).await.map_err(internal)?;
    let handle = handle.as_deref().and_then(SessionHandle::parse);
    let user = ctx.accounts.user(UserId(uid)).await.map_err(super::account_error)?;
    let now = ctx.accounts.clock().now();
    let policy = ctx.session_policy;
    let user_valid = match (&user, generation, signed_in_at) {
        (Some(user), Some(generation), Some(at)) => {
            !user.disabled
                && user.session_generation == generation
                && Timestamp::from_micros(at).saturating_add(policy.absolute_timeout) > now
        }
        _ => false,
    };
    let record = match (&handle, user_valid) {
        (Some(handle), true) => ctx.sessions.get(handle).await.map_err(internal)?,
        _ => None,
    };
    let (Some(user), Some(record)) = (user, record) else {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    };
    if record.user_id != user.id || !policy.is_live(&record, now) {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    }
    let ip = meta.ip.map(|ip| ip.to_string());
    if policy.needs_touch(&record, now, ip.as_deref()) {
        let user_agent = meta.user_agent.as_deref().map(clip_user_agent);
        ctx.sessions.touch(&record.handle, now, ip.as_deref(), user_agent).await.map_err(internal)?;
    }
    Ok(Some((user, record.handle)))
}

/// User agents are shown, not parsed further: a bounded length keeps a hostile one small.
fn clip_user_agent(ua: &str) -> &str {
    let mut end = ua.len().min(512);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    &ua[..end]
}

/// The signed-in user, or `Unauthorized`.
pub async fn require_user(ctx: &ServerContext) -> Result<User, AppError> {
    current_user(ctx).await?.ok_or_else(|| AppError::Unauthorized("sign in first".to_owned()))
}

/// Starts a fresh session for `user`, under a new id.
pub async fn start(ctx: &ServerContext, user: &User) -> Result<(), AppError> {
    start_on(ctx, &session().await?, user, &super::request_meta().await).await
}

/// Starts a fresh session for `user` on `session` (for handlers outside server functions):
/// a new id, a new registry record.
pub async fn start_on(ctx: &ServerContext, session: &Session, user: &User, meta: &RequestMeta) -> Result<(), AppError> {
    let now = ctx.accounts.clock().now();
    let handle = SessionHandle::from_random(attesta_core::entropy::EntropyExt::bytes(&*ctx.entropy));
    let record = SessionRecord {
        handle: handle.clone(),
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta.user_agent.as_deref().map(|ua| clip_user_agent(ua).to_owned()),
        revoked_at: None,
    };
    ctx.sessions.insert(&record).await.map_err(internal)?;
    session.cycle_id().await.map_err(internal)?;
    session.insert(USER_ID, user.id.0).await.map_err(internal)?;
    session.insert(GENERATION, user.session_generation).await.map_err(internal)?;
    session.insert(SIGNED_IN_AT, now.as_micros()).await.map_err(internal)?;
    session.insert(HANDLE, handle.as_str()).await.map_err(internal)?;
    Ok(())
}

/// Ends the current session: its registry record revoked, removed from the store, cookie cleared.
pub async fn end(ctx: &ServerContext) -> Result<(), AppError> {
    let session = session().await?;
    let uid: Option<i64> = session.get(USER_ID).await.map_err(internal)?;
    let handle: Option<String> = session.get(HANDLE).await.map_err(internal)?;
    if let (Some(uid), Some(handle)) = (uid, handle.as_deref().and_then(SessionHandle::parse)) {
        let now = ctx.accounts.clock().now();
        // Already revoked when the user signed out everywhere: then nothing is recorded again.
        let by = match ctx.accounts.user(UserId(uid)).await.map_err(super::account_error)? {
            Some(user) => super::acting(&user).await,
            None => attesta_core::evidence::Acting::system(attesta_core::evidence::PersonalData::none()),
        };
        let reason = attesta_core::sessions::RevokeReason::SignedOut;
        ctx.sessions.revoke(UserId(uid), &handle, now, &by, reason).await.map_err(internal)?;
    }
    session.flush().await.map_err(internal)
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
