//! The evidence store: append-only rows, chains that never fork under concurrency, packages that
//! verify offline with the CLI, and a log that re-derives.

use crate::helpers::*;
use attesta_core::Timestamp;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, KeyName, LogSigner, NewEvent, PersonalData,
    Sha256, Text, VerifierKey, verify_chain, verify_checkpoint,
};
use attesta_server::evidence::{Append, EvidenceLog};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

fn event(kind: EventType, file: &[u8]) -> NewEvent {
    static IDS: AtomicU64 = AtomicU64::new(0);
    let n = IDS.fetch_add(1, Ordering::Relaxed);
    NewEvent {
        event_id: EventId::parse(&format!("evt-{n}")).expect("id"),
        event_type: kind,
        time: Timestamp::from_micros(1_795_329_000_000_000 + n as i64),
        actor: Actor { kind: ActorKind::User, id: Some(ActorId::parse("1").expect("id")) },
        file_sha256: Sha256::digest(file),
        client_file_sha256: None,
        details: Details::empty(),
    }
}

fn person(email: &str) -> PersonalData {
    PersonalData {
        email: Some(Text::new(email).expect("text")),
        ip: Some(Text::new("192.0.2.4").expect("text")),
        user_agent: Some(Text::new("Mozilla/5.0 test").expect("text")),
        ..PersonalData::none()
    }
}

async fn append(log: &EvidenceLog, doc: &DocumentId, kind: EventType) -> u64 {
    log.append(Append::event(doc.clone(), event(kind, b"%PDF-1.7"), person("ada@example.com")))
        .await
        .expect("appended")
        .log_index
}

/// A document with an upload, a send and a signature.
async fn document(log: &EvidenceLog, id: &str) -> DocumentId {
    let doc = DocumentId::parse(id).expect("id");
    append(log, &doc, EventType::DocumentUploaded).await;
    append(log, &doc, EventType::DocumentSent).await;
    append(log, &doc, EventType::RecipientSigned).await;
    doc
}

fn run(app: &TestApp, args: &[&str]) -> Output {
    attesta().envs(app.cli_env()).args(args).output().expect("runs")
}

#[tokio::test]
async fn audit_rows_cannot_be_updated_or_deleted_even_with_raw_sql() {
    let app = spawn_app().await;
    document(&app.evidence, "doc-1").await;
    app.evidence.checkpoint(0).await.expect("checkpoint");
    for sql in [
        "UPDATE audit_events SET event_type = 'document.voided'",
        "DELETE FROM audit_events",
        "UPDATE log_nodes SET hash = hash",
        "DELETE FROM log_nodes",
        "UPDATE log_checkpoints SET note = 'forged'",
        "DELETE FROM log_checkpoints",
        "UPDATE audit_personal SET personal = '{}'",
    ] {
        let err = sqlx::query(sql).execute(&app.pool).await.expect_err(sql);
        let message = err.to_string();
        assert!(message.contains("append-only") || message.contains("cannot be altered"), "{sql}: {message}");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&app.pool).await.expect("count");
    // The document's three, and the instance chain's `instance.keys_configured` from the start.
    assert_eq!(rows, 1 + 3);
}

#[tokio::test]
async fn the_database_commits_durably_in_wal_mode() {
    let app = spawn_app().await;
    if app.on_postgres() {
        // The server states PostgreSQL's own durable setting on every connection.
        let setting: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
            .fetch_one(&app.pool)
            .await
            .expect("setting");
        assert_eq!(setting, "on");
        return;
    }
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&app.pool).await.expect("pragma");
    assert_eq!(synchronous, 2, "synchronous=FULL");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&app.pool).await.expect("pragma");
    assert_eq!(journal, "wal");
}

#[tokio::test]
async fn concurrent_appends_to_one_document_never_fork_its_chain() {
    let app = spawn_app().await;
    let doc = DocumentId::parse("busy").expect("id");
    append(&app.evidence, &doc, EventType::DocumentUploaded).await;
    let other = DocumentId::parse("quiet").expect("id");
    append(&app.evidence, &other, EventType::DocumentUploaded).await;
    let mut tasks = Vec::new();
    for t in 0..64 {
        let log = app.evidence.clone();
        let doc = if t % 8 == 0 { other.clone() } else { doc.clone() };
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                append(&log, &doc, EventType::RecipientViewed).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let events = app.evidence.events_of(&doc).await.expect("events");
    assert_eq!(events.len(), 1 + 56 * 10);
    let chain: Vec<_> = events.iter().map(|(e, _)| e.clone()).collect();
    verify_chain(&doc, &chain).expect("one unbroken chain");
    let seqs: Vec<u64> = chain.iter().map(|e| e.record().seq()).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let indices: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT log_index) FROM audit_events").fetch_one(&app.pool).await.expect("n");
    let max: i64 =
        sqlx::query_scalar("SELECT MAX(log_index) FROM audit_events").fetch_one(&app.pool).await.expect("max");
    assert_eq!(indices, max + 1, "the log has no gaps");
    assert!(run(&app, &["log", "verify"]).status.success());
}

// Several threads, so the two sequencers really run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_append_to_one_log_in_turns() {
    // A second server process over the same database and key files, as behind a load balancer:
    // each has its own sequencer, and the database's write lock (SQLite's file lock, a
    // PostgreSQL advisory lock) makes them take turns.
    let first = spawn_app().await;
    let second = spawn_app_with(beside(&first, |_| {})).await;
    let shared = DocumentId::parse("shared").expect("id");
    append(&first.evidence, &shared, EventType::DocumentUploaded).await;
    let mut tasks = Vec::new();
    for t in 0..32 {
        let log = if t % 2 == 0 { first.evidence.clone() } else { second.evidence.clone() };
        let doc = if t % 4 < 2 { shared.clone() } else { DocumentId::parse(&format!("own-{t}")).expect("id") };
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                append(&log, &doc, EventType::RecipientViewed).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    // Either instance reads the one chain: no fork, no gap, no duplicate index.
    let events = second.evidence.events_of(&shared).await.expect("events");
    assert_eq!(events.len(), 1 + 16 * 10);
    let chain: Vec<_> = events.iter().map(|(e, _)| e.clone()).collect();
    verify_chain(&shared, &chain).expect("one unbroken chain");
    let (count, distinct, max): (i64, i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT log_index), MAX(log_index) FROM audit_events")
            .fetch_one(&first.pool)
            .await
            .expect("indices");
    assert_eq!((count, distinct), (max + 1, max + 1), "every index once, none missing");
    // Checkpoints signed by either instance extend one another.
    let a = first.evidence.checkpoint(1).await.expect("checkpoint");
    append(&second.evidence, &shared, EventType::RecipientViewed).await;
    let b = second.evidence.checkpoint(2).await.expect("checkpoint");
    assert!(b.tree_size > a.tree_size);
    let out = run(&first, &["log", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test]
async fn an_exported_package_verifies_offline_and_any_tampering_is_caught() {
    let app = spawn_app().await;
    let doc = document(&app.evidence, "contract-7").await;
    document(&app.evidence, "another").await;
    let out = run(&app, &["evidence", "export", doc.as_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let package = String::from_utf8(out.stdout).expect("utf-8");
    let path = app.data.path().join("package.json");
    std::fs::write(&path, &package).expect("write");

    let key = String::from_utf8(run(&app, &["log", "key"]).stdout).expect("utf-8").trim().to_owned();
    let ok = run(&app, &["verify", path.to_str().expect("path"), "--log-key", &key]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(text.contains("VALID") && text.contains("inclusion_proofs"), "{text}");

    // One changed character in an event hash: tampered (exit 1), and the report says where.
    let first_hash = package.split("\"hash\": \"").nth(1).expect("a hash").get(..64).expect("hex").to_owned();
    let flipped = format!("{}{}", if first_hash.starts_with('0') { '1' } else { '0' }, &first_hash[1..]);
    std::fs::write(&path, package.replacen(&first_hash, &flipped, 1)).expect("write");
    let bad = run(&app, &["verify", path.to_str().expect("path")]);
    assert_eq!(bad.status.code(), Some(1), "{}", String::from_utf8_lossy(&bad.stdout));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("INVALID"));

    // Another instance's key pinned: refused.
    let foreign = LogSigner::from_seed(KeyName::parse("other.test/log").expect("name"), &[7; 32]);
    std::fs::write(&path, &package).expect("write");
    let pinned = run(&app, &["verify", path.to_str().expect("path"), "--log-key", &foreign.verifier_key().to_string()]);
    assert_eq!(pinned.status.code(), Some(1), "{}", String::from_utf8_lossy(&pinned.stdout));

    // Not a package at all: unreadable (exit 2).
    std::fs::write(&path, "{ not json").expect("write");
    assert_eq!(run(&app, &["verify", path.to_str().expect("path")]).status.code(), Some(2));
    assert_eq!(run(&app, &["verify", "/nonexistent/package.json"]).status.code(), Some(2));
}

#[tokio::test]
async fn log_verify_finds_a_row_rewritten_behind_the_triggers() {
    let app = spawn_app().await;
    document(&app.evidence, "doc-1").await;
    app.evidence.checkpoint(0).await.expect("checkpoint");
    let ok = run(&app, &["log", "verify"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));

    // Someone with the database file drops the guard and rewrites history.
    let drop = if app.on_postgres() {
        "DROP TRIGGER audit_events_no_update ON audit_events"
    } else {
        "DROP TRIGGER audit_events_no_update"
    };
    sqlx::query(drop).execute(&app.pool).await.expect("drop");
    sqlx::query(
        "UPDATE audit_events SET record = replace(record, 'recipient.signed', 'recipient.declined') WHERE seq = 2",
    )
    .execute(&app.pool)
    .await
    .expect("rewrite");
    let bad = run(&app, &["log", "verify"]);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL events"), "{text}");
}

#[tokio::test]
async fn checkpoints_only_grow_and_each_is_linked_to_the_one_before() {
    // No job loop: its recurring checkpoint would otherwise come between the ones signed here.
    let app = spawn_app_with(Options::configured(|c| c.jobs.worker = false)).await;
    // The log starts with the instance chain's `instance.keys_configured`, after the checkpoint
    // of the empty log signed at start.
    let first = app.evidence.checkpoint(0).await.expect("checkpoint");
    document(&app.evidence, "doc-1").await;
    let second = app.evidence.checkpoint(1).await.expect("checkpoint");
    let again = app.evidence.checkpoint(2).await.expect("checkpoint");
    assert_eq!(first.tree_size, 1);
    assert_eq!(first.previous_size, Some(0));
    assert_eq!(second.tree_size, 1 + 3);
    assert_eq!(again.tree_size, 1 + 3, "nothing appended, no new checkpoint");
    document(&app.evidence, "doc-2").await;
    let third = app.evidence.checkpoint(3).await.expect("checkpoint");
    assert_eq!(third.previous_size, Some(1 + 3));
    assert!(!third.consistency_proof.is_empty());
    let out = run(&app, &["log", "checkpoint"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("attesta.test/log\n7\n"));
    assert!(run(&app, &["log", "verify"]).status.success());
}

#[tokio::test]
async fn the_latest_checkpoint_and_the_log_key_are_public() {
    let app = spawn_app().await;
    document(&app.evidence, "doc-1").await;
    app.evidence.checkpoint(0).await.expect("checkpoint");
    let anonymous = reqwest::Client::new();
    let r = anonymous.get(app.url("/log/checkpoint")).send().await.expect("request");
    assert_eq!(r.status(), 200);
    let key = VerifierKey::parse(r.headers()["attesta-log-key"].to_str().expect("ascii")).expect("a verifier key");
    let note = r.text().await.expect("body");
    let checkpoint = verify_checkpoint(&note, &key).expect("signed by the published key");
    assert_eq!(checkpoint.size(), 1 + 3, "the keys in use at start, and the document's three");
    let published = anonymous.get(app.url("/log/key")).send().await.expect("request").text().await.expect("body");
    assert_eq!(published.trim(), key.to_string());
}

#[tokio::test]
async fn an_invalid_event_is_refused_alone_and_leaves_no_gap() {
    let app = spawn_app().await;
    let doc = DocumentId::parse("doc-1").expect("id");
    append(&app.evidence, &doc, EventType::DocumentUploaded).await;
    // Sent together, so the sequencer takes them in one batch.
    let mut bad = event(EventType::RecipientViewed, b"%PDF-1.7");
    bad.time = Timestamp::from_micros(i64::MAX);
    let log = app.evidence.clone();
    let (first, refused, last) = tokio::join!(
        append(&log, &doc, EventType::DocumentSent),
        log.append(Append::event(doc.clone(), bad, PersonalData::none())),
        append(&log, &doc, EventType::RecipientViewed),
    );
    let err = refused.expect_err("a time past the year 2255 is refused");
    assert!(err.to_string().contains("time"), "{err}");
    assert!(first < last);
    let chain: Vec<_> = app.evidence.events_of(&doc).await.expect("events").into_iter().map(|(e, _)| e).collect();
    assert_eq!(chain.len(), 3);
    verify_chain(&doc, &chain).expect("no gap where the refused event would have been");
    assert!(run(&app, &["log", "verify"]).status.success());
}
