//! Preparing and signing: drafts, sending, the signer's link, one-time codes, signatures,
//! declines, voids, and completion.
//!
//! Every change of state is appended to the evidence log with the change itself as the event's
//! effect, in one transaction (see `Documents::upload`). Emails go out after the commit; each
//! delivered mail then gets its own `recipient.email_sent` event, and a failed one is shown to
//! the sender, who can resend (which also issues a fresh link: the old one stops working).

mod port;
pub mod repo;
pub mod transition;

use super::{DocumentError, Documents, StoredDocument, parse_id};
use crate::evidence::{Append, EffectError, EvidenceError};
use crate::mail::{Mail, templates};
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::ceremony::details;
use attesta_core::ceremony::{Command, FollowUp, NewParticipant, Refusal, Transition};
use attesta_core::documents::DocumentStatus;
use attesta_core::entropy::EntropyExt as _;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, EventType, GeoSource, Geolocation, Latitude, Longitude, NewEvent, PersonalData, Sha256,
};
use attesta_core::jobs::{JobKind, NewJob};
use attesta_core::signing::ceremony::{self, FieldInput, RecipientStatus};
use attesta_core::signing::geometry::PageGeometry;
use attesta_core::signing::otp::{self, OtpOutcome, OtpState};
use attesta_core::signing::token::{SigningToken, same_digest};
use attesta_core::signing::{Draft, FieldKind, SigningOrder};
use attesta_core::time::Timestamp;
use repo::RecipientRow;
use serde_json::json;
use transition::{Extra, Loaded, NewRecipient, WriteError};

/// What a signer's link leads to, once checked.
pub struct Link {
    pub document: StoredDocument,
    pub recipient: RecipientRow,
    pub recipients: Vec<RecipientRow>,
    pub layout: Draft,
    pub order: SigningOrder,
}

impl Link {
    /// The recipient's index in the ceremony and the hash of the link they came with: what the
    /// core checks a recipient's command against.
    fn acting(&self) -> Result<(usize, Sha256), SigningError> {
        let index = self
            .recipients
            .iter()
            .position(|x| x.id == self.recipient.id)
            .ok_or_else(|| internal("recipient missing"))?;
        let hash = self.recipient.token_hash.ok_or(SigningError::Link(LinkProblem::Invalid))?;
        Ok((index, hash))
    }
}

/// How a transition is recorded: who acted, their personal data, the file as it is, and the
/// file as the client computed it.
#[derive(Clone)]
struct Recorded {
    actor: Actor,
    personal: PersonalData,
    client: Option<Sha256>,
    file: Sha256,
}

/// The sequencer's refusal that means "the ceremony moved since it was loaded".
const MOVED: &str = "the document changed meanwhile";

/// Most attempts at one command while other requests keep changing the same document.
const MAX_ATTEMPTS: usize = 8;

/// What a person is told when the core refuses a command.
fn refused(refusal: Refusal) -> SigningError {
    match refusal {
        // Signing and declining take a code verified in this browser session.
        Refusal::CodeRequired => SigningError::Document(DocumentError::Forbidden),
        Refusal::LinkReplaced => SigningError::Link(LinkProblem::Invalid),
        Refusal::PastDeadline => SigningError::Link(LinkProblem::Expired),
        other => SigningError::Refused(other),
    }
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
    /// The ceremony's rules do not allow it now.
    #[error("{0}")]
    Refused(Refusal),
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
        Ok(self.managed(viewer, id).await?)
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
        let loaded = transition::load(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        match loaded.ceremony.editable() {
            Ok(()) => {}
            Err(Refusal::NotADraft) => return Err(conflict("this document was sent and can no longer change")),
            Err(other) => return Err(SigningError::Refused(other)),
        }
        let pages = self.pages(&document).await?;
        draft.check_for_save(&pages).map_err(SigningError::Problems)?;
        let json = serde_json::to_string(&draft).map_err(internal)?;
        let now = self.inner.clock.now().as_micros();
        repo::save_draft(&self.inner.pool, id, revision, &json, now).await?.ok_or_else(|| {
            conflict("this draft was changed elsewhere (another tab?) since you opened it: reload to see the latest")
        })
    }

    /// Sends the draft at `revision`: freezes file and layout and records `document.sent`; the
    /// first links go out after the answer. A scheduled draft goes at once (its schedule ends).
    pub async fn send(&self, viewer: &User, id: &str, revision: i64, meta: &RequestMeta) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        let recorded = self.as_user(viewer, meta, document.sha256)?;
        self.send_as(&document, Some(revision), &recorded, None).await
    }

    /// The `document.send_scheduled` job: sends the draft if its schedule is due (as the system,
    /// on behalf of the `document.scheduled` before it). A schedule moved later asks for a job at
    /// its new time (the job queue keeps the earlier of two due times); a cancelled one, or a
    /// document sent meanwhile, leaves nothing to do.
    pub async fn send_scheduled(&self, id: &str) -> Result<(), SigningError> {
        let Some(loaded) = transition::load(&self.inner.pool, id).await? else { return Ok(()) };
        let Some(at) = loaded.ceremony.scheduled_at else { return Ok(()) };
        let now = self.inner.clock.now();
        if at > now {
            crate::jobs::store::enqueue_now(&self.inner.pool, &NewJob::about(JobKind::ScheduledSend, id, at), now)
                .await?;
            return Ok(());
        }
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let recorded =
            Recorded { actor: Actor::system(), personal: PersonalData::none(), client: None, file: document.sha256 };
        match self.send_as(&document, None, &recorded, Some(at)).await {
            // Cancelled, moved or sent between the load and the decision.
            Err(SigningError::Refused(Refusal::NotScheduled | Refusal::NotADraft)) => Ok(()),
            other => other,
        }
    }

    /// Sends `document`'s draft (at `revision`, or the stored one), recorded as `recorded`; by
    /// the schedule for `scheduled_for` when given.
    async fn send_as(
        &self,
        document: &StoredDocument,
        revision: Option<i64>,
        recorded: &Recorded,
        scheduled_for: Option<Timestamp>,
    ) -> Result<(), SigningError> {
        let id = document.id.as_str();
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let revision = revision.unwrap_or(row.revision);
        if document.status == DocumentStatus::Draft && row.revision != revision {
            return Err(conflict("this draft was changed elsewhere since you opened it: reload before sending"));
        }
        let sendable = self.sendable(document, &row).await?;
        let layout_sha256 = sendable.layout_sha256();
        let layout_json = serde_json::to_string(&sendable).map_err(internal)?;
        let expires_at = self.inner.expire_after.map(|after| self.inner.clock.now().saturating_add(after));
        let participants: Vec<_> = sendable
            .recipients
            .iter()
            .map(|r| NewParticipant { id: r.id.to_string(), role: r.role, otp_required: r.otp && r.role.must_act() })
            .collect();
        let recipients: Vec<_> = sendable
            .recipients
            .iter()
            .map(|r| NewRecipient {
                id: r.id.to_string(),
                name: r.name.clone(),
                email: r.email.clone(),
                otp_required: r.otp && r.role.must_act(),
            })
            .collect();
        let details = details::DocumentSent {
            layout_sha256,
            order: sendable.order,
            recipients: sendable.recipients.len(),
            fields: sendable.fields.len(),
            expires_at: expires_at.map(Timestamp::as_micros),
        };
        let extra = Extra::Sent { revision, layout_json, layout_sha256, recipients };
        let order = sendable.order;
        self.apply(id, recorded, |_| {
            Ok((
                Command::Send {
                    participants: participants.clone(),
                    order,
                    expires_at,
                    reminders: self.inner.reminders,
                    details: details.clone(),
                    scheduled_for,
                },
                extra.clone(),
            ))
        })
        .await?;
        tracing::info!(document_id = %document.id, recipients = sendable.recipients.len(), scheduled = scheduled_for.is_some(), "document sent");
        Ok(())
    }

    /// The draft as it would go out, checked for sending (a sent document's draft does not
    /// matter: the core says why it cannot go again).
    async fn sendable(&self, document: &StoredDocument, row: &repo::DraftRow) -> Result<Draft, SigningError> {
        let draft: Draft = match &row.draft_json {
            Some(json) => serde_json::from_str(json).map_err(internal)?,
            None => Draft::default(),
        };
        let pages = self.pages(document).await?;
        let sendable = match draft.check_for_send(&pages) {
            Ok(sendable) => sendable.into_draft(),
            Err(_) if document.status != DocumentStatus::Draft => Draft::default(),
            Err(problems) => return Err(SigningError::Problems(problems)),
        };
        Ok(sendable)
    }

    /// Schedules the draft at `revision` to be sent at `local` (`YYYY-MM-DDTHH:MM`) on the clock
    /// of `time_zone` (`document.scheduled`), or moves its schedule there. The draft must be
    /// ready to send now, so that the schedule cannot fail later for a reason the sender could
    /// have fixed; until the send or a cancellation, it cannot change.
    pub async fn schedule(
        &self,
        viewer: &User,
        id: &str,
        revision: i64,
        local: &str,
        time_zone: &str,
        meta: &RequestMeta,
    ) -> Result<Timestamp, SigningError> {
        use attesta_core::ceremony::schedule;
        let at = schedule::instant_in(local, time_zone).map_err(|e| invalid("send_at", e.to_string()))?;
        let zone = schedule::zone(time_zone).map_err(|e| invalid("time_zone", e.to_string()))?;
        self.schedule_at(viewer, id, revision, at, zone.name(), meta).await?;
        Ok(at)
    }

    /// [`Self::schedule`] for an instant already known (the API's RFC 3339 time), told back in
    /// `time_zone`.
    pub async fn schedule_at(
        &self,
        viewer: &User,
        id: &str,
        revision: i64,
        at: Timestamp,
        time_zone: &str,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        let zone = attesta_core::ceremony::schedule::zone(time_zone)
            .map_err(|e| invalid("time_zone", e.to_string()))?
            .name()
            .to_owned();
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        if document.status == DocumentStatus::Draft && row.revision != revision {
            return Err(conflict("this draft was changed elsewhere since you opened it: reload before scheduling"));
        }
        let sendable = self.sendable(&document, &row).await?;
        let details = details::Scheduled {
            send_at: at.as_micros(),
            time_zone: zone.clone(),
            layout_sha256: sendable.layout_sha256(),
            recipients: sendable.recipients.len(),
            fields: sendable.fields.len(),
            replaces: None,
        };
        let recorded = self.as_user(viewer, meta, document.sha256)?;
        let extra = Extra::Scheduled { revision, time_zone: zone };
        match self.apply(id, &recorded, |_| Ok((Command::Schedule { details: details.clone() }, extra.clone()))).await {
            Ok(_) => {}
            // The sender's input, not the document's state: a validation error on the time.
            Err(SigningError::Refused(r @ (Refusal::ScheduleInThePast | Refusal::ScheduleTooFar))) => {
                return Err(invalid("send_at", r.to_string()));
            }
            Err(e) => return Err(e),
        }
        tracing::info!(document_id = %id, send_at = at.as_micros(), "send scheduled");
        Ok(())
    }

    /// The draft's scheduled send, if it has one, in the terms its sender picked it in.
    pub async fn scheduled_send(
        &self,
        id: &str,
    ) -> Result<Option<attesta_app::api::signing::ScheduledSend>, SigningError> {
        use attesta_core::ceremony::schedule;
        let Some(row) = repo::draft(&self.inner.pool, id).await? else { return Ok(None) };
        Ok(row.scheduled.map(|(at, zone)| {
            let at = Timestamp::from_micros(at);
            attesta_app::api::signing::ScheduledSend {
                send_at: at.as_micros(),
                label: schedule::describe(at, &zone),
                local: schedule::local_input(at, &zone),
                time_zone: zone,
                revision: row.revision,
            }
        }))
    }

    /// Cancels the draft's schedule (`document.schedule_cancelled`): it can be edited again.
    pub async fn cancel_schedule(&self, viewer: &User, id: &str, meta: &RequestMeta) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        let recorded = self.as_user(viewer, meta, document.sha256)?;
        self.apply(id, &recorded, |_| Ok((Command::CancelSchedule, Extra::Nothing))).await?;
        tracing::info!(document_id = %id, "schedule cancelled");
        Ok(())
    }

    /// Issues and emails links to everyone whose turn has come and who has none yet. A mail that
    /// fails is shown to the sender beside that person (who can resend); the link is issued.
    async fn issue_due_links(&self, id: &str) -> Result<(), SigningError> {
        let due = transition::load(&self.inner.pool, id).await?.map(|l| l.ceremony.due_for_link()).unwrap_or_default();
        for index in due {
            if let Err(e) = self.issue_link(id, index, None).await {
                tracing::error!(document_id = %id, recipient = index + 1, error = %e, "issuing a signing link");
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

    /// A fresh link for recipient `index` (replacing any older one, `recipient.link_issued`),
    /// emailed at once (only this call holds the token), then `recipient.email_sent` once the
    /// mail server took it. `by` is the user whose action sends it (a resend), or `None` when
    /// the ceremony sends it on its own (the first links, the next signer's).
    async fn issue_link(&self, id: &str, index: usize, by: Option<(&User, &RequestMeta)>) -> Result<(), SigningError> {
        match by {
            Some((user, meta)) => self.new_link(id, index, LinkFor::Resend(user, meta)).await,
            None => self.new_link(id, index, LinkFor::Turn).await,
        }
    }

    /// Sends every reminder due on document `id` now (`recipient.reminded`, each with a fresh
    /// link mailed at once), then asks for the next one the core has due, if any: a link
    /// replaced meanwhile moves its recipient's time, so the job that ran may not be the last.
    pub async fn send_reminders(&self, id: &str) -> Result<(), SigningError> {
        let Some(loaded) = transition::load(&self.inner.pool, id).await? else { return Ok(()) };
        let now = self.inner.clock.now();
        for index in loaded.ceremony.reminders_due(now) {
            match self.new_link(id, index, LinkFor::Reminder).await {
                Ok(()) => {}
                // The transition is recorded; the mail failure is shown to the sender.
                Err(SigningError::Document(DocumentError::Conflict(why))) => {
                    tracing::warn!(document_id = %id, recipient = index + 1, %why, "a reminder was not delivered");
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(loaded) = transition::load(&self.inner.pool, id).await?
            && let Some(at) = loaded.ceremony.next_reminder_at()
            && at > now
        {
            crate::jobs::store::enqueue_now(&self.inner.pool, &NewJob::about(JobKind::Remind, id, at), now).await?;
        }
        Ok(())
    }

    /// Records every document out for signature that stalled past one of the instance's
    /// thresholds (`document.stalled`, by the system; the sender is mailed by a job committed
    /// with it), each threshold once. Returns how many were recorded.
    pub async fn stall_sweep(&self) -> Result<u64, SigningError> {
        let thresholds = &self.inner.stall_after;
        if thresholds.is_empty() {
            return Ok(0);
        }
        // Candidates only: whether one stalled is the core's to say.
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM documents WHERE status = $1 ORDER BY id")
            .bind(DocumentStatus::Sent.as_str())
            .fetch_all(&self.inner.pool)
            .await?;
        let mut recorded = 0;
        for id in ids {
            // A document stalled past two thresholds (the sweep was off) records both, in order.
            for _ in 0..thresholds.len() {
                let Some(loaded) = transition::load(&self.inner.pool, &id).await? else { break };
                let Some((threshold, after)) = loaded.ceremony.stall_due(thresholds, self.inner.clock.now()) else {
                    break;
                };
                let document = super::repo::find(&self.inner.pool, &id).await?.ok_or(DocumentError::NotFound)?;
                let recorded_by = Recorded {
                    actor: Actor::system(),
                    personal: PersonalData::none(),
                    client: None,
                    file: document.sha256,
                };
                match self.apply(&id, &recorded_by, |_| Ok((Command::Stall { threshold, after }, Extra::Nothing))).await
                {
                    Ok(_) => recorded += 1,
                    // Another instance recorded it, or the document moved meanwhile.
                    Err(SigningError::Refused(_)) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(recorded)
    }

    async fn new_link(&self, id: &str, index: usize, why: LinkFor<'_>) -> Result<(), SigningError> {
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let recipients = repo::recipients(&self.inner.pool, id).await?;
        let recipient = recipients.get(index).ok_or(DocumentError::NotFound)?.clone();
        let token = new_token(&*self.inner.entropy);
        let by = match why {
            LinkFor::Resend(user, meta) => Some((user, meta)),
            LinkFor::Turn | LinkFor::Reminder => None,
        };
        let recorded = match by {
            Some((user, meta)) => self.as_user(user, meta, document.sha256)?,
            None => Recorded {
                actor: Actor::system(),
                personal: self.recipient_personal(&recipient, &RequestMeta::default(), None),
                client: None,
                file: document.sha256,
            },
        };
        let link = token.hash();
        let applied = self
            .apply(id, &recorded, |_| {
                // A replaced link starts a new count of one-time codes.
                let replaced = Extra::LinkReplaced { recipient: recipient.id.clone() };
                Ok(match why {
                    LinkFor::Turn => (Command::IssueLink { recipient: index, link, by_sender: false }, Extra::Nothing),
                    LinkFor::Resend(..) => (Command::IssueLink { recipient: index, link, by_sender: true }, replaced),
                    LinkFor::Reminder => (Command::Remind { recipient: index, link }, replaced),
                })
            })
            .await;
        let transition = match applied {
            Ok((_, t)) => t,
            // Another job or process issued this first link, or sent this reminder, a moment ago.
            Err(SigningError::Refused(Refusal::AlreadyRecorded)) if matches!(why, LinkFor::Turn) => return Ok(()),
            Err(SigningError::Refused(Refusal::NoReminderDue)) if matches!(why, LinkFor::Reminder) => return Ok(()),
            Err(e) => return Err(e),
        };
        let (sender_name, sender_email) = self.owner_contact(&document).await?;
        let row = repo::draft(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let message = row
            .layout_json
            .as_deref()
            .and_then(|j| serde_json::from_str::<Draft>(j).ok())
            .map(|d| d.message)
            .filter(|m| !m.trim().is_empty());
        let role = attesta_core::ceremony::ParticipantRole::parse(&recipient.role).unwrap_or_default();
        let link = format!("{}{}{}", self.inner.public_origin, link_path(role), token.as_str());
        let request = templates::SigningRequest {
            role,
            recipient_name: recipient.name.clone(),
            recipient_email: recipient.email.clone(),
            sender_name,
            sender_email,
            document_title: document.title.clone(),
            link,
            message,
            otp_required: recipient.otp_required,
        };
        let (mail, details) = match why {
            LinkFor::Reminder => {
                let number = transition.next.participants.get(index).map_or(0, |p| p.reminders_sent);
                let sent_on = row.sent_at.map_or_else(
                    || "an earlier date".to_owned(),
                    |at| crate::clock::utc_date(Timestamp::from_micros(at)),
                );
                (
                    templates::signing_reminder(request, number, &sent_on),
                    json!({ "purpose": "reminder", "reminder": number }),
                )
            }
            LinkFor::Turn | LinkFor::Resend(..) => (
                templates::signing_request(request),
                json!({ "purpose": "signing_request", "resend": matches!(why, LinkFor::Resend(..)) }),
            ),
        };
        self.deliver(&document, &recipient, mail, details, by).await
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
        let is_link = details["purpose"] == "signing_request" || details["purpose"] == "reminder";
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
        let row: (String, String) = sqlx::query_as("SELECT name, email FROM users WHERE id = $1")
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

    /// Cancels a sent document; recipients who had a link are told by jobs committed with it.
    pub async fn void(&self, viewer: &User, id: &str, reason: &str, meta: &RequestMeta) -> Result<(), SigningError> {
        let document = self.owned(viewer, id).await?;
        let reason = ceremony::clean_reason(reason).map_err(|m| invalid("reason", m))?;
        let recorded = self.as_user(viewer, meta, document.sha256)?;
        self.apply(id, &recorded, |_| {
            Ok((Command::Void { reason: reason.clone() }, Extra::Voided { reason: reason.clone() }))
        })
        .await?;
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
        self.owned(viewer, id).await?;
        let recipients = repo::recipients(&self.inner.pool, id).await?;
        let index = recipients.iter().position(|r| r.id == recipient).ok_or(DocumentError::NotFound)?;
        self.issue_link(id, index, Some((viewer, meta))).await
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
            let recorded = self.as_recipient(&link, meta, None, None)?;
            let (index, hash) = link.acting()?;
            match self
                .apply(&link.document.id, &recorded, |_| {
                    Ok((Command::View { recipient: index, link: hash }, Extra::Nothing))
                })
                .await
            {
                // Two tabs opened at once: the other one recorded it.
                Ok(_) | Err(SigningError::Refused(Refusal::AlreadyRecorded)) => {}
                Err(e) => return Err(e),
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
        let details = details::Consented {
            recipient: link.recipient.id.clone(),
            disclosure_sha256,
            location_shared: browser.is_some(),
        };
        let recorded = self.as_recipient(&link, meta, browser, None)?;
        let (index, hash) = link.acting()?;
        let consent = |_: &Loaded| {
            Ok((Command::Consent { recipient: index, link: hash, details: details.clone() }, Extra::Nothing))
        };
        match self.apply(&link.document.id, &recorded, consent).await {
            // Two tabs agreed at once: one consent is recorded, and that is what counts.
            Ok(_) | Err(SigningError::Refused(Refusal::AlreadyRecorded)) => Ok(()),
            Err(e) => Err(e),
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
        let code = otp::code_from_random(self.inner.entropy.u32());
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
        let recorded = self.as_recipient(&link, meta, None, None)?;
        let (index, hash) = link.acting()?;
        self.apply(doc_id, &recorded, |_| Ok((Command::CodeSent { recipient: index, link: hash }, Extra::Nothing)))
            .await
            .map(|_| ())
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
        let recorded = self.as_recipient(&link, meta, None, None)?;
        let (index, hash) = link.acting()?;
        let command = match outcome {
            OtpOutcome::Verified => Some(Command::CodeVerified { recipient: index, link: hash }),
            // Every wrong code is evidence (a guessing attempt shows in the chain).
            OtpOutcome::Wrong { remaining } => Some(Command::CodeWrong { recipient: index, link: hash, remaining }),
            _ => None,
        };
        if let Some(command) = command {
            self.apply(doc_id, &recorded, |_| Ok((command.clone(), Extra::Nothing))).await?;
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
        let (index, hash) = link.acting()?;
        use attesta_core::ceremony::ParticipantRole;
        if let Some(role @ (ParticipantRole::Approver | ParticipantRole::Acknowledger)) =
            ParticipantRole::parse(&r.role)
        {
            return self.approve(&link, role, index, hash, &submission, code_verified_here, meta).await;
        }
        // Ask the core before storing anything; it is asked again when the signature is written.
        let sign = |details: details::Signed| Command::Sign {
            recipient: index,
            link: hash,
            code_verified: code_verified_here,
            details,
        };
        let empty = details::Signed {
            recipient: r.id.clone(),
            position: r.position,
            fields: Vec::new(),
            images: details::SignedImages::default(),
        };
        let loaded = transition::load(&self.inner.pool, &link.document.id).await?.ok_or(DocumentError::NotFound)?;
        attesta_core::ceremony::decide(&loaded.ceremony, sign(empty), self.inner.clock.now()).map_err(refused)?;

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
        let mut images = details::SignedImages::default();
        for (kind, png, method) in [
            (FieldKind::Signature, &signature, submission.signature_method.as_deref()),
            (FieldKind::Initials, &initials, submission.initials_method.as_deref()),
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
                    Some("typed") => details::InkMethod::Typed,
                    _ => details::InkMethod::Drawn,
                };
                let image = Some(details::SignedImage { sha256: sha, method, bytes: png.len() });
                if kind == FieldKind::Signature {
                    images.signature = image;
                } else {
                    images.initials = image;
                }
                stored.push((kind, blob, sha));
            }
        }
        let mut field_details = Vec::new();
        let mut rows = Vec::new();
        for field in &fields {
            let (value, public) = match (field.kind, values.get(&field.id)) {
                (FieldKind::DateSigned, _) => {
                    (json!({ "type": "date", "value": today }), details::FieldValue::Date { value: today.clone() })
                }
                (_, Some(v)) => (
                    serde_json::to_value(v).map_err(internal)?,
                    // Details are permanent and public: what a signer typed may be personal, so
                    // the evidence says only how long it was (the text is in the document).
                    match v {
                        FieldInput::Applied => details::FieldValue::Applied,
                        FieldInput::Text(text) => details::FieldValue::Text { chars: text.chars().count() },
                        FieldInput::Checked(value) => details::FieldValue::Checked { value: *value },
                    },
                ),
                (_, None) => continue,
            };
            field_details.push(details::SignedField {
                id: field.id.to_string(),
                kind: field.kind,
                page: field.page,
                value: public,
            });
            rows.push((field.id.to_string(), value.to_string()));
        }
        let details = details::Signed { recipient: r.id.clone(), position: r.position, fields: field_details, images };
        // The location comes with the signature itself, from the browser that signs, and only
        // when the signer allowed it.
        let geo = submission.geo.map(|g| browser_geolocation(g.latitude, g.longitude)).transpose()?;
        let recorded = self.as_recipient(&link, meta, geo, Some(client))?;
        let extra = Extra::Signed {
            blobs: stored.iter().map(|(_, b, _)| b.clone()).collect(),
            signature: stored.iter().find(|(k, _, _)| *k == FieldKind::Signature).map(|(_, b, s)| (b.key.clone(), *s)),
            initials: stored.iter().find(|(k, _, _)| *k == FieldKind::Initials).map(|(_, b, s)| (b.key.clone(), *s)),
            values: rows,
        };
        let applied = self.apply(&link.document.id, &recorded, |_| Ok((sign(details.clone()), extra.clone()))).await;
        if let Err(e) = applied {
            self.delete_blobs(stored.iter().map(|(_, b, _)| b)).await;
            return Err(e);
        }
        tracing::info!(document_id = %link.document.id, recipient = %r.id, "recipient signed");
        Ok(())
    }

    /// An approver's approval (`recipient.approved`) or an acknowledger's acknowledgement
    /// (`recipient.acknowledged`) of the document their browser showed, with its file hash; no
    /// field, no image. Then the next link, or completion.
    #[expect(clippy::too_many_arguments, reason = "the signature's inputs, passed through from `sign`")]
    async fn approve(
        &self,
        link: &Link,
        role: attesta_core::ceremony::ParticipantRole,
        index: usize,
        hash: Sha256,
        submission: &attesta_app::api::signing::Submission,
        code_verified_here: bool,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        if !submission.values.is_empty() || submission.signature_png.is_some() || submission.initials_png.is_some() {
            return Err(invalid(
                "fields",
                "nothing is filled and no signature adopted here: only approved or acknowledged",
            ));
        }
        let client = Sha256::parse_hex(submission.client_sha256.trim())
            .map_err(|_| invalid("client_sha256", "the browser's file hash is missing or malformed"))?;
        if client != link.document.sha256 {
            return Err(conflict(format!(
                "the document your browser shows (SHA-256 {}) is not the document to approve (SHA-256 {}): reload the page",
                client.to_hex(),
                link.document.sha256.to_hex()
            )));
        }
        let geo = submission.geo.map(|g| browser_geolocation(g.latitude, g.longitude)).transpose()?;
        let recorded = self.as_recipient(link, meta, geo, Some(client))?;
        let command = if role == attesta_core::ceremony::ParticipantRole::Acknowledger {
            Command::Acknowledge { recipient: index, link: hash, code_verified: code_verified_here }
        } else {
            Command::Approve { recipient: index, link: hash, code_verified: code_verified_here }
        };
        self.apply(&link.document.id, &recorded, |_| Ok((command.clone(), Extra::Nothing))).await?;
        tracing::info!(document_id = %link.document.id, recipient = %link.recipient.id, role = role.as_str(), "recipient done");
        Ok(())
    }

    /// The `ceremony.advance` job: completes the document when everyone signed (see
    /// `completion`), or issues the links whose turn came.
    pub async fn advance(&self, id: &str) -> Result<(), SigningError> {
        let loaded = transition::load(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        match loaded.ceremony.status {
            DocumentStatus::Sent => {}
            // Completed by an earlier attempt whose seal or mail failed: finish from there.
            DocumentStatus::Completed => return self.complete_now(id).await,
            // Voided, declined or expired meanwhile: nothing is due.
            _ => return Ok(()),
        }
        if loaded.ceremony.everyone_acted() { self.complete_now(id).await } else { self.issue_due_links(id).await }
    }

    /// The signer declines: the document ends, and the sender is told after the answer.
    pub async fn decline(
        &self,
        token: &str,
        reason: &str,
        code_verified_here: bool,
        meta: &RequestMeta,
    ) -> Result<(), SigningError> {
        let link = self.link(token).await?;
        let reason = ceremony::clean_reason(reason).map_err(|m| invalid("reason", m))?;
        let recorded = self.as_recipient(&link, meta, None, None)?;
        let (index, hash) = link.acting()?;
        let decline = |_: &Loaded| {
            Ok((
                Command::Decline {
                    recipient: index,
                    link: hash,
                    code_verified: code_verified_here,
                    reason: reason.clone(),
                },
                Extra::Declined { reason: reason.clone() },
            ))
        };
        self.apply(&link.document.id, &recorded, decline).await?;
        Ok(())
    }

    /// Expires every sent document whose deadline passed (the core decides each); returns how
    /// many it expired.
    pub async fn expire_due(&self) -> usize {
        let now = self.inner.clock.now();
        let ids = match repo::past_deadline(&self.inner.pool, now.as_micros()).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(error = %e, "listing documents past their deadline");
                return 0;
            }
        };
        let mut expired = 0;
        for id in ids {
            match self.expire(&id).await {
                Ok(()) => expired += 1,
                Err(SigningError::Refused(_)) => {}
                Err(e) => tracing::error!(document_id = %id, error = %e, "expiring a document"),
            }
        }
        expired
    }

    /// `document.expired`, if the core agrees the deadline passed; recipients are told after.
    pub async fn expire(&self, id: &str) -> Result<(), SigningError> {
        let document = super::repo::find(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
        let recorded =
            Recorded { actor: Actor::system(), personal: PersonalData::none(), client: None, file: document.sha256 };
        self.apply(id, &recorded, |_| Ok((Command::Expire, Extra::Nothing))).await?;
        tracing::info!(document_id = %id, "document expired");
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
            Notice::Stalled { days } => {
                let (sender_name, sender_email) = self.owner_contact(&document).await?;
                // Who the document waits for now (it may have moved since the job was queued).
                let waiting: Vec<String> = recipients
                    .iter()
                    .filter(|r| !matches!(r.status, RecipientStatus::Signed | RecipientStatus::Declined))
                    .map(|r| format!("{} <{}>", r.name, r.email))
                    .collect();
                let mail = templates::stalled_notice(templates::StalledNotice {
                    sender_name,
                    sender_email,
                    document_title: document.title.clone(),
                    days,
                    waiting_for: waiting,
                    link: format!("{}/documents/{}", self.inner.public_origin, document.id),
                });
                self.deliver_to_sender(&document, mail, "stalled_notice").await
            }
            Notice::Expired { recipient } => {
                let r = find(&recipient)?;
                let (sender_name, _) = self.owner_contact(&document).await?;
                let mail = templates::expired_notice(templates::ExpiredNotice {
                    recipient_name: r.name.clone(),
                    recipient_email: r.email.clone(),
                    sender_name,
                    document_title: document.title.clone(),
                });
                self.deliver(&document, &r, mail, json!({ "purpose": "expired_notice" }), None)
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

    /// The one path of every ceremony change: load the ceremony, ask the core, and write the
    /// transition (with `extra`) and its one event in one transaction; when another request
    /// changed the document in between, again from the new state. Returns the ceremony the
    /// decision was made on and the transition, whose follow-ups the caller schedules.
    async fn apply(
        &self,
        id: &str,
        recorded: &Recorded,
        mut command: impl FnMut(&Loaded) -> Result<(Command, Extra), SigningError>,
    ) -> Result<(Loaded, Transition), SigningError> {
        let document_id = parse_id(id)?;
        for _ in 0..MAX_ATTEMPTS {
            let loaded = transition::load(&self.inner.pool, id).await?.ok_or(DocumentError::NotFound)?;
            let (cmd, extra) = command(&loaded)?;
            let now = self.inner.clock.now();
            let t = attesta_core::ceremony::decide(&loaded.ceremony, cmd, now).map_err(refused)?;
            let mut event = self.event_as(
                t.event.event_type(),
                recorded.actor.clone(),
                recorded.file,
                recorded.client,
                t.event.details(),
            )?;
            event.time = now;
            let jobs = jobs_for(id, &t, now)?;
            let wake = !jobs.is_empty();
            let (before, next, version, doc) = (loaded.ceremony.clone(), t.next.clone(), loaded.version, id.to_owned());
            let append = Append::event(document_id.clone(), event, recorded.personal.clone()).with_effect(Box::new(
                move |conn| {
                    Box::pin(async move {
                        transition::write(conn, &doc, version, &before, &next, &extra, now).await.map_err(
                            |e| match e {
                                WriteError::Moved => EffectError::Refused(MOVED.to_owned()),
                                WriteError::Database(e) => EffectError::Database(e),
                            },
                        )?;
                        // The follow-ups the core asked for, committed with the change.
                        for job in &jobs {
                            crate::jobs::enqueue(conn, job, now).await?;
                        }
                        Ok(())
                    })
                },
            ));
            match self.inner.evidence.append(append).await {
                Ok(_) => {
                    if wake {
                        self.inner.jobs_wake.notify_one();
                    }
                    return Ok((loaded, t));
                }
                Err(EvidenceError::Refused(why)) if why == MOVED => continue,
                Err(EvidenceError::Refused(why)) => return Err(conflict(why)),
                Err(e) => return Err(internal(format!("recording the event: {e}"))),
            }
        }
        Err(conflict("this document is changing too fast: try again in a moment"))
    }

    /// `document.completed` with the signed file (its event's `file_sha256`), if the core agrees.
    pub(super) async fn complete_ceremony(
        &self,
        id: &str,
        signed_sha256: Sha256,
        details: details::Completed,
        extra: Extra,
    ) -> Result<(), SigningError> {
        let recorded =
            Recorded { actor: Actor::system(), personal: PersonalData::none(), client: None, file: signed_sha256 };
        self.apply(id, &recorded, |_| Ok((Command::Complete { details: details.clone() }, extra.clone())))
            .await
            .map(|_| ())
    }

    /// Recorded as `user` (or their API key), with their request's origin.
    fn as_user(&self, user: &User, meta: &RequestMeta, file: Sha256) -> Result<Recorded, SigningError> {
        Ok(Recorded {
            actor: super::user_actor(user, meta).map_err(internal)?,
            personal: self.personal(user, meta),
            client: None,
            file,
        })
    }

    /// Recorded as the recipient behind `link`, with their request's origin and location.
    fn as_recipient(
        &self,
        link: &Link,
        meta: &RequestMeta,
        browser: Option<Geolocation>,
        client: Option<Sha256>,
    ) -> Result<Recorded, SigningError> {
        let actor = Actor {
            kind: ActorKind::Recipient,
            id: Some(ActorId::parse(&format!("recipient:{}", link.recipient.id)).map_err(internal)?),
        };
        Ok(Recorded {
            actor,
            personal: self.recipient_personal(&link.recipient, meta, browser),
            client,
            file: link.document.sha256,
        })
    }

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

/// Why a recipient gets a new link.
#[derive(Clone, Copy)]
enum LinkFor<'a> {
    /// Their turn came (the first link): the ceremony sends it.
    Turn,
    /// The sender asked for it to be sent again.
    Resend(&'a User, &'a RequestMeta),
    /// The reminder policy has a reminder due.
    Reminder,
}

/// A notice the `mail.notice` job sends (its payload).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// To the sender: `recipient` declined.
    Declined { recipient: String },
    /// To `recipient`, who had a link: the sender voided the document.
    Voided { recipient: String },
    /// To `recipient`, who had a link: the deadline passed before everyone signed.
    Expired { recipient: String },
    /// To the sender: nothing moved for `days` days.
    Stalled { days: u32 },
}

/// The durable jobs that carry out a transition's follow-ups (`attesta_core::ceremony::FollowUp`).
fn jobs_for(id: &str, t: &Transition, now: Timestamp) -> Result<Vec<NewJob>, SigningError> {
    let mut jobs = Vec::new();
    let mut advance = false;
    let who = |recipient: usize| t.next.participants.get(recipient).map(|p| p.id.clone()).unwrap_or_default();
    for follow_up in &t.follow_ups {
        let notice = match follow_up {
            // One `ceremony.advance` issues every due link, or completes.
            FollowUp::IssueLink { .. } | FollowUp::Complete => {
                advance = true;
                continue;
            }
            FollowUp::NotifyOwnerDeclined { recipient } => Notice::Declined { recipient: who(*recipient) },
            FollowUp::NotifyVoided { recipient } => Notice::Voided { recipient: who(*recipient) },
            FollowUp::NotifyExpired { recipient } => Notice::Expired { recipient: who(*recipient) },
            FollowUp::NotifyOwnerStalled { days } => Notice::Stalled { days: *days },
            FollowUp::ExpireAt(at) => {
                jobs.push(NewJob::about(JobKind::DocumentExpire, id, *at));
                continue;
            }
            FollowUp::RemindAt(at) => {
                jobs.push(NewJob::about(JobKind::Remind, id, *at));
                continue;
            }
            FollowUp::SendAt(at) => {
                jobs.push(NewJob::about(JobKind::ScheduledSend, id, *at));
                continue;
            }
            // The issuer mails the link it holds (`issue_link`); the job that completes a document
            // goes on to seal and deliver it, and its lease and retries cover a crash in between.
            FollowUp::MailLink { .. } | FollowUp::MailReminder { .. } | FollowUp::SealAndDeliver => continue,
        };
        let payload = serde_json::to_string(&notice).map_err(internal)?;
        jobs.push(NewJob::with_payload(JobKind::MailNotice, id, payload, now));
    }
    if advance {
        jobs.push(NewJob::about(JobKind::CeremonyAdvance, id, now));
    }
    // A finished document's risk flags resolve (`attesta_core::risk::review::resolve`).
    if matches!(t.event.event_type(), EventType::DocumentCompleted | EventType::DocumentExpired) {
        jobs.push(NewJob::about(JobKind::RiskResolve, id, now));
    }
    Ok(jobs)
}

/// Where a recipient's link leads, by what they are asked to do (the token follows).
pub fn link_path(role: attesta_core::ceremony::ParticipantRole) -> &'static str {
    use attesta_core::ceremony::ParticipantRole as R;
    match role {
        R::Approver => "/approvals/",
        R::Acknowledger => "/documents/acknowledge/",
        R::Signer | R::Cc => "/sign/",
    }
}

/// `document/recipient`: what a browser session remembers a verified code for.
fn recipient_key(r: &RecipientRow) -> String {
    format!("{}/{}", r.document_id, r.id)
}

fn new_token(entropy: &dyn attesta_core::ports::Entropy) -> SigningToken {
    SigningToken::from_random(entropy.bytes())
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
