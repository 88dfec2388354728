//! Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE (S256).
//!
//! `GET /auth/sso/start` makes a fresh `state`, `nonce` and PKCE verifier, keeps them (with where
//! to go afterwards) in this browser's server-side session, and sends the browser to the
//! provider. `GET /auth/sso/callback` takes that flow out of the session (so a callback works
//! once), checks `state` (and the provider's `iss` answer parameter, RFC 9207), exchanges the code
//! with the verifier, verifies the ID token (signature against the provider's keys, issuer,
//! audience, expiry by our `Clock`, nonce), reads the email from userinfo when the token lacks
//! it, requires `email_verified`, and lets `attesta_core::sso::decide` say whether this identity
//! signs in, is linked, gets an account, or is refused. A refusal ends at `/login?sso_error=<code>`
//! and is logged with its reason.
//!
//! Provider metadata comes from discovery and is cached (refreshed daily); the key set is fetched
//! again when a token names a key we do not have, at most once per `KEYS_REFETCH_FLOOR`, so a
//! provider's key rotation needs no restart and a stream of bad tokens cannot make us hammer it.

pub mod http;
pub mod routes;
pub mod store;

use crate::config::SsoConfig;
use anyhow::Context as _;
use attesta_core::ports::Clock;
use attesta_core::sso::{SsoPolicy, SsoRefusal};
use attesta_core::{AccountService, Timestamp};
use openidconnect::core::{CoreClient, CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl, Scope};
use secrecy::ExposeSecret as _;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;

/// The least time between two fetches of the provider's key set.
pub const KEYS_REFETCH_FLOOR: Duration = Duration::from_secs(30);
/// How long discovered metadata (endpoints) is used before it is fetched again.
const METADATA_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// How long a started sign-in may take at the provider before its callback is refused.
pub const FLOW_MAX_AGE: Duration = Duration::from_secs(600);

/// The SSO service: configuration, the provider's cached metadata, and what it needs to find
/// and create accounts. Cheap to clone.
#[derive(Clone)]
pub struct Sso {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    scopes: Vec<Scope>,
    policy: SsoPolicy,
    http: http::ProviderHttp,
    clock: Arc<dyn Clock>,
    accounts: AccountService,
    identities: store::Identities,
    provider: tokio::sync::Mutex<Option<Discovered>>,
}

/// What discovery found, and when.
struct Discovered {
    metadata: CoreProviderMetadata,
    discovered_at: Timestamp,
    keys_fetched_at: Timestamp,
}

/// A refusal with the reason for the log (never shown to the person).
#[derive(Debug)]
pub struct Refused {
    pub refusal: SsoRefusal,
    pub reason: String,
}

impl Refused {
    pub fn new(refusal: SsoRefusal, reason: impl Into<String>) -> Self {
        Self { refusal, reason: reason.into() }
    }
}

impl Sso {
    /// The service for a configuration with SSO on (`SsoConfig::enabled`).
    pub fn new(
        config: &SsoConfig,
        public_origin: &str,
        pool: AnyPool,
        accounts: AccountService,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let issuer =
            IssuerUrl::new(config.issuer_url.trim().trim_end_matches('/').to_owned()).context("sso.issuer_url")?;
        let redirect =
            RedirectUrl::new(format!("{public_origin}/auth/sso/callback")).context("the SSO redirect URI")?;
        let secret = config.client_secret.expose_secret();
        let allowed_domains = config
            .allowed_domains
            .iter()
            .map(|d| attesta_core::sso::parse_domain(d).map_err(|e| anyhow::anyhow!("sso.allowed_domains: {e}")))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer,
                client_id: ClientId::new(config.client_id.trim().to_owned()),
                client_secret: (!secret.is_empty()).then(|| ClientSecret::new(secret.to_owned())),
                redirect,
                scopes: config.scopes.iter().filter(|s| *s != "openid").map(|s| Scope::new(s.clone())).collect(),
                policy: SsoPolicy { allowed_domains, link_existing_accounts: config.link_existing_accounts },
                http: http::ProviderHttp::new(config.http_timeout)?,
                clock,
                accounts,
                identities: store::Identities::new(pool),
                provider: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn issuer(&self) -> &str {
        self.inner.issuer.as_str()
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The provider's metadata, discovered on first use and again once a day.
    async fn metadata(&self) -> Result<CoreProviderMetadata, Refused> {
        let mut provider = self.inner.provider.lock().await;
        let now = self.now();
        if let Some(d) = provider.as_ref()
            && d.discovered_at.saturating_add(METADATA_MAX_AGE) > now
        {
            return Ok(d.metadata.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(self.inner.issuer.clone(), &self.inner.http)
            .await
            .map_err(|e| Refused::new(SsoRefusal::ProviderFailed, format!("discovery failed: {}", describe(&e))))?;
        *provider = Some(Discovered { metadata: metadata.clone(), discovered_at: now, keys_fetched_at: now });
        Ok(metadata)
    }

    /// Fetches the key set again, unless it was fetched less than `KEYS_REFETCH_FLOOR` ago.
    /// Returns the metadata with the new keys, or `None` when it is too soon.
    async fn refetch_keys(&self) -> Result<Option<CoreProviderMetadata>, Refused> {
        let mut provider = self.inner.provider.lock().await;
        let now = self.now();
        let Some(d) = provider.as_mut() else { return Ok(None) };
        if d.keys_fetched_at.saturating_add(KEYS_REFETCH_FLOOR) > now {
            return Ok(None);
        }
        let keys = CoreJsonWebKeySet::fetch_async(d.metadata.jwks_uri(), &self.inner.http).await.map_err(|e| {
            Refused::new(SsoRefusal::ProviderFailed, format!("fetching the key set failed: {}", describe(&e)))
        })?;
        tracing::info!(keys = keys.keys().len(), "fetched the SSO provider's key set again");
        d.metadata = d.metadata.clone().set_jwks(keys);
        d.keys_fetched_at = now;
        Ok(Some(d.metadata.clone()))
    }

    fn client(&self, metadata: CoreProviderMetadata) -> SsoClient {
        CoreClient::from_provider_metadata(metadata, self.inner.client_id.clone(), self.inner.client_secret.clone())
            .set_redirect_uri(self.inner.redirect.clone())
    }
}

/// The client type `from_provider_metadata` gives (authorization endpoint set, token and
/// userinfo endpoints as discovery found them).
type SsoClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// An error and its causes on one line, for the log.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
