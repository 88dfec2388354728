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
    pub pool: sqlx::AnyPool,
    pub evidence: attesta_server::evidence::EvidenceLog,
    pub documents: attesta_server::documents::Documents,
    /// The app's job runner (its loop runs too; `run_due_jobs` runs what is due at once).
    pub jobs: attesta_server::jobs::Jobs,
    pub data: TempDir,
    /// The database the app runs on (see [`database_url`]).
    pub database_url: String,
    /// The clock and random source the app was built with.
    pub ports: attesta_server::Ports,
    /// Ends the server, its job loop and its webhook deliverer (see [`TestApp::stop`]).
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A change to the test configuration.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

pub struct Options {
    pub failure_window: Duration,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub public_url: Option<String>,
    /// Changes to the configuration after the test defaults are applied.
    pub configure: Option<Configure>,
    /// Reuse this data folder (to restart an app over the same database and files).
    pub data: Option<TempDir>,
    /// The clock every service reads (default: the system clock).
    pub clock: Option<std::sync::Arc<dyn attesta_core::ports::Clock>>,
    /// The random source every service draws from (default: the operating system's).
    pub entropy: Option<std::sync::Arc<dyn attesta_core::ports::Entropy>>,
    /// The database to run on, whatever `ATTESTA_TEST_DATABASE` says (default: [`database_url`]).
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            failure_window: Duration::from_secs(900),
            max_failures_per_account: 5,
            max_failures_per_address: 50,
            public_url: None,
            configure: None,
            data: None,
            clock: None,
            entropy: None,
            database_url: None,
        }
    }
}

impl Options {
    pub fn configured(f: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        Self { configure: Some(Box::new(f)), ..Self::default() }
    }
}

/// Options for another instance over `first`'s database and key files, as a second server
/// process behind a load balancer would run, changed further by `f`.
pub fn beside(first: &TestApp, f: impl FnOnce(&mut Config) + Send + 'static) -> Options {
    let (url, dir) = (first.database_url.clone(), first.data.path().to_owned());
    Options::configured(move |c| {
        c.database.url = url.into();
        c.evidence.log_key_file = dir.join("log.key");
        c.storage.path = dir.join("blobs");
        c.storage.spool_dir = dir.join("spool-beside");
        c.storage.master_key_file = dir.join("master.key");
        c.seal.dir = dir.join("seal");
        f(c);
    })
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let data = options.data.unwrap_or_else(|| TempDir::new().expect("temp dir"));
    let mut config = Config::default();
    config.server.port = 0;
    config.server.site_root = data.path().join("site");
    let database_url = match options.database_url {
        Some(url) => url,
        None => database_url(data.path()).await,
    };
    config.database.url = database_url.clone().into();
    config.evidence.log_key_file = data.path().join("log.key");
    config.evidence.log_name = "attesta.test/log".to_owned();
    config.auth.failure_window = options.failure_window;
    config.auth.max_failures_per_account = options.max_failures_per_account;
    config.auth.max_failures_per_address = options.max_failures_per_address;
    config.server.public_url = options.public_url;
    config.log.filter = "warn".to_owned();
    // Debug builds of every test's server share two cores with the other tests' hashing, PDF
    // parsing and encryption: 30 s has been seen to run out for a first page render (408). No
    // test here is about the time limit itself.
    config.server.request_timeout = Duration::from_secs(120);
    config.storage.path = data.path().join("blobs");
    config.storage.spool_dir = data.path().join("spool");
    config.storage.master_key_file = data.path().join("master.key");
    config.seal.dir = data.path().join("seal");
    if let Some(configure) = options.configure {
        configure(&mut config);
    }
    attesta_server::telemetry::init(&config.log);

    let system = attesta_server::Ports::system();
    let ports = attesta_server::Ports {
        clock: options.clock.unwrap_or(system.clock),
        entropy: options.entropy.unwrap_or(system.entropy),
    };
    let app = Application::build_with_ports(config, ports.clone()).await.expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let evidence = app.evidence();
    let documents = app.documents();
    let jobs = app.jobs();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = client_with_origin(&address);
    TestApp { address, client, pool, evidence, documents, jobs, data, database_url, ports, shutdown, server }
}

/// The database of the test whose files are in `data`, the same on every call (a restarted app
/// finds its data): SQLite in that folder by default; with `ATTESTA_TEST_DATABASE=postgres`, a
/// schema of its own in the PostgreSQL of `scripts/services/pg.sh` (`ATTESTA_TEST_PG_ADMIN_URL`),
/// so that the suite runs unchanged on both databases and its tests stay independent.
pub async fn database_url(data: &std::path::Path) -> String {
    match std::env::var("ATTESTA_TEST_DATABASE").as_deref() {
        Ok("postgres") => {}
        Ok("sqlite") | Err(_) => return format!("sqlite://{}", data.join("attesta.db").display()),
        Ok(other) => panic!("ATTESTA_TEST_DATABASE={other}: expected sqlite or postgres"),
    }
    let admin = std::env::var("ATTESTA_TEST_PG_ADMIN_URL").expect(
        "ATTESTA_TEST_DATABASE=postgres needs ATTESTA_TEST_PG_ADMIN_URL: eval \"$(bash scripts/services/pg.sh env)\"",
    );
    let marker = data.join("pg-schema");
    let schema = match std::fs::read_to_string(&marker) {
        Ok(name) => name.trim().to_owned(),
        Err(_) => {
            // A fresh name even when a temporary folder's name comes round again.
            use attesta_core::entropy::EntropyExt as _;
            let name = format!("t_{}", attesta_server::Ports::system().entropy.base32(16));
            std::fs::write(&marker, &name).expect("schema marker");
            name
        }
    };
    pg_schema(&admin, &schema).await
}

/// The URL of `schema` in the PostgreSQL that `admin` connects to, creating the schema if needed.
pub async fn pg_schema(admin: &str, schema: &str) -> String {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await.expect("connect to PostgreSQL");
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
        .await
        .expect("create the test's schema");
    let separator = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{separator}options%5Bsearch_path%5D={schema}")
}

pub fn client_with_origin(origin: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_str(origin).expect("origin"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    Client::builder()
        .user_agent("attesta-tests/1 (like a browser)")
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

impl TestApp {
    /// Stops the server and its background workers and hands back its data folder, for a
    /// restart over the same data. A test that only moved `data` out would leave this app's job
    /// loop and webhook deliverer running beside the restarted one, claiming its jobs with the
    /// old configuration (seen: a webhook delivered by the old process, under the old master
    /// key, never arrived).
    pub async fn stop(self) -> TempDir {
        let Self { shutdown, server, data, pool, .. } = self;
        let _ = shutdown.send(());
        match tokio::time::timeout(Duration::from_secs(60), server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the server stopped with an error: {e}"),
            Ok(Err(e)) => panic!("the server task failed: {e}"),
            Err(_) => panic!("the server did not stop within 60 s"),
        }
        pool.close().await;
        data
    }

    /// The stored records of a document's events, in chain order, parsed (read in Rust rather
    /// than with a database's JSON functions, which differ between SQLite and PostgreSQL).
    pub async fn records(&self, document_id: &str) -> Vec<serde_json::Value> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT record FROM audit_events WHERE document_id = $1 ORDER BY seq")
                .bind(document_id)
                .fetch_all(&self.pool)
                .await
                .expect("records");
        rows.iter().map(|r| serde_json::from_str(r).expect("a record is JSON")).collect()
    }

    /// The records of a document's events of one type, in chain order.
    pub async fn records_of(&self, document_id: &str, event_type: &str) -> Vec<serde_json::Value> {
        self.records(document_id).await.into_iter().filter(|r| r["type"] == event_type).collect()
    }

    /// Whether this run's database is PostgreSQL (`ATTESTA_TEST_DATABASE=postgres`).
    pub fn on_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// The instance chain of this app's log, over the app's ports.
    pub fn instance(&self) -> attesta_server::evidence::InstanceLog {
        attesta_server::evidence::InstanceLog::new(self.evidence.clone(), self.ports.clone())
    }

    /// A key of `user_id` with these scopes, created by the operator (as `attesta api-key create`).
    pub async fn create_api_key(&self, user_id: i64, name: &str, scopes: &str) -> String {
        let scopes = attesta_core::api_keys::Scopes::parse(scopes).expect("scopes");
        let by = attesta_core::evidence::Acting::operator();
        let now = self.ports.clock.now().as_micros();
        let (key, _) =
            attesta_server::api::keys::create(&self.instance(), &*self.ports.entropy, &by, user_id, name, &scopes, now)
                .await
                .expect("key created");
        key.expose()
    }

    /// The environment that points the `attesta` binary at this app's database and log key.
    pub fn cli_env(&self) -> Vec<(String, String)> {
        vec![
            ("ATTESTA__DATABASE__URL".to_owned(), self.database_url.clone()),
            ("ATTESTA__EVIDENCE__LOG_KEY_FILE".to_owned(), self.data.path().join("log.key").display().to_string()),
            ("ATTESTA__EVIDENCE__LOG_NAME".to_owned(), "attesta.test/log".to_owned()),
            ("ATTESTA__STORAGE__PATH".to_owned(), self.data.path().join("blobs").display().to_string()),
            ("ATTESTA__STORAGE__SPOOL_DIR".to_owned(), self.data.path().join("spool").display().to_string()),
            ("ATTESTA__STORAGE__MASTER_KEY_FILE".to_owned(), self.data.path().join("master.key").display().to_string()),
        ]
    }

    /// Runs every job due by the app's clock (move the clock to make timed jobs due), and waits
    /// out any the app's own loop holds, so the follow-up work of what the test did is done.
    pub async fn run_due_jobs(&self) -> attesta_server::jobs::RunReport {
        self.jobs.run_due_now().await.expect("jobs run")
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

    /// Uploads `bytes` as `file_name` through the multipart form, as the upload page does,
    /// with the SHA-256 the browser would compute (or `sha256` when given).
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>, sha256: Option<&str>) -> Response {
        self.upload_request(file_name, bytes, sha256).send().await.expect("request")
    }

    /// The upload request of [`TestApp::upload`], for a test to add headers to before sending.
    pub fn upload_request(&self, file_name: &str, bytes: Vec<u8>, sha256: Option<&str>) -> reqwest::RequestBuilder {
        let computed = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let mime = if file_name.ends_with(".md") { "text/markdown" } else { "application/pdf" };
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()).mime_str(mime).expect("mime");
        let form =
            reqwest::multipart::Form::new().text("sha256", sha256.unwrap_or(&computed).to_owned()).part("file", part);
        self.client.post(self.url("/api/documents")).multipart(form)
    }

    /// Uploads a PDF that must be accepted; its id.
    pub async fn upload_ok(&self, file_name: &str, bytes: Vec<u8>) -> String {
        let r = self.upload(file_name, bytes, None).await;
        let status = r.status();
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(status, 201, "upload refused: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// A document's detail, through the server function the document page calls.
    pub async fn document(&self, id: &str) -> serde_json::Value {
        let r = self.get(&format!("/api/documents/get?id={id}")).await;
        assert!(r.status().is_success(), "document {id}: {}", r.status());
        r.json().await.expect("json")
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&self.pool).await.expect("count")
    }

    /// Events of documents in the log (the instance chain's left out: the keys in use at start,
    /// the owner's account, and so on).
    pub async fn document_events(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE document_id != $1")
            .bind(attesta_core::evidence::INSTANCE_CHAIN_ID)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// Files under the data folder's `dir`, recursively (blobs, spool).
    pub fn files_in(&self, dir: &str) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() { walk(&path, out) } else { out.push(path) }
            }
        }
        let mut out = Vec::new();
        walk(&self.data.path().join(dir), &mut out);
        out
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
/// Runs the CLI, built by `build` from [`attesta`], off the test's runtime thread. The app under
/// test runs on that thread: a command waiting for a database lock the app holds (mid-commit)
/// would otherwise wait out its busy timeout and fail, the app unable to move meanwhile.
pub async fn run_attesta(
    build: impl FnOnce(&mut std::process::Command) -> &mut std::process::Command,
) -> std::process::Output {
    let mut cmd = attesta();
    build(&mut cmd);
    tokio::task::spawn_blocking(move || cmd.output()).await.expect("the command's thread").expect("attesta runs")
}

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

pub use pdf::{pdf, pdf_of_objects};

#[path = "../support/pdf.rs"]
mod pdf;
