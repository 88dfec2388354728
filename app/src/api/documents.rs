//! Documents: the list, one document with its audit timeline, verifying its evidence, and
//! deleting a draft. Uploading and reading the file itself are plain HTTP endpoints on the server
//! (`POST /api/documents`, `GET /documents/{id}/file`), since they stream bytes.

use crate::error::AppError;
use attesta_core::documents::ListQuery;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One document in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRow {
    pub id: String,
    pub title: String,
    /// `draft`, `sent`, ... (see `DocumentStatus`).
    pub status: String,
    pub status_label: String,
    pub pages: u32,
    pub size: u64,
    /// UTC microseconds.
    pub created_at: i64,
    pub owner_name: String,
    /// A scheduled draft: when it goes, in its sender's terms.
    pub scheduled_label: Option<String>,
    /// Out for signature: the deadline, UTC µs.
    pub expires_at: Option<i64>,
}

/// One page of a filtered, sorted list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentPage {
    pub rows: Vec<DocumentRow>,
    /// Documents matching the filters, over all pages.
    pub total: u64,
    pub query: ListQuery,
    pub page_count: u32,
    /// Whether the viewer has any document at all (to tell "none yet" from "none match").
    pub any_documents: bool,
}

/// One event of a document's audit trail, as shown on its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub seq: u64,
    pub log_index: u64,
    /// UTC microseconds.
    pub time: i64,
    pub event_type: String,
    /// What happened, in words.
    pub label: String,
    /// Who acted, e.g. `Ada Lovelace <ada@example.com>`, or `system`.
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `Berlin, DE` or `unknown`.
    pub location: String,
    pub file_sha256: String,
    pub event_hash: String,
    /// The personal data of this event was purged by retention.
    pub purged: bool,
}

/// A document with its audit timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentDetail {
    pub row: DocumentRow,
    pub sha256: String,
    /// `pdf` or `markdown`.
    pub source: String,
    pub original_name: Option<String>,
    /// The file can still be read (it is gone once a draft is deleted).
    pub has_file: bool,
    pub can_delete: bool,
    /// The viewer owns this draft and may give it a new title.
    pub can_rename: bool,
    pub timeline: Vec<TimelineEntry>,
    /// Recipients and where each stands (empty until the document is prepared and sent).
    pub signing: crate::api::signing::SigningStatus,
    /// The signed and sealed files, once every signer signed.
    pub completion: Completion,
}

/// Where completion stands: the signed document (every mark drawn in), then the sealed PDF.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub signed_sha256: Option<String>,
    pub sealed_sha256: Option<String>,
    /// UTC microseconds.
    pub sealed_at: Option<i64>,
    /// Why the last completion step failed; it is tried again every minute.
    pub error: Option<String>,
    /// When the retention policy deleted the document's files (UTC microseconds): the hashes
    /// and the evidence stay, the files cannot be downloaded any more.
    pub files_purged_at: Option<i64>,
}

/// One check of the evidence verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub label: String,
    /// `pass`, `fail` or `skip`.
    pub status: String,
    pub detail: Option<String>,
    pub failures: Vec<String>,
}

/// What verifying a document's evidence found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOutcome {
    pub valid: bool,
    pub checks: Vec<CheckResult>,
    /// The size of the log checkpoint the proofs lead to.
    pub tree_size: u64,
}

#[server(prefix = "/api", endpoint = "documents/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_documents(
    search: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    page: Option<String>,
) -> Result<DocumentPage, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let query =
                ListQuery::from_params(search.as_deref(), status.as_deref(), sort.as_deref(), page.as_deref(), None);
            ctx.documents.list(&user, &query).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "documents/get", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_document(id: String) -> Result<DocumentDetail, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let mut detail = ctx.documents.detail(&user, &id).await?;
            detail.signing = ctx.signing.status(&user, &id).await?;
            Ok(detail)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "documents/verify")]
pub async fn verify_document(id: String) -> Result<VerifyOutcome, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            ctx.documents.verify(&user, &id).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "documents/delete")]
pub async fn delete_document(id: String) -> Result<(), AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let meta = crate::ssr::request_meta().await;
            ctx.documents.delete(&user, &id, meta).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Gives a draft a new title; returns the title as stored.
#[server(prefix = "/api", endpoint = "documents/rename")]
pub async fn rename_document(id: String, title: String) -> Result<String, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            let user = crate::ssr::session::require_user(&ctx).await?;
            let meta = crate::ssr::request_meta().await;
            ctx.documents.rename(&user, &id, &title, meta).await
        }
        .await,
    )
}

/// The largest file an upload may be, in bytes.
#[server(prefix = "/api", endpoint = "documents/limit", input = leptos::server_fn::codec::GetUrl)]
pub async fn upload_limit() -> Result<u64, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::context()?;
            crate::ssr::session::require_user(&ctx).await?;
            Ok(ctx.max_upload_bytes)
        }
        .await,
    )
}
