//! Outgoing mail: one [`Mailer`] over one of two transports chosen by `[mail]` in the config.
//!
//! - `outbox` (the embedded default): each mail is written as an RFC 5322 `.eml` file into a
//!   folder; nothing leaves the machine. Good for a first run, demos and tests.
//! - `smtp`: each mail is handed to an SMTP server, in plain text, after STARTTLS or over
//!   implicit TLS, with optional PLAIN/LOGIN authentication.
//!
//! Invariants:
//! - Headers are built from lettre's typed `Mailbox`es and header values, never by pasting
//!   strings, so names with quotes, commas or non-ASCII letters are quoted or RFC 2047-encoded.
//!   A subject or name holding a line break or other control character is refused
//!   ([`MailError::Invalid`]) rather than cleaned up, so header injection cannot happen here even
//!   when a caller forgets to clean its input (the [`templates`] do clean theirs).
//! - Every mail is `multipart/alternative` (plain text, then HTML) with `From` from the config, a
//!   random `Message-ID` in the sender's domain and a `Date` read from the [`Clock`].
//! - An SMTP session is driven step by step so a failure says which step failed (connect, TLS,
//!   login, sender, recipient, message) and each step has the configured time limit. The SMTP
//!   password never appears in an error or a log line.
//!
//! Mail goes out after the database transaction that decided it has committed; this module
//! does not retry (see [`MailError::is_permanent`] for callers that do).

pub mod templates;

use crate::config::{Config, MailTransport, SmtpTls};
use anyhow::Context as _;
use attesta_core::entropy::EntropyExt as _;
use attesta_core::ports::{Clock, Entropy};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail as MailFrom, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::{Address, AsyncFileTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One mail to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Which template made it (`signing_request`, `voided_notice`, …): recorded in the evidence.
    pub template: &'static str,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    /// The plain-text part, with the same content as `html`.
    pub text: String,
    /// The HTML part: a whole document, already escaped.
    pub html: String,
    /// `(name, email)` for the `Reply-To` header, e.g. the person who sent a document.
    pub reply_to: Option<(String, String)>,
    /// Files sent with the mail (the sealed PDF and the evidence package at completion).
    pub attachments: Vec<Attachment>,
}

/// A file attached to a mail.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the reader sees; plain, no path.
    pub file_name: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Attachment({:?}, {}, {} bytes)", self.file_name, self.content_type, self.bytes.len())
    }
}

/// Why a mail was not sent. Says which step failed and against which server; never holds the
/// SMTP password.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail cannot be sent as given (a line break in the subject, an address that does not parse).
    #[error("invalid mail: {0}")]
    Invalid(String),
    #[error("could not connect to the SMTP server {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("TLS with the SMTP server {server} failed: {reason}")]
    Tls { server: String, reason: String },
    #[error("the SMTP server {server} refused the login of {username:?}: {reason}")]
    Auth { server: String, username: String, reason: String },
    #[error("the SMTP server {server} rejected the sender {from}: {reason}")]
    Sender { server: String, from: String, reason: String, permanent: bool },
    #[error("the SMTP server {server} rejected the recipient {to}: {reason}")]
    Recipient { server: String, to: String, reason: String, permanent: bool },
    #[error("the SMTP server {server} did not accept the message: {reason}")]
    Message { server: String, reason: String, permanent: bool },
    #[error("the SMTP server {server} did not answer within {}s while {stage}", .after.as_secs_f32())]
    Timeout { server: String, stage: &'static str, after: Duration },
    #[error("could not write the mail to the outbox {}: {reason}", .dir.display())]
    Outbox { dir: PathBuf, reason: String },
}

impl MailError {
    /// The failed step, as recorded in the evidence: `invalid`, `connect`, `tls`, `auth`,
    /// `sender`, `recipient`, `message`, `timeout` or `outbox`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::Connect { .. } => "connect",
            Self::Tls { .. } => "tls",
            Self::Auth { .. } => "auth",
            Self::Sender { .. } => "sender",
            Self::Recipient { .. } => "recipient",
            Self::Message { .. } => "message",
            Self::Timeout { .. } => "timeout",
            Self::Outbox { .. } => "outbox",
        }
    }

    /// Whether sending the same mail again cannot succeed without a change (of the mail or of
    /// the configuration): a 5xx answer, a bad address, a refused login. Connection problems,
    /// time-outs and 4xx answers are worth retrying later.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::Auth { .. } => true,
            Self::Sender { permanent, .. } | Self::Recipient { permanent, .. } | Self::Message { permanent, .. } => {
                *permanent
            }
            Self::Connect { .. } | Self::Tls { .. } | Self::Timeout { .. } | Self::Outbox { .. } => false,
        }
    }
}

/// What the transport answered for an accepted mail: recorded in the document's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The `Message-ID` the mail was sent with.
    pub message_id: String,
    /// `smtp` or `outbox`.
    pub transport: &'static str,
    /// The SMTP server (`host:port`), or the outbox folder.
    pub server: String,
    /// The SMTP reply code to the message's data (`250`); none for the outbox.
    pub code: Option<u16>,
    /// The SMTP server's reply text (its queue id, usually), or the outbox file's name.
    pub answer: String,
}

/// Sends mail through the configured transport. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
    clock: Arc<dyn Clock>,
    /// Message-IDs are random.
    entropy: Arc<dyn Entropy>,
}

struct Inner {
    from: Mailbox,
    transport: Transport,
}

enum Transport {
    Outbox { dir: PathBuf, files: AsyncFileTransport<Tokio1Executor> },
    Smtp(Smtp),
}

struct Smtp {
    host: String,
    port: u16,
    tls: SmtpTls,
    /// Built once: loading the system's root certificates is not free.
    tls_parameters: Option<TlsParameters>,
    login: Option<(String, SecretString)>,
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("transport", &self.describe()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `[mail]` describes. Creates the outbox folder when it is the transport.
    pub fn from_config(config: &Config, ports: &crate::Ports) -> anyhow::Result<Self> {
        let mail = &config.mail;
        let from: Mailbox =
            mail.from.parse().with_context(|| format!("mail.from: {:?} is not an address", mail.from))?;
        let transport = match mail.transport {
            MailTransport::Outbox => {
                let dir = mail.outbox_dir.clone();
                std::fs::create_dir_all(&dir).with_context(|| format!("creating the mail outbox {}", dir.display()))?;
                Transport::Outbox { files: AsyncFileTransport::new(&dir), dir }
            }
            MailTransport::Smtp => {
                anyhow::ensure!(
                    !mail.smtp_host.trim().is_empty(),
                    "mail.smtp_host: required when mail.transport = \"smtp\""
                );
                let host = mail.smtp_host.trim().to_owned();
                let tls_parameters = match mail.smtp_tls {
                    SmtpTls::None => None,
                    SmtpTls::Starttls | SmtpTls::Tls => Some(
                        TlsParameters::new(host.trim_start_matches('[').trim_end_matches(']').to_owned())
                            .with_context(|| format!("setting up TLS for the SMTP server {host}"))?,
                    ),
                };
                let login =
                    (!mail.smtp_username.is_empty()).then(|| (mail.smtp_username.clone(), mail.smtp_password.clone()));
                Transport::Smtp(Smtp {
                    host,
                    port: mail.smtp_port,
                    tls: mail.smtp_tls,
                    tls_parameters,
                    login,
                    timeout: mail.smtp_timeout,
                })
            }
        };
        Ok(Self {
            inner: Arc::new(Inner { from, transport }),
            clock: ports.clock.clone(),
            entropy: ports.entropy.clone(),
        })
    }

    /// The same mailer reading the `Date` of each mail from `clock` (for tests and snapshots).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// The folder an outbox mailer writes `.eml` files to; `None` for SMTP.
    pub fn outbox_dir(&self) -> Option<&Path> {
        match &self.inner.transport {
            Transport::Outbox { dir, .. } => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Where mail goes, for logs: `smtp mail.example.com:587 (starttls)` or `outbox data/outbox`.
    pub fn describe(&self) -> String {
        match &self.inner.transport {
            Transport::Outbox { dir, .. } => format!("outbox {}", dir.display()),
            Transport::Smtp(smtp) => format!("smtp {} ({})", smtp.server(), tls_name(smtp.tls)),
        }
    }

    /// Builds `mail` into a `multipart/alternative` message and hands it to the transport;
    /// returns what the transport answered.
    pub async fn send(&self, mail: Mail) -> Result<Delivered, MailError> {
        let (message, message_id) = self.build(mail)?;
        match &self.inner.transport {
            Transport::Outbox { dir, files } => {
                let outbox_error = |reason: String| MailError::Outbox { dir: dir.clone(), reason };
                // Again at each send: the folder may have been removed since start-up.
                tokio::fs::create_dir_all(dir).await.map_err(|e| outbox_error(e.to_string()))?;
                let id = files.send(message).await.map_err(|e| outbox_error(e.to_string()))?;
                tracing::info!(%message_id, file = %dir.join(format!("{id}.eml")).display(), "mail written to the outbox");
                Ok(Delivered {
                    message_id,
                    transport: "outbox",
                    server: dir.display().to_string(),
                    code: None,
                    answer: format!("written as {id}.eml"),
                })
            }
            Transport::Smtp(smtp) => {
                let (code, answer) = smtp.send(&message).await?;
                tracing::info!(%message_id, server = %smtp.server(), code, answer, "mail sent");
                Ok(Delivered { message_id, transport: "smtp", server: smtp.server(), code: Some(code), answer })
            }
        }
    }

    fn build(&self, mail: Mail) -> Result<(Message, String), MailError> {
        one_line("subject", &mail.subject)?;
        let to = mailbox("recipient", &mail.to_name, &mail.to_email)?;
        let message_id = format!("<{:032x}@{}>", self.entropy.u128(), self.inner.from.email.domain());
        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(mail.subject)
            .date(system_time(self.clock.now().as_micros()))
            .message_id(Some(message_id.clone()));
        if let Some((name, email)) = &mail.reply_to {
            builder = builder.reply_to(mailbox("reply-to", name, email)?);
        }
        let body = MultiPart::alternative_plain_html(mail.text, mail.html);
        let body = if mail.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for file in mail.attachments {
                one_line("attachment name", &file.file_name)?;
                let content_type = ContentType::parse(&file.content_type)
                    .map_err(|e| MailError::Invalid(format!("attachment type {:?}: {e}", file.content_type)))?;
                mixed =
                    mixed.singlepart(lettre::message::Attachment::new(file.file_name).body(file.bytes, content_type));
            }
            mixed
        };
        let message = builder.multipart(body).map_err(|e| MailError::Invalid(e.to_string()))?;
        Ok((message, message_id))
    }
}

fn tls_name(tls: SmtpTls) -> &'static str {
    match tls {
        SmtpTls::None => "no tls",
        SmtpTls::Starttls => "starttls",
        SmtpTls::Tls => "tls",
    }
}

/// The clock's microseconds as the `SystemTime` lettre's `Date` header wants.
fn system_time(micros: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// Refuses what would break a header line: CR, LF and every other control character.
fn one_line(what: &str, value: &str) -> Result<(), MailError> {
    match value.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) => Err(MailError::Invalid(format!("the {what} contains a control character ({c:?}): {value:?}"))),
    }
}

fn mailbox(what: &str, name: &str, email: &str) -> Result<Mailbox, MailError> {
    one_line(&format!("{what} name"), name)?;
    let address: Address =
        email.trim().parse().map_err(|e| MailError::Invalid(format!("the {what} address {email:?}: {e}")))?;
    let name = name.trim();
    Ok(Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address))
}

impl Smtp {
    fn server(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// One SMTP session for one message, step by step, so an error names the step. Returns the
    /// server's reply to the message (code and text).
    async fn send(&self, message: &Message) -> Result<(u16, String), MailError> {
        let server = self.server();
        let hello = ClientId::default();
        let address = (self.host.trim_start_matches('[').trim_end_matches(']'), self.port);
        let implicit_tls = match self.tls {
            SmtpTls::Tls => self.tls_parameters.clone(),
            SmtpTls::None | SmtpTls::Starttls => None,
        };
        let mut conn = self
            .step(
                "connecting",
                AsyncSmtpConnection::connect_tokio1(address, Some(self.timeout), &hello, implicit_tls, None),
            )
            .await?
            .map_err(|e| {
                let reason = self.reason(&e);
                if e.is_tls() {
                    MailError::Tls { server: server.clone(), reason }
                } else {
                    MailError::Connect { server: server.clone(), reason }
                }
            })?;

        let result = self.session(&mut conn, message, &hello, &server).await;
        match &result {
            Ok(_) => {
                // The message is accepted; a failed QUIT changes nothing.
                let _ = self.step("saying goodbye", conn.quit()).await;
            }
            Err(_) => {
                let _ = self.step("aborting", conn.abort()).await;
            }
        }
        result
    }

    async fn session(
        &self,
        conn: &mut AsyncSmtpConnection,
        message: &Message,
        hello: &ClientId,
        server: &str,
    ) -> Result<(u16, String), MailError> {
        if self.tls == SmtpTls::Starttls {
            let Some(parameters) = self.tls_parameters.clone() else {
                return Err(MailError::Tls { server: server.to_owned(), reason: "no TLS parameters".to_owned() });
            };
            if !conn.can_starttls() {
                return Err(MailError::Tls {
                    server: server.to_owned(),
                    reason: "the server does not offer STARTTLS (for implicit TLS, usually port 465, set \
                             mail.smtp_tls = \"tls\")"
                        .to_owned(),
                });
            }
            self.step("upgrading to TLS (STARTTLS)", conn.starttls(parameters, hello))
                .await?
                .map_err(|e| MailError::Tls { server: server.to_owned(), reason: self.reason(&e) })?;
        }

        if let Some((username, password)) = &self.login {
            let credentials = Credentials::new(username.clone(), password.expose_secret().to_owned());
            self.step("logging in", conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)).await?.map_err(
                |e| MailError::Auth { server: server.to_owned(), username: username.clone(), reason: self.reason(&e) },
            )?;
        }

        let envelope = message.envelope();
        let body = message.formatted();
        // As lettre's own `send`: announce UTF-8 addresses and 8-bit content only when the
        // server supports them (the builder encodes headers and bodies, so both are rare).
        let mut parameters = Vec::new();
        let non_ascii = envelope.from().into_iter().chain(envelope.to()).any(|a: &Address| !a.to_string().is_ascii());
        if non_ascii {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(MailError::Invalid(
                    "an address is not ASCII and the server does not support SMTPUTF8".to_owned(),
                ));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(MailError::Invalid(
                    "the message is not ASCII and the server does not support 8BITMIME".to_owned(),
                ));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }

        let from = envelope.from().cloned();
        let from_text = from.as_ref().map_or_else(|| "<>".to_owned(), ToString::to_string);
        self.step("sending MAIL FROM", conn.command(MailFrom::new(from, parameters))).await?.map_err(|e| {
            MailError::Sender {
                server: server.to_owned(),
                from: from_text,
                reason: self.reason(&e),
                permanent: e.is_permanent(),
            }
        })?;
        for to in envelope.to() {
            self.step("sending RCPT TO", conn.command(Rcpt::new(to.clone(), Vec::new()))).await?.map_err(|e| {
                MailError::Recipient {
                    server: server.to_owned(),
                    to: to.to_string(),
                    reason: self.reason(&e),
                    permanent: e.is_permanent(),
                }
            })?;
        }
        let rejected = |e: lettre::transport::smtp::Error| MailError::Message {
            server: server.to_owned(),
            reason: self.reason(&e),
            permanent: e.is_permanent(),
        };
        self.step("sending DATA", conn.command(Data)).await?.map_err(rejected)?;
        let reply = self.step("sending the message", conn.message(&body)).await?.map_err(rejected)?;
        let code = reply.code().to_string().parse::<u16>().unwrap_or(0);
        // The reply text is the server's (a queue id, usually): short, but bounded all the same.
        let answer: String = reply.message().collect::<Vec<_>>().join(" ").chars().take(500).collect();
        Ok((code, answer))
    }

    /// Runs one step of the session under the time limit.
    async fn step<T>(&self, stage: &'static str, future: impl Future<Output = T>) -> Result<T, MailError> {
        tokio::time::timeout(self.timeout, future).await.map_err(|_| MailError::Timeout {
            server: self.server(),
            stage,
            after: self.timeout,
        })
    }

    /// lettre's description of `error`, with the password blotted out should a server ever echo it.
    fn reason(&self, error: &lettre::transport::smtp::Error) -> String {
        let mut reason = match io_error(error) {
            // "Connection refused (os error 111)" says more than lettre's "Connection error: ...".
            Some(io) if error.status().is_none() => io.to_string(),
            _ => error.to_string(),
        };
        if let Some((_, password)) = &self.login {
            let password = password.expose_secret();
            if !password.is_empty() {
                reason = reason.replace(password, "<redacted>");
            }
        }
        reason
    }
}

fn io_error(error: &lettre::transport::smtp::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = e.source();
    }
    None
}
