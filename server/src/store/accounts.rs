//! The accounts store (users and sign-in throttling), on either database through `sqlx::Any`.
//!
//! Creating, disabling and re-enabling a user are recorded in the instance chain, each in the
//! transaction that makes the change.

use crate::evidence::{EffectError, EvidenceError, InstanceLog};
use crate::store::db::Flag;
use async_trait::async_trait;
use attesta_core::accounts::NewUser;
use attesta_core::evidence::Acting;
use attesta_core::evidence::instance::{InstanceEvent, SignIn, UserCreated, user_access, user_ref};
use attesta_core::ports::{AccountStore, StoreError, StoredUser, ThrottleKey};
use attesta_core::{DisplayName, EmailAddress, Role, Timestamp, User, UserId};
use sqlx::{AnyPool, FromRow};

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    instance: InstanceLog,
}

/// Why a user insert was refused inside its transaction.
const NOT_EMPTY: &str = "a user exists";
const EMAIL_TAKEN: &str = "the email is taken";
const ID_TAKEN: &str = "the id was taken meanwhile";
const NO_USER: &str = "no such user";

impl SqlStore {
    pub fn new(pool: AnyPool, instance: InstanceLog) -> Self {
        Self { pool, instance }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[derive(FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    password_hash: Option<String>,
    #[sqlx(try_from = "crate::store::db::Flag")]
    disabled: bool,
    session_generation: i64,
    created_at: i64,
}

impl UserRow {
    fn into_stored(self) -> Result<StoredUser, StoreError> {
        let corrupt = |what: &str| StoreError(format!("user {} has an invalid {what} in the database", self.id));
        let user = User {
            id: UserId(self.id),
            email: EmailAddress::parse(&self.email).map_err(|_| corrupt("email"))?,
            name: DisplayName::parse(&self.name).map_err(|_| corrupt("name"))?,
            role: Role::parse(&self.role).map_err(|_| corrupt("role"))?,
            disabled: self.disabled,
            session_generation: self.session_generation,
            created_at: Timestamp::from_micros(self.created_at),
        };
        Ok(StoredUser { user, password_hash: self.password_hash })
    }
}

const USER_COLUMNS: &str = "id, email, name, role, password_hash, disabled, session_generation, created_at";

fn db(e: sqlx::Error) -> StoreError {
    StoreError(e.to_string())
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await.map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_user(
        &self,
        user: &NewUser,
        password_hash: Option<&str>,
        only_if_empty: bool,
        by: &Acting,
    ) -> Result<Option<User>, StoreError> {
        // The event names the new user's id, so the id is chosen before the transaction (the
        // next rowid) and inserted explicitly; if another creation took it meanwhile, the
        // transaction is refused and this tries the next one. Inside the transaction (the
        // database's write lock) "no user exists yet", the email's uniqueness and the id are
        // checked together with the insert.
        for _ in 0..8 {
            let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM users")
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
            let act = InstanceEvent::UserCreated(UserCreated {
                user: user_ref(UserId(id)),
                role: user.role.as_str().to_owned(),
                sign_in: if password_hash.is_some() { SignIn::Password } else { SignIn::Sso },
            });
            let (email, name, role, hash, at) = (
                user.email.as_str().to_owned(),
                user.name.as_str().to_owned(),
                user.role.as_str(),
                password_hash.map(str::to_owned),
                user.created_at.as_micros(),
            );
            let effect: crate::evidence::Effect = Box::new(move |conn| {
                Box::pin(async move {
                    let (Flag(any), Flag(email_taken), Flag(id_taken)): (Flag, Flag, Flag) = sqlx::query_as(
                        "SELECT EXISTS (SELECT 1 FROM users), EXISTS (SELECT 1 FROM users WHERE email = $1), \
                         EXISTS (SELECT 1 FROM users WHERE id = $2)",
                    )
                    .bind(&email)
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                    let refused = |why: &str| Err(EffectError::Refused(why.to_owned()));
                    if only_if_empty && any {
                        return refused(NOT_EMPTY);
                    }
                    if email_taken {
                        return refused(EMAIL_TAKEN);
                    }
                    if id_taken {
                        return refused(ID_TAKEN);
                    }
                    sqlx::query(
                        "INSERT INTO users (id, email, name, role, password_hash, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(&email)
                    .bind(&name)
                    .bind(role)
                    .bind(&hash)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            });
            match self.instance.record(&act, by, Some(effect)).await {
                Ok(_) => return self.user_by_id(UserId(id)).await,
                Err(EvidenceError::Refused(why)) if why == NOT_EMPTY || why == EMAIL_TAKEN => return Ok(None),
                Err(EvidenceError::Refused(why)) if why == ID_TAKEN => continue,
                Err(e) => return Err(StoreError(e.to_string())),
            }
        }
        Err(StoreError("creating a user: the next id kept being taken".to_owned()))
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<StoredUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> =
            sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(UserRow::into_stored).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(|r| r.into_stored().map(|s| s.user)).transpose()
    }

    async fn record_failure(&self, keys: &[ThrottleKey], at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                .bind(key.storage_key())
                .bind(at.as_micros())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn failures_since(&self, key: &ThrottleKey, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar("SELECT at FROM login_failures WHERE key = $1 AND at > $2")
            .bind(key.storage_key())
            .bind(since.as_micros())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(Timestamp::from_micros).collect())
    }

    async fn clear_failures(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key.storage_key())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows: Vec<UserRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.into_iter().map(|r| r.into_stored().map(|s| s.user)).collect()
    }

    async fn set_disabled(&self, id: UserId, disabled: bool, by: &Acting) -> Result<Option<User>, StoreError> {
        let effect: crate::evidence::Effect = Box::new(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE users SET disabled = $2, session_generation = session_generation + $2 WHERE id = $1",
                )
                .bind(id.0)
                .bind(i64::from(disabled))
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(EffectError::Refused(NO_USER.to_owned()));
                }
                Ok(())
            })
        });
        match self.instance.record(&user_access(id, disabled), by, Some(effect)).await {
            Ok(_) => self.user_by_id(id).await,
            Err(EvidenceError::Refused(why)) if why == NO_USER => Ok(None),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }

    async fn bump_session_generation(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET session_generation = session_generation + 1 WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// Deletes failed sign-ins older than `older_than`; they no longer count for anything.
pub async fn prune_login_failures(pool: &AnyPool, older_than: Timestamp) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(older_than.as_micros())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected())
}
