//! The signing tables: drafts on `documents`, `recipients`, `field_values`, `otp_codes`.

use attesta_core::Timestamp;
use attesta_core::evidence::Sha256;
use attesta_core::signing::ceremony::RecipientStatus;
use attesta_core::signing::otp::OtpState;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Row as _};

/// The editable part of a draft document.
pub struct DraftRow {
    pub draft_json: Option<String>,
    pub revision: i64,
    pub pages_json: Option<String>,
    pub layout_json: Option<String>,
    pub signing_order: Option<String>,
    pub void_reason: Option<String>,
    /// When it was sent (UTC µs), once sent.
    pub sent_at: Option<i64>,
    /// When it is scheduled to be sent (UTC µs) and the zone the sender picked it in.
    pub scheduled: Option<(i64, String)>,
}

pub async fn draft(pool: &AnyPool, id: &str) -> Result<Option<DraftRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT draft_json, draft_revision, pages_json, layout_json, signing_order, void_reason, sent_at, scheduled_at, \
         scheduled_zone FROM documents \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(DraftRow {
            draft_json: r.try_get(0)?,
            revision: r.try_get(1)?,
            pages_json: r.try_get(2)?,
            layout_json: r.try_get(3)?,
            signing_order: r.try_get(4)?,
            void_reason: r.try_get(5)?,
            sent_at: r.try_get(6)?,
            scheduled: match (r.try_get::<Option<i64>, _>(7)?, r.try_get::<Option<String>, _>(8)?) {
                (Some(at), Some(zone)) => Some((at, zone)),
                (Some(at), None) => Some((at, "UTC".to_owned())),
                _ => None,
            },
        })
    })
    .transpose()
}

pub async fn store_pages(pool: &AnyPool, id: &str, pages_json: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET pages_json = $1 WHERE id = $2 AND pages_json IS NULL")
        .bind(pages_json)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Saves the draft if nobody saved since `revision`; returns the new revision, or `None` on a
/// conflict (or when the document is no longer a draft).
pub async fn save_draft(
    pool: &AnyPool,
    id: &str,
    revision: i64,
    json: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE documents SET draft_json = $1, draft_revision = draft_revision + 1, updated_at = $2 \
         WHERE id = $3 AND draft_revision = $4 AND status = 'draft' AND scheduled_at IS NULL",
    )
    .bind(json)
    .bind(now)
    .bind(id)
    .bind(revision)
    .execute(pool)
    .await?;
    Ok((done.rows_affected() == 1).then_some(revision + 1))
}

#[derive(Debug, Clone)]
pub struct RecipientRow {
    pub document_id: String,
    pub id: String,
    pub position: u32,
    pub name: String,
    pub email: String,
    pub otp_required: bool,
    pub status: RecipientStatus,
    pub token_hash: Option<Sha256>,
    pub emailed_at: Option<i64>,
    pub email_error: Option<String>,
    pub viewed_at: Option<i64>,
    pub consented_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub declined_at: Option<i64>,
    pub decline_reason: Option<String>,
    /// `attesta_core::ceremony::ParticipantRole` as stored.
    pub role: String,
    /// When their current link was issued.
    pub link_issued_at: Option<i64>,
    pub reminders_sent: u32,
}

const RECIPIENT_COLUMNS: &str = "document_id, id, position, name, email, otp_required, status, token_hash, emailed_at, \
     email_error, viewed_at, consented_at, signed_at, declined_at, decline_reason, role, link_issued_at, reminders_sent";

fn decode_recipient(r: &sqlx::any::AnyRow) -> Result<RecipientRow, sqlx::Error> {
    let corrupt = |what: &str| sqlx::Error::Decode(format!("recipient: {what}").into());
    let status: String = r.try_get("status")?;
    let token: Option<Vec<u8>> = r.try_get("token_hash")?;
    let position: i64 = r.try_get("position")?;
    Ok(RecipientRow {
        document_id: r.try_get("document_id")?,
        id: r.try_get("id")?,
        position: u32::try_from(position).map_err(|_| corrupt("position"))?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        otp_required: r.try_get::<i64, _>("otp_required")? == 1,
        status: RecipientStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        token_hash: token.map(|t| Sha256::from_slice(&t)).transpose().map_err(|_| corrupt("token hash"))?,
        emailed_at: r.try_get("emailed_at")?,
        email_error: r.try_get("email_error")?,
        viewed_at: r.try_get("viewed_at")?,
        consented_at: r.try_get("consented_at")?,
        signed_at: r.try_get("signed_at")?,
        declined_at: r.try_get("declined_at")?,
        decline_reason: r.try_get("decline_reason")?,
        role: r.try_get("role")?,
        link_issued_at: r.try_get("link_issued_at")?,
        reminders_sent: u32::try_from(r.try_get::<i64, _>("reminders_sent")?).map_err(|_| corrupt("reminders"))?,
    })
}

pub async fn recipients(pool: &AnyPool, document_id: &str) -> Result<Vec<RecipientRow>, sqlx::Error> {
    let rows =
        sqlx::query(&format!("SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE document_id = $1 ORDER BY position"))
            .bind(document_id)
            .fetch_all(pool)
            .await?;
    rows.iter().map(decode_recipient).collect()
}

pub async fn recipient_by_token(pool: &AnyPool, token_hash: &Sha256) -> Result<Option<RecipientRow>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE token_hash = $1"))
        .bind(token_hash.as_bytes().as_slice())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode_recipient).transpose()
}

pub async fn record_email(conn: &mut AnyConnection, document_id: &str, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE recipients SET emailed_at = $1, email_error = NULL WHERE document_id = $2 AND id = $3")
        .bind(now)
        .bind(document_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn record_email_error(
    conn: &mut sqlx::AnyConnection,
    document_id: &str,
    id: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE recipients SET email_error = $1 WHERE document_id = $2 AND id = $3")
        .bind(error)
        .bind(document_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn otp(pool: &AnyPool, document_id: &str, id: &str) -> Result<Option<OtpState>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT code_hash, issued_at, attempts, locked_at, verified_at, total_failures FROM otp_codes \
         WHERE document_id = $1 AND recipient_id = $2",
    )
    .bind(document_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        let hash: Vec<u8> = r.try_get(0)?;
        let attempts: i64 = r.try_get(2)?;
        Ok(OtpState {
            code_hash: Sha256::from_slice(&hash).map_err(|e| sqlx::Error::Decode(e.into()))?,
            issued_at: Timestamp::from_micros(r.try_get(1)?),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            locked_at: r.try_get::<Option<i64>, _>(3)?.map(Timestamp::from_micros),
            verified_at: r.try_get::<Option<i64>, _>(4)?.map(Timestamp::from_micros),
            total_failures: u32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(u32::MAX),
        })
    })
    .transpose()
}

/// Stores a new code in place of `previous` (the code the caller saw, by its issue time), or as
/// the first one; false when another request replaced it meanwhile, so two requests racing
/// past the resend pause send one code, not two.
pub async fn store_otp(
    pool: &AnyPool,
    document_id: &str,
    id: &str,
    state: &OtpState,
    previous: Option<&OtpState>,
) -> Result<bool, sqlx::Error> {
    let done = match previous {
        Some(previous) => sqlx::query(
            "UPDATE otp_codes SET code_hash = $1, issued_at = $2, attempts = 0, locked_at = NULL, verified_at = NULL \
                 WHERE document_id = $3 AND recipient_id = $4 AND issued_at = $5",
        )
        .bind(state.code_hash.as_bytes().as_slice())
        .bind(state.issued_at.as_micros())
        .bind(document_id)
        .bind(id)
        .bind(previous.issued_at.as_micros())
        .execute(pool)
        .await?,
        None => {
            sqlx::query(
                "INSERT INTO otp_codes (document_id, recipient_id, code_hash, issued_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (document_id, recipient_id) DO NOTHING",
            )
            .bind(document_id)
            .bind(id)
            .bind(state.code_hash.as_bytes().as_slice())
            .bind(state.issued_at.as_micros())
            .execute(pool)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Counts a wrong code or marks the code used, only if nobody else did in between (two
/// browsers guessing at once cannot get more than the allowed tries).
pub async fn update_otp(
    pool: &AnyPool,
    document_id: &str,
    id: &str,
    before: &OtpState,
    after: &OtpState,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE otp_codes SET attempts = $1, locked_at = $2, verified_at = $3, total_failures = $4 \
         WHERE document_id = $5 AND recipient_id = $6 AND code_hash = $7 AND attempts = $8 AND verified_at IS NULL",
    )
    .bind(i64::from(after.attempts))
    .bind(after.locked_at.map(Timestamp::as_micros))
    .bind(after.verified_at.map(Timestamp::as_micros))
    .bind(i64::from(after.total_failures))
    .bind(document_id)
    .bind(id)
    .bind(before.code_hash.as_bytes().as_slice())
    .bind(i64::from(before.attempts))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Documents sent and not finished whose deadline is at or before `now` (the core decides
/// whether each expires).
pub async fn past_deadline(pool: &AnyPool, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM documents WHERE expires_at IS NOT NULL AND expires_at <= $1 AND finished_at IS NULL \
         ORDER BY expires_at LIMIT 500",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}
