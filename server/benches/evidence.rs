//! Evidence benchmarks: prints figures, asserts nothing. Run with
//! `cargo bench -p attesta-server --bench evidence` (add `-- --quick` for a short run, and
//! `-- appends`, `-- verify` or `-- hashing` for one section).
//!
//! 1. Durable append throughput with 1, 8 and 64 concurrent appenders (group commit,
//!    synchronous=FULL), next to the raw rate of inserting the same rows in one transaction; with
//!    `ATTESTA_TEST_PG_ADMIN_URL` set, the same on PostgreSQL, with one sequencer and with two
//!    (two pools and sequencers on one database, as two server processes have).
//! 2. Verifying a 1,000,000-event log: re-deriving the Merkle root from the event hashes and
//!    checking the signed checkpoint; and `attesta log verify`'s full re-derivation from records,
//!    measured on a smaller stored log and reported per event.
//! 3. File hashing throughput of the streaming `FileHasher` next to raw sha2 on the same buffer.
//! 4. `attesta db copy` of a stored log (`-- copy`): rows per second from SQLite into SQLite, and
//!    into PostgreSQL when `ATTESTA_TEST_PG_ADMIN_URL` is set (`scripts/services/pg.sh env`),
//!    then the time of the copy's check (digests compared, log re-derived).

use attesta_core::Timestamp;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, Checkpoint, Details, DocumentId, EventId, EventType, FileHasher, Frontier, KeyName,
    LogSigner, NewEvent, PersonalData, Sha256, Text, merkle, verify_checkpoint,
};
use attesta_server::evidence::{Append, EvidenceLog};
use sha2::Digest as _;
use sqlx::{Any, QueryBuilder};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn event(n: u64, kind: EventType) -> NewEvent {
    NewEvent {
        event_id: EventId::parse(&format!("evt-{n}")).expect("id"),
        event_type: kind,
        time: Timestamp::from_micros(1_795_329_000_000_000 + n as i64),
        actor: Actor { kind: ActorKind::User, id: Some(ActorId::parse("42").expect("id")) },
        file_sha256: Sha256::digest(b"%PDF-1.7 bench"),
        client_file_sha256: None,
        details: Details::empty(),
    }
}

fn person() -> PersonalData {
    PersonalData {
        email: Some(Text::new("signer@example.com").expect("text")),
        ip: Some(Text::new("192.0.2.10").expect("text")),
        user_agent: Some(Text::new("Mozilla/5.0 (X11; Linux x86_64) bench").expect("text")),
        ..PersonalData::none()
    }
}

/// Where the log lives: an SQLite file, or a fresh schema of a PostgreSQL database.
#[derive(Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

/// The URL of a fresh database of that kind (for PostgreSQL, a new schema in
/// `ATTESTA_TEST_PG_ADMIN_URL`, the database of `scripts/services/pg.sh`).
async fn fresh_url(db: Db, dir: &std::path::Path) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}", dir.join("bench.db").display()),
        Db::Postgres => {
            let admin = std::env::var("ATTESTA_TEST_PG_ADMIN_URL").expect("ATTESTA_TEST_PG_ADMIN_URL");
            let schema =
                format!("bench_{}", std::process::id() as u64 * 1000 + SCHEMAS.fetch_add(1, Ordering::Relaxed));
            let pool = attesta_server::store::db::open(&admin, 1).await.expect("admin");
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&pool).await.expect("schema");
            format!("{admin}?options%5Bsearch_path%5D={schema}")
        }
    }
}

static SCHEMAS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn log_at(url: &str) -> EvidenceLog {
    let pool = attesta_server::store::db::connect(url, 8).await.expect("db");
    let signer = LogSigner::from_seed(KeyName::parse("bench.test/log").expect("name"), &[9; 32]);
    EvidenceLog::start(pool, signer, std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(1)))
}

/// Appends `total` events from `appenders` concurrent tasks, one document per task, through
/// `sequencers` evidence logs over one database (each with its own pool and sequencer, as each
/// server process has: they take turns through the database's lock).
async fn durable_appends(db: Db, sequencers: u64, appenders: u64, total: u64) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_url(db, dir.path()).await;
    let mut logs = Vec::new();
    for _ in 0..sequencers {
        logs.push(log_at(&url).await);
    }
    let per_task = total / appenders;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..appenders {
        let log = logs[(t % sequencers) as usize].clone();
        tasks.push(tokio::spawn(async move {
            let doc = DocumentId::parse(&format!("doc-{t}")).expect("id");
            for i in 0..per_task {
                let kind = if i == 0 { EventType::DocumentUploaded } else { EventType::RecipientViewed };
                log.append(Append::event(doc.clone(), event(t * per_task + i, kind), person())).await.expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    (per_task * appenders) as f64 / started.elapsed().as_secs_f64()
}

/// The reference: the same rows (event, personal data, 2 log nodes each) inserted by one
/// transaction in the same multi-row statements, with no hashing, chaining or fsync per batch.
async fn raw_inserts(total: u64) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("raw.db").display());
    let pool = attesta_server::store::db::connect(&url, 1).await.expect("db");
    let record = "x".repeat(420);
    let rows: Vec<i64> = (0..total as i64).collect();
    let started = Instant::now();
    let mut tx = pool.begin().await.expect("begin");
    for chunk in rows.chunks(500) {
        let mut q = QueryBuilder::<Any>::new(
            "INSERT INTO audit_events (log_index, document_id, seq, event_type, occurred_at, record, event_hash) ",
        );
        q.push_values(chunk, |mut b, i| {
            b.push_bind(*i)
                .push_bind("doc")
                .push_bind(*i)
                .push_bind("recipient.viewed")
                .push_bind(*i)
                .push_bind(record.as_str())
                .push_bind([0u8; 32].as_slice());
        });
        q.build().execute(&mut *tx).await.expect("insert");
        let mut q = QueryBuilder::<Any>::new("INSERT INTO audit_personal (log_index, personal, salt) ");
        q.push_values(chunk, |mut b, i| {
            b.push_bind(*i).push_bind(&record[..120]).push_bind([0u8; 32].as_slice());
        });
        q.build().execute(&mut *tx).await.expect("insert");
        let mut q = QueryBuilder::<Any>::new("INSERT INTO log_nodes (level, idx, hash) ");
        q.push_values(chunk.iter().flat_map(|i| [(0, *i), (1, *i)]), |mut b, (level, i)| {
            b.push_bind(level).push_bind(i).push_bind([0u8; 32].as_slice());
        });
        q.build().execute(&mut *tx).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    total as f64 / started.elapsed().as_secs_f64()
}

fn verify_million(n: u64) -> Duration {
    let signer = LogSigner::from_seed(KeyName::parse("bench.test/log").expect("name"), &[9; 32]);
    let hashes: Vec<Sha256> = (0..n).map(|i| Sha256::digest(&i.to_le_bytes())).collect();
    let mut frontier = Frontier::new();
    for h in &hashes {
        frontier.append(merkle::log_leaf_hash(h)).expect("append");
    }
    let note =
        signer.sign_checkpoint(&Checkpoint::new(signer.verifier_key().name(), n, frontier.root())).expect("sign");

    let started = Instant::now();
    let checkpoint = verify_checkpoint(&note, signer.verifier_key()).expect("valid");
    let mut again = Frontier::new();
    for h in &hashes {
        again.append(merkle::log_leaf_hash(h)).expect("append");
    }
    assert_eq!(again.root(), *checkpoint.root());
    started.elapsed()
}

async fn stored_log_verify(n: u64) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = log_at(&fresh_url(Db::Sqlite, dir.path()).await).await;
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let doc = DocumentId::parse(&format!("doc-{t}")).expect("id");
            for i in 0..n / 64 {
                let kind = if i == 0 { EventType::DocumentUploaded } else { EventType::RecipientViewed };
                log.append(Append::event(doc.clone(), event(t * n + i, kind), person())).await.expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    log.checkpoint(0).await.expect("checkpoint");
    let started = Instant::now();
    let report = attesta_server::evidence::verify::verify_log(log.pool(), log.signer().verifier_key(), |_, _| {})
        .await
        .expect("verify");
    assert!(report.is_valid());
    started.elapsed()
}

/// A stored log of `n` events appended by 64 tasks, checkpointed now and then, and its key file.
async fn stored_log(dir: &std::path::Path, n: u64) -> (String, std::path::PathBuf) {
    use base64::Engine as _;
    let log = log_at(&fresh_url(Db::Sqlite, dir).await).await;
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let doc = DocumentId::parse(&format!("doc-{t}")).expect("id");
            for i in 0..n / 64 {
                let kind = if i == 0 { EventType::DocumentUploaded } else { EventType::RecipientViewed };
                log.append(Append::event(doc.clone(), event(t * n + i, kind), person())).await.expect("append");
                if t == 0 && i % 100 == 99 {
                    log.checkpoint(i as i64).await.expect("checkpoint");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    log.checkpoint(0).await.expect("checkpoint");
    // The signer-key text form `attesta` keeps (evidence::keys): name, key id, 0x01 || seed.
    let key_file = dir.join("log.key");
    let mut blob = vec![0x01];
    blob.extend_from_slice(&[9; 32]);
    let key = log.signer().verifier_key();
    let text = format!(
        "PRIVATE+KEY+{}+{:08x}+{}\n",
        key.name().as_str(),
        key.key_id(),
        base64::engine::general_purpose::STANDARD.encode(&blob)
    );
    std::fs::write(&key_file, text).expect("key file");
    (format!("sqlite://{}", dir.join("bench.db").display()), key_file)
}

/// Copies `from` into `to`: (rows, seconds of the copy, seconds of the check).
async fn db_copy(from: &str, to: &str, key_file: &std::path::Path) -> (u64, f64, f64) {
    let copied = attesta_server::store::copy::copy(from, to, key_file, &mut |_, _, _| {}).await.expect("copied");
    let started = Instant::now();
    let findings = attesta_server::store::copy::check(&copied, |_, _| {}).await.expect("checked");
    assert!(findings.iter().all(|f| f.ok), "{findings:?}");
    (copied.rows(), copied.elapsed.as_secs_f64(), started.elapsed().as_secs_f64())
}

async fn copies(n: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (source, key_file) = stored_log(dir.path(), n).await;
    let report = |to: &str, (rows, copy, check): (u64, f64, f64)| {
        println!(
            "  into {to}: {rows} rows in {copy:.2} s, {:>7.0} rows/s; check (digests, log re-derived) {check:.2} s",
            rows as f64 / copy
        );
    };
    let sqlite = format!("sqlite://{}", dir.path().join("copy.db").display());
    report("SQLite    ", db_copy(&source, &sqlite, &key_file).await);
    match std::env::var("ATTESTA_TEST_PG_ADMIN_URL") {
        Err(_) => println!("  into PostgreSQL: skipped (set ATTESTA_TEST_PG_ADMIN_URL: scripts/services/pg.sh env)"),
        Ok(admin) => {
            let schema = format!("bench_copy_{}", std::process::id());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.expect("PostgreSQL");
            sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await.expect("schema");
            let separator = if admin.contains('?') { '&' } else { '?' };
            let url = format!("{admin}{separator}options%5Bsearch_path%5D={schema}");
            report("PostgreSQL", db_copy(&source, &url, &key_file).await);
            sqlx::Executor::execute(&mut conn, format!("DROP SCHEMA {schema} CASCADE").as_str()).await.expect("drop");
        }
    }
}

fn hashing(size: usize) -> (f64, f64) {
    let buffer: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let mb = size as f64 / 1e6;
    let best = |f: &dyn Fn() -> [u8; 32]| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let raw = best(&|| sha2::Sha256::digest(&buffer).into());
    let streaming = best(&|| {
        let mut h = FileHasher::new();
        for chunk in buffer.chunks(64 * 1024) {
            h.update(chunk);
        }
        *h.finish().as_bytes()
    });
    (mb / streaming, mb / raw)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // One section alone when named: `appends`, `verify` or `hashing` (`-- verify`).
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let run = |section: &str| only.as_deref().is_none_or(|o| o == section);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let total = if quick { 6_400 } else { 64_000 };

    if run("appends") {
        println!(
            "## Durable appends (group commit; SQLite synchronous=FULL in WAL, PostgreSQL synchronous_commit=on), {total} events each"
        );
        let postgres = std::env::var_os("ATTESTA_TEST_PG_ADMIN_URL").is_some();
        if !postgres {
            println!(
                "  (PostgreSQL left out: set ATTESTA_TEST_PG_ADMIN_URL, e.g. eval \"$(bash scripts/services/pg.sh env)\")"
            );
        }
        for appenders in [1u64, 8, 64] {
            let rate = runtime.block_on(durable_appends(Db::Sqlite, 1, appenders, total));
            print!("  {appenders:>2} appenders: SQLite {rate:>9.0} events/s");
            if postgres {
                let one = runtime.block_on(durable_appends(Db::Postgres, 1, appenders, total));
                let two = runtime.block_on(durable_appends(Db::Postgres, 2, appenders.max(2), total));
                print!(
                    " | PostgreSQL {one:>9.0} events/s | PostgreSQL, two sequencers (two processes' worth) {two:>9.0} events/s"
                );
            }
            println!();
        }
        let raw = runtime.block_on(raw_inserts(total));
        println!("  reference, same rows in one transaction, no hashing: {raw:>9.0} rows/s");
    }

    if run("verify") {
        let n = if quick { 100_000 } else { 1_000_000 };
        let t = verify_million(n);
        println!("\n## Verifying a {n}-event log (root re-derived from event hashes + checkpoint signature)");
        println!("  {:.3} s", t.as_secs_f64());
        let stored = if quick { 6_400 } else { 64_000 };
        let t = runtime.block_on(stored_log_verify(stored));
        println!(
            "\n## attesta log verify on a stored log of {stored} events (records re-hashed, chains, nodes, checkpoints)"
        );
        println!(
            "  {:.3} s, {:.1} µs/event, so about {:.1} s per 1,000,000 events ({} threads)",
            t.as_secs_f64(),
            t.as_secs_f64() * 1e6 / stored as f64,
            t.as_secs_f64() * 1e6 / stored as f64,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }

    if run("copy") {
        let n = if quick { 6_400 } else { 102_400 };
        println!("\n## attesta db copy of a stored log of {n} events (with their personal data, nodes, checkpoints)");
        runtime.block_on(copies(n));
    }

    if run("hashing") {
        let size = if quick { 32 << 20 } else { 256 << 20 };
        let (streaming, raw) = hashing(size);
        println!("\n## File hashing, {} MiB buffer", size >> 20);
        println!("  FileHasher (64 KiB chunks): {streaming:>7.0} MB/s");
        println!("  raw sha2 one call:          {raw:>7.0} MB/s");
        println!("  ratio: {:.3}", streaming / raw);
    }
}
