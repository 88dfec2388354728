//! The completion columns of `documents`, and what the flattener reads: field values and the
//! signers' images.

use super::CompletionState;
use attesta_core::evidence::Sha256;
use sqlx::{AnyConnection, AnyPool, Row as _};
use std::collections::BTreeMap;

pub async fn state(pool: &AnyPool, id: &str) -> Result<CompletionState, sqlx::Error> {
    let row = sqlx::query(
        "SELECT signed_sha256, signed_size, signed_blob_key, sealed_sha256, sealed_size, sealed_blob_key, sealed_at, \
         completion_mailed_at, completion_error FROM documents WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(CompletionState::default()) };
    let hash = |column: &str| -> Result<Option<Sha256>, sqlx::Error> {
        let bytes: Option<Vec<u8>> = row.try_get(column)?;
        bytes
            .map(|b| {
                Sha256::from_slice(&b).map_err(|_| sqlx::Error::Decode(format!("{column} is not 32 bytes").into()))
            })
            .transpose()
    };
    let size = |column: &str| -> Result<Option<u64>, sqlx::Error> {
        let n: Option<i64> = row.try_get(column)?;
        Ok(n.and_then(|n| u64::try_from(n).ok()))
    };
    let error: Option<String> = row.try_get("completion_error")?;
    Ok(CompletionState {
        signed_sha256: hash("signed_sha256")?,
        signed_size: size("signed_size")?,
        signed_blob_key: row.try_get("signed_blob_key")?,
        sealed_sha256: hash("sealed_sha256")?,
        sealed_size: size("sealed_size")?,
        sealed_blob_key: row.try_get("sealed_blob_key")?,
        sealed_at: row.try_get("sealed_at")?,
        mailed_at: row.try_get("completion_mailed_at")?,
        error: error.filter(|e| !e.is_empty()),
    })
}

/// Documents that may have completion work left: every signer signed but not completed,
/// completed but not sealed, or sealed but the parties not mailed. Candidates only (people in
/// copy never sign, so only signers count here): the core decides whether a document completes.
pub async fn pending(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    use attesta_core::ceremony::ParticipantRole;
    sqlx::query_scalar(
        "SELECT id FROM documents WHERE (status = 'completed' AND completion_mailed_at IS NULL) \
         OR (status = 'sent' AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.document_id = documents.id \
             AND r.role = $1 AND r.status <> 'signed') \
             AND EXISTS (SELECT 1 FROM recipients r WHERE r.document_id = documents.id AND r.role = $2)) \
         ORDER BY updated_at",
    )
    .bind(ParticipantRole::Signer.as_str())
    .bind(ParticipantRole::Signer.as_str())
    .fetch_all(pool)
    .await
}

/// Records the last failure (empty clears it).
pub async fn record_error(pool: &AnyPool, id: &str, error: &str) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(2000).collect();
    sqlx::query("UPDATE documents SET completion_error = NULLIF($1, '') WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn set_signed(
    conn: &mut AnyConnection,
    id: &str,
    key: &str,
    sha: &Sha256,
    size: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE documents SET signed_blob_key = $1, signed_sha256 = $2, signed_size = $3 \
         WHERE id = $4 AND signed_sha256 IS NULL",
    )
    .bind(key)
    .bind(sha.as_bytes().as_slice())
    .bind(size)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_sealed(
    conn: &mut AnyConnection,
    id: &str,
    key: &str,
    sha: &Sha256,
    size: i64,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE documents SET sealed_blob_key = $1, sealed_sha256 = $2, sealed_size = $3, sealed_at = $4, updated_at = $5 \
         WHERE id = $6 AND status = 'completed' AND sealed_at IS NULL",
    )
    .bind(key)
    .bind(sha.as_bytes().as_slice())
    .bind(size)
    .bind(at)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the completion mail as being sent; false when another worker already did.
pub async fn claim_mailing(pool: &AnyPool, id: &str, at: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE documents SET completion_mailed_at = $1 WHERE id = $2 AND completion_mailed_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the claim back after every mail failed, so a later run sends them again.
pub async fn release_mailing(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET completion_mailed_at = NULL WHERE id = $1").bind(id).execute(pool).await?;
    Ok(())
}

/// Every filled field's value, by field id.
pub async fn values(pool: &AnyPool, id: &str) -> Result<BTreeMap<String, serde_json::Value>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT field_id, value_json FROM field_values WHERE document_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|(field, json)| {
            let value = serde_json::from_str(&json)
                .map_err(|e| sqlx::Error::Decode(format!("field value {field}: {e}").into()))?;
            Ok((field, value))
        })
        .collect()
}

/// `(recipient id, "signature" | "initials", blob key)` for every stored image.
pub async fn images(pool: &AnyPool, id: &str) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, 'signature', signature_key FROM recipients WHERE document_id = $1 AND signature_key IS NOT NULL \
         UNION ALL SELECT id, 'initials', initials_key FROM recipients WHERE document_id = $2 AND initials_key IS NOT NULL",
    )
    .bind(id)
    .bind(id)
    .fetch_all(pool)
    .await
}
