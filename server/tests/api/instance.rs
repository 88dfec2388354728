//! The instance chain: every administrative act (users, API keys, webhook endpoints, sessions,
//! the keys in use at start) appends its typed event to the instance chain, in the same
//! transaction as the change; `attesta evidence export --instance` gives a package that
//! `attesta verify` accepts and that no edit survives; no secret is ever in it.

use crate::helpers::{OWNER_EMAIL, Options, TestApp, attesta, client_with_origin, spawn_app_with};
use attesta_core::evidence::instance::{
    ApiKeyCreated, ApiKeyRevoked, InstanceEvent, KeysConfigured, RevokeReason, SessionRevoked, SignIn, UserAccess,
    UserCreated, WebhookDeleted, WebhookSecretRotated, WebhookUpdated,
};
use attesta_core::evidence::{Actor, Sha256, instance_chain_id, no_file_sha256};
use serde_json::{Value, json};
use std::process::{Output, Stdio};

const MEMBER_EMAIL: &str = "grace@example.com";
const MEMBER_PASSWORD: &str = "grace's long password";

fn run(app: &TestApp, args: &[&str]) -> Output {
    attesta().envs(app.cli_env()).args(args).output().expect("runs")
}

/// The instance chain as the log holds it: each act, typed, with its actor.
async fn acts(app: &TestApp) -> Vec<(InstanceEvent, Actor)> {
    let events = app.evidence.events_of(&instance_chain_id()).await.expect("instance chain");
    events
        .into_iter()
        .map(|(event, _)| {
            let record = event.record();
            assert_eq!(record.file_sha256(), &no_file_sha256(), "instance events name no file");
            let act = InstanceEvent::from_event(record.event_type(), record.details())
                .unwrap_or_else(|| panic!("{} is not a typed instance act", record.event_type()));
            (act, record.actor().clone())
        })
        .collect()
}

fn actor_id(actor: &Actor) -> &str {
    actor.id.as_ref().map_or("", |id| id.as_str())
}

/// A member created at the command line (by the operator), signed in through its own client.
async fn member(app: &TestApp) -> reqwest::Client {
    use std::io::Write as _;
    let mut child = attesta()
        .args(["user", "create", "--email", MEMBER_EMAIL, "--name", "Grace Hopper", "--role", "member"])
        .envs(app.cli_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("attesta runs");
    child.stdin.take().expect("stdin").write_all(format!("{MEMBER_PASSWORD}\n").as_bytes()).expect("write");
    let output = child.wait_with_output().expect("waits");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let client = client_with_origin(&app.address);
    let r = client
        .post(app.url("/api/login"))
        .form(&[("email", MEMBER_EMAIL), ("password", MEMBER_PASSWORD)])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    client
}

async fn ok_json(r: reqwest::Response, what: &str) -> Value {
    let status = r.status();
    let text = r.text().await.expect("body");
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn webhook(app: &TestApp, endpoint: &str, body: Value) -> Value {
    let r = app.client.post(app.url(&format!("/api/webhooks/{endpoint}"))).json(&body).send().await.expect("sent");
    ok_json(r, endpoint).await
}

/// The owner's sessions as their list shows them: (handle, current).
async fn sessions(app: &TestApp, client: &reqwest::Client) -> Vec<(String, bool)> {
    let list = ok_json(client.post(app.url("/api/sessions")).send().await.expect("sessions"), "sessions").await;
    list.as_array()
        .expect("list")
        .iter()
        .map(|s| (s["handle"].as_str().expect("handle").to_owned(), s["current"].as_bool().expect("current")))
        .collect()
}

async fn owner_browser(app: &TestApp) -> reqwest::Client {
    let client = client_with_origin(&app.address);
    let r = client
        .post(app.url("/api/login"))
        .form(&[("email", OWNER_EMAIL), ("password", crate::helpers::OWNER_PASSWORD)])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success() || r.status().is_redirection());
    client
}

#[tokio::test]
async fn each_administrative_act_appends_its_event_to_the_instance_chain_and_the_export_verifies() {
    let app = spawn_app_with(Options::configured(|c| c.webhooks.allow_private_targets = true)).await;
    app.set_up_owner().await;
    let grace = member(&app).await;

    // An owner disables the member (their session ends) and re-enables them.
    let r = app.post_form("/api/users/disabled", &[("id", "2"), ("disabled", "true")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = app.post_form("/api/users/disabled", &[("id", "2"), ("disabled", "false")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    drop(grace);

    // An API key, created and revoked from the settings page.
    let created =
        ok_json(app.post_form("/api/api-keys/create", &[("name", "CRM"), ("scope", "send")]).await, "create key").await;
    let api_secret = created["secret"].as_str().expect("secret").to_owned();
    let public_id = created["row"]["public_id"].as_str().expect("public id").to_owned();
    let r = app.post_form("/api/api-keys/revoke", &[("public_id", &public_id)]).await;
    assert!(r.status().is_success(), "{}", r.status());

    // A webhook endpoint: created, disabled, its secret rotated, deleted.
    let url = "http://127.0.0.1:9/hooks?token=do-not-publish";
    let endpoint =
        webhook(&app, "create", json!({"url": url, "description": "CRM", "event_types": ["document.completed"]})).await;
    let endpoint_id = endpoint["id"].as_str().expect("id").to_owned();
    let first_secret = webhook(&app, "secret", json!({"id": endpoint_id})).await.as_str().expect("s").to_owned();
    webhook(&app, "enable", json!({"id": endpoint_id, "enabled": false})).await;
    webhook(&app, "rotate", json!({"id": endpoint_id})).await;
    let second_secret = webhook(&app, "secret", json!({"id": endpoint_id})).await.as_str().expect("s").to_owned();
    webhook(&app, "delete", json!({"id": endpoint_id})).await;

    // Sessions: one other device ended from the list, then every other one, then signing out.
    let phone = owner_browser(&app).await;
    let tablet = owner_browser(&app).await;
    let current = sessions(&app, &app.client).await;
    let phone_handle = sessions(&app, &phone).await.into_iter().find(|(_, me)| *me).expect("phone's own").0;
    let own_handle = current.iter().find(|(_, me)| *me).expect("own").0.clone();
    let r = app.post_form("/api/sessions/revoke", &[("handle", &phone_handle)]).await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = app.post_form("/api/sessions/end-all", &[("keep_this", "true")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    drop(tablet);
    app.log_out().await;

    let acts = acts(&app).await;
    let kinds: Vec<String> = acts.iter().map(|(act, _)| act.event_type().as_str().to_owned()).collect();
    assert_eq!(
        kinds,
        [
            "instance.keys_configured",
            "user.created",
            "user.created",
            "user.disabled",
            "session.revoked",
            "user.enabled",
            "api_key.created",
            "api_key.revoked",
            "webhook.created",
            "webhook.updated",
            "webhook.secret_rotated",
            "webhook.deleted",
            "session.revoked",
            "session.revoked",
            "session.revoked",
        ]
    );
    let actors: Vec<&str> = acts.iter().map(|(_, actor)| actor_id(actor)).collect();
    assert_eq!(actors[..3], ["system:attesta", "system:attesta", "system:cli"]);
    assert!(actors[3..].iter().all(|a| *a == "user:1"), "{actors:?}");

    // The details, typed: ids and hashes, never a secret.
    let keys = match &acts[0].0 {
        InstanceEvent::KeysConfigured(k) => k.clone(),
        other => panic!("{other:?}"),
    };
    let log_key = String::from_utf8(run(&app, &["log", "key"]).stdout).expect("utf-8").trim().to_owned();
    assert_eq!(keys.log_key, log_key);
    assert_eq!(keys.seal_certificate_sha256, app.documents.sealer().certificate_sha256());
    assert_eq!(
        acts[1].0,
        InstanceEvent::UserCreated(UserCreated {
            user: "user:1".into(),
            role: "owner".into(),
            sign_in: SignIn::Password
        })
    );
    assert_eq!(
        acts[2].0,
        InstanceEvent::UserCreated(UserCreated {
            user: "user:2".into(),
            role: "member".into(),
            sign_in: SignIn::Password
        })
    );
    assert_eq!(acts[3].0, InstanceEvent::UserDisabled(UserAccess { user: "user:2".into() }));
    assert_eq!(
        acts[4].0,
        InstanceEvent::SessionRevoked(SessionRevoked {
            user: "user:2".into(),
            reason: RevokeReason::UserDisabled,
            session: None,
            kept: None
        })
    );
    assert_eq!(acts[5].0, InstanceEvent::UserEnabled(UserAccess { user: "user:2".into() }));
    let stored_hash: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE public_id = $1")
        .bind(&public_id)
        .fetch_one(&app.pool)
        .await
        .expect("key row");
    assert_eq!(
        acts[6].0,
        InstanceEvent::ApiKeyCreated(ApiKeyCreated {
            api_key: format!("api_key:{public_id}"),
            user: "user:1".into(),
            scopes: vec!["send".into()],
            secret_sha256: Sha256::from_slice(&stored_hash).expect("hash"),
        })
    );
    assert_eq!(
        acts[7].0,
        InstanceEvent::ApiKeyRevoked(ApiKeyRevoked { api_key: format!("api_key:{public_id}"), user: "user:1".into() })
    );
    match &acts[8].0 {
        InstanceEvent::WebhookCreated(c) => {
            assert_eq!((c.endpoint.as_str(), c.owner.as_str()), (endpoint_id.as_str(), "user:1"));
            assert_eq!(c.url_sha256, Sha256::digest(url.as_bytes()));
            assert_eq!(c.event_types, ["document.completed"]);
            assert!(c.secret.starts_with("sec_"), "{}", c.secret);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        acts[9].0,
        InstanceEvent::WebhookUpdated(WebhookUpdated {
            endpoint: endpoint_id.clone(),
            owner: "user:1".into(),
            enabled: false
        })
    );
    assert!(
        matches!(&acts[10].0, InstanceEvent::WebhookSecretRotated(WebhookSecretRotated { endpoint, .. }) if *endpoint == endpoint_id)
    );
    assert_eq!(
        acts[11].0,
        InstanceEvent::WebhookDeleted(WebhookDeleted { endpoint: endpoint_id.clone(), owner: "user:1".into() })
    );
    let revoked = |reason, session: Option<&str>, kept: Option<&str>| {
        InstanceEvent::SessionRevoked(SessionRevoked {
            user: "user:1".into(),
            reason,
            session: session.map(str::to_owned),
            kept: kept.map(str::to_owned),
        })
    };
    assert_eq!(acts[12].0, revoked(RevokeReason::Revoked, Some(&phone_handle), None));
    assert_eq!(acts[13].0, revoked(RevokeReason::OthersRevoked, None, Some(&own_handle)));
    assert_eq!(acts[14].0, revoked(RevokeReason::AllRevoked, None, None));

    // Exported from the command line, the package verifies with the one verifier, and holds
    // none of the secrets or the URL.
    let out = run(&app, &["evidence", "export", "--instance"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let package = String::from_utf8(out.stdout).expect("utf-8");
    for secret in [api_secret.as_str(), &first_secret, &second_secret, url, "do-not-publish"] {
        assert!(!package.contains(secret), "the package holds a secret: {secret}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("instance.json");
    std::fs::write(&path, &package).expect("write");
    let verified = run(&app, &["verify", path.to_str().expect("path"), "--log-key", &log_key]);
    let report = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{report}");
    assert!(report.contains("PASS file_hashes: the instance chain: no file"), "{report}");

    // Who was disabled, rewritten: the package no longer verifies (exit 1).
    let tampered = package.replacen("\"user\": \"user:2\"", "\"user\": \"user:1\"", 1);
    assert_ne!(tampered, package);
    std::fs::write(&path, &tampered).expect("write");
    let refused = run(&app, &["verify", path.to_str().expect("path"), "--log-key", &log_key]);
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stdout));

    // The whole log, instance chain included, re-derives.
    let log = run(&app, &["log", "verify"]);
    assert!(log.status.success(), "{}", String::from_utf8_lossy(&log.stdout));
    let report = String::from_utf8_lossy(&log.stdout);
    assert!(report.contains("instance chain: 15 events"), "{report}");
}

#[tokio::test]
async fn a_refused_or_empty_act_records_nothing() {
    let app = spawn_app_with(Options::default()).await;
    app.set_up_owner().await;
    let before = acts(&app).await.len();
    // Nobody to disable, no such key, a handle that is no session, the owner disabling themselves.
    let r = app.post_form("/api/users/disabled", &[("id", "99"), ("disabled", "true")]).await;
    assert!(!r.status().is_success());
    let r = app.post_form("/api/users/disabled", &[("id", "1"), ("disabled", "true")]).await;
    assert!(!r.status().is_success());
    let r = app.post_form("/api/api-keys/revoke", &[("public_id", "nosuchkey")]).await;
    assert!(!r.status().is_success());
    let r = app.post_form("/api/sessions/revoke", &[("handle", &"0".repeat(32))]).await;
    assert!(!r.status().is_success());
    // Ending "every other session" with none: nothing ended, nothing recorded.
    let r = app.post_form("/api/sessions/end-all", &[("keep_this", "true")]).await;
    assert!(r.status().is_success());
    assert_eq!(acts(&app).await.len(), before);
}

#[tokio::test]
async fn the_keys_in_use_are_recorded_once_and_again_only_when_they_change() {
    let app = spawn_app_with(Options::default()).await;
    let configured = |acts: &[(InstanceEvent, Actor)]| -> Vec<KeysConfigured> {
        acts.iter()
            .filter_map(|(act, _)| match act {
                InstanceEvent::KeysConfigured(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(configured(&acts(&app).await).len(), 1);

    // A restart over the same data with the same keys adds nothing; one with a time-stamp
    // authority configured records the new set.
    let again = spawn_app_with(Options { data: Some(app.stop().await), ..Options::default() }).await;
    assert_eq!(configured(&acts(&again).await).len(), 1);
    let data = again.stop().await;
    let tsa = spawn_app_with(Options {
        data: Some(data),
        ..Options::configured(|c| c.seal.tsa_url = Some("http://127.0.0.1:9/tsa".to_owned()))
    })
    .await;
    let keys = configured(&acts(&tsa).await);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].tsa_url.as_deref(), Some("http://127.0.0.1:9/tsa"));
    assert_eq!(keys[1].log_key, keys[0].log_key);
    assert_eq!(keys[1].seal_certificate_sha256, keys[0].seal_certificate_sha256);
    assert_eq!(keys[0].tsa_url, None);
}
