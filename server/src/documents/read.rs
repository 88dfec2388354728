//! Reading documents back: the decrypted file as a stream, the audit timeline, and verification.

use super::{DocumentError, Documents, StoredDocument, repo};
use crate::blob::{BlobKey, BlobStream};
use crate::evidence::EvidenceError;
use attesta_app::api::documents::{CheckResult, TimelineEntry, VerifyOutcome};
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::documents::DocumentId;
use attesta_core::evidence::{
    ActorKind, EventType, EvidencePackage, FileHasher, Geolocation, Sha256, Status, verify_checkpoint, verify_package,
};
use attesta_core::storage::envelope::{DataKey, Decryptor, WrappedKey};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::json;

/// A document's file, ready to send.
pub struct OpenedFile {
    pub document: StoredDocument,
    pub stream: BlobStream,
    pub size: u64,
    pub sha256: Sha256,
    /// The name to save it under.
    pub file_name: String,
}

/// Which of a document's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The file as uploaded.
    Original,
    /// The sealed PDF, once the signing is complete.
    Sealed,
}

impl Documents {
    /// Opens one of the document's files for `viewer`, after appending `document.viewed` (shown
    /// in the browser) or `document.downloaded` (saved as a file): the evidence comes first.
    pub async fn open_file(
        &self,
        viewer: &User,
        id: &str,
        kind: FileKind,
        download: bool,
        meta: &RequestMeta,
    ) -> Result<OpenedFile, DocumentError> {
        let document = self.visible(viewer, id).await?;
        if let Some(at) = document.files_purged_at {
            return Err(DocumentError::Gone(files_purged_message(at)));
        }
        let state = self.completion(id).await?;
        let (stream, size, sha256, file_name) = match kind {
            FileKind::Original => {
                (self.decrypted(&document).await?, document.size, document.sha256, format!("{}.pdf", document.title))
            }
            FileKind::Sealed => {
                let (Some(key), Some(size), Some(sha)) =
                    (state.sealed_blob_key.as_deref(), state.sealed_size, state.sealed_sha256)
                else {
                    return Err(DocumentError::NotFound);
                };
                (self.decrypted_blob(key).await?, size, sha, super::completion::sealed_file_name(&document.title))
            }
        };
        let event_type = if download { EventType::DocumentDownloaded } else { EventType::DocumentViewed };
        let which = if kind == FileKind::Sealed { "sealed" } else { "original" };
        self.record_read(viewer, &document, &state, event_type, json!({ "file": which }), meta).await?;
        Ok(OpenedFile { document, stream, size, sha256, file_name })
    }

    /// The document's evidence package, after appending the download that it then includes.
    pub async fn download_package(
        &self,
        viewer: &User,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<(StoredDocument, EvidencePackage), DocumentError> {
        let document = self.visible(viewer, id).await?;
        let state = self.completion(id).await?;
        let details = json!({ "file": "evidence_package" });
        self.record_read(viewer, &document, &state, EventType::DocumentDownloaded, details, meta).await?;
        let doc_id = DocumentId::parse(&document.id).map_err(|_| DocumentError::NotFound)?;
        let package = self
            .inner
            .evidence
            .package(&doc_id, self.inner.clock.now().as_micros())
            .await
            .map_err(|e| DocumentError::Internal(e.into()))?;
        Ok((document, package))
    }

    /// Appends a view or download; its file hash is the document's current file (the sealed
    /// one once sealed).
    async fn record_read(
        &self,
        viewer: &User,
        document: &StoredDocument,
        state: &super::completion::CompletionState,
        event_type: EventType,
        details: serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<(), DocumentError> {
        let current = state.current_file(document.sha256);
        let event =
            self.new_event(event_type, viewer, meta, current, None, details).map_err(DocumentError::Internal)?;
        let append = crate::evidence::Append::event(
            DocumentId::parse(&document.id).map_err(|_| DocumentError::NotFound)?,
            event,
            self.personal(viewer, meta),
        );
        self.inner
            .evidence
            .append(append)
            .await
            .map_err(|e| DocumentError::Internal(anyhow::anyhow!("recording the read: {e}")))?;
        Ok(())
    }

    /// The plaintext of the document's file, decrypted as it streams from the store.
    pub async fn decrypted(&self, document: &StoredDocument) -> Result<BlobStream, DocumentError> {
        if let Some(at) = document.files_purged_at {
            return Err(DocumentError::Gone(files_purged_message(at)));
        }
        self.decrypted_blob(document.blob_key.as_deref().ok_or(DocumentError::NotFound)?).await
    }

    /// A whole stored object, decrypted, in memory (images, and PDFs completion rewrites).
    pub(super) async fn read_blob(&self, key: &str) -> Result<Vec<u8>, DocumentError> {
        let mut stream = self.decrypted_blob(key).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| DocumentError::Internal(anyhow::anyhow!("blob {key}: {e}")))?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// The plaintext of a stored object, decrypted as it streams from the store.
    pub(crate) async fn decrypted_blob(&self, key: &str) -> Result<BlobStream, DocumentError> {
        let row = repo::blob(&self.inner.pool, key).await?.ok_or(DocumentError::NotFound)?;
        let wrapped: WrappedKey = row
            .wrapped_key
            .parse()
            .map_err(|e| DocumentError::Internal(anyhow::anyhow!("blob {key}: wrapped key: {e}")))?;
        let data_key = self.inner.keyring.unwrap_key(&wrapped, key.as_bytes()).map_err(|e| {
            DocumentError::Internal(anyhow::anyhow!(
                "blob {key}: the data key does not open with the configured master keys: {e}"
            ))
        })?;
        let blob_key = BlobKey::parse(key).map_err(|e| DocumentError::Internal(e.into()))?;
        let encrypted = self.inner.blobs.get(&blob_key).await.map_err(|e| DocumentError::Internal(e.into()))?;
        Ok(decrypt_stream(encrypted, &data_key))
    }

    /// The document's audit trail, oldest first.
    pub async fn timeline(&self, document: &StoredDocument) -> Result<Vec<TimelineEntry>, DocumentError> {
        let id = DocumentId::parse(&document.id).map_err(|_| DocumentError::NotFound)?;
        let events = match self.inner.evidence.events_of(&id).await {
            Ok(events) => events,
            Err(e) => return Err(DocumentError::Internal(e.into())),
        };
        let key_names = crate::api::keys::names(&self.inner.pool).await.map_err(DocumentError::from)?;
        Ok(events
            .into_iter()
            .map(|(event, log_index)| {
                let record = event.record();
                let personal = event.personal();
                let mut actor = match (&record.actor().kind, personal) {
                    (ActorKind::System, _) => "system".to_owned(),
                    (_, Some(p)) => match (&p.name, &p.email) {
                        (Some(n), Some(e)) => format!("{} <{}>", n.as_str(), e.as_str()),
                        (Some(n), None) => n.as_str().to_owned(),
                        (None, Some(e)) => e.as_str().to_owned(),
                        (None, None) => record.actor().kind.as_str().to_owned(),
                    },
                    (kind, None) => format!("{} (personal data purged)", kind.as_str()),
                };
                // "Ada Lovelace <ada@…> via API key 'CRM'": the key acted, for its user.
                if record.actor().kind == ActorKind::ApiKey {
                    let public_id =
                        record.actor().id.as_ref().and_then(|a| a.as_str().strip_prefix("api_key:")).unwrap_or("");
                    match key_names.get(public_id) {
                        Some(name) => actor.push_str(&format!(" via API key '{name}'")),
                        None => actor.push_str(&format!(" via API key {public_id}")),
                    }
                }
                TimelineEntry {
                    seq: record.seq(),
                    log_index,
                    time: record.time().as_micros(),
                    event_type: record.event_type().as_str().to_owned(),
                    label: super::event_label(record.event_type().as_str()),
                    actor,
                    ip: personal.and_then(|p| p.ip.as_ref()).map(|t| t.as_str().to_owned()),
                    user_agent: personal.and_then(|p| p.user_agent.as_ref()).map(|t| t.as_str().to_owned()),
                    location: personal
                        .and_then(|p| p.geo.as_ref())
                        .map(describe_location)
                        .unwrap_or_else(|| "unknown".to_owned()),
                    file_sha256: record.file_sha256().to_hex(),
                    event_hash: event.hash().to_hex(),
                    purged: personal.is_none(),
                }
            })
            .collect())
    }

    /// Runs the evidence verifier on the document's package (pinned to this log's key), then
    /// checks the stored file: decrypted and hashed, it must be the file the evidence names.
    pub async fn verify(&self, document: &StoredDocument) -> Result<VerifyOutcome, DocumentError> {
        let id = DocumentId::parse(&document.id).map_err(|_| DocumentError::NotFound)?;
        let now = self.inner.clock.now().as_micros();
        let package = match self.inner.evidence.package(&id, now).await {
            Ok(p) => p,
            Err(EvidenceError::UnknownDocument(_)) => return Err(DocumentError::NotFound),
            Err(e) => return Err(DocumentError::Internal(e.into())),
        };
        let report = verify_package(&package, Some(self.inner.evidence.signer().verifier_key()));
        let mut checks: Vec<CheckResult> = report
            .checks
            .iter()
            .map(|c| CheckResult {
                name: c.name.to_owned(),
                label: check_label(c.name),
                status: status(c.status),
                detail: c.detail.clone(),
                failures: c.failures.clone(),
            })
            .collect();
        checks.push(self.file_check(document, &package).await);
        let valid = checks.iter().all(|c| c.status != "fail");
        let tree_size = verify_checkpoint(&package.log.checkpoint, self.inner.evidence.signer().verifier_key())
            .map(|c| c.size())
            .unwrap_or(0);
        Ok(VerifyOutcome { valid, checks, tree_size })
    }

    /// The stored files against the evidence: the original against the upload's hash, and
    /// once completed the signed and sealed files against theirs; the newest one must be the
    /// file the evidence's last event names.
    async fn file_check(&self, document: &StoredDocument, package: &EvidencePackage) -> CheckResult {
        let mut result = CheckResult {
            name: "stored_file".to_owned(),
            label: "The stored files are the ones the evidence names".to_owned(),
            status: "pass".to_owned(),
            detail: None,
            failures: Vec::new(),
        };
        if let Some(at) = document.files_purged_at {
            result.status = "skip".to_owned();
            result.detail = Some(files_purged_message(at));
            return result;
        }
        let Some(original_key) = document.blob_key.as_deref() else {
            result.status = "skip".to_owned();
            result.detail = Some("the file was deleted with the draft; its hash stays in the evidence".to_owned());
            return result;
        };
        let state = match self.completion(&document.id).await {
            Ok(state) => state,
            Err(e) => {
                result.status = "fail".to_owned();
                result.failures.push(format!("the completion state cannot be read: {e}"));
                return result;
            }
        };
        let mut files = vec![("original", original_key, package.document.original_sha256)];
        if let (Some(key), Some(sha)) = (state.signed_blob_key.as_deref(), state.signed_sha256) {
            files.push(("signed", key, sha));
        }
        if let (Some(key), Some(sha)) = (state.sealed_blob_key.as_deref(), state.sealed_sha256) {
            files.push(("sealed", key, sha));
        }
        let mut found = Vec::new();
        for (what, key, expected) in &files {
            match self.hash_blob(key).await {
                Ok(actual) if actual == *expected => found.push(format!("{what} {}", actual.to_hex())),
                Ok(actual) => result.failures.push(format!(
                    "the stored {what} file hashes to {}, the evidence names {}",
                    actual.to_hex(),
                    expected.to_hex()
                )),
                Err(e) => result.failures.push(format!("the stored {what} file does not decrypt intact: {e}")),
            }
        }
        if document.sha256 != package.document.original_sha256 {
            result.failures.push("the document's recorded hash is not the one of its first event".to_owned());
        }
        let newest = files.last().map(|(_, _, sha)| *sha);
        if newest != Some(package.document.latest_sha256) {
            result.failures.push(format!(
                "the last event names the file {}, which is not the newest stored file",
                package.document.latest_sha256.to_hex()
            ));
        }
        if result.failures.is_empty() {
            result.detail = Some(format!("SHA-256 {}", found.join(", ")));
        } else {
            result.status = "fail".to_owned();
        }
        result
    }

    async fn hash_blob(&self, key: &str) -> Result<Sha256, DocumentError> {
        let mut stream = self.decrypted_blob(key).await?;
        let mut hasher = FileHasher::new();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk.map_err(|e| DocumentError::Internal(anyhow::anyhow!("{e}")))?);
        }
        Ok(hasher.finish())
    }
}

/// What a reader is told of a document whose files the retention policy deleted.
pub fn files_purged_message(at: i64) -> String {
    format!(
        "The files of this document were deleted on {} under the retention policy. Its evidence \
         remains, with their hashes: the copies the parties hold still verify against it.",
        crate::clock::utc_date(attesta_core::time::Timestamp::from_micros(at))
    )
}

fn status(status: Status) -> String {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Skip => "skip",
    }
    .to_owned()
}

fn check_label(name: &str) -> String {
    attesta_core::evidence::verify::check_label(name).map(str::to_owned).unwrap_or_else(|| name.replace('_', " "))
}

fn describe_location(geo: &Geolocation) -> String {
    let parts: Vec<&str> = [geo.city.as_ref(), geo.region.as_ref(), geo.country.as_ref()]
        .into_iter()
        .flatten()
        .map(|t| t.as_str())
        .collect();
    if parts.is_empty() { "unknown".to_owned() } else { parts.join(", ") }
}

/// Decrypts a blob as it streams: plaintext goes out chunk by chunk; a failure (tampering,
/// truncation) ends the stream with an error, so a client never receives a partial file as whole.
fn decrypt_stream(encrypted: BlobStream, data_key: &DataKey) -> BlobStream {
    let decryptor = Decryptor::new(data_key);
    let state = (encrypted, Some(decryptor));
    Box::pin(futures_util::stream::unfold(state, |(mut input, decryptor)| async move {
        let mut decryptor = decryptor?;
        let mut out = Vec::new();
        loop {
            match input.next().await {
                Some(Ok(bytes)) => {
                    if let Err(e) = decryptor.update(&bytes, &mut out) {
                        return Some((Err(std::io::Error::other(e.to_string())), (input, None)));
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), (input, Some(decryptor))));
                    }
                }
                Some(Err(e)) => return Some((Err(e), (input, None))),
                None => {
                    return match decryptor.finish(&mut out) {
                        Ok(()) if out.is_empty() => None,
                        Ok(()) => Some((Ok(Bytes::from(out)), (input, None))),
                        Err(e) => Some((Err(std::io::Error::other(e.to_string())), (input, None))),
                    };
                }
            }
        }
    }))
}
