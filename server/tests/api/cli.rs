//! The `attesta` binary as an operator uses it.

use crate::helpers::attesta;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn help_lists_the_subcommands() {
    let out = attesta().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["serve", "user", "config"] {
        assert!(text.contains(sub), "{sub} missing from:\n{text}");
    }
    let out = attesta().args(["user", "create", "--help"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("standard input"));
}

#[test]
fn an_invalid_setting_stops_startup_naming_the_key() {
    let out = attesta().arg("config").env("ATTESTA__SERVER__PORT", "eighty").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.port") && err.contains("ATTESTA__SERVER__PORT"), "{err}");
}

#[test]
fn config_prints_settings_without_secrets() {
    let out =
        attesta().arg("config").env("ATTESTA__DATABASE__URL", "sqlite:///tmp/hidden-name.db").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("port = 3000"), "{text}");
    assert!(!text.contains("hidden-name"), "{text}");
}

fn create_user(db: &str, email: &str, password: &str) -> std::process::Output {
    let mut child = attesta()
        .args(["user", "create", "--email", email, "--name", "Grace Hopper"])
        .env("ATTESTA__DATABASE__URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("write");
    child.wait_with_output().expect("waits")
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin_and_makes_the_first_user_owner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = create_user(&db, "grace@example.com", "a long enough passphrase");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("as owner"));

    let out = create_user(&db, "short@example.com", "too short");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));

    let out = create_user(&db, "GRACE@example.com", "a long enough passphrase");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let pool = sqlx::SqlitePool::connect(&db).await.expect("db");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT email, role FROM users ORDER BY id").fetch_all(&pool).await.expect("rows");
    assert_eq!(rows, vec![("grace@example.com".to_owned(), "owner".to_owned())]);
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = attesta()
        .arg("serve")
        .current_dir(dir.path())
        .env("ATTESTA__SERVER__PORT", "0")
        .env("ATTESTA__DATABASE__URL", format!("sqlite://{}", dir.path().join("a.db").display()))
        .env("ATTESTA__EVIDENCE__LOG_KEY_FILE", dir.path().join("log.key"))
        .env("ATTESTA__LOG__FORMAT", "json")
        .env("ATTESTA__LOG__FILTER", "info")
        .env("ATTESTA_TYPO", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut url = None;
    let mut saw_warning = false;
    for line in lines.by_ref() {
        let line = line.expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["fields"]["message"].as_str().is_some_and(|m| m.contains("ATTESTA_TYPO")) {
            saw_warning = true;
        }
        if let Some(u) = v["fields"]["url"].as_str() {
            url = Some(u.to_owned());
            break;
        }
    }
    assert!(saw_warning, "unknown ATTESTA variables are reported");
    let url = url.expect("the server logs where it serves");
    let r = reqwest::Client::new()
        .get(format!("{url}/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "exit after SIGTERM: {status}");
    let rest: Vec<serde_json::Value> =
        lines.map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect();
    let of_request: Vec<_> = rest.iter().filter(|v| v["span"]["request_id"] == "trace-me-42").collect();
    assert!(!of_request.is_empty(), "{rest:#?}");
    assert!(of_request.iter().any(|v| v["fields"]["status"] == 200), "{of_request:#?}");
}
