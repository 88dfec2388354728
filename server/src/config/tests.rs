use super::*;
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn no_file() -> PathBuf {
    PathBuf::from("/nonexistent/attesta.toml")
}

#[test]
fn defaults_serve_the_embedded_setup_on_port_3000() {
    let loaded = Config::load(&no_file(), env(&[])).expect("defaults are valid");
    assert_eq!(loaded.config.server.port, 3000);
    assert_eq!(loaded.config.database.url.expose_secret(), "sqlite://data/attesta.db");
    assert_eq!(loaded.config.public_origin(), "http://127.0.0.1:3000");
    assert!(loaded.warnings.is_empty());
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "[server]\nport = 4000\npublic_url = \"https://sign.example.com\"\n[log]\nformat = \"json\"")
        .expect("write");
    let loaded = Config::load(file.path(), env(&[("ATTESTA__SERVER__PORT", "5000")])).expect("valid");
    assert_eq!(loaded.config.server.port, 5000);
    assert_eq!(loaded.config.log.format, LogFormat::Json);
    assert!(loaded.config.is_https());
    assert_eq!(loaded.config.public_origin(), "https://sign.example.com");
}

#[test]
fn an_invalid_value_names_the_key_and_the_expected_form() {
    let err = Config::load(&no_file(), env(&[("ATTESTA__SERVER__PORT", "eighty")])).err().expect("refused");
    let msg = err.to_string();
    assert!(msg.contains("server.port"), "{msg}");
    assert!(msg.contains("ATTESTA__SERVER__PORT"), "{msg}");
    assert!(msg.contains("u16"), "{msg}");
}

#[test]
fn durations_are_human_readable_and_checked() {
    let loaded = Config::load(&no_file(), env(&[("ATTESTA__AUTH__FAILURE_WINDOW", "90s")])).expect("valid");
    assert_eq!(loaded.config.auth.failure_window, Duration::from_secs(90));
    let err = Config::load(&no_file(), env(&[("ATTESTA__AUTH__FAILURE_WINDOW", "soon")])).err().expect("refused");
    assert!(err.to_string().contains("auth.failure_window"), "{err}");
}

#[test]
fn a_bad_public_url_is_refused_with_an_example() {
    let err =
        Config::load(&no_file(), env(&[("ATTESTA__SERVER__PUBLIC_URL", "sign.example.com")])).err().expect("refused");
    assert!(err.to_string().contains("server.public_url: expected an http:// or https:// URL"), "{err}");
}

#[test]
fn unknown_keys_in_the_file_are_errors() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "[server]\nprot = 4000").expect("write");
    let err = Config::load(file.path(), env(&[])).err().expect("refused");
    assert!(err.to_string().contains("server.prot: unknown key"), "{err}");
}

#[test]
fn unknown_attesta_environment_variables_produce_warnings() {
    let loaded = Config::load(
        &no_file(),
        env(&[
            ("ATTESTA__SERVER__PROT", "1"),
            ("ATTESTA_PORT", "1"),
            ("ATTESTA__SERVER__PORT", "3001"),
            ("OTHER", "x"),
        ]),
    )
    .expect("unknown variables do not stop start-up");
    assert_eq!(loaded.config.server.port, 3001);
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings.iter().any(|w| w.contains("ATTESTA__SERVER__PROT")));
    assert!(loaded.warnings.iter().any(|w| w.contains("ATTESTA_PORT")));
}

#[test]
fn secrets_never_appear_in_printed_configuration() {
    let loaded =
        Config::load(&no_file(), env(&[("ATTESTA__DATABASE__URL", "sqlite://secret-place.db")])).expect("valid");
    let printed = loaded.config.to_redacted_toml();
    assert!(!printed.contains("secret-place"), "{printed}");
    assert!(printed.contains("<redacted>"));
    assert!(!format!("{:?}", loaded.config).contains("secret-place"));
}

#[test]
fn every_key_is_documented_in_env_example() {
    let example = include_str!("../../../.env.example");
    for key in known_keys() {
        let var = format!("{ENV_PREFIX}{}", key.to_uppercase().replace('.', "__"));
        assert!(example.contains(&var), "{var} is missing from .env.example");
    }
    assert!(example.contains("ATTESTA__SERVER__PUBLIC_URL"));
}

#[test]
fn mail_defaults_to_the_outbox_folder() {
    let loaded = Config::load(&no_file(), env(&[])).expect("defaults are valid");
    let mail = &loaded.config.mail;
    assert_eq!(mail.transport, MailTransport::Outbox);
    assert_eq!(mail.from, "Attesta <attesta@localhost>");
    assert_eq!(mail.outbox_dir, PathBuf::from("data/outbox"));
    assert_eq!(mail.smtp_port, 587);
    assert_eq!(mail.smtp_tls, SmtpTls::Starttls);
    assert_eq!(mail.smtp_timeout, Duration::from_secs(15));
}

#[test]
fn mail_smtp_settings_come_from_the_environment() {
    let loaded = Config::load(
        &no_file(),
        env(&[
            ("ATTESTA__MAIL__TRANSPORT", "smtp"),
            ("ATTESTA__MAIL__FROM", "Sign Desk <sign@example.com>"),
            ("ATTESTA__MAIL__SMTP_HOST", "smtp.example.com"),
            ("ATTESTA__MAIL__SMTP_PORT", "465"),
            ("ATTESTA__MAIL__SMTP_TLS", "tls"),
            ("ATTESTA__MAIL__SMTP_USERNAME", "sign@example.com"),
            ("ATTESTA__MAIL__SMTP_PASSWORD", "hunter2-smtp"),
            ("ATTESTA__MAIL__SMTP_TIMEOUT", "5s"),
        ]),
    )
    .expect("valid");
    let mail = &loaded.config.mail;
    assert_eq!(mail.transport, MailTransport::Smtp);
    assert_eq!(mail.from, "Sign Desk <sign@example.com>");
    assert_eq!((mail.smtp_host.as_str(), mail.smtp_port, mail.smtp_tls), ("smtp.example.com", 465, SmtpTls::Tls));
    assert_eq!(mail.smtp_password.expose_secret(), "hunter2-smtp");
    assert_eq!(mail.smtp_timeout, Duration::from_secs(5));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn the_smtp_password_is_never_printed() {
    let loaded = Config::load(
        &no_file(),
        env(&[("ATTESTA__MAIL__SMTP_USERNAME", "u"), ("ATTESTA__MAIL__SMTP_PASSWORD", "hunter2-smtp")]),
    )
    .expect("valid");
    let printed = loaded.config.to_redacted_toml();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("smtp_password = \"<redacted>\""), "{printed}");
    assert!(!format!("{:?}", loaded.config).contains("hunter2"));
}

#[test]
fn smtp_transport_requires_a_host() {
    let err = Config::load(&no_file(), env(&[("ATTESTA__MAIL__TRANSPORT", "smtp")])).err().expect("refused");
    assert!(err.to_string().contains("mail.smtp_host: required when mail.transport = \"smtp\""), "{err}");
}

#[test]
fn an_unknown_mail_transport_or_tls_mode_names_the_key() {
    let err = Config::load(&no_file(), env(&[("ATTESTA__MAIL__TRANSPORT", "sendmail")])).err().expect("refused");
    assert!(err.to_string().contains("mail.transport"), "{err}");
    let err = Config::load(&no_file(), env(&[("ATTESTA__MAIL__SMTP_TLS", "ssl")])).err().expect("refused");
    assert!(err.to_string().contains("mail.smtp_tls"), "{err}");
}

#[test]
fn a_bad_from_address_is_refused_with_an_example() {
    for bad in ["attesta", "Attesta <>", "Attesta <a@b> <c@d>"] {
        let err = Config::load(&no_file(), env(&[("ATTESTA__MAIL__FROM", bad)])).err().expect("refused");
        assert!(err.to_string().contains("mail.from: expected a name and address"), "{bad}: {err}");
    }
    for good in ["sign@example.com", "\"Acme, Inc.\" <sign@example.com>", "Zoë Müller <zoe@example.com>"] {
        Config::load(&no_file(), env(&[("ATTESTA__MAIL__FROM", good)])).expect(good);
    }
}

#[test]
fn a_password_over_plain_smtp_is_refused_except_to_localhost() {
    let smtp = |host: &'static str| {
        env(&[
            ("ATTESTA__MAIL__TRANSPORT", "smtp"),
            ("ATTESTA__MAIL__SMTP_HOST", host),
            ("ATTESTA__MAIL__SMTP_TLS", "none"),
            ("ATTESTA__MAIL__SMTP_USERNAME", "u"),
            ("ATTESTA__MAIL__SMTP_PASSWORD", "p"),
        ])
    };
    let err = Config::load(&no_file(), smtp("smtp.example.com")).err().expect("refused");
    assert!(err.to_string().contains("mail.smtp_tls: \"none\" would send the SMTP password in clear"), "{err}");
    for host in ["localhost", "127.0.0.1", "::1"] {
        Config::load(&no_file(), smtp(host)).expect(host);
    }
}

#[test]
fn an_smtp_password_without_a_username_is_refused() {
    let err = Config::load(
        &no_file(),
        env(&[
            ("ATTESTA__MAIL__TRANSPORT", "smtp"),
            ("ATTESTA__MAIL__SMTP_HOST", "smtp.example.com"),
            ("ATTESTA__MAIL__SMTP_PASSWORD", "p"),
        ]),
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("mail.smtp_username: required"), "{err}");
}

#[test]
fn a_zero_smtp_timeout_is_refused() {
    let err = Config::load(&no_file(), env(&[("ATTESTA__MAIL__SMTP_TIMEOUT", "0s")])).err().expect("refused");
    assert!(err.to_string().contains("mail.smtp_timeout"), "{err}");
}

#[test]
fn the_seal_defaults_to_the_embedded_identity_without_a_timestamp() {
    let loaded = Config::load(&no_file(), env(&[])).expect("defaults are valid");
    let seal = &loaded.config.seal;
    assert_eq!(seal.dir, PathBuf::from("data/seal"));
    assert!(seal.certificate_file.is_none() && seal.key_file.is_none() && seal.pkcs12_file.is_none());
    assert_eq!(seal.tsa_url, None);
    assert_eq!(seal.tsa_timeout, Duration::from_secs(15));
    assert_eq!(loaded.config.public_host(), "127.0.0.1");
    let loaded = Config::load(&no_file(), env(&[("ATTESTA__SERVER__PUBLIC_URL", "https://sign.example.com:8443")]))
        .expect("valid");
    assert_eq!(loaded.config.public_host(), "sign.example.com");
}

#[test]
fn seal_settings_that_cannot_work_are_refused_at_start_up() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let path = file.path().to_str().expect("utf-8 path");
    let refused = |pairs: &[(&str, &str)]| Config::load(&no_file(), env(pairs)).err().expect("refused").to_string();

    let err = refused(&[
        ("ATTESTA__SEAL__CERTIFICATE_FILE", path),
        ("ATTESTA__SEAL__KEY_FILE", path),
        ("ATTESTA__SEAL__PKCS12_FILE", path),
    ]);
    assert!(err.contains("seal.pkcs12_file: set either"), "{err}");
    let err = refused(&[("ATTESTA__SEAL__CERTIFICATE_FILE", path)]);
    assert!(err.contains("seal.key_file: required with seal.certificate_file"), "{err}");
    let err =
        refused(&[("ATTESTA__SEAL__KEY_FILE", "/nonexistent/seal.key"), ("ATTESTA__SEAL__CERTIFICATE_FILE", path)]);
    assert!(err.contains("seal.key_file: /nonexistent/seal.key is not a readable file"), "{err}");
    let err = refused(&[("ATTESTA__SEAL__PKCS12_PASSWORD", "secret")]);
    assert!(err.contains("seal.pkcs12_password: set without seal.pkcs12_file"), "{err}");
    let err = refused(&[("ATTESTA__SEAL__TSA_URL", "timestamp.example.com")]);
    assert!(err.contains("seal.tsa_url: expected an http:// or https:// URL"), "{err}");
    let err = refused(&[("ATTESTA__SEAL__TSA_TIMEOUT", "0s")]);
    assert!(err.contains("seal.tsa_timeout"), "{err}");

    let loaded = Config::load(
        &no_file(),
        env(&[("ATTESTA__SEAL__PKCS12_FILE", path), ("ATTESTA__SEAL__PKCS12_PASSWORD", "p12 secret")]),
    )
    .expect("valid");
    assert!(!loaded.config.to_redacted_toml().contains("p12 secret"), "the password is never printed");
}

#[test]
fn sso_is_off_by_default_and_asks_for_openid_email_and_profile() {
    let config = Config::load(&no_file(), env(&[])).expect("defaults are valid").config;
    assert!(!config.sso.enabled());
    assert!(!config.sso.only && !config.sso.link_existing_accounts);
    assert!(config.sso.allowed_domains.is_empty());
    assert_eq!(config.sso.scopes, ["openid", "email", "profile"]);
}

#[test]
fn sso_settings_come_from_the_environment() {
    let config = Config::load(
        &no_file(),
        env(&[
            ("ATTESTA__SSO__ISSUER_URL", "https://login.acme.com"),
            ("ATTESTA__SSO__CLIENT_ID", "attesta"),
            ("ATTESTA__SSO__CLIENT_SECRET", "s3cret-value"),
            ("ATTESTA__SSO__ALLOWED_DOMAINS", "acme.com, Acme.org"),
            ("ATTESTA__SSO__ONLY", "true"),
        ]),
    )
    .expect("valid")
    .config;
    assert!(config.sso.enabled() && config.sso.only);
    assert_eq!(config.sso.allowed_domains, ["acme.com", "Acme.org"]);
    assert!(!config.to_redacted_toml().contains("s3cret-value"), "the client secret is never printed");
}

#[test]
fn sso_settings_that_cannot_work_are_refused_at_start_up() {
    let refused = |pairs: &[(&str, &str)], key: &str| {
        let Err(e) = Config::load(&no_file(), env(pairs)) else { panic!("{pairs:?} must be refused") };
        assert!(e.to_string().contains(key), "{key} not named in: {e}");
    };
    refused(&[("ATTESTA__SSO__ONLY", "true")], "sso.only");
    refused(
        &[("ATTESTA__SSO__ISSUER_URL", "http://login.acme.com"), ("ATTESTA__SSO__CLIENT_ID", "x")],
        "sso.issuer_url",
    );
    refused(&[("ATTESTA__SSO__ISSUER_URL", "https://login.acme.com")], "sso.client_id");
    let base = [("ATTESTA__SSO__ISSUER_URL", "https://login.acme.com"), ("ATTESTA__SSO__CLIENT_ID", "x")];
    refused(&[base[0], base[1], ("ATTESTA__SSO__ALLOWED_DOMAINS", "acme")], "sso.allowed_domains");
    refused(&[base[0], base[1], ("ATTESTA__SSO__SCOPES", "email,profile")], "sso.scopes");
    // Plain http is fine on this machine (a development provider).
    Config::load(&no_file(), env(&[("ATTESTA__SSO__ISSUER_URL", "http://127.0.0.1:9400"), base[1]]))
        .expect("a loopback provider over http is accepted");
}
