//! Preparing, sending and signing: the sender's server functions (signed-in) and the signer's
//! (by link, no account). The signer's live under `/api/sign/` so the server can rate-limit them
//! apart from everything else.

use crate::error::AppError;
use attesta_core::signing::ceremony::FieldInput;
use attesta_core::signing::geometry::PageGeometry;
use attesta_core::signing::{Draft, DraftField, LocalId, SigningOrder};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The editor's view of a document: the draft as last saved and the pages to place fields on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub draft: Draft,
    /// Saves must name the revision they started from; another tab's save in between is a
    /// conflict, never a silent overwrite.
    pub revision: i64,
    pub pages: Vec<PageGeometry>,
    /// The sender's own name and email (to add themselves as a signer in one click).
    pub me_name: String,
    pub me_email: String,
    /// When the draft is scheduled to be sent: it is locked until then.
    pub scheduled: Option<ScheduledSend>,
}

/// A draft's scheduled send, as its sender reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledSend {
    /// UTC µs.
    pub send_at: i64,
    /// The IANA zone the sender picked the time in.
    pub time_zone: String,
    /// "Mon 7 Dec 2026, 09:00 (Europe/Paris)".
    pub label: String,
    /// `YYYY-MM-DDTHH:MM` in that zone, for a `datetime-local` input.
    pub local: String,
    /// The draft revision it was scheduled at ("Send now" names it).
    pub revision: i64,
}

/// One recipient as the sender follows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientState {
    pub id: String,
    /// `signer` or `cc`.
    pub role: String,
    pub position: u32,
    pub name: String,
    pub email: String,
    /// `waiting`, `sent`, `viewed`, `signed`, `declined`.
    pub status: String,
    pub status_label: String,
    pub otp_required: bool,
    pub emailed_at: Option<i64>,
    pub viewed_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub declined_at: Option<i64>,
    pub decline_reason: Option<String>,
    /// The last email to them failed: why.
    pub email_error: Option<String>,
    pub can_resend: bool,
    /// Reminders sent to them so far (each with a fresh link).
    pub reminders_sent: u32,
}

/// Where a sent document stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningStatus {
    pub status: String,
    /// `Sent`, `Partially signed (1 of 2)`, `Completed`, ...
    pub status_label: String,
    pub order: Option<SigningOrder>,
    pub recipients: Vec<RecipientState>,
    pub signed: u32,
    pub total: u32,
    pub void_reason: Option<String>,
    pub can_void: bool,
    pub can_prepare: bool,
    /// When the draft is scheduled to be sent.
    pub scheduled: Option<ScheduledSend>,
}

/// Location the signer's browser reported, with their permission.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BrowserGeo {
    pub latitude: f64,
    pub longitude: f64,
    /// Metres.
    pub accuracy: Option<f64>,
}

/// What the signer's page needs. Nothing here is about other recipients beyond a count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignerView {
    /// `signer` or `approver`: what the page asks of them.
    pub role: String,
    pub title: String,
    pub sender: String,
    pub recipient_name: String,
    pub position: u32,
    pub total: u32,
    pub order: SigningOrder,
    /// This signer's fields, in the order they are guided through.
    pub fields: Vec<DraftField>,
    pub pages: Vec<PageGeometry>,
    pub file_url: String,
    pub disclosure: String,
    pub consented: bool,
    pub otp_required: bool,
    pub otp_verified: bool,
    /// The email the code goes to, partly hidden (`a***@example.com`).
    pub otp_destination: String,
    /// Today's date as it will be written into date fields (UTC, `YYYY-MM-DD`).
    pub today: String,
}

/// What the signer submits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub values: BTreeMap<LocalId, FieldInput>,
    /// PNG, base64, when a signature field is used.
    pub signature_png: Option<String>,
    /// `drawn` or `typed`.
    pub signature_method: Option<String>,
    pub initials_png: Option<String>,
    pub initials_method: Option<String>,
    /// SHA-256 (hex) of the exact PDF bytes the browser showed.
    pub client_sha256: String,
    /// The browser's location at signing, only when the signer allowed it.
    #[serde(default)]
    pub geo: Option<BrowserGeo>,
}

#[server(prefix = "/api", endpoint = "draft", input = leptos::server_fn::codec::Json)]
pub async fn get_draft(id: String) -> Result<DraftView, AppError> {
    use crate::ssr::{context, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.draft(&user, &id).await
        }
        .await,
    )
}

/// Saves the draft; returns the new revision.
#[server(prefix = "/api", endpoint = "draft/save", input = leptos::server_fn::codec::Json)]
pub async fn save_draft(id: String, revision: i64, draft: Draft) -> Result<i64, AppError> {
    use crate::ssr::{context, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.save_draft(&user, &id, revision, draft).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "draft/send", input = leptos::server_fn::codec::Json)]
pub async fn send_document(id: String, revision: i64) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.send(&user, &id, revision, request_meta().await).await
        }
        .await,
    )
}

/// Schedules the draft at `revision` to be sent at `local` (`YYYY-MM-DDTHH:MM`) on the clock of
/// `time_zone` (the browser's IANA zone), or moves its schedule there.
#[server(prefix = "/api", endpoint = "draft/schedule", input = leptos::server_fn::codec::Json)]
pub async fn schedule_send(
    id: String,
    revision: i64,
    local: String,
    time_zone: String,
) -> Result<ScheduledSend, AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.schedule(&user, &id, revision, &local, &time_zone, request_meta().await).await
        }
        .await,
    )
}

/// Cancels the draft's scheduled send; it can be edited again.
#[server(prefix = "/api", endpoint = "draft/unschedule", input = leptos::server_fn::codec::Json)]
pub async fn cancel_schedule(id: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.cancel_schedule(&user, &id, request_meta().await).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "signing/status", input = leptos::server_fn::codec::Json)]
pub async fn get_signing_status(id: String) -> Result<SigningStatus, AppError> {
    use crate::ssr::{context, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.status(&user, &id).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "signing/void", input = leptos::server_fn::codec::Json)]
pub async fn void_document(id: String, reason: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.void(&user, &id, &reason, request_meta().await).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "signing/resend", input = leptos::server_fn::codec::Json)]
pub async fn resend_link(id: String, recipient: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let user = session::require_user(&ctx).await?;
            ctx.signing.resend(&user, &id, &recipient, request_meta().await).await
        }
        .await,
    )
}

// ---- the signer, by link -------------------------------------------------------------------

#[server(prefix = "/api/sign", endpoint = "open", input = leptos::server_fn::codec::Json)]
pub async fn open_signing(token: String) -> Result<SignerView, AppError> {
    use crate::ssr::{context, respond, session};
    respond(
        async {
            let ctx = context()?;
            let view = ctx.signing.open(&token).await?;
            let verified = session::signer_verified(&view.recipient_key).await;
            let mut view = view.view;
            view.otp_verified = !view.otp_required || (view.otp_verified && verified);
            Ok(view)
        }
        .await,
    )
}

/// The page is showing the document: the first call records `recipient.viewed`. Made by the
/// running page, not by rendering the link, so link scanners in mail systems are not views.
#[server(prefix = "/api/sign", endpoint = "viewed", input = leptos::server_fn::codec::Json)]
pub async fn record_view(token: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond};
    respond(
        async {
            let ctx = context()?;
            ctx.signing.record_view(&token, request_meta().await).await
        }
        .await,
    )
}

#[server(prefix = "/api/sign", endpoint = "consent", input = leptos::server_fn::codec::Json)]
pub async fn consent(token: String, geo: Option<BrowserGeo>) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond};
    respond(
        async {
            let ctx = context()?;
            ctx.signing.consent(&token, geo, request_meta().await).await
        }
        .await,
    )
}

#[server(prefix = "/api/sign", endpoint = "code", input = leptos::server_fn::codec::Json)]
pub async fn request_code(token: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond};
    respond(
        async {
            let ctx = context()?;
            ctx.signing.request_code(&token, request_meta().await).await
        }
        .await,
    )
}

#[server(prefix = "/api/sign", endpoint = "verify", input = leptos::server_fn::codec::Json)]
pub async fn verify_code(token: String, code: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let key = ctx.signing.verify_code(&token, &code, request_meta().await).await?;
            // The code proves this browser reads the inbox: only this browser may go on to sign.
            session::mark_signer_verified(&key).await
        }
        .await,
    )
}

#[server(prefix = "/api/sign", endpoint = "submit", input = leptos::server_fn::codec::Json)]
pub async fn submit_signing(token: String, submission: Submission) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let key = ctx.signing.recipient_key(&token).await?;
            let verified = session::signer_verified(&key).await;
            ctx.signing.submit(&token, submission, verified, request_meta().await).await
        }
        .await,
    )
}

#[server(prefix = "/api/sign", endpoint = "decline", input = leptos::server_fn::codec::Json)]
pub async fn decline_signing(token: String, reason: String) -> Result<(), AppError> {
    use crate::ssr::{context, request_meta, respond, session};
    respond(
        async {
            let ctx = context()?;
            let key = ctx.signing.recipient_key(&token).await?;
            let verified = session::signer_verified(&key).await;
            ctx.signing.decline(&token, &reason, verified, request_meta().await).await
        }
        .await,
    )
}
