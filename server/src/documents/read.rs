//! Reading documents back: the decrypted file as a stream, the audit timeline, and verification.

use super::{DocumentError, Documents, StoredDocument, repo};
use crate::blob::{BlobKey, BlobStream};
use crate::evidence::EvidenceError;
use attesta_app::api::documents::{CheckResult, TimelineEntry, VerifyOutcome};
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::documents::DocumentId;
use attesta_core::evidence::{
    ActorKind, EventType, FileHasher, Geolocation, Status, verify_checkpoint, verify_package,
};
use attesta_core::storage::envelope::{DataKey, Decryptor, WrappedKey};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::json;

/// A document's file, ready to send.
pub struct OpenedFile {
    pub document: StoredDocument,
    pub stream: BlobStream,
}

impl Documents {
    /// Opens the document's file for `viewer`, after appending `document.viewed` (shown in the
    /// browser) or `document.downloaded` (saved as a file): the evidence comes first.
    pub async fn open_file(
        &self,
        viewer: &User,
        id: &str,
        download: bool,
        meta: &RequestMeta,
    ) -> Result<OpenedFile, DocumentError> {
        let document = self.visible(viewer, id).await?;
        let stream = self.decrypted(&document).await?;
        let event_type = if download { EventType::DocumentDownloaded } else { EventType::DocumentViewed };
        let event =
            self.new_event(event_type, viewer, document.sha256, None, json!({})).map_err(DocumentError::Internal)?;
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
        Ok(OpenedFile { document, stream })
    }

    /// The plaintext of the document's file, decrypted as it streams from the store.
    pub async fn decrypted(&self, document: &StoredDocument) -> Result<BlobStream, DocumentError> {
        let key = document.blob_key.as_deref().ok_or(DocumentError::NotFound)?;
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
        Ok(events
            .into_iter()
            .map(|(event, log_index)| {
                let record = event.record();
                let personal = event.personal();
                let actor = match (&record.actor().kind, personal) {
                    (ActorKind::System, _) => "system".to_owned(),
                    (_, Some(p)) => match (&p.name, &p.email) {
                        (Some(n), Some(e)) => format!("{} <{}>", n.as_str(), e.as_str()),
                        (Some(n), None) => n.as_str().to_owned(),
                        (None, Some(e)) => e.as_str().to_owned(),
                        (None, None) => record.actor().kind.as_str().to_owned(),
                    },
                    (kind, None) => format!("{} (personal data purged)", kind.as_str()),
                };
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

    async fn file_check(
        &self,
        document: &StoredDocument,
        package: &attesta_core::evidence::EvidencePackage,
    ) -> CheckResult {
        let mut result = CheckResult {
            name: "stored_file".to_owned(),
            label: "The stored file is the one the evidence names".to_owned(),
            status: "pass".to_owned(),
            detail: None,
            failures: Vec::new(),
        };
        let expected = package.document.latest_sha256;
        if document.blob_key.is_none() {
            result.status = "skip".to_owned();
            result.detail = Some("the file was deleted with the draft; its hash stays in the evidence".to_owned());
            return result;
        }
        let mut stream = match self.decrypted(document).await {
            Ok(s) => s,
            Err(e) => {
                result.status = "fail".to_owned();
                result.failures.push(format!("the file cannot be read: {e}"));
                return result;
            }
        };
        let mut hasher = FileHasher::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => hasher.update(&bytes),
                Err(e) => {
                    result.status = "fail".to_owned();
                    result.failures.push(format!("the stored file does not decrypt intact: {e}"));
                    return result;
                }
            }
        }
        let actual = hasher.finish();
        if actual == expected && actual == document.sha256 {
            result.detail = Some(format!("SHA-256 {}", actual.to_hex()));
        } else {
            result.status = "fail".to_owned();
            result.failures.push(format!(
                "the stored file hashes to {}, the evidence names {}",
                actual.to_hex(),
                expected.to_hex()
            ));
        }
        result
    }
}

fn status(status: Status) -> String {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Skip => "skip",
    }
    .to_owned()
}

/// A sentence for each of the verifier's check names.
fn check_label(name: &str) -> String {
    match name {
        "format_version" => "The package is in a format this verifier reads",
        "log_key" => "The log's public key is readable",
        "key_pinned" => "The log key is the one this server publishes",
        "checkpoint_signature" => "The log checkpoint is signed by the log's key",
        "event_hashes" => "Each event's hash matches its content",
        "document_ids" => "Every event belongs to this document",
        "sequence_numbers" => "Events are numbered without gaps",
        "hash_chain" => "The events form one unbroken chain from the document's start",
        "document_head" => "The signed head covers the last event, so none were cut off",
        "personal_data" => "Personal data matches what each event committed to",
        "log_order" => "Events sit in the log in the order they happened",
        "inclusion_proofs" => "Every event is included in the signed log",
        "file_hashes" => "The document's file hashes agree with its events",
        _ => return name.replace('_', " "),
    }
    .to_owned()
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
