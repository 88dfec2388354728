//! The documents port: what the server functions need from the server's document service. The
//! server implements it over its database, evidence log and blob store.

use crate::api::documents::{DocumentDetail, DocumentPage, VerifyOutcome};
use crate::error::AppError;
use attesta_core::User;
use attesta_core::documents::ListQuery;
use std::net::IpAddr;

/// Who made a request, as recorded in evidence.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// Set when the user acts through an API key: the evidence then names the key as the actor.
    pub api_key: Option<ApiKeyActor>,
}

impl RequestMeta {
    /// The client address (as the server's middleware resolved it) and user agent of a request
    /// handled outside server functions; no API key.
    pub fn of_request(extensions: &http::Extensions, headers: &http::HeaderMap) -> Self {
        Self {
            ip: extensions.get::<super::ClientAddress>().map(|c| c.0),
            user_agent: headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
            api_key: None,
        }
    }
}

/// The API key a request came with, as the audit trail names it.
#[derive(Debug, Clone)]
pub struct ApiKeyActor {
    pub public_id: attesta_core::api_keys::PublicId,
    pub name: String,
}

#[async_trait::async_trait]
pub trait DocumentsPort: Send + Sync {
    /// The documents `viewer` may see that match `query`.
    async fn list(&self, viewer: &User, query: &ListQuery) -> Result<DocumentPage, AppError>;
    /// One document with its timeline; `NotFound` also when the viewer may not see it.
    async fn detail(&self, viewer: &User, id: &str) -> Result<DocumentDetail, AppError>;
    /// Runs the evidence verifier on the document, and checks the stored file against it.
    async fn verify(&self, viewer: &User, id: &str) -> Result<VerifyOutcome, AppError>;
    /// Deletes a draft's file; its evidence stays.
    async fn delete(&self, viewer: &User, id: &str, meta: RequestMeta) -> Result<(), AppError>;
    /// Gives the owner's draft a new title; returns it as stored (trimmed, spaces collapsed).
    async fn rename(&self, viewer: &User, id: &str, title: &str, meta: RequestMeta) -> Result<String, AppError>;
    /// The document's legal holds, newest first, if `viewer` may see it.
    async fn holds(&self, viewer: &User, id: &str) -> Result<Vec<crate::api::trust::HoldDto>, AppError>;
    /// Places (`place`) or releases a legal hold, with its reason (owners and admins).
    async fn change_hold(
        &self,
        viewer: &User,
        id: &str,
        reason: &str,
        place: bool,
        meta: RequestMeta,
    ) -> Result<crate::api::trust::HoldDto, AppError>;
}
