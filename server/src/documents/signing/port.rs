//! The signing port the server functions call.

use super::{Documents, LinkProblem, SigningError};
use attesta_app::api::signing::{
    BrowserGeo, DraftView, RecipientState, ScheduledSend, SignerView, SigningStatus, Submission,
};
use attesta_app::error::AppError;
use attesta_app::ssr::documents::RequestMeta;
use attesta_app::ssr::signing::{OpenedLink, SigningPort};
use attesta_core::User;
use attesta_core::documents::DocumentStatus;
use attesta_core::signing::LocalId;
use attesta_core::signing::ceremony::{self, RecipientStatus};

impl From<SigningError> for AppError {
    fn from(e: SigningError) -> Self {
        match e {
            SigningError::Link(problem) => {
                AppError::LinkUnusable { reason: problem.code().to_owned(), message: problem.message().to_owned() }
            }
            SigningError::Document(e) => e.into(),
            SigningError::Refused(refusal) => super::DocumentError::Conflict(refusal.to_string()).into(),
            SigningError::Problems(p) => AppError::Problems(p),
            SigningError::Invalid { field, message } => AppError::validation(field, message),
            SigningError::TooMany { message, retry_after } => {
                let secs = retry_after.as_secs().max(1);
                if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
                }
                AppError::TooManyRequests { message, retry_after_secs: secs }
            }
        }
    }
}

/// `a***@example.com`: enough to recognise one's own address, not to learn someone else's.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "your email address".to_owned(),
    }
}

#[async_trait::async_trait]
impl SigningPort for Documents {
    async fn draft(&self, viewer: &User, id: &str) -> Result<DraftView, AppError> {
        let (document, draft, revision, pages) = Documents::draft(self, viewer, id).await?;
        let scheduled = self.scheduled_send(id).await?;
        Ok(DraftView {
            scheduled,
            id: document.id,
            title: document.title,
            status: document.status.as_str().to_owned(),
            draft,
            revision,
            pages,
            me_name: viewer.name.as_str().to_owned(),
            me_email: viewer.email.as_str().to_owned(),
        })
    }

    async fn save_draft(
        &self,
        viewer: &User,
        id: &str,
        revision: i64,
        draft: attesta_core::signing::Draft,
    ) -> Result<i64, AppError> {
        Ok(Documents::save_draft(self, viewer, id, revision, draft).await?)
    }

    async fn send(&self, viewer: &User, id: &str, revision: i64, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::send(self, viewer, id, revision, &meta).await?)
    }

    async fn schedule(
        &self,
        viewer: &User,
        id: &str,
        revision: i64,
        local: &str,
        time_zone: &str,
        meta: RequestMeta,
    ) -> Result<ScheduledSend, AppError> {
        Documents::schedule(self, viewer, id, revision, local, time_zone, &meta).await?;
        self.scheduled_send(id).await?.ok_or_else(|| AppError::Conflict("the schedule was cancelled meanwhile".into()))
    }

    async fn cancel_schedule(&self, viewer: &User, id: &str, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::cancel_schedule(self, viewer, id, &meta).await?)
    }

    async fn status(&self, viewer: &User, id: &str) -> Result<SigningStatus, AppError> {
        let (document, order, recipients, void_reason) = Documents::status(self, viewer, id).await?;
        // People in copy sign nothing: "1 of 2 signed" counts those who sign.
        let signs = |r: &&super::repo::RecipientRow| {
            attesta_core::ceremony::ParticipantRole::parse(&r.role).unwrap_or_default().must_act()
        };
        let total = u32::try_from(recipients.iter().filter(signs).count()).unwrap_or(u32::MAX);
        let signed =
            u32::try_from(recipients.iter().filter(|r| r.status == RecipientStatus::Signed).count()).unwrap_or(0);
        let owner =
            attesta_core::access::Principal::session(viewer).may_manage(attesta_core::UserId(document.owner_id));
        let status_label = match document.status {
            DocumentStatus::Sent if signed > 0 => format!("Partially signed ({signed} of {total})"),
            other => other.label().to_owned(),
        };
        let live = document.status == DocumentStatus::Sent;
        let scheduled = if document.status == DocumentStatus::Draft { self.scheduled_send(id).await? } else { None };
        let status_label = if scheduled.is_some() { "Scheduled".to_owned() } else { status_label };
        // Only the owner is shown when and offered the ways out; others see a scheduled draft.
        let scheduled = scheduled.filter(|_| owner);
        Ok(SigningStatus {
            scheduled,
            status: document.status.as_str().to_owned(),
            status_label,
            order: (!recipients.is_empty()).then_some(order),
            recipients: recipients
                .into_iter()
                .map(|r| {
                    let role = attesta_core::ceremony::ParticipantRole::parse(&r.role).unwrap_or_default();
                    let (shown, shown_label) = ceremony::shown_status_of(role, document.status, r.status);
                    RecipientState {
                        can_resend: owner
                            && live
                            && matches!(r.status, RecipientStatus::Sent | RecipientStatus::Viewed),
                        id: r.id,
                        role: role.as_str().to_owned(),
                        position: r.position,
                        name: r.name,
                        email: r.email,
                        status: shown.to_owned(),
                        status_label: shown_label.to_owned(),
                        otp_required: r.otp_required,
                        emailed_at: r.emailed_at,
                        viewed_at: r.viewed_at,
                        signed_at: r.signed_at,
                        declined_at: r.declined_at,
                        decline_reason: r.decline_reason,
                        email_error: r.email_error,
                        reminders_sent: r.reminders_sent,
                    }
                })
                .collect(),
            signed,
            total,
            void_reason,
            can_void: owner && live,
            can_prepare: owner && document.status == DocumentStatus::Draft,
        })
    }

    async fn void(&self, viewer: &User, id: &str, reason: &str, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::void(self, viewer, id, reason, &meta).await?)
    }

    async fn resend(&self, viewer: &User, id: &str, recipient: &str, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::resend(self, viewer, id, recipient, &meta).await?)
    }

    async fn open(&self, token: &str) -> Result<OpenedLink, AppError> {
        let link = self.link(token).await?;
        let pages = self.pages(&link.document).await?;
        let sender = self.sender_of(&link.document).await?;
        let rid = LocalId::parse(&link.recipient.id).ok_or(SigningError::Link(LinkProblem::Invalid))?;
        let fields = link.layout.fields_of(&rid, &pages).into_iter().cloned().collect();
        let otp_verified = !link.recipient.otp_required
            || super::repo::otp(&self.inner.pool, &link.document.id, &link.recipient.id)
                .await
                .map_err(SigningError::from)?
                .is_some_and(|s| s.verified_at.is_some());
        // "You are signer 2 of 3" counts those who act (people in copy are nobody's turn).
        let role_of =
            |r: &super::repo::RecipientRow| attesta_core::ceremony::ParticipantRole::parse(&r.role).unwrap_or_default();
        let actors: Vec<_> = link.recipients.iter().filter(|r| role_of(r).must_act()).collect();
        let view = SignerView {
            role: role_of(&link.recipient).as_str().to_owned(),
            title: link.document.title.clone(),
            disclosure: self.disclosure_text(&sender),
            sender,
            recipient_name: link.recipient.name.clone(),
            position: actors
                .iter()
                .position(|r| r.id == link.recipient.id)
                .and_then(|i| u32::try_from(i + 1).ok())
                .unwrap_or(link.recipient.position),
            total: u32::try_from(actors.len()).unwrap_or(u32::MAX),
            order: link.order,
            fields,
            pages,
            file_url: format!("/sign/{token}/file"),
            consented: link.recipient.consented_at.is_some(),
            otp_required: link.recipient.otp_required,
            otp_verified,
            otp_destination: mask_email(&link.recipient.email),
            today: crate::clock::utc_date(self.inner.clock.now()),
        };
        Ok(OpenedLink { view, recipient_key: super::recipient_key(&link.recipient) })
    }

    async fn record_view(&self, token: &str, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::record_view(self, token, &meta).await?)
    }

    async fn recipient_key(&self, token: &str) -> Result<String, AppError> {
        Ok(Documents::recipient_key(self, token).await?)
    }

    async fn consent(&self, token: &str, geo: Option<BrowserGeo>, meta: RequestMeta) -> Result<(), AppError> {
        let geo = geo.map(|g| (g.latitude, g.longitude, g.accuracy));
        Ok(Documents::consent(self, token, geo, &meta).await?)
    }

    async fn request_code(&self, token: &str, meta: RequestMeta) -> Result<(), AppError> {
        Ok(Documents::request_code(self, token, &meta).await?)
    }

    async fn verify_code(&self, token: &str, code: &str, meta: RequestMeta) -> Result<String, AppError> {
        Ok(Documents::verify_code(self, token, code, &meta).await?)
    }

    async fn submit(
        &self,
        token: &str,
        submission: Submission,
        code_verified_here: bool,
        meta: RequestMeta,
    ) -> Result<(), AppError> {
        Ok(Documents::sign(self, token, submission, code_verified_here, &meta).await?)
    }

    async fn decline(
        &self,
        token: &str,
        reason: &str,
        code_verified_here: bool,
        meta: RequestMeta,
    ) -> Result<(), AppError> {
        Ok(Documents::decline(self, token, reason, code_verified_here, &meta).await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails_are_masked() {
        assert_eq!(super::mask_email("ada@example.com"), "a***@example.com");
        assert_eq!(super::mask_email("nope"), "your email address");
    }
}
