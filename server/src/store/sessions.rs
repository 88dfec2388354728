//! The session registry in SQLite (`user_sessions`, migration 0006). Revocations are recorded
//! in the instance chain, each in the transaction that makes it.

use crate::evidence::{EffectError, EvidenceError, InstanceLog};
use async_trait::async_trait;
use attesta_core::evidence::Acting;
use attesta_core::evidence::instance::{InstanceEvent, SessionRevoked, user_ref};
use attesta_core::ports::StoreError;
use attesta_core::sessions::{RevokeReason, SessionHandle, SessionRecord, SessionRegistry};
use attesta_core::{Timestamp, UserId};
use sqlx::{AnyPool, FromRow};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
pub struct SqlSessions {
    pool: AnyPool,
    instance: InstanceLog,
}

impl SqlSessions {
    pub fn new(pool: AnyPool, instance: InstanceLog) -> Self {
        Self { pool, instance }
    }
}

/// Deletes records that can no longer let anyone in (revoked, or last seen before `before`).
pub async fn purge(pool: &AnyPool, before: Timestamp) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM user_sessions WHERE revoked_at IS NOT NULL OR last_seen_at < $1")
        .bind(before.as_micros())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected())
}

/// The refusal of an effect that found nothing to revoke: no event is written for it.
const NOTHING: &str = "no live session to revoke";

#[derive(FromRow)]
struct Row {
    handle: String,
    user_id: i64,
    created_at: i64,
    last_seen_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    revoked_at: Option<i64>,
}

impl Row {
    fn into_record(self) -> Result<SessionRecord, StoreError> {
        let handle = SessionHandle::parse(&self.handle)
            .ok_or_else(|| StoreError(format!("session handle {:?} is malformed in the database", self.handle)))?;
        Ok(SessionRecord {
            handle,
            user_id: UserId(self.user_id),
            created_at: Timestamp::from_micros(self.created_at),
            last_seen_at: Timestamp::from_micros(self.last_seen_at),
            ip: self.ip,
            user_agent: self.user_agent,
            revoked_at: self.revoked_at.map(Timestamp::from_micros),
        })
    }
}

const COLUMNS: &str = "handle, user_id, created_at, last_seen_at, ip, user_agent, revoked_at";

fn db(e: sqlx::Error) -> StoreError {
    StoreError(e.to_string())
}

#[async_trait]
impl SessionRegistry for SqlSessions {
    async fn insert(&self, r: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_sessions (handle, user_id, created_at, last_seen_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.handle.as_str())
        .bind(r.user_id.0)
        .bind(r.created_at.as_micros())
        .bind(r.last_seen_at.as_micros())
        .bind(r.ip.as_deref())
        .bind(r.user_agent.as_deref())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn get(&self, handle: &SessionHandle) -> Result<Option<SessionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM user_sessions WHERE handle = $1");
        let row: Option<Row> =
            sqlx::query_as(&sql).bind(handle.as_str()).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(Row::into_record).transpose()
    }

    async fn touch(
        &self,
        handle: &SessionHandle,
        at: Timestamp,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE user_sessions SET last_seen_at = CASE WHEN last_seen_at > $2 THEN last_seen_at ELSE $2 END, \
             ip = $3, user_agent = COALESCE($4, user_agent) WHERE handle = $1 AND revoked_at IS NULL",
        )
        .bind(handle.as_str())
        .bind(at.as_micros())
        .bind(ip)
        .bind(user_agent)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn revoke(
        &self,
        user: UserId,
        handle: &SessionHandle,
        at: Timestamp,
        by: &Acting,
        reason: RevokeReason,
    ) -> Result<bool, StoreError> {
        let act = InstanceEvent::SessionRevoked(SessionRevoked {
            user: user_ref(user),
            reason,
            session: Some(handle.as_str().to_owned()),
            kept: None,
        });
        let handle = handle.as_str().to_owned();
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE user_sessions SET revoked_at = $3 WHERE handle = $1 AND user_id = $2 AND revoked_at IS NULL",
                )
                .bind(&handle)
                .bind(user.0)
                .bind(at.as_micros())
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(EffectError::Refused(NOTHING.to_owned()));
                }
                Ok(())
            })
        });
        match self.instance.record(&act, by, Some(effect)).await {
            Ok(_) => Ok(true),
            Err(EvidenceError::Refused(why)) if why == NOTHING => Ok(false),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }

    async fn revoke_all(
        &self,
        user: UserId,
        keep: Option<&SessionHandle>,
        at: Timestamp,
        by: &Acting,
        reason: RevokeReason,
    ) -> Result<u64, StoreError> {
        let act = InstanceEvent::SessionRevoked(SessionRevoked {
            user: user_ref(user),
            reason,
            session: None,
            kept: keep.map(|k| k.as_str().to_owned()),
        });
        let keep = keep.map(|k| k.as_str().to_owned());
        let ended = Arc::new(AtomicU64::new(0));
        let count = ended.clone();
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE user_sessions SET revoked_at = $3 \
                     WHERE user_id = $1 AND revoked_at IS NULL AND handle <> COALESCE($2, '')",
                )
                .bind(user.0)
                .bind(keep.as_deref())
                .bind(at.as_micros())
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(EffectError::Refused(NOTHING.to_owned()));
                }
                count.store(done.rows_affected(), Ordering::SeqCst);
                Ok(())
            })
        });
        match self.instance.record(&act, by, Some(effect)).await {
            Ok(_) => Ok(ended.load(Ordering::SeqCst)),
            Err(EvidenceError::Refused(why)) if why == NOTHING => Ok(0),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }

    async fn list(&self, user: UserId, seen_since: Timestamp) -> Result<Vec<SessionRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL AND last_seen_at > $2 \
             ORDER BY last_seen_at DESC, created_at DESC"
        );
        let rows: Vec<Row> =
            sqlx::query_as(&sql).bind(user.0).bind(seen_since.as_micros()).fetch_all(&self.pool).await.map_err(db)?;
        rows.into_iter().map(Row::into_record).collect()
    }

    async fn purge(&self, before: Timestamp) -> Result<u64, StoreError> {
        purge(&self.pool, before).await
    }
}
