//! Completion: what happens once every signer has signed, in three steps, each recorded once.
//!
//! 1. **Signed file** (`document.completed`): every field value is drawn into the PDF at its
//!    place (signature and initials images, text, dates, ticks) as an incremental update of the
//!    original, stored encrypted; the event carries its hash and length.
//! 2. **Sealed file** (`document.sealed`): certificate-of-completion pages are appended (the
//!    whole chain up to the completion, the checkpoint covering it, a QR code to `/verify`), the
//!    evidence package is attached, and the whole file is sealed with a PAdES signature (B-B,
//!    or B-T with a timestamp authority). The event carries the sealed file's hash.
//! 3. **Every party holds the proof**: the sender and every signer get the sealed PDF and the
//!    evidence package by mail, with the checkpoint that covers the seal.
//!
//! Each step is safe to retry: its event's effect refuses when the step is already recorded,
//! so a crash or a second worker never gives a duplicate event or a half-sealed document (at
//! worst an unreferenced encrypted object). Mail is sent at least once. The steps run in a durable
//! job (`ceremony.advance` after the last signature, `document.complete` on retries and from
//! the recurring completion sweep), so a stopped process or a failed step is taken up again.
//!
//! Because every step appends to the file, the original upload and the signed document are
//! byte-exact prefixes of the sealed file: their lengths are in the events, so a verifier cuts
//! the sealed file there and compares hashes.

pub mod certificate;
mod pdf_update;
pub mod render;
pub(in crate::documents) mod repo;
mod stamps;

pub use certificate::package_file_name;

use super::signing::SigningError;
use super::{DocumentError, Documents, StoredDocument};
use crate::evidence::{Append, EffectError, EvidenceError};
use crate::mail::{Attachment as MailAttachment, templates};
use attesta_core::documents::{DocumentId, DocumentStatus};
use attesta_core::evidence::{EventType, PersonalData, Sha256};
use attesta_core::signing::Draft;
use serde_json::json;

/// Where a document stands after completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletionState {
    pub signed_sha256: Option<Sha256>,
    pub signed_size: Option<u64>,
    pub signed_blob_key: Option<String>,
    pub sealed_sha256: Option<Sha256>,
    pub sealed_size: Option<u64>,
    pub sealed_blob_key: Option<String>,
    pub sealed_at: Option<i64>,
    pub mailed_at: Option<i64>,
    pub error: Option<String>,
}

impl CompletionState {
    /// The document's current file, which events after the upload name: the sealed PDF once
    /// sealed, else the signed document once completed, else `original`.
    pub fn current_file(&self, original: Sha256) -> Sha256 {
        self.sealed_sha256.or(self.signed_sha256).unwrap_or(original)
    }
}

fn internal(e: impl std::fmt::Display) -> SigningError {
    SigningError::Document(DocumentError::Internal(anyhow::anyhow!("{e}")))
}

impl Documents {
    /// Runs whatever completion work `id` still needs (the `document.complete` job). A failure
    /// is recorded on the document for the sender and returned, so the job tries again later.
    pub async fn complete_now(&self, id: &str) -> Result<(), SigningError> {
        let result = self.complete_steps(id).await;
        if let Err(e) = &result {
            let _ = repo::record_error(&self.inner.pool, id, &e.to_string()).await;
        }
        result
    }

    /// Queues a `document.complete` job for every document that needs completion work (the
    /// recurring safety net: documents from before jobs existed, and ones whose job gave up).
    /// A document with such a job waiting is not queued twice.
    pub async fn queue_pending_completions(&self) -> Result<usize, sqlx::Error> {
        let ids = repo::pending(&self.inner.pool).await?;
        let now = self.inner.clock.now();
        let mut queued = 0;
        let kind = attesta_core::jobs::JobKind::DocumentComplete;
        for id in &ids {
            let crate::store::db::Flag(busy) = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND subject = $2 AND state IN ('queued', 'running'))",
            )
            .bind(kind.as_str())
            .bind(id)
            .fetch_one(&self.inner.pool)
            .await?;
            if busy {
                continue;
            }
            let job = attesta_core::jobs::NewJob::about(kind, id.as_str(), now);
            if crate::jobs::store::enqueue_now(&self.inner.pool, &job, now).await? {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// The completion columns of a document.
    pub async fn completion(&self, id: &str) -> Result<CompletionState, DocumentError> {
        Ok(repo::state(&self.inner.pool, id).await?)
    }

    async fn complete_steps(&self, id: &str) -> Result<(), SigningError> {
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let mut state = repo::state(&self.inner.pool, id).await?;
        if document.status == DocumentStatus::Sent {
            if !self.record_completion(&document).await? {
                return Ok(());
            }
            state = repo::state(&self.inner.pool, id).await?;
        }
        if document.status != DocumentStatus::Sent && document.status != DocumentStatus::Completed {
            return Ok(());
        }
        if state.sealed_at.is_none() {
            self.seal_document(&document, &state).await?;
            // The failure that held the seal up is over, whatever the mail does next.
            repo::record_error(&self.inner.pool, id, "").await?;
            state = repo::state(&self.inner.pool, id).await?;
        }
        if state.sealed_at.is_some() && state.mailed_at.is_none() {
            self.send_completion_mail(&document, &state).await?;
        }
        repo::record_error(&self.inner.pool, id, "").await?;
        Ok(())
    }

    // ---- step 1: the signed file --------------------------------------------------------

    /// Draws the field values into the PDF and appends `document.completed` with it, when every
    /// signer signed. Returns whether the document is (now) completed.
    async fn record_completion(&self, document: &StoredDocument) -> Result<bool, SigningError> {
        let Some(loaded) = super::signing::transition::load(&self.inner.pool, &document.id).await? else {
            return Ok(false);
        };
        // The core decides again when it is written; this only spares drawing a file for nothing.
        if !loaded.ceremony.everyone_acted() {
            return Ok(false);
        }
        let original = self.read_blob(document.blob_key.as_deref().ok_or(DocumentError::NotFound)?).await?;
        let signed = self.flatten(document, original).await?;
        let (blob, sha) = self.store_bytes(&signed, "application/pdf").await.map_err(internal)?;
        let details = attesta_core::ceremony::details::Completed {
            signers: loaded.ceremony.participants.iter().filter(|p| p.role.fills_fields()).count(),
            original_sha256: document.sha256,
            original_size: document.size,
            signed_size: signed.len() as u64,
            // The certificate that will seal it: what ties the seal to the log (EVIDENCE.md §11.1).
            seal_certificate_sha256: self.inner.sealer.certificate_sha256(),
        };
        let extra = super::signing::transition::Extra::Completed {
            blob: blob.clone(),
            signed_sha256: sha,
            signed_size: i64::try_from(signed.len()).unwrap_or(i64::MAX),
        };
        match self.complete_ceremony(&document.id, sha, details, extra).await {
            Ok(()) => {
                tracing::info!(document_id = %document.id, signed_sha256 = %sha, "document completed");
                Ok(true)
            }
            // Two last signatures at once, or two workers: the other one completed it.
            Err(SigningError::Refused(_)) => {
                self.forget_blob(&blob.key).await;
                Ok(true)
            }
            Err(e) => {
                self.forget_blob(&blob.key).await;
                Err(e)
            }
        }
    }

    /// The original with every field value drawn in, as one incremental update.
    async fn flatten(&self, document: &StoredDocument, original: Vec<u8>) -> Result<Vec<u8>, SigningError> {
        let row = super::signing::repo::draft(&self.inner.pool, &document.id).await?.ok_or(DocumentError::NotFound)?;
        let layout: Draft =
            serde_json::from_str(row.layout_json.as_deref().ok_or_else(|| internal("completed without a layout"))?)
                .map_err(internal)?;
        let pages = self.pages(document).await?;
        let values = repo::values(&self.inner.pool, &document.id).await?;
        let images = repo::images(&self.inner.pool, &document.id).await?;
        let mut pngs = std::collections::BTreeMap::new();
        for (recipient, kind, key) in images {
            pngs.insert((recipient, kind), self.read_blob(&key).await?);
        }
        tokio::task::spawn_blocking(move || render::signed_pdf(&original, &layout, &pages, &values, &pngs))
            .await
            .map_err(internal)?
            .map_err(|e| internal(format!("drawing the signatures into the PDF: {e}")))
    }

    // ---- step 2: the sealed file --------------------------------------------------------

    async fn seal_document(&self, document: &StoredDocument, state: &CompletionState) -> Result<(), SigningError> {
        let signed_key = state.signed_blob_key.as_deref().ok_or_else(|| internal("completed without a signed file"))?;
        let signed = self.read_blob(signed_key).await?;
        let doc_id = parse_id(&document.id)?;
        let now = self.inner.clock.now();
        // A checkpoint covering `document.completed` is made on demand if the last one does not.
        let mut package = self.inner.evidence.package(&doc_id, now.as_micros()).await.map_err(internal)?;
        if self.name_seal_certificate(document, &package, signed_key).await? {
            package = self.inner.evidence.package(&doc_id, now.as_micros()).await.map_err(internal)?;
        }
        // Each signer's signature is shown beside their row in the certificate.
        let mut signatures = std::collections::BTreeMap::new();
        for (recipient, kind, key) in repo::images(&self.inner.pool, &document.id).await? {
            if kind == "signature" {
                signatures.insert(recipient, self.read_blob(&key).await?);
            }
        }
        let recipients = super::signing::repo::recipients(&self.inner.pool, &document.id)
            .await?
            .into_iter()
            .map(|r| certificate::RecipientLine {
                signature_png: signatures.remove(&r.id),
                id: r.id,
                position: i64::from(r.position),
                name: r.name,
                email: r.email,
                signed_at: r.signed_at,
                role: attesta_core::ceremony::ParticipantRole::parse(&r.role).unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        let pages = self.pages(document).await?;
        let verify_url = self.verify_url(&document.id);
        let sealer = self.inner.sealer.clone();
        let seal_subject = sealer.subject();
        let title = document.title.clone();
        let (original_size, signed_size) = (document.size, state.signed_size.unwrap_or(signed.len() as u64));
        let package_name = package_file_name(&document.id);
        let modified = pdf_date(now.as_micros());
        let (unsealed, certificate_pages) = tokio::task::spawn_blocking(move || {
            let cert = certificate::Certificate {
                title: &title,
                package: &package,
                recipients: &recipients,
                original_size,
                flattened_size: signed_size,
                seal_subject: &seal_subject,
                verify_url: &verify_url,
                page_size: render::paper_like(pages.last()),
            };
            render::certified_pdf(&signed, &cert, pages.len(), &package_name, &modified)
        })
        .await
        .map_err(internal)?
        .map_err(|e| internal(format!("adding the certificate of completion: {e}")))?;

        let sealed = self.inner.sealer.seal(unsealed, now).await.map_err(|e| internal(format!("sealing: {e}")))?;
        let (blob, sha) = self.store_bytes(&sealed.bytes, "application/pdf").await.map_err(internal)?;
        let details = json!({
            "signed_sha256": state.signed_sha256.map(|s| s.to_hex()),
            "sealed_size": sealed.bytes.len(),
            "certificate_pages": certificate_pages,
            "seal_certificate_sha256": self.inner.sealer.certificate_sha256().to_hex(),
            "level": if sealed.timestamp.is_some() { "PAdES-B-T" } else { "PAdES-B-B" },
            "timestamp": sealed.timestamp.map(|t| t.as_micros()),
        });
        let event = self.system_event_for(EventType::DocumentSealed, sha, details)?;
        let (id, row, size, at) = (document.id.clone(), blob.clone(), sealed.bytes.len() as i64, now.as_micros());
        let append = Append::event(doc_id, event, PersonalData::none()).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                super::repo::insert_blob(conn, &row).await?;
                if !repo::set_sealed(conn, &id, &row.key, &sha, size, at).await? {
                    return Err(EffectError::Refused("already sealed".to_owned()));
                }
                Ok(())
            })
        }));
        match self.inner.evidence.append(append).await {
            Ok(_) => {
                tracing::info!(document_id = %document.id, sealed_sha256 = %sha, "document sealed");
                Ok(())
            }
            Err(EvidenceError::Refused(_)) => {
                self.forget_blob(&blob.key).await;
                Ok(())
            }
            Err(e) => {
                self.forget_blob(&blob.key).await;
                Err(internal(e))
            }
        }
    }

    /// The attached package must name the certificate that seals the file. `document.completed`
    /// named the one of its day; when the instance's seal certificate changed since (renewed,
    /// replaced) or the document completed before completion named one, this appends
    /// `document.seal_certificate` naming the current one. Returns whether it appended.
    async fn name_seal_certificate(
        &self,
        document: &StoredDocument,
        package: &attesta_core::evidence::EvidencePackage,
        signed_key: &str,
    ) -> Result<bool, SigningError> {
        let current = self.inner.sealer.certificate_sha256();
        let named = attesta_core::evidence::sealed::named_seal_certificate(package).map(|(sha, _, _)| sha);
        if named == Some(current) {
            return Ok(false);
        }
        let last = package.events.last().ok_or_else(|| internal("a completed document without events"))?;
        let details = json!({
            "seal_certificate_sha256": current.to_hex(),
            "replaces": named.map(|s| s.to_hex()),
        });
        let event = self.system_event_for(EventType::DocumentSealCertificate, *last.record.file_sha256(), details)?;
        tracing::info!(document_id = %document.id, signed_blob = signed_key, "the seal certificate changed since completion");
        self.inner
            .evidence
            .append(Append::event(parse_id(&document.id)?, event, PersonalData::none()))
            .await
            .map_err(internal)?;
        Ok(true)
    }

    // ---- step 3: every party holds the proof --------------------------------------------

    async fn send_completion_mail(
        &self,
        document: &StoredDocument,
        state: &CompletionState,
    ) -> Result<(), SigningError> {
        let sealed_key = state.sealed_blob_key.as_deref().ok_or_else(|| internal("sealed without a file"))?;
        let sealed = self.read_blob(sealed_key).await?;
        let doc_id = parse_id(&document.id)?;
        let package =
            self.inner.evidence.package(&doc_id, self.inner.clock.now().as_micros()).await.map_err(internal)?;
        let attachments = vec![
            MailAttachment {
                file_name: sealed_file_name(&document.title),
                content_type: "application/pdf".to_owned(),
                bytes: sealed,
            },
            MailAttachment {
                file_name: package_file_name(&document.id),
                content_type: "application/json".to_owned(),
                bytes: package.to_json().into_bytes(),
            },
        ];
        // Claimed before sending, so two workers never both mail everyone.
        if !repo::claim_mailing(&self.inner.pool, &document.id, self.inner.clock.now().as_micros()).await? {
            return Ok(());
        }
        let (owner_name, owner_email) = self.owner_contact(document).await?;
        let recipients = super::signing::repo::recipients(&self.inner.pool, &document.id).await?;
        let mut parties =
            vec![(owner_name, owner_email, Some(format!("{}/documents/{}", self.inner.public_origin, document.id)))];
        parties.extend(recipients.iter().map(|r| (r.name.clone(), r.email.clone(), None)));
        let total = parties.len();
        let mut failures = Vec::new();
        for (name, email, link) in parties {
            let mail = templates::completed_notice(templates::CompletedNotice {
                to_name: name,
                to_email: email.clone(),
                document_title: document.title.clone(),
                link,
                verify_url: format!("{}/verify", self.inner.public_origin),
                checkpoint: package.log.checkpoint.clone(),
                attachments: attachments.clone(),
            });
            if let Err(e) = self.inner.mailer.send(mail).await {
                tracing::warn!(document_id = %document.id, error = %e, "completion mail not delivered");
                failures.push(format!("{email}: {e}"));
            }
        }
        if failures.len() == total {
            // Nobody got it (the mail server is down): the next run tries everyone again.
            repo::release_mailing(&self.inner.pool, &document.id).await?;
        }
        if !failures.is_empty() {
            return Err(internal(format!("completion mail not delivered to {}", failures.join("; "))));
        }
        Ok(())
    }

    // ---- helpers ------------------------------------------------------------------------

    /// `https://host/verify#document=<id>`: the fragment never reaches a server.
    fn verify_url(&self, id: &str) -> String {
        format!("{}/verify#document={id}", self.inner.public_origin)
    }

    fn system_event_for(
        &self,
        t: EventType,
        file: Sha256,
        details: serde_json::Value,
    ) -> Result<attesta_core::evidence::NewEvent, SigningError> {
        let actor = attesta_core::evidence::Actor::system();
        self.event_by(t, actor, file, None, details).map_err(internal)
    }

    /// Deletes an object whose row was never committed (a refused or failed step).
    async fn forget_blob(&self, key: &str) {
        if let Ok(key) = crate::blob::BlobKey::parse(key)
            && let Err(e) = self.inner.blobs.delete(&key).await
        {
            tracing::warn!(blob = %key, error = %e, "could not remove an unused object");
        }
    }
}

fn parse_id(id: &str) -> Result<DocumentId, SigningError> {
    super::parse_id(id).map_err(SigningError::Document)
}

/// `D:YYYYMMDDHHmmSSZ` for UTC microseconds.
pub fn pdf_date(micros: i64) -> String {
    let text = attesta_app::format::time(micros); // 2026-11-22 10:45:12 UTC
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    format!("D:{digits}Z")
}

/// The sealed file's name in mail and downloads: the title made safe, then "signed".
pub fn sealed_file_name(title: &str) -> String {
    let safe: String = title
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' || c == ' ' { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let safe: String = safe.chars().take(80).collect();
    if safe.is_empty() { "document (signed).pdf".to_owned() } else { format!("{safe} (signed).pdf") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(sealed_file_name("Lease / 2026: \"Flat\"\n"), "Lease 2026 Flat (signed).pdf");
        assert_eq!(sealed_file_name("../../"), "document (signed).pdf");
    }

    #[test]
    fn pdf_dates_are_utc() {
        assert_eq!(pdf_date(0), "D:19700101000000Z");
        assert_eq!(pdf_date(1_795_000_000_000_000), "D:20261118110640Z");
    }
}
