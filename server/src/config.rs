//! Configuration: built-in defaults, then an optional `attesta.toml`, then environment
//! variables named `ATTESTA__SECTION__KEY`.
//!
//! A bad value stops start-up with a message naming the key and the form it expects. Secrets
//! are `SecretString`s: they never reach a log line or `attesta config`. Environment variables
//! that start with `ATTESTA` but name no key are reported, since they are almost always typos.

use figment::Figment;
use figment::providers::{Format, Toml};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ENV_PREFIX: &str = "ATTESTA__";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub evidence: EvidenceConfig,
    pub documents: DocumentsConfig,
    pub storage: StorageConfig,
    pub s3: S3Config,
    pub mail: MailConfig,
    pub geoip: GeoIpConfig,
    pub signing: SigningConfig,
    pub seal: SealConfig,
    pub webhooks: WebhooksConfig,
    pub sso: SsoConfig,
    pub api: ApiConfig,
    pub jobs: JobsConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
}

/// The retention policy (`attesta_core::retention`): how many days each kind of record is kept
/// (0: for ever). Applied daily by `jobs.retention`; `attesta retention plan` shows what the next
/// run would purge. Nothing on legal hold is ever purged.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Personal data in audit events (emails, names, IP addresses, user agents, places). The
    /// events stay and still verify: only a salted commitment to it was hashed.
    pub personal_data_days: u32,
    /// Drafts never sent, counted from their upload.
    pub unsent_drafts_days: u32,
    /// Webhook messages and their delivery attempts.
    pub webhook_messages_days: u32,
    /// Stored API answers that let a retried request with the same Idempotency-Key replay.
    pub idempotency_days: u32,
    /// The files of finished documents (original, signed, sealed, signature images), counted
    /// from when the document finished. 0 (the default): kept. Their hashes and evidence stay,
    /// so the copies parties hold still verify; the stored copies are gone.
    pub document_files_days: u32,
    /// Rows a purge changes per transaction, so that a large first purge never holds the
    /// database for long.
    pub batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let p = attesta_core::retention::Policy::default();
        let days = |w: attesta_core::retention::Window| w.days().unwrap_or(0);
        Self {
            personal_data_days: days(p.personal_data),
            unsent_drafts_days: days(p.unsent_drafts),
            webhook_messages_days: days(p.webhook_messages),
            idempotency_days: days(p.idempotency),
            document_files_days: days(p.document_files),
            batch: 500,
        }
    }
}

impl RetentionConfig {
    pub fn policy(&self) -> attesta_core::retention::Policy {
        use attesta_core::retention::Window;
        attesta_core::retention::Policy {
            personal_data: Window::from_days(self.personal_data_days),
            unsent_drafts: Window::from_days(self.unsent_drafts_days),
            webhook_messages: Window::from_days(self.webhook_messages_days),
            idempotency: Window::from_days(self.idempotency_days),
            document_files: Window::from_days(self.document_files_days),
        }
    }
}

/// Durable jobs (`server/src/jobs/`): the worker's pace, retries, and the cron schedules of
/// recurring work (read in `time_zone`; five fields, or six with seconds first; `@hourly`; `off`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Whether this process runs jobs. Off: it only enqueues them, for processes that serve
    /// requests while others work (and for tests that run jobs themselves).
    pub worker: bool,
    /// How often the worker looks for due jobs when nothing woke it earlier.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long a claimed job is its worker's; past it another process may take the job over.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Attempts before a job is failed for good.
    pub max_attempts: u32,
    /// The pause after the first failed attempt; it doubles after each failure, up to `retry_max`.
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How long finished jobs are kept (and listed on the admin page).
    #[serde(with = "humantime_serde")]
    pub keep_finished: Duration,
    /// Signing a checkpoint of the evidence log (a no-op when nothing was appended).
    pub checkpoint: String,
    /// Deleting session records that can no longer let anyone in.
    pub session_purge: String,
    /// Deleting expired sign-in sessions.
    pub expired_sessions: String,
    /// Removing files stopped processes left behind.
    pub orphan_sweep: String,
    /// Queuing completion for documents that need it and have no job (e.g. after a job gave up).
    pub completion_sweep: String,
    /// Deleting finished jobs older than `keep_finished`.
    pub job_purge: String,
    /// The self-verification: the whole log re-derived, captured changes checked against it,
    /// every stored file re-hashed; failures mailed to owners and admins.
    pub self_verify: String,
    /// Every stored file is decrypted and re-hashed at least once in this period; each run of
    /// `self_verify` takes its share (the log is re-derived whole every run). 0: every file,
    /// every run.
    #[serde(with = "humantime_serde")]
    pub self_verify_rehash_period: Duration,
    /// Applying the retention policy (`[retention]`).
    pub retention: String,
    /// The IANA time zone the schedules are read in (`Europe/Berlin`): the operator's 02:00.
    pub time_zone: String,
    /// Scanning documents in progress that the current clause engine has not read yet (so a new
    /// engine version re-scans them), and resolving the flags of finished documents.
    pub risk_sweep: String,
    /// Recording documents that stalled (`signing.stalled_after_days`): hourly by default, so
    /// a threshold is noticed within the hour it passes.
    pub stall_sweep: String,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            worker: true,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            max_attempts: 8,
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            keep_finished: Duration::from_secs(7 * 24 * 3600),
            checkpoint: "*/5 * * * *".to_owned(),
            session_purge: "*/10 * * * *".to_owned(),
            expired_sessions: "*/10 * * * *".to_owned(),
            orphan_sweep: "0 * * * *".to_owned(),
            completion_sweep: "*/15 * * * *".to_owned(),
            job_purge: "30 3 * * *".to_owned(),
            self_verify: "15 2 * * *".to_owned(),
            self_verify_rehash_period: Duration::from_secs(7 * 24 * 3600),
            retention: "0 2 * * *".to_owned(),
            time_zone: "UTC".to_owned(),
            risk_sweep: "0 * * * *".to_owned(),
            stall_sweep: "30 * * * *".to_owned(),
        }
    }
}

impl JobsConfig {
    /// Every recurring job with its schedule (checked by `Config::validate`).
    pub fn recurring(&self) -> Result<Vec<crate::jobs::Recurring>, Vec<String>> {
        use attesta_core::jobs::{JobKind, Schedule};
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let zone = match attesta_core::jobs::parse_time_zone(&self.time_zone) {
            Ok(zone) => zone,
            Err(e) => return Err(vec![format!("jobs.time_zone: {e}")]),
        };
        for (key, kind, pattern) in [
            ("jobs.checkpoint", JobKind::Checkpoint, &self.checkpoint),
            ("jobs.session_purge", JobKind::SessionPurge, &self.session_purge),
            ("jobs.expired_sessions", JobKind::ExpiredSessions, &self.expired_sessions),
            ("jobs.orphan_sweep", JobKind::OrphanSweep, &self.orphan_sweep),
            ("jobs.completion_sweep", JobKind::CompletionSweep, &self.completion_sweep),
            ("jobs.job_purge", JobKind::JobPurge, &self.job_purge),
            ("jobs.self_verify", JobKind::SelfVerify, &self.self_verify),
            ("jobs.retention", JobKind::Retention, &self.retention),
            ("jobs.risk_sweep", JobKind::RiskSweep, &self.risk_sweep),
            ("jobs.stall_sweep", JobKind::StallSweep, &self.stall_sweep),
        ] {
            match Schedule::parse_in(pattern, zone) {
                Ok(schedule) => out.push(crate::jobs::Recurring { kind, schedule }),
                Err(e) => errors.push(format!("{key}: expected a cron pattern such as \"*/5 * * * *\" or off ({e})")),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    /// The runner's settings.
    pub fn settings(&self) -> Result<crate::jobs::Settings, Vec<String>> {
        Ok(crate::jobs::Settings {
            poll_interval: self.poll_interval,
            lease: self.lease,
            backoff: attesta_core::jobs::Backoff {
                base: self.retry_base,
                max: self.retry_max,
                max_attempts: self.max_attempts,
            },
            recurring: self.recurring()?,
        })
    }
}

/// Signed webhooks (Standard Webhooks): delivery of document events to users' endpoints.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Whether this process makes and delivers webhook messages. Off: events are not turned
    /// into messages meanwhile; on again, the events since are delivered then.
    pub enabled: bool,
    /// Allow endpoints on loopback, private, link-local and other internal addresses. Off by
    /// default: a user's URL must not reach services inside the operator's network (SSRF).
    pub allow_private_targets: bool,
    /// How long one delivery (connect, send, first bytes of the answer) may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The pauses before each attempt, e.g. `["0s", "5s", "5m"]`; empty: the Standard Webhooks
    /// schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then failed).
    pub retry_schedule: Vec<humantime_serde::Serde<Duration>>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_private_targets: false,
            timeout: Duration::from_secs(15),
            retry_schedule: Vec::new(),
        }
    }
}

impl WebhooksConfig {
    /// The retry schedule in force.
    pub fn schedule(&self) -> attesta_core::webhooks::RetrySchedule {
        attesta_core::webhooks::RetrySchedule::new(self.retry_schedule.iter().map(|d| **d).collect())
            .unwrap_or_default()
    }
}

/// The REST API (`/api/v1`): per-key rate limit and body size.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Requests per minute one API key may make on average; more get 429 with Retry-After.
    pub requests_per_minute: u32,
    /// Requests allowed in a burst above that rate.
    pub burst: u32,
    /// Largest JSON body (the JSON part of a multipart request included), in bytes. Files are
    /// limited by `documents.max_upload_bytes`.
    pub max_json_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { requests_per_minute: 120, burst: 60, max_json_bytes: 1024 * 1024 }
    }
}

/// The document seal: the certificate and key completed PDFs are signed with (PAdES), and the
/// time-stamping authority that vouches for when. Without a certificate of its own the instance
/// makes one on first run (an instance CA and a seal certificate it issued, under `dir`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealConfig {
    /// The seal certificate, PEM: the seal's certificate and the CA certificates above it.
    pub certificate_file: Option<PathBuf>,
    /// The seal's private key, PKCS#8 PEM (ECDSA P-256 or RSA), unencrypted; with `certificate_file`.
    pub key_file: Option<PathBuf>,
    /// Instead of the two PEM files: a PKCS#12 (.p12/.pfx) file holding key and chain.
    pub pkcs12_file: Option<PathBuf>,
    #[serde(serialize_with = "redacted")]
    pub pkcs12_password: SecretString,
    /// Where the embedded seal identity lives (created on first run when no certificate is configured).
    pub dir: PathBuf,
    /// The organisation (O) in a created certificate's subject; empty: the public URL's host.
    pub organization: String,
    /// An RFC 3161 time-stamping authority, e.g. `http://timestamp.digicert.com`; unset: seals
    /// carry no timestamp (PAdES B-B) and their time is the server's own claim.
    pub tsa_url: Option<String>,
    /// How long a request to the time-stamping authority may take.
    #[serde(with = "humantime_serde")]
    pub tsa_timeout: Duration,
}

impl Default for SealConfig {
    fn default() -> Self {
        Self {
            certificate_file: None,
            key_file: None,
            pkcs12_file: None,
            pkcs12_password: SecretString::from(""),
            dir: PathBuf::from("data/seal"),
            organization: String::new(),
            tsa_url: None,
            tsa_timeout: Duration::from_secs(15),
        }
    }
}

/// Single sign-on with an OpenID Connect provider (authorization code flow with PKCE). The
/// provider must send people back to `<public origin>/auth/sso/callback`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsoConfig {
    /// The provider's issuer URL (discovery reads `<issuer>/.well-known/openid-configuration`);
    /// empty: SSO is off.
    pub issuer_url: String,
    pub client_id: String,
    #[serde(serialize_with = "redacted")]
    pub client_secret: SecretString,
    /// The provider's name on the sign-in button: "Sign in with <display_name>".
    pub display_name: String,
    /// Email domains whose people get an account on their first SSO sign-in; empty: nobody is
    /// created (only existing, linked accounts sign in).
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub allowed_domains: Vec<String>,
    /// Whether a first SSO sign-in may take over the local account with the same (verified)
    /// email. Off by default: whoever controls the provider could otherwise take any account.
    pub link_existing_accounts: bool,
    /// SSO is the only way in: password sign-in and the first-run setup are refused.
    pub only: bool,
    /// The scopes asked for; must include `openid`.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub scopes: Vec<String>,
    /// How long one request to the provider may take.
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
}

impl Default for SsoConfig {
    fn default() -> Self {
        Self {
            issuer_url: String::new(),
            client_id: String::new(),
            client_secret: SecretString::from(""),
            display_name: "SSO".to_owned(),
            allowed_domains: Vec::new(),
            link_existing_accounts: false,
            only: false,
            scopes: vec!["openid".to_owned(), "email".to_owned(), "profile".to_owned()],
            http_timeout: Duration::from_secs(10),
        }
    }
}

impl SsoConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer_url.trim().is_empty()
    }
}

/// A list from the file (`["a", "b"]`) or the environment (`a,b`, or `[a,b]`).
fn list_or_comma_separated<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(items) => items,
        Either::Text(text) => text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    })
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigningConfig {
    /// A text file replacing the built-in ESIGN/UETA consumer disclosure shown to signers before
    /// they fill anything; `{sender}` in it becomes the sender's name and email. Its SHA-256 is
    /// recorded with each consent.
    pub disclosure_file: Option<PathBuf>,
    /// How long an emailed one-time code may be used.
    #[serde(with = "humantime_serde")]
    pub otp_validity: Duration,
    /// Wrong codes accepted before the code is locked.
    pub otp_max_attempts: u32,
    /// Shortest time between two codes for one signer.
    #[serde(with = "humantime_serde")]
    pub otp_resend_pause: Duration,
    /// How long after a locked code before a new one can be sent.
    #[serde(with = "humantime_serde")]
    pub otp_lock_pause: Duration,
    /// Wrong codes, over every code sent for one link, after which only a new link (resent by
    /// the sender) lets the signer in.
    pub otp_max_total_failures: u32,
    /// How long a sent document waits for its signers before it expires (each recipient who
    /// had a link is told); `0s` never expires.
    #[serde(with = "humantime_serde")]
    pub expire_after: Duration,
    /// Reminders to recipients whose turn it is and who have not acted: the first this long
    /// after their link went out (each reminder is a fresh link; the previous one stops working).
    #[serde(with = "humantime_serde")]
    pub remind_after: Duration,
    /// Then one every this long.
    #[serde(with = "humantime_serde")]
    pub remind_every: Duration,
    /// At most this many per recipient; 0 sends none. Read when a document is sent: changing it
    /// never changes documents already out.
    pub reminders: u32,
    /// After how many days without progress (the sending, or a recipient's latest view, consent
    /// or signature) a document out for signature is recorded as stalled (`document.stalled`,
    /// a mail to the sender, the webhook, "Needs attention"), once per threshold. Ascending;
    /// empty: never.
    pub stalled_after_days: Vec<u32>,
    /// Requests per minute one client address may make to the signers' public pages and
    /// endpoints (`/sign/…`, `/api/sign/…`); more get 429 with Retry-After.
    pub public_requests_per_minute: u32,
    /// Requests allowed in a burst above that rate.
    pub public_burst: u32,
}

impl Default for SigningConfig {
    fn default() -> Self {
        let otp = attesta_core::signing::otp::OtpPolicy::default();
        Self {
            disclosure_file: None,
            otp_validity: otp.validity,
            otp_max_attempts: otp.max_attempts,
            otp_resend_pause: otp.resend_pause,
            otp_lock_pause: otp.lock_pause,
            otp_max_total_failures: otp.max_total_failures,
            expire_after: Duration::from_secs(120 * 24 * 3600),
            // A nudge after three days, then weekly, three at most: what senders expect without
            // pestering anyone (the deadline, 120 days, stops them anyway).
            remind_after: Duration::from_secs(3 * 24 * 3600),
            remind_every: Duration::from_secs(7 * 24 * 3600),
            reminders: 3,
            stalled_after_days: vec![3, 7],
            public_requests_per_minute: 120,
            public_burst: 60,
        }
    }
}

impl SigningConfig {
    pub fn expire_after(&self) -> Option<Duration> {
        (!self.expire_after.is_zero()).then_some(self.expire_after)
    }

    /// The stall thresholds, ascending.
    pub fn stall_after(&self) -> Vec<Duration> {
        self.stalled_after_days.iter().map(|d| Duration::from_secs(u64::from(*d) * 24 * 3600)).collect()
    }

    /// The reminder policy documents are sent with.
    pub fn reminder_policy(&self) -> attesta_core::ceremony::ReminderPolicy {
        attesta_core::ceremony::ReminderPolicy {
            first_after: self.remind_after,
            every: self.remind_every,
            max: self.reminders,
        }
    }

    pub fn otp_policy(&self) -> attesta_core::signing::otp::OtpPolicy {
        attesta_core::signing::otp::OtpPolicy {
            validity: self.otp_validity,
            max_attempts: self.otp_max_attempts,
            resend_pause: self.otp_resend_pause,
            lock_pause: self.otp_lock_pause,
            max_total_failures: self.otp_max_total_failures,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsConfig {
    /// Largest file accepted for upload, in bytes (larger gets 413).
    pub max_upload_bytes: u64,
    /// Most pages an uploaded PDF may have.
    pub max_pages: u32,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        let limits = attesta_core::documents::UploadLimits::default();
        Self { max_upload_bytes: limits.max_bytes, max_pages: limits.max_pages }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Where files go: `local` (a folder) or `s3` (any S3-compatible service, see [s3]).
    pub backend: StorageBackend,
    /// The folder for the local backend.
    pub path: PathBuf,
    /// Where uploads are spooled while they are checked and encrypted (local disk).
    pub spool_dir: PathBuf,
    /// The master key that wraps every file's data key: 32 bytes, base64. When empty, the key
    /// in `master_key_file` is used, created on first run.
    #[serde(serialize_with = "redacted")]
    pub master_key: SecretString,
    pub master_key_file: PathBuf,
    /// Earlier master keys, still accepted for reading until `attesta keys rotate` has
    /// re-wrapped every data key under the current one.
    #[serde(serialize_with = "redacted_list")]
    pub previous_master_keys: Vec<SecretString>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            path: PathBuf::from("data/blobs"),
            spool_dir: PathBuf::from("data/spool"),
            master_key: SecretString::from(""),
            master_key_file: PathBuf::from("data/master.key"),
            previous_master_keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:9000`; empty
    /// means AWS itself.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    #[serde(serialize_with = "redacted")]
    pub secret_access_key: SecretString,
    /// `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO, SeaweedFS).
    pub path_style: bool,
    /// Prepended to every object key, e.g. `attesta/`.
    pub prefix: String,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            region: "us-east-1".to_owned(),
            bucket: String::new(),
            access_key_id: String::new(),
            secret_access_key: SecretString::from(""),
            path_style: false,
            prefix: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Each mail is written as an `.eml` file into `mail.outbox_dir`; nothing leaves the machine.
    Outbox,
    /// Each mail is handed to an SMTP server (`mail.smtp_*`).
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text throughout: only for a relay on this machine or a test server.
    None,
    /// Connect in plain text, then upgrade with STARTTLS, which must be offered (usually port 587).
    Starttls,
    /// TLS from the first byte (implicit TLS, usually port 465).
    Tls,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// How mail leaves: `outbox` (files in a folder, the default) or `smtp`.
    pub transport: MailTransport,
    /// The From of every mail, as `Name <address>`.
    pub from: String,
    /// The folder the outbox transport writes `.eml` files to (created when missing).
    pub outbox_dir: PathBuf,
    /// The SMTP server's host name or address (required for `transport = "smtp"`).
    pub smtp_host: String,
    pub smtp_port: u16,
    /// Empty: no authentication.
    pub smtp_username: String,
    #[serde(serialize_with = "redacted")]
    pub smtp_password: SecretString,
    /// `none`, `starttls` or `tls`. Certificates are checked against the system's roots.
    pub smtp_tls: SmtpTls,
    /// How long each step of an SMTP session (connect, greeting, each command) may take.
    #[serde(with = "humantime_serde")]
    pub smtp_timeout: Duration,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::Outbox,
            from: "Attesta <attesta@localhost>".to_owned(),
            outbox_dir: PathBuf::from("data/outbox"),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_username: String::new(),
            smtp_password: SecretString::from(""),
            smtp_tls: SmtpTls::Starttls,
            smtp_timeout: Duration::from_secs(15),
        }
    }
}

impl MailConfig {
    /// Whether `smtp_host` names this machine, where a plain-text session stays on the host.
    pub fn smtp_host_is_loopback(&self) -> bool {
        let host = self.smtp_host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoIpConfig {
    /// A MaxMind-format City or Country database (`.mmdb`); empty: locations are "unknown".
    pub database: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// The URL people use to reach this instance, e.g. `https://sign.example.com`. Decides the
    /// allowed origin for state-changing requests and whether cookies are `Secure`. Defaults to
    /// `http://{host}:{port}`.
    pub public_url: Option<String>,
    /// Folder with the built browser assets (`pkg/`, favicon, ...).
    pub site_root: PathBuf,
    /// The file listing the content hashes in the names of the built client's files
    /// (cargo-leptos `hash-files`). Unset: `hash.txt` beside the executable, where cargo-leptos
    /// writes it. Without one, the files keep plain names and are revalidated on every use.
    pub hash_file: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` header is believed, as addresses or CIDR ranges.
    pub trusted_proxies: Vec<IpNet>,
    /// How long a request may take before it is answered with 408.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes (uploads have their own limit, documents.max_upload_bytes).
    pub max_body_bytes: usize,
    /// How long an upload or download of a file may take.
    #[serde(with = "humantime_serde")]
    pub transfer_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` (the embedded default) or
    /// `postgres://user:password@host:port/database`. Holds credentials, hence secret.
    #[serde(serialize_with = "redacted")]
    pub url: SecretString,
    /// PostgreSQL: a role that owns the tables, used only to migrate them and to grant the role
    /// of `url` what the application needs (reading everything, appending evidence, changing
    /// state) and nothing more. Empty: `url` migrates its own schema, and on PostgreSQL the
    /// server warns that its role can rewrite evidence.
    #[serde(serialize_with = "redacted")]
    pub migrate_url: SecretString,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A session ends after this long without a request.
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    #[serde(with = "humantime_serde")]
    pub session_absolute_timeout: Duration,
    /// Failed sign-ins allowed per account inside the window before it is locked.
    pub max_failures_per_account: u32,
    /// Failed sign-ins allowed per client address inside the window.
    pub max_failures_per_address: u32,
    /// How far back failed sign-ins count.
    #[serde(with = "humantime_serde")]
    pub failure_window: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The log's name: the origin line of its checkpoints and the name of its key, for life.
    /// Empty means `{host}/attesta-log` from the public URL. Used only when the log key is
    /// created; afterwards the name stored in the key file wins, and an explicit other name
    /// stops the server (`evidence::keys::load_or_create`).
    pub log_name: String,
    /// The log's Ed25519 signing key, created on first run (owner-only permissions).
    pub log_key_file: PathBuf,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self { log_name: String::new(), log_key_file: PathBuf::from("data/log.key") }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,attesta_server=debug`.
    pub filter: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 3000,
            public_url: None,
            site_root: PathBuf::from("target/site"),
            hash_file: None,
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            transfer_timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://data/attesta.db"),
            migrate_url: SecretString::from(""),
            max_connections: 8,
        }
    }
}

impl AuthConfig {
    /// The session timeouts as the session rules take them.
    pub fn session_policy(&self) -> attesta_core::sessions::SessionPolicy {
        attesta_core::sessions::SessionPolicy {
            idle_timeout: self.session_idle_timeout,
            absolute_timeout: self.session_absolute_timeout,
            touch_every: Duration::from_secs(60),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_timeout: Duration::from_secs(12 * 3600),
            session_absolute_timeout: Duration::from_secs(14 * 24 * 3600),
            max_failures_per_account: 5,
            max_failures_per_address: 50,
            failure_window: Duration::from_secs(15 * 60),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".to_owned() }
    }
}

fn is_loopback_host(host: Option<&str>) -> bool {
    match host {
        Some("localhost") => true,
        Some(h) => h.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn redacted<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.expose_secret().is_empty() { "" } else { "<redacted>" })
}

fn redacted_list<S: Serializer>(secrets: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq as _;
    let mut seq = s.serialize_seq(Some(secrets.len()))?;
    for _ in secrets {
        seq.serialize_element("<redacted>")?;
    }
    seq.end()
}

/// Why the configuration could not be loaded; each line names a key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.join("\n"))]
pub struct ConfigError(pub Vec<String>);

/// The loaded configuration and what was noticed on the way.
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads defaults, then `file` if it exists, then the environment given as `env`.
    pub fn load(file: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Loaded, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut figment = Figment::new();
        if file.exists() {
            figment = figment.merge(Toml::file_exact(file));
        }
        let figment = figment.merge(EnvMap(env.clone()));
        let config: Config = figment.extract().map_err(|e| ConfigError(e.into_iter().map(describe).collect()))?;
        config.validate()?;
        let warnings = unknown_env_keys(&env);
        Ok(Loaded { config, warnings })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        if let Some(url) = &self.server.public_url {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => errors.push(format!(
                    "server.public_url: expected an http:// or https:// URL such as https://sign.example.com, got {url:?}"
                )),
            }
        }
        let backend = crate::store::db::Backend::of_url(self.database.url.expose_secret());
        if let Err(e) = &backend {
            errors.push(format!("{e:#}"));
        }
        let migrate_url = self.database.migrate_url.expose_secret();
        if !migrate_url.is_empty() {
            match crate::store::db::Backend::of_url(migrate_url) {
                Ok(b) if backend.as_ref().is_ok_and(|a| *a == b) => {}
                Ok(_) => {
                    errors.push("database.migrate_url: must name the same kind of database as database.url".to_owned())
                }
                Err(e) => errors.push(format!("database.migrate_url: {e:#}")),
            }
        }
        if self.retention.batch == 0 {
            errors.push("retention.batch: expected a whole number of at least 1".to_owned());
        }
        let days = &self.signing.stalled_after_days;
        if days.contains(&0) || days.windows(2).any(|w| w[0] >= w[1]) {
            errors.push(
                "signing.stalled_after_days: expected whole days of at least 1, ascending, such as [3, 7]".to_owned(),
            );
        }
        if let Err(why) = self.signing.reminder_policy().check() {
            errors.push(format!("signing.remind_after, signing.remind_every, signing.reminders: {why}"));
        }
        if self.database.max_connections == 0 {
            errors.push("database.max_connections: expected a whole number of at least 1".to_owned());
        }
        for (key, value) in [
            ("auth.max_failures_per_account", self.auth.max_failures_per_account),
            ("auth.max_failures_per_address", self.auth.max_failures_per_address),
        ] {
            if value == 0 {
                errors.push(format!("{key}: expected a whole number of at least 1"));
            }
        }
        for (key, value) in [
            ("auth.session_idle_timeout", self.auth.session_idle_timeout),
            ("auth.session_absolute_timeout", self.auth.session_absolute_timeout),
            ("auth.failure_window", self.auth.failure_window),
            ("server.request_timeout", self.server.request_timeout),
            ("server.transfer_timeout", self.server.transfer_timeout),
            ("webhooks.timeout", self.webhooks.timeout),
            ("jobs.poll_interval", self.jobs.poll_interval),
            ("jobs.lease", self.jobs.lease),
            ("jobs.retry_base", self.jobs.retry_base),
            ("jobs.retry_max", self.jobs.retry_max),
            ("jobs.keep_finished", self.jobs.keep_finished),
        ] {
            if value.is_zero() {
                errors.push(format!("{key}: expected a duration above zero, such as 30s, 15m or 12h"));
            }
        }
        if self.jobs.max_attempts == 0 {
            errors.push("jobs.max_attempts: expected a whole number of at least 1".to_owned());
        }
        if let Err(e) = self.jobs.recurring() {
            errors.extend(e);
        }
        if let Err(e) = attesta_core::evidence::KeyName::parse(&self.log_name()) {
            errors.push(format!(
                "evidence.log_name: expected a name without spaces or '+', such as sign.example.com/log ({e})"
            ));
        }
        if self.signing.otp_validity.is_zero() {
            errors.push("signing.otp_validity: expected a duration above zero, such as 10m".to_owned());
        }
        if self.signing.otp_max_attempts == 0
            || self.signing.public_requests_per_minute == 0
            || self.signing.public_burst == 0
        {
            errors.push(
                "signing.otp_max_attempts, signing.public_requests_per_minute, signing.public_burst: expected whole numbers of at least 1"
                    .to_owned(),
            );
        }
        if self.api.requests_per_minute == 0 || self.api.burst == 0 || self.api.max_json_bytes == 0 {
            errors.push(
                "api.requests_per_minute, api.burst, api.max_json_bytes: expected whole numbers of at least 1"
                    .to_owned(),
            );
        }
        if let Some(path) = &self.signing.disclosure_file
            && !path.is_file()
        {
            errors.push(format!("signing.disclosure_file: {} is not a readable file", path.display()));
        }
        if self.documents.max_upload_bytes == 0 || self.documents.max_pages == 0 {
            errors.push(
                "documents.max_upload_bytes, documents.max_pages: expected whole numbers of at least 1".to_owned(),
            );
        }
        if self.storage.backend == StorageBackend::S3 {
            for (key, value) in [
                ("s3.bucket", self.s3.bucket.as_str()),
                ("s3.region", self.s3.region.as_str()),
                ("s3.access_key_id", self.s3.access_key_id.as_str()),
                ("s3.secret_access_key", self.s3.secret_access_key.expose_secret()),
            ] {
                if value.is_empty() {
                    errors.push(format!("{key}: required when storage.backend = \"s3\""));
                }
            }
        }
        if let Err(e) = self.mail.from.parse::<lettre::message::Mailbox>() {
            errors.push(format!(
                "mail.from: expected a name and address such as Attesta <sign@example.com>, got {:?} ({e})",
                self.mail.from
            ));
        }
        if self.mail.smtp_timeout.is_zero() {
            errors.push("mail.smtp_timeout: expected a duration above zero, such as 15s".to_owned());
        }
        if self.mail.transport == MailTransport::Smtp {
            if self.mail.smtp_host.trim().is_empty() {
                errors.push("mail.smtp_host: required when mail.transport = \"smtp\"".to_owned());
            }
            if self.mail.smtp_port == 0 {
                errors.push("mail.smtp_port: expected a port between 1 and 65535, such as 587".to_owned());
            }
            let has_password = !self.mail.smtp_password.expose_secret().is_empty();
            if has_password && self.mail.smtp_username.is_empty() {
                errors.push("mail.smtp_username: required when mail.smtp_password is set".to_owned());
            }
            // A password sent over a plain-text connection can be read by anyone on the path.
            if !self.mail.smtp_username.is_empty()
                && self.mail.smtp_tls == SmtpTls::None
                && !self.mail.smtp_host_is_loopback()
            {
                errors.push(format!(
                    "mail.smtp_tls: \"none\" would send the SMTP password in clear text to {}; use \"starttls\" \
                     or \"tls\" (\"none\" with a password is allowed only for localhost)",
                    self.mail.smtp_host
                ));
            }
        }
        self.validate_seal(&mut errors);
        self.validate_sso(&mut errors);
        if self.log.filter.parse::<tracing_subscriber::EnvFilter>().is_err() {
            errors.push(format!(
                "log.filter: expected a tracing filter such as info or info,attesta_server=debug, got {:?}",
                self.log.filter
            ));
        }
        if errors.is_empty() { Ok(()) } else { Err(ConfigError(errors)) }
    }

    fn validate_seal(&self, errors: &mut Vec<String>) {
        let seal = &self.seal;
        let pem = seal.certificate_file.is_some() || seal.key_file.is_some();
        if pem && seal.pkcs12_file.is_some() {
            errors.push(
                "seal.pkcs12_file: set either seal.certificate_file and seal.key_file (PEM) or seal.pkcs12_file, not both"
                    .to_owned(),
            );
        }
        match (&seal.certificate_file, &seal.key_file) {
            (Some(_), None) => errors.push("seal.key_file: required with seal.certificate_file".to_owned()),
            (None, Some(_)) => errors.push("seal.certificate_file: required with seal.key_file".to_owned()),
            _ => {}
        }
        for (key, path) in [
            ("seal.certificate_file", &seal.certificate_file),
            ("seal.key_file", &seal.key_file),
            ("seal.pkcs12_file", &seal.pkcs12_file),
        ] {
            if let Some(path) = path
                && !path.is_file()
            {
                errors.push(format!("{key}: {} is not a readable file", path.display()));
            }
        }
        if seal.pkcs12_file.is_none() && !seal.pkcs12_password.expose_secret().is_empty() {
            errors.push("seal.pkcs12_password: set without seal.pkcs12_file".to_owned());
        }
        if let Some(url) = &seal.tsa_url {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => errors.push(format!(
                    "seal.tsa_url: expected an http:// or https:// URL such as http://timestamp.digicert.com, got {url:?}"
                )),
            }
        }
        if seal.tsa_timeout.is_zero() {
            errors.push("seal.tsa_timeout: expected a duration above zero, such as 15s".to_owned());
        }
    }

    fn validate_sso(&self, errors: &mut Vec<String>) {
        let sso = &self.sso;
        if !sso.enabled() {
            if sso.only {
                errors.push("sso.only: SSO as the only way in needs sso.issuer_url".to_owned());
            }
            return;
        }
        match url::Url::parse(sso.issuer_url.trim()) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() => {}
            // Plain http only on this machine (a provider for tests or development).
            Ok(u) if u.scheme() == "http" && is_loopback_host(u.host_str()) => {}
            _ => errors.push(format!(
                "sso.issuer_url: expected an https:// URL such as https://login.example.com/realms/acme                  (http:// only for 127.0.0.1 or localhost), got {:?}",
                sso.issuer_url
            )),
        }
        if sso.client_id.trim().is_empty() {
            errors.push("sso.client_id: required with sso.issuer_url (the id the provider gave this app)".to_owned());
        }
        if sso.display_name.trim().is_empty() || sso.display_name.chars().count() > 60 {
            errors.push("sso.display_name: expected a name of 1 to 60 characters, such as Acme".to_owned());
        }
        if !sso.scopes.iter().any(|s| s == "openid") {
            errors.push(format!("sso.scopes: must include openid, got {:?}", sso.scopes));
        }
        for domain in &sso.allowed_domains {
            if let Err(e) = attesta_core::sso::parse_domain(domain) {
                errors.push(format!("sso.allowed_domains: {e}"));
            }
        }
        if sso.http_timeout.is_zero() {
            errors.push("sso.http_timeout: expected a duration above zero, such as 10s".to_owned());
        }
    }

    /// The host people reach this instance at (`sign.example.com`), which names the seal.
    pub fn public_host(&self) -> String {
        let origin = self.public_origin();
        let host_port = origin.split_once("://").map_or(origin.as_str(), |(_, h)| h);
        match url::Url::parse(&origin).ok().and_then(|u| u.host_str().map(str::to_owned)) {
            Some(host) => host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            None => host_port.to_owned(),
        }
    }

    /// The origin (scheme, host, port) people reach this instance at.
    pub fn public_origin(&self) -> String {
        match &self.server.public_url {
            Some(url) => url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default(),
            None => format!("http://{}", SocketAddr::new(self.server.host, self.server.port)),
        }
    }

    /// The evidence log's name, derived from the public URL unless configured.
    pub fn log_name(&self) -> String {
        if !self.evidence.log_name.is_empty() {
            return self.evidence.log_name.clone();
        }
        let origin = self.public_origin();
        let host = origin.split_once("://").map_or(origin.as_str(), |(_, h)| h);
        format!("{host}/attesta-log")
    }

    pub fn is_https(&self) -> bool {
        self.public_origin().starts_with("https://")
    }

    /// The configuration as TOML with secrets redacted, for `attesta config`.
    pub fn to_redacted_toml(&self) -> String {
        toml_string(self)
    }
}

fn toml_string(config: &Config) -> String {
    let value = serde_json::to_value(config).unwrap_or_default();
    let mut out = String::new();
    if let serde_json::Value::Object(sections) = value {
        for (section, fields) in sections {
            out.push_str(&format!("[{section}]\n"));
            if let serde_json::Value::Object(fields) = fields {
                for (k, v) in fields {
                    if !v.is_null() {
                        out.push_str(&format!("{k} = {v}\n"));
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}

fn describe(e: figment::Error) -> String {
    let key = e.path.join(".");
    let source = match &e.metadata {
        Some(m) if m.name.contains("environment") => {
            format!(" (from {ENV_PREFIX}{})", e.path.iter().map(|p| p.to_uppercase()).collect::<Vec<_>>().join("__"))
        }
        Some(m) => m.source.as_ref().map(|s| format!(" (from {s})")).unwrap_or_default(),
        None => String::new(),
    };
    let kind = match &e.kind {
        figment::error::Kind::InvalidType(actual, expected) => format!("expected {expected}, found {actual}"),
        figment::error::Kind::InvalidValue(actual, expected) => format!("expected {expected}, found {actual}"),
        figment::error::Kind::UnknownField(field, _) => {
            // figment's path may or may not already end with the unknown field.
            let full = match e.path.last() {
                Some(last) if last == field => key.clone(),
                _ if key.is_empty() => field.clone(),
                _ => format!("{key}.{field}"),
            };
            return format!("{full}: unknown key{source}");
        }
        other => other.to_string(),
    };
    if key.is_empty() { format!("{kind}{source}") } else { format!("{key}: {kind}{source}") }
}

/// Every key the configuration has, dotted (`server.port`).
pub fn known_keys() -> Vec<String> {
    let mut keys = Vec::new();
    if let Ok(serde_json::Value::Object(sections)) = serde_json::to_value(Config::default()) {
        for (section, fields) in sections {
            if let serde_json::Value::Object(fields) = fields {
                keys.extend(fields.keys().map(|k| format!("{section}.{k}")));
            }
        }
    }
    // `public_url` is None by default and so serialises as null; it is still a key.
    keys.sort();
    keys
}

fn unknown_env_keys(env: &[(String, String)]) -> Vec<String> {
    let known = known_keys();
    env.iter()
        // ATTESTA_TEST_* belong to the test scripts (service addresses), not to the server.
        .filter(|(k, _)| k.starts_with("ATTESTA") && !k.starts_with("ATTESTA_TEST_"))
        .filter(|(k, _)| {
            let Some(rest) = k.strip_prefix(ENV_PREFIX) else { return true };
            let dotted = rest.to_lowercase().replace("__", ".");
            !known.contains(&dotted)
        })
        .map(|(k, _)| {
            format!("environment variable {k} is not a configuration key and is ignored (keys look like {ENV_PREFIX}SERVER__PORT)")
        })
        .collect()
}

/// A figment provider over an explicit list of environment variables.
struct EnvMap(Vec<(String, String)>);

impl figment::Provider for EnvMap {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable")
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        // Unknown variables are only warned about (see `unknown_env_keys`), never fed to the
        // schema, so a stray variable cannot stop the server.
        let known = known_keys();
        let pairs = self.0.iter().filter_map(|(k, v)| {
            let rest = k.strip_prefix(ENV_PREFIX)?;
            let dotted = rest.to_lowercase().replace("__", ".");
            known.contains(&dotted).then(|| (dotted, v.clone()))
        });
        let mut dict = figment::value::Dict::new();
        for (key, value) in pairs {
            let parsed: figment::value::Value = value.parse().unwrap_or_else(|_| value.clone().into());
            insert_dotted(&mut dict, &key, parsed);
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

fn insert_dotted(dict: &mut figment::value::Dict, key: &str, value: figment::value::Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry =
                dict.entry(head.to_owned()).or_insert_with(|| figment::value::Value::from(figment::value::Dict::new()));
            if let figment::value::Value::Dict(_, inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
