//! The browser sessions' store (tower-sessions) in the `web_sessions` table, on either database.
//!
//! Written here rather than taken from `tower-sessions-sqlx-store` because that crate has one
//! store per database with different tables, and reads the system clock: this one runs the
//! same SQL on SQLite and PostgreSQL and asks the `Clock` port what time it is, so a test that
//! moves the clock sees sessions expire.

use async_trait::async_trait;
use attesta_core::Timestamp;
use attesta_core::ports::Clock;
use sqlx::AnyPool;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// How many times `create` draws a new id when the one drawn is taken (2^-128 each).
const CREATE_ATTEMPTS: usize = 8;

#[derive(Clone)]
pub struct WebSessions {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WebSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSessions").finish_non_exhaustive()
    }
}

impl WebSessions {
    pub fn new(pool: AnyPool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

impl WebSessions {
    /// The record's expiry on the `Clock` port's time, in microseconds since the epoch (the
    /// unit of every stored time). tower-sessions sets `expiry_date` from the system clock; what
    /// it means is "this long from now", so that remaining lifetime is counted from the port's
    /// now. With the system clock the two agree; with a moved test clock a session signed in
    /// after the move lives as long as it should instead of being born expired.
    #[expect(
        clippy::disallowed_methods,
        reason = "tower-sessions dates the expiry on the system clock; the same clock turns it back into a lifetime"
    )]
    fn expires_at(&self, record: &Record) -> i64 {
        let remaining = (record.expiry_date - time::OffsetDateTime::now_utc()).whole_microseconds();
        let remaining = i64::try_from(remaining).unwrap_or(if remaining < 0 { i64::MIN } else { i64::MAX });
        self.clock.now().as_micros().saturating_add(remaining)
    }
}

#[async_trait]
impl SessionStore for WebSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..CREATE_ATTEMPTS {
            let inserted = sqlx::query(
                "INSERT INTO web_sessions (id, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(encode(record)?)
            .bind(self.expires_at(record))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(session_store::Error::Backend("no free session id after several draws".to_owned()))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(self.expires_at(record))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM web_sessions WHERE id = $1 AND expires_at > $2")
                .bind(id.to_string())
                .bind(self.clock.now().as_micros())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        // A record this build cannot read (written by an older one) is no session: the user
        // signs in again rather than seeing an error.
        Ok(data.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for WebSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        purge_expired(&self.pool, self.clock.now()).await.map(|_| ()).map_err(backend)
    }
}

/// Deletes the sessions that expired by `now`; how many.
pub async fn purge_expired(pool: &AnyPool, now: Timestamp) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1").bind(now.as_micros()).execute(pool).await?;
    Ok(done.rows_affected())
}
