//! `spawn_app()` and one helper per endpoint.

use attesta_server::Application;
use attesta_server::config::Config;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Response, redirect};
use std::time::Duration;
use tempfile::TempDir;

pub const OWNER_EMAIL: &str = "ada@example.com";
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    /// A client with its own cookie jar that sends this site's Origin, like a page of the app.
    pub client: Client,
    pub pool: sqlx::SqlitePool,
    pub evidence: attesta_server::evidence::EvidenceLog,
    pub data: TempDir,
}

pub struct Options {
    pub failure_window: Duration,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub public_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            failure_window: Duration::from_secs(900),
            max_failures_per_account: 5,
            max_failures_per_address: 50,
            public_url: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let data = TempDir::new().expect("temp dir");
    let mut config = Config::default();
    config.server.port = 0;
    config.server.site_root = data.path().join("site");
    config.database.url = format!("sqlite://{}", data.path().join("attesta.db").display()).into();
    config.evidence.log_key_file = data.path().join("log.key");
    config.evidence.log_name = "attesta.test/log".to_owned();
    config.auth.failure_window = options.failure_window;
    config.auth.max_failures_per_account = options.max_failures_per_account;
    config.auth.max_failures_per_address = options.max_failures_per_address;
    config.server.public_url = options.public_url;
    config.log.filter = "warn".to_owned();
    attesta_server::telemetry::init(&config.log);

    let app = Application::build(config).await.expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let evidence = app.evidence();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = client_with_origin(&address);
    TestApp { address, client, pool, evidence, data }
}

pub fn client_with_origin(origin: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_str(origin).expect("origin"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

impl TestApp {
    /// The environment that points the `attesta` binary at this app's database and log key.
    pub fn cli_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "ATTESTA__DATABASE__URL".to_owned(),
                format!("sqlite://{}", self.data.path().join("attesta.db").display()),
            ),
            ("ATTESTA__EVIDENCE__LOG_KEY_FILE".to_owned(), self.data.path().join("log.key").display().to_string()),
            ("ATTESTA__EVIDENCE__LOG_NAME".to_owned(), "attesta.test/log".to_owned()),
        ]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client.post(self.url(path)).form(form).send().await.expect("request")
    }

    pub async fn set_up(&self, name: &str, email: &str, password: &str) -> Response {
        self.post_form(
            "/api/setup",
            &[("name", name), ("email", email), ("password", password), ("password_confirm", password)],
        )
        .await
    }

    pub async fn set_up_owner(&self) {
        let r = self.set_up("Ada Lovelace", OWNER_EMAIL, OWNER_PASSWORD).await;
        assert!(r.status().is_success() || r.status().is_redirection(), "setup failed: {}", r.status());
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Response {
        self.post_form("/api/login", &[("email", email), ("password", password)]).await
    }

    pub async fn log_out(&self) -> Response {
        self.post_form("/api/logout", &[]).await
    }

    /// The signed-in user's email, from the session endpoint.
    pub async fn whoami(&self) -> Option<String> {
        let r = self.post_form("/api/session", &[]).await;
        assert!(r.status().is_success(), "session endpoint: {}", r.status());
        let body: serde_json::Value = r.json().await.expect("json");
        body["user"]["email"].as_str().map(str::to_owned)
    }
}

/// The `attesta` binary with no ATTESTA variables from the developer's shell and no config file.
pub fn attesta() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_attesta"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ATTESTA") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ATTESTA_CONFIG", "/nonexistent/attesta.toml");
    cmd
}

/// The error message a server function returned.
pub async fn error_message(r: Response) -> String {
    r.text().await.expect("body")
}

pub fn set_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("attesta_session="))
        .map(str::to_owned)
}
