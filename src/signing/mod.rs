//! Preparing and signing documents: who signs, in which order, which fields each fills in, and
//! the rules of the ceremony.
//!
//! A *draft* ([`Draft`]) is what the sender edits: recipients in signing order and fields placed
//! on pages. It is saved as often as the sender pauses, so saving checks only what keeps it
//! coherent ([`Draft::check_for_save`]); sending checks everything a signer will rely on
//! ([`Draft::check_for_send`]). Once sent, the layout is frozen and its hash
//! ([`Draft::layout_sha256`]) goes into the `document.sent` event, so the evidence says exactly
//! which fields each person was asked to fill.

pub mod ceremony;
pub mod disclosure;
pub mod geometry;
pub mod otp;
pub mod token;

use crate::accounts::EmailAddress;
use crate::evidence::Sha256;
use geometry::{PageGeometry, PdfRect};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Most recipients on one document.
pub const MAX_RECIPIENTS: usize = 500;
/// Most fields on one document.
pub const MAX_FIELDS: usize = 1000;
/// Longest field label, in characters.
pub const MAX_LABEL_CHARS: usize = 80;
/// Longest message to recipients, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest recipient name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Everyone at once, or one after another in the order given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningOrder {
    #[default]
    Sequential,
    Parallel,
}

impl SigningOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Parallel => "parallel",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sequential" => Some(Self::Sequential),
            "parallel" => Some(Self::Parallel),
            _ => None,
        }
    }
}

/// What a field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Signature,
    Initials,
    DateSigned,
    Text,
    Checkbox,
}

impl FieldKind {
    pub const ALL: [FieldKind; 5] = [Self::Signature, Self::Initials, Self::DateSigned, Self::Text, Self::Checkbox];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Initials => "initials",
            Self::DateSigned => "date_signed",
            Self::Text => "text",
            Self::Checkbox => "checkbox",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Signature => "Signature",
            Self::Initials => "Initials",
            Self::DateSigned => "Date signed",
            Self::Text => "Text",
            Self::Checkbox => "Checkbox",
        }
    }

    /// The size a new field gets, in points (width, height): what fits a typical hand.
    pub fn default_size(self) -> (f64, f64) {
        match self {
            Self::Signature => (180.0, 48.0),
            Self::Initials => (64.0, 40.0),
            Self::DateSigned => (110.0, 22.0),
            Self::Text => (160.0, 22.0),
            Self::Checkbox => (18.0, 18.0),
        }
    }

    /// The smallest size a field may be resized to, in points: still legible when flattened.
    pub fn min_size(self) -> (f64, f64) {
        match self {
            Self::Signature => (60.0, 20.0),
            Self::Initials => (24.0, 16.0),
            Self::DateSigned | Self::Text => (40.0, 12.0),
            Self::Checkbox => (10.0, 10.0),
        }
    }

    /// A date is filled in by the server at signing time; everything else by the signer.
    pub fn filled_by_signer(self) -> bool {
        self != Self::DateSigned
    }
}

/// A short id chosen by the client for a recipient or a field: 1–32 of `a-z0-9_-`. Keeping ids
/// client-made lets the editor add, undo and autosave without a round trip per change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalId(String);

impl LocalId {
    pub fn parse(input: &str) -> Option<Self> {
        let ok = !input.is_empty()
            && input.len() <= 32
            && input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        ok.then(|| Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocalId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or("an id is 1 to 32 of a-z, 0-9, _ and -")
    }
}

impl From<LocalId> for String {
    fn from(value: LocalId) -> Self {
        value.0
    }
}

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftRecipient {
    pub id: LocalId,
    pub name: String,
    pub email: String,
    /// Ask for a one-time code sent by email before this person may sign.
    #[serde(default)]
    pub otp: bool,
    /// What they are asked to do. Absent in the JSON for a signer, so that the layouts (and
    /// their hashes) of documents from before roles are unchanged.
    #[serde(default, skip_serializing_if = "crate::ceremony::ParticipantRole::is_signer")]
    pub role: crate::ceremony::ParticipantRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftField {
    pub id: LocalId,
    pub recipient: LocalId,
    pub kind: FieldKind,
    /// 1-based page number.
    pub page: u32,
    /// Where, in the page's PDF user space (points, lower-left origin, unrotated).
    pub rect: PdfRect,
    pub required: bool,
    #[serde(default)]
    pub label: String,
}

/// What the sender prepares: recipients in signing order, and the fields they fill.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Draft {
    pub order: SigningOrder,
    pub recipients: Vec<DraftRecipient>,
    pub fields: Vec<DraftField>,
    /// A note included in the signing request email.
    #[serde(default)]
    pub message: String,
}

/// One thing wrong with a draft, tied to what the sender must fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftProblem {
    /// `recipient:<id>`, `field:<id>`, or `document`.
    pub target: String,
    pub message: String,
}

impl DraftProblem {
    fn recipient(id: &LocalId, message: impl Into<String>) -> Self {
        Self { target: format!("recipient:{id}"), message: message.into() }
    }

    fn field(id: &LocalId, message: impl Into<String>) -> Self {
        Self { target: format!("field:{id}"), message: message.into() }
    }

    fn document(message: impl Into<String>) -> Self {
        Self { target: "document".to_owned(), message: message.into() }
    }
}

impl fmt::Display for DraftProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A draft that passed every check for sending, with emails in their canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct SendableDraft(Draft);

impl SendableDraft {
    pub fn draft(&self) -> &Draft {
        &self.0
    }

    pub fn into_draft(self) -> Draft {
        self.0
    }
}

impl Draft {
    /// The checks every save passes: limits, ids, and every field on a page of this document,
    /// inside it, at least its kind's minimum size, belonging to a recipient of the draft.
    /// Incomplete recipients (no name yet, an email half typed) are fine here.
    pub fn check_for_save(&self, pages: &[PageGeometry]) -> Result<(), Vec<DraftProblem>> {
        let mut problems = Vec::new();
        if self.recipients.len() > MAX_RECIPIENTS {
            problems.push(DraftProblem::document(format!("at most {MAX_RECIPIENTS} recipients")));
        }
        if self.fields.len() > MAX_FIELDS {
            problems.push(DraftProblem::document(format!("at most {MAX_FIELDS} fields")));
        }
        if self.message.chars().count() > MAX_MESSAGE_CHARS {
            problems.push(DraftProblem::document(format!("the message is longer than {MAX_MESSAGE_CHARS} characters")));
        }
        let mut recipient_ids = HashSet::new();
        for r in &self.recipients {
            if !recipient_ids.insert(&r.id) {
                problems.push(DraftProblem::recipient(&r.id, "this recipient appears twice"));
            }
            if r.name.chars().count() > MAX_NAME_CHARS {
                problems.push(DraftProblem::recipient(&r.id, format!("names are at most {MAX_NAME_CHARS} characters")));
            }
            if r.name.chars().any(char::is_control) || r.email.chars().any(char::is_control) {
                problems.push(DraftProblem::recipient(&r.id, "names and emails cannot contain control characters"));
            }
            if r.email.len() > 254 {
                problems.push(DraftProblem::recipient(&r.id, "email addresses are at most 254 characters"));
            }
        }
        let mut field_ids = HashSet::new();
        for f in &self.fields {
            if !field_ids.insert(&f.id) {
                problems.push(DraftProblem::field(&f.id, "this field appears twice"));
            }
            match self.recipients.iter().find(|r| r.id == f.recipient) {
                None => problems.push(DraftProblem::field(&f.id, "this field belongs to nobody: choose a recipient")),
                Some(r) if !r.role.fills_fields() => problems.push(DraftProblem::field(
                    &f.id,
                    if r.role.must_act() {
                        "an approver fills nothing: give this field to a signer, or make them a signer"
                    } else {
                        "someone in copy fills nothing: give this field to a signer, or make them a signer"
                    },
                )),
                Some(_) => {}
            }
            if f.label.chars().count() > MAX_LABEL_CHARS || f.label.chars().any(char::is_control) {
                problems
                    .push(DraftProblem::field(&f.id, format!("labels are at most {MAX_LABEL_CHARS} plain characters")));
            }
            let page = usize::try_from(f.page).ok().and_then(|p| p.checked_sub(1)).and_then(|i| pages.get(i));
            let Some(page) = page else {
                problems.push(DraftProblem::field(&f.id, format!("page {} does not exist", f.page)));
                continue;
            };
            if !f.rect.is_valid() || !page.contains(&f.rect) {
                problems.push(DraftProblem::field(&f.id, "this field is not inside its page"));
                continue;
            }
            let (min_w, min_h) = f.kind.min_size();
            // Either orientation: on a page rotated by 90° the box's width runs along y.
            let fits = |w: f64, h: f64| w + 0.01 >= min_w && h + 0.01 >= min_h;
            if !fits(f.rect.width, f.rect.height) && !fits(f.rect.height, f.rect.width) {
                problems.push(DraftProblem::field(
                    &f.id,
                    format!("too small for a {} field", f.kind.label().to_lowercase()),
                ));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// Everything [`Draft::check_for_save`] checks, and what sending needs: at least one
    /// recipient, each with a name, a valid email that no other recipient has, and at least one
    /// field to fill (a signer must be asked for something, or their signature proves nothing).
    pub fn check_for_send(&self, pages: &[PageGeometry]) -> Result<SendableDraft, Vec<DraftProblem>> {
        let mut problems = match self.check_for_save(pages) {
            Ok(()) => Vec::new(),
            Err(p) => p,
        };
        if self.recipients.is_empty() {
            problems.push(DraftProblem::document("add at least one recipient"));
        } else if !self.recipients.iter().any(|r| r.role.must_act()) {
            problems.push(DraftProblem::document(
                "add at least one signer or approver: people in copy only receive the result",
            ));
        }
        let mut draft = self.clone();
        let mut seen: HashMap<String, &LocalId> = HashMap::new();
        for (r, out) in self.recipients.iter().zip(draft.recipients.iter_mut()) {
            let name = r.name.trim();
            if name.is_empty() {
                problems.push(DraftProblem::recipient(&r.id, "enter the recipient's name"));
            }
            out.name = name.to_owned();
            match EmailAddress::parse(&r.email) {
                Ok(email) => {
                    if let Some(first) = seen.get(email.as_str()) {
                        problems.push(DraftProblem::recipient(
                            &r.id,
                            format!("{email} is already recipient {}", position_of(&self.recipients, first)),
                        ));
                    } else {
                        seen.insert(email.as_str().to_owned(), &r.id);
                    }
                    out.email = email.as_str().to_owned();
                }
                Err(_) => problems.push(DraftProblem::recipient(
                    &r.id,
                    if r.email.trim().is_empty() {
                        "enter the recipient's email address".to_owned()
                    } else {
                        format!("“{}” is not an email address we can send to", r.email.trim())
                    },
                )),
            }
            let has_field = self.fields.iter().any(|f| f.recipient == r.id && f.kind.filled_by_signer());
            if r.role.fills_fields() && !has_field {
                problems.push(DraftProblem::recipient(
                    &r.id,
                    format!(
                        "place at least one field for {} to fill",
                        if name.is_empty() { "this recipient" } else { name }
                    ),
                ));
            }
        }
        if problems.is_empty() { Ok(SendableDraft(draft)) } else { Err(problems) }
    }

    /// Fields that cover part of another field on the same page, as pairs `(a, b)` in the
    /// draft's order: a signer could not see or press what lies underneath (a date over a
    /// signature box). Sending such a draft is allowed, but the sender is warned first.
    pub fn overlapping_fields(&self) -> Vec<(&DraftField, &DraftField)> {
        let mut pairs = Vec::new();
        for (i, a) in self.fields.iter().enumerate() {
            for b in &self.fields[i + 1..] {
                if a.page == b.page && a.rect.overlaps(&b.rect) {
                    pairs.push((a, b));
                }
            }
        }
        pairs
    }

    /// The overlaps of [`Draft::overlapping_fields`] in words, one warning per pair, aimed at
    /// the field lying on top (the one added later).
    pub fn overlap_warnings(&self) -> Vec<DraftProblem> {
        let who = |f: &DraftField| {
            let position = position_of(&self.recipients, &f.recipient);
            let name = self.recipients.iter().find(|r| r.id == f.recipient).map(|r| r.name.trim()).unwrap_or("");
            let owner = if name.is_empty() { format!("recipient {position}") } else { name.to_owned() };
            let label = if f.label.trim().is_empty() { f.kind.label() } else { f.label.trim() };
            format!("“{label}” for {owner}")
        };
        self.overlapping_fields()
            .into_iter()
            .map(|(under, over)| {
                DraftProblem::field(&over.id, format!("{} overlaps {} on page {}", who(over), who(under), over.page))
            })
            .collect()
    }

    /// The fields of one recipient, in reading order (page, then top to bottom, then left to
    /// right as displayed), which is the order the signer is guided through them.
    pub fn fields_of<'a>(&'a self, recipient: &LocalId, pages: &[PageGeometry]) -> Vec<&'a DraftField> {
        let mut fields: Vec<&DraftField> = self.fields.iter().filter(|f| &f.recipient == recipient).collect();
        fields.sort_by(|a, b| {
            reading_key(a, pages).partial_cmp(&reading_key(b, pages)).unwrap_or(std::cmp::Ordering::Equal)
        });
        fields
    }

    /// The hash of the layout as sent: the signing order, each recipient (id, name, email, code
    /// required) in order, and each field with its exact position. `SHA-256("attesta/v1/layout"
    /// || 0x00 || JCS(layout))`.
    pub fn layout_sha256(&self) -> Sha256 {
        let layout = serde_json::json!({
            "order": self.order.as_str(),
            // A role other than signer is named; a signer's is not, so that the layouts of
            // documents from before roles keep their hashes.
            "recipients": self.recipients.iter().map(|r| {
                let mut recipient = serde_json::json!({
                    "id": r.id.as_str(), "name": r.name, "email": r.email, "otp": r.otp,
                });
                if !r.role.is_signer() {
                    recipient["role"] = serde_json::json!(r.role.as_str());
                }
                recipient
            }).collect::<Vec<_>>(),
            "fields": self.fields.iter().map(|f| serde_json::json!({
                "id": f.id.as_str(), "recipient": f.recipient.as_str(), "kind": f.kind.as_str(),
                "page": f.page, "x": f.rect.x, "y": f.rect.y, "width": f.rect.width, "height": f.rect.height,
                "required": f.required, "label": f.label,
            })).collect::<Vec<_>>(),
        });
        let canonical = serde_json_canonicalizer::to_vec(&layout).unwrap_or_default();
        crate::evidence::hash::tagged(crate::evidence::hash::tag::LAYOUT, &[&canonical])
    }
}

fn position_of(recipients: &[DraftRecipient], id: &LocalId) -> usize {
    recipients.iter().position(|r| &r.id == id).map_or(0, |i| i + 1)
}

fn reading_key(field: &DraftField, pages: &[PageGeometry]) -> (u32, f64, f64) {
    let view = usize::try_from(field.page)
        .ok()
        .and_then(|p| p.checked_sub(1))
        .and_then(|i| pages.get(i))
        .map(|g| g.to_view(field.rect));
    match view {
        // Rows within a few points count as one line, read left to right.
        Some(v) => (field.page, (v.top * 200.0).round(), v.left),
        None => (field.page, 0.0, 0.0),
    }
}

#[cfg(test)]
mod tests;
