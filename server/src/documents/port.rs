//! The documents port the server functions call, over the document service.

use super::{DocumentError, Documents, StoredDocument, repo};
use attesta_app::api::documents::{DocumentDetail, DocumentPage, DocumentRow, VerifyOutcome};
use attesta_app::error::AppError;
use attesta_app::ssr::documents::{DocumentsPort, RequestMeta};
use attesta_app::ssr::internal;
use attesta_core::User;
use attesta_core::documents::ListQuery;

impl From<DocumentError> for AppError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::NotFound => AppError::NotFound,
            DocumentError::Forbidden => AppError::Forbidden,
            DocumentError::Conflict(why) | DocumentError::Gone(why) => AppError::Conflict(why),
            DocumentError::Invalid { field, message } => AppError::validation(field, message),
            DocumentError::Internal(e) => internal(format!("{e:#}")),
        }
    }
}

pub fn row(d: &StoredDocument) -> DocumentRow {
    let scheduled = d.scheduled.as_ref().filter(|_| d.status == attesta_core::documents::DocumentStatus::Draft);
    DocumentRow {
        id: d.id.clone(),
        title: d.title.clone(),
        status: d.status.as_str().to_owned(),
        status_label: if scheduled.is_some() { "Scheduled".to_owned() } else { d.status.label().to_owned() },
        scheduled_label: scheduled.map(|(at, zone)| {
            attesta_core::ceremony::schedule::describe(attesta_core::Timestamp::from_micros(*at), zone)
        }),
        expires_at: d.expires_at.filter(|_| d.status == attesta_core::documents::DocumentStatus::Sent),
        pages: d.page_count,
        size: d.size,
        created_at: d.created_at,
        owner_name: d.owner_name.clone(),
    }
}

#[async_trait::async_trait]
impl DocumentsPort for Documents {
    async fn list(&self, viewer: &User, query: &ListQuery) -> Result<DocumentPage, AppError> {
        let scope = match attesta_core::access::Principal::session(viewer).list_filter() {
            None => repo::Scope::All,
            Some(owner) => repo::Scope::OwnedBy(owner.0),
        };
        let (rows, total) = repo::list(
            &self.inner.pool,
            &scope,
            query,
            repo::ListView { now: self.inner.clock.now(), email: viewer.email.as_str() },
        )
        .await
        .map_err(internal)?;
        let any_documents = total > 0 || repo::any(&self.inner.pool, &scope).await.map_err(internal)?;
        Ok(DocumentPage {
            rows: rows.iter().map(row).collect(),
            total,
            page_count: query.page_count(total),
            query: query.clone(),
            any_documents,
        })
    }

    async fn detail(&self, viewer: &User, id: &str) -> Result<DocumentDetail, AppError> {
        let document = self.visible(viewer, id).await?;
        let manages =
            attesta_core::access::Principal::session(viewer).may_manage(attesta_core::UserId(document.owner_id));
        let timeline = self.timeline(&document).await?;
        let state = self.completion(&document.id).await?;
        let completion = attesta_app::api::documents::Completion {
            signed_sha256: state.signed_sha256.map(|s| s.to_hex()),
            sealed_sha256: state.sealed_sha256.map(|s| s.to_hex()),
            sealed_at: state.sealed_at,
            error: state.error.filter(|_| manages || viewer.role.can_administer()),
            files_purged_at: document.files_purged_at,
        };
        Ok(DocumentDetail {
            row: row(&document),
            sha256: document.sha256.to_hex(),
            source: document.source.as_str().to_owned(),
            original_name: document.original_name.clone(),
            has_file: document.blob_key.is_some(),
            can_delete: document.status.can_delete() && manages,
            can_rename: document.status.can_rename() && manages,
            timeline,
            // Filled in by the server function from the signing port.
            signing: Default::default(),
            completion,
        })
    }

    async fn verify(&self, viewer: &User, id: &str) -> Result<VerifyOutcome, AppError> {
        let document = self.visible(viewer, id).await?;
        Ok(Documents::verify(self, &document).await?)
    }

    async fn delete(&self, viewer: &User, id: &str, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::delete(self, viewer, id, &meta).await?)
    }

    async fn rename(&self, viewer: &User, id: &str, title: &str, meta: RequestMeta) -> Result<String, AppError> {
        Ok(Documents::rename(self, viewer, id, title, &meta).await?.into())
    }

    async fn holds(&self, viewer: &User, id: &str) -> Result<Vec<attesta_app::api::trust::HoldDto>, AppError> {
        let principal = attesta_core::access::Principal::session(viewer);
        Ok(Documents::holds(self, &principal, id).await?.iter().map(super::holds::dto).collect())
    }

    async fn change_hold(
        &self,
        viewer: &User,
        id: &str,
        reason: &str,
        place: bool,
        meta: RequestMeta,
    ) -> Result<attesta_app::api::trust::HoldDto, AppError> {
        let principal = attesta_core::access::Principal::session(viewer);
        let hold = if place {
            self.place_hold(&principal, viewer, id, reason, &meta).await?
        } else {
            self.release_hold(&principal, viewer, id, reason, &meta).await?
        };
        Ok(super::holds::dto(&hold))
    }
}
