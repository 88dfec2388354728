//! Retention as rules: what the policy lets the daily run purge, when, and the legal holds that
//! stop it. The server only finds candidates and persists what these functions decide, each
//! purge with its evidence event (docs/EVIDENCE.md §4, "Retention and legal holds").
//!
//! A purge never breaks a proof a party holds: personal data lives apart from the hashed records
//! (only a salted commitment is hashed), and a purged file's hashes stay in the evidence, so the
//! copies parties hold still verify. Documents' files are kept unless the operator sets a window
//! (`document_files`, off by default).

use crate::documents::DocumentStatus;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// How long one kind of record is kept: a number of days, or for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    Keep,
    Days(u32),
}

impl Window {
    /// `0` means keep for ever (the config's spelling).
    pub fn from_days(days: u32) -> Self {
        if days == 0 { Window::Keep } else { Window::Days(days) }
    }

    pub fn days(self) -> Option<u32> {
        match self {
            Window::Keep => None,
            Window::Days(d) => Some(d),
        }
    }

    /// Records from before the returned moment are due; `None` when kept for ever.
    pub fn cutoff(self, now: Timestamp) -> Option<Timestamp> {
        self.days().map(|d| now.saturating_sub(DAY.saturating_mul(d)))
    }

    /// For people: "90 days", "kept".
    pub fn describe(self) -> String {
        match self {
            Window::Keep => "kept".to_owned(),
            Window::Days(1) => "1 day".to_owned(),
            Window::Days(d) => format!("{d} days"),
        }
    }
}

/// The kinds of record the policy purges, each with its own window. The names are the config
/// keys (`[retention]`) and the `rule` recorded in purge events and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Personal data of audit events (emails, names, addresses, user agents, places): the
    /// events and their commitments stay.
    PersonalData,
    /// Drafts never sent, counted from their upload: deleted as their owner would.
    UnsentDrafts,
    /// Webhook messages whose delivery finished (delivered, or given up) and their attempts.
    WebhookMessages,
    /// Stored answers kept so that a retried API request replays its first answer.
    Idempotency,
    /// A finished document's files (original, signed, sealed, the signers' signature images),
    /// counted from when it finished: its hashes and evidence stay.
    DocumentFiles,
}

impl Rule {
    pub const ALL: [Rule; 5] =
        [Rule::PersonalData, Rule::UnsentDrafts, Rule::WebhookMessages, Rule::Idempotency, Rule::DocumentFiles];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::PersonalData => "personal_data",
            Rule::UnsentDrafts => "unsent_drafts",
            Rule::WebhookMessages => "webhook_messages",
            Rule::Idempotency => "idempotency",
            Rule::DocumentFiles => "document_files",
        }
    }

    /// What the rule purges, for the settings page.
    pub fn label(self) -> &'static str {
        match self {
            Rule::PersonalData => "Personal data in audit events",
            Rule::UnsentDrafts => "Drafts never sent",
            Rule::WebhookMessages => "Webhook messages",
            Rule::Idempotency => "API idempotency records",
            Rule::DocumentFiles => "Files of finished documents",
        }
    }
}

/// The retention policy: one window per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub personal_data: Window,
    pub unsent_drafts: Window,
    pub webhook_messages: Window,
    pub idempotency: Window,
    pub document_files: Window,
}

impl Default for Policy {
    /// What a compliance lead would pick: personal data in the audit trail for 90 days (long
    /// enough to answer a dispute about a recent signature, short enough for data minimisation);
    /// drafts nobody sent for 90 days; webhook delivery logs for 30; API retries for 1. Signed
    /// documents are kept: they are a company's records, and how long a contract must be kept
    /// (often years after it ends) is the operator's decision, so `document_files` is off
    /// until set. (Ended sign-in sessions need no window: `sessions.purge_records` deletes them
    /// within minutes; finished jobs, the mail log among them, go after `jobs.keep_finished`.)
    fn default() -> Self {
        Self {
            personal_data: Window::Days(90),
            unsent_drafts: Window::Days(90),
            webhook_messages: Window::Days(30),
            idempotency: Window::Days(1),
            document_files: Window::Keep,
        }
    }
}

impl Policy {
    pub fn window(&self, rule: Rule) -> Window {
        match rule {
            Rule::PersonalData => self.personal_data,
            Rule::UnsentDrafts => self.unsent_drafts,
            Rule::WebhookMessages => self.webhook_messages,
            Rule::Idempotency => self.idempotency,
            Rule::DocumentFiles => self.document_files,
        }
    }

    /// The cutoff of `rule` at `now`: records older than it are due.
    pub fn cutoff(&self, rule: Rule, now: Timestamp) -> Option<Timestamp> {
        self.window(rule).cutoff(now)
    }

    /// The reference a purge event records: which rule, with which window.
    pub fn reference(&self, rule: Rule) -> PolicyRef {
        PolicyRef { rule: rule.as_str().to_owned(), days: self.window(rule).days().unwrap_or(0) }
    }
}

/// Under which rule and window something was purged (recorded in evidence events and reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    pub rule: String,
    pub days: u32,
}

/// Whether the personal data of a chain's events from before the cutoff may be purged now.
pub fn personal_data_purgeable(held: bool) -> bool {
    !held
}

/// Whether a draft is old enough to be purged: still a draft (never sent), uploaded before the
/// cutoff, and not held.
pub fn draft_purgeable(status: DocumentStatus, created_at: Timestamp, held: bool, cutoff: Timestamp) -> bool {
    status == DocumentStatus::Draft && !held && created_at < cutoff
}

/// Whether a document's files may be purged now: it finished (completed, declined, voided or
/// expired: nothing can happen to it any more) before the cutoff, its files were not purged
/// already, and it is not held. Drafts have their own rule; a deleted draft has no file.
pub fn files_purgeable(
    status: DocumentStatus,
    finished_at: Option<Timestamp>,
    already_purged: bool,
    held: bool,
    cutoff: Timestamp,
) -> bool {
    let finished = matches!(
        status,
        DocumentStatus::Completed | DocumentStatus::Declined | DocumentStatus::Voided | DocumentStatus::Expired
    );
    finished && !already_purged && !held && finished_at.is_some_and(|at| at < cutoff)
}

/// The longest reason a hold or its release may give, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a legal hold was placed or released: what an auditor reads in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HoldReason(String);

impl HoldReason {
    pub fn parse(input: &str) -> Result<Self, HoldError> {
        // The limit counts what was sent, as the API's schema does, so a reason padded with
        // spaces is refused rather than silently shortened past the documented maximum.
        if input.chars().count() > MAX_REASON_CHARS {
            return Err(HoldError::Reason("the reason is longer than 500 characters"));
        }
        let reason = input.trim();
        if reason.chars().count() < 3 {
            return Err(HoldError::Reason("give a reason (at least 3 characters), such as the matter or case number"));
        }
        if reason.chars().any(|c| c.is_control() && c != '\n') {
            return Err(HoldError::Reason("the reason holds control characters"));
        }
        Ok(Self(reason.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why placing or releasing a hold was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("this document is already on legal hold")]
    AlreadyHeld,
    #[error("this document is not on legal hold")]
    NotHeld,
    #[error("{0}")]
    Reason(&'static str),
}

/// Placing a hold: only when none is active. Any document may be held, whatever its state
/// (a draft too: a dispute can start before anything is sent).
pub fn place_hold(active: bool, reason: &str) -> Result<HoldReason, HoldError> {
    let reason = HoldReason::parse(reason)?;
    if active {
        return Err(HoldError::AlreadyHeld);
    }
    Ok(reason)
}

/// Releasing a hold: only the active one, with its own reason.
pub fn release_hold(active: bool, reason: &str) -> Result<HoldReason, HoldError> {
    let reason = HoldReason::parse(reason)?;
    if !active {
        return Err(HoldError::NotHeld);
    }
    Ok(reason)
}

/// `details` of `document.legal_hold_placed` and `document.legal_hold_released`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldDetails {
    pub reason: HoldReason,
}

/// `details` of `retention.personal_data_purged`: the personal data of every event of this
/// chain that occurred before `before` was deleted; `events` is how many still had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataPurged {
    pub policy: PolicyRef,
    pub before: i64,
    pub events: u64,
}

/// `details` of `retention.document_files_purged`: the stored copies of the listed files were
/// deleted in the transaction that appended this event. Their hashes stay in the earlier events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentFilesPurged {
    pub policy: PolicyRef,
    pub files: Vec<PurgedFile>,
    /// How many signature and initials images of the signers were deleted with them.
    pub images: u64,
}

/// One purged file: which, and the hash the evidence recorded for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgedFile {
    /// `original`, `signed` or `sealed`.
    pub file: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_micros(1_800_000_000_000_000);
    const DAY_MICROS: i64 = 86_400_000_000;

    fn days_ago(d: i64) -> Timestamp {
        Timestamp::from_micros(NOW.as_micros() - d * DAY_MICROS)
    }

    #[test]
    fn zero_days_keeps_for_ever_and_a_window_counts_back_from_now() {
        assert_eq!(Window::from_days(0), Window::Keep);
        assert_eq!(Window::Keep.cutoff(NOW), None);
        assert_eq!(Window::from_days(90).cutoff(NOW), Some(days_ago(90)));
        assert_eq!(Window::Days(1).describe(), "1 day");
        assert_eq!(
            Policy::default().reference(Rule::PersonalData),
            PolicyRef { rule: "personal_data".into(), days: 90 }
        );
    }

    #[test]
    fn the_default_policy_purges_personal_data_after_90_days() {
        let p = Policy::default();
        assert_eq!(p.personal_data, Window::Days(90));
        assert_eq!(p.cutoff(Rule::PersonalData, NOW), Some(days_ago(90)));
        for rule in Rule::ALL {
            assert!(!rule.label().is_empty());
            assert_eq!(p.reference(rule).rule, rule.as_str());
        }
    }

    #[test]
    fn only_old_drafts_not_held_are_purged() {
        let cutoff = days_ago(90);
        assert!(draft_purgeable(DocumentStatus::Draft, days_ago(91), false, cutoff));
        assert!(!draft_purgeable(DocumentStatus::Draft, days_ago(91), true, cutoff));
        assert!(!draft_purgeable(DocumentStatus::Draft, days_ago(89), false, cutoff));
        assert!(!draft_purgeable(DocumentStatus::Sent, days_ago(400), false, cutoff));
        assert!(personal_data_purgeable(false));
        assert!(!personal_data_purgeable(true));
    }

    #[test]
    fn only_finished_documents_past_the_window_and_not_held_lose_their_files() {
        let cutoff = days_ago(365);
        let old = Some(days_ago(400));
        for status in
            [DocumentStatus::Completed, DocumentStatus::Declined, DocumentStatus::Voided, DocumentStatus::Expired]
        {
            assert!(files_purgeable(status, old, false, false, cutoff), "{status:?}");
            assert!(!files_purgeable(status, old, false, true, cutoff), "held {status:?}");
            assert!(!files_purgeable(status, old, true, false, cutoff), "purged already {status:?}");
            assert!(!files_purgeable(status, Some(days_ago(300)), false, false, cutoff), "recent {status:?}");
            assert!(!files_purgeable(status, None, false, false, cutoff), "no end recorded {status:?}");
        }
        for status in [DocumentStatus::Draft, DocumentStatus::Sent, DocumentStatus::Deleted] {
            assert!(!files_purgeable(status, old, false, false, cutoff), "{status:?}");
        }
        assert_eq!(Policy::default().document_files, Window::Keep, "off unless the operator sets it");
    }

    #[test]
    fn a_hold_needs_a_reason_and_is_placed_once_and_released_once() {
        assert_eq!(
            place_hold(false, "  Case 2026-114, Smith v. Acme ").expect("valid").as_str(),
            "Case 2026-114, Smith v. Acme"
        );
        assert_eq!(place_hold(true, "Case 2026-114"), Err(HoldError::AlreadyHeld));
        assert!(matches!(place_hold(false, " a "), Err(HoldError::Reason(_))));
        assert!(matches!(place_hold(false, &"x".repeat(501)), Err(HoldError::Reason(_))));
        assert!(place_hold(false, &"é".repeat(500)).is_ok());
        // Padding counts: the API documents 500 characters as sent, not as trimmed.
        assert!(matches!(place_hold(false, &format!("\u{a0}{}", "x".repeat(500))), Err(HoldError::Reason(_))));
        assert!(matches!(place_hold(false, "case\u{7}1"), Err(HoldError::Reason(_))));
        assert_eq!(release_hold(false, "settled"), Err(HoldError::NotHeld));
        assert!(release_hold(true, "settled on 2027-01-04").is_ok());
    }

    #[test]
    fn the_details_serialise_as_the_evidence_spec_says() {
        let p = Policy::default();
        let d = PersonalDataPurged { policy: p.reference(Rule::PersonalData), before: 5, events: 3 };
        assert_eq!(
            serde_json::to_string(&d).expect("valid"),
            r#"{"policy":{"rule":"personal_data","days":90},"before":5,"events":3}"#
        );
        let f = DocumentFilesPurged {
            policy: PolicyRef { rule: "document_files".into(), days: 3650 },
            files: vec![PurgedFile { file: "original".into(), sha256: "ab".into() }],
            images: 2,
        };
        assert_eq!(
            serde_json::to_string(&f).expect("valid"),
            r#"{"policy":{"rule":"document_files","days":3650},"files":[{"file":"original","sha256":"ab"}],"images":2}"#
        );
        let h = LegalHoldDetails { reason: HoldReason::parse("Case 1").expect("valid") };
        assert_eq!(serde_json::to_string(&h).expect("valid"), r#"{"reason":"Case 1"}"#);
    }
}
