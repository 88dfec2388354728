//! Signed webhooks (Standard Webhooks): endpoints per user, their secrets, the outbox of
//! messages made from committed audit events, and their delivery with retries.
//!
//! - [`Webhooks`] is the service the settings page uses (through `WebhooksPort`).
//! - [`dispatch`] turns audit events past the cursor into messages (idempotently, keyed by
//!   endpoint and log index), so every committed event is announced once and an event whose
//!   transaction rolled back never is.
//! - [`worker`] delivers due messages under a lease, so several server processes never send
//!   one attempt twice at the same time, and reschedules failures per the retry schedule.
//! - [`client`] is the HTTP client that refuses internal addresses (SSRF).
//!
//! Creating, enabling or disabling, and deleting an endpoint, and rotating its secret, are
//! administrative acts: each is recorded in the instance chain in the same transaction as the
//! change (the URL and secrets only by hash and id).

pub mod client;
pub mod dispatch;
pub(crate) mod secrets;
pub mod worker;

use crate::Ports;
use crate::evidence::{EffectError, EvidenceError, InstanceLog};
use attesta_app::api::webhooks::{AttemptDto, EndpointDto, MessageDto};
use attesta_app::error::AppError;
use attesta_app::ssr::{acting, internal};
use attesta_core::User;
use attesta_core::entropy::EntropyExt as _;
use attesta_core::evidence::Sha256;
use attesta_core::evidence::instance::{
    InstanceEvent, WebhookCreated, WebhookDeleted, WebhookSecretRotated, WebhookUpdated, user_ref,
};
use attesta_core::ports::Entropy;
use attesta_core::storage::envelope::Keyring;
use attesta_core::webhooks::{MessageId, Payload, RetrySchedule, Secret, Subscription};
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a rotated-out secret keeps signing beside the new one, so receivers can switch.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// Longest endpoint URL and description accepted.
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 200;
/// How many messages the delivery log shows.
const LOG_LIMIT: i64 = 50;

/// What the configuration decides.
#[derive(Debug, Clone)]
pub struct Settings {
    pub allow_private_targets: bool,
    pub timeout: Duration,
    pub schedule: RetrySchedule,
}

/// The webhook service. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    keyring: Arc<Keyring>,
    settings: Settings,
    /// Wakes the worker when a message is queued here (test events); appends wake it through the
    /// evidence log's own notification.
    wake: Notify,
    client: client::DeliveryClient,
    /// Where endpoint changes are recorded.
    instance: InstanceLog,
    ports: Ports,
}

fn random_id(entropy: &dyn Entropy, prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(entropy.bytes::<16>()))
}

pub(crate) fn new_message_id(entropy: &dyn Entropy) -> MessageId {
    MessageId::from_random(entropy.bytes())
}

/// The user-safe error for a recorded change that did not happen.
fn not_recorded(e: EvidenceError) -> AppError {
    match e {
        EvidenceError::Refused(why) => AppError::Conflict(why),
        other => internal(other),
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    url: String,
    description: String,
    event_types: String,
    enabled: i64,
    created_at: i64,
}

impl EndpointRow {
    fn dto(self) -> EndpointDto {
        EndpointDto {
            id: self.id,
            url: self.url,
            description: self.description,
            event_types: serde_json::from_str(&self.event_types).unwrap_or_default(),
            enabled: self.enabled != 0,
            created_at: self.created_at,
        }
    }
}

impl Webhooks {
    pub fn new(
        pool: AnyPool,
        keyring: Arc<Keyring>,
        settings: Settings,
        instance: InstanceLog,
        ports: Ports,
    ) -> anyhow::Result<Self> {
        let client = client::DeliveryClient::new(settings.timeout, settings.allow_private_targets)?;
        Ok(Self { inner: Arc::new(Inner { pool, keyring, settings, wake: Notify::new(), client, instance, ports }) })
    }

    /// Now, from the Clock port, in UTC microseconds.
    pub(crate) fn now(&self) -> i64 {
        self.inner.ports.clock.now().as_micros()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The endpoint's secrets that sign now: the current one first, then any rotated-out one
    /// still within its overlap.
    pub async fn signing_secrets(&self, endpoint_id: &str, at: i64) -> anyhow::Result<Vec<Secret>> {
        secrets::live(&self.inner.pool, &self.inner.keyring, endpoint_id, at).await
    }

    async fn endpoint(&self, owner: &User, id: &str) -> Result<EndpointRow, AppError> {
        sqlx::query_as::<_, EndpointRow>(
            "SELECT id, url, description, event_types, enabled, created_at FROM webhook_endpoints \
             WHERE id = $1 AND owner_id = $2",
        )
        .bind(id)
        .bind(owner.id.0)
        .fetch_optional(&self.inner.pool)
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)
    }

    /// Checks a URL typed by a user: http(s), a host, no credentials, and (unless private
    /// targets are allowed) not an internal address literal. Names are checked again at each
    /// delivery against what they resolve to.
    fn check_url(&self, raw: &str) -> Result<String, AppError> {
        let field = |m: &str| AppError::validation("url", m);
        let raw = raw.trim();
        if raw.len() > MAX_URL {
            return Err(field("The URL is too long."));
        }
        let url = url::Url::parse(raw).map_err(|_| field("Enter a full URL, such as https://example.com/hooks."))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(field("The URL must start with https:// (or http://) and name a host."));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(field("Put credentials in the receiver's check of the signature, not in the URL."));
        }
        if !self.inner.settings.allow_private_targets && !client::host_allowed(&url) {
            return Err(field("This address is internal; webhooks go to public addresses only."));
        }
        Ok(url.to_string())
    }

    async fn queue(&self, endpoint_id: &str, payload: &Payload, log_index: Option<i64>) -> Result<String, AppError> {
        let id = new_message_id(&*self.inner.ports.entropy);
        let at = self.now();
        sqlx::query(
            "INSERT INTO webhook_messages (id, endpoint_id, event_type, log_index, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id.as_str())
        .bind(endpoint_id)
        .bind(&payload.event_type)
        .bind(log_index)
        .bind(payload.to_body())
        .bind(at)
        .execute(&self.inner.pool)
        .await
        .map_err(internal)?;
        self.inner.wake.notify_one();
        Ok(id.to_string())
    }
}

#[async_trait::async_trait]
impl attesta_app::ssr::webhooks::WebhooksPort for Webhooks {
    async fn list(&self, owner: &User) -> Result<Vec<EndpointDto>, AppError> {
        let rows = sqlx::query_as::<_, EndpointRow>(
            "SELECT id, url, description, event_types, enabled, created_at FROM webhook_endpoints \
             WHERE owner_id = $1 ORDER BY created_at, id",
        )
        .bind(owner.id.0)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(internal)?;
        Ok(rows.into_iter().map(EndpointRow::dto).collect())
    }

    async fn create(
        &self,
        owner: &User,
        url: String,
        description: String,
        event_types: Vec<String>,
    ) -> Result<EndpointDto, AppError> {
        let url = self.check_url(&url)?;
        let description = description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(AppError::validation("description", format!("At most {MAX_DESCRIPTION} characters.")));
        }
        let subscription =
            Subscription::parse(&event_types).map_err(|e| AppError::validation("event_types", e.to_string()))?;
        let id = random_id(&*self.inner.ports.entropy, "ep");
        let at = self.now();
        let secret = secrets::NewSecret::draw(&self.inner.keyring, &*self.inner.ports.entropy).map_err(internal)?;
        let names = subscription.names();
        let act = InstanceEvent::WebhookCreated(WebhookCreated {
            endpoint: id.clone(),
            owner: user_ref(owner.id),
            url_sha256: Sha256::digest(url.as_bytes()),
            event_types: names.clone(),
            secret: secret.id.clone(),
        });
        let (endpoint, owner_id) = (id.clone(), owner.id.0);
        let event_types = serde_json::to_string(&names).map_err(internal)?;
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO webhook_endpoints (id, owner_id, url, description, event_types, enabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6)",
                )
                .bind(&endpoint)
                .bind(owner_id)
                .bind(&url)
                .bind(&description)
                .bind(&event_types)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                secret.insert(conn, &endpoint, at).await?;
                Ok(())
            })
        });
        self.inner.instance.record(&act, &acting(owner).await, Some(effect)).await.map_err(not_recorded)?;
        Ok(self.endpoint(owner, &id).await?.dto())
    }

    async fn secret(&self, owner: &User, id: &str) -> Result<String, AppError> {
        let endpoint = self.endpoint(owner, id).await?;
        let secrets = self.signing_secrets(&endpoint.id, self.now()).await.map_err(internal)?;
        let current = secrets.first().ok_or_else(|| internal("an endpoint without a secret"))?;
        Ok(current.to_text().to_string())
    }

    async fn rotate(&self, owner: &User, id: &str) -> Result<(), AppError> {
        let endpoint = self.endpoint(owner, id).await?;
        let at = self.now();
        let expires_at = at + micros(ROTATION_OVERLAP);
        let secret = secrets::NewSecret::draw(&self.inner.keyring, &*self.inner.ports.entropy).map_err(internal)?;
        let act = InstanceEvent::WebhookSecretRotated(WebhookSecretRotated {
            endpoint: endpoint.id.clone(),
            owner: user_ref(owner.id),
            secret: secret.id.clone(),
            previous_expires_at: expires_at,
        });
        let endpoint_id = endpoint.id;
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE webhook_secrets SET expires_at = $1 WHERE endpoint_id = $2 AND expires_at IS NULL")
                    .bind(expires_at)
                    .bind(&endpoint_id)
                    .execute(&mut *conn)
                    .await?;
                secret.insert(conn, &endpoint_id, at).await?;
                Ok(())
            })
        });
        self.inner.instance.record(&act, &acting(owner).await, Some(effect)).await.map_err(not_recorded)?;
        Ok(())
    }

    async fn set_enabled(&self, owner: &User, id: &str, enabled: bool) -> Result<(), AppError> {
        let endpoint = self.endpoint(owner, id).await?;
        let act = InstanceEvent::WebhookUpdated(WebhookUpdated {
            endpoint: endpoint.id.clone(),
            owner: user_ref(owner.id),
            enabled,
        });
        let endpoint_id = endpoint.id;
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE webhook_endpoints SET enabled = $1 WHERE id = $2")
                    .bind(i64::from(enabled))
                    .bind(&endpoint_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        });
        self.inner.instance.record(&act, &acting(owner).await, Some(effect)).await.map_err(not_recorded)?;
        if enabled {
            self.inner.wake.notify_one();
        }
        Ok(())
    }

    async fn delete(&self, owner: &User, id: &str) -> Result<(), AppError> {
        let endpoint = self.endpoint(owner, id).await?;
        let act =
            InstanceEvent::WebhookDeleted(WebhookDeleted { endpoint: endpoint.id.clone(), owner: user_ref(owner.id) });
        let endpoint_id = endpoint.id;
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                // Secrets, messages and attempts go with it (ON DELETE CASCADE).
                let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                    .bind(&endpoint_id)
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(EffectError::Refused("this endpoint was already deleted".to_owned()));
                }
                Ok(())
            })
        });
        self.inner.instance.record(&act, &acting(owner).await, Some(effect)).await.map_err(not_recorded)?;
        Ok(())
    }

    async fn send_test(&self, owner: &User, id: &str) -> Result<String, AppError> {
        let endpoint = self.endpoint(owner, id).await?;
        if endpoint.enabled == 0 {
            return Err(AppError::Conflict("Enable the endpoint first.".to_owned()));
        }
        self.queue(&endpoint.id, &Payload::test(self.inner.ports.clock.now(), &endpoint.id), None).await
    }

    async fn log(&self, owner: &User, id: &str) -> Result<Vec<MessageDto>, AppError> {
        let endpoint = self.endpoint(owner, id).await?;
        type Row = (String, String, i64, String, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            // A test message has no log index: COALESCE sorts it the same on both databases
            // (NULLs come last in a descending order on SQLite, first on PostgreSQL).
            "SELECT id, event_type, created_at, status, attempts, last_status_code, next_attempt_at \
             FROM webhook_messages WHERE endpoint_id = $1 \
             ORDER BY created_at DESC, COALESCE(log_index, -1) DESC, id DESC LIMIT $2",
        )
        .bind(&endpoint.id)
        .bind(LOG_LIMIT)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(internal)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, event_type, created_at, status, attempts, last_status_code, next_attempt_at) in rows {
            let attempts_rows: Vec<(i64, Option<i64>, i64, Option<String>)> = sqlx::query_as(
                "SELECT attempted_at, status_code, duration_ms, error FROM webhook_attempts \
                 WHERE message_id = $1 ORDER BY attempted_at, id",
            )
            .bind(&id)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(internal)?;
            out.push(MessageDto {
                id,
                event_type,
                created_at,
                next_attempt_at: if status == "pending" { next_attempt_at } else { None },
                status,
                attempts: u32::try_from(attempts).unwrap_or(0),
                last_status_code: last_status_code.and_then(|c| u16::try_from(c).ok()),
                attempt_log: attempts_rows
                    .into_iter()
                    .map(|(attempted_at, code, duration_ms, error)| AttemptDto {
                        attempted_at,
                        status_code: code.and_then(|c| u16::try_from(c).ok()),
                        duration_ms,
                        error,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }
}
