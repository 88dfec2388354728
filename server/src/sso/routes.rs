//! `GET /auth/sso/start` and `GET /auth/sso/callback`.
//!
//! Both are top-level GET navigations, so the cross-site refusal (which guards state-changing
//! methods) does not apply, and the session cookie (SameSite=Lax) comes along on the provider's
//! redirect back. What protects the callback is the flow kept in the session: a callback whose
//! `state` is not the one this browser's session holds is refused, and the flow is removed on
//! the first callback, so the same URL never works twice.

use super::{FLOW_MAX_AGE, Refused, Sso, describe};
use attesta_app::ssr::ServerContext;
use attesta_core::sso::{SsoDecision, SsoRefusal};
use attesta_core::{EmailAddress, Timestamp, User};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    PkceCodeVerifier, SignatureVerificationError, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

/// The session key of a sign-in in progress.
const FLOW: &str = "sso_flow";

/// What `start` keeps for `callback`, in the server-side session only.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
    started_at: i64,
}

/// The routes' state: the SSO service and the app's context (to start a session).
#[derive(Clone)]
pub struct SsoState {
    pub sso: Sso,
    pub context: ServerContext,
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// Starts a sign-in: remembers the flow in the session and sends the browser to the provider.
pub async fn start(State(state): State<SsoState>, session: Session, Query(query): Query<StartQuery>) -> Response {
    match begin(&state.sso, &session, query.next.as_deref()).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(refused) => refuse(&refused),
    }
}

async fn begin(sso: &Sso, session: &Session, next: Option<&str>) -> Result<String, Refused> {
    let client = sso.client(sso.metadata().await?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge);
    for scope in &sso.inner.scopes {
        request = request.add_scope(scope.clone());
    }
    let (url, csrf, nonce) = request.url();
    let flow = Flow {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next: attesta_core::sso::next_path(next),
        started_at: sso.now().as_micros(),
    };
    session
        .insert(FLOW, flow)
        .await
        .map_err(|e| Refused::new(SsoRefusal::Internal, format!("storing the flow in the session failed: {e}")))?;
    Ok(url.to_string())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Finishes a sign-in: checks everything, then signs the person in and sends them on.
pub async fn callback(
    State(state): State<SsoState>,
    session: Session,
    Query(query): Query<CallbackQuery>,
    request: axum::extract::Request,
) -> Response {
    let meta = attesta_app::ssr::documents::RequestMeta::of_request(request.extensions(), request.headers());
    match finish(&state, &session, query, &meta).await {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(refused) => refuse(&refused),
    }
}

/// Logs why, and sends the person to the login page with the refusal's code.
fn refuse(refused: &Refused) -> Response {
    match refused.refusal {
        SsoRefusal::Internal => tracing::error!(reason = %refused.reason, "SSO sign-in failed"),
        r => tracing::warn!(refusal = r.code(), reason = %refused.reason, "SSO sign-in refused"),
    }
    Redirect::to(&format!("/login?sso_error={}", refused.refusal.code())).into_response()
}

async fn finish(
    state: &SsoState,
    session: &Session,
    query: CallbackQuery,
    meta: &attesta_app::ssr::documents::RequestMeta,
) -> Result<String, Refused> {
    let sso = &state.sso;
    // Taken out first, whatever happens next: a flow answers one callback only.
    let flow: Option<Flow> = session
        .remove(FLOW)
        .await
        .map_err(|e| Refused::new(SsoRefusal::Internal, format!("reading the session failed: {e}")))?;
    let Some(flow) = flow else {
        return Err(Refused::new(
            SsoRefusal::InvalidState,
            "no sign-in in progress in this session (used or never started)",
        ));
    };
    if query.state.as_deref() != Some(flow.state.as_str()) {
        return Err(Refused::new(SsoRefusal::InvalidState, "the state does not match this session's sign-in"));
    }
    if Timestamp::from_micros(flow.started_at).saturating_add(FLOW_MAX_AGE) <= sso.now() {
        return Err(Refused::new(SsoRefusal::InvalidState, "the sign-in was started too long ago"));
    }
    // RFC 9207: when the provider names itself in the answer, it must be ours (mix-up defence).
    if let Some(iss) = &query.iss
        && iss.trim_end_matches('/') != sso.issuer()
    {
        return Err(Refused::new(SsoRefusal::InvalidToken, format!("the answer names another issuer ({iss})")));
    }
    if let Some(error) = &query.error {
        let refusal = if error == "access_denied" { SsoRefusal::Cancelled } else { SsoRefusal::ProviderFailed };
        let description = query.error_description.as_deref().unwrap_or("");
        return Err(Refused::new(refusal, format!("the provider answered {error}: {description}")));
    }
    let Some(code) = query.code else {
        return Err(Refused::new(SsoRefusal::ProviderFailed, "the answer has neither a code nor an error"));
    };

    let identity = verify(sso, code, &flow).await?;
    let user = account_for(sso, &identity).await?;
    attesta_app::ssr::session::start_on(&state.context, session, &user, meta)
        .await
        .map_err(|e| Refused::new(SsoRefusal::Internal, format!("starting the session failed: {e:?}")))?;
    tracing::info!(user_id = %user.id, issuer = sso.issuer(), via = "sso", "signed in");
    Ok(flow.next)
}

/// Who the provider says signed in, after every check.
struct Identity {
    subject: String,
    email: EmailAddress,
    email_verified: bool,
    name: Option<String>,
}

/// Exchanges the code and verifies the ID token; reads userinfo when the token lacks the email.
async fn verify(sso: &Sso, code: String, flow: &Flow) -> Result<Identity, Refused> {
    let mut client = sso.client(sso.metadata().await?);
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Refused::new(SsoRefusal::ProviderFailed, format!("the provider has no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&sso.inner.http)
        .await
        .map_err(|e| Refused::new(SsoRefusal::InvalidToken, format!("the code exchange failed: {}", describe(&e))))?;
    let id_token =
        token.id_token().ok_or_else(|| Refused::new(SsoRefusal::InvalidToken, "the token response has no ID token"))?;
    let nonce = Nonce::new(flow.nonce.clone());

    let claims = loop {
        let clock = sso.inner.clock.clone();
        let verifier = client
            .id_token_verifier()
            .set_time_fn(move || chrono::DateTime::from_timestamp_micros(clock.now().as_micros()).unwrap_or_default());
        let outcome = id_token.claims(&verifier, &nonce).cloned();
        drop(verifier);
        match outcome {
            Ok(claims) => break claims,
            // A key we do not know: the provider may have rotated its keys. Fetch them again
            // (not too often) and try once more with them.
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => match sso
                .refetch_keys()
                .await?
            {
                Some(metadata) => client = sso.client(metadata),
                None => {
                    return Err(Refused::new(SsoRefusal::InvalidToken, "the ID token is signed with an unknown key"));
                }
            },
            Err(ClaimsVerificationError::Expired(why)) => {
                return Err(Refused::new(SsoRefusal::ExpiredToken, format!("the ID token has expired: {why}")));
            }
            Err(e) => {
                return Err(Refused::new(
                    SsoRefusal::InvalidToken,
                    format!("the ID token failed a check: {}", describe(&e)),
                ));
            }
        }
    };

    let subject = claims.subject().to_string();
    let mut email = claims.email().map(|e| e.to_string());
    let mut email_verified = claims.email_verified();
    let mut name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    if email.is_none() || email_verified.is_none() {
        // Providers put scope claims in userinfo when an access token was issued (OIDC Core
        // §5.4); the library checks that its `sub` is the ID token's.
        let info: CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|e| {
                Refused::new(
                    SsoRefusal::EmailNotVerified,
                    format!("no email in the ID token and no userinfo endpoint: {e}"),
                )
            })?
            .request_async(&sso.inner.http)
            .await
            .map_err(|e| Refused::new(SsoRefusal::ProviderFailed, format!("userinfo failed: {}", describe(&e))))?;
        email = info.email().map(|e| e.to_string());
        email_verified = info.email_verified();
        name = name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.to_string()));
    }
    let email = email.ok_or_else(|| Refused::new(SsoRefusal::EmailNotVerified, "the provider sent no email"))?;
    let email = EmailAddress::parse(&email).map_err(|_| {
        Refused::new(SsoRefusal::EmailNotVerified, format!("the provider's email {email:?} is not usable"))
    })?;
    Ok(Identity { subject, email, email_verified: email_verified == Some(true), name })
}

/// The account this identity signs in as, linking or creating it as the policy allows.
async fn account_for(sso: &Sso, identity: &Identity) -> Result<User, Refused> {
    let internal = |what: &str, e: &dyn std::fmt::Display| Refused::new(SsoRefusal::Internal, format!("{what}: {e}"));
    let inner = &sso.inner;
    let issuer = sso.issuer();
    let linked =
        match inner.identities.user_of(issuer, &identity.subject).await.map_err(|e| internal("identity", &e))? {
            Some(id) => inner.accounts.user(id).await.map_err(|e| internal("user", &e))?,
            None => None,
        };
    let same_email = match linked {
        Some(_) => None,
        None => inner.accounts.user_by_email(&identity.email).await.map_err(|e| internal("user by email", &e))?,
    };
    let decision = attesta_core::sso::decide(
        linked.as_ref(),
        same_email.as_ref(),
        &identity.email,
        identity.email_verified,
        &inner.policy,
    )
    .map_err(|refusal| {
        Refused::new(
            refusal,
            format!("subject {} with email {} ({})", identity.subject, identity.email, refusal.code()),
        )
    })?;
    let now = sso.now();
    let user = match decision {
        SsoDecision::SignIn(_) => linked.ok_or_else(|| internal("decision", &"signed in without an account"))?,
        SsoDecision::Link(_) => {
            let user = same_email.ok_or_else(|| internal("decision", &"linked without an account"))?;
            inner
                .identities
                .link(issuer, &identity.subject, user.id, &identity.email, now)
                .await
                .map_err(|e| internal("link", &e))?;
            tracing::info!(user_id = %user.id, issuer, "SSO identity linked to an existing account");
            user
        }
        SsoDecision::Create => {
            let name = attesta_core::sso::account_name(identity.name.as_deref(), &identity.email);
            // The account creates itself: the server acts, with the person's email and name.
            let by = attesta_core::evidence::Acting::system(attesta_core::evidence::PersonalData {
                email: Some(attesta_core::evidence::Text::truncated(identity.email.as_str())),
                name: Some(attesta_core::evidence::Text::truncated(&name)),
                ..attesta_core::evidence::PersonalData::none()
            });
            let user = inner
                .accounts
                .create_sso_user(&name, &identity.email, &by)
                .await
                .map_err(|e| internal("create", &e))?;
            inner
                .identities
                .link(issuer, &identity.subject, user.id, &identity.email, now)
                .await
                .map_err(|e| internal("link", &e))?;
            tracing::info!(user_id = %user.id, issuer, role = %user.role, "account created by SSO sign-in");
            user
        }
    };
    inner
        .identities
        .signed_in(issuer, &identity.subject, &identity.email, now)
        .await
        .map_err(|e| internal("record", &e))?;
    Ok(user)
}
