//! The ceremony's rules once a document is sent: whose turn it is, what a signer must submit,
//! and when the document is done.

use super::{DraftField, FieldKind, LocalId, SigningOrder};
use crate::documents::DocumentStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest text a signer may type into a text field, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest decline or void reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// Where one recipient is in the ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientStatus {
    /// Sequential signing, someone before them has not finished: no link yet.
    Waiting,
    /// Their link was issued (and emailed).
    Sent,
    /// They opened it.
    Viewed,
    Signed,
    Declined,
}

impl RecipientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Sent => "sent",
            Self::Viewed => "viewed",
            Self::Signed => "signed",
            Self::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Waiting, Self::Sent, Self::Viewed, Self::Signed, Self::Declined].into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting for their turn",
            Self::Sent => "Sent",
            Self::Viewed => "Viewed",
            Self::Signed => "Signed",
            Self::Declined => "Declined",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Signed | Self::Declined)
    }
}

/// What a recipient's row says (`status` code, label), given where the document stands: once
/// the document is voided, expired or declined by someone, a recipient who had not finished can
/// no longer act, whatever they had done with their link ("Viewed" would read as if they still
/// could). Finished recipients keep what they did.
pub fn shown_status(document: DocumentStatus, recipient: RecipientStatus) -> (&'static str, &'static str) {
    if recipient.is_finished() {
        return (recipient.as_str(), recipient.label());
    }
    match document {
        DocumentStatus::Voided => ("voided", "Voided before they signed"),
        DocumentStatus::Expired => ("expired", "Expired before they signed"),
        DocumentStatus::Declined => ("ended", "Not needed: someone declined"),
        _ => (recipient.as_str(), recipient.label()),
    }
}

/// How the sender's page shows a recipient with `role`: someone in copy has no signing state,
/// only whether the copy went (or will, or will not).
pub fn shown_status_of(
    role: crate::ceremony::ParticipantRole,
    document: DocumentStatus,
    recipient: RecipientStatus,
) -> (&'static str, &'static str) {
    match (role, recipient) {
        (crate::ceremony::ParticipantRole::Approver, RecipientStatus::Signed) => return ("approved", "Approved"),
        (crate::ceremony::ParticipantRole::Acknowledger, RecipientStatus::Signed) => {
            return ("acknowledged", "Acknowledged");
        }
        _ => {}
    }
    if role.must_act() {
        return shown_status(document, recipient);
    }
    match document {
        DocumentStatus::Completed => ("cc", "Sent a copy"),
        DocumentStatus::Voided | DocumentStatus::Expired | DocumentStatus::Declined => {
            ("ended", "No copy: it did not complete")
        }
        _ => ("cc", "Gets a copy when complete"),
    }
}

/// Why a recipient may not act now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TurnRefusal {
    #[error("it is not your turn yet: recipient {waiting_for} signs first")]
    NotYourTurn { waiting_for: usize },
    #[error("you have already signed")]
    AlreadySigned,
    #[error("you declined to sign")]
    AlreadyDeclined,
    #[error("someone declined, so the document will not be signed")]
    EndedByDecline,
}

/// Whether recipient `index` (in signing order) may sign or decline now.
pub fn may_act(order: SigningOrder, statuses: &[RecipientStatus], index: usize) -> Result<(), TurnRefusal> {
    match statuses.get(index) {
        Some(RecipientStatus::Signed) => return Err(TurnRefusal::AlreadySigned),
        Some(RecipientStatus::Declined) => return Err(TurnRefusal::AlreadyDeclined),
        _ => {}
    }
    if statuses.contains(&RecipientStatus::Declined) {
        return Err(TurnRefusal::EndedByDecline);
    }
    if order == SigningOrder::Sequential
        && let Some(first_open) = statuses.iter().position(|s| *s != RecipientStatus::Signed)
        && first_open < index
    {
        return Err(TurnRefusal::NotYourTurn { waiting_for: first_open + 1 });
    }
    Ok(())
}

/// Who gets a link now: on sending, everyone (parallel) or the first (sequential); after a
/// signature, the next one in a sequential order. Recipients already past `Waiting` are never
/// returned again.
pub fn due_for_link(order: SigningOrder, statuses: &[RecipientStatus]) -> Vec<usize> {
    if statuses.contains(&RecipientStatus::Declined) {
        return Vec::new();
    }
    match order {
        SigningOrder::Parallel => {
            statuses.iter().enumerate().filter(|(_, s)| **s == RecipientStatus::Waiting).map(|(i, _)| i).collect()
        }
        SigningOrder::Sequential => statuses
            .iter()
            .position(|s| *s != RecipientStatus::Signed)
            .filter(|&i| statuses[i] == RecipientStatus::Waiting)
            .into_iter()
            .collect(),
    }
}

/// Everyone signed.
pub fn is_complete(statuses: &[RecipientStatus]) -> bool {
    !statuses.is_empty() && statuses.iter().all(|s| *s == RecipientStatus::Signed)
}

/// What a signer entered for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum FieldInput {
    /// Put the adopted signature (or initials) here.
    Applied,
    Text(String),
    Checked(bool),
}

/// What is wrong with a submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionProblem {
    #[error("field {0} is not one of yours")]
    UnknownField(String),
    #[error("{0} is required")]
    Missing(String),
    #[error("{0} does not take that kind of value")]
    WrongKind(String),
    #[error("{0} is longer than {MAX_TEXT_CHARS} characters or contains control characters")]
    BadText(String),
    #[error("adopt a signature before placing it")]
    NoSignature,
    #[error("adopt initials before placing them")]
    NoInitials,
}

/// The submission, checked: every value is for one of the signer's fields and of the right
/// kind, every required field is filled, text is trimmed. Date fields are filled by the server
/// and take no input. Returns the values to store, by field id.
pub fn check_submission(
    fields: &[&DraftField],
    inputs: &BTreeMap<LocalId, FieldInput>,
    has_signature: bool,
    has_initials: bool,
) -> Result<BTreeMap<LocalId, FieldInput>, SubmissionProblem> {
    for id in inputs.keys() {
        if !fields.iter().any(|f| &f.id == id) {
            return Err(SubmissionProblem::UnknownField(id.to_string()));
        }
    }
    let mut out = BTreeMap::new();
    for field in fields {
        let name = describe(field);
        let input = inputs.get(&field.id);
        let value = match (field.kind, input) {
            (FieldKind::DateSigned, None) => continue,
            (_, None) => None,
            (FieldKind::Signature | FieldKind::Initials, Some(FieldInput::Applied)) => {
                if field.kind == FieldKind::Signature && !has_signature {
                    return Err(SubmissionProblem::NoSignature);
                }
                if field.kind == FieldKind::Initials && !has_initials {
                    return Err(SubmissionProblem::NoInitials);
                }
                Some(FieldInput::Applied)
            }
            (FieldKind::Text, Some(FieldInput::Text(text))) => {
                let text = text.trim();
                if text.chars().count() > MAX_TEXT_CHARS || text.chars().any(char::is_control) {
                    return Err(SubmissionProblem::BadText(name));
                }
                (!text.is_empty()).then(|| FieldInput::Text(text.to_owned()))
            }
            (FieldKind::Checkbox, Some(FieldInput::Checked(on))) => Some(FieldInput::Checked(*on)),
            _ => return Err(SubmissionProblem::WrongKind(name)),
        };
        // A required checkbox is one the signer must tick ("I have read the terms").
        let filled = match &value {
            Some(FieldInput::Checked(on)) => *on,
            Some(_) => true,
            None => false,
        };
        if field.required && !filled {
            return Err(SubmissionProblem::Missing(name));
        }
        if let Some(v) = value {
            out.insert(field.id.clone(), v);
        }
    }
    Ok(out)
}

/// Cleans a free-text reason (decline, void): trimmed, control characters removed, limited.
pub fn clean_reason(input: &str) -> Result<String, &'static str> {
    // Counted before cleaning, as a schema's maxLength counts what was sent.
    if input.chars().count() > MAX_REASON_CHARS {
        return Err("the reason is longer than 1000 characters");
    }
    let text: String = input.trim().chars().filter(|c| !c.is_control() || *c == '\n').collect();
    if text.trim().is_empty() {
        return Err("please give a reason");
    }
    Ok(text)
}

fn describe(field: &DraftField) -> String {
    if field.label.trim().is_empty() {
        format!("the {} field on page {}", field.kind.label().to_lowercase(), field.page)
    } else {
        format!("“{}”", field.label.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::geometry::PdfRect;
    use RecipientStatus::*;
    use proptest::prelude::*;

    fn id(s: &str) -> LocalId {
        LocalId::parse(s).expect("id")
    }

    #[test]
    fn after_a_void_nobody_unfinished_reads_as_still_able_to_sign() {
        use crate::documents::DocumentStatus as D;
        assert_eq!(shown_status(D::Voided, Viewed), ("voided", "Voided before they signed"));
        assert_eq!(shown_status(D::Voided, Sent).0, "voided");
        assert_eq!(shown_status(D::Voided, Waiting).0, "voided");
        assert_eq!(shown_status(D::Voided, Signed), ("signed", "Signed"));
        assert_eq!(shown_status(D::Expired, Viewed).0, "expired");
        assert_eq!(shown_status(D::Declined, Waiting).0, "ended");
        assert_eq!(shown_status(D::Declined, Declined).0, "declined");
        assert_eq!(shown_status(D::Sent, Viewed), ("viewed", "Viewed"));
    }

    fn field(fid: &str, kind: FieldKind, required: bool) -> DraftField {
        DraftField {
            id: id(fid),
            recipient: id("r1"),
            kind,
            page: 1,
            rect: PdfRect { x: 10.0, y: 10.0, width: 100.0, height: 30.0 },
            required,
            label: String::new(),
        }
    }

    #[test]
    fn sequential_signers_wait_for_those_before_them() {
        let s = [Signed, Viewed, Waiting];
        assert_eq!(may_act(SigningOrder::Sequential, &s, 1), Ok(()));
        assert_eq!(may_act(SigningOrder::Sequential, &s, 2), Err(TurnRefusal::NotYourTurn { waiting_for: 2 }));
        assert_eq!(may_act(SigningOrder::Sequential, &s, 0), Err(TurnRefusal::AlreadySigned));
        assert_eq!(may_act(SigningOrder::Parallel, &s, 2), Ok(()));
    }

    #[test]
    fn a_decline_ends_the_ceremony_for_everyone() {
        let s = [Declined, Sent];
        assert_eq!(may_act(SigningOrder::Parallel, &s, 1), Err(TurnRefusal::EndedByDecline));
        assert_eq!(may_act(SigningOrder::Parallel, &s, 0), Err(TurnRefusal::AlreadyDeclined));
        assert!(due_for_link(SigningOrder::Sequential, &[Signed, Declined, Waiting]).is_empty());
    }

    #[test]
    fn links_go_out_in_order() {
        assert_eq!(due_for_link(SigningOrder::Parallel, &[Waiting, Waiting, Waiting]), vec![0, 1, 2]);
        assert_eq!(due_for_link(SigningOrder::Sequential, &[Waiting, Waiting]), vec![0]);
        assert_eq!(due_for_link(SigningOrder::Sequential, &[Signed, Waiting]), vec![1]);
        assert!(due_for_link(SigningOrder::Sequential, &[Viewed, Waiting]).is_empty());
        assert!(due_for_link(SigningOrder::Sequential, &[Signed, Signed]).is_empty());
        assert!(is_complete(&[Signed, Signed]));
        assert!(!is_complete(&[Signed, Viewed]));
        assert!(!is_complete(&[]));
    }

    #[test]
    fn required_fields_must_be_filled() {
        let sig = field("s", FieldKind::Signature, true);
        let date = field("d", FieldKind::DateSigned, true);
        let text = field("t", FieldKind::Text, false);
        let tick = field("c", FieldKind::Checkbox, true);
        let fields = [&sig, &date, &text, &tick];
        let mut inputs = BTreeMap::new();
        assert!(matches!(check_submission(&fields, &inputs, true, false), Err(SubmissionProblem::Missing(_))));
        inputs.insert(id("s"), FieldInput::Applied);
        inputs.insert(id("c"), FieldInput::Checked(false));
        assert!(matches!(check_submission(&fields, &inputs, true, false), Err(SubmissionProblem::Missing(_))));
        inputs.insert(id("c"), FieldInput::Checked(true));
        inputs.insert(id("t"), FieldInput::Text("  ".to_owned()));
        let ok = check_submission(&fields, &inputs, true, false).expect("valid");
        assert_eq!(ok.len(), 2, "blank optional text is dropped, date is the server's: {ok:?}");
        assert_eq!(check_submission(&fields, &inputs, false, false), Err(SubmissionProblem::NoSignature));
    }

    #[test]
    fn foreign_and_mistyped_values_are_refused() {
        let sig = field("s", FieldKind::Signature, false);
        let mut inputs = BTreeMap::new();
        inputs.insert(id("other"), FieldInput::Applied);
        assert_eq!(
            check_submission(&[&sig], &inputs, true, true),
            Err(SubmissionProblem::UnknownField("other".to_owned()))
        );
        let mut inputs = BTreeMap::new();
        inputs.insert(id("s"), FieldInput::Text("me".to_owned()));
        assert!(matches!(check_submission(&[&sig], &inputs, true, true), Err(SubmissionProblem::WrongKind(_))));
    }

    #[test]
    fn reasons_are_cleaned() {
        assert_eq!(clean_reason("  wrong amount\u{7} "), Ok("wrong amount".to_owned()));
        assert!(clean_reason("   ").is_err());
        assert!(clean_reason(&"x".repeat(1001)).is_err());
        assert!(clean_reason(&format!(" {}", "x".repeat(1000))).is_err(), "padding counts, as the schema counts it");
    }

    fn status() -> impl Strategy<Value = RecipientStatus> {
        prop_oneof![Just(Waiting), Just(Sent), Just(Viewed), Just(Signed)]
    }

    proptest! {
        #[test]
        fn in_sequence_at_most_one_person_may_act(statuses in proptest::collection::vec(status(), 1..8)) {
            let allowed = (0..statuses.len())
                .filter(|&i| may_act(SigningOrder::Sequential, &statuses, i).is_ok())
                .count();
            prop_assert!(allowed <= 1);
            prop_assert!(due_for_link(SigningOrder::Sequential, &statuses).len() <= 1);
        }
    }
}
