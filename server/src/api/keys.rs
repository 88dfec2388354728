//! API keys in the database: create (the secret is returned once), list, revoke, and the lookup
//! every `/api/v1` request makes. The rules (format, hash, scopes) are `attesta_core::api_keys`.
//!
//! Creating and revoking a key are recorded in the instance chain, each in the transaction
//! that makes the change (the key by its public id and its secret's hash, never the secret).

use crate::evidence::{EffectError, EvidenceError, InstanceLog};
use attesta_core::api_keys::{ApiKey, PUBLIC_ID_BYTES, PublicId, SECRET_BYTES, Scopes, clean_name};
use attesta_core::evidence::Acting;
use attesta_core::evidence::Sha256;
use attesta_core::evidence::instance::{ApiKeyCreated, ApiKeyRevoked, InstanceEvent, user_ref};
use attesta_core::ports::Entropy;
use attesta_core::{EmailAddress, User, UserId};
use sqlx::{AnyPool, FromRow};
use std::collections::HashMap;

/// `last_used_at` is written at most this often per key (microseconds), not on every request.
const LAST_USED_EVERY_MICROS: i64 = 60_000_000;

/// A key as lists show it (never the secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub id: i64,
    pub public_id: String,
    pub user_id: i64,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(FromRow)]
struct KeyRow {
    id: i64,
    public_id: String,
    user_id: i64,
    name: String,
    scopes: String,
    secret_hash: Vec<u8>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl KeyRow {
    fn info(&self) -> KeyInfo {
        KeyInfo {
            id: self.id,
            public_id: self.public_id.clone(),
            user_id: self.user_id,
            name: self.name.clone(),
            // Stored only by `create`, from parsed scopes; an unreadable value grants nothing.
            scopes: Scopes::parse(&self.scopes).unwrap_or_default(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, public_id, user_id, name, scopes, secret_hash, created_at, last_used_at, revoked_at";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(#[from] attesta_core::api_keys::ApiKeyError),
    #[error("no such user")]
    UnknownUser,
    #[error("no such key")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("recording the change: {0}")]
    Evidence(EvidenceError),
}

/// Why a presented key was not accepted. The client is told only "invalid key".
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    Unknown,
    WrongSecret,
    Revoked,
    UserDisabled,
}

/// What a refused key change means for the caller.
const NO_SUCH_USER: &str = "no such user";
const NO_SUCH_KEY: &str = "no such key";

/// Creates a key for `user_id` by `by`, recorded in the instance chain (`now` is also the
/// record's time); the returned [`ApiKey`] is the only copy of the secret.
pub async fn create(
    instance: &InstanceLog,
    entropy: &dyn Entropy,
    by: &Acting,
    user_id: i64,
    name: &str,
    scopes: &Scopes,
    now: i64,
) -> Result<(ApiKey, KeyInfo), KeyError> {
    let name = clean_name(name)?;
    let key = fresh_key(entropy);
    let act = InstanceEvent::ApiKeyCreated(ApiKeyCreated {
        api_key: format!("api_key:{}", key.public_id().as_str()),
        user: user_ref(UserId(user_id)),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        secret_sha256: key.secret_hash(),
    });
    let (public_id, scopes_text, secret_hash) =
        (key.public_id().as_str().to_owned(), scopes.to_text(), key.secret_hash().as_bytes().to_vec());
    let effect: crate::evidence::Effect = Box::new(move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO api_keys (public_id, user_id, name, scopes, secret_hash, created_at) \
                 SELECT $1, id, $3, $4, $5, $6 FROM users WHERE id = $2",
            )
            .bind(&public_id)
            .bind(user_id)
            .bind(&name)
            .bind(&scopes_text)
            .bind(&secret_hash)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(EffectError::Refused(NO_SUCH_USER.to_owned()));
            }
            Ok(())
        })
    });
    match instance.record(&act, by, Some(effect)).await {
        Ok(_) => {}
        Err(EvidenceError::Refused(why)) if why == NO_SUCH_USER => return Err(KeyError::UnknownUser),
        Err(e) => return Err(KeyError::Evidence(e)),
    }
    let row: KeyRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE public_id = $1"))
        .bind(key.public_id().as_str())
        .fetch_one(instance.log().pool())
        .await?;
    tracing::info!(api_key = %row.public_id, user_id, scopes = %row.scopes, "API key created");
    Ok((key, row.info()))
}

/// A key for the user with this email (the command line's way in, by the operator).
pub async fn create_for_email(
    instance: &InstanceLog,
    entropy: &dyn Entropy,
    email: &EmailAddress,
    name: &str,
    scopes: &Scopes,
    now: i64,
) -> Result<(ApiKey, KeyInfo), KeyError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(instance.log().pool())
        .await?;
    create(instance, entropy, &Acting::operator(), id.ok_or(KeyError::UnknownUser)?, name, scopes, now).await
}

fn fresh_key(entropy: &dyn Entropy) -> ApiKey {
    use attesta_core::entropy::EntropyExt as _;
    let public: [u8; PUBLIC_ID_BYTES] = entropy.bytes();
    let secret: [u8; SECRET_BYTES] = entropy.bytes();
    ApiKey::from_random(public, secret)
}

/// The user's keys, newest first, revoked ones included.
pub async fn list(pool: &AnyPool, user_id: i64) -> Result<Vec<KeyInfo>, KeyError> {
    let rows: Vec<KeyRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(user_id)
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(KeyRow::info).collect())
}

/// Revokes one of the user's keys by `by`, recorded in the instance chain; it stops working
/// with the next request. Revoking a revoked key again changes (and records) nothing.
pub async fn revoke(
    instance: &InstanceLog,
    by: &Acting,
    user_id: i64,
    public_id: &str,
    now: i64,
) -> Result<(), KeyError> {
    let revoked: Option<Option<i64>> =
        sqlx::query_scalar("SELECT revoked_at FROM api_keys WHERE public_id = $1 AND user_id = $2")
            .bind(public_id)
            .bind(user_id)
            .fetch_optional(instance.log().pool())
            .await?;
    match revoked {
        None => return Err(KeyError::NotFound),
        Some(Some(_)) => return Ok(()),
        Some(None) => {}
    }
    let act = InstanceEvent::ApiKeyRevoked(ApiKeyRevoked {
        api_key: format!("api_key:{public_id}"),
        user: user_ref(UserId(user_id)),
    });
    let key = public_id.to_owned();
    let effect: crate::evidence::Effect = Box::new(move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at = $3 WHERE public_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(&key)
            .bind(user_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(EffectError::Refused(NO_SUCH_KEY.to_owned()));
            }
            Ok(())
        })
    });
    match instance.record(&act, by, Some(effect)).await {
        Ok(_) => {}
        // Revoked by someone else in between: it is revoked, which is what was asked.
        Err(EvidenceError::Refused(why)) if why == NO_SUCH_KEY => return Ok(()),
        Err(e) => return Err(KeyError::Evidence(e)),
    }
    tracing::info!(api_key = %public_id, user_id, "API key revoked");
    Ok(())
}

/// Every key's name by public id, for the audit timeline ("via API key 'CRM'").
pub async fn names(pool: &AnyPool) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT public_id, name FROM api_keys").fetch_all(pool).await?;
    Ok(rows.into_iter().collect())
}

/// Checks a presented key: well-formed, known, the right secret (constant time), not revoked,
/// its user not disabled. Returns the key and its user, and notes the use (at most once a
/// minute per key).
pub async fn authenticate(
    pool: &AnyPool,
    accounts: &attesta_core::AccountService,
    presented: &str,
    now: i64,
) -> Result<(KeyInfo, User), Rejection> {
    let key = ApiKey::parse(presented).map_err(|_| Rejection::Malformed)?;
    let row: Option<KeyRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE public_id = $1"))
        .bind(key.public_id().as_str())
        .fetch_optional(pool)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading an API key");
            Rejection::Unknown
        })?;
    let row = row.ok_or(Rejection::Unknown)?;
    let stored =
        <[u8; 32]>::try_from(row.secret_hash.as_slice()).map(Sha256::from_bytes).map_err(|_| Rejection::Unknown)?;
    if !key.matches(&stored) {
        return Err(Rejection::WrongSecret);
    }
    if row.revoked_at.is_some() {
        return Err(Rejection::Revoked);
    }
    let user = match accounts.user(attesta_core::UserId(row.user_id)).await {
        Ok(Some(user)) if !user.disabled => user,
        Ok(_) => return Err(Rejection::UserDisabled),
        Err(e) => {
            tracing::error!(error = %e, "reading an API key's user");
            return Err(Rejection::Unknown);
        }
    };
    if row.last_used_at.is_none_or(|at| now - at >= LAST_USED_EVERY_MICROS) {
        let result = sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(row.id)
        .bind(now)
        .bind(now - LAST_USED_EVERY_MICROS)
        .execute(pool)
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "noting an API key's use");
        }
    }
    Ok((row.info(), user))
}

/// The public id as the core type (for the audit actor).
pub fn public_id(info: &KeyInfo) -> Option<PublicId> {
    PublicId::parse(&info.public_id).ok()
}

/// The settings page's view of the key store (`attesta_app::ssr::api_keys::ApiKeysPort`).
pub struct KeysPort {
    pub pool: AnyPool,
    pub instance: InstanceLog,
    pub ports: crate::Ports,
}

fn row_of(info: KeyInfo) -> attesta_app::api::api_keys::ApiKeyRow {
    attesta_app::api::api_keys::ApiKeyRow {
        prefix: format!("{}_{}", attesta_core::api_keys::PREFIX, info.public_id),
        public_id: info.public_id,
        name: info.name,
        scopes: info.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created_at: info.created_at,
        last_used_at: info.last_used_at,
        revoked_at: info.revoked_at,
    }
}

fn app_error(e: KeyError) -> attesta_app::error::AppError {
    use attesta_app::error::AppError;
    match e {
        KeyError::Invalid(e) => AppError::validation("name", e.to_string()),
        KeyError::UnknownUser | KeyError::NotFound => AppError::NotFound,
        KeyError::Database(e) => attesta_app::ssr::internal(format!("API keys: {e}")),
        KeyError::Evidence(e) => attesta_app::ssr::internal(format!("API keys: {e}")),
    }
}

#[async_trait::async_trait]
impl attesta_app::ssr::api_keys::ApiKeysPort for KeysPort {
    async fn list(
        &self,
        user: &User,
    ) -> Result<Vec<attesta_app::api::api_keys::ApiKeyRow>, attesta_app::error::AppError> {
        Ok(list(&self.pool, user.id.0).await.map_err(app_error)?.into_iter().map(row_of).collect())
    }

    async fn create(
        &self,
        user: &User,
        name: &str,
        scopes: &Scopes,
    ) -> Result<attesta_app::api::api_keys::CreatedApiKey, attesta_app::error::AppError> {
        let by = attesta_app::ssr::acting(user).await;
        let now = self.ports.clock.now().as_micros();
        let (key, info) =
            create(&self.instance, &*self.ports.entropy, &by, user.id.0, name, scopes, now).await.map_err(app_error)?;
        Ok(attesta_app::api::api_keys::CreatedApiKey { secret: key.expose(), row: row_of(info) })
    }

    async fn revoke(&self, user: &User, public_id: &str) -> Result<(), attesta_app::error::AppError> {
        let by = attesta_app::ssr::acting(user).await;
        revoke(&self.instance, &by, user.id.0, public_id, self.ports.clock.now().as_micros()).await.map_err(app_error)
    }
}
