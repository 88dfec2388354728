//! Endpoint secrets at rest: each is 32 random bytes encrypted like a stored file
//! (`storage::envelope`): a fresh data key wrapped by the storage master key, with the secret's
//! id as additional data (a row copied onto another id does not open), and the secret encrypted
//! under that data key. A database dump alone does not reveal any secret.

use attesta_core::ports::Entropy;
use attesta_core::storage::envelope::{DataKey, Keyring, WrappedKey, decrypt_all, encrypt_all};
use attesta_core::webhooks::Secret;
use sqlx::{AnyConnection, AnyPool};
use zeroize::Zeroizing;

pub(crate) fn aad(id: &str) -> Vec<u8> {
    format!("attesta/v1/webhook-secret/{id}").into_bytes()
}

/// A new secret, drawn and encrypted, ready to be inserted (by [`NewSecret::insert`], inside
/// the transaction that records it).
pub(super) struct NewSecret {
    pub id: String,
    wrapped: WrappedKey,
    ciphertext: Vec<u8>,
}

impl NewSecret {
    /// Draws 32 random bytes and encrypts them under a fresh data key.
    pub fn draw(keyring: &Keyring, entropy: &dyn Entropy) -> anyhow::Result<Self> {
        let mut rng = attesta_core::entropy::rng(entropy);
        let mut raw = Zeroizing::new([0u8; 32]);
        entropy.fill(raw.as_mut());
        let id = super::random_id(entropy, "sec");
        let data_key = DataKey::generate(&mut rng);
        let wrapped = keyring.wrap_key(&data_key, &aad(&id), &mut rng).map_err(|e| anyhow::anyhow!("{e}"))?;
        let ciphertext = encrypt_all(&data_key, raw.as_slice(), &mut rng).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self { id, wrapped, ciphertext })
    }

    /// Makes it the current secret of `endpoint_id`.
    pub async fn insert(&self, conn: &mut AnyConnection, endpoint_id: &str, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO webhook_secrets (id, endpoint_id, wrapped_key, master_key_id, ciphertext, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.id)
        .bind(endpoint_id)
        .bind(self.wrapped.to_string())
        .bind(self.wrapped.master_key_id().to_string())
        .bind(&self.ciphertext)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// The secrets that sign at `at`: the current one first, then rotated-out ones not yet expired.
pub(super) async fn live(pool: &AnyPool, keyring: &Keyring, endpoint_id: &str, at: i64) -> anyhow::Result<Vec<Secret>> {
    let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, wrapped_key, ciphertext FROM webhook_secrets \
         WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
         ORDER BY expires_at IS NOT NULL, created_at DESC",
    )
    .bind(endpoint_id)
    .bind(at)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, wrapped, ciphertext)| {
            let wrapped: WrappedKey = wrapped.parse().map_err(|e| anyhow::anyhow!("secret {id}: {e}"))?;
            let data_key = keyring.unwrap_key(&wrapped, &aad(&id)).map_err(|e| anyhow::anyhow!("secret {id}: {e}"))?;
            let raw =
                Zeroizing::new(decrypt_all(&data_key, &ciphertext).map_err(|e| anyhow::anyhow!("secret {id}: {e}"))?);
            Secret::from_bytes(&raw).map_err(|e| anyhow::anyhow!("secret {id}: {e}"))
        })
        .collect()
}

/// Master-key rotation for secrets (called by `attesta storage rotate-key` after the blobs):
/// re-wraps each secret's data key under the current master key; the ciphertext stays.
pub(crate) async fn rotate_master_key(
    pool: &AnyPool,
    keyring: &Keyring,
    entropy: &dyn Entropy,
    report: &mut crate::storage::Rotation,
) -> anyhow::Result<()> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, wrapped_key FROM webhook_secrets ORDER BY id").fetch_all(pool).await?;
    for (id, text) in rows {
        let wrapped: WrappedKey = match text.parse() {
            Ok(w) => w,
            Err(e) => {
                report.failed.push((format!("webhook secret {id}"), format!("unreadable wrapped key: {e}")));
                continue;
            }
        };
        match keyring.rewrap(&wrapped, &aad(&id), &mut attesta_core::entropy::rng(entropy)) {
            Ok(None) => report.current += 1,
            Ok(Some(new)) => {
                sqlx::query(
                    "UPDATE webhook_secrets SET wrapped_key = $1, master_key_id = $2 WHERE id = $3 AND wrapped_key = $4",
                )
                .bind(new.to_string())
                .bind(new.master_key_id().to_string())
                .bind(&id)
                .bind(&text)
                .execute(pool)
                .await?;
                report.rewrapped += 1;
            }
            Err(e) => report.failed.push((format!("webhook secret {id}"), e.to_string())),
        }
    }
    Ok(())
}
