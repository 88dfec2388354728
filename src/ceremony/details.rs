//! The typed details of every event the ceremony records: one type per event kind, serialised
//! exactly in the form `docs/EVIDENCE.md` §4 documents (member names, value types, which members
//! may be absent). The server never builds ceremony details as free-form JSON.

use crate::evidence::{EventType, Sha256};
use crate::signing::{FieldKind, SigningOrder};
use serde::{Deserialize, Serialize};

/// The one event of a transition.
#[derive(Debug, Clone, PartialEq)]
pub enum CeremonyEvent {
    DocumentSent(DocumentSent),
    Scheduled(Scheduled),
    ScheduleCancelled(ScheduleCancelled),
    LinkIssued(LinkIssued),
    Reminded(Reminded),
    Viewed(RecipientRef),
    Consented(Consented),
    OtpSent(Otp),
    OtpFailed(OtpFailed),
    OtpVerified(Otp),
    Signed(Signed),
    Approved(Approved),
    Acknowledged(Approved),
    Declined(Declined),
    Voided(Voided),
    Expired(Expired),
    Stalled(Stalled),
    Completed(Completed),
}

impl CeremonyEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::DocumentSent(_) => EventType::DocumentSent,
            Self::Scheduled(_) => EventType::DocumentScheduled,
            Self::ScheduleCancelled(_) => EventType::DocumentScheduleCancelled,
            Self::LinkIssued(_) => EventType::RecipientLinkIssued,
            Self::Reminded(_) => EventType::RecipientReminded,
            Self::Viewed(_) => EventType::RecipientViewed,
            Self::Consented(_) => EventType::RecipientConsented,
            Self::OtpSent(_) => EventType::RecipientOtpSent,
            Self::OtpFailed(_) => EventType::RecipientOtpFailed,
            Self::OtpVerified(_) => EventType::RecipientOtpVerified,
            Self::Signed(_) => EventType::RecipientSigned,
            Self::Approved(_) => EventType::RecipientApproved,
            Self::Acknowledged(_) => EventType::RecipientAcknowledged,
            Self::Declined(_) => EventType::RecipientDeclined,
            Self::Voided(_) => EventType::DocumentVoided,
            Self::Expired(_) => EventType::DocumentExpired,
            Self::Stalled(_) => EventType::DocumentStalled,
            Self::Completed(_) => EventType::DocumentCompleted,
        }
    }

    /// The `details` object of the event record.
    pub fn details(&self) -> serde_json::Value {
        let value = match self {
            Self::DocumentSent(d) => serde_json::to_value(d),
            Self::Scheduled(d) => serde_json::to_value(d),
            Self::ScheduleCancelled(d) => serde_json::to_value(d),
            Self::LinkIssued(d) => serde_json::to_value(d),
            Self::Reminded(d) => serde_json::to_value(d),
            Self::Viewed(d) => serde_json::to_value(d),
            Self::Consented(d) => serde_json::to_value(d),
            Self::OtpSent(d) | Self::OtpVerified(d) => serde_json::to_value(d),
            Self::OtpFailed(d) => serde_json::to_value(d),
            Self::Signed(d) => serde_json::to_value(d),
            Self::Approved(d) | Self::Acknowledged(d) => serde_json::to_value(d),
            Self::Declined(d) => serde_json::to_value(d),
            Self::Voided(d) => serde_json::to_value(d),
            Self::Expired(d) => serde_json::to_value(d),
            Self::Stalled(d) => serde_json::to_value(d),
            Self::Completed(d) => serde_json::to_value(d),
        };
        // Plain structs of strings, integers and booleans always serialise.
        value.unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()))
    }

    /// The recipient the event is about, when it is about one.
    pub fn recipient(&self) -> Option<&str> {
        match self {
            Self::LinkIssued(d) => Some(&d.recipient),
            Self::Reminded(d) => Some(&d.recipient),
            Self::Viewed(d) => Some(&d.recipient),
            Self::Consented(d) => Some(&d.recipient),
            Self::OtpSent(d) | Self::OtpVerified(d) => Some(&d.recipient),
            Self::OtpFailed(d) => Some(&d.recipient),
            Self::Signed(d) => Some(&d.recipient),
            Self::Approved(d) | Self::Acknowledged(d) => Some(&d.recipient),
            Self::Declined(d) => Some(&d.recipient),
            Self::DocumentSent(_)
            | Self::Scheduled(_)
            | Self::ScheduleCancelled(_)
            | Self::Voided(_)
            | Self::Expired(_)
            | Self::Stalled(_)
            | Self::Completed(_) => None,
        }
    }
}

/// `document.sent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSent {
    /// SHA-256 of the frozen layout (EVIDENCE.md §4, "The frozen layout").
    pub layout_sha256: Sha256,
    pub order: SigningOrder,
    /// How many recipients.
    pub recipients: usize,
    /// How many fields.
    pub fields: usize,
    /// The deadline (UTC µs); absent when the document never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// `document.scheduled`: the draft, as its layout hash names it, is to be sent at `send_at`
/// (UTC µs), a time the sender picked on the clock of `time_zone` (an IANA name). `replaces` is
/// the time of the schedule this one moves, or null. From this event until the send or a
/// `document.schedule_cancelled`, the draft cannot change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheduled {
    pub send_at: i64,
    pub time_zone: String,
    pub layout_sha256: Sha256,
    pub recipients: usize,
    pub fields: usize,
    pub replaces: Option<i64>,
}

/// `document.schedule_cancelled`: the send scheduled for `send_at` (UTC µs) will not happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCancelled {
    pub send_at: i64,
}

/// `recipient.link_issued`: a signing link now works for this recipient (and any older one of
/// theirs no longer does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkIssued {
    pub recipient: String,
    pub position: u32,
    /// Whether it replaces a link they had.
    pub replaces_link: bool,
}

/// `recipient.viewed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientRef {
    pub recipient: String,
}

/// `recipient.consented`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consented {
    pub recipient: String,
    /// SHA-256 of the exact disclosure text shown.
    pub disclosure_sha256: Sha256,
    pub location_shared: bool,
}

/// How a one-time code travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpChannel {
    Email,
}

/// `recipient.otp_sent`, `recipient.otp_verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Otp {
    pub recipient: String,
    pub channel: OtpChannel,
}

/// `recipient.otp_failed`: a wrong code was entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpFailed {
    pub recipient: String,
    pub channel: OtpChannel,
    /// Tries left on this code (0: it is locked until a new one is sent).
    pub remaining: u32,
}

/// `recipient.signed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    pub recipient: String,
    pub position: u32,
    pub fields: Vec<SignedField>,
    pub images: SignedImages,
}

/// One field as the evidence records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedField {
    pub id: String,
    pub kind: FieldKind,
    pub page: u32,
    pub value: FieldValue,
}

/// What was entered in a field. Typed text is personal and permanent details are public, so the
/// evidence says only how long it was (the text is in the document itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldValue {
    /// The adopted signature or initials was placed here.
    Applied,
    Checked {
        value: bool,
    },
    /// The signing date, `YYYY-MM-DD` (UTC).
    Date {
        value: String,
    },
    Text {
        chars: usize,
    },
}

/// The images a signature used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedImages {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignedImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initials: Option<SignedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedImage {
    /// SHA-256 of the PNG as stored.
    pub sha256: Sha256,
    pub method: InkMethod,
    pub bytes: usize,
}

/// How a signature image was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InkMethod {
    Drawn,
    Typed,
}

/// `recipient.approved` (an approver approved) and `recipient.acknowledged` (an acknowledger
/// confirmed having read it): the document their link showed (the event's
/// `client_file_sha256` is the file their browser displayed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approved {
    pub recipient: String,
    pub position: u32,
}

/// `recipient.declined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declined {
    pub recipient: String,
    pub position: u32,
    pub reason: String,
}

/// `document.voided`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voided {
    pub reason: String,
}

/// `document.expired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expired {
    /// The deadline that passed (UTC µs).
    pub deadline: i64,
    /// How many who had to act had not.
    pub unsigned: usize,
}

/// `document.completed`. Its event's `file_sha256` is the signed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completed {
    pub signers: usize,
    pub original_sha256: Sha256,
    pub original_size: u64,
    pub signed_size: u64,
    /// SHA-256 of the DER of the certificate that will seal the file.
    pub seal_certificate_sha256: Sha256,
}

/// `recipient.reminded`: reminder `number` of at most `of` went to this recipient with a fresh
/// link (their previous link stops working). The mail's delivery is its own event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminded {
    pub recipient: String,
    pub position: u32,
    pub number: u32,
    pub of: u32,
}

/// `document.stalled`: nothing moved on the document for `days` days (since `since`, UTC µs:
/// its sending or the latest view, consent or signature), and `waiting_for` (recipient ids, in
/// order) had still to act. Once per threshold of the instance's `signing.stalled_after_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stalled {
    pub days: u32,
    pub since: i64,
    pub waiting_for: Vec<String>,
}
