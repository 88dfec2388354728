//! The log's name (its checkpoints' origin) is fixed at its first start and kept with its key:
//! a command run with another port still finds the log, a restart on another port keeps the
//! name, and a configuration that names the log otherwise on purpose stops the server with a
//! message saying which name is stored.

use crate::helpers::*;
use attesta_core::Timestamp;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, NewEvent, PersonalData, Sha256,
};
use attesta_server::Application;
use attesta_server::config::Config;
use attesta_server::evidence::Append;
use std::path::Path;

/// The test defaults of `spawn_app_with` over `data`, with the log name left to derive.
async fn config_over(data: &Path) -> Config {
    let mut config = Config::default();
    config.server.port = 0;
    config.server.site_root = data.join("site");
    config.database.url = crate::helpers::database_url(data).await.into();
    config.evidence.log_key_file = data.join("log.key");
    config.evidence.log_name = String::new();
    config.log.filter = "warn".to_owned();
    config.storage.path = data.join("blobs");
    config.storage.spool_dir = data.join("spool");
    config.storage.master_key_file = data.join("master.key");
    config.seal.dir = data.join("seal");
    config
}

async fn upload_event(app: &TestApp, id: &str) -> DocumentId {
    let doc = DocumentId::parse(id).expect("id");
    let event = NewEvent {
        event_id: EventId::parse(&format!("{id}-0")).expect("id"),
        event_type: EventType::DocumentUploaded,
        time: Timestamp::from_micros(1_795_329_000_000_000),
        actor: Actor { kind: ActorKind::User, id: Some(ActorId::parse("user:1").expect("id")) },
        file_sha256: Sha256::digest(b"%PDF-1.7"),
        client_file_sha256: None,
        details: Details::empty(),
    };
    app.evidence.append(Append::event(doc.clone(), event, PersonalData::none())).await.expect("appended");
    app.evidence.checkpoint(0).await.expect("checkpoint");
    doc
}

fn first_line(note: &str) -> &str {
    note.split('\n').next().unwrap_or_default()
}

#[tokio::test]
async fn evidence_export_works_whatever_port_the_command_is_given() {
    let app = spawn_app_with(Options::configured(|c| c.evidence.log_name = String::new())).await;
    let doc = upload_event(&app, "doc-port").await;
    let latest = app.get("/log/checkpoint").await.text().await.expect("note");
    let origin = first_line(&latest).to_owned();
    assert!(origin.ends_with("/attesta-log"), "{origin}");

    // The CLI as an operator runs it: without the server's port or the log name.
    let env: Vec<(String, String)> =
        app.cli_env().into_iter().filter(|(k, _)| k != "ATTESTA__EVIDENCE__LOG_NAME").collect();
    let out = attesta()
        .envs(env)
        .env("ATTESTA__SERVER__PORT", "4567")
        .args(["evidence", "export", doc.as_str()])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let package: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(first_line(package["log"]["checkpoint"].as_str().expect("note")), origin);
}

#[tokio::test]
async fn a_restart_on_another_port_keeps_the_name_and_an_explicit_other_name_refuses_to_start() {
    let data = tempfile::TempDir::new().expect("dir");
    let first = Application::build(config_over(data.path()).await).await.expect("first start");
    let name = first.evidence().signer().verifier_key().name().as_str().to_owned();
    drop(first);

    // Another port, nothing set explicitly: the stored name, not one derived from the new port.
    let mut moved = config_over(data.path()).await;
    moved.server.port = 1;
    let again = Application::build(moved).await.expect("starts on another port");
    assert_eq!(again.evidence().signer().verifier_key().name().as_str(), name);
    drop(again);

    // Set on purpose to something else: refused, saying what is stored and how to keep it.
    let mut renamed = config_over(data.path()).await;
    renamed.evidence.log_name = "renamed.example/log".to_owned();
    let err = Application::build(renamed).await.err().expect("refused").to_string();
    assert!(err.contains(&format!("evidence.log_name = {name:?}")) && err.contains("keeps its name for life"), "{err}");

    let mut new_url = config_over(data.path()).await;
    new_url.server.public_url = Some("https://sign.example.com".to_owned());
    let err = Application::build(new_url).await.err().expect("refused").to_string();
    assert!(err.contains("server.public_url") && err.contains(&name), "{err}");

    // Set explicitly to the stored name: the public URL may change.
    let mut kept = config_over(data.path()).await;
    kept.server.public_url = Some("https://sign.example.com".to_owned());
    kept.evidence.log_name = name.clone();
    Application::build(kept).await.expect("starts with the stored name");
}
