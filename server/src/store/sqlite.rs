//! The SQLite store: WAL journal, `synchronous=FULL` (a committed write survives power loss),
//! foreign keys on, and a busy timeout so concurrent writers wait rather than fail.

use anyhow::Context as _;
use async_trait::async_trait;
use attesta_core::accounts::NewUser;
use attesta_core::ports::{AccountStore, StoreError, StoredUser, ThrottleKey};
use attesta_core::{DisplayName, EmailAddress, Role, Timestamp, User, UserId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Opens (creating if needed) the database at `url` and brings its schema up to date.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| "database.url is not a valid sqlite URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .with_context(|| format!("opening the database {url}"))?;
    MIGRATIONS.run(&pool).await.context("applying database migrations")?;
    Ok(pool)
}

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &SqlitePool {
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
impl AccountStore for SqliteStore {
    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await.map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_user(
        &self,
        user: &NewUser,
        password_hash: Option<&str>,
        only_if_empty: bool,
    ) -> Result<Option<User>, StoreError> {
        // One statement, so "no user exists yet" and the insert are atomic; the UNIQUE email
        // constraint decides races between two creations of the same address.
        let sql = format!(
            "INSERT INTO users (email, name, role, password_hash, created_at) \
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT ?6 OR NOT EXISTS (SELECT 1 FROM users) \
             ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
        );
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(user.email.as_str())
            .bind(user.name.as_str())
            .bind(user.role.as_str())
            .bind(password_hash)
            .bind(user.created_at.as_micros())
            .bind(only_if_empty)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| r.into_stored().map(|s| s.user)).transpose()
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<StoredUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
        let row: Option<UserRow> =
            sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(UserRow::into_stored).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        let row: Option<UserRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(|r| r.into_stored().map(|s| s.user)).transpose()
    }

    async fn record_failure(&self, keys: &[ThrottleKey], at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES (?1, ?2)")
                .bind(key.storage_key())
                .bind(at.as_micros())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn failures_since(&self, key: &ThrottleKey, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar("SELECT at FROM login_failures WHERE key = ?1 AND at > ?2")
            .bind(key.storage_key())
            .bind(since.as_micros())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(Timestamp::from_micros).collect())
    }

    async fn clear_failures(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = ?1")
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

    async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "UPDATE users SET disabled = ?2, session_generation = session_generation + ?2 \
             WHERE id = ?1 RETURNING {USER_COLUMNS}"
        );
        let row: Option<UserRow> =
            sqlx::query_as(&sql).bind(id.0).bind(disabled).fetch_optional(&self.pool).await.map_err(db)?;
        row.map(|r| r.into_stored().map(|s| s.user)).transpose()
    }

    async fn bump_session_generation(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET session_generation = session_generation + 1 WHERE id = ?1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// Deletes failed sign-ins older than `older_than`; they no longer count for anything.
pub async fn prune_login_failures(pool: &SqlitePool, older_than: Timestamp) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE at <= ?1")
        .bind(older_than.as_micros())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected())
}
