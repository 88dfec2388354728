//! The signing port: what the preparing and signing server functions need from the server.

use super::documents::RequestMeta;
use crate::api::signing::{BrowserGeo, DraftView, ScheduledSend, SignerView, SigningStatus, Submission};
use crate::error::AppError;
use attesta_core::User;
use attesta_core::signing::Draft;

/// A signer's view, with the key (`document/recipient`) their browser session is bound to.
pub struct OpenedLink {
    pub view: SignerView,
    pub recipient_key: String,
}

#[async_trait::async_trait]
pub trait SigningPort: Send + Sync {
    async fn draft(&self, viewer: &User, id: &str) -> Result<DraftView, AppError>;
    async fn save_draft(&self, viewer: &User, id: &str, revision: i64, draft: Draft) -> Result<i64, AppError>;
    async fn send(&self, viewer: &User, id: &str, revision: i64, meta: RequestMeta) -> Result<(), AppError>;
    async fn schedule(
        &self,
        viewer: &User,
        id: &str,
        revision: i64,
        local: &str,
        time_zone: &str,
        meta: RequestMeta,
    ) -> Result<ScheduledSend, AppError>;
    async fn cancel_schedule(&self, viewer: &User, id: &str, meta: RequestMeta) -> Result<(), AppError>;
    async fn status(&self, viewer: &User, id: &str) -> Result<SigningStatus, AppError>;
    async fn void(&self, viewer: &User, id: &str, reason: &str, meta: RequestMeta) -> Result<(), AppError>;
    async fn resend(&self, viewer: &User, id: &str, recipient: &str, meta: RequestMeta) -> Result<(), AppError>;

    /// What the signer's page shows; records nothing.
    async fn open(&self, token: &str) -> Result<OpenedLink, AppError>;
    /// The first call records `recipient.viewed`.
    async fn record_view(&self, token: &str, meta: RequestMeta) -> Result<(), AppError>;
    /// The key of the link's recipient, for the session check; refuses unusable links.
    async fn recipient_key(&self, token: &str) -> Result<String, AppError>;
    async fn consent(&self, token: &str, geo: Option<BrowserGeo>, meta: RequestMeta) -> Result<(), AppError>;
    async fn request_code(&self, token: &str, meta: RequestMeta) -> Result<(), AppError>;
    /// Returns the recipient key on success.
    async fn verify_code(&self, token: &str, code: &str, meta: RequestMeta) -> Result<String, AppError>;
    async fn submit(
        &self,
        token: &str,
        submission: Submission,
        code_verified_here: bool,
        meta: RequestMeta,
    ) -> Result<(), AppError>;
    async fn decline(
        &self,
        token: &str,
        reason: &str,
        code_verified_here: bool,
        meta: RequestMeta,
    ) -> Result<(), AppError>;
}
