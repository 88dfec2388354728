//! The clause model: per category, a bias, a decision threshold and a weight per feature, read
//! from `model.json` (written by `examples/risk_train.rs` from the CUAD corpus).
//!
//! A sentence's score for a category is the bias plus the weights of the distinct features it
//! has (a logistic regression's logit); the sentence is flagged when the score reaches the
//! category's threshold. The file is meant to be read: every weight is named by its feature.

use super::features::{self, Scratch};
use super::segment::Segment;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// The model file, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// How it was made (corpus, command, settings), for whoever reads it.
    pub trained: String,
    pub categories: Vec<CategoryModel>,
}

/// One category's linear model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryModel {
    /// CUAD's name for the category, e.g. `Cap On Liability`.
    pub name: String,
    pub bias: f32,
    /// A sentence scoring at least this is flagged (subject to `mode`).
    pub threshold: f32,
    /// How the score and the category's concept decide (chosen in training on held-out documents).
    #[serde(default)]
    pub mode: Mode,
    /// Feature name (`w:word`, `p:two words`, …) to weight, largest influence kept.
    pub weights: BTreeMap<String, f32>,
}

/// How a category's flags are decided from sentence scores and its hand-written concept
/// (`features::CONCEPTS`, e.g. `c:control` for Change Of Control). A sentence holds the concept
/// when it or its heading does ("Non-Competition" heads sentences that need not repeat it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Sentences scoring at least the threshold.
    #[default]
    Model,
    /// Sentences holding the concept and scoring at least the threshold.
    Gated,
    /// Sentences holding the concept, whatever their score.
    Concept,
    /// Sentences scoring at least the threshold; failing any, the best sentence holding the
    /// concept.
    Either,
}

/// A model ready to score: weights by feature hash, one row per feature.
#[derive(Debug, Clone)]
pub struct Model {
    names: Vec<String>,
    bias: Vec<f32>,
    thresholds: Vec<f32>,
    modes: Vec<Mode>,
    /// Hashes of each category's concept feature, in the sentence and in its heading.
    concepts: Vec<Option<(u64, u64)>>,
    table: HashMap<u64, Vec<(u16, f32)>, BuildHasherDefault<PassThrough>>,
}

/// The feature hashes are FNV already: hashing them again would only cost time.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Why a model file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("the model file is not valid: {0}")]
    Invalid(String),
}

impl Model {
    /// Builds the scoring table from a model file.
    pub fn new(file: &ModelFile) -> Result<Self, ModelError> {
        let mut table: HashMap<u64, Vec<(u16, f32)>, BuildHasherDefault<PassThrough>> = HashMap::default();
        for (index, category) in file.categories.iter().enumerate() {
            let index = u16::try_from(index).map_err(|_| ModelError::Invalid("too many categories".into()))?;
            for (name, &weight) in &category.weights {
                let hash = features::hash_name(name)
                    .ok_or_else(|| ModelError::Invalid(format!("feature {name:?} has no kind prefix")))?;
                table.entry(hash).or_default().push((index, weight));
            }
        }
        Ok(Self {
            names: file.categories.iter().map(|c| c.name.clone()).collect(),
            bias: file.categories.iter().map(|c| c.bias).collect(),
            thresholds: file.categories.iter().map(|c| c.threshold).collect(),
            modes: file.categories.iter().map(|c| c.mode).collect(),
            concepts: file
                .categories
                .iter()
                .map(|c| {
                    super::concept_of(&c.name)
                        .map(|n| (features::hash(features::CONCEPT, n), features::hash(features::HEADING_CONCEPT, n)))
                })
                .collect(),
            table,
        })
    }

    /// Parses a model file's JSON.
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        let file: ModelFile = serde_json::from_str(json).map_err(|e| ModelError::Invalid(e.to_string()))?;
        Self::new(&file)
    }

    pub fn categories(&self) -> &[String] {
        &self.names
    }

    pub fn threshold(&self, category: usize) -> f32 {
        self.thresholds[category]
    }

    pub fn mode(&self, category: usize) -> Mode {
        self.modes[category]
    }

    /// Every segment's score for every category, row by row (`segments.len() × categories`), and
    /// for each segment the categories whose concept it holds (bit `c`).
    pub fn score(&self, text: &str, segments: &[Segment]) -> (Vec<f32>, Vec<u32>) {
        let width = self.names.len();
        let mut scores = Vec::with_capacity(segments.len() * width);
        let mut concepts = Vec::with_capacity(segments.len());
        let mut scratch = Scratch::default();
        let mut hashes: Vec<u64> = Vec::new();
        for segment in segments {
            hashes.clear();
            let heading = segment.heading.map(|(a, b)| &text[a..b]);
            features::for_each(&text[segment.start..segment.end], heading, &mut scratch, |kind, t| {
                hashes.push(features::hash(kind, t));
            });
            hashes.sort_unstable();
            hashes.dedup();
            let mut held = 0u32;
            for (c, concept) in self.concepts.iter().enumerate() {
                let found = |h: u64| hashes.binary_search(&h).is_ok();
                if concept.is_some_and(|(sentence, heading)| found(sentence) || found(heading)) {
                    held |= 1 << c;
                }
            }
            concepts.push(held);
            let row = scores.len();
            scores.extend_from_slice(&self.bias);
            for hash in &hashes {
                if let Some(weights) = self.table.get(hash) {
                    for &(category, weight) in weights {
                        scores[row + usize::from(category)] += weight;
                    }
                }
            }
        }
        (scores, concepts)
    }
}
