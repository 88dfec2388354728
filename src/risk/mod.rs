//! Clause intelligence: the risky clauses in a contract's text, and the clauses its kind of
//! contract should have but lacks.
//!
//! Pure and offline: the engine reads a [`PagedText`] (from [`pdf::page_texts`] for a PDF, or the
//! text of a `.txt`/Markdown source) and returns a [`Scan`]. Nothing is downloaded and nothing
//! is remembered between calls, so the same text and engine version always give the same flags.
//!
//! How it decides:
//! - the text is cut into sentences under their headings ([`segment`]);
//! - each sentence is scored for the 18 CUAD categories by a linear model over its words, pairs,
//!   triples and heading ([`model`], trained by [`train`] from the CUAD corpus; the model ships as
//!   `model.json`); a sentence at or above a category's threshold is flagged, and neighbouring
//!   flagged sentences of one category become one flag;
//! - hand-written rules add one-sided indemnities and unusual penalties ([`rules`]);
//! - the contract's kind is recognised from its title and the clauses that kind should have are
//!   looked for ([`missing`]);
//! - severities come from the [`RiskPolicy`], which an admin may override; a balanced wording
//!   from the [`suggest`] library comes with each flag.
//!
//! Offsets are characters of the extracted text; the time of a scan is the caller's to record
//! (through its clock), since the engine has none.

pub mod corpus;
pub mod features;
pub mod missing;
pub mod model;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod policy;
pub mod review;
pub mod rules;
pub mod segment;
pub mod suggest;
pub mod text;
pub mod train;

pub use missing::{ContractType, MissingClause};
pub use model::{Mode, Model, ModelFile};
pub use policy::{RiskPolicy, Severity};
pub use text::PagedText;

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The engine's name, recorded with every flag.
pub const ENGINE: &str = "attesta-clauses";
/// Its version: a change of rules or model is a new version, so stored documents are re-scanned.
pub const VERSION: &str = "1.2.0";

/// The shipped model (see `examples/risk_train.rs`).
pub const MODEL_JSON: &str = include_str!("model.json");

/// The 18 CUAD categories the model flags, as CUAD names them.
pub const CATEGORIES: [&str; 18] = [
    "Governing Law",
    "Termination For Convenience",
    "Cap On Liability",
    "Uncapped Liability",
    "Liquidated Damages",
    "Non-Compete",
    "Exclusivity",
    "Anti-Assignment",
    "Change Of Control",
    "Ip Ownership Assignment",
    "Insurance",
    "Audit Rights",
    "Most Favored Nation",
    "Minimum Commitment",
    "Covenant Not To Sue",
    "Warranty Duration",
    "Renewal Term",
    "Notice Period To Terminate Renewal",
];

/// The hand-written concept (`features::CONCEPTS`) that goes with a category.
pub fn concept_of(category: &str) -> Option<&'static str> {
    Some(match category {
        "Governing Law" => "law",
        "Termination For Convenience" => "convenience",
        "Cap On Liability" => "cap",
        "Uncapped Liability" => "uncapped",
        "Liquidated Damages" => "liquidated",
        "Non-Compete" => "compete",
        "Exclusivity" => "exclusive",
        "Anti-Assignment" => "no-assign",
        "Change Of Control" => "control",
        "Ip Ownership Assignment" => "assign-ip",
        "Insurance" => "insurance",
        "Audit Rights" => "audit",
        "Most Favored Nation" => "mfn",
        "Minimum Commitment" => "minimum",
        "Covenant Not To Sue" => "sue",
        "Warranty Duration" => "warranty-period",
        "Renewal Term" => "renewal",
        "Notice Period To Terminate Renewal" => "renewal-notice",
        _ => return None,
    })
}

/// At most this many flags per category per document, the strongest kept: a long contract that
/// mentions insurance forty times needs one look, not forty.
const FLAGS_PER_CATEGORY: usize = 3;

/// One clause worth a second look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// CUAD's category name where one fits, otherwise ours (`One-Sided Indemnity`, `Unusual Penalty`).
    pub category: String,
    pub severity: Severity,
    /// Character span in the extracted text, end exclusive.
    pub start: u32,
    pub end: u32,
    /// 1-based page, when the text came from pages.
    pub page: Option<u32>,
    pub text: String,
    pub explanation: String,
    /// How strongly the model or rule matched (the model's logit minus its threshold; rules 1).
    pub score: f32,
    pub engine: String,
    pub engine_version: String,
    /// A balanced alternative wording, where the library has one.
    pub suggestion: Option<suggest::Suggestion>,
}

/// Whether there was text to analyse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    Analysed,
    /// No text layer (a scan): nothing could be read, so nothing is claimed either way.
    NoText,
}

/// What the engine found in one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub state: ScanState,
    pub contract_type: ContractType,
    pub flags: Vec<Flag>,
    pub missing: Vec<MissingClause>,
    pub engine: String,
    pub engine_version: String,
}

/// The model and the policy, ready to scan.
#[derive(Debug, Clone)]
pub struct Engine {
    model: Model,
    policy: RiskPolicy,
}

impl Engine {
    pub fn new(model: Model, policy: RiskPolicy) -> Self {
        Self { model, policy }
    }

    /// The shipped model with `policy`.
    pub fn with_policy(policy: RiskPolicy) -> Self {
        Self::new(Self::builtin().model.clone(), policy)
    }

    /// The shipped model and the default policy, built once.
    pub fn builtin() -> &'static Engine {
        static ENGINE_CELL: OnceLock<Engine> = OnceLock::new();
        ENGINE_CELL.get_or_init(|| {
            #[expect(clippy::expect_used, reason = "the shipped model is checked by a unit test")]
            let model = Model::from_json(MODEL_JSON).expect("the shipped model.json is valid");
            Engine::new(model, RiskPolicy::default())
        })
    }

    pub fn policy(&self) -> &RiskPolicy {
        &self.policy
    }

    /// The categories the model gives a clause on its own (outside any document): each sentence
    /// of `clause` is judged as a scan would judge it, without the per-document fallbacks.
    pub fn clause_categories(&self, clause: &str) -> Vec<&str> {
        let segments = segment::segments(clause);
        let (scores, concepts) = self.model.score(clause, &segments);
        let width = self.model.categories().len();
        self.model
            .categories()
            .iter()
            .enumerate()
            .filter(|&(c, _)| {
                (0..segments.len()).any(|i| {
                    let above = scores[i * width + c] >= self.model.threshold(c);
                    let holds = concepts[i] & (1 << c) != 0;
                    match self.model.mode(c) {
                        Mode::Model => above,
                        Mode::Gated => above && holds,
                        Mode::Concept => holds,
                        Mode::Either => above || holds,
                    }
                })
            })
            .map(|(_, name)| name.as_str())
            .collect()
    }

    /// Scans one document's text.
    pub fn scan(&self, text: &PagedText) -> Scan {
        let contract_type = missing::contract_type(&text.text);
        if !text.has_text() {
            return Scan {
                state: ScanState::NoText,
                contract_type,
                flags: Vec::new(),
                missing: Vec::new(),
                engine: ENGINE.into(),
                engine_version: VERSION.into(),
            };
        }
        let body = text.text.as_str();
        let segments = segment::segments(body);
        let (scores, concepts) = self.model.score(body, &segments);
        let width = self.model.categories().len();
        // (category, byte start, byte end, score) before offsets are turned into characters.
        let mut found: Vec<(String, usize, usize, f32)> = Vec::new();
        for (c, name) in self.model.categories().iter().enumerate() {
            let threshold = self.model.threshold(c);
            let mode = self.model.mode(c);
            let margin = |i: usize| scores[i * width + c] - threshold;
            let holds = |i: usize| concepts[i] & (1 << c) != 0;
            let chosen: Vec<usize> = match mode {
                Mode::Model | Mode::Either => (0..segments.len()).filter(|&i| margin(i) >= 0.0).collect(),
                Mode::Gated => (0..segments.len()).filter(|&i| holds(i) && margin(i) >= 0.0).collect(),
                Mode::Concept => (0..segments.len()).filter(|&i| holds(i)).collect(),
            };
            let chosen = if chosen.is_empty() && mode == Mode::Either {
                (0..segments.len())
                    .filter(|&i| holds(i))
                    .max_by(|&a, &b| margin(a).total_cmp(&margin(b)))
                    .into_iter()
                    .collect()
            } else {
                chosen
            };
            // Neighbouring chosen sentences are one clause.
            let mut spans: Vec<(usize, usize, f32)> = Vec::new();
            let mut last_index: Option<usize> = None;
            for i in chosen {
                let segment = segments[i];
                match spans.last_mut() {
                    Some(span) if last_index.is_some_and(|l| l + 1 == i) => {
                        span.1 = segment.end;
                        span.2 = span.2.max(margin(i));
                    }
                    _ => spans.push((segment.start, segment.end, margin(i))),
                }
                last_index = Some(i);
            }
            spans.sort_by(|a, b| b.2.total_cmp(&a.2));
            spans.truncate(FLAGS_PER_CATEGORY);
            found.extend(spans.into_iter().map(|(a, b, s)| (name.clone(), a, b, s)));
        }
        for hit in rules::find(body, &segments) {
            found.push((hit.category.to_string(), hit.start, hit.end, 1.0));
        }
        found.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let chars = CharOffsets::new(body, found.iter().flat_map(|f| [f.1, f.2]));
        let flags = found
            .into_iter()
            .map(|(category, a, b, score)| {
                let clause = &body[a..b];
                let start = chars.get(a);
                Flag {
                    severity: self.policy.severity(&category, clause),
                    start,
                    end: chars.get(b),
                    page: text.page_of(start),
                    text: clause.to_string(),
                    explanation: explanation(&category).to_string(),
                    score,
                    engine: ENGINE.into(),
                    engine_version: VERSION.into(),
                    suggestion: suggest::for_category(&category),
                    category,
                }
            })
            .collect::<Vec<_>>();
        let missing = missing::missing(contract_type, body, &flags, &self.policy);
        Scan {
            state: ScanState::Analysed,
            contract_type,
            flags,
            missing,
            engine: ENGINE.into(),
            engine_version: VERSION.into(),
        }
    }
}

/// Byte offsets turned into character offsets in one pass over the text.
struct CharOffsets {
    map: Vec<(usize, u32)>,
}

impl CharOffsets {
    fn new(text: &str, bytes: impl Iterator<Item = usize>) -> Self {
        let mut wanted: Vec<usize> = bytes.collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut map = Vec::with_capacity(wanted.len());
        let mut chars = 0u32;
        let mut next = wanted.iter().peekable();
        for (byte, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            while let Some(&&w) = next.peek() {
                if w > byte {
                    break;
                }
                map.push((w, chars));
                next.next();
            }
            chars = chars.saturating_add(1);
        }
        Self { map }
    }

    fn get(&self, byte: usize) -> u32 {
        let i = self.map.partition_point(|&(b, _)| b < byte);
        self.map.get(i).map_or(0, |&(_, c)| c)
    }
}

/// Why a category deserves a look, in a sentence.
pub fn explanation(category: &str) -> &'static str {
    match category {
        "Governing Law" => {
            "Names the law the contract is read under; check it is one you can live with and litigate in."
        }
        "Termination For Convenience" => {
            "A party may end the contract without cause, so revenue or supply can stop on short notice."
        }
        "Cap On Liability" => {
            "Limits what can be recovered for a breach; check the amount and what is excluded from it."
        }
        "Uncapped Liability" => "Some liability has no ceiling: a single claim could exceed the contract's value.",
        "Liquidated Damages" => "A fixed sum is owed on breach, whatever the actual loss.",
        "Non-Compete" => "Restricts doing business in a field, place or time after or during the contract.",
        "Exclusivity" => "Commits a party to deal only with the other, closing off alternatives.",
        "Anti-Assignment" => {
            "The contract cannot be transferred without consent, which can block a sale or reorganisation."
        }
        "Change Of Control" => "A merger or change of ownership lets the other party terminate or renegotiate.",
        "Ip Ownership Assignment" => "Intellectual property created under the contract passes to the other party.",
        "Insurance" => "Requires insurance cover of stated kinds and amounts: a cost and an ongoing obligation.",
        "Audit Rights" => "The other party may inspect books or premises: cost, disruption and disclosure.",
        "Most Favored Nation" => {
            "Prices or terms must match the best offered to anyone else, constraining future deals."
        }
        "Minimum Commitment" => "A minimum amount must be bought or paid whatever the actual need.",
        "Covenant Not To Sue" => "Gives up the right to bring certain claims, including about intellectual property.",
        "Warranty Duration" => "Sets how long warranties last; short periods leave late defects uncovered.",
        "Renewal Term" => "The contract renews for further terms, often automatically.",
        "Notice Period To Terminate Renewal" => {
            "Renewal can only be stopped by notice given by a deadline that is easy to miss."
        }
        "One-Sided Indemnity" => {
            "Only one party indemnifies the other: losses, including third-party claims, fall on one side."
        }
        "Unusual Penalty" => {
            "A penalty or punitive charge (such as high late interest) beyond what a breach usually costs."
        }
        _ => "A clause worth a second look.",
    }
}

#[cfg(test)]
mod tests;
