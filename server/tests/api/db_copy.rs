//! `attesta db copy`: an instance on SQLite, with a document signed and sealed, moved to
//! PostgreSQL. Everything it handed out before the move (the evidence package, the sealed PDF,
//! the log key) verifies against the moved instance, whose log extends the one in the package;
//! a non-empty target or one at another migration version is refused with nothing written.
//!
//! Needs the PostgreSQL of `scripts/services/pg.sh` (`ATTESTA_TEST_PG_ADMIN_URL`); fails without
//! it under CI, skips otherwise. The source is SQLite whatever `ATTESTA_TEST_DATABASE` says.

use crate::completion::{completed_in, get_bytes, validators::services_required};
use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, Options, attesta, pg_schema, spawn_app_with};
use crate::signing::{Ceremony, mail_dir};
use attesta_core::evidence::merkle::{consistency_proof, verify_consistency};
use attesta_core::evidence::{EvidencePackage, NodeId, Sha256, VerifierKey, verify_checkpoint};
use std::collections::HashMap;
use std::process::Output;
use tempfile::TempDir;

/// The PostgreSQL administrator URL, or `None` (after saying why) when it is not set outside CI.
fn pg_admin() -> Option<String> {
    match std::env::var("ATTESTA_TEST_PG_ADMIN_URL") {
        Ok(url) => Some(url),
        Err(_) if services_required() => {
            panic!("db copy tests need PostgreSQL: eval \"$(bash scripts/services/pg.sh env)\"")
        }
        Err(_) => {
            eprintln!("skipped: ATTESTA_TEST_PG_ADMIN_URL is not set (bash scripts/services/pg.sh start)");
            None
        }
    }
}

/// A new, empty schema in that PostgreSQL.
async fn fresh_schema(admin: &str) -> String {
    use attesta_core::entropy::EntropyExt as _;
    let name = format!("copy_{}", attesta_server::Ports::system().entropy.base32(16));
    pg_schema(admin, &name).await
}

fn sqlite_in(dir: &TempDir, file: &str) -> String {
    format!("sqlite://{}", dir.path().join(file).display())
}

fn copy(env: &[(String, String)], from: &str, to: &str) -> Output {
    attesta().envs(env.iter().cloned()).args(["db", "copy", "--from", from, "--to", to]).output().expect("runs")
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The tree size and root a signed checkpoint note states.
fn checkpoint(note: &str, key: &VerifierKey) -> (u64, Sha256) {
    let checkpoint = verify_checkpoint(note, key).expect("signed by the log's key");
    (checkpoint.size(), *checkpoint.root())
}

#[tokio::test]
async fn an_instance_moved_to_postgres_verifies_every_proof_it_handed_out() {
    let Some(admin) = pg_admin() else { return };
    let data = TempDir::new().expect("temp dir");
    let sqlite = sqlite_in(&data, "attesta.db");
    let c =
        completed_in(Options { data: Some(data), database_url: Some(sqlite.clone()), ..Options::configured(mail_dir) })
            .await;
    // An API key: its id comes from an identity column on PostgreSQL, whose sequence the copy
    // must move past the copied ids for the next key to get a fresh one.
    c.app.create_api_key(1, "before the move", "read").await;

    // What parties hold from before the move.
    let exports = TempDir::new().expect("temp dir");
    let (_, sealed) = get_bytes(&c.app, &format!("/documents/{}/sealed.pdf", c.id)).await;
    let (_, package) = get_bytes(&c.app, &format!("/documents/{}/evidence.json", c.id)).await;
    let key_before = c.app.get("/log/key").await.text().await.expect("key").trim().to_owned();
    let sealed_sha256 = c.app.document(&c.id).await["completion"]["sealed_sha256"].clone();
    let (package_path, pdf_path) = (exports.path().join("evidence.json"), exports.path().join("sealed.pdf"));
    std::fs::write(&package_path, &package).expect("write");
    std::fs::write(&pdf_path, &sealed).expect("write");
    let env = c.app.cli_env();
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&c.app.pool).await.expect("count");
    let Ceremony { app, id, .. } = c;
    let data = app.stop().await;

    // The move.
    let target = fresh_schema(&admin).await;
    let out = copy(&env, &sqlite, &target);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains(&format!("audit_events: {events} of {events} rows")), "{report}");
    assert!(
        report.contains("PASS tables") && report.contains("PASS checkpoints") && report.contains("VALID"),
        "{report}"
    );
    assert!(!report.contains("FAIL"), "{report}");
    if let Some(line) = report.lines().find(|l| l.starts_with("copied ")) {
        eprintln!("db copy, SQLite to PostgreSQL, the test's instance: {line}");
    }

    // The moved instance: same data folder (keys, files), the PostgreSQL database.
    let moved = spawn_app_with(Options {
        data: Some(data),
        database_url: Some(target.clone()),
        ..Options::configured(mail_dir)
    })
    .await;
    assert!(moved.on_postgres());
    let key_after = moved.get("/log/key").await.text().await.expect("key").trim().to_owned();
    assert_eq!(key_after, key_before, "the same published log key");
    let verified = attesta().envs(moved.cli_env()).args(["log", "verify"]).output().expect("runs");
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let offline = attesta()
        .arg("verify")
        .arg(&package_path)
        .arg("--pdf")
        .arg(&pdf_path)
        .args(["--log-key", &key_after])
        .output()
        .expect("runs");
    assert_eq!(offline.status.code(), Some(0), "{}", text(&offline));

    // The document as its owner sees it on the moved instance.
    moved.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    let detail = moved.document(&id).await;
    assert_eq!(detail["row"]["status"], "completed", "{detail}");
    assert_eq!(detail["completion"]["sealed_sha256"], sealed_sha256, "{detail}");

    // The moved log goes on: a new key (a fresh identity id), a new checkpoint, which is an
    // extension of the one in the package.
    moved.create_api_key(1, "after the move", "read").await;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM api_keys ORDER BY id").fetch_all(&moved.pool).await.expect("ids");
    assert_eq!(ids.len(), 2, "{ids:?}");
    moved.evidence.checkpoint(moved.ports.clock.now().as_micros()).await.expect("checkpoint");
    let key = VerifierKey::parse(&key_after).expect("key");
    let newest = moved.get("/log/checkpoint").await.text().await.expect("note");
    let (new_size, new_root) = checkpoint(&newest, &key);
    let held = EvidencePackage::from_json(&package).expect("package");
    let (old_size, old_root) = checkpoint(&held.log.checkpoint, &key);
    assert!(new_size > old_size, "{old_size} → {new_size}");
    let rows: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT level, idx, hash FROM log_nodes").fetch_all(&moved.pool).await.expect("nodes");
    let nodes: HashMap<NodeId, Sha256> = rows
        .into_iter()
        .map(|(level, idx, hash)| {
            let level = u8::try_from(level).expect("level");
            let index = u64::try_from(idx).expect("index");
            (NodeId::new(level, index), Sha256::from_bytes(hash.try_into().expect("32 bytes")))
        })
        .collect();
    let proof = consistency_proof(&nodes, old_size, new_size).expect("proof");
    verify_consistency(old_size, new_size, &old_root, &new_root, &proof).expect("the package's log is a prefix");

    // A second copy into the now non-empty target: refused, naming a table, nothing changed.
    let again = copy(&env, &sqlite, &target);
    let refusal = text(&again);
    assert_eq!(again.status.code(), Some(2), "{refusal}");
    assert!(refusal.contains("not empty: table "), "{refusal}");
    assert_eq!(moved.count("api_keys").await, 2);

    // And back: PostgreSQL to SQLite, the same code.
    let back = TempDir::new().expect("temp dir");
    let out = copy(&moved.cli_env(), &target, &sqlite_in(&back, "back.db"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("VALID"));
}

#[tokio::test]
async fn a_copy_between_different_migration_versions_is_refused_with_nothing_written() {
    let Some(admin) = pg_admin() else { return };
    let dir = TempDir::new().expect("temp dir");
    let sqlite = sqlite_in(&dir, "source.db");
    let source = attesta_server::store::db::connect(&sqlite, 1).await.expect("source");
    sqlx::query("INSERT INTO users (id, email, name, password_hash, role, created_at) VALUES (1, 'a@example.com', 'A', 'x', 'owner', 0)")
        .execute(&source)
        .await
        .expect("a user");
    let env = vec![("ATTESTA__EVIDENCE__LOG_KEY_FILE".to_owned(), dir.path().join("log.key").display().to_string())];

    // A target a newer attesta migrated: refused before anything is written.
    let target = fresh_schema(&admin).await;
    let pool = attesta_server::store::db::connect(&target, 1).await.expect("target");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101, 'from a newer attesta', true, '\\x00', 0)",
    )
    .execute(&mut *pool.acquire().await.expect("conn"))
    .await
    .expect("a newer migration");
    let out = copy(&env, &sqlite, &target);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("migration 99990101"), "{}", text(&out));
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&pool).await.expect("count");
    assert_eq!(users, 0);

    // A source an older attesta left behind: refused, the source untouched.
    let latest: i64 =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&source).await.expect("latest");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1").bind(latest).execute(&source).await.expect("older");
    let target = fresh_schema(&admin).await;
    let out = copy(&env, &sqlite, &target);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bring the source up to date"), "{}", text(&out));
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = $1")
        .bind(latest)
        .fetch_one(&source)
        .await
        .expect("count");
    assert_eq!(versions, 0, "the source is only read");
}

/// One transaction for the whole copy: a row the target refuses (PostgreSQL's TEXT cannot hold
/// NUL, which SQLite stores) fails the copy after earlier tables were written, and the target is
/// left with none of them.
#[tokio::test]
async fn a_copy_that_fails_halfway_leaves_the_target_empty() {
    let Some(admin) = pg_admin() else { return };
    let dir = TempDir::new().expect("temp dir");
    let sqlite = sqlite_in(&dir, "source.db");
    let env = vec![
        ("ATTESTA__DATABASE__URL".to_owned(), sqlite.clone()),
        ("ATTESTA__EVIDENCE__LOG_KEY_FILE".to_owned(), dir.path().join("log.key").display().to_string()),
    ];
    // A first user: the log key, and events in the instance chain.
    let mut child = attesta()
        .envs(env.iter().cloned())
        .args(["user", "create", "--email", "grace@example.com", "--name", "Grace Hopper"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"a long enough passphrase\n").expect("write");
    let out = child.wait_with_output().expect("waits");
    assert!(out.status.success(), "{}", text(&out));
    let source = attesta_server::store::db::open(&sqlite, 1).await.expect("source");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&source).await.expect("n");
    assert!(events > 0);
    sqlx::query(
        "INSERT INTO users (id, email, name, role, created_at) VALUES (2, 'a@example.com', 'A' || char(0) || 'B', \
         'member', 0)",
    )
    .execute(&source)
    .await
    .expect("a name with a NUL");

    let target = fresh_schema(&admin).await;
    let out = copy(&env, &sqlite, &target);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("audit_events: ") && report.contains("writing users"), "{report}");
    assert!(report.contains("rolled back"), "{report}");
    let pool = attesta_server::store::db::open(&target, 1).await.expect("target");
    for table in ["audit_events", "log_nodes", "users"] {
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&pool).await.expect("count");
        assert_eq!(rows, 0, "{table} kept rows of a failed copy");
    }
}
