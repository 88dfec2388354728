//! The document service: uploads, lists, the file itself, deletion of drafts, the audit timeline
//! and verification. Every action that changes state writes its audit event in the same
//! database transaction as the change (through the evidence sequencer's effects), so there is
//! never a change without its evidence or evidence of a change that did not happen.

pub mod completion;
mod for_api;
pub mod holds;
pub mod http;
pub mod ingest;
mod markdown_pdf;

/// An upload's typesetting, for the Markdown tests (with the upload's limits).
#[cfg(test)]
pub(crate) fn markdown_pdf_for_tests(
    source: &str,
) -> Result<crate::markdown::Rendered, crate::markdown::MarkdownError> {
    markdown_pdf::render(source, None)
}
mod port;
pub mod purge;
mod read;
mod repo;
pub mod signing;

use crate::blob::{BlobKey, BlobStore};
use crate::evidence::{Append, EffectError, EvidenceError, EvidenceLog};
use crate::geo::GeoIp;
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::access::Principal;
use attesta_core::documents::{
    DocumentId, DocumentSource, DocumentStatus, Refusal, RenameError, Title, UploadLimits, events,
};
use attesta_core::entropy::EntropyExt as _;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, Details, EventId, EventType, Geolocation, NewEvent, PersonalData, Sha256, Text,
};
use attesta_core::jobs::{JobKind, NewJob};
use attesta_core::ports::{Clock, Entropy};
use attesta_core::storage::envelope::Keyring;
use ingest::IngestError;
use serde_json::json;
use sqlx::AnyPool;
use std::path::PathBuf;
use std::sync::Arc;

pub use for_api::Answer;
pub use read::{FileKind, OpenedFile};
pub use repo::StoredDocument;

/// Everything the document service works with. Cheap to clone.
#[derive(Clone)]
pub struct Documents {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    evidence: EvidenceLog,
    blobs: Arc<dyn BlobStore>,
    keyring: Arc<Keyring>,
    geo: Option<Arc<GeoIp>>,
    limits: UploadLimits,
    spool_dir: PathBuf,
    clock: Arc<dyn Clock>,
    /// Ids, blob keys, data keys, signing tokens and one-time codes come from here.
    entropy: Arc<dyn Entropy>,
    mailer: crate::mail::Mailer,
    /// `https://sign.example.com`: the start of every link in an email.
    public_origin: String,
    otp: attesta_core::signing::otp::OtpPolicy,
    /// The consumer disclosure shown before signing (`{sender}` is filled in).
    disclosure_template: String,
    /// Seals completed documents (PAdES).
    sealer: crate::seal::Sealer,
    expire_after: Option<std::time::Duration>,
    /// The reminder policy documents are sent with.
    reminders: attesta_core::ceremony::ReminderPolicy,
    /// After how long without progress a document is recorded as stalled, ascending.
    stall_after: Vec<std::time::Duration>,
    /// Room to check uploads (see `ingest::CHECK_BUDGET`).
    checks: Arc<tokio::sync::Semaphore>,
    /// Wakes this process's job loop after a change enqueued follow-up work.
    jobs_wake: Arc<tokio::sync::Notify>,
}

/// What the uploader said about the file.
#[derive(Debug, Default, Clone)]
pub struct UploadInfo {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub title: Option<String>,
    /// The SHA-256 the client computed before sending; a mismatch refuses the upload.
    pub client_sha256: Option<Sha256>,
}

/// The settings a [`Documents`] service is built from.
pub struct DocumentsSetup {
    pub pool: AnyPool,
    pub evidence: EvidenceLog,
    pub blobs: Arc<dyn BlobStore>,
    pub keyring: Arc<Keyring>,
    pub geo: Option<Arc<GeoIp>>,
    pub limits: UploadLimits,
    pub spool_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub mailer: crate::mail::Mailer,
    pub public_origin: String,
    pub otp: attesta_core::signing::otp::OtpPolicy,
    pub disclosure_template: String,
    pub sealer: crate::seal::Sealer,
    /// How long a sent document waits for its signers before it expires; `None`: never.
    pub expire_after: Option<std::time::Duration>,
    pub reminders: attesta_core::ceremony::ReminderPolicy,
    pub stall_after: Vec<std::time::Duration>,
    /// Notified after a change enqueued a job (the job loop waits on it).
    pub jobs_wake: Arc<tokio::sync::Notify>,
}

impl Documents {
    pub fn new(setup: DocumentsSetup) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&setup.spool_dir)
            .map_err(|e| anyhow::anyhow!("storage.spool_dir {}: {e}", setup.spool_dir.display()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool: setup.pool,
                evidence: setup.evidence,
                blobs: setup.blobs,
                keyring: setup.keyring,
                geo: setup.geo,
                limits: setup.limits,
                spool_dir: setup.spool_dir,
                clock: setup.clock,
                entropy: setup.entropy,
                mailer: setup.mailer,
                public_origin: setup.public_origin,
                otp: setup.otp,
                disclosure_template: setup.disclosure_template,
                sealer: setup.sealer,
                expire_after: setup.expire_after,
                reminders: setup.reminders,
                stall_after: setup.stall_after,
                checks: Arc::new(tokio::sync::Semaphore::new(ingest::CHECK_BUDGET as usize)),
                jobs_wake: setup.jobs_wake,
            }),
        })
    }

    /// Stores `bytes` encrypted like any document file; returns its row (not yet inserted: the
    /// caller inserts it with the event that refers to it) and the plaintext's hash.
    pub(crate) async fn store_bytes(
        &self,
        bytes: &[u8],
        content_type: &str,
    ) -> anyhow::Result<(repo::BlobRow, Sha256)> {
        let spooled = ingest::spool(
            &self.inner.spool_dir,
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(bytes))]),
            bytes.len() as u64,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let key = new_blob_key(&*self.inner.entropy);
        let keyring = self.inner.keyring.clone();
        let key_text = key.as_str().to_owned();
        let spool_dir = self.inner.spool_dir.clone();
        let entropy = self.inner.entropy.clone();
        let file = spooled.file.try_clone()?;
        let encrypted =
            tokio::task::spawn_blocking(move || ingest::encrypt(&file, &keyring, &key_text, &spool_dir, &*entropy))
                .await?
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.inner.blobs.put_file(&key, &encrypted.path).await?;
        let row = repo::BlobRow {
            key: key.as_str().to_owned(),
            sha256: spooled.sha256,
            size: spooled.len,
            stored_size: encrypted.stored_size,
            wrapped_key: encrypted.wrapped_key.to_string(),
            master_key_id: encrypted.wrapped_key.master_key_id().to_string(),
            content_type: content_type.to_owned(),
            created_at: self.inner.clock.now().as_micros(),
        };
        Ok((row, spooled.sha256))
    }

    pub fn limits(&self) -> UploadLimits {
        self.inner.limits
    }

    /// Where uploads are spooled (unnamed temporary files) before they are checked.
    pub fn spool_dir(&self) -> &std::path::Path {
        &self.inner.spool_dir
    }

    /// The seal completed documents get (its trust anchors are published).
    pub fn sealer(&self) -> &crate::seal::Sealer {
        &self.inner.sealer
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.inner.blobs
    }

    /// The mail transport (the self-verification's alerts go through it too).
    pub fn mailer(&self) -> &crate::mail::Mailer {
        &self.inner.mailer
    }

    /// Takes an upload in. Either the document exists afterwards, with its file stored and its
    /// `document.uploaded` event appended, or nothing of it does (no blob, no row, no event).
    pub async fn upload<S, E>(
        &self,
        owner: &User,
        info: UploadInfo,
        body: S,
        meta: &RequestMeta,
    ) -> Result<StoredDocument, IngestError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let inner = &self.inner;
        let spooled = ingest::spool(&inner.spool_dir, body, inner.limits.max_bytes).await?;
        if let Some(client) = info.client_sha256
            && client != spooled.sha256
        {
            return Err(Refusal::HashMismatch { client: client.to_hex(), server: spooled.sha256.to_hex() }.into());
        }
        let (file_name, content_type) = (info.file_name.clone(), info.content_type.clone());
        let given_title = info.title.as_deref().and_then(|t| Title::parse(t).ok());
        let typeset_title = given_title.as_ref().map(|t| t.as_str().to_owned());
        let (spool_dir, max_pages) = (inner.spool_dir.clone(), inner.limits.max_pages);
        let (sealer, now) = (inner.sealer.clone(), inner.clock.now());
        // Room in the checks' budget, waited for with the upload on disk; the permit goes with
        // the blocking task and is released only when it ends, even after a timeout.
        let kind = attesta_core::documents::sniff(&spooled.head, file_name.as_deref(), content_type.as_deref());
        let permit = ingest::turn(&inner.checks, ingest::weight(kind, spooled.len), ingest::CHECK_QUEUE_WAIT).await?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let context = ingest::CheckContext { spool_dir: &spool_dir, max_pages, sealer: &sealer, now };
            ingest::check(spooled, file_name.as_deref(), content_type.as_deref(), typeset_title.as_deref(), &context)
        });
        let checked = tokio::time::timeout(ingest::CHECK_TIME_LIMIT, task)
            .await
            .map_err(|_| {
                IngestError::Refused(Refusal::Unsealable(format!(
                    "checking it took longer than {} seconds",
                    ingest::CHECK_TIME_LIMIT.as_secs()
                )))
            })?
            .map_err(|e| match e.try_into_panic() {
                // The parser panicked on this file: that is a damaged file, not a server failure.
                Ok(_) => IngestError::Refused(Refusal::Corrupt("the PDF structure could not be parsed".to_owned())),
                Err(e) => IngestError::Internal(anyhow::anyhow!("inspection task: {e}")),
            })??;

        let id = new_document_id(&*inner.entropy);
        let blob_key = new_blob_key(&*inner.entropy);
        let source = if checked.markdown_sha256.is_some() { DocumentSource::Markdown } else { DocumentSource::Pdf };
        // The uploader's title, else a Markdown document's first heading, else the file's name.
        let title = given_title
            .or_else(|| checked.markdown_title.as_deref().and_then(|t| Title::parse(t).ok()))
            .or_else(|| info.file_name.as_deref().and_then(Title::from_file_name))
            .unwrap_or_else(Title::untitled);

        let keyring = inner.keyring.clone();
        let key_text = blob_key.as_str().to_owned();
        let spool_dir = inner.spool_dir.clone();
        let entropy = inner.entropy.clone();
        let file = checked.spooled.file.try_clone().map_err(|e| anyhow::anyhow!("spool file: {e}"))?;
        let encrypted =
            tokio::task::spawn_blocking(move || ingest::encrypt(&file, &keyring, &key_text, &spool_dir, &*entropy))
                .await
                .map_err(|e| anyhow::anyhow!("encryption task: {e}"))??;
        inner.blobs.put_file(&blob_key, &encrypted.path).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(encrypted.path);

        let now = inner.clock.now();
        let document = StoredDocument {
            id: id.as_str().to_owned(),
            owner_id: owner.id.0,
            owner_name: owner.name.as_str().to_owned(),
            title: title.as_str().to_owned(),
            status: DocumentStatus::Draft,
            source,
            original_name: info.file_name.clone(),
            page_count: checked.info.pages,
            size: checked.spooled.len,
            sha256: checked.spooled.sha256,
            blob_key: Some(blob_key.as_str().to_owned()),
            created_at: now.as_micros(),
            updated_at: now.as_micros(),
            files_purged_at: None,
            scheduled: None,
            expires_at: None,
        };
        let mut details = json!({
            "title": document.title,
            "pages": document.page_count,
            "size": document.size,
            "source": source.as_str(),
            "pdf_version": checked.info.version,
        });
        if let Some(name) = &info.file_name {
            details["file_name"] = json!(name.chars().take(255).collect::<String>());
        }
        if let Some(md) = checked.markdown_sha256 {
            details["markdown_sha256"] = json!(md.to_hex());
        }
        if let Some(repair) = &checked.repaired {
            details["repaired"] = json!({
                "uploaded_sha256": repair.uploaded_sha256.to_hex(),
                "uploaded_size": repair.uploaded_size,
                "reason": repair.reason.chars().take(300).collect::<String>(),
            });
        }
        // For Markdown the client hashed the source, and for a repaired PDF the damaged upload,
        // which the details record; the event's client hash is about the stored file only.
        let client_sha256 =
            if source == DocumentSource::Pdf && checked.repaired.is_none() { info.client_sha256 } else { None };
        let event =
            self.new_event(EventType::DocumentUploaded, owner, meta, document.sha256, client_sha256, details)?;
        let row = document.clone();
        let blob_row = repo::BlobRow {
            key: blob_key.as_str().to_owned(),
            sha256: document.sha256,
            size: document.size,
            stored_size: encrypted.stored_size,
            wrapped_key: encrypted.wrapped_key.to_string(),
            master_key_id: encrypted.wrapped_key.master_key_id().to_string(),
            content_type: "application/pdf".to_owned(),
            created_at: now.as_micros(),
        };
        // The clause scan (`risk.scan`) is follow-up work, committed with the upload.
        let scan = NewJob::about(JobKind::RiskScan, document.id.clone(), now);
        let append = Append::event(id, event, self.personal(owner, meta)).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                repo::insert_blob(conn, &blob_row).await?;
                repo::insert_document(conn, &row).await?;
                crate::jobs::enqueue(conn, &scan, now).await?;
                Ok::<(), EffectError>(())
            })
        }));
        match inner.evidence.append(append).await {
            Ok(_) => {
                inner.jobs_wake.notify_one();
                tracing::info!(document_id = %document.id, pages = document.page_count, size = document.size, "document uploaded");
                Ok(document)
            }
            Err(e) => {
                // Nothing was committed: take the stored file back out, so nothing is half-stored.
                if let Err(cleanup) = inner.blobs.delete(&blob_key).await {
                    tracing::error!(blob = %blob_key, error = %cleanup, "could not remove the blob of a failed upload");
                }
                Err(IngestError::Internal(anyhow::anyhow!("recording the upload: {e}")))
            }
        }
    }

    /// Deletes a draft's file and marks it deleted; `document.deleted` is appended with the change.
    pub async fn delete(&self, viewer: &User, id: &str, meta: &RequestMeta) -> Result<(), DocumentError> {
        let document = self.managed(viewer, id).await?;
        if !document.status.can_delete() {
            return Err(DocumentError::Conflict(format!(
                "only drafts can be deleted; this document is {}",
                document.status.label().to_lowercase()
            )));
        }
        let details = json!({ "title": document.title });
        let event = self
            .new_event(EventType::DocumentDeleted, viewer, meta, document.sha256, None, details)
            .map_err(DocumentError::Internal)?;
        let doc_id = document.id.clone();
        let blob_key = document.blob_key.clone();
        let now = self.inner.clock.now().as_micros();
        let append =
            Append::event(parse_id(id)?, event, self.personal(viewer, meta)).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if !repo::mark_deleted(conn, &doc_id, now).await? {
                        return Err(EffectError::Refused("only drafts can be deleted".to_owned()));
                    }
                    if let Some(key) = &blob_key {
                        repo::delete_blob_row(conn, key).await?;
                    }
                    Ok(())
                })
            }));
        match self.inner.evidence.append(append).await {
            Ok(_) => {}
            Err(EvidenceError::Refused(why)) => return Err(DocumentError::Conflict(why)),
            Err(e) => return Err(DocumentError::Internal(anyhow::anyhow!("recording the deletion: {e}"))),
        }
        if let Some(key) = document.blob_key.as_deref().and_then(|k| BlobKey::parse(k).ok())
            && let Err(e) = self.inner.blobs.delete(&key).await
        {
            // The row is gone, so the blob is unreadable garbage (its key was only in the row).
            tracing::error!(blob = %key, error = %e, "could not remove a deleted draft's blob");
        }
        tracing::info!(document_id = %document.id, "draft deleted");
        Ok(())
    }

    /// Gives a draft a new title (the core's rule: only drafts, only a valid title);
    /// `document.renamed` is appended with the change. Returns the title as stored.
    pub async fn rename(
        &self,
        viewer: &User,
        id: &str,
        input: &str,
        meta: &RequestMeta,
    ) -> Result<Title, DocumentError> {
        let document = self.managed(viewer, id).await?;
        let title = attesta_core::documents::rename(document.status, input).map_err(|e| match e {
            RenameError::NotDraft(_) => DocumentError::Conflict(e.to_string()),
            RenameError::Title(_) => DocumentError::Invalid { field: "title", message: e.to_string() },
        })?;
        if title.as_str() == document.title {
            return Ok(title);
        }
        let details = json!({ "title": title.as_str() });
        let event = self
            .new_event(EventType::DocumentRenamed, viewer, meta, document.sha256, None, details)
            .map_err(DocumentError::Internal)?;
        let (doc_id, new_title) = (document.id.clone(), title.as_str().to_owned());
        let now = self.inner.clock.now().as_micros();
        let append =
            Append::event(parse_id(id)?, event, self.personal(viewer, meta)).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if !repo::rename(conn, &doc_id, &new_title, now).await? {
                        return Err(EffectError::Refused("only drafts can be renamed".to_owned()));
                    }
                    Ok(())
                })
            }));
        match self.inner.evidence.append(append).await {
            Ok(_) => Ok(title),
            Err(EvidenceError::Refused(why)) => Err(DocumentError::Conflict(why)),
            Err(e) => Err(DocumentError::Internal(anyhow::anyhow!("recording the rename: {e}"))),
        }
    }

    /// The document, whoever asks (for jobs: the caller checked nothing and shows nothing).
    pub async fn find(&self, id: &str) -> Result<Option<StoredDocument>, sqlx::Error> {
        repo::find(&self.inner.pool, id).await
    }

    /// The document if `viewer` may change it (only its owner), else forbidden (or not found
    /// when they may not even see it).
    pub async fn managed(&self, viewer: &User, id: &str) -> Result<StoredDocument, DocumentError> {
        let document = self.visible(viewer, id).await?;
        if !Principal::session(viewer).may_manage(attesta_core::UserId(document.owner_id)) {
            return Err(DocumentError::Forbidden);
        }
        Ok(document)
    }

    /// The document if `viewer`, signed in, may see it (`attesta_core::access`).
    pub async fn visible(&self, viewer: &User, id: &str) -> Result<StoredDocument, DocumentError> {
        self.visible_to(&Principal::session(viewer), id).await
    }

    /// The document if `principal` may see it; one not in reach is not found (saying nothing
    /// about other people's documents).
    pub async fn visible_to(&self, principal: &Principal, id: &str) -> Result<StoredDocument, DocumentError> {
        let document = repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        if !principal.may_see(attesta_core::UserId(document.owner_id)) {
            return Err(DocumentError::NotFound);
        }
        Ok(document)
    }

    /// An event by `actor`, or by their API key when the request came with one (the key is the
    /// actor; the user's name and email stay the personal data).
    fn new_event(
        &self,
        event_type: EventType,
        actor: &User,
        meta: &RequestMeta,
        file_sha256: Sha256,
        client_file_sha256: Option<Sha256>,
        details: serde_json::Value,
    ) -> Result<NewEvent, anyhow::Error> {
        self.event_by(event_type, user_actor(actor, meta)?, file_sha256, client_file_sha256, details)
    }

    /// A new event by any actor, now, with a fresh id; `details` must be an object to count.
    fn event_by(
        &self,
        event_type: EventType,
        actor: Actor,
        file_sha256: Sha256,
        client_file_sha256: Option<Sha256>,
        details: serde_json::Value,
    ) -> Result<NewEvent, anyhow::Error> {
        let details = match details {
            serde_json::Value::Object(map) => Details::new(map)?,
            _ => Details::empty(),
        };
        Ok(NewEvent {
            event_id: EventId::generate(&*self.inner.entropy),
            event_type,
            time: self.inner.clock.now(),
            actor,
            file_sha256,
            client_file_sha256,
            details,
        })
    }

    /// The actor's identity and the request's origin, kept apart from the hashed record.
    fn personal(&self, actor: &User, meta: &RequestMeta) -> PersonalData {
        self.personal_of(actor.name.as_str(), actor.email.as_str(), meta, None)
    }

    /// Someone's name and email with the request's address and user agent, and a location: the
    /// browser's when given (shared with permission), else looked up from the address.
    fn personal_of(&self, name: &str, email: &str, meta: &RequestMeta, browser: Option<Geolocation>) -> PersonalData {
        let text = |s: &str| Text::new(s.chars().take(512).collect::<String>()).ok();
        PersonalData {
            email: text(email),
            name: text(name),
            ip: meta.ip.and_then(|ip| text(&ip.to_string())),
            user_agent: meta.user_agent.as_deref().and_then(text),
            geo: browser.or_else(|| meta.ip.and_then(|ip| self.inner.geo.as_ref().and_then(|g| g.locate(ip)))),
        }
    }
}

/// `user` as an event's actor, or their API key when the request came with one (the key is the
/// actor; the user's name and email stay the personal data).
fn user_actor(user: &User, meta: &RequestMeta) -> Result<Actor, anyhow::Error> {
    Ok(match &meta.api_key {
        Some(key) => Actor { kind: ActorKind::ApiKey, id: Some(ActorId::parse(&key.public_id.actor_id())?) },
        None => Actor { kind: ActorKind::User, id: Some(ActorId::parse(&format!("user:{}", user.id.0))?) },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    /// The file existed and was deleted under the retention policy: the evidence remains.
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    Internal(anyhow::Error),
}

impl From<sqlx::Error> for DocumentError {
    fn from(e: sqlx::Error) -> Self {
        DocumentError::Internal(e.into())
    }
}

fn parse_id(id: &str) -> Result<DocumentId, DocumentError> {
    DocumentId::parse(id).map_err(|_| DocumentError::NotFound)
}

/// `d` + 26 base32 characters: 130 random bits, unguessable and URL-safe.
fn new_document_id(entropy: &dyn Entropy) -> DocumentId {
    let id = format!("d{}", entropy.base32(26));
    DocumentId::parse(&id).unwrap_or_else(|_| new_document_id(entropy))
}

/// Object keys say nothing about the document: `f/ab/<random>`.
fn new_blob_key(entropy: &dyn Entropy) -> BlobKey {
    let name = entropy.base32(32);
    BlobKey::parse(&format!("f/{}/{name}", &name[..2])).unwrap_or_else(|_| new_blob_key(entropy))
}

/// The label for an event type on the timeline.
pub fn event_label(event_type: &str) -> String {
    match event_type {
        events::UPLOADED => "Uploaded".to_owned(),
        events::VIEWED => "Viewed".to_owned(),
        events::DOWNLOADED => "Downloaded".to_owned(),
        events::DELETED => "Deleted (draft)".to_owned(),
        events::RENAMED => "Renamed".to_owned(),
        "document.legal_hold_placed" => "Legal hold placed".to_owned(),
        "document.legal_hold_released" => "Legal hold released".to_owned(),
        "retention.personal_data_purged" => "Personal data purged (retention policy)".to_owned(),
        "retention.document_files_purged" => "Files deleted (retention policy)".to_owned(),
        "recipient.reminded" => "Reminder sent".to_owned(),
        "document.stalled" => "Stalled: no progress".to_owned(),
        other => {
            let words = other.replace(['.', '_'], " ");
            let mut chars = words.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}
