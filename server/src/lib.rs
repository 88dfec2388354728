//! Attesta's server: the axum application, its adapters, and the command line.

pub mod api;
pub mod blob;
pub mod cli;
pub mod clock;
pub mod config;
pub mod documents;
pub mod evidence;
pub mod geo;
pub mod http;
pub mod mail;
pub mod markdown;
pub mod password;
pub mod private_file;
pub mod seal;
pub mod sso;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod webhooks;

use crate::config::Config;
use crate::http::{client_address, csrf, health, metrics, rate_limit, request_id, security_headers};
use anyhow::Context as _;
use attesta_app::ssr::ServerContext;
use attesta_app::{App, shell};
use attesta_core::ports::Clock as _;
use attesta_core::{AccountService, ThrottlePolicy};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, ResponseOptions, generate_route_list};
use secrecy::ExposeSecret;
use sqlx::SqlitePool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _, SizeAbove};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore as SessionStore;

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    pool: SqlitePool,
    session_store: SessionStore,
    public_origin: String,
    evidence: evidence::EvidenceLog,
    sealer: seal::Sealer,
    checkpoint_interval: std::time::Duration,
    documents: documents::Documents,
    session_policy: attesta_core::sessions::SessionPolicy,
    webhooks: Option<webhooks::Webhooks>,
}

impl Application {
    /// Opens the database, applies migrations, binds the listener and assembles the routes.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(clock::SystemClock)).await
    }

    /// `build` with the clock accounts, sessions and SSO read (tests move it).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn attesta_core::ports::Clock>) -> anyhow::Result<Self> {
        let pool = open_database(&config).await?;
        let addr = SocketAddr::new(config.server.host, config.server.port);
        let listener = TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let bound = listener.local_addr()?;
        let public_origin = match &config.server.public_url {
            Some(_) => config.public_origin(),
            None => format!("http://{bound}"),
        };

        let evidence = open_evidence(&config, pool.clone()).await?;
        // There is always a checkpoint to serve, from the empty log onwards.
        evidence.checkpoint(clock::SystemClock.now().as_micros()).await.context("signing the first checkpoint")?;
        let sealer = open_sealer(&config)?;

        let session_store = SessionStore::new(pool.clone()).with_table_name("sessions").map_err(anyhow::Error::msg)?;
        session_store.migrate().await.context("creating the sessions table")?;

        let documents = open_documents(&config, pool.clone(), evidence.clone(), &public_origin, sealer.clone()).await?;
        let hooks = open_webhooks(&config, pool.clone())?;
        let accounts = accounts(&config, pool.clone(), clock.clone());
        let sso = match config.sso.enabled() {
            true => {
                let sso = sso::Sso::new(&config.sso, &public_origin, pool.clone(), accounts.clone(), clock)?;
                tracing::info!(issuer = sso.issuer(), only = config.sso.only, "single sign-on");
                Some(sso)
            }
            false => None,
        };
        let router = router(
            &config,
            accounts,
            sso,
            pool.clone(),
            session_store.clone(),
            &public_origin,
            bound,
            evidence.clone(),
            documents.clone(),
            hooks.clone(),
        );
        let checkpoint_interval = config.evidence.checkpoint_interval;
        let session_policy = config.auth.session_policy();
        Ok(Self {
            listener,
            router,
            pool,
            session_store,
            public_origin,
            evidence,
            sealer,
            checkpoint_interval,
            documents,
            session_policy,
            webhooks: config.webhooks.enabled.then_some(hooks),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn public_origin(&self) -> &str {
        &self.public_origin
    }

    pub fn pool(&self) -> SqlitePool {
        self.pool.clone()
    }

    pub fn evidence(&self) -> evidence::EvidenceLog {
        self.evidence.clone()
    }

    pub fn sealer(&self) -> seal::Sealer {
        self.sealer.clone()
    }

    pub fn documents(&self) -> documents::Documents {
        self.documents.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let sweeper = {
            use tower_sessions::ExpiredDeletion as _;
            let store = self.session_store.clone();
            tokio::spawn(store.continuously_delete_expired(tokio::time::Duration::from_secs(600)))
        };
        let registry_sweeper = tokio::spawn(purge_session_records(self.pool.clone(), self.session_policy));
        let checkpointer = tokio::spawn(sign_checkpoints(self.evidence.clone(), self.checkpoint_interval));
        let completer = tokio::spawn(finish_completions(self.documents.clone()));
        let orphan_sweeper = tokio::spawn(sweep_orphans(self.pool.clone(), self.documents.clone()));
        let deliverer = self.webhooks.clone().map(|w| tokio::spawn(webhooks::worker::run(w, self.evidence.commits())));
        let result = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        sweeper.abort();
        registry_sweeper.abort();
        checkpointer.abort();
        completer.abort();
        orphan_sweeper.abort();
        if let Some(deliverer) = deliverer {
            deliverer.abort();
        }
        self.pool.close().await;
        result
    }
}

/// Completes, seals and mails what a stopped process (or a failed step) left undone: at start,
/// then every minute.
async fn finish_completions(documents: documents::Documents) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let n = documents.finish_pending().await;
        if n > 0 {
            tracing::info!(documents = n, "finished pending completions");
        }
    }
}

/// Removes the files stopped processes left behind (`blob::sweep`): at start, then every hour.
async fn sweep_orphans(pool: SqlitePool, documents: documents::Documents) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(3600));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let swept = blob::sweep::sweep(
            &pool,
            documents.blobs().as_ref(),
            documents.spool_dir(),
            &clock::SystemClock,
            blob::sweep::GRACE,
        )
        .await;
        if let Err(e) = swept {
            tracing::warn!(error = %e, "sweeping orphan files");
        }
    }
}

/// Deletes session records that can no longer let anyone in (revoked or idle), every ten minutes.
async fn purge_session_records(pool: SqlitePool, policy: attesta_core::sessions::SessionPolicy) {
    use attesta_core::sessions::SessionRegistry as _;
    let registry = store::sessions::SqliteSessions::new(pool);
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(600));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let cutoff = policy.idle_cutoff(clock::SystemClock.now());
        match registry.purge(cutoff).await {
            Ok(n) if n > 0 => tracing::debug!(records = n, "purged ended sessions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging ended sessions failed"),
        }
    }
}

/// Signs a checkpoint every `interval` (a no-op when nothing was appended since the last).
async fn sign_checkpoints(log: evidence::EvidenceLog, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match log.checkpoint(clock::SystemClock.now().as_micros()).await {
            Ok(c) => tracing::debug!(tree_size = c.tree_size, "checkpoint"),
            Err(e) => tracing::error!(error = %e, "signing a checkpoint failed"),
        }
    }
}

/// The configured database, migrated to the current schema.
pub async fn open_database(config: &Config) -> anyhow::Result<SqlitePool> {
    store::sqlite::connect(config.database.url.expose_secret(), config.database.max_connections).await
}

/// The evidence log over `pool`, with the configured (or newly created) signing key.
///
/// The log's name is fixed at its first start and kept in the key file (see
/// [`evidence::keys::load_or_create`]); the latest stored checkpoint's origin must match it.
pub async fn open_evidence(config: &Config, pool: SqlitePool) -> anyhow::Result<evidence::EvidenceLog> {
    use evidence::keys::ConfiguredName;
    let name = attesta_core::evidence::KeyName::parse(&config.log_name())
        .map_err(|e| anyhow::anyhow!("evidence.log_name: {e}"))?;
    let configured = if !config.evidence.log_name.is_empty() {
        ConfiguredName::Explicit { name, setting: "evidence.log_name" }
    } else if config.server.public_url.is_some() {
        ConfiguredName::Explicit { name, setting: "server.public_url" }
    } else {
        ConfiguredName::Default(name)
    };
    let latest: Option<String> = sqlx::query_scalar("SELECT note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1")
        .fetch_optional(&pool)
        .await
        .context("reading the latest checkpoint")?;
    let origin = latest.as_deref().and_then(|note| note.split('\n').next()).map(str::to_owned);
    let signer = evidence::keys::load_or_create(&config.evidence.log_key_file, &configured, origin.as_deref())?;
    Ok(evidence::EvidenceLog::start(pool, signer))
}

/// The document sealer: the configured seal identity, or the embedded one (made on first run).
pub fn open_sealer(config: &Config) -> anyhow::Result<seal::Sealer> {
    let sealer = seal::Sealer::from_config(&config.seal, &config.public_host(), clock::SystemClock.now())?;
    tracing::info!(seal = %sealer.subject(), tsa = sealer.tsa_url().as_deref().unwrap_or("none"), "document seal");
    Ok(sealer)
}

/// The document service over the configured storage.
pub async fn open_documents(
    config: &Config,
    pool: SqlitePool,
    evidence: evidence::EvidenceLog,
    public_origin: &str,
    sealer: seal::Sealer,
) -> anyhow::Result<documents::Documents> {
    let mailer = mail::Mailer::from_config(config)?;
    tracing::info!(mail = %mailer.describe(), "outgoing mail");
    let disclosure_template = match &config.signing.disclosure_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("signing.disclosure_file {}: {e}", path.display()))?,
        None => attesta_core::signing::disclosure::DEFAULT_TEXT.to_owned(),
    };
    let geo = match &config.geoip.database {
        Some(path) => Some(Arc::new(geo::GeoIp::open(path)?)),
        None => None,
    };
    documents::Documents::new(documents::DocumentsSetup {
        pool,
        evidence,
        blobs: storage::blob_store(config).await?,
        keyring: Arc::new(storage::keyring(config)?),
        geo,
        limits: attesta_core::documents::UploadLimits {
            max_bytes: config.documents.max_upload_bytes,
            max_pages: config.documents.max_pages,
        },
        spool_dir: config.storage.spool_dir.clone(),
        clock: Arc::new(clock::SystemClock),
        mailer,
        public_origin: public_origin.to_owned(),
        otp: config.signing.otp_policy(),
        disclosure_template,
        sealer,
    })
}

/// The webhook service (endpoints, secrets, delivery) over `pool`.
pub fn open_webhooks(config: &Config, pool: SqlitePool) -> anyhow::Result<webhooks::Webhooks> {
    let settings = webhooks::Settings {
        allow_private_targets: config.webhooks.allow_private_targets,
        timeout: config.webhooks.timeout,
        schedule: config.webhooks.schedule(),
    };
    webhooks::Webhooks::new(pool, Arc::new(storage::keyring(config)?), settings)
}

/// The account rules over the configured database, for the command line.
pub async fn account_service(config: &Config) -> anyhow::Result<AccountService> {
    Ok(accounts(config, open_database(config).await?, Arc::new(clock::SystemClock)))
}

fn accounts(config: &Config, pool: SqlitePool, clock: Arc<dyn attesta_core::ports::Clock>) -> AccountService {
    AccountService::new(
        Arc::new(store::sqlite::SqliteStore::new(pool)),
        Arc::new(password::Argon2Hasher::new()),
        clock,
        ThrottlePolicy { max_failures: config.auth.max_failures_per_account, window: config.auth.failure_window },
        ThrottlePolicy { max_failures: config.auth.max_failures_per_address, window: config.auth.failure_window },
    )
}

#[expect(clippy::too_many_arguments, reason = "each is one service the router hands on, built once in build()")]
fn router(
    config: &Config,
    accounts: AccountService,
    sso: Option<sso::Sso>,
    pool: SqlitePool,
    session_store: SessionStore,
    public_origin: &str,
    bound: SocketAddr,
    evidence: evidence::EvidenceLog,
    documents: documents::Documents,
    hooks: webhooks::Webhooks,
) -> Router {
    let context = ServerContext {
        accounts,
        session_policy: config.auth.session_policy(),
        sessions: Arc::new(store::sessions::SqliteSessions::new(pool.clone())),
        documents: Arc::new(documents.clone()),
        signing: Arc::new(documents.clone()),
        webhooks: Arc::new(hooks),
        max_upload_bytes: config.documents.max_upload_bytes,
        trust: attesta_app::api::verify::TrustAnchors {
            log_key: evidence.signer().verifier_key().to_string(),
            seal_anchors: documents
                .sealer()
                .trust_anchors_der()
                .iter()
                .map(|der| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der))
                .collect(),
        },
        sso: sso.as_ref().map(|_| attesta_app::api::auth::SsoInfo {
            display_name: config.sso.display_name.trim().to_owned(),
            only: config.sso.only,
        }),
        api_keys: Arc::new(api::keys::KeysPort { pool: pool.clone(), clock: Arc::new(clock::SystemClock) }),
    };
    // One policy for the cross-site refusal of state changes and for the GETs that record.
    let csrf_policy = csrf::CsrfPolicy { public_origin: Arc::from(public_origin) };
    let files_state = documents::http::DocumentsState {
        documents: documents.clone(),
        context: context.clone(),
        csrf: csrf_policy.clone(),
    };
    let session_check =
        Router::new().route("/auth/session", get(http::session_check::check)).with_state(context.clone());
    let sso_state = sso.map(|sso| sso::routes::SsoState { sso, context: context.clone() });
    let api_state = api::ApiState {
        pool: pool.clone(),
        accounts: context.accounts.clone(),
        documents: documents.clone(),
        limit: api::auth::KeyLimit::new(config.api.requests_per_minute, config.api.burst),
        max_json_bytes: config.api.max_json_bytes,
    };

    // The client's files carry content hashes in their names when cargo-leptos wrote a hash
    // file (`hash-files`); the page then names those files and browsers keep them for good.
    let hash_file = http::cache_control::hash_file_path(config.server.hash_file.as_deref());
    let hashes = std::fs::read_to_string(&hash_file).ok();
    let cache_policy = hashes
        .as_deref()
        .map(|text| http::cache_control::CachePolicy::from_hash_file(text, "pkg", "attesta"))
        .unwrap_or_default();
    let leptos_options = LeptosOptions::builder()
        .output_name("attesta")
        .site_root(config.server.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(bound)
        .hash_files(hashes.is_some())
        // Leptos joins this to the executable's folder; an absolute path stays as it is.
        .hash_file(std::sync::Arc::<str>::from(hash_file.to_string_lossy().as_ref()))
        .build();
    let routes = generate_route_list(App);

    let provide = move || {
        provide_context(context.clone());
        // Leptos puts a fresh nonce on its inline scripts; the page's policy allows exactly it.
        if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<ResponseOptions>())
            && let Ok(v) = security_headers::content_security_policy(Some(&nonce)).parse()
        {
            res.insert_header(::http::header::CONTENT_SECURITY_POLICY, v);
        }
    };

    let https = config.is_https();
    let idle = time::Duration::try_from(config.auth.session_idle_timeout).unwrap_or(time::Duration::hours(12));
    let sessions = SessionManagerLayer::new(session_store)
        .with_name(if https { "__Host-attesta_session" } else { "attesta_session" })
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));

    let metrics_state = metrics::MetricsState { handle: metrics::handle(), pool: pool.clone() };
    let proxies = client_address::TrustedProxies(config.server.trusted_proxies.clone().into());
    // Bearer keys only, never cookies: outside the session and cross-site layers.
    let rest = api::router(api_state, proxies.clone(), config.server.transfer_timeout);
    let public_limit =
        rate_limit::PublicLimit::new(config.signing.public_requests_per_minute, config.signing.public_burst);

    // Files move in and out slowly over slow links: they get their own, longer time limit, and
    // the upload its own size limit (the documents' limit, checked as the body streams).
    let seal_pem: Arc<str> = documents.sealer().trust_anchors_pem().into();
    let files = Router::new()
        .route("/api/documents", post(documents::http::upload))
        .route("/documents/{id}/file", get(documents::http::file))
        .route("/documents/{id}/sealed.pdf", get(documents::http::sealed))
        .route("/documents/{id}/evidence.json", get(documents::http::evidence))
        .route("/sign/{token}/file", get(documents::http::signer_file))
        .with_state(files_state)
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(::http::StatusCode::REQUEST_TIMEOUT, config.server.transfer_timeout));

    // Single sign-on: two GETs that need the session (and nothing else of the page stack).
    let sso_routes = match sso_state {
        Some(state) => Router::new()
            .route("/auth/sso/start", get(sso::routes::start))
            .route("/auth/sso/callback", get(sso::routes::callback))
            .with_state(state)
            .layer(TimeoutLayer::with_status_code(::http::StatusCode::REQUEST_TIMEOUT, config.server.request_timeout)),
        None => Router::new(),
    };

    let app = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, provide.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // Static files from the site root, with conditional requests answered 304 (Leptos's
        // own file handler renders its 404 page for a 304); anything else is the 404 page.
        // A file compressed at build time (`name.br`, `name.gz` beside it: `cargo leptos build
        // --release --precompress`, and pdf.js by scripts/bootstrap.sh) is sent as stored when
        // the browser accepts it, so the client is never compressed again per request.
        .fallback_service(
            tower_http::services::ServeDir::new(&config.server.site_root)
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(false)
                .call_fallback_on_method_not_allowed(true)
                .fallback(axum::handler::Handler::with_state(
                    leptos_axum::file_and_error_handler_with_context(provide, shell),
                    leptos_options.clone(),
                )),
        )
        .with_state(leptos_options)
        .layer(DefaultBodyLimit::max(config.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(::http::StatusCode::REQUEST_TIMEOUT, config.server.request_timeout))
        .merge(files)
        .merge(session_check)
        .merge(sso_routes)
        .layer(sessions)
        .layer(from_fn_with_state(csrf_policy, csrf::refuse_cross_site))
        .layer(from_fn_with_state(public_limit, rate_limit::limit))
        .layer(from_fn_with_state(proxies, client_address::resolve));

    let ops = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz).with_state(health::Readiness { pool, blobs: documents.blobs().clone() }))
        .route("/metrics", get(metrics::render).with_state(metrics_state))
        .route("/log/checkpoint", get(http::log::checkpoint).with_state(evidence.clone()))
        .route("/log/key", get(http::log::key).with_state(evidence))
        .route("/seal/ca.pem", get(http::log::seal_anchors).with_state(seal_pem));

    let trace = TraceLayer::new_for_http()
        .make_span_with(telemetry::request_span)
        .on_response(telemetry::on_response)
        .on_failure(());

    let ops = ops
        .layer(DefaultBodyLimit::max(config.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(::http::StatusCode::REQUEST_TIMEOUT, config.server.request_timeout));

    // gzip for what compresses: the WASM client (2.2 MB → 0.8 MB for a signer on a phone), its
    // JavaScript, CSS and the HTML. PDFs are already compressed inside and stream as stored.
    let compression = CompressionLayer::new().gzip(true).compress_when(
        DefaultPredicate::new().and(NotForContentType::const_new("application/pdf")).and(SizeAbove::new(1024)),
    );
    ops.merge(rest).merge(app).route_layer(from_fn(metrics::track)).layer(
        ServiceBuilder::new()
            .layer(compression)
            .layer(axum::middleware::map_request(request_id::drop_unacceptable))
            .layer(SetRequestIdLayer::x_request_id(request_id::RandomRequestId))
            .layer(trace)
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(from_fn_with_state(security_headers::SecurityHeaders { https }, security_headers::apply))
            .layer(from_fn_with_state(cache_policy, http::cache_control::apply)),
    )
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing requests in flight");
}
