//! Loading a document's ceremony for the core to decide on, and writing the core's transition
//! back: the states it changed, plus what the use case attaches to it as data ([`Extra`]), in
//! the evidence sequencer's transaction and guarded by the ceremony's version alone.
//!
//! The SQL here never decides whether a change is allowed (that is `attesta_core::ceremony::decide`);
//! it only refuses to write over a ceremony that changed since the decision was made, so that
//! the use case reloads and asks again.

use super::repo;
use crate::documents::repo::BlobRow;
use attesta_core::ceremony::{Ceremony, Participant, ParticipantRole, ReminderPolicy};
use attesta_core::documents::DocumentStatus;
use attesta_core::evidence::Sha256;
use attesta_core::signing::SigningOrder;
use attesta_core::signing::ceremony::RecipientStatus;
use attesta_core::time::Timestamp;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Row as _};

/// A ceremony and the version it was read at.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub ceremony: Ceremony,
    pub version: i64,
    /// Recipients as stored, in the ceremony's order (index `i` is participant `i`).
    pub recipients: Vec<repo::RecipientRow>,
}

/// What a use case writes besides the states, in the same transaction, as data (so a retry after
/// a lost race writes it again from the same value).
#[derive(Debug, Clone, Default)]
pub enum Extra {
    #[default]
    Nothing,
    /// The draft revision a schedule was made on (the draft must still be at it) and the time
    /// zone the sender picked the time in.
    Scheduled { revision: i64, time_zone: String },
    /// The frozen layout and the recipients of a document being sent.
    Sent { revision: i64, layout_json: String, layout_sha256: Sha256, recipients: Vec<NewRecipient> },
    /// The stored images and entered values of a signature.
    Signed {
        blobs: Vec<BlobRow>,
        signature: Option<(String, Sha256)>,
        initials: Option<(String, Sha256)>,
        values: Vec<(String, String)>,
    },
    /// The sender replaced a recipient's link: their one-time codes start again.
    LinkReplaced { recipient: String },
    /// Why a recipient declined.
    Declined { reason: String },
    /// Why the owner voided it.
    Voided { reason: String },
    /// The signed file of a completed document.
    Completed { blob: BlobRow, signed_sha256: Sha256, signed_size: i64 },
}

/// A recipient as stored when the document is sent.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub id: String,
    pub name: String,
    pub email: String,
    pub otp_required: bool,
}

/// Why a transition was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The ceremony changed since it was loaded: decide again on the new state.
    #[error("the document changed meanwhile")]
    Moved,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The document's ceremony as stored, or `None` when there is no such document.
pub async fn load(pool: &AnyPool, id: &str) -> Result<Option<Loaded>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT status, signing_order, expires_at, ceremony_version, reminder_first_after, reminder_every, \
         reminder_max, sent_at, stalls, scheduled_at FROM documents WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let corrupt = |what: &str| sqlx::Error::Decode(format!("document {id}: {what}").into());
    let status: String = row.try_get(0)?;
    let status = DocumentStatus::parse(&status).ok_or_else(|| corrupt("status"))?;
    let order: Option<String> = row.try_get(1)?;
    let order = order.as_deref().and_then(SigningOrder::parse).unwrap_or_default();
    let expires_at: Option<i64> = row.try_get(2)?;
    let version: i64 = row.try_get(3)?;
    let micros = |n: Option<i64>| std::time::Duration::from_micros(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0));
    let reminders = ReminderPolicy {
        first_after: micros(row.try_get(4)?),
        every: micros(row.try_get(5)?),
        max: u32::try_from(row.try_get::<i64, _>(6)?).map_err(|_| corrupt("reminders"))?,
    };
    let sent_at: Option<i64> = row.try_get(7)?;
    let stalls = u32::try_from(row.try_get::<i64, _>(8)?).map_err(|_| corrupt("stalls"))?;
    let scheduled_at: Option<i64> = row.try_get(9)?;
    let recipients = repo::recipients(pool, id).await?;
    let participants = recipients
        .iter()
        .map(|r| {
            Ok(Participant {
                id: r.id.clone(),
                role: parse_role(&r.role).ok_or_else(|| corrupt("recipient role"))?,
                status: r.status,
                link: r.token_hash,
                viewed: r.viewed_at.is_some(),
                consented: r.consented_at.is_some(),
                otp_required: r.otp_required,
                link_issued_at: r.link_issued_at.map(Timestamp::from_micros),
                reminders_sent: r.reminders_sent,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // Progress: the sending, or a recipient's latest view, consent or signature.
    let progressed_at = recipients
        .iter()
        .flat_map(|r| [r.viewed_at, r.consented_at, r.signed_at])
        .chain([sent_at])
        .flatten()
        .max()
        .map(Timestamp::from_micros);
    let ceremony = Ceremony {
        status,
        order,
        participants,
        expires_at: expires_at.map(Timestamp::from_micros),
        reminders,
        progressed_at,
        stalls,
        scheduled_at: scheduled_at.map(Timestamp::from_micros),
    };
    Ok(Some(Loaded { ceremony, version, recipients }))
}

fn parse_role(text: &str) -> Option<ParticipantRole> {
    ParticipantRole::parse(text)
}

/// Writes `next` over `before` (read at `version`) with `extra`, or [`WriteError::Moved`] when
/// the stored ceremony is no longer at `version`.
pub async fn write(
    conn: &mut AnyConnection,
    id: &str,
    version: i64,
    before: &Ceremony,
    next: &Ceremony,
    extra: &Extra,
    now: Timestamp,
) -> Result<(), WriteError> {
    let now = now.as_micros();
    let moved = sqlx::query("UPDATE documents SET ceremony_version = ceremony_version + 1, updated_at = $1 WHERE id = $2 AND ceremony_version = $3")
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *conn)
        .await?;
    if moved.rows_affected() != 1 {
        return Err(WriteError::Moved);
    }
    if next.stalls != before.stalls {
        sqlx::query("UPDATE documents SET stalls = $1 WHERE id = $2")
            .bind(i64::from(next.stalls))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if next.scheduled_at != before.scheduled_at {
        let (revision, zone) = match extra {
            Extra::Scheduled { revision, time_zone } => (Some(*revision), Some(time_zone.as_str())),
            _ => (None, None),
        };
        // A schedule is made on the draft the sender saw: one saved since is a race lost.
        let done = sqlx::query(
            "UPDATE documents SET scheduled_at = $1, scheduled_zone = $2 \
             WHERE id = $3 AND draft_revision = COALESCE($4, draft_revision)",
        )
        .bind(next.scheduled_at.map(Timestamp::as_micros))
        .bind(zone)
        .bind(id)
        .bind(revision)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(WriteError::Moved);
        }
    }
    if next.status != before.status {
        let finished = next.is_finished().then_some(now);
        let void_reason = match extra {
            Extra::Voided { reason } => Some(reason.as_str()),
            _ => None,
        };
        sqlx::query("UPDATE documents SET status = $1, finished_at = COALESCE($2, finished_at), void_reason = COALESCE($3, void_reason) WHERE id = $4")
            .bind(next.status.as_str())
            .bind(finished)
            .bind(void_reason)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    match extra {
        Extra::Sent { revision, layout_json, layout_sha256, recipients } => {
            let done = sqlx::query(
                "UPDATE documents SET layout_json = $1, layout_sha256 = $2, signing_order = $3, sent_at = $4, expires_at = $5, \
                 reminder_first_after = $8, reminder_every = $9, reminder_max = $10 \
                 WHERE id = $6 AND draft_revision = $7",
            )
            .bind(layout_json)
            .bind(layout_sha256.as_bytes().as_slice())
            .bind(next.order.as_str())
            .bind(now)
            .bind(next.expires_at.map(Timestamp::as_micros))
            .bind(id)
            .bind(revision)
            .bind(i64::try_from(next.reminders.first_after.as_micros()).unwrap_or(i64::MAX))
            .bind(i64::try_from(next.reminders.every.as_micros()).unwrap_or(i64::MAX))
            .bind(i64::from(next.reminders.max))
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() != 1 {
                // Saved again after the sender looked: what they send must be what they saw.
                return Err(WriteError::Moved);
            }
            for (i, (r, p)) in recipients.iter().zip(&next.participants).enumerate() {
                let position = i64::try_from(i + 1).unwrap_or(i64::MAX);
                sqlx::query(
                    "INSERT INTO recipients (document_id, id, position, name, email, otp_required, status, role) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(&r.id)
                .bind(position)
                .bind(&r.name)
                .bind(&r.email)
                .bind(i64::from(r.otp_required))
                .bind(p.status.as_str())
                .bind(p.role.as_str())
                .execute(&mut *conn)
                .await?;
            }
        }
        Extra::Completed { blob, signed_sha256, signed_size } => {
            crate::documents::repo::insert_blob(conn, blob).await?;
            crate::documents::completion::repo::set_signed(conn, id, &blob.key, signed_sha256, *signed_size).await?;
        }
        Extra::Signed { blobs, .. } => {
            for b in blobs {
                crate::documents::repo::insert_blob(conn, b).await?;
            }
        }
        Extra::LinkReplaced { recipient } => {
            sqlx::query("DELETE FROM otp_codes WHERE document_id = $1 AND recipient_id = $2")
                .bind(id)
                .bind(recipient)
                .execute(&mut *conn)
                .await?;
        }
        Extra::Nothing | Extra::Declined { .. } | Extra::Voided { .. } | Extra::Scheduled { .. } => {}
    }
    // Recipients of a document being sent were inserted above, as they are.
    if !matches!(extra, Extra::Sent { .. }) {
        for (p, q) in before.participants.iter().zip(&next.participants) {
            write_participant(conn, id, p, q, extra, now).await?;
        }
    }
    if let Extra::Signed { values, .. } = extra
        && let Some(signer) = before.participants.iter().zip(&next.participants).find(|(p, q)| p.status != q.status)
    {
        for (field, value) in values {
            sqlx::query(
                "INSERT INTO field_values (document_id, field_id, recipient_id, value_json, filled_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(field)
            .bind(&signer.1.id)
            .bind(value)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Writes what changed for one recipient.
async fn write_participant(
    conn: &mut AnyConnection,
    id: &str,
    before: &Participant,
    next: &Participant,
    extra: &Extra,
    now: i64,
) -> Result<(), sqlx::Error> {
    if before == next {
        return Ok(());
    }
    let changed = |a: bool, b: bool| (a != b).then_some(now);
    // The core dates a new link (`Participant::link_issued_at`): the reminders count from it.
    let link_issued = (before.link != next.link).then(|| next.link_issued_at.map_or(now, Timestamp::as_micros));
    let viewed = changed(before.viewed, next.viewed);
    let consented = changed(before.consented, next.consented);
    let signed = (before.status != next.status && next.status == RecipientStatus::Signed).then_some(now);
    let declined = (before.status != next.status && next.status == RecipientStatus::Declined).then_some(now);
    let (signature, initials) = match extra {
        Extra::Signed { signature, initials, .. } if signed.is_some() => (signature.clone(), initials.clone()),
        _ => (None, None),
    };
    let reason = match extra {
        Extra::Declined { reason } if declined.is_some() => Some(reason.as_str()),
        _ => None,
    };
    sqlx::query(
        "UPDATE recipients SET status = $1, token_hash = $2, \
         link_issued_at = COALESCE($3, link_issued_at), viewed_at = COALESCE($4, viewed_at), \
         consented_at = COALESCE($5, consented_at), signed_at = COALESCE($6, signed_at), \
         declined_at = COALESCE($7, declined_at), decline_reason = COALESCE($8, decline_reason), \
         signature_key = COALESCE($9, signature_key), signature_sha256 = COALESCE($10, signature_sha256), \
         initials_key = COALESCE($11, initials_key), initials_sha256 = COALESCE($12, initials_sha256), \
         reminders_sent = $15 WHERE document_id = $13 AND id = $14",
    )
    .bind(next.status.as_str())
    .bind(next.link.map(|h| h.as_bytes().to_vec()))
    .bind(link_issued)
    .bind(viewed)
    .bind(consented)
    .bind(signed)
    .bind(declined)
    .bind(reason)
    .bind(signature.as_ref().map(|s| s.0.clone()))
    .bind(signature.as_ref().map(|s| s.1.as_bytes().to_vec()))
    .bind(initials.as_ref().map(|s| s.0.clone()))
    .bind(initials.as_ref().map(|s| s.1.as_bytes().to_vec()))
    .bind(id)
    .bind(&next.id)
    .bind(i64::from(next.reminders_sent))
    .execute(conn)
    .await?;
    Ok(())
}
