//! Opening the database: SQLite (the embedded default) or PostgreSQL, chosen by `database.url`.
//!
//! Everything above this module talks to an [`AnyPool`] with one SQL text for both databases:
//! numbered placeholders (`$1`, which SQLite reads by number too), integers for booleans, no
//! SQLite-only functions. The few places where the two must differ (taking the write lock,
//! claiming jobs) ask [`Backend::of`] and say why.

use anyhow::Context as _;
use sqlx::Arguments as _;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Decode, Encode, Executor as _, Type};
use std::str::FromStr as _;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database a URL or a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database `url` names, or why it names none this build knows.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!("database.url: expected sqlite://path/to/file.db or postgres://user:password@host/database")
        }
    }

    /// The database a pool opens, from its URL: no connection needed, so asking is free on
    /// every job claim.
    pub fn of_pool(pool: &AnyPool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_str()).unwrap_or(Self::Sqlite)
    }

    /// The database behind an open connection.
    pub fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" { Self::Postgres } else { Self::Sqlite }
    }

    /// The statement that opens a transaction holding the database's write lock for the
    /// evidence log, so that appenders in several processes take turns: SQLite's `BEGIN
    /// IMMEDIATE` takes the file's write lock; on PostgreSQL a transaction-scoped advisory lock
    /// (released at commit or rollback, and by the server when a process dies) does the same
    /// for every instance sharing the database.
    pub async fn begin_exclusive(conn: &mut AnyConnection, lock: ExclusiveLock) -> sqlx::Result<()> {
        match Self::of(conn) {
            Self::Sqlite => {
                conn.execute("BEGIN IMMEDIATE").await?;
            }
            Self::Postgres => {
                conn.execute("BEGIN").await?;
                // Keyed by the schema too: each schema holds its own log (the test suite gives
                // every test one), and only appenders to the same log need to take turns.
                let taken = sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), $1))")
                    .bind(lock as i64)
                    .execute(&mut *conn)
                    .await;
                if let Err(e) = taken {
                    let _ = conn.execute("ROLLBACK").await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// The advisory locks taken on PostgreSQL by [`Backend::begin_exclusive`]; one number per
/// serialised writer. The values are arbitrary but fixed: every instance must agree on them.
#[derive(Debug, Clone, Copy)]
#[repr(i64)]
pub enum ExclusiveLock {
    /// The evidence sequencer: one appender at a time across instances.
    EvidenceLog = 0x6174_7465_7374_6101,
}

/// Opens (creating if needed, for SQLite) the database at `url` and brings its schema up to date.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<AnyPool> {
    let pool = open(url, max_connections).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Opens the database at `url` without touching its schema.
pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)?;
    let url = match backend {
        Backend::Sqlite => sqlite_url(url)?,
        Backend::Postgres => url.to_owned(),
    };
    let options = AnyConnectOptions::from_str(&url).context("database.url is not a valid URL")?;
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                match backend {
                    // WAL: readers never wait for the writer. synchronous=FULL: a committed
                    // write survives power loss. The busy timeout makes concurrent writers wait
                    // rather than fail: 30 s, because a writer in another process (the command
                    // line beside a running server) can wait out a commit whose fsync stalls for
                    // seconds on a busy disk (seen at 10 s in CI, with every test writing).
                    Backend::Sqlite => {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;",
                        )
                        .await?;
                    }
                    // The server's default, stated so that a cluster configured otherwise
                    // cannot acknowledge an event it could still lose.
                    Backend::Postgres => {
                        conn.execute("SET synchronous_commit = on").await?;
                    }
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .with_context(|| format!("opening the database {}", redact(&url)))
}

/// Applies the migrations of the pool's database.
pub async fn migrate(pool: &AnyPool) -> anyhow::Result<()> {
    let migrator = match Backend::of_pool(pool) {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    // A schema already up to date is left alone: the migrator would first try to create its
    // history table, which an application role without CREATE (granted by `attesta migrate`)
    // may not do even when the table exists.
    let wanted: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    if applied_versions(pool).await.is_ok_and(|applied| applied == wanted) {
        return Ok(());
    }
    migrator.run(pool).await.context("applying database migrations")
}

/// The SQLite URL with the file's folder created and `mode=rwc` (create when missing).
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(url).with_context(|| "database.url is not a valid sqlite URL")?;
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    Ok(if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A stored yes/no: an integer 0 or 1 on both databases (SQLite has no boolean type), and a
/// boolean when PostgreSQL computes one (`EXISTS (…)`, a comparison). Read rows through it with
/// `#[sqlx(try_from = "Flag")]` on a `bool` field, or as a tuple element; bind an `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty) || <bool as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <i64 as Decode<Any>>::decode(value.clone()) {
            Ok(n) => Ok(Self(n != 0)),
            Err(_) => Ok(Self(<bool as Decode<Any>>::decode(value)?)),
        }
    }
}

/// SQL built at run time with its bound values, numbering placeholders `$1, $2, …` as it goes
/// (what `sqlx::QueryBuilder` does, except that through `Any` it writes `?`, which PostgreSQL
/// does not read).
pub struct Sql<'q> {
    text: String,
    args: Result<AnyArguments<'q>, sqlx::error::BoxDynError>,
    count: usize,
}

impl<'q> Sql<'q> {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), args: Ok(AnyArguments::default()), count: 0 }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.count += 1;
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        if let Ok(args) = &mut self.args
            && let Err(e) = args.add(value)
        {
            self.args = Err(e);
        }
        self
    }

    /// The SQL text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statement, taking the bound values (build it once).
    pub fn query(&mut self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        let args = self.take_args();
        sqlx_core::query::query_with_result(&self.text, args)
    }

    pub fn query_as<T>(&mut self) -> sqlx::query::QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let args = self.take_args();
        sqlx_core::query_as::query_as_with_result(&self.text, args)
    }

    pub fn query_scalar<T>(&mut self) -> sqlx::query::QueryScalar<'_, Any, T, AnyArguments<'_>>
    where
        (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let args = self.take_args();
        sqlx_core::query_scalar::query_scalar_with_result(&self.text, args)
    }

    fn take_args(&mut self) -> Result<AnyArguments<'q>, sqlx::error::BoxDynError> {
        std::mem::replace(&mut self.args, Ok(AnyArguments::default()))
    }
}

/// What the application role of a PostgreSQL database is granted, with `{{app_role}}` and
/// `{{schema}}` to fill in (see the file's header).
const POSTGRES_GRANTS: &str = include_str!("../../../migrations/postgres/grants.sql");

/// The evidence tables: append-only, for the application and for everyone.
pub const EVIDENCE_TABLES: [&str; 5] =
    ["audit_events", "audit_personal", "log_nodes", "log_checkpoints", "state_changes"];

/// Opens the application's pool and brings the schema up to date, the way `database` says:
/// through `migrate_url` when one is configured (the migration role, which also grants the
/// application role exactly what it needs on PostgreSQL), else through the application's own
/// connection. Warns when the application's role may rewrite evidence.
pub async fn open_for_app(url: &str, migrate_url: Option<&str>, max_connections: u32) -> anyhow::Result<AnyPool> {
    match migrate_url {
        Some(migrate_url) => {
            migrate_as(migrate_url, url).await?;
        }
        None => {
            let pool = open(url, 1).await?;
            migrate(&pool).await?;
            pool.close().await;
        }
    }
    let pool = open(url, max_connections).await?;
    let excess = excess_privileges(&pool).await?;
    if !excess.is_empty() {
        tracing::warn!(
            excess = %excess.join(", "),
            "the application's database role can rewrite evidence: run `attesta migrate` with database.migrate_url \
             set to an owner role and database.url to a role of its own (see docs/SCALING.md); the triggers still \
             refuse changes, but only the grants stop a role that can drop them"
        );
    }
    Ok(pool)
}

/// Migrates the database through `migrate_url` and, on PostgreSQL, grants the role of
/// `app_url` what the application needs and nothing more. What `attesta migrate` does.
pub async fn migrate_as(migrate_url: &str, app_url: &str) -> anyhow::Result<MigrateReport> {
    let admin = open(migrate_url, 1).await?;
    let before = applied_versions(&admin).await.unwrap_or_default();
    migrate(&admin).await?;
    let after = applied_versions(&admin).await?;
    let mut report = MigrateReport { applied: after.len() - before.len().min(after.len()), granted_to: None };
    if Backend::of_pool(&admin) == Backend::Postgres {
        let app_role = role_of(app_url)?;
        let admin_role = role_of(migrate_url)?;
        if app_role != admin_role {
            let schema: String = sqlx::query_scalar("SELECT CAST(current_schema() AS TEXT)").fetch_one(&admin).await?;
            admin.execute(grants_for(&app_role, &schema)?.as_str()).await.context("granting the application role")?;
            report.granted_to = Some(app_role);
        }
    }
    admin.close().await;
    Ok(report)
}

/// What a migration did.
#[derive(Debug)]
pub struct MigrateReport {
    /// Migrations applied now (0: the schema was up to date).
    pub applied: usize,
    /// The application role granted its privileges, on PostgreSQL with a separate role.
    pub granted_to: Option<String>,
}

async fn applied_versions(pool: &AnyPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
        .fetch_all(pool)
        .await
}

/// The user name in a PostgreSQL URL (the role the connection acts as).
fn role_of(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).with_context(|| format!("{} is not a valid URL", redact(url)))?;
    let user = parsed.username();
    anyhow::ensure!(!user.is_empty(), "{} names no user: the role must be explicit", redact(url));
    Ok(percent_decode(user))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// `grants.sql` for this role and schema. Both are written as quoted identifiers; a schema name
/// also goes inside a string literal (`to_regclass`), so it must be a plain identifier.
fn grants_for(role: &str, schema: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !schema.is_empty() && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "the schema {schema:?} is not a plain lowercase identifier"
    );
    let quoted_role = format!("\"{}\"", role.replace('"', "\"\""));
    Ok(POSTGRES_GRANTS.replace("{{app_role}}", &quoted_role).replace("{{schema}}", schema))
}

/// What the pool's role may do to evidence beyond reading and appending (PostgreSQL; SQLite has
/// no roles and relies on its triggers): one line per privilege too many.
pub async fn excess_privileges(pool: &AnyPool) -> anyhow::Result<Vec<String>> {
    if Backend::of_pool(pool) == Backend::Sqlite {
        return Ok(Vec::new());
    }
    let mut excess = Vec::new();
    let Flag(superuser) =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetch_one(pool).await?;
    if superuser {
        excess.push("the role is a superuser".to_owned());
    }
    for table in EVIDENCE_TABLES {
        for privilege in ["UPDATE", "DELETE", "TRUNCATE"] {
            // The retention purge deletes personal data (never alters it: a trigger refuses).
            if table == "audit_personal" && privilege == "DELETE" {
                continue;
            }
            let Flag(held) = sqlx::query_scalar("SELECT has_table_privilege(current_user, $1, $2)")
                .bind(table)
                .bind(privilege)
                .fetch_one(pool)
                .await?;
            if held {
                excess.push(format!("{privilege} on {table}"));
            }
        }
        let Flag(owner) = sqlx::query_scalar(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables \
             WHERE schemaname = current_schema() AND tablename = $1",
        )
        .bind(table)
        .fetch_optional(pool)
        .await?
        .unwrap_or(Flag(false));
        if owner {
            excess.push(format!("owns {table} (an owner can drop its triggers)"));
        }
    }
    Ok(excess)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_name_the_role_and_schema_quoted() {
        let sql = grants_for("app\"role", "tenant_1").expect("grants");
        assert!(sql.contains("TO \"app\"\"role\""), "{sql}");
        assert!(sql.contains("IN SCHEMA tenant_1"), "{sql}");
        assert!(!sql.contains("{{"), "every placeholder filled");
        assert!(grants_for("app", "x'; DROP TABLE users; --").is_err());
        assert_eq!(role_of("postgres://attesta%5Fapp:pw@h/d").expect("role"), "attesta_app");
    }

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Backend::of_url("sqlite://data/a.db").expect("sqlite"), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u:p@h/d").expect("pg"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://u@h/d").expect("pg"), Backend::Postgres);
        assert!(Backend::of_url("mysql://h/d").is_err());
        assert_eq!(redact("postgres://u:secret@h/d"), "postgres://u:***@h/d");
    }
}
