//! The log's Ed25519 signing key: created on first run from the OS random source, kept in a
//! file readable only by its owner, in the signer-key text form of Go's `sumdb/note`
//! (`PRIVATE+KEY+<name>+<id>+<base64>`), so standard transparency-log tools can use it too.

use anyhow::{Context as _, bail};
use attesta_core::evidence::{KeyName, LogSigner};
use base64::Engine as _;
use rand::RngCore as _;
use std::path::Path;

/// Reads the key at `path`, or creates it there when the file does not exist.
pub fn load_or_create(path: &Path, name: &KeyName) -> anyhow::Result<LogSigner> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let signer = LogSigner::parse_signer_key(text.trim())
                .map_err(|e| anyhow::anyhow!("{}: not a valid log signing key: {e}", path.display()))?;
            if signer.verifier_key().name() != name {
                bail!(
                    "{} signs as {:?} but evidence.log_name is {:?}: a log keeps its name for life; \
                     set evidence.log_name back, or point evidence.log_key_file at a new file to start a new log",
                    path.display(),
                    signer.verifier_key().name().as_str(),
                    name.as_str()
                );
            }
            Ok(signer)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path, name),
        Err(e) => Err(e).with_context(|| format!("reading the log key {}", path.display())),
    }
}

fn create(path: &Path, name: &KeyName) -> anyhow::Result<LogSigner> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
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

    #[test]
    fn a_created_key_is_private_and_loads_back_the_same() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/log.key");
        let name = KeyName::parse("example.test/log").expect("name");
        let first = load_or_create(&path, &name).expect("created");
        let again = load_or_create(&path, &name).expect("loaded");
        assert_eq!(first.verifier_key().to_string(), again.verifier_key().to_string());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_key_under_another_name_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.key");
        load_or_create(&path, &KeyName::parse("one.test/log").expect("name")).expect("created");
        let err = load_or_create(&path, &KeyName::parse("two.test/log").expect("name")).expect_err("refused");
        assert!(err.to_string().contains("keeps its name for life"), "{err}");
    }
}
