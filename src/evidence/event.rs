//! Audit events: what is recorded about each thing that happens to a document, and the one
//! canonical byte encoding of it that gets hashed.
//!
//! An event has two parts. The *record* ([`EventRecord`]) is public and permanent: document id,
//! sequence number, event id and type, time, actor kind and id, the file's SHA-256, the details
//! object, the previous event's hash, and a *commitment* to the personal data. The personal data
//! itself ([`PersonalData`]: email, name, IP address, user agent, geolocation) never enters a
//! hash directly; it enters only through `SHA-256("attesta/v1/personal" || 0x00 || salt ||
//! JCS(personal))` with a 32-byte random [`Salt`] the caller supplies. Deleting the personal data
//! and the salt therefore leaves every hash, chain link and proof valid, and leaves nothing from
//! which a guessable value such as an email address could be confirmed.
//!
//! Encoding: the record is serialised with the field names below, every field present (absent
//! values as `null`), and canonicalised with RFC 8785 (JCS). Integers in it are kept within
//! ±(2^53 − 1) so every JCS implementation prints them identically; the version field `v` says
//! which encoding and hash tag apply, so the encoding can change later without breaking chains
//! already written. Unknown event types and actor kinds are kept as written, so the set can grow
//! and older verifiers still read newer chains.

use super::hash::{Sha256, tag, tagged};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The record encoding this code writes and the only one it reads.
pub const RECORD_VERSION: u32 = 1;
/// The largest integer every JSON implementation reads exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Longest identifier (document, event, actor id), in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest personal-data text field, in bytes.
pub const MAX_TEXT_BYTES: usize = 2048;
/// Largest details object, in bytes of its JCS form (what is hashed), the braces included.
pub const MAX_DETAILS_BYTES: usize = 64 * 1024;
/// Deepest value in details: the details object is at depth 0, a member of an object or an
/// element of an array at depth `d` is at depth `d + 1`, and no value may be deeper than this.
pub const MAX_DETAILS_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("{0} must be 1 to 128 characters of A-Z, a-z, 0-9 and . _ : -")]
    InvalidId(&'static str),
    #[error("{0} must be a lowercase dotted name such as `document.sent`")]
    InvalidName(&'static str),
    #[error("text longer than {MAX_TEXT_BYTES} bytes")]
    TextTooLong,
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("details: {0}")]
    InvalidDetails(&'static str),
    #[error("record version {0} is not supported (this verifier reads version {RECORD_VERSION})")]
    UnsupportedVersion(u32),
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, EventError> {
                if input.is_empty() || input.len() > MAX_ID_LEN || !input.chars().all(is_id_char) {
                    return Err(EventError::InvalidId($what));
                }
                Ok(Self(input.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = EventError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// The id of a document, as the server assigns it (a number, UUID or ULID written as text).
    DocumentId,
    "a document id"
);
identifier!(
    /// The id of one event, unique within the server.
    EventId,
    "an event id"
);
identifier!(
    /// The id of whoever acted: a user id, a recipient id, or a system component's name.
    ActorId,
    "an actor id"
);

impl EventId {
    /// A fresh id: `e` and 26 lowercase base32 characters (130 random bits).
    pub fn generate(entropy: &dyn crate::ports::Entropy) -> Self {
        use crate::entropy::EntropyExt as _;
        Self(format!("e{}", entropy.base32(26)))
    }
}

/// A lowercase dotted name that this code does not know (yet): a newer event type or actor kind.
/// Only [`EventType::parse`] and [`ActorKind::parse`] make one, so it never spells a known name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownName(String);

impl UnknownName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[a-z][a-z0-9_]*` segments joined by dots, at most 64 bytes.
fn is_name(input: &str, min_segments: usize) -> bool {
    input.len() <= 64
        && input.split('.').count() >= min_segments
        && input.split('.').all(|segment| {
            let mut chars = segment.chars();
            chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, $segments:literal { $($variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A name this code does not know, kept exactly as written.
            Other(UnknownName),
        }

        impl $name {
            pub fn parse(input: &str) -> Result<Self, EventError> {
                match input {
                    $($text => Ok(Self::$variant),)*
                    other if is_name(other, $segments) => Ok(Self::Other(UnknownName(other.to_owned()))),
                    _ => Err(EventError::InvalidName($what)),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(name) => name.as_str(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum!(
    /// What happened. Stored as its dotted name, so new types never change old hashes.
    EventType, "an event type", 2 {
        DocumentUploaded => "document.uploaded",
        DocumentSent => "document.sent",
        DocumentScheduled => "document.scheduled",
        DocumentScheduleCancelled => "document.schedule_cancelled",
        RecipientEmailSent => "recipient.email_sent",
        RecipientLinkIssued => "recipient.link_issued",
        RecipientReminded => "recipient.reminded",
        RecipientEmailFailed => "recipient.email_failed",
        SenderEmailSent => "sender.email_sent",
        SenderEmailFailed => "sender.email_failed",
        RecipientViewed => "recipient.viewed",
        RecipientConsented => "recipient.consented",
        RecipientOtpSent => "recipient.otp_sent",
        RecipientOtpFailed => "recipient.otp_failed",
        RecipientOtpVerified => "recipient.otp_verified",
        RecipientSigned => "recipient.signed",
        RecipientDeclined => "recipient.declined",
        RecipientApproved => "recipient.approved",
        RecipientAcknowledged => "recipient.acknowledged",
        DocumentCompleted => "document.completed",
        DocumentSealed => "document.sealed",
        DocumentSealCertificate => "document.seal_certificate",
        DocumentExpired => "document.expired",
        DocumentStalled => "document.stalled",
        DocumentVoided => "document.voided",
        DocumentDownloaded => "document.downloaded",
        DocumentViewed => "document.viewed",
        DocumentDeleted => "document.deleted",
        DocumentRenamed => "document.renamed",
        // Retention (`crate::retention`): holds, and what a purge removed.
        DocumentLegalHoldPlaced => "document.legal_hold_placed",
        DocumentLegalHoldReleased => "document.legal_hold_released",
        RetentionPersonalDataPurged => "retention.personal_data_purged",
        RetentionDocumentFilesPurged => "retention.document_files_purged",
        // Clause intelligence (`risk::review`): a flag raised, reviewed, resolved.
        RiskFlagged => "risk.flagged",
        RiskReviewed => "risk.reviewed",
        RiskResolved => "risk.resolved",
        // The instance chain (`instance`): administrative acts, not about any document.
        UserCreated => "user.created",
        UserDisabled => "user.disabled",
        UserEnabled => "user.enabled",
        ApiKeyCreated => "api_key.created",
        ApiKeyRevoked => "api_key.revoked",
        WebhookCreated => "webhook.created",
        WebhookUpdated => "webhook.updated",
        WebhookDeleted => "webhook.deleted",
        WebhookSecretRotated => "webhook.secret_rotated",
        SessionRevoked => "session.revoked",
        InstanceKeysConfigured => "instance.keys_configured",
        InstanceSelfVerificationFailed => "instance.self_verification_failed",
    }
);

named_enum!(
    /// Who acted: a signed-in user, a user through one of their API keys (`api_key:<public id>`),
    /// a recipient through their link, or the system itself.
    ActorKind, "an actor kind", 1 {
        User => "user",
        ApiKey => "api_key",
        Recipient => "recipient",
        System => "system",
    }
);

/// Who acted, by kind and id. Their email and other personal data are in [`PersonalData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<ActorId>,
}

/// The actor id of the server itself: ids are `<kind>:<id>` for every kind (`user:42`,
/// `recipient:r1`, `api_key:ak_…`), the system's too.
pub const SYSTEM_ACTOR_ID: &str = "system:attesta";

impl Actor {
    /// The server itself, as the actor of the events it records on its own (mail sent,
    /// completion, seal).
    pub fn system() -> Self {
        Self { kind: ActorKind::System, id: Some(ActorId::parse(SYSTEM_ACTOR_ID).expect("a valid id")) }
    }
}

/// Personal-data text: at most [`MAX_TEXT_BYTES`] bytes, otherwise as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub fn new(input: impl Into<String>) -> Result<Self, EventError> {
        let input = input.into();
        if input.len() > MAX_TEXT_BYTES {
            return Err(EventError::TextTooLong);
        }
        Ok(Self(input))
    }

    /// The input cut at a character boundary to fit: for values from outside, such as a user
    /// agent, that must never make recording an event fail.
    pub fn truncated(input: &str) -> Self {
        let mut end = input.len().min(MAX_TEXT_BYTES);
        while !input.is_char_boundary(end) {
            end -= 1;
        }
        Self(input[..end].to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = EventError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Text> for String {
    fn from(value: Text) -> Self {
        value.0
    }
}

macro_rules! degrees {
    ($(#[$doc:meta])* $name:ident, $limit:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
        #[serde(try_from = "f64", into = "f64")]
        pub struct $name(f64);

        impl $name {
            pub fn new(degrees: f64) -> Result<Self, EventError> {
                if degrees.is_finite() && (-$limit..=$limit).contains(&degrees) {
                    Ok(Self(degrees))
                } else {
                    Err(EventError::OutOfRange($what))
                }
            }

            pub fn degrees(self) -> f64 {
                self.0
            }
        }

        impl TryFrom<f64> for $name {
            type Error = EventError;
            fn try_from(value: f64) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for f64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

degrees!(
    /// Degrees north, −90 to 90.
    Latitude, 90.0, "latitude"
);
degrees!(
    /// Degrees east, −180 to 180.
    Longitude, 180.0, "longitude"
);

/// Where a geolocation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeoSource {
    /// Looked up from the IP address.
    Ip,
    /// Reported by the browser, with the person's permission.
    Browser,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geolocation {
    pub source: GeoSource,
    pub country: Option<Text>,
    pub region: Option<Text>,
    pub city: Option<Text>,
    pub latitude: Option<Latitude>,
    pub longitude: Option<Longitude>,
}

/// The personal data about one event's actor. Purgeable: it is hashed only through the salted
/// commitment in the record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalData {
    pub email: Option<Text>,
    pub name: Option<Text>,
    pub ip: Option<Text>,
    pub user_agent: Option<Text>,
    pub geo: Option<Geolocation>,
}

impl PersonalData {
    /// No personal data at all, e.g. for events the system records by itself.
    pub fn none() -> Self {
        Self::default()
    }

    /// The RFC 8785 canonical JSON that the commitment covers.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical(self)
    }

    /// `SHA-256("attesta/v1/personal" || 0x00 || salt || JCS(self))`.
    pub fn commitment(&self, salt: &Salt) -> Sha256 {
        tagged(tag::PERSONAL, &[salt.as_bytes(), &self.canonical_bytes()])
    }
}

/// 32 random bytes that blind one event's personal-data commitment. The server draws them from
/// its random source (the core never does) and deletes them with the personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt([u8; 32]);

impl Salt {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

impl Serialize for Salt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // One spelling, as for digests: 64 lowercase hex characters.
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let bytes =
            Sha256::parse_hex(&text).map_err(|_| serde::de::Error::custom("a salt is 64 lowercase hex characters"))?;
        Ok(Self(*bytes.as_bytes()))
    }
}

/// The event's details: a JSON object whose meaning depends on the event type. It is public and
/// permanent, so personal data never belongs here. Every number in it is an integer within
/// ±(2^53 − 1) or a finite float, so all JCS implementations encode it alike.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct Details(Map<String, Value>);

impl Details {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn new(map: Map<String, Value>) -> Result<Self, EventError> {
        for value in map.values() {
            check_details_value(value, 1)?;
        }
        // Counted in the bytes that are hashed (JCS), not in any particular JSON text of them.
        let size =
            serde_json_canonicalizer::to_vec(&map).map_err(|_| EventError::InvalidDetails("not serialisable"))?.len();
        if size > MAX_DETAILS_BYTES {
            return Err(EventError::InvalidDetails("larger than 64 KiB"));
        }
        Ok(Self(map))
    }

    /// Details from a JSON value, which must be an object.
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        match value {
            Value::Object(map) => Self::new(map),
            _ => Err(EventError::InvalidDetails("not a JSON object")),
        }
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl TryFrom<Map<String, Value>> for Details {
    type Error = EventError;
    fn try_from(value: Map<String, Value>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl Serialize for Details {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

fn check_details_value(value: &Value, depth: usize) -> Result<(), EventError> {
    if depth > MAX_DETAILS_DEPTH {
        return Err(EventError::InvalidDetails("nested too deeply"));
    }
    match value {
        Value::Number(n) => {
            let safe = if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= MAX_SAFE_INTEGER
            } else if n.as_u64().is_some() {
                false
            } else {
                n.as_f64().is_some_and(f64::is_finite)
            };
            if safe { Ok(()) } else { Err(EventError::InvalidDetails("integer beyond ±(2^53 − 1)")) }
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_details_value(v, depth + 1)),
        Value::Object(map) => map.values().try_for_each(|v| check_details_value(v, depth + 1)),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// RFC 8785 canonical JSON of a value built only from the validated types in this module.
fn canonical<T: Serialize>(value: &T) -> Vec<u8> {
    // JCS fails only on NaN or infinite floats, which `Latitude`, `Longitude` and `Details`
    // refuse at construction; writing into a Vec cannot fail.
    serde_json_canonicalizer::to_vec(value).expect("validated evidence types always canonicalise")
}

/// The public fields of a new event, as the server describes it before the chain places it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: EventId,
    pub event_type: EventType,
    pub time: Timestamp,
    pub actor: Actor,
    /// SHA-256 of the document file as it is at this moment.
    pub file_sha256: Sha256,
    /// SHA-256 of the file as the client computed it, when the client did.
    pub client_file_sha256: Option<Sha256>,
    pub details: Details,
}

/// The hashed, public part of an event. Built only through [`EventRecord::new`] (or read from
/// JSON), so every record can be encoded canonically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRecord")]
pub struct EventRecord {
    #[serde(rename = "v")]
    pub(crate) version: u32,
    pub(crate) document_id: DocumentId,
    pub(crate) seq: u64,
    pub(crate) event_id: EventId,
    #[serde(rename = "type")]
    pub(crate) event_type: EventType,
    pub(crate) time: Timestamp,
    pub(crate) actor: Actor,
    pub(crate) file_sha256: Sha256,
    pub(crate) client_file_sha256: Option<Sha256>,
    pub(crate) details: Details,
    pub(crate) personal_commitment: Sha256,
    pub(crate) prev_hash: Sha256,
}

/// The JSON shape of a record before its values are range-checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    v: u32,
    document_id: DocumentId,
    seq: u64,
    event_id: EventId,
    #[serde(rename = "type")]
    event_type: EventType,
    time: Timestamp,
    actor: Actor,
    file_sha256: Sha256,
    client_file_sha256: Option<Sha256>,
    details: Details,
    personal_commitment: Sha256,
    prev_hash: Sha256,
}

impl TryFrom<RawRecord> for EventRecord {
    type Error = EventError;
    fn try_from(raw: RawRecord) -> Result<Self, Self::Error> {
        if raw.v != RECORD_VERSION {
            return Err(EventError::UnsupportedVersion(raw.v));
        }
        let new = NewEvent {
            event_id: raw.event_id,
            event_type: raw.event_type,
            time: raw.time,
            actor: raw.actor,
            file_sha256: raw.file_sha256,
            client_file_sha256: raw.client_file_sha256,
            details: raw.details,
        };
        Self::new(raw.document_id, raw.seq, raw.prev_hash, raw.personal_commitment, new)
    }
}

impl EventRecord {
    /// A version-1 record. `seq` and the time in microseconds must be within ±(2^53 − 1): the
    /// time limit is the year 2255.
    pub fn new(
        document_id: DocumentId,
        seq: u64,
        prev_hash: Sha256,
        personal_commitment: Sha256,
        event: NewEvent,
    ) -> Result<Self, EventError> {
        if seq > MAX_SAFE_INTEGER {
            return Err(EventError::OutOfRange("sequence number"));
        }
        if event.time.as_micros().unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(EventError::OutOfRange("time"));
        }
        Ok(Self {
            version: RECORD_VERSION,
            document_id,
            seq,
            event_id: event.event_id,
            event_type: event.event_type,
            time: event.time,
            actor: event.actor,
            file_sha256: event.file_sha256,
            client_file_sha256: event.client_file_sha256,
            details: event.details,
            personal_commitment,
            prev_hash,
        })
    }

    /// The RFC 8785 canonical JSON of the record: the bytes that are hashed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical(self)
    }

    /// `SHA-256("attesta/v1/event" || 0x00 || JCS(record))`.
    pub fn hash(&self) -> Sha256 {
        tagged(tag::EVENT, &[&self.canonical_bytes()])
    }

    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn document_id(&self) -> &DocumentId {
        &self.document_id
    }
    pub fn seq(&self) -> u64 {
        self.seq
    }
    pub fn event_id(&self) -> &EventId {
        &self.event_id
    }
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }
    pub fn time(&self) -> Timestamp {
        self.time
    }
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    pub fn file_sha256(&self) -> &Sha256 {
        &self.file_sha256
    }
    pub fn client_file_sha256(&self) -> Option<&Sha256> {
        self.client_file_sha256.as_ref()
    }
    pub fn details(&self) -> &Details {
        &self.details
    }
    pub fn personal_commitment(&self) -> &Sha256 {
        &self.personal_commitment
    }
    pub fn prev_hash(&self) -> &Sha256 {
        &self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_event_types_round_trip_through_their_names() {
        for name in [
            "document.uploaded",
            "document.sent",
            "document.scheduled",
            "recipient.email_sent",
            "recipient.reminded",
            "recipient.email_failed",
            "sender.email_sent",
            "sender.email_failed",
            "recipient.viewed",
            "recipient.consented",
            "recipient.otp_sent",
            "recipient.otp_verified",
            "recipient.signed",
            "recipient.declined",
            "recipient.approved",
            "recipient.acknowledged",
            "document.completed",
            "document.sealed",
            "document.expired",
            "document.stalled",
            "document.voided",
            "document.downloaded",
            "document.legal_hold_placed",
            "document.legal_hold_released",
            "retention.personal_data_purged",
            "retention.document_files_purged",
        ] {
            let parsed = EventType::parse(name).expect("known type");
            assert!(!matches!(parsed, EventType::Other(_)), "{name} should be a known variant");
            assert_eq!(parsed.as_str(), name);
        }
    }

    #[test]
    fn unknown_event_types_are_kept_as_written_so_the_set_can_grow() {
        let parsed = EventType::parse("recipient.delegated").expect("well-formed name");
        assert_eq!(parsed.as_str(), "recipient.delegated");
        assert!(matches!(parsed, EventType::Other(_)));
        for bad in ["", "document", "Document.sent", "document..sent", "document.sent ", "document.1x", "a.b\n"] {
            assert!(EventType::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ActorKind::parse("integration").map(|k| k.as_str().to_owned()), Ok("integration".to_owned()));
    }

    #[test]
    fn identifiers_refuse_spaces_newlines_and_overlong_input() {
        assert!(DocumentId::parse("01J9Z3K7V1-doc_42:x.y").is_ok());
        for bad in ["", "a b", "a\nb", "ä", &"x".repeat(MAX_ID_LEN + 1)] {
            assert!(DocumentId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn details_refuse_integers_that_json_readers_would_round() {
        assert!(Details::from_value(json!({"n": 9_007_199_254_740_991_i64, "f": 1.5})).is_ok());
        assert!(Details::from_value(json!({"n": 9_007_199_254_740_992_i64})).is_err());
        assert!(Details::from_value(json!({"n": [-9_007_199_254_740_992_i64]})).is_err());
        assert!(Details::from_value(json!({"n": u64::MAX})).is_err());
        assert!(Details::from_value(json!([1])).is_err());
        let mut deep = json!(1);
        for _ in 0..MAX_DETAILS_DEPTH {
            deep = json!([deep]);
        }
        assert!(Details::from_value(json!({ "d": deep })).is_err());
    }

    #[test]
    fn coordinates_must_be_finite_and_on_the_globe() {
        assert!(Latitude::new(52.52).is_ok());
        assert!(Latitude::new(90.5).is_err());
        assert!(Longitude::new(-180.0).is_ok());
        assert!(Longitude::new(f64::NAN).is_err());
        assert!(Longitude::new(f64::INFINITY).is_err());
    }

    #[test]
    fn text_truncation_keeps_whole_characters() {
        let long = "é".repeat(MAX_TEXT_BYTES);
        let cut = Text::truncated(&long);
        assert!(cut.as_str().len() <= MAX_TEXT_BYTES);
        assert!(cut.as_str().chars().all(|c| c == 'é'));
        assert!(Text::new(long).is_err());
    }

    #[test]
    fn salts_are_never_printed() {
        assert_eq!(format!("{:?}", Salt::from_bytes([7; 32])), "Salt(<redacted>)");
    }

    #[test]
    fn personal_data_canonical_form_lists_every_field_with_nulls_in_key_order() {
        assert_eq!(
            String::from_utf8(PersonalData::none().canonical_bytes()).expect("utf-8"),
            r#"{"email":null,"geo":null,"ip":null,"name":null,"user_agent":null}"#
        );
    }

    #[test]
    fn records_refuse_numbers_beyond_the_safe_integer_range() {
        let new = NewEvent {
            event_id: EventId::parse("e").expect("id"),
            event_type: EventType::DocumentSent,
            time: Timestamp::from_micros(1 << 53),
            actor: Actor { kind: ActorKind::System, id: None },
            file_sha256: Sha256::digest(b""),
            client_file_sha256: None,
            details: Details::empty(),
        };
        let doc = DocumentId::parse("d").expect("id");
        let zero = Sha256::from_bytes([0; 32]);
        assert_eq!(EventRecord::new(doc.clone(), 0, zero, zero, new.clone()), Err(EventError::OutOfRange("time")));
        let ok_time = NewEvent { time: Timestamp::from_micros(0), ..new };
        assert_eq!(
            EventRecord::new(doc, MAX_SAFE_INTEGER + 1, zero, zero, ok_time),
            Err(EventError::OutOfRange("sequence number"))
        );
    }
}
