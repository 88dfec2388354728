//! Attesta's server: the axum application, its adapters, and the command line.

pub mod api;
pub mod blob;
pub mod cli;
pub mod clock;
pub mod config;
pub mod documents;
pub mod entropy;
pub mod evidence;
pub mod geo;
pub mod http;
pub mod integrity;
pub mod jobs;
pub mod mail;
pub mod markdown;
pub mod password;
pub mod private_file;
pub mod retention;
pub mod risk;
pub mod seal;
pub mod sso;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod trust;
pub mod webhooks;

use crate::config::Config;
use crate::http::{client_address, csrf, health, metrics, rate_limit, request_id, security_headers};
use anyhow::Context as _;
use attesta_app::ssr::ServerContext;
use attesta_app::{App, shell};
use attesta_core::ports::{Clock, Entropy};
use attesta_core::{AccountService, ThrottlePolicy};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, ResponseOptions, generate_route_list};
use secrecy::ExposeSecret;
use sqlx::AnyPool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use store::web_sessions::WebSessions as SessionStore;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _, SizeAbove};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Time and randomness, built once at start-up and handed to every service that reads them:
/// the system's in production, a clock the test moves and a seeded source in tests.
#[derive(Clone)]
pub struct Ports {
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
}

impl Ports {
    /// The system clock and the operating system's random generator.
    pub fn system() -> Self {
        Self { clock: Arc::new(clock::SystemClock), entropy: Arc::new(entropy::OsEntropy) }
    }
}

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    pool: AnyPool,
    public_origin: String,
    evidence: evidence::EvidenceLog,
    sealer: seal::Sealer,
    documents: documents::Documents,
    jobs: jobs::Jobs,
    /// Whether this process runs the job loop (`jobs.worker`).
    job_worker: bool,
    webhooks: Option<webhooks::Webhooks>,
}

impl Application {
    /// Opens the database, applies migrations, binds the listener and assembles the routes.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_ports(config, Ports::system()).await
    }

    /// `build` with `clock` (tests move it) and the system's random source.
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::build_with_ports(config, Ports { clock, ..Ports::system() }).await
    }

    /// `build` with the clock and random source every service reads (tests move the one and
    /// seed the other).
    pub async fn build_with_ports(config: Config, ports: Ports) -> anyhow::Result<Self> {
        let pool = open_database(&config).await?;
        let addr = SocketAddr::new(config.server.host, config.server.port);
        let listener = TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let bound = listener.local_addr()?;
        let public_origin = match &config.server.public_url {
            Some(_) => config.public_origin(),
            None => format!("http://{bound}"),
        };

        let evidence = open_evidence(&config, pool.clone(), &ports).await?;
        // There is always a checkpoint to serve, from the empty log onwards.
        evidence.checkpoint(ports.clock.now().as_micros()).await.context("signing the first checkpoint")?;
        let sealer = open_sealer(&config, &ports)?;
        let instance = evidence::InstanceLog::new(evidence.clone(), ports.clone());
        // The keys this start signs with, in the instance chain (when they changed).
        instance.record_keys(keys_configured(&evidence, &sealer)).await.context("recording the keys in use")?;

        let session_store = SessionStore::new(pool.clone(), ports.clock.clone());

        let jobs_wake = Arc::new(tokio::sync::Notify::new());
        let documents = open_documents(
            &config,
            pool.clone(),
            evidence.clone(),
            &public_origin,
            sealer.clone(),
            &ports,
            jobs_wake.clone(),
        )
        .await?;
        let accounts = accounts(&config, pool.clone(), instance.clone(), &ports);
        let risk = risk::Risk::new(
            pool.clone(),
            evidence.clone(),
            documents.clone(),
            accounts.clone(),
            &ports,
            &public_origin,
        );
        // Read once (the configuration was validated at load): the jobs run them, the trust
        // dashboard states them.
        let retention = retention::Retention::new(pool.clone(), documents.clone(), ports.clock.clone(), &config)?;
        let self_verify = attesta_core::jobs::Schedule::parse_in(
            &config.jobs.self_verify,
            attesta_core::jobs::parse_time_zone(&config.jobs.time_zone)?,
        )?;
        let trust = trust::Trust {
            pool: pool.clone(),
            evidence: evidence.clone(),
            sealer: documents.sealer().clone(),
            retention: retention.clone(),
            self_verify: self_verify.clone(),
            rehash_period: config.jobs.self_verify_rehash_period,
            session_policy: config.auth.session_policy(),
            clock: ports.clock.clone(),
        };
        let jobs = jobs::Jobs::new(
            pool.clone(),
            ports.clock.clone(),
            Arc::new(jobs::handlers::Services {
                pool: pool.clone(),
                clock: ports.clock.clone(),
                documents: documents.clone(),
                evidence: evidence.clone(),
                instance: instance.clone(),
                session_store: session_store.clone(),
                session_policy: config.auth.session_policy(),
                keep_finished: config.jobs.keep_finished,
                retention,
                rehash: integrity::Rehash { period: config.jobs.self_verify_rehash_period, schedule: self_verify },
                risk: risk.clone(),
            }),
            config.jobs.settings().map_err(|e| anyhow::anyhow!(e.join("; ")))?,
            jobs_wake,
        );
        let hooks = open_webhooks(&config, pool.clone(), instance.clone(), &ports)?;
        let sso = match config.sso.enabled() {
            true => {
                let sso =
                    sso::Sso::new(&config.sso, &public_origin, pool.clone(), accounts.clone(), ports.clock.clone())?;
                tracing::info!(issuer = sso.issuer(), only = config.sso.only, "single sign-on");
                Some(sso)
            }
            false => None,
        };
        // Rate limits are shared through the database when several instances may serve it.
        let shared_limits = store::db::Backend::of_pool(&pool) == store::db::Backend::Postgres;
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
            instance,
            risk,
            trust,
            &ports,
            shared_limits,
        );
        Ok(Self {
            listener,
            router,
            pool,
            public_origin,
            evidence,
            sealer,
            documents,
            jobs,
            job_worker: config.jobs.worker,
            webhooks: config.webhooks.enabled.then_some(hooks),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn public_origin(&self) -> &str {
        &self.public_origin
    }

    pub fn pool(&self) -> AnyPool {
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

    pub fn jobs(&self) -> jobs::Jobs {
        self.jobs.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. Follow-up and
    /// recurring work runs in this process's job loop (`jobs::Jobs::run`), beside the webhook
    /// deliverer.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let worker = self.job_worker.then(|| tokio::spawn(self.jobs.clone().run()));
        let deliverer = self.webhooks.clone().map(|w| tokio::spawn(webhooks::worker::run(w, self.evidence.commits())));
        let result = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(worker) = worker {
            worker.abort();
        }
        if let Some(deliverer) = deliverer {
            deliverer.abort();
        }
        self.pool.close().await;
        result
    }
}

/// The configured database, migrated to the current schema.
pub async fn open_database(config: &Config) -> anyhow::Result<AnyPool> {
    let migrate_url = Some(config.database.migrate_url.expose_secret()).filter(|u| !u.is_empty());
    store::db::open_for_app(config.database.url.expose_secret(), migrate_url, config.database.max_connections).await
}

/// The evidence log over `pool`, with the configured (or newly created) signing key.
///
/// The log's name is fixed at its first start and kept in the key file (see
/// [`evidence::keys::load_or_create`]); the latest stored checkpoint's origin must match it.
pub async fn open_evidence(config: &Config, pool: AnyPool, ports: &Ports) -> anyhow::Result<evidence::EvidenceLog> {
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
    let signer =
        evidence::keys::load_or_create(&config.evidence.log_key_file, &configured, origin.as_deref(), &*ports.entropy)?;
    Ok(evidence::EvidenceLog::start(pool, signer, ports.entropy.clone()))
}

/// The document sealer: the configured seal identity, or the embedded one (made on first run).
pub fn open_sealer(config: &Config, ports: &Ports) -> anyhow::Result<seal::Sealer> {
    let sealer =
        seal::Sealer::from_config(&config.seal, &config.public_host(), ports.clock.now(), ports.entropy.clone())?;
    tracing::info!(seal = %sealer.subject(), tsa = sealer.tsa_url().as_deref().unwrap_or("none"), "document seal");
    Ok(sealer)
}

/// What `instance.keys_configured` records: the public halves only.
pub fn keys_configured(
    evidence: &evidence::EvidenceLog,
    sealer: &seal::Sealer,
) -> attesta_core::evidence::instance::KeysConfigured {
    attesta_core::evidence::instance::KeysConfigured {
        log_key: evidence.signer().verifier_key().to_string(),
        seal_certificate_sha256: sealer.certificate_sha256(),
        seal_anchors_sha256: sealer
            .trust_anchors_der()
            .iter()
            .map(|der| attesta_core::evidence::Sha256::digest(der))
            .collect(),
        tsa_url: sealer.tsa_url(),
    }
}

/// The document service over the configured storage.
pub async fn open_documents(
    config: &Config,
    pool: AnyPool,
    evidence: evidence::EvidenceLog,
    public_origin: &str,
    sealer: seal::Sealer,
    ports: &Ports,
    jobs_wake: Arc<tokio::sync::Notify>,
) -> anyhow::Result<documents::Documents> {
    let mailer = mail::Mailer::from_config(config, ports)?;
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
        keyring: Arc::new(storage::keyring(config, &*ports.entropy)?),
        geo,
        limits: attesta_core::documents::UploadLimits {
            max_bytes: config.documents.max_upload_bytes,
            max_pages: config.documents.max_pages,
        },
        spool_dir: config.storage.spool_dir.clone(),
        clock: ports.clock.clone(),
        entropy: ports.entropy.clone(),
        mailer,
        public_origin: public_origin.to_owned(),
        otp: config.signing.otp_policy(),
        disclosure_template,
        sealer,
        expire_after: config.signing.expire_after(),
        reminders: config.signing.reminder_policy(),
        stall_after: config.signing.stall_after(),
        jobs_wake,
    })
}

/// The webhook service (endpoints, secrets, delivery) over `pool`.
pub fn open_webhooks(
    config: &Config,
    pool: AnyPool,
    instance: evidence::InstanceLog,
    ports: &Ports,
) -> anyhow::Result<webhooks::Webhooks> {
    let settings = webhooks::Settings {
        allow_private_targets: config.webhooks.allow_private_targets,
        timeout: config.webhooks.timeout,
        schedule: config.webhooks.schedule(),
    };
    webhooks::Webhooks::new(
        pool,
        Arc::new(storage::keyring(config, &*ports.entropy)?),
        settings,
        instance,
        ports.clone(),
    )
}

/// The account rules over the configured database and its evidence log, for the command line.
pub async fn account_service(config: &Config, ports: &Ports) -> anyhow::Result<AccountService> {
    let pool = open_database(config).await?;
    let evidence = open_evidence(config, pool.clone(), ports).await?;
    Ok(accounts(config, pool, evidence::InstanceLog::new(evidence, ports.clone()), ports))
}

fn accounts(config: &Config, pool: AnyPool, instance: evidence::InstanceLog, ports: &Ports) -> AccountService {
    AccountService::new(
        Arc::new(store::accounts::SqlStore::new(pool, instance)),
        Arc::new(password::Argon2Hasher::new(ports.entropy.clone())),
        ports.clock.clone(),
        ThrottlePolicy { max_failures: config.auth.max_failures_per_account, window: config.auth.failure_window },
        ThrottlePolicy { max_failures: config.auth.max_failures_per_address, window: config.auth.failure_window },
    )
}

#[expect(clippy::too_many_arguments, reason = "each is one service the router hands on, built once in build()")]
fn router(
    config: &Config,
    accounts: AccountService,
    sso: Option<sso::Sso>,
    pool: AnyPool,
    session_store: SessionStore,
    public_origin: &str,
    bound: SocketAddr,
    evidence: evidence::EvidenceLog,
    documents: documents::Documents,
    hooks: webhooks::Webhooks,
    instance: evidence::InstanceLog,
    risk: risk::Risk,
    trust: trust::Trust,
    ports: &Ports,
    shared_limits: bool,
) -> Router {
    let limiter = |per_minute, burst| {
        let shared = shared_limits.then(|| (pool.clone(), ports.clock.clone()));
        http::limiter::Limiter::new(per_minute, burst, shared)
    };
    // The dashboard's figures: one reader for the page, the REST API and /metrics.
    let context = ServerContext {
        trust_dashboard: Arc::new(trust.clone()),
        accounts,
        session_policy: config.auth.session_policy(),
        sessions: Arc::new(store::sessions::SqlSessions::new(pool.clone(), instance.clone())),
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
        api_keys: Arc::new(api::keys::KeysPort { pool: pool.clone(), instance, ports: ports.clone() }),
        entropy: ports.entropy.clone(),
        jobs: Arc::new(jobs::admin::JobsAdmin { pool: pool.clone() }),
        integrity: Arc::new(integrity::IntegrityAdmin {
            pool: pool.clone(),
            schedule: format!("{} ({})", config.jobs.self_verify, config.jobs.time_zone),
            rehash_period: if config.jobs.self_verify_rehash_period.is_zero() {
                "every run".to_owned()
            } else {
                integrity::describe_period(config.jobs.self_verify_rehash_period)
            },
        }),
        risk: Arc::new(risk.clone()),
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
        limit: api::auth::KeyLimit::new(limiter(config.api.requests_per_minute, config.api.burst)),
        max_json_bytes: config.api.max_json_bytes,
        clock: ports.clock.clone(),
        trust: trust.clone(),
        risk,
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

    let metrics_state = metrics::MetricsState { handle: metrics::handle(), pool: pool.clone(), trust: Some(trust) };
    let proxies = client_address::TrustedProxies(config.server.trusted_proxies.clone().into());
    // Bearer keys only, never cookies: outside the session and cross-site layers.
    let rest = api::router(api_state, proxies.clone(), config.server.transfer_timeout);
    let public_limit =
        rate_limit::PublicLimit::new(limiter(config.signing.public_requests_per_minute, config.signing.public_burst));

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
            .layer(SetRequestIdLayer::x_request_id(request_id::RandomRequestId(ports.entropy.clone())))
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
