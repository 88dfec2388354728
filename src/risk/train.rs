//! Training the clause model from annotated contracts: one logistic regression per category over
//! sentence features, sentences labelled by the annotators' excerpts, and a per-category threshold
//! on a document's best sentence chosen on documents the weights were not fitted on.
//!
//! Everything is deterministic (a fixed visiting order instead of random shuffling), so the same
//! corpus and settings give the same `model.json` byte for byte. Used by `examples/risk_train.rs`
//! (the shipped model) and `examples/risk_score.rs` (cross-validation: each fold's model is fitted
//! here on the other folds only).

use super::corpus::LabelledDoc;
use super::features::{self, Scratch};
use super::model::{CategoryModel, Mode, ModelFile};
use super::segment;
use std::collections::{BTreeMap, HashMap};

/// The knobs of training; the defaults are what the shipped model uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub epochs: u32,
    pub rate: f32,
    pub l2: f32,
    /// Weight of a positive sentence's error relative to a negative one's (positives are rare).
    pub positive_weight: f32,
    /// A feature must occur in at least this many training documents: no memorising one contract.
    pub min_docs: u32,
    /// Features kept per category, largest weights first.
    pub max_features: usize,
    /// Inner folds for choosing thresholds on documents the weights were not fitted on.
    pub inner_folds: usize,
    /// Negative features kept, as a percentage of `max_features`.
    pub negative_share_percent: usize,
    /// Ship a model refitted on all training documents instead of the inner models' average.
    pub refit: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            epochs: 6,
            rate: 0.1,
            l2: 1e-4,
            positive_weight: 3.0,
            min_docs: 3,
            max_features: 400,
            inner_folds: 3,
            negative_share_percent: 25,
            refit: false,
        }
    }
}

impl Settings {
    /// The defaults, with any of `RISK_EPOCHS`, `RISK_RATE`, `RISK_L2`, `RISK_POSITIVE_WEIGHT`,
    /// `RISK_MIN_DOCS`, `RISK_MAX_FEATURES`, `RISK_INNER_FOLDS` set in the environment instead
    /// (for trying settings with the scorer; the shipped model uses the defaults).
    pub fn from_env() -> Self {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
        }
        let d = Self::default();
        Self {
            epochs: var("RISK_EPOCHS", d.epochs),
            rate: var("RISK_RATE", d.rate),
            l2: var("RISK_L2", d.l2),
            positive_weight: var("RISK_POSITIVE_WEIGHT", d.positive_weight),
            min_docs: var("RISK_MIN_DOCS", d.min_docs),
            max_features: var("RISK_MAX_FEATURES", d.max_features),
            inner_folds: var("RISK_INNER_FOLDS", d.inner_folds),
            negative_share_percent: var("RISK_NEGATIVE_SHARE", d.negative_share_percent),
            refit: var("RISK_REFIT", d.refit),
        }
    }

    /// One line saying how a model was trained, for the model file.
    pub fn describe(&self) -> String {
        format!(
            "epochs {}, rate {}, l2 {}, positive weight {}, min docs {}, max features {} (negative {}%), inner folds {}, refit {}",
            self.epochs,
            self.rate,
            self.l2,
            self.positive_weight,
            self.min_docs,
            self.max_features,
            self.negative_share_percent,
            self.inner_folds,
            self.refit
        )
    }
}

struct Sentence {
    features: Vec<u32>,
    /// Bit `c` set: the sentence overlaps an excerpt of category `c`.
    labels: u32,
}

/// The corpus turned into feature ids, once, for any number of fits.
pub struct Dataset {
    categories: Vec<String>,
    /// Each category's concept feature id, when the corpus has it.
    concepts: Vec<Option<u32>>,
    /// The same concept held by a sentence's heading, which gates the sentence too.
    heading_concepts: Vec<Option<u32>>,
    names: Vec<String>,
    sentences: Vec<Sentence>,
    doc_sentences: Vec<std::ops::Range<usize>>,
    doc_present: Vec<u32>,
    doc_features: Vec<Vec<u32>>,
}

impl Dataset {
    /// Featurises `docs` for `categories` (at most 32).
    pub fn new(docs: &[LabelledDoc], categories: &[String]) -> Self {
        assert!(categories.len() <= 32, "category labels are a 32-bit mask");
        let mut ids: HashMap<u64, u32> = HashMap::new();
        let mut names = Vec::new();
        let mut sentences = Vec::new();
        let mut doc_sentences = Vec::new();
        let mut doc_present = Vec::new();
        let mut doc_features = Vec::new();
        let mut scratch = Scratch::default();
        for doc in docs {
            let first = sentences.len();
            let mut in_doc: Vec<u32> = Vec::new();
            for seg in segment::segments(&doc.text) {
                let mut feats = Vec::new();
                let heading = seg.heading.map(|(a, b)| &doc.text[a..b]);
                features::for_each(&doc.text[seg.start..seg.end], heading, &mut scratch, |kind, text| {
                    let hash = features::hash(kind, text);
                    let id = *ids.entry(hash).or_insert_with(|| {
                        names.push(features::name(kind, text));
                        u32::try_from(names.len() - 1).unwrap_or(u32::MAX)
                    });
                    feats.push(id);
                });
                feats.sort_unstable();
                feats.dedup();
                in_doc.extend_from_slice(&feats);
                let mut labels = 0u32;
                for (c, category) in categories.iter().enumerate() {
                    let overlaps = doc.spans.get(category).is_some_and(|spans| {
                        spans.iter().any(|&(a, b)| {
                            let overlap = b.min(seg.end).saturating_sub(a.max(seg.start));
                            overlap > 0 && overlap * 2 >= (b - a).min(seg.end - seg.start)
                        })
                    });
                    if overlaps {
                        labels |= 1 << c;
                    }
                }
                sentences.push(Sentence { features: feats, labels });
            }
            in_doc.sort_unstable();
            in_doc.dedup();
            doc_features.push(in_doc);
            doc_sentences.push(first..sentences.len());
            let mut present = 0u32;
            for (c, category) in categories.iter().enumerate() {
                if doc.present.contains(category) {
                    present |= 1 << c;
                }
            }
            doc_present.push(present);
        }
        let concepts = categories
            .iter()
            .map(|c| super::concept_of(c).and_then(|name| ids.get(&features::hash(features::CONCEPT, name)).copied()))
            .collect();
        let heading_concepts = categories
            .iter()
            .map(|c| {
                super::concept_of(c).and_then(|name| ids.get(&features::hash(features::HEADING_CONCEPT, name)).copied())
            })
            .collect();
        Self {
            categories: categories.to_vec(),
            concepts,
            heading_concepts,
            names,
            sentences,
            doc_sentences,
            doc_present,
            doc_features,
        }
    }

    /// Fits a model on the documents `train` (indices into the corpus given to [`Dataset::new`]).
    pub fn fit(&self, train: &[usize], settings: &Settings) -> ModelFile {
        let width = self.categories.len();
        // Thresholds from inner folds: each training document is scored by weights fitted without it.
        // Per category and held-out document: best score of any sentence, best score of a
        // sentence holding the category's concept, and whether the category is present.
        let mut held_out: Vec<Vec<(f32, f32, bool)>> = vec![Vec::new(); width];
        let mut inner_models = Vec::new();
        for k in 0..settings.inner_folds {
            let inner_test: Vec<usize> =
                train.iter().enumerate().filter(|(i, _)| i % settings.inner_folds == k).map(|(_, &d)| d).collect();
            let inner_train: Vec<usize> =
                train.iter().enumerate().filter(|(i, _)| i % settings.inner_folds != k).map(|(_, &d)| d).collect();
            let weights = self.weights(&inner_train, settings);
            for doc in inner_test {
                for (c, (all, gated)) in self.document_maxima(doc, &weights).into_iter().enumerate() {
                    held_out[c].push((all, gated, self.doc_present[doc] & (1 << c) != 0));
                }
            }
            inner_models.push(weights);
        }
        // The shipped weights are the inner models' average: the thresholds were chosen on
        // exactly such models' scores of unseen documents, so they fit it (a model refitted on
        // all the documents scores higher than the thresholds expect).
        let weights = if settings.refit {
            self.weights(train, settings)
        } else {
            Weights::average(&inner_models).pruned(settings)
        };
        let categories = (0..width)
            .map(|c| {
                let (mode, threshold) = best_decision(&held_out[c], self.concepts[c].is_some());
                CategoryModel {
                    name: self.categories[c].clone(),
                    bias: weights.bias[c],
                    threshold,
                    mode,
                    weights: weights.named(c, &self.names),
                }
            })
            .collect();
        ModelFile { trained: settings.describe(), categories }
    }

    /// Per category, the best sentence score in `doc` and the best among sentences holding the
    /// category's concept (negative infinity when none does).
    fn document_maxima(&self, doc: usize, weights: &Weights) -> Vec<(f32, f32)> {
        let width = self.categories.len();
        let mut maxima = vec![(f32::NEG_INFINITY, f32::NEG_INFINITY); width];
        for sentence in &self.sentences[self.doc_sentences[doc].clone()] {
            let mut z = weights.bias.clone();
            for f in &sentence.features {
                if let Some(row) = weights.kept.get(f) {
                    for &(c, w) in row {
                        z[usize::from(c)] += w;
                    }
                }
            }
            for c in 0..width {
                maxima[c].0 = maxima[c].0.max(z[c]);
                let held = |id: &Option<u32>| id.is_some_and(|id| sentence.features.binary_search(&id).is_ok());
                if held(&self.concepts[c]) || held(&self.heading_concepts[c]) {
                    maxima[c].1 = maxima[c].1.max(z[c]);
                }
            }
        }
        maxima
    }

    /// Logistic regressions for all categories at once, by AdaGrad over the training sentences,
    /// then pruned to each category's strongest features.
    fn weights(&self, train: &[usize], settings: &Settings) -> Weights {
        let width = self.categories.len();
        // Features seen in enough training documents get a dense index; the rest are ignored.
        let mut df: HashMap<u32, u32> = HashMap::new();
        for &doc in train {
            for &f in &self.doc_features[doc] {
                *df.entry(f).or_insert(0) += 1;
            }
        }
        let mut dense: HashMap<u32, u32> = HashMap::new();
        let mut vocab: Vec<u32> = df.into_iter().filter(|&(_, n)| n >= settings.min_docs).map(|(f, _)| f).collect();
        vocab.sort_unstable();
        for (i, &f) in vocab.iter().enumerate() {
            dense.insert(f, u32::try_from(i).unwrap_or(u32::MAX));
        }
        let mut order: Vec<usize> = train.iter().flat_map(|&d| self.doc_sentences[d].clone()).collect();
        let examples: Vec<(Vec<u32>, u32)> = order
            .drain(..)
            .map(|s| {
                let sentence = &self.sentences[s];
                (sentence.features.iter().filter_map(|f| dense.get(f).copied()).collect(), sentence.labels)
            })
            .collect();
        let mut w = vec![0f32; vocab.len() * width];
        let mut g2 = vec![0f32; vocab.len() * width];
        let mut bias = vec![0f32; width];
        let mut bias_g2 = vec![0f32; width];
        let n = examples.len();
        let stride = visiting_stride(n);
        let mut z = vec![0f32; width];
        for _ in 0..settings.epochs {
            for i in 0..n {
                let (feats, labels) = &examples[(i * stride) % n.max(1)];
                z.copy_from_slice(&bias);
                for &f in feats {
                    let row = f as usize * width;
                    for c in 0..width {
                        z[c] += w[row + c];
                    }
                }
                for c in 0..width {
                    let positive = labels & (1 << c) != 0;
                    let p = 1.0 / (1.0 + (-z[c]).exp());
                    let error = if positive { (p - 1.0) * settings.positive_weight } else { p };
                    if error.abs() < 1e-3 {
                        continue;
                    }
                    bias_g2[c] += error * error;
                    bias[c] -= settings.rate * error / (bias_g2[c].sqrt() + 1e-6);
                    for &f in feats {
                        let k = f as usize * width + c;
                        let grad = error + settings.l2 * w[k];
                        g2[k] += grad * grad;
                        w[k] -= settings.rate * grad / (g2[k].sqrt() + 1e-6);
                    }
                }
            }
        }
        // Keep each category's strongest features, by original feature id.
        let mut kept: HashMap<u32, Vec<(u16, f32)>> = HashMap::new();
        for c in 0..width {
            // Most weights are small negatives on words never seen near a clause: keep the
            // features that speak for a category, and the strongest few that speak against it.
            let mut positive: Vec<(usize, f32)> =
                (0..vocab.len()).map(|i| (i, w[i * width + c])).filter(|(_, x)| *x > 1e-3).collect();
            let mut negative: Vec<(usize, f32)> =
                (0..vocab.len()).map(|i| (i, w[i * width + c])).filter(|(_, x)| *x < -1e-3).collect();
            positive.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            negative.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            positive.truncate(settings.max_features);
            negative.truncate(settings.max_features * settings.negative_share_percent / 100);
            for (i, x) in positive.into_iter().chain(negative) {
                kept.entry(vocab[i]).or_default().push((u16::try_from(c).unwrap_or(u16::MAX), round(x)));
            }
        }
        Weights { bias: bias.into_iter().map(round).collect(), kept }
    }
}

struct Weights {
    bias: Vec<f32>,
    kept: HashMap<u32, Vec<(u16, f32)>>,
}

impl Weights {
    /// Each category's `max_features` strongest positive weights and its share of negative ones.
    fn pruned(mut self, settings: &Settings) -> Weights {
        let width = self.bias.len();
        let mut keep: HashMap<(u32, u16), ()> = HashMap::new();
        for c in 0..width {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            let mut column: Vec<(u32, f32)> =
                self.kept.iter().flat_map(|(&f, row)| row.iter().filter(|e| e.0 == c).map(move |e| (f, e.1))).collect();
            column.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let positives = column.iter().filter(|e| e.1 > 0.0).take(settings.max_features);
            let negatives = column
                .iter()
                .rev()
                .filter(|e| e.1 < 0.0)
                .take(settings.max_features * settings.negative_share_percent / 100);
            for &(f, _) in positives.chain(negatives) {
                keep.insert((f, c), ());
            }
        }
        for (f, row) in self.kept.iter_mut() {
            row.retain(|e| keep.contains_key(&(*f, e.0)));
        }
        self.kept.retain(|_, row| !row.is_empty());
        self
    }

    fn average(models: &[Weights]) -> Weights {
        let n = models.len().max(1) as f32;
        let width = models.first().map_or(0, |m| m.bias.len());
        let mut bias = vec![0f32; width];
        let mut kept: HashMap<u32, Vec<(u16, f32)>> = HashMap::new();
        for model in models {
            for (c, b) in model.bias.iter().enumerate() {
                bias[c] += b / n;
            }
            for (&f, row) in &model.kept {
                let entry = kept.entry(f).or_default();
                for &(c, w) in row {
                    match entry.iter_mut().find(|(e, _)| *e == c) {
                        Some(e) => e.1 += w / n,
                        None => entry.push((c, w / n)),
                    }
                }
            }
        }
        for row in kept.values_mut() {
            for e in row.iter_mut() {
                e.1 = round(e.1);
            }
            row.retain(|e| e.1 != 0.0);
        }
        Weights { bias: bias.into_iter().map(round).collect(), kept }
    }

    fn named(&self, category: usize, names: &[String]) -> BTreeMap<String, f32> {
        self.kept
            .iter()
            .flat_map(|(&f, row)| {
                row.iter()
                    .filter(|(c, _)| usize::from(*c) == category)
                    .map(move |&(_, w)| (names[f as usize].clone(), w))
            })
            .collect()
    }
}

/// Four decimals are plenty, and keep the model file short and stable.
fn round(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}

/// A step through `0..n` that visits every index once in a scattered order (coprime with `n`).
fn visiting_stride(n: usize) -> usize {
    let mut stride = 7919usize;
    while n > 1 && gcd(stride, n) != 1 {
        stride += 2;
    }
    stride
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The decision rule and threshold with the best F1 on held-out documents' `(best score, best
/// score of a sentence with the concept, present)`; the plain model wins ties.
fn best_decision(docs: &[(f32, f32, bool)], has_concept: bool) -> (Mode, f32) {
    let f1 = |predicted: &dyn Fn(&(f32, f32, bool)) -> bool| {
        let tp = docs.iter().filter(|d| d.2 && predicted(d)).count();
        let guessed = docs.iter().filter(|d| predicted(d)).count();
        let actual = docs.iter().filter(|d| d.2).count();
        2.0 * tp as f64 / (guessed + actual).max(1) as f64
    };
    let model = best_threshold(&docs.iter().map(|d| (d.0, d.2)).collect::<Vec<_>>());
    let mut best = (Mode::Model, model, f1(&|d| d.0 >= model));
    if has_concept {
        let gated = best_threshold(&docs.iter().map(|d| (d.1, d.2)).collect::<Vec<_>>());
        let candidates = [
            (Mode::Gated, gated, f1(&|d| d.1 >= gated)),
            (Mode::Concept, f32::MIN, f1(&|d| d.1 > f32::NEG_INFINITY)),
            (Mode::Either, model, f1(&|d| d.0 >= model || d.1 > f32::NEG_INFINITY)),
        ];
        for candidate in candidates {
            if candidate.2 > best.2 + 1e-9 {
                best = candidate;
            }
        }
    }
    (best.0, best.1)
}

/// The threshold on a document's best sentence score that maximises F1 on `(score, present)`
/// pairs: midway between two neighbouring scores.
fn best_threshold(pairs: &[(f32, bool)]) -> f32 {
    // Documents with no scored sentence can never be predicted, but still count as missed.
    let positives = pairs.iter().filter(|p| p.1).count();
    let mut pairs: Vec<(f32, bool)> = pairs.iter().copied().filter(|p| p.0 > f32::NEG_INFINITY).collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut best_f1, mut best) = (0usize, -1.0f64, pairs.first().map_or(0.0, |p| p.0 + 1.0));
    for (i, &(score, present)) in pairs.iter().enumerate() {
        if present {
            tp += 1;
        }
        let next = pairs.get(i + 1).map(|p| p.0);
        if next == Some(score) {
            continue;
        }
        let predicted = i + 1;
        let f1 = 2.0 * tp as f64 / (predicted + positives) as f64;
        if f1 > best_f1 {
            best_f1 = f1;
            best = next.map_or(score - 1.0, |n| round((score + n) / 2.0));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_separates_where_f1_is_best() {
        let pairs = [(3.0, true), (2.0, true), (1.0, false), (0.5, true), (-1.0, false), (-2.0, false)];
        // Cutting below 0.5 gives P 3/4 R 1 (F1 0.857); below 2.0 gives P 1 R 2/3 (0.8).
        assert_eq!(best_threshold(&pairs), -0.25);
    }

    #[test]
    fn the_visiting_order_covers_every_sentence_once() {
        for n in [1usize, 2, 7919, 10_000, 15_838] {
            let stride = visiting_stride(n);
            let mut seen: Vec<usize> = (0..n).map(|i| (i * stride) % n).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), n);
        }
    }
}
