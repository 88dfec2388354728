//! The ceremony as a state machine: where a document and each of its recipients stand once it
//! leaves the draft, the commands that move them, and the one decision function that says, for
//! the current ceremony, a command and the time, either why the command is refused or what the
//! transition is: the next state, the one evidence event that records it (typed details, see
//! [`details`]) and the follow-up work to schedule (links, notices, completion, expiry).
//!
//! Nothing here reads a clock, a database or a mailbox: the server's use cases load a
//! [`Ceremony`], call [`decide`], and persist the [`Transition`] together with its event and
//! follow-ups in one transaction, guarded only by the ceremony's version (so two requests racing
//! on the same document cannot both apply a decision made on the same state). Which state may
//! follow which is decided here and nowhere else.

pub mod details;
pub mod schedule;
#[cfg(test)]
mod tests;

use crate::documents::DocumentStatus;
use crate::evidence::Sha256;
use crate::signing::SigningOrder;
use crate::signing::ceremony::RecipientStatus;
use crate::time::Timestamp;
use details::CeremonyEvent;
use std::time::Duration;

/// What a participant is asked to do: sign, approve (read and approve or decline, with no fields
/// and no signature), or nothing but receive the completed document and its evidence (in copy).
/// An acknowledger confirms they have read it (policy distribution: often hundreds on one
/// document, in parallel). Form submitters arrive next: each is a variant here and a line in
/// [`ParticipantRole::must_act`], not a new code path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    #[default]
    Signer,
    /// Approves the document (or declines it) at their turn; fills nothing.
    Approver,
    /// Confirms "I have read and acknowledge" the document shown; fills nothing, cannot decline.
    Acknowledger,
    /// Receives the sealed document and its evidence once complete; no link, no action.
    Cc,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 4] =
        [ParticipantRole::Signer, ParticipantRole::Approver, ParticipantRole::Acknowledger, ParticipantRole::Cc];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signer => "signer",
            Self::Approver => "approver",
            Self::Acknowledger => "acknowledger",
            Self::Cc => "cc",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// What the sender's editor calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Signer => "Signs",
            Self::Approver => "Approves",
            Self::Acknowledger => "Acknowledges reading",
            Self::Cc => "Gets a copy (CC)",
        }
    }

    pub fn is_signer(&self) -> bool {
        *self == Self::Signer
    }

    /// Whether the document waits for this participant before it can complete (and so whether
    /// they get a link).
    pub fn must_act(self) -> bool {
        match self {
            Self::Signer | Self::Approver | Self::Acknowledger => true,
            Self::Cc => false,
        }
    }

    /// What they are asked to do, as a verb ("sign", "approve", …).
    pub fn verb(self) -> &'static str {
        match self {
            Self::Signer => "sign",
            Self::Approver => "approve",
            Self::Acknowledger => "acknowledge",
            Self::Cc => "receive a copy",
        }
    }

    /// Whether they are given fields to fill (and sign).
    pub fn fills_fields(self) -> bool {
        self == Self::Signer
    }

    /// Whether they may decline (which ends the document for everyone): not an acknowledger,
    /// whose reading is attested, not agreed to.
    pub fn may_decline(self) -> bool {
        matches!(self, Self::Signer | Self::Approver)
    }
}

/// One recipient as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The recipient's id within the document (`r1`, …), as in the layout and the evidence.
    pub id: String,
    pub role: ParticipantRole,
    pub status: RecipientStatus,
    /// SHA-256 of the link token now valid for them; a replaced link stops working.
    pub link: Option<Sha256>,
    pub viewed: bool,
    pub consented: bool,
    /// Signing and declining need a one-time code verified in the same browser session.
    pub otp_required: bool,
    /// When their current link was issued (the first one, a replacement or a reminder's).
    pub link_issued_at: Option<Timestamp>,
    /// How many reminders they were sent.
    pub reminders_sent: u32,
}

/// When recipients who have not acted are reminded: the first reminder `first_after` their link
/// was issued, then one every `every` after the previous, at most `max` (0: never). Each reminder
/// is a fresh link (the previous one stops working, as with a resend), so the time counts from
/// the latest link, whoever issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderPolicy {
    pub first_after: Duration,
    pub every: Duration,
    pub max: u32,
}

impl ReminderPolicy {
    /// No reminders.
    pub const OFF: Self = Self { first_after: Duration::ZERO, every: Duration::ZERO, max: 0 };

    pub fn is_off(&self) -> bool {
        self.max == 0
    }

    /// Why a policy cannot be used: a zero interval would remind in a loop.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.max > 0 && (self.first_after.is_zero() || (self.max > 1 && self.every.is_zero())) {
            return Err("reminders need at least a day before the first and between two");
        }
        if self.max > MAX_REMINDERS {
            return Err("at most 10 reminders per recipient");
        }
        Ok(())
    }
}

/// The most reminders one recipient may be sent.
pub const MAX_REMINDERS: u32 = 10;

/// A recipient as the sender's draft names them, when the document is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    pub id: String,
    pub role: ParticipantRole,
    pub otp_required: bool,
}

/// The whole ceremony of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub status: DocumentStatus,
    pub order: SigningOrder,
    /// In signing order.
    pub participants: Vec<Participant>,
    /// When it expires if not finished; `None` never.
    pub expires_at: Option<Timestamp>,
    /// When recipients who have not acted are reminded.
    pub reminders: ReminderPolicy,
    /// The latest progress: the sending, or a recipient's latest view, consent or signature.
    pub progressed_at: Option<Timestamp>,
    /// How many stall thresholds were recorded (`document.stalled`), each once.
    pub stalls: u32,
    /// When a draft is scheduled to be sent (`document.scheduled`); `None` when it is not. A
    /// scheduled draft is locked: what goes out at that time is what the sender scheduled.
    pub scheduled_at: Option<Timestamp>,
}

/// Something that may change the ceremony, by whoever the use case has already identified
/// (the owner for sending, voiding and resending; the holder of a link for the recipient's
/// commands, which name the link they came with; the system for the rest).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// The draft goes out: sent by its owner now (`scheduled_for` `None`, which also replaces
    /// any schedule), or by the schedule that fell due (`scheduled_for` the time it named).
    Send {
        participants: Vec<NewParticipant>,
        order: SigningOrder,
        expires_at: Option<Timestamp>,
        reminders: ReminderPolicy,
        details: details::DocumentSent,
        scheduled_for: Option<Timestamp>,
    },
    /// The owner schedules the draft to be sent at `details.send_at` (or moves the schedule).
    Schedule { details: details::Scheduled },
    /// The owner cancels the schedule: the draft can be edited again.
    CancelSchedule,
    /// A link is issued to a recipient: the first one when their turn comes (`by_sender`
    /// false), or a replacement the sender asked for (`by_sender` true).
    IssueLink { recipient: usize, link: Sha256, by_sender: bool },
    /// The recipient's page shows the document.
    View { recipient: usize, link: Sha256 },
    /// The recipient agrees to sign electronically.
    Consent { recipient: usize, link: Sha256, details: details::Consented },
    /// A one-time code went to the recipient.
    CodeSent { recipient: usize, link: Sha256 },
    /// The recipient typed a wrong code (`remaining` tries left on this code).
    CodeWrong { recipient: usize, link: Sha256, remaining: u32 },
    /// The recipient typed the right code.
    CodeVerified { recipient: usize, link: Sha256 },
    /// The recipient signs; `code_verified` says whether this browser session verified a code.
    Sign { recipient: usize, link: Sha256, code_verified: bool, details: details::Signed },
    /// The approver approves, having seen the document.
    Approve { recipient: usize, link: Sha256, code_verified: bool },
    /// The acknowledger confirms they have read the document shown.
    Acknowledge { recipient: usize, link: Sha256, code_verified: bool },
    /// The recipient declines, which ends the ceremony for everyone.
    Decline { recipient: usize, link: Sha256, code_verified: bool, reason: String },
    /// The owner withdraws the document.
    Void { reason: String },
    /// A reminder with a fresh link goes to a recipient who has not acted, as the document's
    /// reminder policy has it due.
    Remind { recipient: usize, link: Sha256 },
    /// Nothing moved for `after` (the `threshold`-th of the instance's thresholds, from 0):
    /// the sender is told, once per threshold.
    Stall { threshold: u32, after: Duration },
    /// The deadline passed.
    Expire,
    /// Everyone who must act did: the signed file is recorded.
    Complete { details: details::Completed },
}

/// Why a command cannot apply now. Each says what a person may be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this document was already sent")]
    NotADraft,
    #[error("a document needs at least one recipient who signs before it can be sent")]
    NoRecipients,
    #[error("two recipients share the id {0}")]
    DuplicateRecipient(String),
    #[error("this document is no longer out for signature ({})", .0.label())]
    NotInFlight(DocumentStatus),
    #[error("there is no such recipient")]
    NoSuchRecipient,
    #[error("this link was replaced by a newer one")]
    LinkReplaced,
    #[error("it is not this person's turn yet")]
    NotDue,
    #[error("it is not your turn yet: recipient {waiting_for} signs first")]
    NotYourTurn { waiting_for: usize },
    #[error("this person has already signed")]
    AlreadySigned,
    #[error("this person declined")]
    AlreadyDeclined,
    #[error("already recorded")]
    AlreadyRecorded,
    #[error("agree to sign electronically first")]
    ConsentFirst,
    #[error("enter the code sent to you by email first")]
    CodeRequired,
    #[error("this signing request does not use one-time codes")]
    NoCodes,
    /// Someone in copy: nothing is asked of them.
    #[error("this recipient receives a copy and has nothing to sign")]
    NothingToDo,
    /// Signing asked of an approver, or approving of a signer.
    #[error("this recipient is asked to {0}, not that")]
    WrongAction(&'static str),
    #[error("the deadline has not passed yet")]
    NotExpiredYet,
    #[error("not everyone has signed yet")]
    NotEveryoneSigned,
    #[error("the deadline must be after the moment of sending")]
    DeadlineInThePast,
    #[error("this signing request has expired")]
    PastDeadline,
    #[error("no reminder is due for this person now")]
    NoReminderDue,
    #[error("the document has not stalled that long, or this was recorded")]
    NoStallDue,
    #[error("{0}")]
    Reminders(&'static str),
    #[error("pick a time in the future to schedule the send")]
    ScheduleInThePast,
    #[error("a send can be scheduled at most a year ahead")]
    ScheduleTooFar,
    /// The schedule was cancelled or moved (the job that fired was for another time), or the
    /// draft was never scheduled.
    #[error("this document is not scheduled to be sent then")]
    NotScheduled,
    /// A scheduled draft is locked until its schedule is cancelled.
    #[error("this document is scheduled to be sent; cancel the schedule to change it")]
    Scheduled,
}

/// What a command does when it applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub next: Ceremony,
    /// Exactly one event per transition.
    pub event: CeremonyEvent,
    pub follow_ups: Vec<FollowUp>,
}

/// Work a transition asks for, done after it commits (as durable jobs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// Issue and email this recipient's first link (a [`Command::IssueLink`] of its own).
    IssueLink { recipient: usize },
    /// Email this recipient the link the transition just issued. Whoever issued it does this at
    /// once: only they hold the token (the store keeps its hash), and a retry issues a new one.
    MailLink { recipient: usize },
    /// Tell the owner that a recipient declined.
    NotifyOwnerDeclined { recipient: usize },
    /// Tell a recipient who had a link that the document was voided.
    NotifyVoided { recipient: usize },
    /// Tell a recipient who had a link that the document expired.
    NotifyExpired { recipient: usize },
    /// Draw the values into the file and record completion.
    Complete,
    /// Seal the signed file and send everyone their copy.
    SealAndDeliver,
    /// Run [`Command::Expire`] at this time.
    ExpireAt(Timestamp),
    /// Send the reminders due at this time ([`Ceremony::reminders_due`], each a
    /// [`Command::Remind`] of its own).
    RemindAt(Timestamp),
    /// Email this recipient the reminder with the link the transition just issued (as for
    /// [`FollowUp::MailLink`], whoever issued it does this at once).
    MailReminder { recipient: usize },
    /// Tell the owner the document stalled for this many days.
    NotifyOwnerStalled { days: u32 },
    /// Run the scheduled [`Command::Send`] at this time.
    SendAt(Timestamp),
}

impl Ceremony {
    /// A document not yet sent.
    pub fn draft() -> Self {
        Self {
            status: DocumentStatus::Draft,
            order: SigningOrder::default(),
            participants: Vec::new(),
            expires_at: None,
            reminders: ReminderPolicy::OFF,
            progressed_at: None,
            stalls: 0,
            scheduled_at: None,
        }
    }

    /// Whether the sender may still change the draft (its fields, recipients and order): a
    /// draft not scheduled to be sent.
    pub fn editable(&self) -> Result<(), Refusal> {
        if self.status != DocumentStatus::Draft {
            return Err(Refusal::NotADraft);
        }
        if self.scheduled_at.is_some() {
            return Err(Refusal::Scheduled);
        }
        Ok(())
    }

    /// Which stall threshold of `thresholds` (ascending) is due at `now`, if one is: the next
    /// not yet recorded, once that long passed since the latest progress.
    pub fn stall_due(&self, thresholds: &[Duration], now: Timestamp) -> Option<(u32, Duration)> {
        if !self.in_flight() {
            return None;
        }
        let index = usize::try_from(self.stalls).ok()?;
        let after = *thresholds.get(index)?;
        let since = self.progressed_at?;
        (since.saturating_add(after) <= now).then_some((self.stalls, after))
    }

    /// When recipient `index` is to be reminded next, if ever: they must act, have a live link
    /// and not have acted yet, the document must be out, and the reminder must come before the
    /// deadline (a reminder at the deadline would only send a dead link).
    pub fn reminder_at(&self, index: usize) -> Option<Timestamp> {
        let p = self.participants.get(index)?;
        if !self.in_flight() || self.reminders.is_off() || !p.role.must_act() {
            return None;
        }
        if !matches!(p.status, RecipientStatus::Sent | RecipientStatus::Viewed) || p.link.is_none() {
            return None;
        }
        if p.reminders_sent >= self.reminders.max {
            return None;
        }
        let gap = if p.reminders_sent == 0 { self.reminders.first_after } else { self.reminders.every };
        let at = p.link_issued_at?.saturating_add(gap);
        match self.expires_at {
            Some(deadline) if at >= deadline => None,
            _ => Some(at),
        }
    }

    /// The recipients whose reminder is due by `now`.
    pub fn reminders_due(&self, now: Timestamp) -> Vec<usize> {
        (0..self.participants.len()).filter(|&i| self.reminder_at(i).is_some_and(|at| at <= now)).collect()
    }

    /// The earliest reminder still to send, if any.
    pub fn next_reminder_at(&self) -> Option<Timestamp> {
        (0..self.participants.len()).filter_map(|i| self.reminder_at(i)).min()
    }

    /// Out for signature: recipients can still act.
    pub fn in_flight(&self) -> bool {
        self.status == DocumentStatus::Sent
    }

    pub fn statuses(&self) -> Vec<RecipientStatus> {
        self.participants.iter().map(|p| p.status).collect()
    }

    /// Everyone who must act did.
    pub fn everyone_acted(&self) -> bool {
        self.participants.iter().any(|p| p.role.must_act())
            && self.participants.iter().filter(|p| p.role.must_act()).all(|p| p.status == RecipientStatus::Signed)
    }

    /// The indices of the participants who must act, in order, and their states: the turn
    /// rules apply to them alone (someone in copy is never anyone's turn, nor in anyone's way).
    fn actors(&self) -> (Vec<usize>, Vec<RecipientStatus>) {
        self.participants.iter().enumerate().filter(|(_, p)| p.role.must_act()).map(|(i, p)| (i, p.status)).unzip()
    }

    /// Who should hold a first link now and has none: on sending, everyone who must act
    /// (parallel) or the first (sequential); after a signature, the next one in a sequential
    /// order.
    pub fn due_for_link(&self) -> Vec<usize> {
        if !self.in_flight() {
            return Vec::new();
        }
        let (indices, statuses) = self.actors();
        crate::signing::ceremony::due_for_link(self.order, &statuses).into_iter().map(|k| indices[k]).collect()
    }

    /// Whether recipient `index` may sign or decline now (one who must act, their turn, not
    /// finished).
    pub fn may_act(&self, index: usize) -> Result<(), Refusal> {
        use crate::signing::ceremony::TurnRefusal;
        let (indices, statuses) = self.actors();
        let k = indices.iter().position(|&i| i == index).ok_or(Refusal::NothingToDo)?;
        crate::signing::ceremony::may_act(self.order, &statuses, k).map_err(|e| match e {
            // The position as the evidence and the sender count it, among all recipients.
            TurnRefusal::NotYourTurn { waiting_for } => Refusal::NotYourTurn {
                waiting_for: indices.get(waiting_for.saturating_sub(1)).map_or(waiting_for, |i| i + 1),
            },
            TurnRefusal::AlreadySigned => Refusal::AlreadySigned,
            TurnRefusal::AlreadyDeclined => Refusal::AlreadyDeclined,
            TurnRefusal::EndedByDecline => Refusal::NotInFlight(DocumentStatus::Declined),
        })
    }

    /// Whether the ceremony is over: nothing more can be asked of it but sealing.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            DocumentStatus::Completed
                | DocumentStatus::Declined
                | DocumentStatus::Voided
                | DocumentStatus::Expired
                | DocumentStatus::Deleted
        )
    }
}

/// The one decision: `command` applied to `ceremony` at `now`.
pub fn decide(ceremony: &Ceremony, command: Command, now: Timestamp) -> Result<Transition, Refusal> {
    let mut next = ceremony.clone();
    let mut follow_ups = Vec::new();
    let event = match command {
        Command::Send { participants, order, expires_at, reminders, details, scheduled_for } => {
            if ceremony.status != DocumentStatus::Draft {
                return Err(Refusal::NotADraft);
            }
            // The schedule's own send happens once, at the time still scheduled: a cancelled or
            // moved schedule leaves its job nothing to do.
            if let Some(at) = scheduled_for
                && (ceremony.scheduled_at != Some(at) || at > now)
            {
                return Err(Refusal::NotScheduled);
            }
            reminders.check().map_err(Refusal::Reminders)?;
            if !participants.iter().any(|p| p.role.must_act()) {
                return Err(Refusal::NoRecipients);
            }
            for (i, p) in participants.iter().enumerate() {
                if participants[..i].iter().any(|q| q.id == p.id) {
                    return Err(Refusal::DuplicateRecipient(p.id.clone()));
                }
            }
            if expires_at.is_some_and(|at| at <= now) {
                return Err(Refusal::DeadlineInThePast);
            }
            next.status = DocumentStatus::Sent;
            next.order = order;
            next.expires_at = expires_at;
            next.reminders = reminders;
            next.progressed_at = Some(now);
            next.scheduled_at = None;
            next.participants = participants
                .into_iter()
                .map(|p| Participant {
                    id: p.id,
                    role: p.role,
                    status: RecipientStatus::Waiting,
                    link: None,
                    viewed: false,
                    consented: false,
                    otp_required: p.otp_required,
                    link_issued_at: None,
                    reminders_sent: 0,
                })
                .collect();
            follow_ups.extend(next.due_for_link().into_iter().map(|recipient| FollowUp::IssueLink { recipient }));
            follow_ups.extend(expires_at.map(FollowUp::ExpireAt));
            CeremonyEvent::DocumentSent(details)
        }
        Command::Schedule { details } => {
            if ceremony.status != DocumentStatus::Draft {
                return Err(Refusal::NotADraft);
            }
            let at = Timestamp::from_micros(details.send_at);
            if at <= now {
                return Err(Refusal::ScheduleInThePast);
            }
            if at > now.saturating_add(schedule::MAX_AHEAD) {
                return Err(Refusal::ScheduleTooFar);
            }
            next.scheduled_at = Some(at);
            follow_ups.push(FollowUp::SendAt(at));
            CeremonyEvent::Scheduled(details::Scheduled {
                replaces: ceremony.scheduled_at.map(Timestamp::as_micros),
                ..details
            })
        }
        Command::CancelSchedule => {
            if ceremony.status != DocumentStatus::Draft {
                return Err(Refusal::NotADraft);
            }
            let at = ceremony.scheduled_at.ok_or(Refusal::NotScheduled)?;
            next.scheduled_at = None;
            CeremonyEvent::ScheduleCancelled(details::ScheduleCancelled { send_at: at.as_micros() })
        }
        Command::IssueLink { recipient, link, by_sender } => {
            in_flight(ceremony)?;
            if ceremony.expires_at.is_some_and(|at| at <= now) {
                return Err(Refusal::PastDeadline);
            }
            let p = participant(ceremony, recipient)?;
            if !p.role.must_act() {
                return Err(Refusal::NothingToDo);
            }
            match p.status {
                RecipientStatus::Signed => return Err(Refusal::AlreadySigned),
                RecipientStatus::Declined => return Err(Refusal::AlreadyDeclined),
                // A first link goes out once: a second job or process finds it issued.
                RecipientStatus::Sent | RecipientStatus::Viewed if !by_sender => return Err(Refusal::AlreadyRecorded),
                RecipientStatus::Waiting if !ceremony.due_for_link().contains(&recipient) => {
                    return Err(Refusal::NotDue);
                }
                _ => {}
            }
            let q = &mut next.participants[recipient];
            if q.status == RecipientStatus::Waiting {
                q.status = RecipientStatus::Sent;
            }
            q.link = Some(link);
            q.link_issued_at = Some(now);
            let position = position(recipient);
            follow_ups.push(FollowUp::MailLink { recipient });
            follow_ups.extend(next.next_reminder_at().map(FollowUp::RemindAt));
            CeremonyEvent::LinkIssued(details::LinkIssued {
                recipient: p.id.clone(),
                position,
                replaces_link: p.link.is_some(),
            })
        }
        Command::View { recipient, link } => {
            let p = acting(ceremony, recipient, &link, now)?;
            if p.viewed {
                return Err(Refusal::AlreadyRecorded);
            }
            let q = &mut next.participants[recipient];
            q.viewed = true;
            if q.status == RecipientStatus::Sent {
                q.status = RecipientStatus::Viewed;
            }
            next.progressed_at = Some(now);
            CeremonyEvent::Viewed(details::RecipientRef { recipient: p.id.clone() })
        }
        Command::Consent { recipient, link, details } => {
            let p = acting(ceremony, recipient, &link, now)?;
            if p.consented {
                return Err(Refusal::AlreadyRecorded);
            }
            next.participants[recipient].consented = true;
            next.progressed_at = Some(now);
            CeremonyEvent::Consented(details::Consented { recipient: p.id.clone(), ..details })
        }
        Command::CodeSent { recipient, link } => {
            let p = with_codes(acting(ceremony, recipient, &link, now)?)?;
            CeremonyEvent::OtpSent(details::Otp { recipient: p.id.clone(), channel: details::OtpChannel::Email })
        }
        Command::CodeWrong { recipient, link, remaining } => {
            let p = with_codes(acting(ceremony, recipient, &link, now)?)?;
            CeremonyEvent::OtpFailed(details::OtpFailed {
                recipient: p.id.clone(),
                channel: details::OtpChannel::Email,
                remaining,
            })
        }
        Command::CodeVerified { recipient, link } => {
            let p = with_codes(acting(ceremony, recipient, &link, now)?)?;
            CeremonyEvent::OtpVerified(details::Otp { recipient: p.id.clone(), channel: details::OtpChannel::Email })
        }
        Command::Sign { recipient, link, code_verified, details } => {
            let p = part_done(ceremony, &mut next, &mut follow_ups, recipient, &link, code_verified, now)?;
            if p.role != ParticipantRole::Signer {
                return Err(Refusal::WrongAction(p.role.verb()));
            }
            CeremonyEvent::Signed(details::Signed { recipient: p.id.clone(), position: position(recipient), ..details })
        }
        Command::Approve { recipient, link, code_verified }
        | Command::Acknowledge { recipient, link, code_verified } => {
            let acknowledging = matches!(command, Command::Acknowledge { .. });
            let p = part_done(ceremony, &mut next, &mut follow_ups, recipient, &link, code_verified, now)?;
            let asked = if acknowledging { ParticipantRole::Acknowledger } else { ParticipantRole::Approver };
            if p.role != asked {
                return Err(Refusal::WrongAction(p.role.verb()));
            }
            let done = details::Approved { recipient: p.id.clone(), position: position(recipient) };
            if acknowledging { CeremonyEvent::Acknowledged(done) } else { CeremonyEvent::Approved(done) }
        }
        Command::Decline { recipient, link, code_verified, reason } => {
            let p = acting(ceremony, recipient, &link, now)?;
            if !p.role.may_decline() {
                return Err(Refusal::WrongAction(p.role.verb()));
            }
            ceremony.may_act(recipient)?;
            if p.otp_required && !code_verified {
                return Err(Refusal::CodeRequired);
            }
            next.participants[recipient].status = RecipientStatus::Declined;
            next.status = DocumentStatus::Declined;
            follow_ups.push(FollowUp::NotifyOwnerDeclined { recipient });
            CeremonyEvent::Declined(details::Declined {
                recipient: p.id.clone(),
                position: position(recipient),
                reason,
            })
        }
        Command::Remind { recipient, link } => {
            in_flight(ceremony)?;
            if ceremony.expires_at.is_some_and(|at| at <= now) {
                return Err(Refusal::PastDeadline);
            }
            let p = participant(ceremony, recipient)?;
            // Due, and not sent already: a second job or process finds the time moved on.
            if ceremony.reminder_at(recipient).is_none_or(|at| at > now) {
                return Err(Refusal::NoReminderDue);
            }
            let q = &mut next.participants[recipient];
            q.link = Some(link);
            q.link_issued_at = Some(now);
            q.reminders_sent += 1;
            let number = q.reminders_sent;
            follow_ups.push(FollowUp::MailReminder { recipient });
            follow_ups.extend(next.next_reminder_at().map(FollowUp::RemindAt));
            CeremonyEvent::Reminded(details::Reminded {
                recipient: p.id.clone(),
                position: position(recipient),
                number,
                of: ceremony.reminders.max,
            })
        }
        Command::Stall { threshold, after } => {
            in_flight(ceremony)?;
            if threshold != ceremony.stalls {
                return Err(Refusal::NoStallDue);
            }
            let since = ceremony.progressed_at.ok_or(Refusal::NoStallDue)?;
            if since.saturating_add(after) > now {
                return Err(Refusal::NoStallDue);
            }
            next.stalls += 1;
            let days = u32::try_from(after.as_secs() / (24 * 3600)).unwrap_or(u32::MAX);
            follow_ups.push(FollowUp::NotifyOwnerStalled { days });
            CeremonyEvent::Stalled(details::Stalled {
                days,
                since: since.as_micros(),
                waiting_for: ceremony
                    .participants
                    .iter()
                    .filter(|p| {
                        p.role.must_act() && !matches!(p.status, RecipientStatus::Signed | RecipientStatus::Declined)
                    })
                    .map(|p| p.id.clone())
                    .collect(),
            })
        }
        Command::Void { reason } => {
            in_flight(ceremony)?;
            next.status = DocumentStatus::Voided;
            follow_ups.extend(had_a_link(ceremony).map(|recipient| FollowUp::NotifyVoided { recipient }));
            CeremonyEvent::Voided(details::Voided { reason })
        }
        Command::Expire => {
            in_flight(ceremony)?;
            match ceremony.expires_at {
                Some(at) if at <= now => {}
                _ => return Err(Refusal::NotExpiredYet),
            }
            next.status = DocumentStatus::Expired;
            follow_ups.extend(had_a_link(ceremony).map(|recipient| FollowUp::NotifyExpired { recipient }));
            CeremonyEvent::Expired(details::Expired {
                deadline: ceremony.expires_at.map_or(0, Timestamp::as_micros),
                unsigned: ceremony
                    .participants
                    .iter()
                    .filter(|p| p.role.must_act() && p.status != RecipientStatus::Signed)
                    .count(),
            })
        }
        Command::Complete { details } => {
            in_flight(ceremony)?;
            if !ceremony.everyone_acted() {
                return Err(Refusal::NotEveryoneSigned);
            }
            next.status = DocumentStatus::Completed;
            follow_ups.push(FollowUp::SealAndDeliver);
            CeremonyEvent::Completed(details)
        }
    };
    Ok(Transition { next, event, follow_ups })
}

fn in_flight(ceremony: &Ceremony) -> Result<(), Refusal> {
    if ceremony.in_flight() { Ok(()) } else { Err(Refusal::NotInFlight(ceremony.status)) }
}

fn participant(ceremony: &Ceremony, index: usize) -> Result<&Participant, Refusal> {
    ceremony.participants.get(index).ok_or(Refusal::NoSuchRecipient)
}

/// The recipient behind a link, while the document is out and that link is theirs and current.
fn acting<'a>(ceremony: &'a Ceremony, index: usize, link: &Sha256, now: Timestamp) -> Result<&'a Participant, Refusal> {
    let p = participant(ceremony, index)?;
    if p.link.as_ref() != Some(link) {
        return Err(Refusal::LinkReplaced);
    }
    match p.status {
        RecipientStatus::Signed => return Err(Refusal::AlreadySigned),
        RecipientStatus::Declined => return Err(Refusal::AlreadyDeclined),
        _ => {}
    }
    in_flight(ceremony)?;
    // Until the expiry job runs, the deadline still holds: nobody acts after it.
    if ceremony.expires_at.is_some_and(|at| at <= now) {
        return Err(Refusal::PastDeadline);
    }
    Ok(p)
}

/// A participant's part ending well (signed, approved, acknowledged), whatever it was: their
/// link, their turn, their consent and code; then the state every finished part shares, and the
/// next links or completion. The caller checks the part was theirs to do (before anything is
/// kept: a refusal drops `next`).
fn part_done<'a>(
    ceremony: &'a Ceremony,
    next: &mut Ceremony,
    follow_ups: &mut Vec<FollowUp>,
    recipient: usize,
    link: &Sha256,
    code_verified: bool,
    now: Timestamp,
) -> Result<&'a Participant, Refusal> {
    let p = acting(ceremony, recipient, link, now)?;
    ceremony.may_act(recipient)?;
    if !p.consented {
        return Err(Refusal::ConsentFirst);
    }
    if p.otp_required && !code_verified {
        return Err(Refusal::CodeRequired);
    }
    let q = &mut next.participants[recipient];
    q.status = RecipientStatus::Signed;
    q.viewed = true;
    next.progressed_at = Some(now);
    if next.everyone_acted() {
        follow_ups.push(FollowUp::Complete);
    } else {
        follow_ups.extend(next.due_for_link().into_iter().map(|recipient| FollowUp::IssueLink { recipient }));
    }
    Ok(p)
}

fn with_codes(p: &Participant) -> Result<&Participant, Refusal> {
    if p.otp_required { Ok(p) } else { Err(Refusal::NoCodes) }
}

/// Recipients told when the document ends before completing: everyone who was sent a link,
/// signed or not (a signer should know their signature will not count), but not one who
/// declined (they know).
fn had_a_link(ceremony: &Ceremony) -> impl Iterator<Item = usize> + '_ {
    ceremony
        .participants
        .iter()
        .enumerate()
        .filter(|(_, p)| p.link.is_some() && p.status != RecipientStatus::Declined)
        .map(|(i, _)| i)
}

/// A recipient's 1-based position in signing order, as the evidence names it.
fn position(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}
