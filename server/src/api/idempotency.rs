//! `Idempotency-Key` on `POST /api/v1/documents`: a client that retries after a lost answer
//! gets the first answer again instead of a second document.
//!
//! Per API key, kept 24 hours. The first request claims the key (a row without a response);
//! a concurrent one with the same key gets 409; once answered, the same request gets the stored
//! response with `Idempotent-Replayed: true`, and a different request with that key gets 422.
//! A request that failed releases the key, so a corrected retry can use it.

use super::error::ApiError;
use attesta_core::evidence::Sha256;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use sqlx::AnyPool;

/// How long a key is remembered (microseconds).
const KEEP_MICROS: i64 = 24 * 3600 * 1_000_000;
/// Longest key accepted.
const MAX_KEY_CHARS: usize = 255;

pub enum Claim {
    /// Go ahead: this request owns the key now.
    Fresh,
    /// Answered before: send this again.
    Replay(Response),
}

/// The header's value, if sent: 1 to 255 visible ASCII characters.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let text = value.to_str().ok().map(str::trim).unwrap_or("");
    if text.is_empty() || text.len() > MAX_KEY_CHARS || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::validation("Idempotency-Key", "1 to 255 visible ASCII characters"));
    }
    Ok(Some(text.to_owned()))
}

/// What makes two requests "the same": the content type and every byte of the body, hashed as
/// `SHA-256(content type || 0x00 || body)`. The body is hashed as it streams in, after this
/// prefix (see `ingest::spool_hashed`).
pub fn fingerprint_prefix(content_type: &str) -> Vec<u8> {
    let mut prefix = content_type.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

/// The fingerprint of a whole body held in memory (the same value as the streamed one).
pub fn fingerprint(content_type: &str, body: &[u8]) -> Sha256 {
    let mut bytes = fingerprint_prefix(content_type);
    bytes.extend_from_slice(body);
    Sha256::digest(&bytes)
}

/// `now` is the time of the claim, UTC microseconds (from the Clock port).
pub async fn claim(pool: &AnyPool, key_id: i64, key: &str, fingerprint: &Sha256, now: i64) -> Result<Claim, ApiError> {
    sqlx::query("DELETE FROM api_idempotency WHERE api_key_id = $1 AND created_at < $2")
        .bind(key_id)
        .bind(now - KEEP_MICROS)
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
    let inserted = sqlx::query(
        "INSERT INTO api_idempotency (api_key_id, idempotency_key, request_sha256, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(key_id)
    .bind(key)
    .bind(fingerprint.as_bytes().as_slice())
    .bind(now)
    .execute(pool)
    .await
    .map_err(ApiError::internal)?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    let row: Option<(Vec<u8>, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT request_sha256, status, response FROM api_idempotency WHERE api_key_id = $1 AND idempotency_key = $2",
    )
    .bind(key_id)
    .bind(key)
    .fetch_optional(pool)
    .await
    .map_err(ApiError::internal)?;
    let Some((stored, status, response)) = row else {
        // Released between our insert and read: the caller may simply retry.
        return Err(in_progress());
    };
    if stored.as_slice() != fingerprint.as_bytes().as_slice() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ));
    }
    match (status.and_then(|s| u16::try_from(s).ok()).and_then(|s| StatusCode::from_u16(s).ok()), response) {
        (Some(status), Some(body)) => {
            let mut response = super::documents::json_response(status, body);
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Claim::Replay(response))
        }
        _ => Err(in_progress()),
    }
}

fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still running; retry in a moment",
    )
}

pub async fn store(pool: &AnyPool, key_id: i64, key: &str, status: StatusCode, body: &str) -> Result<(), ApiError> {
    sqlx::query("UPDATE api_idempotency SET status = $3, response = $4 WHERE api_key_id = $1 AND idempotency_key = $2")
        .bind(key_id)
        .bind(key)
        .bind(i64::from(status.as_u16()))
        .bind(body)
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

pub async fn release(pool: &AnyPool, key_id: i64, key: &str) {
    let result =
        sqlx::query("DELETE FROM api_idempotency WHERE api_key_id = $1 AND idempotency_key = $2 AND response IS NULL")
            .bind(key_id)
            .bind(key)
            .execute(pool)
            .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "releasing an idempotency key");
    }
}
