//! What a retention run does to one chain or one draft, each as an evidence event of the server
//! (`system:attesta`) written in the same transaction as the deletion it records, and refused
//! inside that transaction when a legal hold is on the document (placing a hold goes through the
//! same sequencer, so a hold and a purge of one document never interleave).
//!
//! The rules (which windows, what is eligible) are `attesta_core::retention`'s; the candidates
//! are found by `crate::retention`.

use super::{Documents, repo};
use crate::blob::BlobKey;
use crate::documents::holds::is_held;
use crate::evidence::{Append, EffectError, EvidenceError};
use attesta_core::documents::DocumentId;
use attesta_core::evidence::instance::{instance_chain_id, no_file_sha256};
use attesta_core::evidence::{Actor, EventType, PersonalData, Sha256};
use attesta_core::retention::{DocumentFilesPurged, PersonalDataPurged, PolicyRef, PurgedFile};

/// What became of one purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purged {
    /// Done: this many records went.
    Done(u64),
    /// The document is on legal hold: nothing was touched.
    Held,
    /// Nothing (left) to purge, or the records changed meanwhile: the next run looks again.
    Nothing,
}

/// Why a refused effect was refused (the sequencer hands the text back).
const HELD: &str = "on legal hold";
const NOTHING: &str = "nothing to purge";

impl Documents {
    /// Deletes the personal data (and salts) of every event of chain `chain` that occurred
    /// before `before`, recording `retention.personal_data_purged` in that chain. `expected` is
    /// how many such records were counted: the event states it, and the deletion must match it.
    pub async fn purge_personal_data(
        &self,
        chain: &str,
        before: i64,
        expected: u64,
        policy: PolicyRef,
    ) -> Result<Purged, anyhow::Error> {
        let chain_id = DocumentId::parse(chain).map_err(|e| anyhow::anyhow!("chain {chain}: {e}"))?;
        let instance = chain_id == instance_chain_id();
        let file_sha256 = if instance {
            no_file_sha256()
        } else {
            match repo::find(&self.inner.pool, chain).await? {
                Some(document) => document.sha256,
                // Events of a document whose row is gone (none today): the chain's first file.
                None => first_file(&self.inner.pool, chain).await?,
            }
        };
        let details = serde_json::to_value(PersonalDataPurged { policy, before, events: expected })?;
        let event =
            self.event_by(EventType::RetentionPersonalDataPurged, Actor::system(), file_sha256, None, details)?;
        let id = chain.to_owned();
        let append = Append::event(chain_id, event, PersonalData::none()).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                if !instance && is_held(conn, &id).await? {
                    return Err(EffectError::Refused(HELD.to_owned()));
                }
                let done = sqlx::query(
                    "DELETE FROM audit_personal WHERE log_index IN \
                     (SELECT log_index FROM audit_events WHERE document_id = $1 AND occurred_at < $2)",
                )
                .bind(&id)
                .bind(before)
                .execute(&mut *conn)
                .await?;
                // Rolled back unless it is exactly what the event says was purged.
                if done.rows_affected() != expected || expected == 0 {
                    return Err(EffectError::Refused(NOTHING.to_owned()));
                }
                Ok(())
            })
        }));
        self.finish_purge(append, expected).await
    }

    /// Deletes a draft nobody sent, as its owner would (`document.deleted`, by the server, with
    /// the retention rule in its details); its file goes after the commit.
    pub async fn purge_draft(&self, id: &str, policy: PolicyRef) -> Result<Purged, anyhow::Error> {
        let Some(document) = repo::find(&self.inner.pool, id).await? else { return Ok(Purged::Nothing) };
        let chain_id = DocumentId::parse(id).map_err(|e| anyhow::anyhow!("document {id}: {e}"))?;
        let details = serde_json::json!({ "title": document.title, "retention": policy });
        let event = self.event_by(EventType::DocumentDeleted, Actor::system(), document.sha256, None, details)?;
        let (doc_id, blob_key) = (document.id.clone(), document.blob_key.clone());
        let now = self.inner.clock.now().as_micros();
        let append = Append::event(chain_id, event, PersonalData::none()).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                if is_held(conn, &doc_id).await? {
                    return Err(EffectError::Refused(HELD.to_owned()));
                }
                // Sent meanwhile: no longer a draft, nothing to purge.
                if !repo::mark_deleted(conn, &doc_id, now).await? {
                    return Err(EffectError::Refused(NOTHING.to_owned()));
                }
                if let Some(key) = &blob_key {
                    repo::delete_blob_row(conn, key).await?;
                }
                Ok(())
            })
        }));
        let purged = self.finish_purge(append, 1).await?;
        if purged == Purged::Done(1)
            && let Some(key) = document.blob_key.as_deref().and_then(|k| BlobKey::parse(k).ok())
            && let Err(e) = self.inner.blobs.delete(&key).await
        {
            // The row is gone, so the file is unreadable garbage; the orphan sweep retries.
            tracing::error!(blob = %key, error = %e, "could not remove a purged draft's file");
        }
        Ok(purged)
    }

    /// Deletes a finished document's files (original, signed, sealed) and its signers' images,
    /// recording `retention.document_files_purged` with the hashes the evidence already names.
    /// The rows go in the event's transaction (refused there when a hold is on the document);
    /// the stored objects after the commit.
    pub async fn purge_files(&self, id: &str, policy: PolicyRef) -> Result<Purged, anyhow::Error> {
        let Some(document) = repo::find(&self.inner.pool, id).await? else { return Ok(Purged::Nothing) };
        if document.files_purged_at.is_some() {
            return Ok(Purged::Nothing);
        }
        let chain_id = DocumentId::parse(id).map_err(|e| anyhow::anyhow!("document {id}: {e}"))?;
        let state = self.completion(id).await.map_err(|e| anyhow::anyhow!("document {id}: {e}"))?;
        let mut files = Vec::new();
        let mut keys = Vec::new();
        if let Some(key) = &document.blob_key {
            files.push(PurgedFile { file: "original".to_owned(), sha256: document.sha256.to_hex() });
            keys.push(key.clone());
        }
        if let (Some(key), Some(sha)) = (&state.signed_blob_key, state.signed_sha256) {
            files.push(PurgedFile { file: "signed".to_owned(), sha256: sha.to_hex() });
            keys.push(key.clone());
        }
        if let (Some(key), Some(sha)) = (&state.sealed_blob_key, state.sealed_sha256) {
            files.push(PurgedFile { file: "sealed".to_owned(), sha256: sha.to_hex() });
            keys.push(key.clone());
        }
        let images = repo::image_keys(&self.inner.pool, id).await?;
        let image_count = u64::try_from(images.len()).unwrap_or(u64::MAX);
        keys.extend(images);
        // The event names the document's current file, as every event after the seal does.
        let current = state.current_file(document.sha256);
        let details = serde_json::to_value(DocumentFilesPurged { policy, files, images: image_count })?;
        let event = self.event_by(EventType::RetentionDocumentFilesPurged, Actor::system(), current, None, details)?;
        let doc_id = document.id.clone();
        let rows = keys.clone();
        let now = self.inner.clock.now().as_micros();
        let append = Append::event(chain_id, event, PersonalData::none()).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                if is_held(conn, &doc_id).await? {
                    return Err(EffectError::Refused(HELD.to_owned()));
                }
                if !repo::mark_files_purged(conn, &doc_id, now).await? {
                    return Err(EffectError::Refused(NOTHING.to_owned()));
                }
                for key in &rows {
                    // Its re-hash record goes with the next self-verification.
                    repo::delete_blob_row(conn, key).await?;
                }
                Ok(())
            })
        }));
        let purged = self.finish_purge(append, 1).await?;
        if purged == Purged::Done(1) {
            for key in keys.iter().filter_map(|k| BlobKey::parse(k).ok()) {
                if let Err(e) = self.inner.blobs.delete(&key).await {
                    // Its row is gone, so the object is unreadable garbage; the orphan sweep
                    // removes it later.
                    tracing::error!(blob = %key, error = %e, "could not remove a purged document's file");
                }
            }
        }
        Ok(purged)
    }

    async fn finish_purge(&self, append: Append, count: u64) -> Result<Purged, anyhow::Error> {
        match self.inner.evidence.append(append).await {
            Ok(_) => Ok(Purged::Done(count)),
            Err(EvidenceError::Refused(why)) if why == HELD => Ok(Purged::Held),
            Err(EvidenceError::Refused(why)) if why == NOTHING => Ok(Purged::Nothing),
            Err(e) => Err(anyhow::anyhow!("recording the purge: {e}")),
        }
    }
}

/// The file of a chain's first event.
async fn first_file(pool: &sqlx::AnyPool, chain: &str) -> Result<Sha256, anyhow::Error> {
    let record: String =
        sqlx::query_scalar("SELECT record FROM audit_events WHERE document_id = $1 ORDER BY seq LIMIT 1")
            .bind(chain)
            .fetch_one(pool)
            .await?;
    let record: attesta_core::evidence::EventRecord = serde_json::from_str(&record)?;
    Ok(*record.file_sha256())
}
