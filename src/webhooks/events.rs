//! Which audit events become webhook messages, what an endpoint subscribes to, and the payload.
//!
//! A message is made from one committed audit event: its type (the audit event's own name for
//! the eight below), the event's id, log index and hash (so a receiver can fetch and check the
//! evidence), who acted (kind only: names and emails are personal data and stay out), the
//! recipient's id when a recipient acted, the file's SHA-256 *at that moment* (as the event
//! recorded it), and the document's original, signed and sealed hashes and status as they were
//! when the message was made.

use crate::evidence::{ActorKind, EventRecord, EventType, Sha256};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The event types an endpoint may subscribe to, plus the test event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEventType {
    DocumentSent,
    RecipientViewed,
    RecipientSigned,
    RecipientDeclined,
    DocumentCompleted,
    DocumentSealed,
    DocumentExpired,
    DocumentVoided,
    /// Nothing moved on a document for one of the instance's stall thresholds (3 and 7 days by
    /// default): a CRM can mark the deal at risk, a task tool pick it up.
    DocumentStalled,
    /// A high or critical clause flagged by the risk scan (`risk.flagged` events of lower
    /// severity are not announced).
    RiskFlagged,
    /// The instance's self-verification found a problem (an `instance.self_verification_failed`
    /// event of the instance chain): sent to the endpoints of owners and admins.
    SelfVerificationFailed,
    /// Sent by the "Send test event" button only; every endpoint receives it when asked.
    WebhookTest,
}

impl WebhookEventType {
    /// Every type an endpoint can choose, in the order the settings page lists them.
    pub const SUBSCRIBABLE: [WebhookEventType; 11] = [
        Self::DocumentSent,
        Self::RecipientViewed,
        Self::RecipientSigned,
        Self::RecipientDeclined,
        Self::DocumentCompleted,
        Self::DocumentSealed,
        Self::DocumentExpired,
        Self::DocumentVoided,
        Self::DocumentStalled,
        Self::RiskFlagged,
        Self::SelfVerificationFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocumentSent => "document.sent",
            Self::RecipientViewed => "recipient.viewed",
            Self::RecipientSigned => "recipient.signed",
            Self::RecipientDeclined => "recipient.declined",
            Self::DocumentCompleted => "document.completed",
            Self::DocumentSealed => "document.sealed",
            Self::DocumentExpired => "document.expired",
            Self::DocumentVoided => "document.voided",
            Self::DocumentStalled => "document.stalled",
            Self::RiskFlagged => "risk.flagged",
            Self::SelfVerificationFailed => "instance.self_verification_failed",
            Self::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().chain([Self::WebhookTest]).find(|t| t.as_str() == text)
    }

    /// In words, for the settings page.
    pub fn label(self) -> &'static str {
        match self {
            Self::DocumentSent => "Document sent",
            Self::RecipientViewed => "Recipient viewed",
            Self::RecipientSigned => "Recipient signed",
            Self::RecipientDeclined => "Recipient declined",
            Self::DocumentCompleted => "Document completed",
            Self::DocumentSealed => "Document sealed",
            Self::DocumentExpired => "Document expired",
            Self::DocumentVoided => "Document voided",
            Self::DocumentStalled => "Document stalled (no progress for days)",
            Self::RiskFlagged => "High or critical clause flagged",
            Self::SelfVerificationFailed => "Self-verification failed (owners and admins)",
            Self::WebhookTest => "Test event",
        }
    }

    /// The webhook type an audit event is announced as; `None` for events no one subscribes to
    /// (uploads, downloads, consents, codes, ...).
    pub fn from_audit(t: &EventType) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().find(|w| w.as_str() == t.as_str())
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an endpoint receives: every type (also types added later), or only the chosen ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    All,
    Only(BTreeSet<WebhookEventType>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("choose at least one event type, or all")]
    Empty,
}

impl Subscription {
    /// From the stored or submitted list: `["*"]` is all; otherwise names from
    /// [`WebhookEventType::SUBSCRIBABLE`].
    pub fn parse(names: &[String]) -> Result<Self, SubscriptionError> {
        if names.iter().any(|n| n == "*") {
            return Ok(Self::All);
        }
        let mut set = BTreeSet::new();
        for name in names {
            match WebhookEventType::parse(name) {
                Some(t) if t != WebhookEventType::WebhookTest => set.insert(t),
                _ => return Err(SubscriptionError::UnknownType(name.clone())),
            };
        }
        if set.is_empty() {
            return Err(SubscriptionError::Empty);
        }
        Ok(Self::Only(set))
    }

    /// The stored form, the inverse of [`Subscription::parse`].
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::All => vec!["*".to_owned()],
            Self::Only(set) => set.iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }

    /// Whether a message of type `t` goes to this endpoint (the test event always does).
    pub fn matches(&self, t: WebhookEventType) -> bool {
        t == WebhookEventType::WebhookTest
            || match self {
                Self::All => true,
                Self::Only(set) => set.contains(&t),
            }
    }
}

/// The document's files and status when the message is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentHashes {
    pub original_sha256: Sha256,
    pub signed_sha256: Option<Sha256>,
    pub sealed_sha256: Option<Sha256>,
    pub status: String,
}

/// The JSON body of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened, RFC 3339 UTC.
    pub timestamp: String,
    pub data: serde_json::Value,
}

#[derive(Serialize)]
struct EventData<'a> {
    document_id: &'a str,
    event_id: &'a str,
    log_index: u64,
    event_hash: String,
    actor: ActorData<'a>,
    recipient_id: Option<&'a str>,
    file: FileData,
    document: &'a DocumentHashes,
    /// For `risk.flagged`: the flag as its event recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<FlagData<'a>>,
    /// For `document.stalled`: how long nothing moved, and who has still to act.
    #[serde(skip_serializing_if = "Option::is_none")]
    stalled: Option<StalledData<'a>>,
}

#[derive(Serialize)]
struct StalledData<'a> {
    days: u64,
    waiting_for: Vec<&'a str>,
}

#[derive(Serialize)]
struct FlagData<'a> {
    id: &'a str,
    category: &'a str,
    severity: &'a str,
    clause_sha256: &'a str,
}

#[derive(Serialize)]
struct ActorData<'a> {
    kind: &'a str,
}

#[derive(Serialize)]
struct FileData {
    sha256: Sha256,
}

impl Payload {
    /// The message for an audit event, or `None` when its type is not announced.
    pub fn for_event(
        record: &EventRecord,
        log_index: u64,
        event_hash: &Sha256,
        document: &DocumentHashes,
    ) -> Option<Self> {
        let t = WebhookEventType::from_audit(record.event_type())?;
        let text = |name: &str| record.details().as_map().get(name).and_then(|v| v.as_str());
        let flag = match t {
            WebhookEventType::RiskFlagged => {
                let severity = text("severity")?;
                // Only what the owner is alerted about at once.
                if !matches!(severity, "high" | "critical") {
                    return None;
                }
                Some(FlagData {
                    id: text("flag")?,
                    category: text("category")?,
                    severity,
                    clause_sha256: text("clause_sha256")?,
                })
            }
            _ => None,
        };
        let stalled = match t {
            WebhookEventType::DocumentStalled => {
                let details = record.details().as_map();
                Some(StalledData {
                    days: details.get("days").and_then(serde_json::Value::as_u64)?,
                    waiting_for: details
                        .get("waiting_for")
                        .and_then(|v| v.as_array())?
                        .iter()
                        .filter_map(|v| v.as_str())
                        .collect(),
                })
            }
            _ => None,
        };
        let recipient_id = match record.actor().kind {
            ActorKind::Recipient => record.details().as_map().get("recipient").and_then(|v| v.as_str()),
            _ => None,
        };
        let data = EventData {
            document_id: record.document_id().as_str(),
            event_id: record.event_id().as_str(),
            log_index,
            event_hash: event_hash.to_hex(),
            actor: ActorData { kind: record.actor().kind.as_str() },
            recipient_id,
            file: FileData { sha256: *record.file_sha256() },
            document,
            flag,
            stalled,
        };
        Some(Self {
            event_type: t.as_str().to_owned(),
            timestamp: rfc3339(record.time()),
            data: serde_json::to_value(data).ok()?,
        })
    }

    /// The message for an event of the instance chain that is announced
    /// (`instance.self_verification_failed`): the event's id, log index and hash, and its
    /// details as recorded (public values only: the instance chain holds no personal data in
    /// details).
    pub fn for_instance_event(record: &EventRecord, log_index: u64, event_hash: &Sha256) -> Option<Self> {
        let t = WebhookEventType::from_audit(record.event_type())?;
        if t != WebhookEventType::SelfVerificationFailed {
            return None;
        }
        Some(Self {
            event_type: t.as_str().to_owned(),
            timestamp: rfc3339(record.time()),
            data: serde_json::json!({
                "chain": record.document_id().as_str(),
                "event_id": record.event_id().as_str(),
                "log_index": log_index,
                "event_hash": event_hash.to_hex(),
                "details": serde_json::Value::Object(record.details().as_map().clone()),
            }),
        })
    }

    /// The `webhook.test` message an owner asks for from the settings page.
    pub fn test(now: Timestamp, endpoint_id: &str) -> Self {
        Self {
            event_type: WebhookEventType::WebhookTest.as_str().to_owned(),
            timestamp: rfc3339(now),
            data: serde_json::json!({ "endpoint_id": endpoint_id, "message": "This is a test event from Attesta." }),
        }
    }

    /// The exact bytes sent and signed.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ssssssZ`, from days since the epoch by the civil-from-days algorithm
/// (H. Hinnant), so the core needs no date library.
pub fn rfc3339(t: Timestamp) -> String {
    let micros = t.as_micros();
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:06}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Actor, ActorId, Details, DocumentId, EventId, NewEvent};
    use serde_json::json;

    fn record(t: &str, actor: ActorKind, details: serde_json::Value) -> EventRecord {
        let serde_json::Value::Object(map) = details else { panic!("details are an object") };
        let event = NewEvent {
            event_id: EventId::parse("ev1").expect("id"),
            event_type: EventType::parse(t).expect("type"),
            time: Timestamp::from_micros(1_700_000_000_123_456),
            actor: Actor { kind: actor, id: Some(ActorId::parse("recipient:r1").expect("actor")) },
            file_sha256: Sha256::from_bytes([3; 32]),
            client_file_sha256: None,
            details: Details::new(map).expect("details"),
        };
        EventRecord::new(
            DocumentId::parse("doc1").expect("doc"),
            4,
            Sha256::from_bytes([0; 32]),
            Sha256::from_bytes([1; 32]),
            event,
        )
        .expect("record")
    }

    fn hashes() -> DocumentHashes {
        DocumentHashes {
            original_sha256: Sha256::from_bytes([3; 32]),
            signed_sha256: None,
            sealed_sha256: None,
            status: "sent".to_owned(),
        }
    }

    #[test]
    fn a_signature_becomes_a_recipient_signed_message_with_the_hashes() {
        let r = record("recipient.signed", ActorKind::Recipient, json!({ "recipient": "r1", "position": 0 }));
        let p = Payload::for_event(&r, 42, &Sha256::from_bytes([9; 32]), &hashes()).expect("announced");
        let body: serde_json::Value = serde_json::from_str(&p.to_body()).expect("json");
        assert_eq!(
            body,
            json!({
                "type": "recipient.signed",
                "timestamp": "2023-11-14T22:13:20.123456Z",
                "data": {
                    "document_id": "doc1", "event_id": "ev1", "log_index": 42,
                    "event_hash": "09".repeat(32), "actor": { "kind": "recipient" }, "recipient_id": "r1",
                    "file": { "sha256": "03".repeat(32) },
                    "document": { "original_sha256": "03".repeat(32), "signed_sha256": null, "sealed_sha256": null, "status": "sent" }
                }
            })
        );
    }

    #[test]
    fn only_the_announced_event_types_become_messages() {
        for t in WebhookEventType::SUBSCRIBABLE {
            let details = match t {
                WebhookEventType::RiskFlagged => {
                    json!({"flag": "rf1", "category": "Uncapped Liability", "severity": "high", "clause_sha256": "ab"})
                }
                WebhookEventType::DocumentStalled => json!({"days": 3, "since": 5, "waiting_for": ["r2"]}),
                _ => json!({}),
            };
            let r = record(t.as_str(), ActorKind::System, details);
            let p = Payload::for_event(&r, 1, &Sha256::from_bytes([9; 32]), &hashes()).expect("announced");
            assert_eq!(p.event_type, t.as_str());
            if t == WebhookEventType::DocumentStalled {
                assert_eq!(p.data["stalled"], json!({ "days": 3, "waiting_for": ["r2"] }));
            } else {
                assert!(p.data.get("stalled").is_none());
            }
            assert_eq!(p.data["recipient_id"], serde_json::Value::Null, "no recipient when the system acts");
        }
        for t in
            ["document.uploaded", "document.viewed", "recipient.consented", "recipient.otp_sent", "document.deleted"]
        {
            assert!(
                Payload::for_event(&record(t, ActorKind::User, json!({})), 1, &Sha256::from_bytes([9; 32]), &hashes())
                    .is_none(),
                "{t}"
            );
        }
    }

    #[test]
    fn only_high_and_critical_flags_are_announced_with_the_flag() {
        let flag = |severity: &str| {
            let details =
                json!({"flag": "rf1", "category": "Non-Compete", "severity": severity, "clause_sha256": "ab"});
            Payload::for_event(
                &record("risk.flagged", ActorKind::System, details),
                1,
                &Sha256::from_bytes([9; 32]),
                &hashes(),
            )
        };
        assert!(flag("low").is_none() && flag("medium").is_none());
        let p = flag("critical").expect("announced");
        assert_eq!(p.event_type, "risk.flagged");
        assert_eq!(
            p.data["flag"],
            json!({"id": "rf1", "category": "Non-Compete", "severity": "critical", "clause_sha256": "ab"})
        );
        assert!(flag("high").is_some());
    }

    #[test]
    fn subscriptions_parse_match_and_round_trip() {
        let all = Subscription::parse(&["*".to_owned()]).expect("all");
        assert!(all.matches(WebhookEventType::DocumentVoided));
        let some =
            Subscription::parse(&["recipient.signed".to_owned(), "document.completed".to_owned()]).expect("some");
        assert!(some.matches(WebhookEventType::RecipientSigned));
        assert!(!some.matches(WebhookEventType::DocumentSent));
        assert!(some.matches(WebhookEventType::WebhookTest), "the test event goes to every endpoint asked");
        assert_eq!(Subscription::parse(&some.names()).expect("again"), some);
        assert_eq!(Subscription::parse(&[]), Err(SubscriptionError::Empty));
        assert!(matches!(Subscription::parse(&["webhook.test".to_owned()]), Err(SubscriptionError::UnknownType(_))));
        assert!(matches!(
            Subscription::parse(&["document.uploaded".to_owned()]),
            Err(SubscriptionError::UnknownType(_))
        ));
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(Timestamp::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(Timestamp::from_micros(951_782_400_000_000)), "2000-02-29T00:00:00.000000Z");
        assert_eq!(rfc3339(Timestamp::from_micros(-1)), "1969-12-31T23:59:59.999999Z");
        assert_eq!(rfc3339(Timestamp::from_micros(4_102_444_799_000_000)), "2099-12-31T23:59:59.000000Z");
    }
}
