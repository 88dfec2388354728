//! Signing in and out, and the first-run setup of the owner account.
//!
//! Sessions live on the server (see `ssr::session`); the browser only holds an httpOnly cookie
//! with a random session id, so no script can read a credential.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the UI may know about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDto {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
}

/// Single sign-on as the login page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoInfo {
    /// The provider's name: "Sign in with <display_name>".
    pub display_name: String,
    /// SSO is the only way in: no password form, no first-run setup.
    pub only: bool,
}

/// Who is signed in, and whether the instance still needs its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    pub user: Option<UserDto>,
    pub needs_setup: bool,
    pub sso: Option<SsoInfo>,
}

/// Refuses password sign-in and setup when SSO is the only way in.
#[cfg(feature = "ssr")]
fn refuse_when_sso_only(ctx: &crate::ssr::ServerContext) -> Result<(), AppError> {
    match &ctx.sso {
        Some(sso) if sso.only => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

#[server(prefix = "/api", endpoint = "session")]
pub async fn get_session() -> Result<SessionState, AppError> {
    crate::ssr::respond(get_session_inner().await)
}

#[cfg(feature = "ssr")]
async fn get_session_inner() -> Result<SessionState, AppError> {
    use crate::ssr::{context, session};
    let ctx = context()?;
    let user = session::current_user(&ctx).await?;
    // With SSO as the only way in, the first SSO sign-in makes the owner: there is no setup.
    let sso_only = ctx.sso.as_ref().is_some_and(|s| s.only);
    let needs_setup = match user {
        Some(_) => false,
        None if sso_only => false,
        None => ctx.accounts.needs_setup().await.map_err(crate::ssr::account_error)?,
    };
    Ok(SessionState { user: user.map(crate::ssr::user_dto), needs_setup, sso: ctx.sso.clone() })
}

#[server(prefix = "/api", endpoint = "setup")]
pub async fn set_up(name: String, email: String, password: String, password_confirm: String) -> Result<(), AppError> {
    crate::ssr::respond(set_up_inner(name, email, password, password_confirm).await)
}

#[cfg(feature = "ssr")]
async fn set_up_inner(name: String, email: String, password: String, password_confirm: String) -> Result<(), AppError> {
    use crate::ssr::{context, session};
    if password != password_confirm {
        return Err(AppError::validation("password_confirm", "the two passwords differ"));
    }
    let ctx = context()?;
    refuse_when_sso_only(&ctx)?;
    let by = crate::ssr::acting_as_system(&email, &name).await;
    let user = ctx.accounts.set_up_owner(&name, &email, &password, &by).await.map_err(crate::ssr::account_error)?;
    tracing::info!(user_id = %user.id, "owner account created by setup");
    session::start(&ctx, &user).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/api", endpoint = "login")]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    crate::ssr::respond(log_in_inner(email, password).await)
}

#[cfg(feature = "ssr")]
async fn log_in_inner(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::{client_address, context, session};
    let ctx = context()?;
    if let Err(e) = refuse_when_sso_only(&ctx) {
        tracing::info!("password sign-in refused: SSO is the only way in");
        return Err(e);
    }
    let client = client_address().await;
    let attempt =
        attesta_core::accounts::LoginAttempt { email: &email, password: &password, client_address: client.as_deref() };
    match ctx.accounts.log_in(attempt).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, "signed in");
            session::start(&ctx, &user).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        Err(e) => {
            tracing::info!(reason = %e, "sign-in refused");
            Err(crate::ssr::account_error(e))
        }
    }
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn log_out() -> Result<(), AppError> {
    crate::ssr::respond(log_out_inner().await)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Signing out ends every session of the user, on every device, at once (their open tabs leave
/// within seconds); ending one other device only is on the sessions page.
#[cfg(feature = "ssr")]
async fn log_out_inner() -> Result<(), AppError> {
    use crate::ssr::{account_error, context, internal, session};
    let ctx = context()?;
    if let Some((user, _)) = session::current(&ctx).await? {
        let now = ctx.accounts.clock().now();
        let by = crate::ssr::acting(&user).await;
        let reason = attesta_core::sessions::RevokeReason::AllRevoked;
        let ended = ctx.sessions.revoke_all(user.id, None, now, &by, reason).await.map_err(internal)?;
        ctx.accounts.end_all_sessions(user.id).await.map_err(account_error)?;
        tracing::info!(user_id = %user.id, sessions = ended, "signed out everywhere");
    }
    session::end(&ctx).await
}

/// The auth actions and the session resource, shared by every page through context so that a
/// sign-in or sign-out anywhere refreshes the header too.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub log_in: ServerAction<LogIn>,
    pub log_out: ServerAction<LogOut>,
    pub set_up: ServerAction<SetUp>,
    pub session: Resource<Result<SessionState, AppError>>,
}

pub fn provide_auth_context() {
    let log_in = ServerAction::<LogIn>::new();
    let log_out = ServerAction::<LogOut>::new();
    let set_up = ServerAction::<SetUp>::new();
    // Blocking: the server waits for it before sending the head, so a page that redirects (to
    // setup or sign-in) answers with a real 302 instead of streaming a page that then moves.
    // Only a successful sign-in or setup changes who is signed in: a failed attempt must not
    // refetch the session and re-render the form the person is typing into again.
    let session = Resource::new_blocking(
        move || {
            let signed_in = log_in.value().with(|v| matches!(v, Some(Ok(())))).then(|| log_in.version().get());
            let set_up_done = set_up.value().with(|v| matches!(v, Some(Ok(())))).then(|| set_up.version().get());
            (signed_in, log_out.version().get(), set_up_done)
        },
        |_| get_session(),
    );
    provide_context(AuthContext { log_in, log_out, set_up, session });
}

pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}
