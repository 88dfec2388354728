//! `attesta db copy --from <url> --to <url>`: moves an instance to another database (SQLite to
//! PostgreSQL is the way to grow; PostgreSQL to SQLite and SQLite to SQLite work the same way).
//!
//! What it promises, and how:
//! - **Every row of every table.** Tables and columns are discovered in the source; the target is
//!   first brought to the latest schema ([`db::migrate`]) and must then be at exactly the source's
//!   migration versions with the same tables and columns, else the copy is refused.
//! - **The evidence byte for byte.** Each value is read as the kind the database hands over
//!   (integer, real, text, blob, null) and bound as that same kind: text is the same string,
//!   a blob the same bytes, an integer the same `i64`. Nothing is parsed or re-serialised. A value
//!   whose kind the target's column cannot hold is refused, naming the table and column.
//! - **Never a half-copy.** The source is read in one read transaction (a consistent snapshot,
//!   even if the instance is still running); the target is written in one transaction that holds
//!   the evidence log's write lock ([`Backend::begin_exclusive`]): a failed or killed copy leaves
//!   the target as it was. Tables are written parents first, in the order their foreign keys
//!   give ([`dependency_order`]).
//! - **Never over data.** The target must be empty: any row in any table (beyond the rows a fresh
//!   migration inserts itself, [`SEEDED`]) refuses the copy, naming the table. Nothing in the
//!   target is deleted. The append-only triggers fire on UPDATE, DELETE and TRUNCATE only, so the
//!   inserts pass them.
//! - **Checked afterwards.** Every table's row count and digest (an order-independent SHA-256 of
//!   its rows, [`TableDigest`]) in the target are compared with those read from the source's
//!   snapshot, and the moved log is re-derived and its checkpoints checked as `attesta log verify`
//!   does ([`crate::evidence::verify::verify_log`]).

use super::db::{self, Backend, ExclusiveLock, Sql};
use crate::config::Config;
use anyhow::Context as _;
use attesta_core::evidence::{LogSigner, VerifierKey};
use futures_util::TryStreamExt as _;
use sha2::{Digest as _, Sha256};
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyConnection, AnyPool, Executor as _, Row as _, ValueRef as _};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `attesta db …`: the database as a whole.
#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Copy every row of an instance's database into an empty one (e.g. from SQLite to
    /// PostgreSQL), in one transaction, then check the copy: row counts and digests of every
    /// table, and the evidence log re-derived as `attesta log verify` does (with the log key of
    /// the configuration). Stop the instance first. Exit 0 copied and checked, 1 failed or the
    /// copy differs, 2 refused (a non-empty target, another migration version) with no row
    /// written.
    Copy {
        /// The database to read (its `database.url`), e.g. sqlite://data/attesta.db. Only read.
        #[arg(long)]
        from: String,
        /// The empty database to fill, e.g. postgres://attesta:…@db.internal/attesta. Its schema
        /// is created or brought up to date first.
        #[arg(long)]
        to: String,
    },
}

/// Runs `attesta db …`, reporting on stderr (progress) and stdout (the checks).
pub async fn command(config: &Config, command: DbCommand) -> ExitCode {
    match command {
        DbCommand::Copy { from, to } => copy_command(config, &from, &to).await,
    }
}

async fn copy_command(config: &Config, from: &str, to: &str) -> ExitCode {
    eprintln!("attesta db copy: from {} to {}", db::redact(from), db::redact(to));
    let mut last_report = Instant::now();
    let mut progress = |table: &str, done: u64, total: u64| {
        if done == total || last_report.elapsed() >= Duration::from_secs(1) {
            eprintln!("  {table}: {done} of {total} rows");
            last_report = Instant::now();
        }
    };
    let copied = match copy(from, to, &config.evidence.log_key_file, &mut progress).await {
        Ok(copied) => copied,
        Err(CopyError::Refused(why)) => {
            eprintln!("attesta: refused, no row was written: {why}");
            return ExitCode::from(2);
        }
        Err(CopyError::Failed(e)) => {
            eprintln!("attesta: the copy failed and was rolled back: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = copied.elapsed.as_secs_f64();
    eprintln!(
        "copied {} rows of {} tables in {:.2} s ({:.0} rows/s)",
        copied.rows(),
        copied.tables.len(),
        seconds,
        copied.rows() as f64 / seconds.max(1e-9)
    );
    eprintln!("checking the copy");
    let mut last_report = Instant::now();
    let check = check(&copied, |done, total| {
        if done == total || last_report.elapsed() >= Duration::from_secs(1) {
            eprintln!("  {done} of {total} events re-derived");
            last_report = Instant::now();
        }
    })
    .await;
    match check {
        Err(e) => {
            eprintln!("attesta: the copy was committed but could not be checked: {e:#}");
            ExitCode::FAILURE
        }
        Ok(findings) => {
            for f in &findings {
                println!("{} {}: {}", if f.ok { "PASS" } else { "FAIL" }, f.check, f.detail);
            }
            if findings.iter().all(|f| f.ok) {
                println!("VALID");
                ExitCode::SUCCESS
            } else {
                println!("INVALID");
                ExitCode::FAILURE
            }
        }
    }
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Refused before anything was written to the target (exit 2).
    #[error("{0}")]
    Refused(String),
    /// Failed; the target's transaction was rolled back (exit 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Failed(e.into())
    }
}

fn refused<T>(why: impl Into<String>) -> Result<T, CopyError> {
    Err(CopyError::Refused(why.into()))
}

/// A committed copy: the open target, and what was read from the source's snapshot.
pub struct Copied {
    pub target: AnyPool,
    /// Per table, in the order written: its name, row count and digest in the source.
    pub tables: Vec<(String, TableDigest)>,
    /// The log's verifier key (from the configured key file), when the log has events to check.
    pub log_key: Option<VerifierKey>,
    pub elapsed: Duration,
    columns: BTreeMap<String, Vec<(String, Kind)>>,
}

impl Copied {
    /// Rows copied, over all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, d)| d.rows).sum()
    }
}

/// Tables a fresh migration fills with rows of its own: the copy counts the target as empty when
/// it holds only those, and writes the source's rows over them (`ON CONFLICT (key) DO UPDATE`).
/// The unit test `a_fresh_database_holds_only_the_seeded_rows` fails when a migration seeds a
/// table not listed here.
pub const SEEDED: &[Seeded] = &[
    Seeded { table: "webhook_cursor", key: "id", fresh: "id = 1 AND next_log_index = 0" },
    Seeded { table: "evidence_context", key: "id", fresh: "id = 1 AND log_index IS NULL" },
];

#[derive(Debug)]
pub struct Seeded {
    pub table: &'static str,
    /// The primary key the source's rows replace the seeded ones by.
    pub key: &'static str,
    /// True of exactly the rows a fresh migration of an empty database leaves.
    pub fresh: &'static str,
}

/// Rows per INSERT, at most: few round trips, and well below both databases' limit on bound
/// parameters (SQLite 32766, PostgreSQL 65535) for tables up to [`MAX_PARAMETERS`] / 500 columns.
const BATCH_ROWS: usize = 500;
const MAX_PARAMETERS: usize = 30_000;

/// Copies every row from the database at `from` into the empty database at `to`, in one
/// transaction; `progress(table, done, total)` after each batch. `log_key_file` is the log's
/// signing key, read (never created) to check the moved log afterwards.
pub async fn copy(
    from: &str,
    to: &str,
    log_key_file: &std::path::Path,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<Copied, CopyError> {
    let from_backend = backend(from, "--from")?;
    backend(to, "--to")?;
    if from == to {
        return refused("--from and --to name the same database");
    }
    if from_backend == Backend::Sqlite {
        // Opening SQLite creates a missing file; the source must exist.
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(from)
            .map_err(|e| CopyError::Refused(format!("--from: {e}")))?;
        if !options.get_filename().exists() {
            return refused(format!("--from: there is no database at {}", options.get_filename().display()));
        }
    }
    let source = db::open(from, 1).await.map_err(|e| CopyError::Refused(format!("--from: {e:#}")))?;
    let target = db::open(to, 1).await.map_err(|e| CopyError::Refused(format!("--to: {e:#}")))?;
    let result = copy_between(&source, &target, log_key_file, progress).await;
    source.close().await;
    let (tables, log_key, columns, elapsed) = result?;
    Ok(Copied { target, tables, log_key, elapsed, columns })
}

type CopyResult = (Vec<(String, TableDigest)>, Option<VerifierKey>, BTreeMap<String, Vec<(String, Kind)>>, Duration);

async fn copy_between(
    source: &AnyPool,
    target: &AnyPool,
    log_key_file: &std::path::Path,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<CopyResult, CopyError> {
    // The migration versions: the source's as they are (it is only read), the target's before and
    // after bringing it up to date.
    let mut src = source.acquire().await.context("connecting to the source")?;
    let source_tables = tables(&mut src).await?;
    if !source_tables.contains(MIGRATIONS) {
        return refused("--from: this database holds no Attesta schema (no _sqlx_migrations table)");
    }
    let source_versions = versions(&mut src).await?;
    {
        let mut dst = target.acquire().await.context("connecting to the target")?;
        let mut existing = tables(&mut dst).await?;
        if existing.remove(MIGRATIONS) {
            // Checked before migrating too, so that a database in use is not even migrated.
            refuse_rows(&mut dst, &existing).await?;
            let applied = versions(&mut dst).await?;
            if let Some(v) = applied.iter().find(|v| !source_versions.contains(v)) {
                return refused(format!(
                    "the target has migration {v} applied, which the source lacks (source at {}, target at {}): \
                     copy into a database at the source's version, or migrate the source first (attesta migrate)",
                    latest(&source_versions),
                    latest(&applied)
                ));
            }
        }
    }
    db::migrate(target).await.map_err(|e| CopyError::Refused(format!("--to: {e:#}")))?;
    let mut dst = target.acquire().await.context("connecting to the target")?;
    let target_versions = versions(&mut dst).await?;
    if target_versions != source_versions {
        return refused(format!(
            "the source is at migration {} and the target, migrated by this attesta, at {}: bring the source up to \
             date first (attesta migrate with the instance's configuration), then copy",
            latest(&source_versions),
            latest(&target_versions)
        ));
    }

    // The tables, their columns as the target declares them, and the order to fill them in.
    let mut source_tables = source_tables;
    source_tables.remove(MIGRATIONS);
    let mut target_tables = tables(&mut dst).await?;
    target_tables.remove(MIGRATIONS);
    if source_tables != target_tables {
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>().join(", ");
        return refused(format!(
            "the two schemas differ at the same migration version: only in the source: [{}]; only in the target: [{}]",
            only(&source_tables, &target_tables),
            only(&target_tables, &source_tables)
        ));
    }
    let mut columns = BTreeMap::new();
    for table in &target_tables {
        let declared = target_columns(&mut dst, table).await?;
        let mut in_source: Vec<String> = source_columns(&mut src, table).await?;
        let mut in_target: Vec<String> = declared.iter().map(|(c, _)| c.clone()).collect();
        in_source.sort();
        in_target.sort();
        if in_source != in_target {
            return refused(format!(
                "table {table} has the columns [{}] in the source but [{}] in the target",
                in_source.join(", "),
                in_target.join(", ")
            ));
        }
        columns.insert(table.clone(), declared);
    }
    let order = dependency_order(&target_tables, &foreign_keys(&mut dst).await?)?;

    // The log key, to check the moved log: read, never created (a new key could not verify it).
    let log_key = match std::fs::read_to_string(log_key_file) {
        Ok(text) => Some(
            LogSigner::parse_signer_key(text.trim())
                .map_err(|e| {
                    CopyError::Refused(format!("{}: not a valid log signing key: {e}", log_key_file.display()))
                })?
                .verifier_key()
                .clone(),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return refused(format!("reading the log key {}: {e}", log_key_file.display())),
    };

    // The source's snapshot, and the target's transaction with the log's write lock.
    let started = Instant::now();
    begin_snapshot(&mut src).await?;
    if log_key.is_none() {
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&mut *src).await?;
        if events > 0 {
            let _ = src.execute("ROLLBACK").await;
            return refused(format!(
                "the log key {} (evidence.log_key_file) is missing: it is needed to check the moved log; run the \
                 copy with the instance's configuration",
                log_key_file.display()
            ));
        }
    }
    Backend::begin_exclusive(&mut dst, ExclusiveLock::EvidenceLog).await.context("locking the target")?;
    let written = fill(&mut src, &mut dst, &order, &columns, progress).await;
    let _ = src.execute("ROLLBACK").await;
    let tables = match written {
        Ok(tables) => tables,
        Err(e) => {
            let _ = dst.execute("ROLLBACK").await;
            return Err(e);
        }
    };
    dst.execute("COMMIT").await.context("committing the copy")?;
    Ok((tables, log_key, columns, started.elapsed()))
}

/// Inside both transactions: refuses a non-empty target, then copies table after table and
/// moves PostgreSQL's identity sequences past the copied ids.
async fn fill(
    src: &mut AnyConnection,
    dst: &mut AnyConnection,
    order: &[String],
    columns: &BTreeMap<String, Vec<(String, Kind)>>,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<Vec<(String, TableDigest)>, CopyError> {
    refuse_rows(dst, order).await?;
    let mut digests = Vec::with_capacity(order.len());
    for table in order {
        let cols = &columns[table];
        let seeded = SEEDED.iter().find(|s| s.table == table);
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(table))).fetch_one(&mut *src).await?;
        let total = u64::try_from(total).unwrap_or(0);
        let batch_rows = BATCH_ROWS.min(MAX_PARAMETERS / cols.len().max(1)).max(1);
        let mut digest = TableDigest::default();
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(batch_rows);
        let select = select_all(table, cols);
        let mut rows = sqlx::query(&select).fetch(&mut *src);
        while let Some(row) = rows.try_next().await.with_context(|| format!("reading {table}"))? {
            let values = read_row(&row, table, cols)?;
            digest.add(&values);
            batch.push(values);
            if batch.len() == batch_rows {
                insert(dst, table, cols, seeded, std::mem::take(&mut batch)).await?;
                if digest.rows < total {
                    progress(table, digest.rows, total);
                }
            }
        }
        drop(rows);
        if !batch.is_empty() {
            insert(dst, table, cols, seeded, batch).await?;
        }
        progress(table, digest.rows, total);
        digests.push((table.clone(), digest));
    }
    if Backend::of(dst) == Backend::Postgres {
        reset_sequences(dst).await?;
    }
    Ok(digests)
}

/// Refuses a target with any row in any of `tables` (beyond the [`SEEDED`] ones), naming the
/// first such table.
async fn refuse_rows(dst: &mut AnyConnection, tables: impl IntoIterator<Item = &String>) -> Result<(), CopyError> {
    for table in tables {
        let sql = match SEEDED.iter().find(|s| s.table == table) {
            Some(s) => format!("SELECT COUNT(*) FROM {} WHERE NOT ({})", quote(table), s.fresh),
            None => format!("SELECT COUNT(*) FROM {}", quote(table)),
        };
        let rows: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *dst).await?;
        if rows > 0 {
            return refused(format!(
                "the target is not empty: table {table} holds {rows} row{}; copy into an empty database (nothing \
                 in the target is ever deleted)",
                if rows == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(())
}

/// One check of the copy, printed like `attesta log verify`'s.
#[derive(Debug, Clone)]
pub struct Finding {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Compares every table of the committed target with the source's snapshot (row counts and
/// digests), then re-derives the moved log and checks its checkpoints.
pub async fn check(copied: &Copied, progress: impl FnMut(u64, u64)) -> anyhow::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let mut conn = copied.target.acquire().await.context("connecting to the target")?;
    let mut differences = Vec::new();
    for (table, expected) in &copied.tables {
        let cols = &copied.columns[table];
        let mut found = TableDigest::default();
        let select = select_all(table, cols);
        let mut rows = sqlx::query(&select).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.with_context(|| format!("reading {table} back"))? {
            found.add(&read_row(&row, table, cols).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        if found.rows != expected.rows {
            differences.push(format!("{table}: {} rows in the source, {} in the target", expected.rows, found.rows));
        } else if found.finish() != expected.finish() {
            differences.push(format!("{table}: the same {} rows in number, but not in content", found.rows));
        }
    }
    drop(conn);
    let evidence = copied
        .tables
        .iter()
        .filter(|(t, _)| EVIDENCE_TABLES.contains(&t.as_str()))
        .map(|(t, d)| format!("{t} {} rows sha256:{}", d.rows, &hex::encode(d.finish())[..16]))
        .collect::<Vec<_>>()
        .join(", ");
    findings.push(if differences.is_empty() {
        Finding {
            check: "tables",
            ok: true,
            detail: format!(
                "{} tables, {} rows: the same row counts and digests in the target as in the source ({evidence})",
                copied.tables.len(),
                copied.rows()
            ),
        }
    } else {
        Finding { check: "tables", ok: false, detail: differences.join("; ") }
    });
    match &copied.log_key {
        Some(key) => {
            let report = crate::evidence::verify::verify_log(&copied.target, key, progress)
                .await
                .map_err(|e| anyhow::anyhow!("reading the moved log: {e}"))?;
            findings.extend(report.findings.into_iter().map(|f| Finding {
                check: f.check,
                ok: f.ok,
                detail: f.detail,
            }));
        }
        None => findings.push(Finding {
            check: "log",
            ok: true,
            detail: "the log is empty and no log key is configured: nothing to re-derive".to_owned(),
        }),
    }
    Ok(findings)
}

/// The tables of the evidence, named in the check's summary with their digests.
pub const EVIDENCE_TABLES: &[&str] = &["audit_events", "audit_personal", "log_nodes", "log_checkpoints"];

const MIGRATIONS: &str = "_sqlx_migrations";

fn backend(url: &str, flag: &str) -> Result<Backend, CopyError> {
    Backend::of_url(url).map_err(|e| CopyError::Refused(format!("{flag}: {e}")))
}

fn latest(versions: &[i64]) -> String {
    versions.last().map_or_else(|| "none".to_owned(), i64::to_string)
}

/// `"name"`: table and column names come from the database's own catalogue, quoted anyway.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn select_all(table: &str, cols: &[(String, Kind)]) -> String {
    let names = cols.iter().map(|(c, _)| quote(c)).collect::<Vec<_>>().join(", ");
    format!("SELECT {names} FROM {}", quote(table))
}

/// The migration versions applied, in order.
async fn versions(conn: &mut AnyConnection) -> Result<Vec<i64>, CopyError> {
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .context("reading the applied migrations")?)
}

/// The tables of the database (of the connection's schema on PostgreSQL).
async fn tables(conn: &mut AnyConnection) -> Result<BTreeSet<String>, CopyError> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
        }
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *conn).await.context("listing the tables")?;
    Ok(names.into_iter().collect())
}

/// The columns of `table` in the source, by name.
async fn source_columns(conn: &mut AnyConnection, table: &str) -> Result<Vec<String>, CopyError> {
    Ok(declared_columns(conn, table).await?.into_iter().map(|(name, _)| name).collect())
}

/// The columns of `table` with what each holds, as the target declares them: what NULL is bound
/// as, and which value kinds it takes.
async fn target_columns(conn: &mut AnyConnection, table: &str) -> Result<Vec<(String, Kind)>, CopyError> {
    declared_columns(conn, table)
        .await?
        .into_iter()
        .map(|(name, declared)| match Kind::of_declared(&declared) {
            Some(kind) => Ok((name, kind)),
            None => refused(format!("{table}.{name}: the column's type {declared:?} is not one the copy knows")),
        })
        .collect()
}

async fn declared_columns(conn: &mut AnyConnection, table: &str) -> Result<Vec<(String, String)>, CopyError> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    Ok(sqlx::query_as(sql)
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .with_context(|| format!("reading the columns of {table}"))?)
}

/// (table, table it references) for every foreign key.
async fn foreign_keys(conn: &mut AnyConnection) -> Result<Vec<(String, String)>, CopyError> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => {
            "SELECT m.name, f.\"table\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table'"
        }
        Backend::Postgres => {
            "SELECT c.relname::text, p.relname::text FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
             WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace"
        }
    };
    Ok(sqlx::query_as(sql).fetch_all(&mut *conn).await.context("reading the foreign keys")?)
}

/// The tables in an order where every table comes after the tables its foreign keys reference
/// (ties alphabetical, so the order is the same on every run). A table referencing itself is
/// allowed (none does today; its rows would then need their own order); a cycle between tables is
/// refused.
pub fn dependency_order(tables: &BTreeSet<String>, references: &[(String, String)]) -> Result<Vec<String>, CopyError> {
    let mut pending: BTreeMap<&str, BTreeSet<&str>> = tables.iter().map(|t| (t.as_str(), BTreeSet::new())).collect();
    for (table, parent) in references {
        if table != parent
            && tables.contains(parent)
            && let Some(parents) = pending.get_mut(table.as_str())
        {
            parents.insert(parent.as_str());
        }
    }
    let mut order = Vec::with_capacity(tables.len());
    while !pending.is_empty() {
        let ready: Vec<&str> = pending.iter().filter(|(_, parents)| parents.is_empty()).map(|(t, _)| *t).collect();
        if ready.is_empty() {
            return refused(format!(
                "the foreign keys of these tables form a cycle: {}",
                pending.keys().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        for table in ready {
            pending.remove(table);
            for parents in pending.values_mut() {
                parents.remove(table);
            }
            order.push(table.to_owned());
        }
    }
    Ok(order)
}

/// Opens the source's read transaction: one snapshot for every table.
async fn begin_snapshot(conn: &mut AnyConnection) -> Result<(), CopyError> {
    let begin = match Backend::of(conn) {
        // A deferred transaction reads one snapshot of the WAL from its first SELECT on.
        Backend::Sqlite => "BEGIN",
        Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    conn.execute(begin).await.context("opening the source's read transaction")?;
    Ok(())
}

/// Moves every identity (or serial) sequence past the largest id copied into its column, so the
/// next row the application inserts without an id gets a fresh one.
async fn reset_sequences(conn: &mut AnyConnection) -> Result<(), CopyError> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
    )
    .fetch_all(&mut *conn)
    .await
    .context("listing the identity columns")?;
    for (table, column) in columns {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({c}), 0) + 1, false) FROM {t}",
            c = quote(&column),
            t = quote(&table)
        );
        sqlx::query(&sql)
            .bind(quote(&table))
            .bind(&column)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("moving the sequence of {table}.{column}"))?;
    }
    Ok(())
}

/// What a column holds, from its declared type (SQLite's affinity rules, PostgreSQL's types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Real,
    Text,
    Blob,
}

impl Kind {
    fn of_declared(declared: &str) -> Option<Self> {
        let t = declared.to_ascii_uppercase();
        Some(match t.as_str() {
            // PostgreSQL's information_schema names.
            "BIGINT" | "INTEGER" | "SMALLINT" => Self::Integer,
            "TEXT" | "CHARACTER VARYING" | "CHARACTER" => Self::Text,
            "BYTEA" => Self::Blob,
            "DOUBLE PRECISION" | "REAL" => Self::Real,
            // SQLite's affinity rules (https://sqlite.org/datatype3.html#determination_of_column_affinity).
            _ if t.contains("INT") => Self::Integer,
            _ if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") => Self::Text,
            _ if t.contains("BLOB") || t.is_empty() => Self::Blob,
            _ if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") => Self::Real,
            _ => return None,
        })
    }
}

/// One value as read, kept as the same kind to write.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Integer(_) => "integer",
            Self::Real(_) => "real",
            Self::Text(_) => "text",
            Self::Blob(_) => "blob",
        }
    }

    fn fits(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Self::Null, _)
                | (Self::Integer(_), Kind::Integer)
                | (Self::Real(_), Kind::Real)
                | (Self::Text(_), Kind::Text)
                | (Self::Blob(_), Kind::Blob)
        )
    }
}

/// A row's values, each as the kind the database handed over (SQLite: the value's storage class;
/// PostgreSQL: the column's type), checked against the target's column.
fn read_row(row: &AnyRow, table: &str, cols: &[(String, Kind)]) -> Result<Vec<Value>, CopyError> {
    let mut values = Vec::with_capacity(cols.len());
    for (i, (column, kind)) in cols.iter().enumerate() {
        let value = read_value(row, i).with_context(|| format!("reading {table}.{column}"))?;
        if !value.fits(*kind) {
            return Err(CopyError::Failed(anyhow::anyhow!(
                "{table}.{column} holds a {} value where the target's column holds {kind:?}",
                value.kind()
            )));
        }
        values.push(value);
    }
    Ok(values)
}

fn read_value(row: &AnyRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Value::Null,
        // Booleans are stored as 0/1 integers (db::Flag); a boolean column would be written so.
        AnyTypeInfoKind::Bool => Value::Integer(i64::from(row.try_get::<bool, _>(i)?)),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Value::Integer(row.try_get(i)?)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::Real(row.try_get(i)?),
        AnyTypeInfoKind::Text => Value::Text(row.try_get(i)?),
        AnyTypeInfoKind::Blob => Value::Blob(row.try_get(i)?),
    })
}

/// Writes a batch of rows in one INSERT; over a seeded table, over the seeded rows.
async fn insert(
    conn: &mut AnyConnection,
    table: &str,
    cols: &[(String, Kind)],
    seeded: Option<&Seeded>,
    rows: Vec<Vec<Value>>,
) -> Result<(), CopyError> {
    let names = cols.iter().map(|(c, _)| quote(c)).collect::<Vec<_>>();
    let mut sql = Sql::new(format!("INSERT INTO {} ({}) VALUES ", quote(table), names.join(", ")));
    for (r, row) in rows.into_iter().enumerate() {
        sql.push(if r == 0 { "(" } else { ", (" });
        for (c, (value, (_, kind))) in row.into_iter().zip(cols).enumerate() {
            if c > 0 {
                sql.push(", ");
            }
            // NULL is bound as the column's type: PostgreSQL refuses e.g. a bigint NULL for bytea.
            match (value, kind) {
                (Value::Null, Kind::Integer) => sql.push_bind(None::<i64>),
                (Value::Null, Kind::Real) => sql.push_bind(None::<f64>),
                (Value::Null, Kind::Text) => sql.push_bind(None::<String>),
                (Value::Null, Kind::Blob) => sql.push_bind(None::<Vec<u8>>),
                (Value::Integer(v), _) => sql.push_bind(v),
                (Value::Real(v), _) => sql.push_bind(v),
                (Value::Text(v), _) => sql.push_bind(v),
                (Value::Blob(v), _) => sql.push_bind(v),
            };
        }
        sql.push(")");
    }
    if let Some(seeded) = seeded {
        let set = names.iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
        sql.push(&format!(" ON CONFLICT ({}) DO UPDATE SET {set}", quote(seeded.key)));
    }
    sql.query().execute(&mut *conn).await.with_context(|| format!("writing {table}"))?;
    Ok(())
}

/// A table's rows in number and content, whatever order they are read in: the SHA-256 of each
/// row's values (kind and bytes, lengths prefixed), sorted, then hashed together.
#[derive(Debug, Default, Clone)]
pub struct TableDigest {
    pub rows: u64,
    row_hashes: Vec<[u8; 32]>,
}

impl TableDigest {
    fn add(&mut self, values: &[Value]) {
        let mut h = Sha256::new();
        for value in values {
            match value {
                Value::Null => h.update([0]),
                Value::Integer(v) => {
                    h.update([1]);
                    h.update(v.to_be_bytes());
                }
                Value::Real(v) => {
                    h.update([2]);
                    h.update(v.to_bits().to_be_bytes());
                }
                Value::Text(v) => {
                    h.update([3]);
                    h.update((v.len() as u64).to_be_bytes());
                    h.update(v.as_bytes());
                }
                Value::Blob(v) => {
                    h.update([4]);
                    h.update((v.len() as u64).to_be_bytes());
                    h.update(v);
                }
            }
        }
        self.row_hashes.push(h.finalize().into());
        self.rows += 1;
    }

    /// The table's digest.
    pub fn finish(&self) -> [u8; 32] {
        let mut sorted = self.row_hashes.clone();
        sorted.sort_unstable();
        let mut h = Sha256::new();
        h.update((sorted.len() as u64).to_be_bytes());
        for row in &sorted {
            h.update(row);
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn refs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn parents_come_before_the_tables_that_reference_them() {
        let order = dependency_order(
            &names(&["recipients", "documents", "users", "blobs", "field_values"]),
            &refs(&[
                ("documents", "users"),
                ("documents", "blobs"),
                ("recipients", "documents"),
                ("field_values", "recipients"),
                ("field_values", "documents"),
                ("users", "users"),
            ]),
        )
        .expect("an order");
        assert_eq!(order, ["blobs", "users", "documents", "recipients", "field_values"]);
        let cycle = dependency_order(&names(&["a", "b", "c"]), &refs(&[("a", "b"), ("b", "a")]));
        assert!(matches!(cycle, Err(CopyError::Refused(why)) if why.contains("a, b")));
    }

    #[test]
    fn declared_types_map_to_what_the_column_holds() {
        for (declared, kind) in [
            ("INTEGER", Kind::Integer),
            ("bigint", Kind::Integer),
            ("TEXT", Kind::Text),
            ("character varying", Kind::Text),
            ("BLOB", Kind::Blob),
            ("bytea", Kind::Blob),
            ("double precision", Kind::Real),
            ("", Kind::Blob),
        ] {
            assert_eq!(Kind::of_declared(declared), Some(kind), "{declared}");
        }
        assert_eq!(Kind::of_declared("NUMERIC"), None);
        assert!(!Value::Text("1".to_owned()).fits(Kind::Integer));
        assert!(Value::Null.fits(Kind::Blob));
    }

    #[test]
    fn a_digest_sees_content_and_count_but_not_order() {
        let rows = [
            vec![Value::Integer(1), Value::Text("ab".to_owned()), Value::Null],
            vec![Value::Integer(2), Value::Blob(b"ab".to_vec()), Value::Real(0.5)],
        ];
        let (mut a, mut b) = (TableDigest::default(), TableDigest::default());
        a.add(&rows[0]);
        a.add(&rows[1]);
        b.add(&rows[1]);
        b.add(&rows[0]);
        assert_eq!(a.finish(), b.finish());
        let mut c = TableDigest::default();
        c.add(&rows[0]);
        c.add(&[Value::Integer(2), Value::Text("ab".to_owned()), Value::Real(0.5)]);
        assert_ne!(a.finish(), c.finish(), "text and blob of the same bytes differ");
        let mut d = a.clone();
        d.add(&rows[0]);
        assert_ne!(a.finish(), d.finish());
    }

    /// Every table a fresh migration leaves non-empty is in [`SEEDED`], and its rows are the
    /// ones `fresh` describes; every table of the schema is ordered after its parents.
    #[tokio::test]
    async fn a_fresh_database_holds_only_the_seeded_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
        let pool = db::connect(&url, 1).await.expect("migrated");
        let mut conn = pool.acquire().await.expect("conn");
        let mut all = tables(&mut conn).await.expect("tables");
        all.remove(MIGRATIONS);
        assert!(all.contains("audit_events") && all.contains("webhook_cursor"), "{all:?}");
        for table in &all {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(table)))
                .fetch_one(&mut *conn)
                .await
                .expect("count");
            match SEEDED.iter().find(|s| s.table == table) {
                None => assert_eq!(rows, 0, "{table} has rows after a fresh migration: list it in SEEDED"),
                Some(s) => {
                    let other: i64 =
                        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {} WHERE NOT ({})", quote(table), s.fresh))
                            .fetch_one(&mut *conn)
                            .await
                            .expect("count");
                    assert!(rows > 0 && other == 0, "{table}: {rows} rows, {other} not matching {}", s.fresh);
                }
            }
            for (column, declared) in declared_columns(&mut conn, table).await.expect("columns") {
                assert!(Kind::of_declared(&declared).is_some(), "{table}.{column}: {declared}");
            }
        }
        let order = dependency_order(&all, &foreign_keys(&mut conn).await.expect("fks")).expect("an order");
        assert_eq!(order.len(), all.len());
        let at = |t: &str| order.iter().position(|o| o == t).expect(t);
        assert!(at("users") < at("documents") && at("documents") < at("recipients"), "{order:?}");
        assert!(at("audit_events") < at("audit_personal"), "{order:?}");
    }
}
