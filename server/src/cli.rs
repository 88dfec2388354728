//! The `attesta` command line.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration.

use crate::config::Config;
use crate::evidence::{EvidenceLog, InstanceLog};
use crate::{Application, Ports, shutdown_signal, telemetry};
use attesta_core::Role;
use attesta_core::evidence::sealed::{Inputs, verify_document_detailed};
use attesta_core::evidence::verify::Verdict;
use attesta_core::evidence::{DocumentId, VerifierKey};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "attesta", version, about = "Self-hostable e-signatures with evidence anyone can check", long_about = None)]
pub struct Cli {
    /// Configuration file; skipped when it does not exist. Environment variables named
    /// ATTESTA__SECTION__KEY override it.
    #[arg(long, global = true, default_value = "attesta.toml", env = "ATTESTA_CONFIG")]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app.
    Serve,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the configuration and print it, secrets redacted.
    Config,
    /// Bring the database's schema up to date (what `serve` also does at start), through
    /// database.migrate_url when set; on PostgreSQL with a separate application role, grant that
    /// role (database.url's user) exactly what the application needs. Exit 0 done, 2 failed.
    Migrate,
    /// Verify offline: an evidence package, a sealed PDF (with the package attached inside
    /// it), or both. Prints what the files say and each check; exit 0 valid, 1 tampered or
    /// inconsistent, 2 unreadable, 3 not verified (nothing failed, but a check that decides
    /// integrity could not run, e.g. without --log-key).
    #[command(arg_required_else_help = true)]
    Verify {
        /// The evidence package (JSON).
        package: Option<PathBuf>,
        /// A sealed PDF: its seal, its attached evidence, and its bytes against that evidence.
        #[arg(long)]
        pdf: Option<PathBuf>,
        /// The log's verifier key (name+id+base64) to require, instead of trusting the one the
        /// package carries. Get it from the instance's /log/key, or from an earlier package.
        #[arg(long)]
        log_key: Option<String>,
        /// PEM file of the certificate authority the seal must chain to (the instance's
        /// /seal/ca.pem). Without it the seal's signature is checked but not who issued it.
        #[arg(long)]
        seal_ca: Option<PathBuf>,
    },
    /// The transparency log of this instance.
    #[command(subcommand)]
    Log(LogCommand),
    /// Evidence of one document.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Encrypted file storage.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// API keys for the REST API (/api/v1).
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Clause risk analysis, offline (no network, no database).
    #[command(subcommand)]
    Risk(RiskCommand),
    /// The database as a whole: `attesta db copy` moves an instance to another database.
    #[command(subcommand)]
    Db(crate::store::copy::DbCommand),
    /// The retention policy (`[retention]`): what it would purge now, or purge it now.
    #[command(subcommand)]
    Retention(RetentionCommand),
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Print what a retention run now would purge, per rule, and what a legal hold keeps;
    /// nothing is changed.
    Plan,
    /// Apply the retention policy now (as the daily job does) and print what was purged.
    /// Exit 0 done, 1 stopped on an error (what it purged before is kept and reported).
    Run,
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Scan contracts (PDF, or UTF-8 text for any other file) for risky and missing clauses.
    /// With --json, one JSON object per line per file: {"file", "contract_type", "flags":
    /// [{"category", "severity", "start", "end", "text"}], "missing": [clause…]}, offsets in
    /// characters of the text extracted (of the file itself for text). Exit 1 when a file could
    /// not be read (its line then has "error"), 0 otherwise.
    #[command(arg_required_else_help = true)]
    Scan {
        /// One JSON object per line instead of a readable summary.
        #[arg(long)]
        json: bool,
        /// The contracts.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user and print it (the only time it is shown) on standard output.
    Create {
        /// The email of the user the key acts as.
        #[arg(long)]
        email: String,
        /// A name to recognise the key by (shown in the audit trail: "via API key '<name>'").
        #[arg(long)]
        name: String,
        /// Comma-separated: read, send, admin (admin ⊇ send ⊇ read).
        #[arg(long, default_value = "read")]
        scopes: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Print a new random master key (base64), for storage.master_key.
    GenerateKey,
    /// Re-wrap every file's data key under the current master key (storage.master_key), opening
    /// them with storage.previous_master_keys. Files are not rewritten. Afterwards the previous
    /// keys can be removed from the configuration.
    RotateKey,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Re-derive the whole stored log from its events and check every checkpoint signature and
    /// consistency link. Exit 0 valid, 1 tampered or inconsistent.
    Verify,
    /// Sign a checkpoint of the log as it is now and print it.
    Checkpoint,
    /// Print the log's verifier key.
    Key,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Print the evidence package of a document (JSON), or with --instance of the instance
    /// chain (its administrative acts), against a checkpoint covering all its events.
    Export {
        /// The document's id.
        #[arg(required_unless_present = "instance", conflicts_with = "instance")]
        document_id: Option<String>,
        /// Export the instance chain: users, API keys, webhooks, sessions and keys in use.
        #[arg(long)]
        instance: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (asked for twice on a terminal),
    /// never from the command line where other users could see it. The first user is the owner.
    Create {
        /// Email address the user signs in with.
        #[arg(long)]
        email: String,
        /// The user's name as shown in the app.
        #[arg(long)]
        name: String,
        /// owner, admin or member.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match Config::load(&cli.config, std::env::vars()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("attesta: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&loaded.config.log);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("attesta: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = loaded.config;
    // Time and randomness for every command, built once.
    let ports = Ports::system();
    match cli.command {
        Command::Serve => runtime.block_on(serve(config, ports)),
        Command::Migrate => either(runtime.block_on(migrate(&config))),
        Command::User(UserCommand::Create { email, name, role }) => {
            runtime.block_on(create_user(config, &ports, &email, &name, &role))
        }
        Command::Config => {
            print!("{}", config.to_redacted_toml());
            ExitCode::SUCCESS
        }
        Command::Risk(RiskCommand::Scan { json, files }) => risk_scan(&files, json),
        Command::Verify { package, pdf, log_key, seal_ca } => {
            verify(package.as_deref(), pdf.as_deref(), log_key.as_deref(), seal_ca.as_deref())
        }
        Command::Log(LogCommand::Verify) => either(runtime.block_on(log_verify(config, &ports))),
        Command::Log(LogCommand::Checkpoint) => either(runtime.block_on(log_checkpoint(config, &ports))),
        Command::Log(LogCommand::Key) => either(runtime.block_on(log_key(config, &ports))),
        Command::Evidence(EvidenceCommand::Export { document_id, instance }) => {
            either(runtime.block_on(export(config, &ports, document_id.as_deref(), instance)))
        }
        Command::Storage(StorageCommand::GenerateKey) => {
            let key =
                attesta_core::storage::envelope::MasterKey::generate(&mut attesta_core::entropy::rng(&*ports.entropy));
            println!("{}", key.to_base64().as_str());
            ExitCode::SUCCESS
        }
        Command::Storage(StorageCommand::RotateKey) => either(runtime.block_on(rotate_key(config, &ports))),
        Command::Db(command) => runtime.block_on(crate::store::copy::command(&config, command)),
        Command::Retention(command) => either(runtime.block_on(retention(config, &ports, command))),
        Command::ApiKey(ApiKeyCommand::Create { email, name, scopes }) => {
            either(runtime.block_on(create_api_key(config, &ports, &email, &name, &scopes)))
        }
    }
}

async fn retention(config: Config, ports: &Ports, command: RetentionCommand) -> Result<ExitCode, ExitCode> {
    let log = open_log(&config, ports).await?;
    let pool = log.pool().clone();
    let sealer = crate::open_sealer(&config, ports).map_err(|e| failed(2, format!("{e:#}")))?;
    let origin = config.public_origin();
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let documents = crate::open_documents(&config, pool.clone(), log, &origin, sealer, ports, wake)
        .await
        .map_err(|e| failed(2, format!("{e:#}")))?;
    let retention = crate::retention::Retention::new(pool, documents, ports.clock.clone(), &config)
        .map_err(|e| failed(2, format!("{e:#}")))?;
    let policy = retention.policy;
    let print = |counts: &crate::retention::Counts, verb: &str| {
        for rule in attesta_core::retention::Rule::ALL {
            let n = counts.purged.get(rule.as_str()).copied().unwrap_or(0);
            let window = policy.window(rule);
            match window.days() {
                None => println!("{:<40} kept (no window)", rule.label()),
                Some(_) => println!("{:<40} {n} {verb} (older than {})", rule.label(), window.describe()),
            }
        }
        println!("documents on legal hold left alone: {}", counts.held);
    };
    match command {
        RetentionCommand::Plan => {
            let counts = retention.plan().await.map_err(|e| failed(2, format!("{e:#}")))?;
            println!("next scheduled run: {}", next_run(&retention, ports));
            print(&counts, "due");
            if counts.chains > 0 {
                println!("personal data due in {} chain(s)", counts.chains);
            }
            Ok(ExitCode::SUCCESS)
        }
        RetentionCommand::Run => match retention.run(crate::retention::Trigger::Cli).await {
            Ok((run, counts)) => {
                print(&counts, "purged");
                println!("recorded as retention run {}", run.id);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(failed(1, format!("{e:#}"))),
        },
    }
}

/// When the schedule next runs, for people (`off` when it does not).
fn next_run(retention: &crate::retention::Retention, ports: &Ports) -> String {
    match retention.schedule.next_after(ports.clock.now()) {
        Some(at) => format!(
            "{} ({} in {})",
            attesta_core::webhooks::events::rfc3339(at),
            retention.schedule.pattern(),
            retention.schedule.zone()
        ),
        None => "off (jobs.retention)".to_owned(),
    }
}

async fn create_api_key(
    config: Config,
    ports: &Ports,
    email: &str,
    name: &str,
    scopes: &str,
) -> Result<ExitCode, ExitCode> {
    let email = attesta_core::EmailAddress::parse(email).map_err(|e| failed(2, format!("--email: {e}")))?;
    let scopes = attesta_core::api_keys::Scopes::parse(scopes).map_err(|e| failed(2, format!("--scopes: {e}")))?;
    let instance = InstanceLog::new(open_log(&config, ports).await?, ports.clone());
    let now = ports.clock.now().as_micros();
    match crate::api::keys::create_for_email(&instance, &*ports.entropy, &email, name, &scopes, now).await {
        Ok((key, _)) => {
            println!("{}", key.expose());
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::api::keys::KeyError::UnknownUser) => Err(failed(1, format!("no user with the email {email}"))),
        Err(crate::api::keys::KeyError::Invalid(e)) => Err(failed(2, format!("--name: {e}"))),
        Err(e) => Err(failed(1, format!("{e:#}"))),
    }
}

async fn rotate_key(config: Config, ports: &Ports) -> Result<ExitCode, ExitCode> {
    let keyring = crate::storage::keyring(&config, &*ports.entropy).map_err(|e| failed(2, format!("{e:#}")))?;
    let pool = crate::open_database(&config).await.map_err(|e| failed(2, format!("{e:#}")))?;
    let report =
        crate::storage::rotate(&pool, &keyring, &*ports.entropy).await.map_err(|e| failed(1, format!("{e:#}")))?;
    println!(
        "master key {}: {} re-wrapped, {} already current, {} failed",
        keyring.current().id(),
        report.rewrapped,
        report.current,
        report.failed.len()
    );
    for (key, why) in &report.failed {
        eprintln!("attesta: blob {key}: {why}");
    }
    Ok(if report.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn verify(package: Option<&Path>, pdf: Option<&Path>, log_key: Option<&str>, seal_ca: Option<&Path>) -> ExitCode {
    let key = match log_key.map(VerifierKey::parse).transpose() {
        Ok(k) => k,
        Err(e) => return failed(2, format!("--log-key: {e}")),
    };
    let read = |path: &Path| std::fs::read(path).map_err(|e| failed(2, format!("cannot read {}: {e}", path.display())));
    let package_bytes = match package.map(read).transpose() {
        Ok(b) => b,
        Err(code) => return code,
    };
    let pdf_bytes = match pdf.map(read).transpose() {
        Ok(b) => b,
        Err(code) => return code,
    };
    let anchors = match seal_ca.map(|path| read(path).map(|pem| (path, pem))).transpose() {
        Ok(None) => Vec::new(),
        Ok(Some((path, pem))) => match pem_certificates(&pem) {
            Some(certs) if !certs.is_empty() => certs,
            _ => return failed(2, format!("{}: no PEM certificate in it", path.display())),
        },
        Err(code) => return code,
    };
    let inputs = Inputs {
        pdf: pdf_bytes.as_deref(),
        package: package_bytes.as_deref(),
        log_key: key.as_ref(),
        seal_anchors: &anchors,
    };
    match verify_document_detailed(inputs) {
        Err(e) => failed(2, e),
        Ok(verification) => {
            print!("{}", verification.summary);
            println!();
            println!("{}", verification.report);
            match verification.report.verdict() {
                Verdict::Valid => ExitCode::SUCCESS,
                Verdict::Invalid => ExitCode::from(1),
                Verdict::Unverified => ExitCode::from(3),
            }
        }
    }
}

/// The DER of every `CERTIFICATE` block in a PEM file.
pub fn pem_certificates(pem: &[u8]) -> Option<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?;
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[start + "-----BEGIN CERTIFICATE-----".len()..];
        let end = body.find("-----END CERTIFICATE-----")?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        certs.push(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
        rest = &body[end..];
    }
    Some(certs)
}

/// The commands below return `Err(code)` when they stop early, having said why on stderr.
fn either(result: Result<ExitCode, ExitCode>) -> ExitCode {
    result.unwrap_or_else(|code| code)
}

fn failed(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("attesta: {message}");
    ExitCode::from(code)
}

async fn open_log(config: &Config, ports: &Ports) -> Result<EvidenceLog, ExitCode> {
    let pool = crate::open_database(config).await.map_err(|e| failed(2, format!("{e:#}")))?;
    crate::open_evidence(config, pool, ports).await.map_err(|e| failed(2, format!("{e:#}")))
}

async fn migrate(config: &Config) -> Result<ExitCode, ExitCode> {
    use secrecy::ExposeSecret as _;
    let url = config.database.url.expose_secret();
    let migrate_url = Some(config.database.migrate_url.expose_secret()).filter(|u| !u.is_empty()).unwrap_or(url);
    let report = crate::store::db::migrate_as(migrate_url, url).await.map_err(|e| failed(2, format!("{e:#}")))?;
    println!("{} migration(s) applied; the schema is up to date", report.applied);
    if let Some(role) = report.granted_to {
        println!("granted {role}: read everything, append evidence, change state; nothing else");
    }
    Ok(ExitCode::SUCCESS)
}

async fn log_verify(config: Config, ports: &Ports) -> Result<ExitCode, ExitCode> {
    let log = open_log(&config, ports).await?;
    let mut last_report = std::time::Instant::now();
    let started = std::time::Instant::now();
    let progress = |done: u64, total: u64| {
        if last_report.elapsed() >= std::time::Duration::from_secs(1) || done == total {
            eprintln!("  {done} of {total} events re-derived");
            last_report = std::time::Instant::now();
        }
    };
    let report = crate::evidence::verify::verify_log(log.pool(), log.signer().verifier_key(), progress)
        .await
        .map_err(|e| failed(2, format!("cannot read the log: {e}")))?;
    for f in &report.findings {
        println!("{} {}: {}", if f.ok { "PASS" } else { "FAIL" }, f.check, f.detail);
    }
    println!("{} events, {} checkpoints, in {:.2?}", report.events, report.checkpoints, started.elapsed());
    if report.is_valid() {
        println!("VALID");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("INVALID");
        Ok(ExitCode::from(1))
    }
}

async fn log_checkpoint(config: Config, ports: &Ports) -> Result<ExitCode, ExitCode> {
    let log = open_log(&config, ports).await?;
    let checkpoint = log.checkpoint(ports.clock.now().as_micros()).await.map_err(|e| failed(1, e))?;
    print!("{}", checkpoint.note);
    Ok(ExitCode::SUCCESS)
}

async fn log_key(config: Config, ports: &Ports) -> Result<ExitCode, ExitCode> {
    let log = open_log(&config, ports).await?;
    println!("{}", log.signer().verifier_key());
    Ok(ExitCode::SUCCESS)
}

async fn export(
    config: Config,
    ports: &Ports,
    document_id: Option<&str>,
    instance: bool,
) -> Result<ExitCode, ExitCode> {
    let id = match (document_id, instance) {
        (_, true) => attesta_core::evidence::instance_chain_id(),
        (Some(id), false) => DocumentId::parse(id).map_err(|e| failed(2, format!("document id: {e}")))?,
        (None, false) => return Err(failed(2, "give a document id, or --instance")),
    };
    let log = open_log(&config, ports).await?;
    let package = log.package(&id, ports.clock.now().as_micros()).await.map_err(|e| failed(1, e))?;
    println!("{}", package.to_json());
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config, ports: Ports) -> ExitCode {
    let app = match Application::build_with_ports(config, ports).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %app.public_origin(), "Attesta is serving at {}", app.public_origin());
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn create_user(config: Config, ports: &Ports, email: &str, name: &str, role: &str) -> ExitCode {
    let role = match Role::parse(role) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("attesta: --role: {e}");
            return ExitCode::from(2);
        }
    };
    let password = match read_password() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("attesta: {e}");
            return ExitCode::from(2);
        }
    };
    let service = match crate::account_service(&config, ports).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("attesta: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match service.create_user(name, email, &password, role, &attesta_core::evidence::Acting::operator()).await {
        Ok(user) => {
            println!("created {} <{}> as {}", user.name.as_str(), user.email, user.role);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("attesta: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ").map_err(|e| e.to_string())?;
        let second = rpassword::prompt_password("Repeat the password: ").map_err(|e| e.to_string())?;
        if first != second {
            return Err("the two passwords differ".to_owned());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the password from stdin: {e}"))?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            return Err("no password on standard input".to_owned());
        }
        Ok(password)
    }
}

/// The text of a contract file: a PDF's pages through the engine's extractor, anything else as
/// UTF-8 text.
fn contract_text(path: &Path) -> Result<attesta_core::risk::PagedText, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.starts_with(b"%PDF-") {
        return attesta_core::risk::pdf::page_texts(&bytes).map_err(|e| e.to_string());
    }
    String::from_utf8(bytes)
        .map(attesta_core::risk::PagedText::plain)
        .map_err(|_| "not a PDF and not UTF-8 text".to_string())
}

/// `attesta risk scan`: each file's flags and missing clauses, one line (JSON) or block each.
fn risk_scan(files: &[PathBuf], json: bool) -> ExitCode {
    use attesta_core::risk::{Engine, ScanState};
    use std::io::Write as _;
    let engine = Engine::builtin();
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in files {
        let file = path.display().to_string();
        let line = match contract_text(path) {
            Err(error) => {
                failed = true;
                eprintln!("attesta: {file}: {error}");
                serde_json::json!({ "file": file, "error": error })
            }
            Ok(text) => {
                let scan = engine.scan(&text);
                if scan.state == ScanState::NoText {
                    eprintln!("attesta: {file}: no text to analyse (a scan without a text layer?)");
                }
                if !json {
                    let _ =
                        writeln!(out, "{file}: {} contract, {} flags", scan.contract_type.as_str(), scan.flags.len());
                    for flag in &scan.flags {
                        let page = flag.page.map(|p| format!(" page {p},")).unwrap_or_default();
                        let excerpt: String = flag.text.chars().take(100).collect();
                        let _ = writeln!(
                            out,
                            "  [{}] {} ({page} chars {}-{}): {excerpt}",
                            flag.severity.as_str(),
                            flag.category,
                            flag.start,
                            flag.end
                        );
                    }
                    for gap in &scan.missing {
                        let _ = writeln!(out, "  missing [{}] {}: {}", gap.severity.as_str(), gap.clause, gap.why);
                    }
                    continue;
                }
                let mut value = serde_json::json!({
                    "file": file,
                    "contract_type": scan.contract_type.as_str(),
                    "flags": scan.flags.iter().map(|f| serde_json::json!({
                        "category": f.category,
                        "severity": f.severity.as_str(),
                        "start": f.start,
                        "end": f.end,
                        "text": f.text,
                    })).collect::<Vec<_>>(),
                    "missing": scan.missing.iter().map(|m| m.clause.as_str()).collect::<Vec<_>>(),
                });
                if scan.state == ScanState::NoText {
                    value["state"] = serde_json::json!("no_text");
                }
                value
            }
        };
        if json {
            let _ = writeln!(out, "{line}");
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
