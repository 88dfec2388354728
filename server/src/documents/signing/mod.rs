//! Preparing and signing: drafts, sending, the signer's link, one-time codes, signatures,
//! declines, voids, and completion.
//!
//! Every change of state is appended to the evidence log with the change itself as the event's
//! effect, in one transaction (see `Documents::upload`). Emails go out after the commit; each
//! delivered mail then gets its own `recipient.email_sent` event, and a failed one is shown to
//! the sender, who can resend (which also issues a fresh link: the old one stops working).

mod port;
pub mod repo;

use super::{DocumentError, Documents, StoredDocument, parse_id};
use crate::evidence::{Append, EffectError, EvidenceError};
use crate::mail::{Mail, templates};
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::documents::DocumentStatus;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, EventType, GeoSource, Geolocation, Latitude, Longitude, NewEvent, PersonalData, Sha256,
};
use attesta_core::signing::ceremony::{self, FieldInput, RecipientStatus};
use attesta_core::signing::geometry::PageGeometry;
use attesta_core::signing::otp::{self, OtpOutcome, OtpState};
use attesta_core::signing::token::{SigningToken, same_digest};
use attesta_core::signing::{Draft, FieldKind, SigningOrder};
use repo::RecipientRow;
use serde_json::json;

/// What a signer's link leads to, once checked.
pub struct Link {
    pub document: StoredDocument,
    pub recipient: RecipientRow,
    pub recipients: Vec<RecipientRow>,
    pub layout: Draft,
    pub order: SigningOrder,
}

/// Why a link cannot be used. The words never name the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Invalid,
    Signed,
    Declined,
    Completed,
    Voided,
    Expired,
    Ended,
}

impl LinkProblem {
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Signed => "signed",
            Self::Declined => "declined",
            Self::Completed => "completed",
            Self::Voided => "voided",
            Self::Expired => "expired",
            Self::Ended => "ended",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => {
                "This signing link is not valid. It may have been mistyped, or replaced by a newer link \
                 sent to you by email."
            }
            Self::Signed => "You have already signed. There is nothing more to do with this link.",
            Self::Declined => "Signing was declined, so this link no longer works.",
            Self::Completed => "Everyone has signed; this link no longer works. The sender can send you a copy.",
            Self::Voided => "The sender cancelled this signing request, so this link no longer works.",
            Self::Expired => "This signing request has expired. Ask the sender for a new one.",
            Self::Ended => "This signing request has ended, so this link no longer works.",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{}", .0.message())]
    Link(LinkProblem),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Problems(Vec<attesta_core::signing::DraftProblem>),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{message}")]
    TooMany { message: String, retry_after: std::time::Duration },
}

impl From<sqlx::Error> for SigningError {
    fn from(e: sqlx::Error) -> Self {
        Self::Document(e.into())
    }
}

fn conflict(why: impl Into<String>) -> SigningError {
    SigningError::Document(DocumentError::Conflict(why.into()))
}

fn internal(e: impl std::fmt::Display) -> SigningError {
    SigningError::Document(DocumentError::Internal(anyhow::anyhow!("{e}")))
}

fn invalid(field: &'static str, message: impl Into<String>) -> SigningError {
    SigningError::Invalid { field, message: message.into() }
}

/// Largest signature or initials image accepted, in bytes.
const MAX_IMAGE_BYTES: usize = 512 * 1024;
/// Largest image side accepted, in pixels.
const MAX_IMAGE_SIDE: u32 = 4000;

impl Documents {
    // ---- the sender ---------------------------------------------------------------------

    /// The document's pages as a viewer shows them, computed from the file once and kept.
    pub async fn pages(&self, document: &StoredDocument) -> Result<Vec<PageGeometry>, SigningError> {
        let row = repo::draft(&self.inner.pool, &document.id).await?.ok_or(DocumentError::NotFound)?;
        if let Some(json) = row.pages_json
            && let Ok(pages) = serde_json::from_str::<Vec<PageGeometry>>(&json)
        {
            return Ok(pages);
        }
        use futures_util::TryStreamExt as _;
        let mut stream = self.decrypted(document).await?;
        let mut bytes = Vec::with_capacity(usize::try_from(document.size).unwrap_or(0));
        while let Some(chunk) = stream.try_next().await.map_err(internal)? {
            bytes.extend_from_slice(&chunk);
        }
        let pages = tokio::task::spawn_blocking(move || attesta_core::documents::pdf::page_geometry(&bytes))
            .await
            .map_err(internal)?
            .map_err(|e| conflict(format!("the pages of this PDF cannot be measured: {e}")))?;
        let json = serde_json::to_string(&pages).map_err(internal)?;
        repo::store_pages(&self.inner.pool, &document.id, &json).await?;
        Ok(pages)
    }

    /// A document the viewer owns, to prepare or follow.
    async fn owned(&self, viewer: &User, id: &str) -> Result<StoredDocument, SigningError> {
        let document = self.visible(viewer, id).await?;
        if document.owner_id != viewer.id.0 {
            return Err(DocumentError::Forbidden.into());
        }
        Ok(document)
    }

    pub async fn draft(
        &self,
        viewer: &User,
        id: &str,
    ) -> Result<(StoredDocument, Draft, i64, Vec<PageGeometry>), SigningError> {
        let document = self.visible(viewer, id).await?;
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let json = row.layout_json.or(row.draft_json);
        let draft = match json {
            Some(json) => serde_json::from_str(&json).map_err(internal)?,
            None => Draft::default(),
        };
        let pages = self.pages(&document).await?;
        Ok((document, draft, row.revision, pages))
    }

    /// Saves the sender's work; refuses a save based on an older revision than the stored one.
    pub async fn save_draft(&self, viewer: &User, id: &str, revision: i64, draft: Draft) -> Result<i64, SigningError> {
        let document = self.owned(viewer, id).await?;
        if document.status != DocumentStatus::Draft {
            return Err(conflict("this document was sent and can no longer change"));
        }
        let pages = self.pages(&document).await?;
        draft.check_for_save(&pages).map_err(SigningError::Problems)?;
        let json = serde_json::to_string(&draft).map_err(internal)?;
        let now = self.inner.clock.now().as_micros();
        repo::save_draft(&self.inner.pool, id, revision, &json, now).await?.ok_or_else(|| {
            conflict("this draft was changed elsewhere (another tab?) since you opened it: reload to see the latest")
        })
    }

    /// Sends the draft at `revision`: freezes file and layout, records `document.sent`, then
    /// issues and emails the first links.
    pub async fn send(&self, viewer: &User, id: &str, revision: i64, meta: &RequestMeta) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        if document.status != DocumentStatus::Draft {
            return Err(conflict("this document was already sent"));
        }
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        if row.revision != revision {
            return Err(conflict("this draft was changed elsewhere since you opened it: reload before sending"));
        }
        let draft: Draft = match &row.draft_json {
            Some(json) => serde_json::from_str(json).map_err(internal)?,
            None => Draft::default(),
        };
        let pages = self.pages(&document).await?;
        let sendable = draft.check_for_send(&pages).map_err(SigningError::Problems)?.into_draft();
        let layout_sha256 = sendable.layout_sha256();
        let layout_json = serde_json::to_string(&sendable).map_err(internal)?;
        let details = json!({
            "layout_sha256": layout_sha256.to_hex(),
            "order": sendable.order.as_str(),
            "recipients": sendable.recipients.len(),
            "fields": sendable.fields.len(),
        });
        let event = self.user_event(EventType::DocumentSent, viewer, meta, document.sha256, details)?;
        let now = self.inner.clock.now().as_micros();
        let doc_id = document.id.clone();
        let order = sendable.order.as_str();
        let people: Vec<_> =
            sendable.recipients.iter().map(|r| (r.id.to_string(), r.name.clone(), r.email.clone(), r.otp)).collect();
        let append =
            Append::event(parse_id(id)?, event, self.personal(viewer, meta)).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if !repo::mark_sent(conn, &doc_id, revision, &layout_json, &layout_sha256, order, now).await? {
                        return Err(EffectError::Refused(
                            "this draft changed or was sent meanwhile: reload".to_owned(),
                        ));
                    }
                    for (i, (rid, name, email, otp)) in people.iter().enumerate() {
                        let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
                        repo::insert_recipient(conn, &doc_id, rid, position, name, email, *otp).await?;
                    }
                    // The first links go out as a job enqueued with the change: after the answer
                    // (a slow mail server never holds up the sender's request), and surely.
                    advance_job(conn, &doc_id, now).await
                })
            }));
        self.append(append).await?;
        self.inner.jobs_wake.notify_one();
        tracing::info!(document_id = %document.id, recipients = sendable.recipients.len(), "document sent");
        Ok(())
    }

    /// Issues and emails links to everyone whose turn has come and who has none yet. A mail that
    /// fails is shown to the sender beside that person (who can resend); the link is issued.
    async fn issue_due_links(&self, id: &str) -> Result<(), SigningError> {
        let (recipients, order) = self.ceremony_state(id).await?;
        let statuses: Vec<_> = recipients.iter().map(|r| r.status).collect();
        for index in ceremony::due_for_link(order, &statuses) {
            if let Err(e) = self.issue_link_and_email(id, &recipients[index], None).await {
                tracing::error!(document_id = %id, recipient = %recipients[index].id, error = %e, "issuing a signing link");
            }
        }
        Ok(())
    }

    async fn ceremony_state(&self, id: &str) -> Result<(Vec<RecipientRow>, SigningOrder), SigningError> {
        let recipients = repo::recipients(&self.inner.pool, id).await?;
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let order = row.signing_order.as_deref().and_then(SigningOrder::parse).unwrap_or_default();
        Ok((recipients, order))
    }

    /// A fresh link for `recipient` (replacing any older one), emailed; `recipient.email_sent`
    /// once the mail server took it.
    /// `by` is the user whose action sends it (a resend), or `None` when the system sends it on
    /// its own (the first links, the next signer's).
    async fn issue_link_and_email(
        &self,
        id: &str,
        recipient: &RecipientRow,
        by: Option<(&User, &RequestMeta)>,
    ) -> Result<(), SigningError> {
        let resend = by.is_some();
        let token = new_token();
        let now = self.inner.clock.now().as_micros();
        if !repo::issue_link(&self.inner.pool, id, &recipient.id, &token.hash(), !resend, now).await? {
            if !resend {
                // Another request issued this first link a moment ago.
                return Ok(());
            }
            return Err(conflict("this person cannot get a link now"));
        }
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let (sender_name, sender_email) = self.owner_contact(&document).await?;
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let message = row
            .layout_json
            .as_deref()
            .and_then(|j| serde_json::from_str::<Draft>(j).ok())
            .map(|d| d.message)
            .filter(|m| !m.trim().is_empty());
        let link = format!("{}/sign/{}", self.inner.public_origin, token.as_str());
        let mail = templates::signing_request(templates::SigningRequest {
            recipient_name: recipient.name.clone(),
            recipient_email: recipient.email.clone(),
            sender_name,
            sender_email,
            document_title: document.title.clone(),
            link,
            message,
            otp_required: recipient.otp_required,
        });
        self.deliver(&document, recipient, mail, json!({ "purpose": "signing_request", "resend": resend }), by).await
    }

    /// Sends one mail to a recipient and records it; a failure is kept for the sender to see.
    async fn deliver(
        &self,
        document: &StoredDocument,
        recipient: &RecipientRow,
        mail: Mail,
        mut details: serde_json::Value,
        by: Option<(&User, &RequestMeta)>,
    ) -> Result<(), SigningError> {
        details["recipient"] = json!(recipient.id);
        details["position"] = json!(recipient.position);
        details["template"] = json!(mail.template);
        let sent = self.inner.mailer.send(mail).await;
        // "Emailed" on the sender's page is when the link went out: a later notice (the void)
        // is in the timeline, and must not move it.
        let is_link = details["purpose"] == "signing_request";
        let (event_type, failure) = match &sent {
            Ok(delivered) => {
                details["delivery"] = delivery_details(delivered);
                (EventType::RecipientEmailSent, None)
            }
            Err(e) => {
                details["error"] = mail_error_details(e);
                (EventType::RecipientEmailFailed, Some(e.to_string()))
            }
        };
        // Sent at a user's request (a resend): they are the actor, with their request's origin;
        // sent by the ceremony itself or a job: the system, with the recipient as addressee.
        let (event, personal) = match by {
            Some((user, meta)) => {
                (self.user_event(event_type, user, meta, document.sha256, details)?, self.personal(user, meta))
            }
            None => (
                self.system_event(event_type, document.sha256, details)?,
                self.recipient_personal(recipient, &RequestMeta::default(), None),
            ),
        };
        let (doc_id, rid) = (document.id.clone(), recipient.id.clone());
        let now = self.inner.clock.now().as_micros();
        let error = failure.clone();
        let append = Append::event(parse_id(&document.id)?, event, personal).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                match &error {
                    // The sender sees why beside the recipient (it is their mail server).
                    Some(text) => repo::record_email_error(conn, &doc_id, &rid, text).await?,
                    None if is_link => repo::record_email(conn, &doc_id, &rid, now).await?,
                    None => {}
                }
                Ok(())
            })
        }));
        self.append(append).await?;
        if let Some(text) = failure {
            tracing::warn!(document_id = %document.id, recipient = %recipient.id, error = %text, "mail not delivered");
            return Err(conflict(format!("the email to {} could not be sent: {text}", recipient.email)));
        }
        Ok(())
    }

    pub(super) async fn owner_contact(&self, document: &StoredDocument) -> Result<(String, String), SigningError> {
        let row: (String, String) = sqlx::query_as("SELECT name, email FROM users WHERE id = ?")
            .bind(document.owner_id)
            .fetch_one(&self.inner.pool)
            .await?;
        Ok(row)
    }

    pub async fn status(
        &self,
        viewer: &User,
        id: &str,
    ) -> Result<(StoredDocument, SigningOrder, Vec<RecipientRow>, Option<String>), SigningError> {
        let document = self.visible(viewer, id).await?;
        let (recipients, order) = self.ceremony_state(id).await?;
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        Ok((document, order, recipients, row.void_reason))
    }

    /// Cancels a sent document; recipients who had a link are told.
    pub async fn void(&self, viewer: &User, id: &str, reason: &str, meta: &RequestMeta) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        if document.status != DocumentStatus::Sent {
            return Err(conflict("only a document out for signature can be voided"));
        }
        let reason = ceremony::clean_reason(reason).map_err(|m| invalid("reason", m))?;
        let event =
            self.user_event(EventType::DocumentVoided, viewer, meta, document.sha256, json!({ "reason": reason }))?;
        let (doc_id, why) = (document.id.clone(), reason.clone());
        let now = self.inner.clock.now().as_micros();
        // Everyone who had a link is told, each by a job committed with the void. (Read before
        // the change; the void itself refuses if the document moved on meanwhile.)
        let told: Vec<String> = repo::recipients(&self.inner.pool, id)
            .await?
            .into_iter()
            .filter(|r| r.status != RecipientStatus::Waiting && r.status != RecipientStatus::Declined)
            .map(|r| r.id)
            .collect();
        let append =
            Append::event(parse_id(id)?, event, self.personal(viewer, meta)).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if !repo::finish(conn, &doc_id, "voided", Some(&why), now).await? {
                        return Err(EffectError::Refused("only a document out for signature can be voided".to_owned()));
                    }
                    for recipient in told {
                        notice_job(conn, &doc_id, Notice::Voided { recipient }, now).await?;
                    }
                    Ok(())
                })
            }));
        self.append(append).await?;
        self.inner.jobs_wake.notify_one();
        Ok(())
    }

    /// Emails a recipient a fresh link (the previous one stops working).
    pub async fn resend(
        &self,
        viewer: &User,
        id: &str,
        recipient: &str,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        if document.status != DocumentStatus::Sent {
            return Err(conflict("links can only be resent while the document is out for signature"));
        }
        let recipients = repo::recipients(&self.inner.pool, id).await?;
        let r = recipients.iter().find(|r| r.id == recipient).ok_or(DocumentError::NotFound)?;
        let (_, order) = self.ceremony_state(id).await?;
        let statuses: Vec<_> = recipients.iter().map(|x| x.status).collect();
        let index = recipients.iter().position(|x| x.id == r.id).unwrap_or(usize::MAX);
        match r.status {
            RecipientStatus::Sent | RecipientStatus::Viewed => {}
            // Their turn came but their first link never went out (the server stopped mid-way).
            RecipientStatus::Waiting if ceremony::due_for_link(order, &statuses).contains(&index) => {}
            RecipientStatus::Waiting => return Err(conflict("it is not this person's turn yet")),
            RecipientStatus::Signed => return Err(conflict("this person has already signed")),
            RecipientStatus::Declined => return Err(conflict("this person declined")),
        }
        repo::reset_otp(&self.inner.pool, id, &r.id).await?;
        self.issue_link_and_email(id, r, Some((viewer, meta))).await
    }

    // ---- the signer ---------------------------------------------------------------------

    /// Resolves a link: the token's shape, its hash in constant time, the document still out for
    /// signature, and this person still able to act.
    pub async fn link(&self, token: &str) -> Result<Link, SigningError> {
        let token = SigningToken::parse(token).ok_or(SigningError::Link(LinkProblem::Invalid))?;
        let hash = token.hash();
        let recipient = repo::recipient_by_token(&self.inner.pool, &hash).await?;
        let recipient = match recipient {
            Some(r) if r.token_hash.as_ref().is_some_and(|h| same_digest(h, &hash)) => r,
            _ => return Err(SigningError::Link(LinkProblem::Invalid)),
        };
        let document = super::repo::find(&self.inner.pool, &recipient.document_id)
            .await?
            .ok_or(SigningError::Link(LinkProblem::Invalid))?;
        match document.status {
            DocumentStatus::Sent => {}
            DocumentStatus::Completed => return Err(SigningError::Link(LinkProblem::Completed)),
            DocumentStatus::Voided => return Err(SigningError::Link(LinkProblem::Voided)),
            DocumentStatus::Expired => return Err(SigningError::Link(LinkProblem::Expired)),
            DocumentStatus::Declined if recipient.status != RecipientStatus::Declined => {
                return Err(SigningError::Link(LinkProblem::Declined));
            }
            _ => {}
        }
        match recipient.status {
            RecipientStatus::Signed => return Err(SigningError::Link(LinkProblem::Signed)),
            RecipientStatus::Declined => return Err(SigningError::Link(LinkProblem::Declined)),
            RecipientStatus::Waiting => return Err(SigningError::Link(LinkProblem::Invalid)),
            _ => {}
        }
        let row = repo::draft(&self.inner.pool, &document.id).await?.ok_or(DocumentError::NotFound)?;
        let layout: Draft =
            serde_json::from_str(row.layout_json.as_deref().ok_or_else(|| internal("sent without a layout"))?)
                .map_err(internal)?;
        let order = row.signing_order.as_deref().and_then(SigningOrder::parse).unwrap_or_default();
        let recipients = repo::recipients(&self.inner.pool, &document.id).await?;
        Ok(Link { document, recipient, recipients, layout, order })
    }

    /// The signer's page is showing the document in a browser: the first time is
    /// `recipient.viewed`. Called by the page once it runs (a POST from the WASM client), never
    /// by rendering the link, so mail scanners that fetch links do not count as views.
    pub async fn record_view(&self, token: &str, meta: &RequestMeta) -> Result<(), SigningError> {
        let link = self.link(token).await?;
        if link.recipient.viewed_at.is_none() {
            let event = self.recipient_event(&link, EventType::RecipientViewed, None, json!({}))?;
            let (doc_id, rid) = (link.document.id.clone(), link.recipient.id.clone());
            let now = self.inner.clock.now().as_micros();
            let personal = self.recipient_personal(&link.recipient, meta, None);
            let append = Append::event(parse_id(&doc_id)?, event, personal).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if !repo::mark_viewed(conn, &doc_id, &rid, now).await? {
                        return Err(EffectError::Refused("already viewed".to_owned()));
                    }
                    Ok(())
                })
            }));
            match self.inner.evidence.append(append).await {
                // Two tabs opened at once: the other one recorded it.
                Ok(_) | Err(EvidenceError::Refused(_)) => {}
                Err(e) => return Err(internal(format!("recording the view: {e}"))),
            }
        }
        Ok(())
    }

    /// The ESIGN/UETA consent, with the browser's location if the signer allowed it.
    pub async fn consent(
        &self,
        token: &str,
        geo: Option<(f64, f64, Option<f64>)>,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        let link = self.link(token).await?;
        if link.recipient.consented_at.is_some() {
            return Ok(());
        }
        // What the signer agreed to: the text their page showed, rendered the same way.
        let disclosure_sha256 = attesta_core::signing::disclosure::text_sha256(
            &self.disclosure_text(&self.sender_of(&link.document).await?),
        );
        let browser = geo.map(|(lat, lon, _)| browser_geolocation(lat, lon)).transpose()?;
        let details = json!({
            "disclosure_sha256": disclosure_sha256.to_hex(),
            "location_shared": browser.is_some(),
        });
        let event = self.recipient_event(&link, EventType::RecipientConsented, None, details)?;
        let (doc_id, rid) = (link.document.id.clone(), link.recipient.id.clone());
        let token_hash = link.recipient.token_hash;
        let now = self.inner.clock.now().as_micros();
        let personal = self.recipient_personal(&link.recipient, meta, browser);
        let append = Append::event(parse_id(&doc_id)?, event, personal).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                if !repo::mark_consented(conn, &doc_id, &rid, token_hash.as_ref(), now).await? {
                    return Err(EffectError::Refused("already consented".to_owned()));
                }
                Ok(())
            })
        }));
        match self.inner.evidence.append(append).await {
            // Two tabs agreed at once: one consent is recorded, and that is what counts.
            Ok(_) | Err(EvidenceError::Refused(_)) => Ok(()),
            Err(e) => Err(internal(format!("recording the consent: {e}"))),
        }
    }

    /// Emails a one-time code, if the rules allow one now.
    pub async fn request_code(&self, token: &str, meta: &RequestMeta) -> Result<(), SigningError> {
        let link = self.link(token).await?;
        if !link.recipient.otp_required {
            return Err(conflict("this signing request does not use email codes"));
        }
        let (doc_id, rid) = (link.document.id.as_str(), link.recipient.id.as_str());
        let current = repo::otp(&self.inner.pool, doc_id, rid).await?;
        let now = self.inner.clock.now();
        self.inner.otp.may_issue(current.as_ref(), now).map_err(|e| match e {
            otp::OtpRefusal::TooSoon { retry_after } | otp::OtpRefusal::Locked { retry_after } => {
                SigningError::TooMany { message: e.to_string(), retry_after }
            }
            otp::OtpRefusal::Exhausted => conflict(e.to_string()),
        })?;
        let code = otp::code_from_random(rand::random::<u32>());
        let state = OtpState {
            code_hash: otp::code_hash(rid, &code),
            issued_at: now,
            attempts: 0,
            locked_at: None,
            verified_at: None,
            total_failures: current.as_ref().map_or(0, |c| c.total_failures),
        };
        if !repo::store_otp(&self.inner.pool, doc_id, rid, &state, current.as_ref()).await? {
            return Err(SigningError::TooMany {
                message: "a code was sent moments ago; check your inbox".to_owned(),
                retry_after: self.inner.otp.resend_pause,
            });
        }
        let mail = templates::otp_code(templates::OtpCode {
            recipient_name: link.recipient.name.clone(),
            recipient_email: link.recipient.email.clone(),
            document_title: link.document.title.clone(),
            code: otp::display_code(&code),
            valid_minutes: u32::try_from(self.inner.otp.validity.as_secs() / 60).unwrap_or(10),
        });
        self.inner.mailer.send(mail).await.map_err(|e| internal(format!("sending a code: {e}")))?;
        let event = self.recipient_event(&link, EventType::RecipientOtpSent, None, json!({ "channel": "email" }))?;
        let personal = self.recipient_personal(&link.recipient, meta, None);
        self.append(Append::event(parse_id(doc_id)?, event, personal)).await
    }

    /// Checks an entered code; returns the recipient key the browser session is then bound to.
    pub async fn verify_code(&self, token: &str, code: &str, meta: &RequestMeta) -> Result<String, SigningError> {
        let link = self.link(token).await?;
        let (doc_id, rid) = (link.document.id.as_str(), link.recipient.id.as_str());
        let before = repo::otp(&self.inner.pool, doc_id, rid).await?.ok_or_else(|| conflict("ask for a code first"))?;
        let mut after = before.clone();
        let outcome = self.inner.otp.verify(&mut after, rid, code, self.inner.clock.now());
        if after != before && !repo::update_otp(&self.inner.pool, doc_id, rid, &before, &after).await? {
            return Err(conflict("the code was just used or replaced: try again"));
        }
        match outcome {
            OtpOutcome::Verified => {}
            OtpOutcome::Wrong { remaining: 0 } => {
                return Err(SigningError::TooMany {
                    message: "that code is wrong, and it was the last try: ask for a new code in a few minutes"
                        .to_owned(),
                    retry_after: self.inner.otp.lock_pause,
                });
            }
            OtpOutcome::Wrong { remaining } => {
                return Err(invalid("code", format!("that code is wrong; {remaining} tries left")));
            }
            OtpOutcome::Expired => return Err(invalid("code", "that code has expired: ask for a new one")),
            OtpOutcome::Locked { retry_after } => {
                return Err(SigningError::TooMany {
                    message: "too many wrong codes: ask for a new code in a few minutes".to_owned(),
                    retry_after,
                });
            }
            OtpOutcome::NoCode => return Err(invalid("code", "ask for a new code")),
            OtpOutcome::Exhausted => {
                return Err(conflict("too many wrong codes for this link: ask the sender to send you a new link"));
            }
            OtpOutcome::Malformed => return Err(invalid("code", "the code is 6 digits")),
        }
        let event =
            self.recipient_event(&link, EventType::RecipientOtpVerified, None, json!({ "channel": "email" }))?;
        let personal = self.recipient_personal(&link.recipient, meta, None);
        self.append(Append::event(parse_id(doc_id)?, event, personal)).await?;
        Ok(recipient_key(&link.recipient))
    }

    /// The recipient key of a usable link.
    pub async fn recipient_key(&self, token: &str) -> Result<String, SigningError> {
        Ok(recipient_key(&self.link(token).await?.recipient))
    }

    /// The signature: every rule checked, images stored encrypted, `recipient.signed` with the
    /// state change; then the next link (sequential) or completion.
    pub async fn sign(
        &self,
        token: &str,
        submission: attesta_app::api::signing::Submission,
        code_verified_here: bool,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        let link = self.link(token).await?;
        let r = &link.recipient;
        if r.consented_at.is_none() {
            return Err(conflict("agree to sign electronically first"));
        }
        if r.otp_required && !code_verified_here {
            return Err(SigningError::Document(DocumentError::Forbidden));
        }
        let statuses: Vec<_> = link.recipients.iter().map(|x| x.status).collect();
        let index = link.recipients.iter().position(|x| x.id == r.id).ok_or_else(|| internal("recipient missing"))?;
        ceremony::may_act(link.order, &statuses, index).map_err(|e| conflict(e.to_string()))?;

        let client = Sha256::parse_hex(submission.client_sha256.trim())
            .map_err(|_| invalid("client_sha256", "the browser's file hash is missing or malformed"))?;
        if client != link.document.sha256 {
            tracing::warn!(document_id = %link.document.id, recipient = %r.id, client = %client, "signature refused: the browser showed other bytes");
            return Err(conflict(format!(
                "the document your browser shows (SHA-256 {}) is not the document to sign (SHA-256 {}): reload the page",
                client.to_hex(),
                link.document.sha256.to_hex()
            )));
        }
        let pages = self.pages(&link.document).await?;
        let rid = attesta_core::signing::LocalId::parse(&r.id).ok_or_else(|| internal("recipient id"))?;
        let fields = link.layout.fields_of(&rid, &pages);
        let signature = submission.signature_png.as_deref().map(|b| decode_png(b, "signature")).transpose()?;
        let initials = submission.initials_png.as_deref().map(|b| decode_png(b, "initials")).transpose()?;
        let values = ceremony::check_submission(&fields, &submission.values, signature.is_some(), initials.is_some())
            .map_err(|e| invalid("fields", e.to_string()))?;
        let uses = |kind: FieldKind| {
            values
                .iter()
                .any(|(id, v)| *v == FieldInput::Applied && fields.iter().any(|f| &f.id == id && f.kind == kind))
        };
        let signature = signature.filter(|_| uses(FieldKind::Signature));
        let initials = initials.filter(|_| uses(FieldKind::Initials));

        let now = self.inner.clock.now();
        let today = crate::clock::utc_date(now);
        let mut stored = Vec::new();
        let mut images = json!({});
        for (kind, png, method) in [
            ("signature", &signature, submission.signature_method.as_deref()),
            ("initials", &initials, submission.initials_method.as_deref()),
        ] {
            if let Some(png) = png {
                let (blob, sha) = match self.store_image(png).await {
                    Ok(stored_image) => stored_image,
                    Err(e) => {
                        self.delete_blobs(stored.iter().map(|(_, b, _)| b)).await;
                        return Err(e);
                    }
                };
                let method = match method {
                    Some("typed") => "typed",
                    _ => "drawn",
                };
                images[kind] = json!({ "sha256": sha.to_hex(), "method": method, "bytes": png.len() });
                stored.push((kind, blob, sha));
            }
        }
        let mut field_details = Vec::new();
        let mut rows = Vec::new();
        for field in &fields {
            let value = match (field.kind, values.get(&field.id)) {
                (FieldKind::DateSigned, _) => json!({ "type": "date", "value": today }),
                (_, Some(v)) => serde_json::to_value(v).map_err(internal)?,
                (_, None) => continue,
            };
            // Details are permanent and public: what a signer typed may be personal, so the
            // evidence says only that it was filled (the value is in the document itself).
            let public = match values.get(&field.id) {
                Some(FieldInput::Text(text)) => json!({ "type": "text", "chars": text.chars().count() }),
                _ => value.clone(),
            };
            field_details.push(
                json!({ "id": field.id.as_str(), "kind": field.kind.as_str(), "page": field.page, "value": public }),
            );
            rows.push((field.id.to_string(), value.to_string()));
        }
        let details = json!({ "recipient": r.id, "position": r.position, "fields": field_details, "images": images });
        let event = self.recipient_event(&link, EventType::RecipientSigned, Some(client), details)?;
        // The location comes with the signature itself, from the browser that signs, and only
        // when the signer allowed it.
        let geo = submission.geo.map(|g| browser_geolocation(g.latitude, g.longitude)).transpose()?;
        let personal = self.recipient_personal(r, meta, geo);
        let token_hash = r.token_hash;
        let (doc_id, recipient_id) = (link.document.id.clone(), r.id.clone());
        let blob_rows: Vec<_> = stored.iter().map(|(_, b, _)| b.clone()).collect();
        let sig = stored.iter().find(|(k, _, _)| *k == "signature").map(|(_, b, s)| (b.key.clone(), *s));
        let ini = stored.iter().find(|(k, _, _)| *k == "initials").map(|(_, b, s)| (b.key.clone(), *s));
        let at = now.as_micros();
        let append = Append::event(parse_id(&doc_id)?, event, personal).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                for b in &blob_rows {
                    super::repo::insert_blob(conn, b).await?;
                }
                let sig = sig.as_ref().map(|(k, s)| (k.as_str(), s));
                let ini = ini.as_ref().map(|(k, s)| (k.as_str(), s));
                if !repo::mark_signed(conn, &doc_id, &recipient_id, token_hash.as_ref(), sig, ini, at).await? {
                    return Err(EffectError::Refused(
                        "this signature was already recorded, or signing has ended".to_owned(),
                    ));
                }
                for (field, value) in &rows {
                    repo::insert_value(conn, &doc_id, field, &recipient_id, value, at).await?;
                }
                // The next link, or completion, follows as a job committed with the signature.
                advance_job(conn, &doc_id, at).await
            })
        }));
        if let Err(e) = self.append(append).await {
            self.delete_blobs(stored.iter().map(|(_, b, _)| b)).await;
            return Err(e);
        }
        self.inner.jobs_wake.notify_one();
        tracing::info!(document_id = %link.document.id, recipient = %r.id, "recipient signed");
        Ok(())
    }

    /// The `ceremony.advance` job: completes the document when everyone signed (see
    /// `completion`), or issues the links whose turn came.
    pub async fn advance(&self, id: &str) -> Result<(), SigningError> {
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        match document.status {
            DocumentStatus::Sent => {}
            // Completed by an earlier attempt whose seal or mail failed: finish from there.
            DocumentStatus::Completed => return self.complete_now(id).await,
            // Voided or declined meanwhile: nothing is due.
            _ => return Ok(()),
        }
        let (recipients, _) = self.ceremony_state(id).await?;
        let statuses: Vec<_> = recipients.iter().map(|r| r.status).collect();
        if ceremony::is_complete(&statuses) { self.complete_now(id).await } else { self.issue_due_links(id).await }
    }

    /// The signer declines: the document ends, and the sender is told.
    pub async fn decline(
        &self,
        token: &str,
        reason: &str,
        code_verified_here: bool,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        let link = self.link(token).await?;
        // Declining ends the ceremony for everyone: it takes the same proof of identity as signing.
        if link.recipient.otp_required && !code_verified_here {
            return Err(SigningError::Document(DocumentError::Forbidden));
        }
        let reason = ceremony::clean_reason(reason).map_err(|m| invalid("reason", m))?;
        let statuses: Vec<_> = link.recipients.iter().map(|x| x.status).collect();
        let index = link
            .recipients
            .iter()
            .position(|x| x.id == link.recipient.id)
            .ok_or_else(|| internal("recipient missing"))?;
        ceremony::may_act(link.order, &statuses, index).map_err(|e| conflict(e.to_string()))?;
        let details = json!({ "recipient": link.recipient.id, "position": link.recipient.position, "reason": reason });
        let event = self.recipient_event(&link, EventType::RecipientDeclined, None, details)?;
        let personal = self.recipient_personal(&link.recipient, meta, None);
        let (doc_id, rid, why) = (link.document.id.clone(), link.recipient.id.clone(), reason.clone());
        let token_hash = link.recipient.token_hash;
        let now = self.inner.clock.now().as_micros();
        let append = Append::event(parse_id(&doc_id)?, event, personal).with_effect(Box::new(move |conn| {
            Box::pin(async move {
                if !repo::mark_declined(conn, &doc_id, &rid, token_hash.as_ref(), &why, now).await?
                    || !repo::finish(conn, &doc_id, "declined", None, now).await?
                {
                    return Err(EffectError::Refused("signing has already ended".to_owned()));
                }
                // The sender is told by a job committed with the decline.
                notice_job(conn, &doc_id, Notice::Declined { recipient: rid.clone() }, now).await
            })
        }));
        self.append(append).await?;
        self.inner.jobs_wake.notify_one();
        Ok(())
    }

    /// The `mail.notice` job: one notice about a document, to one person, recorded in the
    /// document's evidence whatever the mail server answers.
    pub async fn send_notice(&self, id: &str, payload: &str) -> Result<(), crate::jobs::JobFailure> {
        use crate::jobs::JobFailure;
        let notice: Notice =
            serde_json::from_str(payload).map_err(|e| JobFailure::Permanent(format!("unreadable notice: {e}")))?;
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let recipients = repo::recipients(&self.inner.pool, id).await?;
        let find = |rid: &str| {
            recipients
                .iter()
                .find(|r| r.id == rid)
                .cloned()
                .ok_or_else(|| JobFailure::Permanent(format!("no recipient {rid} on document {id}")))
        };
        match notice {
            Notice::Declined { recipient } => {
                let r = find(&recipient)?;
                let (sender_name, sender_email) = self.owner_contact(&document).await?;
                let mail = templates::declined_notice(templates::DeclinedNotice {
                    sender_name,
                    sender_email,
                    recipient_name: r.name.clone(),
                    recipient_email: r.email.clone(),
                    document_title: document.title.clone(),
                    reason: r.decline_reason.clone(),
                    link: format!("{}/documents/{}", self.inner.public_origin, document.id),
                });
                self.deliver_to_sender(&document, mail, "declined_notice").await
            }
            Notice::Voided { recipient } => {
                let r = find(&recipient)?;
                let (sender_name, _) = self.owner_contact(&document).await?;
                let reason = repo::draft(&self.inner.pool, id).await?.and_then(|d| d.void_reason);
                let mail = templates::voided_notice(templates::VoidedNotice {
                    recipient_name: r.name.clone(),
                    recipient_email: r.email.clone(),
                    sender_name,
                    document_title: document.title.clone(),
                    reason,
                });
                self.deliver(&document, &r, mail, json!({ "purpose": "voided_notice" }), None)
                    .await
                    .map_err(|e| JobFailure::Retry(e.to_string()))
            }
        }
    }

    /// Sends a mail to the document's sender and records `sender.email_sent` (or
    /// `sender.email_failed`) with the template and the transport's answer.
    async fn deliver_to_sender(
        &self,
        document: &StoredDocument,
        mail: Mail,
        purpose: &str,
    ) -> Result<(), crate::jobs::JobFailure> {
        let (name, email) = self.owner_contact(document).await?;
        let mut details = json!({ "purpose": purpose, "template": mail.template });
        let sent = self.inner.mailer.send(mail).await;
        let event_type = match &sent {
            Ok(delivered) => {
                details["delivery"] = delivery_details(delivered);
                EventType::SenderEmailSent
            }
            Err(e) => {
                details["error"] = mail_error_details(e);
                EventType::SenderEmailFailed
            }
        };
        let event = self.system_event(event_type, document.sha256, details).map_err(|e| e.to_string())?;
        let personal = self.personal_of(&name, &email, &RequestMeta::default(), None);
        self.append(Append::event(parse_id(&document.id)?, event, personal)).await.map_err(|e| e.to_string())?;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(document_id = %document.id, purpose, error = %e, "mail to the sender not delivered");
                let failure = format!("{purpose} not delivered: {e}");
                Err(if e.is_permanent() {
                    crate::jobs::JobFailure::Permanent(failure)
                } else {
                    crate::jobs::JobFailure::Retry(failure)
                })
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    async fn append(&self, append: Append) -> Result<(), SigningError> {
        match self.inner.evidence.append(append).await {
            Ok(_) => Ok(()),
            Err(EvidenceError::Refused(why)) => Err(conflict(why)),
            Err(e) => Err(internal(format!("recording the event: {e}"))),
        }
    }

    /// Takes stored images back out when the signature they belong to was not recorded.
    async fn delete_blobs<'a>(&self, rows: impl Iterator<Item = &'a super::repo::BlobRow>) {
        for row in rows {
            if let Ok(key) = crate::blob::BlobKey::parse(&row.key)
                && let Err(e) = self.inner.blobs.delete(&key).await
            {
                tracing::error!(blob = %key, error = %e, "could not remove the image of a refused signature");
            }
        }
    }

    /// Stores a PNG encrypted like any document file; returns its row (not yet inserted) and hash.
    async fn store_image(&self, png: &[u8]) -> Result<(super::repo::BlobRow, Sha256), SigningError> {
        self.store_bytes(png, "image/png").await.map_err(internal)
    }

    fn user_event(
        &self,
        t: EventType,
        user: &User,
        meta: &RequestMeta,
        file: Sha256,
        details: serde_json::Value,
    ) -> Result<NewEvent, SigningError> {
        self.new_event(t, user, meta, file, None, details)
            .map_err(|e| SigningError::Document(DocumentError::Internal(e)))
    }

    fn system_event(&self, t: EventType, file: Sha256, details: serde_json::Value) -> Result<NewEvent, SigningError> {
        let actor = Actor::system();
        self.event_as(t, actor, file, None, details)
    }

    fn recipient_event(
        &self,
        link: &Link,
        t: EventType,
        client: Option<Sha256>,
        details: serde_json::Value,
    ) -> Result<NewEvent, SigningError> {
        let mut details = details;
        if details.get("recipient").is_none() {
            details["recipient"] = json!(link.recipient.id);
        }
        let actor = Actor {
            kind: ActorKind::Recipient,
            id: Some(ActorId::parse(&format!("recipient:{}", link.recipient.id)).map_err(internal)?),
        };
        self.event_as(t, actor, link.document.sha256, client, details)
    }

    fn event_as(
        &self,
        event_type: EventType,
        actor: Actor,
        file_sha256: Sha256,
        client_file_sha256: Option<Sha256>,
        details: serde_json::Value,
    ) -> Result<NewEvent, SigningError> {
        self.event_by(event_type, actor, file_sha256, client_file_sha256, details).map_err(internal)
    }

    /// A recipient's identity and the request's origin; the browser's location when they shared
    /// it, else the address's.
    fn recipient_personal(&self, r: &RecipientRow, meta: &RequestMeta, browser: Option<Geolocation>) -> PersonalData {
        self.personal_of(&r.name, &r.email, meta, browser)
    }

    /// `Name <email>` of the person who sent `document`, as signers are shown it.
    async fn sender_of(&self, document: &StoredDocument) -> Result<String, SigningError> {
        let (name, email) = self.owner_contact(document).await?;
        Ok(format!("{name} <{email}>"))
    }

    /// The consumer disclosure exactly as shown for a document from `sender` (and as hashed).
    fn disclosure_text(&self, sender: &str) -> String {
        attesta_core::signing::disclosure::render(&self.inner.disclosure_template, sender)
    }
}

/// What the evidence keeps of an accepted mail: the transport's answer (EVIDENCE.md §4).
fn delivery_details(d: &crate::mail::Delivered) -> serde_json::Value {
    json!({ "transport": d.transport, "code": d.code, "answer": d.answer, "message_id": d.message_id })
}

/// What the evidence keeps of a refused mail: which step failed and whether retrying can help.
/// The message itself may name the address, so it stays in the log and the sender's page.
fn mail_error_details(e: &crate::mail::MailError) -> serde_json::Value {
    json!({ "kind": e.kind(), "permanent": e.is_permanent() })
}

/// A notice the `mail.notice` job sends (its payload).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// To the sender: `recipient` declined.
    Declined { recipient: String },
    /// To `recipient`, who had a link: the sender voided the document.
    Voided { recipient: String },
}

/// Enqueues a notice inside the transaction of the change it tells of.
async fn notice_job(
    conn: &mut sqlx::SqliteConnection,
    doc_id: &str,
    notice: Notice,
    now: i64,
) -> Result<(), EffectError> {
    let now = attesta_core::Timestamp::from_micros(now);
    let payload = serde_json::to_string(&notice).map_err(|e| EffectError::Refused(e.to_string()))?;
    let job = attesta_core::jobs::NewJob::with_payload(attesta_core::jobs::JobKind::MailNotice, doc_id, payload, now);
    crate::jobs::enqueue(conn, &job, now).await?;
    Ok(())
}

/// Enqueues `ceremony.advance` for a document, inside the transaction of the change that asks.
async fn advance_job(conn: &mut sqlx::SqliteConnection, doc_id: &str, now: i64) -> Result<(), EffectError> {
    let now = attesta_core::Timestamp::from_micros(now);
    let job = attesta_core::jobs::NewJob::about(attesta_core::jobs::JobKind::CeremonyAdvance, doc_id, now);
    crate::jobs::enqueue(conn, &job, now).await?;
    Ok(())
}

/// `document/recipient`: what a browser session remembers a verified code for.
fn recipient_key(r: &RecipientRow) -> String {
    format!("{}/{}", r.document_id, r.id)
}

fn new_token() -> SigningToken {
    let mut bytes = [0u8; attesta_core::signing::token::TOKEN_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    SigningToken::from_random(bytes)
}

fn browser_geolocation(lat: f64, lon: f64) -> Result<Geolocation, SigningError> {
    Ok(Geolocation {
        source: GeoSource::Browser,
        country: None,
        region: None,
        city: None,
        latitude: Some(Latitude::new(lat).map_err(|_| invalid("geo", "latitude out of range"))?),
        longitude: Some(Longitude::new(lon).map_err(|_| invalid("geo", "longitude out of range"))?),
    })
}

/// A signature image from the browser: base64 of a PNG, within size limits.
fn decode_png(b64: &str, what: &'static str) -> Result<Vec<u8>, SigningError> {
    use base64::Engine as _;
    let b64 = b64.trim().trim_start_matches("data:image/png;base64,");
    if b64.len() > MAX_IMAGE_BYTES * 4 / 3 + 8 {
        return Err(invalid(what, format!("the {what} image is too large")));
    }
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| invalid(what, format!("the {what} image is not valid base64")))?;
    if png.len() > MAX_IMAGE_BYTES {
        return Err(invalid(what, format!("the {what} image is too large")));
    }
    const MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < 24 || &png[..8] != MAGIC || &png[12..16] != b"IHDR" {
        return Err(invalid(what, format!("the {what} image is not a PNG")));
    }
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    if width == 0 || height == 0 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(invalid(
            what,
            format!("the {what} image is {width}×{height} pixels; at most {MAX_IMAGE_SIDE} a side"),
        ));
    }
    Ok(png)
}
