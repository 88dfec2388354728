//! Legal holds (rules in `attesta_core::retention`): an owner or admin places one on a document,
//! with a reason, and no retention purge touches the document until it is released. Placing and
//! releasing are evidence events in the document's chain (`document.legal_hold_placed`,
//! `document.legal_hold_released`), written in the same transaction as the hold's row; the
//! effect re-reads the active hold inside that transaction, so two admins acting at once cannot
//! both succeed.

use super::{DocumentError, Documents, parse_id};
use crate::evidence::{Append, EffectError, EvidenceError};
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::access::Principal;
use attesta_core::evidence::EventType;
use attesta_core::retention::{self, HoldError, LegalHoldDetails};
use sqlx::{AnyConnection, AnyPool};

/// A hold as stored: active while `released_at` is empty.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRow {
    pub id: i64,
    pub document_id: String,
    pub document_title: String,
    pub reason: String,
    pub placed_by: i64,
    pub placed_by_name: String,
    pub placed_at: i64,
    pub released_by: Option<i64>,
    pub released_by_name: Option<String>,
    pub released_at: Option<i64>,
    pub release_reason: Option<String>,
}

const SELECT_HOLDS: &str = "SELECT h.id, h.document_id, d.title AS document_title, h.reason, h.placed_by, \
     p.name AS placed_by_name, h.placed_at, h.released_by, r.name AS released_by_name, h.released_at, h.release_reason \
     FROM legal_holds h JOIN documents d ON d.id = h.document_id JOIN users p ON p.id = h.placed_by \
     LEFT JOIN users r ON r.id = h.released_by";

/// Every hold a document had, newest first.
pub async fn holds_of(pool: &AnyPool, document_id: &str) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_HOLDS} WHERE h.document_id = $1 ORDER BY h.placed_at DESC, h.id DESC"))
        .bind(document_id)
        .fetch_all(pool)
        .await
}

/// The holds in force, oldest first.
pub async fn active_holds(pool: &AnyPool) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_HOLDS} WHERE h.released_at IS NULL ORDER BY h.placed_at, h.id"))
        .fetch_all(pool)
        .await
}

/// Whether `document_id` is on hold, read on the connection of the transaction that is about to
/// purge or hold it.
pub async fn is_held(conn: &mut AnyConnection, document_id: &str) -> Result<bool, sqlx::Error> {
    let held: Option<i64> =
        sqlx::query_scalar("SELECT id FROM legal_holds WHERE document_id = $1 AND released_at IS NULL")
            .bind(document_id)
            .fetch_optional(conn)
            .await?;
    Ok(held.is_some())
}

/// A hold as the pages and the REST API show it.
pub fn dto(h: &HoldRow) -> attesta_app::api::trust::HoldDto {
    attesta_app::api::trust::HoldDto {
        id: h.id,
        document_id: h.document_id.clone(),
        title: h.document_title.clone(),
        reason: h.reason.clone(),
        placed_by: h.placed_by_name.clone(),
        placed_at: h.placed_at,
        released_by: h.released_by_name.clone(),
        released_at: h.released_at,
        release_reason: h.release_reason.clone(),
    }
}

fn refused(e: HoldError) -> DocumentError {
    match e {
        HoldError::Reason(_) => DocumentError::Invalid { field: "reason", message: e.to_string() },
        HoldError::AlreadyHeld | HoldError::NotHeld => DocumentError::Conflict(e.to_string()),
    }
}

impl Documents {
    /// The document's holds, if `principal` may see it.
    pub async fn holds(&self, principal: &Principal, id: &str) -> Result<Vec<HoldRow>, DocumentError> {
        let document = self.visible_to(principal, id).await?;
        Ok(holds_of(&self.inner.pool, &document.id).await?)
    }

    /// Places a legal hold on a document (owners and admins; [`Principal::may_hold`]).
    pub async fn place_hold(
        &self,
        principal: &Principal,
        viewer: &User,
        id: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<HoldRow, DocumentError> {
        self.change_hold(principal, viewer, id, reason, meta, true).await
    }

    /// Releases the document's hold, with the reason it ends.
    pub async fn release_hold(
        &self,
        principal: &Principal,
        viewer: &User,
        id: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<HoldRow, DocumentError> {
        self.change_hold(principal, viewer, id, reason, meta, false).await
    }

    async fn change_hold(
        &self,
        principal: &Principal,
        viewer: &User,
        id: &str,
        reason: &str,
        meta: &RequestMeta,
        place: bool,
    ) -> Result<HoldRow, DocumentError> {
        let document = self.visible_to(principal, id).await?;
        if !principal.may_hold() {
            return Err(DocumentError::Forbidden);
        }
        let active = holds_of(&self.inner.pool, &document.id).await?.iter().any(|h| h.released_at.is_none());
        let reason =
            if place { retention::place_hold(active, reason) } else { retention::release_hold(active, reason) }
                .map_err(refused)?;
        let (event_type, verb) = if place {
            (EventType::DocumentLegalHoldPlaced, "placing")
        } else {
            (EventType::DocumentLegalHoldReleased, "releasing")
        };
        let details = serde_json::to_value(LegalHoldDetails { reason: reason.clone() })
            .map_err(|e| DocumentError::Internal(e.into()))?;
        let event = self
            .new_event(event_type, viewer, meta, document.sha256, None, details)
            .map_err(DocumentError::Internal)?;
        let (doc_id, by, now) = (document.id.clone(), viewer.id.0, self.inner.clock.now().as_micros());
        let append = Append::event(parse_id(id)?, event, self.personal(viewer, meta)).with_effect(Box::new(
            move |conn| {
                Box::pin(async move {
                    // Decided again inside the transaction: the check above read before it.
                    let active = is_held(conn, &doc_id).await?;
                    let rule = if place { retention::place_hold(active, reason.as_str()) } else {
                        retention::release_hold(active, reason.as_str())
                    };
                    rule.map_err(|e| EffectError::Refused(e.to_string()))?;
                    if place {
                        sqlx::query(
                            "INSERT INTO legal_holds (document_id, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(&doc_id)
                        .bind(reason.as_str())
                        .bind(by)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    } else {
                        sqlx::query(
                            "UPDATE legal_holds SET released_by = $2, released_at = $3, release_reason = $4 \
                             WHERE document_id = $1 AND released_at IS NULL",
                        )
                        .bind(&doc_id)
                        .bind(by)
                        .bind(now)
                        .bind(reason.as_str())
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                })
            },
        ));
        match self.inner.evidence.append(append).await {
            Ok(_) => {}
            Err(EvidenceError::Refused(why)) => return Err(DocumentError::Conflict(why)),
            Err(e) => return Err(DocumentError::Internal(anyhow::anyhow!("{verb} the legal hold: {e}"))),
        }
        tracing::info!(document_id = %document.id, place, "legal hold changed");
        let holds = holds_of(&self.inner.pool, &document.id).await?;
        holds.into_iter().next().ok_or_else(|| DocumentError::Internal(anyhow::anyhow!("the hold was not stored")))
    }
}
