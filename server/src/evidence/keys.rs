//! The log's Ed25519 signing key: created on first run from the Entropy port (the OS source), kept in a
//! file readable only by its owner, in the signer-key text form of Go's `sumdb/note`
//! (`PRIVATE+KEY+<name>+<id>+<base64>`), so standard transparency-log tools can use it too.

use anyhow::{Context as _, bail};
use attesta_core::entropy::EntropyExt as _;
use attesta_core::evidence::{KeyName, LogSigner};
use attesta_core::ports::Entropy;
use base64::Engine as _;
use std::path::Path;

/// The log's name as this start's configuration gives it.
#[derive(Debug, Clone)]
pub enum ConfiguredName {
    /// Set on purpose (`evidence.log_name`, or derived from `server.public_url`): the stored
    /// name must equal it, else the server refuses to start.
    Explicit { name: KeyName, setting: &'static str },
    /// Derived from the listening address: only names a log created now, never an existing one
    /// (a port given on the command line must not rename the log).
    Default(KeyName),
}

/// Reads the key at `path`, or creates it there when the file does not exist. The log's name
/// (its checkpoints' origin) is fixed when the key is created and stored with it: afterwards it
/// comes from the key file, never from the configuration. `stored_origin` is the origin of the
/// latest checkpoint in the database, if any: a key must continue that log, not start another.
pub fn load_or_create(
    path: &Path,
    configured: &ConfiguredName,
    stored_origin: Option<&str>,
    entropy: &dyn Entropy,
) -> anyhow::Result<LogSigner> {
    let signer = match std::fs::read_to_string(path) {
        Ok(text) => LogSigner::parse_signer_key(text.trim())
            .map_err(|e| anyhow::anyhow!("{}: not a valid log signing key: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(origin) = stored_origin {
                bail!(
                    "the log key {} is missing, but the database holds checkpoints of the log {origin:?}: restore the \
                     key file from a backup (a new key could not continue that log)",
                    path.display()
                );
            }
            let name = match configured {
                ConfiguredName::Explicit { name, .. } | ConfiguredName::Default(name) => name,
            };
            return create(path, name, entropy);
        }
        Err(e) => return Err(e).with_context(|| format!("reading the log key {}", path.display())),
    };
    let stored = signer.verifier_key().name().as_str();
    if let Some(origin) = stored_origin
        && origin != stored
    {
        bail!(
            "{} signs as {stored:?} but the database's latest checkpoint is of the log {origin:?}: this key belongs \
             to another log; point evidence.log_key_file at that log's key",
            path.display()
        );
    }
    if let ConfiguredName::Explicit { name, setting } = configured
        && name.as_str() != stored
    {
        let hint = if *setting == "evidence.log_name" {
            format!("set evidence.log_name = {stored:?} (or remove it)")
        } else {
            format!("keep the log's name by setting evidence.log_name = {stored:?}")
        };
        bail!(
            "the log is named {stored:?} (fixed at its first start, stored in {}) but {setting} makes it {:?}: a \
             log keeps its name for life; {hint}, or point evidence.log_key_file at a new file to start a new log",
            path.display(),
            name.as_str(),
        );
    }
    Ok(signer)
}

fn create(path: &Path, name: &KeyName, entropy: &dyn Entropy) -> anyhow::Result<LogSigner> {
    let seed: [u8; 32] = entropy.bytes();
    let signer = LogSigner::from_seed(name.clone(), &seed);
    let mut blob = vec![0x01];
    blob.extend_from_slice(&seed);
    let text = format!(
        "PRIVATE+KEY+{}+{:08x}+{}\n",
        name.as_str(),
        signer.verifier_key().key_id(),
        base64::engine::general_purpose::STANDARD.encode(&blob)
    );
    crate::private_file::create(path, &text, "the log key")?;
    tracing::warn!(
        path = %path.display(),
        verifier_key = %signer.verifier_key(),
        "created a new log signing key; back it up: checkpoints signed with it are what parties hold as proof"
    );
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(name: &str) -> ConfiguredName {
        ConfiguredName::Explicit { name: KeyName::parse(name).expect("name"), setting: "evidence.log_name" }
    }

    fn default(name: &str) -> ConfiguredName {
        ConfiguredName::Default(KeyName::parse(name).expect("name"))
    }

    #[test]
    fn a_created_key_is_private_and_loads_back_the_same() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/log.key");
        let first =
            load_or_create(&path, &explicit("example.test/log"), None, &attesta_core::entropy::SeededEntropy::new(5))
                .expect("created");
        let again = load_or_create(
            &path,
            &explicit("example.test/log"),
            Some("example.test/log"),
            &attesta_core::entropy::SeededEntropy::new(5),
        )
        .expect("loaded");
        assert_eq!(first.verifier_key().to_string(), again.verifier_key().to_string());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn an_explicitly_configured_name_that_differs_from_the_stored_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.key");
        load_or_create(&path, &explicit("one.test/log"), None, &attesta_core::entropy::SeededEntropy::new(5))
            .expect("created");
        let err = load_or_create(&path, &explicit("two.test/log"), None, &attesta_core::entropy::SeededEntropy::new(5))
            .expect_err("refused");
        assert!(err.to_string().contains("keeps its name for life"), "{err}");
        assert!(err.to_string().contains("evidence.log_name = \"one.test/log\""), "{err}");
    }

    #[test]
    fn a_name_derived_from_the_listening_address_never_renames_an_existing_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.key");
        load_or_create(
            &path,
            &default("127.0.0.1:3000/attesta-log"),
            None,
            &attesta_core::entropy::SeededEntropy::new(5),
        )
        .expect("created");
        let again = load_or_create(
            &path,
            &default("127.0.0.1:4000/attesta-log"),
            None,
            &attesta_core::entropy::SeededEntropy::new(5),
        )
        .expect("loaded");
        assert_eq!(again.verifier_key().name().as_str(), "127.0.0.1:3000/attesta-log");
    }

    #[test]
    fn a_key_of_another_log_or_a_lost_key_is_refused_when_the_database_has_checkpoints() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.key");
        let err = load_or_create(
            &path,
            &default("a.test/log"),
            Some("a.test/log"),
            &attesta_core::entropy::SeededEntropy::new(5),
        )
        .expect_err("missing key");
        assert!(err.to_string().contains("restore the key file"), "{err}");
        assert!(!path.exists(), "no new key was made");
        load_or_create(&path, &default("b.test/log"), None, &attesta_core::entropy::SeededEntropy::new(5))
            .expect("created");
        let err = load_or_create(
            &path,
            &default("b.test/log"),
            Some("a.test/log"),
            &attesta_core::entropy::SeededEntropy::new(5),
        )
        .expect_err("another log");
        assert!(err.to_string().contains("belongs to another log"), "{err}");
    }
}
