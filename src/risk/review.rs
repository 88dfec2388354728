//! The review of a stored flag: who may review, which actions are allowed from which status, and
//! the public details of the evidence events a flag's life appends (`risk.flagged`,
//! `risk.reviewed`, `risk.resolved`, docs/EVIDENCE.md §4).
//!
//! A flag starts `open`. Owners and admins of the instance (never a member, never an API key
//! without the `admin` scope) acknowledge it, dismiss it with a reason, or escalate it to a named
//! person; an acknowledged or escalated flag may be reviewed again (escalated further, dismissed,
//! acknowledged after an escalation), a dismissed one is closed. When its document completes or
//! expires, every flag not yet closed resolves, with that reason. The server only persists what
//! these functions decide.

use super::{Flag, Severity};
use crate::access::{Principal, Via};
use crate::accounts::{Role, UserId};
use serde::{Deserialize, Serialize};

/// Event types of a flag's life, as they appear in the evidence.
pub mod events {
    pub const FLAGGED: &str = "risk.flagged";
    pub const REVIEWED: &str = "risk.reviewed";
    pub const RESOLVED: &str = "risk.resolved";
}

/// Longest dismissal reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Where a flag is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagStatus {
    Open,
    Acknowledged,
    Dismissed,
    Escalated,
    Resolved,
}

impl FlagStatus {
    pub const ALL: [FlagStatus; 5] = [Self::Open, Self::Acknowledged, Self::Dismissed, Self::Escalated, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Dismissed => "dismissed",
            Self::Escalated => "escalated",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the flag still asks for attention (not dismissed, not resolved).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Open | Self::Acknowledged | Self::Escalated)
    }
}

/// What a reviewer does with a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAction {
    Acknowledge,
    /// With the reason, required.
    Dismiss {
        reason: String,
    },
    /// To another user, who is told.
    Escalate {
        to: UserId,
    },
}

impl ReviewAction {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Dismiss { .. } => "dismiss",
            Self::Escalate { .. } => "escalate",
        }
    }
}

/// Why the dismissal reason, escalation or review was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("only owners and admins review flags")]
    NotReviewer,
    #[error("this flag is {0} and can no longer be reviewed")]
    Closed(&'static str),
    #[error("this flag is already {0}")]
    Unchanged(&'static str),
    #[error("say why the flag is dismissed")]
    ReasonRequired,
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error("a flag cannot be escalated to the person escalating it")]
    EscalateToSelf,
}

/// Whether `principal` may review flags: an owner or admin of the instance in the browser, or
/// through an API key with the `admin` scope (one that reaches every document).
pub fn may_review(principal: &Principal) -> bool {
    matches!(principal.role, Role::Owner | Role::Admin) && principal.via != (Via::ApiKey { admin_scope: false })
}

/// The review `action` by `principal` of a flag in `status`: the status it moves to, and the
/// action as it is recorded (a dismissal's reason trimmed).
pub fn review(
    principal: &Principal,
    status: FlagStatus,
    action: ReviewAction,
) -> Result<(FlagStatus, ReviewAction), ReviewError> {
    if !may_review(principal) {
        return Err(ReviewError::NotReviewer);
    }
    if !status.is_live() {
        return Err(ReviewError::Closed(status.as_str()));
    }
    match action {
        ReviewAction::Acknowledge if status == FlagStatus::Acknowledged => {
            Err(ReviewError::Unchanged(FlagStatus::Acknowledged.as_str()))
        }
        ReviewAction::Acknowledge => Ok((FlagStatus::Acknowledged, ReviewAction::Acknowledge)),
        ReviewAction::Dismiss { reason } => {
            // Counted before trimming, as a schema's maxLength counts what was sent.
            if reason.chars().count() > MAX_REASON_CHARS {
                return Err(ReviewError::ReasonTooLong);
            }
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(ReviewError::ReasonRequired);
            }
            Ok((FlagStatus::Dismissed, ReviewAction::Dismiss { reason: reason.to_owned() }))
        }
        ReviewAction::Escalate { to } if to == principal.user => Err(ReviewError::EscalateToSelf),
        ReviewAction::Escalate { to } => Ok((FlagStatus::Escalated, ReviewAction::Escalate { to })),
    }
}

/// Why open flags resolve on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveReason {
    DocumentCompleted,
    DocumentExpired,
}

impl ResolveReason {
    /// As recorded: the event type that ended the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocumentCompleted => "document.completed",
            Self::DocumentExpired => "document.expired",
        }
    }
}

/// The status a flag in `status` resolves to, or `None` when it is already closed.
pub fn resolve(status: FlagStatus) -> Option<FlagStatus> {
    status.is_live().then_some(FlagStatus::Resolved)
}

/// SHA-256 of the clause text's UTF-8 bytes (plain, no tag: anyone holding the clause can check
/// it against `risk.flagged`).
pub fn clause_sha256(text: &str) -> crate::evidence::Sha256 {
    crate::evidence::Sha256::digest(text.as_bytes())
}

/// The details of `risk.flagged` for `flag`, stored as `flag_id`.
pub fn flagged_details(flag_id: &str, flag: &Flag) -> serde_json::Value {
    let mut details = serde_json::json!({
        "flag": flag_id,
        "category": flag.category,
        "severity": flag.severity.as_str(),
        "clause_sha256": clause_sha256(&flag.text).to_hex(),
        "start": flag.start,
        "end": flag.end,
        "engine": flag.engine,
        "engine_version": flag.engine_version,
    });
    if let Some(page) = flag.page {
        details["page"] = serde_json::json!(page);
    }
    details
}

/// The details of `risk.reviewed`: the flag, the action, the status it moved to, and the
/// dismissal's reason or the escalation's target (as an actor id, `user:<id>`: never an email).
pub fn reviewed_details(flag_id: &str, action: &ReviewAction, status: FlagStatus) -> serde_json::Value {
    let mut details = serde_json::json!({ "flag": flag_id, "action": action.name(), "status": status.as_str() });
    match action {
        ReviewAction::Acknowledge => {}
        ReviewAction::Dismiss { reason } => details["reason"] = serde_json::json!(reason),
        ReviewAction::Escalate { to } => details["escalated_to"] = serde_json::json!(format!("user:{}", to.0)),
    }
    details
}

/// The details of `risk.resolved`.
pub fn resolved_details(flag_id: &str, previous: FlagStatus, reason: ResolveReason) -> serde_json::Value {
    serde_json::json!({ "flag": flag_id, "previous_status": previous.as_str(), "reason": reason.as_str() })
}

/// Whether a flag of `severity` is told to the owner at once (mail, webhook).
pub fn alerts(severity: Severity) -> bool {
    severity >= Severity::High
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, via: Via) -> Principal {
        Principal { user: UserId(1), role, via }
    }

    fn admin() -> Principal {
        who(Role::Admin, Via::Session)
    }

    #[test]
    fn only_owners_and_admins_review_and_a_key_needs_the_admin_scope() {
        assert!(may_review(&who(Role::Owner, Via::Session)));
        assert!(may_review(&admin()));
        assert!(may_review(&who(Role::Admin, Via::ApiKey { admin_scope: true })));
        assert!(!may_review(&who(Role::Admin, Via::ApiKey { admin_scope: false })));
        assert!(!may_review(&who(Role::Member, Via::Session)));
        assert_eq!(
            review(&who(Role::Member, Via::Session), FlagStatus::Open, ReviewAction::Acknowledge),
            Err(ReviewError::NotReviewer)
        );
    }

    #[test]
    fn an_open_flag_is_acknowledged_dismissed_or_escalated() {
        let p = admin();
        assert_eq!(review(&p, FlagStatus::Open, ReviewAction::Acknowledge).map(|r| r.0), Ok(FlagStatus::Acknowledged));
        let dismissed = review(&p, FlagStatus::Open, ReviewAction::Dismiss { reason: "  standard wording ".into() });
        assert_eq!(
            dismissed,
            Ok((FlagStatus::Dismissed, ReviewAction::Dismiss { reason: "standard wording".into() })),
            "the reason is kept trimmed"
        );
        let escalated = review(&p, FlagStatus::Open, ReviewAction::Escalate { to: UserId(2) });
        assert_eq!(escalated.map(|r| r.0), Ok(FlagStatus::Escalated));
    }

    #[test]
    fn a_dismissal_needs_a_reason_of_reasonable_length() {
        let p = admin();
        for blank in ["", "   \n"] {
            assert_eq!(
                review(&p, FlagStatus::Open, ReviewAction::Dismiss { reason: blank.into() }),
                Err(ReviewError::ReasonRequired)
            );
        }
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            review(&p, FlagStatus::Open, ReviewAction::Dismiss { reason: long }),
            Err(ReviewError::ReasonTooLong)
        );
    }

    #[test]
    fn reviewed_flags_may_be_reviewed_again_until_closed() {
        let p = admin();
        assert_eq!(
            review(&p, FlagStatus::Acknowledged, ReviewAction::Acknowledge),
            Err(ReviewError::Unchanged("acknowledged"))
        );
        assert!(review(&p, FlagStatus::Acknowledged, ReviewAction::Escalate { to: UserId(3) }).is_ok());
        assert!(review(&p, FlagStatus::Escalated, ReviewAction::Escalate { to: UserId(3) }).is_ok());
        assert!(review(&p, FlagStatus::Escalated, ReviewAction::Acknowledge).is_ok());
        assert!(review(&p, FlagStatus::Escalated, ReviewAction::Dismiss { reason: "fine".into() }).is_ok());
        for closed in [FlagStatus::Dismissed, FlagStatus::Resolved] {
            assert_eq!(review(&p, closed, ReviewAction::Acknowledge), Err(ReviewError::Closed(closed.as_str())));
        }
        assert_eq!(
            review(&p, FlagStatus::Open, ReviewAction::Escalate { to: UserId(1) }),
            Err(ReviewError::EscalateToSelf)
        );
    }

    #[test]
    fn live_flags_resolve_and_closed_ones_stay() {
        for live in [FlagStatus::Open, FlagStatus::Acknowledged, FlagStatus::Escalated] {
            assert_eq!(resolve(live), Some(FlagStatus::Resolved));
        }
        assert_eq!(resolve(FlagStatus::Dismissed), None);
        assert_eq!(resolve(FlagStatus::Resolved), None);
        for s in FlagStatus::ALL {
            assert_eq!(FlagStatus::parse(s.as_str()), Some(s));
        }
    }

    /// The canonical bytes docs/EVIDENCE.md §4 prints for its examples.
    #[test]
    fn the_details_canonicalise_to_the_bytes_the_spec_prints() {
        let flag = Flag {
            category: "Uncapped Liability".into(),
            severity: Severity::Critical,
            start: 10,
            end: 20,
            page: Some(2),
            text: "abc".into(),
            explanation: "ignored".into(),
            score: 3.5,
            engine: "attesta-clauses".into(),
            engine_version: "1.1.0".into(),
            suggestion: None,
        };
        let id = "rfabcdefghijklmnopqrstuvwxyz";
        let jcs = |v: serde_json::Value| {
            String::from_utf8(serde_json_canonicalizer::to_vec(&v).expect("jcs")).expect("utf-8")
        };
        assert_eq!(
            jcs(flagged_details(id, &flag)),
            r#"{"category":"Uncapped Liability","clause_sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","end":20,"engine":"attesta-clauses","engine_version":"1.1.0","flag":"rfabcdefghijklmnopqrstuvwxyz","page":2,"severity":"critical","start":10}"#
        );
        let dismiss = ReviewAction::Dismiss { reason: "Standard for this supplier".into() };
        assert_eq!(
            jcs(reviewed_details(id, &dismiss, FlagStatus::Dismissed)),
            r#"{"action":"dismiss","flag":"rfabcdefghijklmnopqrstuvwxyz","reason":"Standard for this supplier","status":"dismissed"}"#
        );
        assert_eq!(
            jcs(reviewed_details(id, &ReviewAction::Escalate { to: UserId(7) }, FlagStatus::Escalated)),
            r#"{"action":"escalate","escalated_to":"user:7","flag":"rfabcdefghijklmnopqrstuvwxyz","status":"escalated"}"#
        );
        assert_eq!(
            jcs(resolved_details(id, FlagStatus::Acknowledged, ResolveReason::DocumentCompleted)),
            r#"{"flag":"rfabcdefghijklmnopqrstuvwxyz","previous_status":"acknowledged","reason":"document.completed"}"#
        );
    }

    #[test]
    fn the_details_hold_the_clause_hash_and_no_email() {
        let flag = Flag {
            category: "Uncapped Liability".into(),
            severity: Severity::Critical,
            start: 10,
            end: 20,
            page: Some(2),
            text: "abc".into(),
            explanation: String::new(),
            score: 1.0,
            engine: "attesta-clauses".into(),
            engine_version: "1.0.0".into(),
            suggestion: None,
        };
        let d = flagged_details("rf1", &flag);
        assert_eq!(d["clause_sha256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d["page"], 2);
        assert_eq!(d["severity"], "critical");
        let r = reviewed_details("rf1", &ReviewAction::Escalate { to: UserId(7) }, FlagStatus::Escalated);
        assert_eq!(
            r,
            serde_json::json!({"flag": "rf1", "action": "escalate", "status": "escalated", "escalated_to": "user:7"})
        );
        assert!(alerts(Severity::High) && alerts(Severity::Critical) && !alerts(Severity::Medium));
    }
}
