//! Opening the configured storage: the master keyring and the blob store.

use crate::blob::{BlobStore, local::LocalBlobStore, s3};
use crate::config::{Config, StorageBackend};
use anyhow::Context as _;
use attesta_core::ports::Entropy;
use attesta_core::storage::envelope::{Keyring, MasterKey};
use secrecy::ExposeSecret as _;
use std::path::Path;
use std::sync::Arc;

/// The master keys: `storage.master_key` when set, else the key file (created on first run),
/// plus every `storage.previous_master_keys` entry for reading older files.
pub fn keyring(config: &Config, entropy: &dyn Entropy) -> anyhow::Result<Keyring> {
    let configured = config.storage.master_key.expose_secret().trim();
    let current = if configured.is_empty() {
        load_or_create_key_file(&config.storage.master_key_file, entropy)?
    } else {
        MasterKey::from_base64(configured).map_err(|e| anyhow::anyhow!("storage.master_key: {e}"))?
    };
    let previous = config
        .storage
        .previous_master_keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            MasterKey::from_base64(k.expose_secret().trim())
                .map_err(|e| anyhow::anyhow!("storage.previous_master_keys[{i}]: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Keyring::new(current, previous))
}

fn load_or_create_key_file(path: &Path, entropy: &dyn Entropy) -> anyhow::Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_base64(text.trim())
            .map_err(|e| anyhow::anyhow!("{}: not a master key (32 bytes, base64): {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate(&mut attesta_core::entropy::rng(entropy));
            crate::private_file::create(path, &format!("{}\n", key.to_base64().as_str()), "the master key")?;
            tracing::warn!(
                path = %path.display(),
                key_id = %key.id(),
                "created a new storage master key; back it up and keep it apart from the stored files: \
                 without it no document can be read"
            );
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading the master key {}", path.display())),
    }
}

/// The configured blob store.
pub async fn blob_store(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    Ok(match config.storage.backend {
        StorageBackend::Local => Arc::new(LocalBlobStore::open(&config.storage.path)?),
        StorageBackend::S3 => {
            let s3 = &config.s3;
            let store = s3::S3BlobStore::new(s3::S3Config {
                endpoint: (!s3.endpoint.is_empty()).then(|| s3.endpoint.clone()),
                region: s3.region.clone(),
                bucket: s3.bucket.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
                path_style: s3.path_style,
                prefix: s3.prefix.clone(),
            })
            .map_err(|e| anyhow::anyhow!("s3: {e}"))?;
            Arc::new(store)
        }
    })
}

/// What a master-key rotation did.
#[derive(Debug, Default)]
pub struct Rotation {
    pub rewrapped: u64,
    pub current: u64,
    /// Blobs whose key no configured master key opens, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Re-wraps every blob's data key, and every webhook secret's, under the keyring's current
/// master key. Only the wrapped keys change; each update is its own statement, so an
/// interrupted rotation simply resumes.
pub async fn rotate(pool: &sqlx::AnyPool, keyring: &Keyring, entropy: &dyn Entropy) -> anyhow::Result<Rotation> {
    use attesta_core::storage::envelope::WrappedKey;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, wrapped_key FROM blobs ORDER BY key")
        .fetch_all(pool)
        .await
        .context("reading the blobs")?;
    let mut report = Rotation::default();
    for (key, text) in rows {
        let wrapped: WrappedKey = match text.parse() {
            Ok(w) => w,
            Err(e) => {
                report.failed.push((key, format!("unreadable wrapped key: {e}")));
                continue;
            }
        };
        match keyring.rewrap(&wrapped, key.as_bytes(), &mut attesta_core::entropy::rng(entropy)) {
            Ok(None) => report.current += 1,
            Ok(Some(new)) => {
                sqlx::query(
                    "UPDATE blobs SET wrapped_key = $1, master_key_id = $2 WHERE key = $3 AND wrapped_key = $4",
                )
                .bind(new.to_string())
                .bind(new.master_key_id().to_string())
                .bind(&key)
                .bind(&text)
                .execute(pool)
                .await
                .with_context(|| format!("updating blob {key}"))?;
                report.rewrapped += 1;
            }
            Err(e) => report.failed.push((key, e.to_string())),
        }
    }
    crate::webhooks::secrets::rotate_master_key(pool, keyring, entropy, &mut report)
        .await
        .context("re-wrapping the webhook secrets")?;
    Ok(report)
}
