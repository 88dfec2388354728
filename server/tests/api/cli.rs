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

    let pool = sqlx::AnyPool::connect(&db).await.expect("db");
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

/// The lines `attesta risk scan --json` printed, parsed.
fn risk_scan(files: &[&std::path::Path]) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = attesta().args(["risk", "scan", "--json"]).args(files).output().expect("runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}")))
        .collect();
    (out, lines)
}

#[test]
fn risk_scan_prints_one_line_per_text_file_with_character_offsets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("contract.txt");
    // Non-ASCII text first, so byte and character offsets differ.
    let text = "CONSULTING SERVICES AGREEMENT — «Société Générale» and Ærø ApS.\n\n\
                The Consultant shall provide the services described in Schedule A in a professional manner.\n\n\
                This Agreement shall be governed by and construed in accordance with the laws of the State of New York.\n";
    std::fs::write(&path, text).expect("write");
    let (out, lines) = risk_scan(&[&path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["file"], path.display().to_string());
    assert_eq!(line["contract_type"], "Services");
    let flag = line["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["category"] == "Governing Law")
        .expect("the governing law clause is flagged");
    let (start, end) = (flag["start"].as_u64().expect("start") as usize, flag["end"].as_u64().expect("end") as usize);
    let chars: String = text.chars().skip(start).take(end - start).collect();
    assert_eq!(chars, flag["text"].as_str().expect("text"), "offsets count characters of the file's text");
    assert!(["low", "medium", "high", "critical"].contains(&flag["severity"].as_str().expect("severity")));
    let missing: Vec<&str> = line["missing"].as_array().expect("missing").iter().filter_map(|m| m.as_str()).collect();
    assert!(missing.contains(&"Limitation Of Liability") && missing.contains(&"Termination"), "{missing:?}");
    assert!(!missing.contains(&"Governing Law"), "{missing:?}");
}

#[test]
fn risk_scan_reads_a_real_pdf_and_reports_an_unreadable_file() {
    let pdf = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/cuad/pdf/d010.pdf");
    if !pdf.exists() {
        assert!(std::env::var("CI").is_err(), "the CUAD corpus is missing at {}", pdf.display());
        eprintln!("SKIPPED: the CUAD corpus is not at {}", pdf.display());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("broken.pdf");
    std::fs::write(&bad, b"%PDF-1.7 nothing else").expect("write");
    let (out, lines) = risk_scan(&[&pdf, &bad]);
    assert_eq!(out.status.code(), Some(1), "an unreadable file fails the run");
    assert_eq!(lines.len(), 2);
    let flags = lines[0]["flags"].as_array().expect("flags");
    assert!(!flags.is_empty(), "a real contract has flags");
    assert!(lines[0].get("state").is_none(), "a PDF with text is analysed");
    assert!(lines[1]["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", lines[1]);
}
