//! From committed audit events to messages: the transactional outbox.
//!
//! The cursor names the first audit log index not yet considered. A pass reads the committed
//! events past it, inserts a message for each enabled endpoint of the document's owner
//! subscribed to the event's type, then moves the cursor past them. Log indexes are assigned
//! under the database's write lock in commit order, so a row past the cursor is committed and no
//! lower index can appear later: nothing is skipped, and an event whose transaction rolled back
//! was never there to be read.
//!
//! The pass is idempotent rather than locked: messages are keyed by (endpoint, log index) and
//! inserted with `ON CONFLICT DO NOTHING`, and the cursor only moves forward. A crash between the
//! inserts and the cursor's move, or two processes passing over the same events at once, makes
//! no duplicate. Each write is a single statement, so no write lock is ever held across an
//! `await` (a stalled task holding one would stop every other process's appends).

use super::new_message_id;
use crate::store::db::Sql;
use attesta_core::evidence::{EventRecord, Sha256};
use attesta_core::webhooks::{DocumentHashes, Payload, Subscription, WebhookEventType};
use sqlx::AnyPool;

/// Events considered in one pass at most.
const BATCH: i64 = 256;
/// Messages inserted by one statement at most (7 parameters each, well under SQLite's limit).
const INSERT_ROWS: usize = 500;

struct NewMessage {
    endpoint_id: String,
    event_type: WebhookEventType,
    log_index: i64,
    body: String,
}

/// Turns the next batch of committed events into messages; how many events it considered
/// (0 when the cursor is at the end of the log).
pub async fn pass(pool: &AnyPool, ports: &crate::Ports) -> anyhow::Result<usize> {
    let cursor: i64 =
        sqlx::query_scalar("SELECT next_log_index FROM webhook_cursor WHERE id = 1").fetch_one(pool).await?;
    let events: Vec<(i64, String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT log_index, document_id, record, event_hash FROM audit_events \
         WHERE log_index >= $1 ORDER BY log_index LIMIT $2",
    )
    .bind(cursor)
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    let Some(last) = events.last().map(|e| e.0) else { return Ok(0) };
    let mut messages = Vec::new();
    for (log_index, document_id, record, hash) in &events {
        let record: EventRecord = serde_json::from_str(record)?;
        let Some(event_type) = WebhookEventType::from_audit(record.event_type()) else { continue };
        if event_type == WebhookEventType::SelfVerificationFailed {
            // An instance act, not a document's: every owner's and admin's endpoints hear it.
            if document_id != attesta_core::evidence::INSTANCE_CHAIN_ID {
                continue;
            }
            let hash = Sha256::from_slice(hash).map_err(|e| anyhow::anyhow!("event {log_index}: {e}"))?;
            let Some(payload) = Payload::for_instance_event(&record, u64::try_from(*log_index)?, &hash) else {
                continue;
            };
            let body = payload.to_body();
            let endpoints: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT e.id, e.event_types, u.role FROM webhook_endpoints e JOIN users u ON u.id = e.owner_id \
                 WHERE e.enabled = 1 AND u.disabled = 0",
            )
            .fetch_all(pool)
            .await?;
            let administering = endpoints
                .into_iter()
                .filter(|(_, _, role)| attesta_core::Role::parse(role).is_ok_and(|r| r.can_administer()))
                .map(|(id, types, _)| (id, types));
            messages.extend(subscribed(administering, event_type, *log_index, &body));
            continue;
        }
        let Some((owner, document)) = document(pool, document_id).await? else { continue };
        let hash = Sha256::from_slice(hash).map_err(|e| anyhow::anyhow!("event {log_index}: {e}"))?;
        let Some(payload) = Payload::for_event(&record, u64::try_from(*log_index)?, &hash, &document) else {
            continue;
        };
        let body = payload.to_body();
        let endpoints: Vec<(String, String)> =
            sqlx::query_as("SELECT id, event_types FROM webhook_endpoints WHERE owner_id = $1 AND enabled = 1")
                .bind(owner)
                .fetch_all(pool)
                .await?;
        messages.extend(subscribed(endpoints, event_type, *log_index, &body));
    }
    let at = ports.clock.now().as_micros();
    for chunk in messages.chunks(INSERT_ROWS) {
        let mut insert = Sql::new(
            "INSERT INTO webhook_messages \
             (id, endpoint_id, event_type, log_index, payload, created_at, next_attempt_at) VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            insert.push(if i == 0 { "(" } else { ", (" });
            insert.push_bind(new_message_id(&*ports.entropy).to_string()).push(", ");
            insert.push_bind(m.endpoint_id.as_str()).push(", ").push_bind(m.event_type.as_str()).push(", ");
            insert.push_bind(m.log_index).push(", ").push_bind(m.body.as_str()).push(", ");
            insert.push_bind(at).push(", ").push_bind(at).push(")");
        }
        insert.push(" ON CONFLICT DO NOTHING");
        insert.query().execute(pool).await?;
    }
    sqlx::query(
        "UPDATE webhook_cursor SET next_log_index = CASE WHEN next_log_index > $1 THEN next_log_index ELSE $1 END \
         WHERE id = 1",
    )
    .bind(last + 1)
    .execute(pool)
    .await?;
    Ok(events.len())
}

/// A message for each of `endpoints` (id, subscribed types as stored) that subscribed to
/// `event_type`.
fn subscribed(
    endpoints: impl IntoIterator<Item = (String, String)>,
    event_type: WebhookEventType,
    log_index: i64,
    body: &str,
) -> impl Iterator<Item = NewMessage> {
    endpoints.into_iter().filter_map(move |(endpoint_id, types)| {
        let names: Vec<String> = serde_json::from_str(&types).unwrap_or_default();
        Subscription::parse(&names).is_ok_and(|s| s.matches(event_type)).then(|| NewMessage {
            endpoint_id,
            event_type,
            log_index,
            body: body.to_owned(),
        })
    })
}

type DocumentRow = (i64, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>, String);

/// The document's owner and its hashes and status now.
async fn document(pool: &AnyPool, id: &str) -> anyhow::Result<Option<(i64, DocumentHashes)>> {
    let row: Option<DocumentRow> =
        sqlx::query_as("SELECT owner_id, sha256, signed_sha256, sealed_sha256, status FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some((owner, original, signed, sealed, status)) = row else { return Ok(None) };
    let hash = |bytes: &[u8]| Sha256::from_slice(bytes).map_err(|e| anyhow::anyhow!("document {id}: {e}"));
    Ok(Some((
        owner,
        DocumentHashes {
            original_sha256: hash(&original)?,
            signed_sha256: signed.as_deref().map(hash).transpose()?,
            sealed_sha256: sealed.as_deref().map(hash).transpose()?,
            status,
        },
    )))
}
