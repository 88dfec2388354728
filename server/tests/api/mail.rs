//! The mailer against a real SMTP server (MailDev from `scripts/services/mail.sh`), against a
//! scripted fake one for the failures MailDev cannot produce, and through the file outbox:
//!
//! ```sh
//! scripts/services/mail.sh start && eval "$(scripts/services/mail.sh env)" && cargo test -p attesta-server --test api mail
//! scripts/services/mail.sh stop
//! ```
//!
//! Without the `ATTESTA_TEST_SMTP_*` variables the MailDev test prints why it is skipped and
//! passes; the others need nothing.

use attesta_server::config::{Config, MailTransport, SmtpTls};
use attesta_server::mail::templates::{self, OtpCode, SigningRequest};
use attesta_server::mail::{Mail, MailError, Mailer};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Quotes, a comma and non-ASCII letters: all need quoting or RFC 2047 encoding in a header.
const RECIPIENT_NAME: &str = "Zoë \"Zed\" Müller, Jr.";
const SENDER_NAME: &str = "Grace Hopper-Łukasiewicz";
const LINK: &str = "https://sign.example.com/s/3q2-7mFx?step=review&lang=en";

struct MailDev {
    smtp_host: String,
    smtp_port: u16,
    url: String,
}

/// MailDev from the environment, or `None` (after saying so) when it is not running.
fn maildev(test: &str) -> Option<MailDev> {
    let var = |name: &str| std::env::var(format!("ATTESTA_TEST_{name}")).ok().filter(|v| !v.is_empty());
    let found = (|| {
        Some(MailDev {
            smtp_host: var("SMTP_HOST")?,
            smtp_port: var("SMTP_PORT")?.parse().ok()?,
            url: var("MAILDEV_URL")?.trim_end_matches('/').to_owned(),
        })
    })();
    if found.is_none() {
        assert!(
            !crate::completion::validators::services_required(),
            "{test}: MailDev is required under CI (scripts/services/mail.sh start)"
        );
        eprintln!(
            "{test}: skipping: MailDev not running (scripts/services/mail.sh start, then \
             eval \"$(scripts/services/mail.sh env)\")"
        );
    }
    found
}

fn smtp_config(host: &str, port: u16, timeout: Duration) -> Config {
    let mut config = Config::default();
    config.mail.transport = MailTransport::Smtp;
    config.mail.from = "\"Attesta, Signing Desk\" <sign@attesta.test>".to_owned();
    config.mail.smtp_host = host.to_owned();
    config.mail.smtp_port = port;
    config.mail.smtp_tls = SmtpTls::None;
    config.mail.smtp_timeout = timeout;
    config
}

/// A signing request to an address no other test (or earlier run) uses.
fn signing_request(to_email: &str) -> Mail {
    templates::signing_request(SigningRequest {
        recipient_name: RECIPIENT_NAME.to_owned(),
        recipient_email: to_email.to_owned(),
        sender_name: SENDER_NAME.to_owned(),
        sender_email: "grace@example.com".to_owned(),
        document_title: "Lease <2026> & \"annexes\"".to_owned(),
        link: LINK.to_owned(),
        message: Some("Hi Zoë,\nplease sign before Friday.".to_owned()),
        otp_required: true,
        role: attesta_core::ceremony::ParticipantRole::Signer,
    })
}

fn unique_address(label: &str) -> String {
    // Unique across runs against the shared mail server: from the system's random source.
    format!("{label}-{:016x}@example.com", attesta_core::entropy::EntropyExt::u64(&attesta_server::entropy::OsEntropy))
}

/// The one mail MailDev holds for `to`, waiting briefly: MailDev stores it after the SMTP reply.
async fn maildev_mail_to(
    client: &reqwest::Client,
    dev: &MailDev,
    to: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all: Vec<Value> = client.get(format!("{}/email", dev.url)).send().await?.error_for_status()?.json().await?;
        let mut matching: Vec<Value> = all
            .into_iter()
            .filter(|m| m["to"].as_array().is_some_and(|to_list| to_list.iter().any(|t| t["address"] == to)))
            .collect();
        if matching.len() > 1 {
            return Err(format!("{} mails to {to}", matching.len()).into());
        }
        if let Some(mail) = matching.pop() {
            return Ok(mail);
        }
        if Instant::now() > deadline {
            return Err(format!("MailDev has no mail to {to}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn smtp_delivers_a_signing_request_that_maildev_reads_back_intact() -> TestResult {
    let Some(dev) = maildev("smtp_delivers_a_signing_request_that_maildev_reads_back_intact") else { return Ok(()) };
    let client = reqwest::Client::new();
    // Only this test sends to MailDev; start from an empty store so leftovers cannot confuse it.
    client.delete(format!("{}/email/all", dev.url)).send().await?.error_for_status()?;

    let mailer = Mailer::from_config(
        &smtp_config(&dev.smtp_host, dev.smtp_port, Duration::from_secs(10)),
        &attesta_server::Ports::system(),
    )?;
    assert_eq!(mailer.describe(), format!("smtp {}:{} (no tls)", dev.smtp_host, dev.smtp_port));
    let to = unique_address("zoe");
    mailer.send(signing_request(&to)).await?;

    let got = maildev_mail_to(&client, &dev, &to).await?;
    assert_eq!(got["subject"], format!("{SENDER_NAME} asks you to sign “Lease <2026> & \"annexes\"”"));
    assert_eq!(got["from"][0]["address"], "sign@attesta.test");
    assert_eq!(got["from"][0]["name"], "Attesta, Signing Desk");
    assert_eq!(got["to"][0]["name"], RECIPIENT_NAME, "{}", got["headers"]);
    assert_eq!(got["replyTo"][0]["address"], "grace@example.com");
    assert_eq!(got["replyTo"][0]["name"], SENDER_NAME);

    let text = got["text"].as_str().ok_or("no text part")?;
    let html = got["html"].as_str().ok_or("no html part")?;
    assert!(text.contains(LINK), "{text}");
    assert!(text.contains("Lease <2026> & \"annexes\""), "{text}");
    assert!(text.contains("do not forward this email"), "{text}");
    assert!(html.contains(&LINK.replace('&', "&amp;")), "{html}");
    assert!(html.contains("Lease &lt;2026&gt; &amp; &quot;annexes&quot;"), "{html}");
    assert!(!html.contains("<2026>"), "{html}");

    let headers = &got["headers"];
    assert!(headers["content-type"].as_str().is_some_and(|c| c.starts_with("multipart/alternative")), "{headers}");
    let message_id = headers["message-id"].as_str().ok_or("no Message-ID")?;
    assert!(message_id.starts_with('<') && message_id.ends_with("@attesta.test>"), "{message_id}");
    assert!(headers["date"].is_string(), "{headers}");

    // The raw message: the recipient's name is RFC 2047-encoded, never raw UTF-8 or bare quotes.
    let id = got["id"].as_str().ok_or("no id")?;
    let source = client.get(format!("{}/email/{id}/source", dev.url)).send().await?.error_for_status()?.text().await?;
    let to_header = source.lines().find(|l| l.starts_with("To: ")).ok_or("no To header")?;
    assert!(to_header.is_ascii() && to_header.contains("=?utf-8?"), "{to_header}");
    assert!(source.is_ascii(), "headers and bodies are encoded to ASCII");

    // A second mail, the one-time code, through the same (cloned) mailer.
    let to_otp = unique_address("otp");
    let code = templates::otp_code(OtpCode {
        recipient_name: "Zoë".to_owned(),
        recipient_email: to_otp.clone(),
        document_title: "Lease".to_owned(),
        code: "482913".to_owned(),
        valid_minutes: 10,
    });
    mailer.clone().send(code).await?;
    let got = maildev_mail_to(&client, &dev, &to_otp).await?;
    assert!(!got["subject"].as_str().unwrap_or_default().contains("482"), "{}", got["subject"]);
    assert!(got["text"].as_str().unwrap_or_default().contains("482 913"));
    assert!(got["html"].as_str().unwrap_or_default().contains("482 913"));

    client.delete(format!("{}/email/all", dev.url)).send().await?.error_for_status()?;
    Ok(())
}

#[tokio::test]
async fn the_outbox_writes_one_eml_file_per_mail_into_a_new_folder() -> TestResult {
    let data = tempfile::tempdir()?;
    let dir = data.path().join("not/yet/there");
    let mut config = Config::default();
    config.mail.outbox_dir = dir.clone();
    let mailer = Mailer::from_config(&config, &attesta_server::Ports::system())?;
    assert!(dir.is_dir(), "the outbox folder is created at start-up");
    assert_eq!(mailer.describe(), format!("outbox {}", dir.display()));

    mailer.send(signing_request("zoe@example.com")).await?;
    let files: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    assert_eq!(files.len(), 1);
    let path = files[0].path();
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read_to_string(&path)?;

    let (headers, _) = raw.split_once("\r\n\r\n").ok_or("no blank line after the headers")?;
    let header = |name: &str| {
        headers
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{}: ", name.to_ascii_lowercase())))
            .map(ToOwned::to_owned)
    };
    let from = header("From").ok_or("no From")?;
    assert!(from.contains("Attesta") && from.ends_with(" <attesta@localhost>"), "{from}");
    let to = header("To").ok_or("no To")?;
    assert!(to.ends_with("<zoe@example.com>") && to.contains("=?utf-8?"), "{to}");
    let reply_to = header("Reply-To").ok_or("no Reply-To")?;
    assert!(reply_to.contains("=?utf-8?") && reply_to.ends_with(" <grace@example.com>"), "{reply_to}");
    assert!(header("Subject").is_some_and(|s| s.contains("=?utf-8?")), "{headers}");
    assert!(header("Message-ID").is_some_and(|m| m.ends_with("@localhost>")), "{headers}");
    assert!(header("Date").is_some(), "{headers}");
    assert!(header("Content-Type").is_some_and(|c| c.contains("multipart/alternative")), "{headers}");

    let parts = mime_parts(&raw)?;
    let kinds: Vec<&str> = parts.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);
    assert!(parts[0].1.contains(LINK), "{}", parts[0].1);
    assert!(parts[0].1.contains(RECIPIENT_NAME), "{}", parts[0].1);
    assert!(parts[1].1.contains(&LINK.replace('&', "&amp;")), "{}", parts[1].1);

    mailer.send(signing_request("other@example.com")).await?;
    assert_eq!(std::fs::read_dir(&dir)?.count(), 2, "one file per mail");
    Ok(())
}

#[tokio::test]
async fn smtp_to_a_closed_port_fails_quickly_naming_the_server() -> TestResult {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
    let timeout = Duration::from_secs(3);
    let mailer = Mailer::from_config(&smtp_config("127.0.0.1", port, timeout), &attesta_server::Ports::system())?;
    let started = Instant::now();
    let err = mailer.send(signing_request("zoe@example.com")).await.err().ok_or("sent to a closed port")?;
    assert!(started.elapsed() < timeout, "took {:?}", started.elapsed());
    let message = err.to_string();
    eprintln!("closed port: {message}");
    assert!(matches!(err, MailError::Connect { .. }), "{err:?}");
    assert!(message.contains(&format!("could not connect to the SMTP server 127.0.0.1:{port}")), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!err.is_permanent(), "worth retrying later");
    Ok(())
}

#[tokio::test]
async fn a_silent_smtp_server_times_out_after_the_configured_time() -> TestResult {
    // Accepts the connection and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let silent = tokio::spawn(async move {
        let held = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(held);
    });
    let mailer = Mailer::from_config(
        &smtp_config("127.0.0.1", port, Duration::from_millis(500)),
        &attesta_server::Ports::system(),
    )?;
    let started = Instant::now();
    let err = mailer.send(signing_request("zoe@example.com")).await.err().ok_or("sent to a silent server")?;
    let elapsed = started.elapsed();
    silent.abort();
    eprintln!("silent server: {err}");
    assert!(elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert!(matches!(err, MailError::Timeout { stage: "connecting", .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port} did not answer within 0.5s")), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_refused_login_says_so_without_the_password() -> TestResult {
    let password = "s3cret-Pa55word-for-smtp";
    let server = FakeSmtp::start(Script { refuse_login: true }).await?;
    let mut config = smtp_config("127.0.0.1", server.port, Duration::from_secs(5));
    config.mail.smtp_username = "desk@attesta.test".to_owned();
    config.mail.smtp_password = password.into();
    let mailer = Mailer::from_config(&config, &attesta_server::Ports::system())?;
    assert!(!format!("{mailer:?}").contains(password));

    let err = mailer.send(signing_request("zoe@example.com")).await.err().ok_or("sent with a refused login")?;
    let message = err.to_string();
    eprintln!("refused login: {message}");
    assert!(matches!(err, MailError::Auth { .. }), "{err:?}");
    assert!(message.contains("refused the login of \"desk@attesta.test\""), "{message}");
    assert!(message.contains("535"), "{message}");
    for shown in [message.clone(), format!("{err:?}")] {
        assert!(!shown.contains(password), "password leaked: {shown}");
        assert!(!shown.contains("czNjcmV0"), "base64 of the password leaked: {shown}");
    }
    assert!(err.is_permanent());
    Ok(())
}

#[tokio::test]
async fn a_rejected_recipient_is_named_and_nothing_is_sent() -> TestResult {
    let server = FakeSmtp::start(Script::default()).await?;
    let mailer = Mailer::from_config(
        &smtp_config("127.0.0.1", server.port, Duration::from_secs(5)),
        &attesta_server::Ports::system(),
    )?;
    let err = mailer.send(signing_request("nobody@example.com")).await.err().ok_or("sent to a rejected recipient")?;
    let message = err.to_string();
    eprintln!("rejected recipient: {message}");
    assert!(matches!(err, MailError::Recipient { permanent: true, .. }), "{err:?}");
    assert!(message.contains("rejected the recipient nobody@example.com"), "{message}");
    assert!(message.contains("User unknown"), "{message}");
    let commands = server.commands().await;
    assert!(!commands.iter().any(|c| c == "DATA"), "{commands:?}");

    // The same server takes a good recipient: the session is sound, only the address was refused.
    let server = FakeSmtp::start(Script::default()).await?;
    let mailer = Mailer::from_config(
        &smtp_config("127.0.0.1", server.port, Duration::from_secs(5)),
        &attesta_server::Ports::system(),
    )?;
    mailer.send(signing_request("zoe@example.com")).await?;
    let commands = server.commands().await;
    let verbs: Vec<&str> = commands.iter().map(|c| c.split([' ', ':']).next().unwrap_or_default()).collect();
    assert_eq!(verbs, ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"], "{commands:?}");
    Ok(())
}

#[tokio::test]
async fn starttls_is_required_when_configured_and_the_login_never_goes_out_in_clear() -> TestResult {
    // The fake server offers no STARTTLS: the session must stop before AUTH or MAIL.
    let server = FakeSmtp::start(Script::default()).await?;
    let mut config = smtp_config("127.0.0.1", server.port, Duration::from_secs(5));
    config.mail.smtp_tls = SmtpTls::Starttls;
    config.mail.smtp_username = "desk@attesta.test".to_owned();
    config.mail.smtp_password = "never-in-clear".into();
    let mailer = Mailer::from_config(&config, &attesta_server::Ports::system())?;
    assert_eq!(mailer.describe(), format!("smtp 127.0.0.1:{} (starttls)", server.port));
    let err = mailer.send(signing_request("zoe@example.com")).await.err().ok_or("sent without STARTTLS")?;
    eprintln!("no STARTTLS: {err}");
    assert!(matches!(err, MailError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("does not offer STARTTLS"), "{err}");
    let commands = server.commands().await;
    let verbs: Vec<&str> = commands.iter().map(|c| c.split(' ').next().unwrap_or_default()).collect();
    assert_eq!(verbs, ["EHLO", "QUIT"], "{commands:?}");
    Ok(())
}

#[tokio::test]
async fn headers_with_line_breaks_are_refused_before_anything_is_sent() -> TestResult {
    let data = tempfile::tempdir()?;
    let mut config = Config::default();
    config.mail.outbox_dir = data.path().to_owned();
    let mailer = Mailer::from_config(&config, &attesta_server::Ports::system())?;
    let good = signing_request("zoe@example.com");
    for bad in [
        Mail { subject: "Hello\r\nBcc: all@example.com".to_owned(), ..good.clone() },
        Mail { to_name: "Zoë\nBcc: all@example.com".to_owned(), ..good.clone() },
        Mail { reply_to: Some(("Grace\r\n".to_owned(), "grace@example.com".to_owned())), ..good.clone() },
        Mail { to_email: "zoe@example.com\r\nBcc: all@example.com".to_owned(), ..good.clone() },
        Mail { to_email: "not an address".to_owned(), ..good.clone() },
    ] {
        let err = mailer.send(bad).await.err().ok_or("a header with a line break was sent")?;
        assert!(matches!(err, MailError::Invalid(_)), "{err:?}");
    }
    assert_eq!(std::fs::read_dir(data.path())?.count(), 0, "nothing reached the outbox");
    Ok(())
}

/// The decoded `(content type, body)` of each part of a one-level multipart message.
fn mime_parts(raw: &str) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    use base64::Engine as _;
    let boundary =
        raw.split("boundary=\"").nth(1).and_then(|rest| rest.split('"').next()).ok_or("no multipart boundary")?;
    let mut parts = Vec::new();
    for chunk in raw.split(&format!("--{boundary}")).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let (head, body) = chunk.trim_start_matches("\r\n").split_once("\r\n\r\n").ok_or("part without headers")?;
        let field = |name: &str| {
            head.split("\r\n")
                .find_map(|l| l.to_ascii_lowercase().strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_owned()))
                .unwrap_or_default()
        };
        let kind = field("content-type").split(';').next().unwrap_or_default().to_owned();
        let body = body.trim_end_matches("\r\n");
        let decoded = match field("content-transfer-encoding").as_str() {
            "base64" => String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body.replace("\r\n", ""))?)?,
            "quoted-printable" => decode_quoted_printable(body)?,
            _ => body.to_owned(),
        };
        parts.push((kind, decoded.replace("\r\n", "\n")));
    }
    Ok(parts)
}

fn decode_quoted_printable(body: &str) -> Result<String, Box<dyn std::error::Error>> {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = bytes.get(i + 1..i + 3).ok_or("truncated escape")?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex)?, 16)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8(out)?)
}

/// How the fake SMTP server answers.
#[derive(Default, Clone, Copy)]
struct Script {
    refuse_login: bool,
}

/// A one-connection SMTP server that follows a script and records the commands it got.
struct FakeSmtp {
    port: u16,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl FakeSmtp {
    async fn start(script: Script) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            let mut commands = Vec::new();
            let Ok((stream, _)) = listener.accept().await else { return commands };
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let _ = write.write_all(b"220 fake.test ESMTP ready\r\n").await;
            while let Ok(Some(line)) = lines.next_line().await {
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") {
                    b"250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                } else if upper.starts_with("AUTH") {
                    if script.refuse_login {
                        b"535 5.7.8 Authentication credentials invalid\r\n"
                    } else {
                        b"235 2.7.0 Authentication successful\r\n"
                    }
                } else if upper.starts_with("MAIL FROM") {
                    b"250 2.1.0 Ok\r\n"
                } else if upper.starts_with("RCPT TO") {
                    if upper.contains("NOBODY@") {
                        b"550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown\r\n"
                    } else {
                        b"250 2.1.5 Ok\r\n"
                    }
                } else if upper == "DATA" {
                    commands.push(line);
                    let _ = write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
                    while let Ok(Some(data)) = lines.next_line().await {
                        if data == "." {
                            break;
                        }
                    }
                    let _ = write.write_all(b"250 2.0.0 Ok: queued\r\n").await;
                    continue;
                } else if upper == "QUIT" {
                    commands.push(line);
                    let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                    break;
                } else {
                    b"502 5.5.2 Command not recognized\r\n"
                };
                // Record the verb and its argument, but never what follows AUTH (the credentials).
                commands.push(if upper.starts_with("AUTH") { "AUTH".to_owned() } else { line });
                let _ = write.write_all(reply).await;
            }
            commands
        });
        Ok(Self { port, task })
    }

    /// Every command the server received, once the client has gone.
    async fn commands(self) -> Vec<String> {
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(Ok(commands)) => commands,
            other => panic!("the fake SMTP server did not finish: {other:?}"),
        }
    }
}
