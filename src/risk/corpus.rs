//! The CUAD corpus as the trainer, the scorer and the tests read it: each contract's text, the
//! categories its annotators found, and where their excerpts are in the text.
//!
//! The corpus is shared data (`../shared/corpus/cuad` from the repository, or the folder named by
//! `ATTESTA_CUAD_DIR`), never copied into the repository. Excerpts are found verbatim (most are);
//! otherwise by their first and last 60 characters; the few found neither way are counted and
//! left out of span scoring, never guessed.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One annotated contract.
#[derive(Debug, Clone)]
pub struct LabelledDoc {
    pub id: String,
    /// The document's file name in EDGAR, whose tail names its kind ("… Supply Agreement.pdf").
    pub source_name: String,
    pub text: String,
    /// Categories the annotators found text for.
    pub present: BTreeSet<String>,
    /// Byte spans in `text` of the located excerpts, by category.
    pub spans: BTreeMap<String, Vec<(usize, usize)>>,
    /// The excerpts themselves, by category (for per-rule tests).
    pub excerpts: BTreeMap<String, Vec<String>>,
    /// Excerpts that could not be located in the text.
    pub unlocated: usize,
}

#[derive(Deserialize)]
struct Labels {
    categories: Vec<String>,
    documents: Vec<LabelsDoc>,
}

#[derive(Deserialize)]
struct LabelsDoc {
    id: String,
    source_name: String,
    txt: String,
    labels: BTreeMap<String, bool>,
    #[serde(default)]
    clauses: BTreeMap<String, Vec<String>>,
}

/// CUAD's category names and the annotated contracts.
pub type Corpus = (Vec<String>, Vec<LabelledDoc>);

/// Where the corpus is: `ATTESTA_CUAD_DIR`, else `../shared/corpus/cuad` beside the repository.
pub fn default_dir() -> PathBuf {
    std::env::var_os("ATTESTA_CUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cuad"))
}

/// The corpus at `dir`, or `None` when it has no `labels.json` (not installed on this machine).
pub fn load(dir: &Path) -> Result<Option<Corpus>, String> {
    let Ok(json) = std::fs::read_to_string(dir.join("labels.json")) else {
        return Ok(None);
    };
    let labels: Labels = serde_json::from_str(&json).map_err(|e| format!("labels.json: {e}"))?;
    let mut docs = Vec::with_capacity(labels.documents.len());
    for doc in labels.documents {
        let path = dir.join(&doc.txt);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut spans: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
        let mut unlocated = 0;
        for (category, excerpts) in &doc.clauses {
            for excerpt in excerpts {
                match locate(&text, excerpt) {
                    Some(span) => spans.entry(category.clone()).or_default().push(span),
                    None => unlocated += 1,
                }
            }
        }
        docs.push(LabelledDoc {
            id: doc.id,
            source_name: doc.source_name,
            present: doc.labels.into_iter().filter(|(_, present)| *present).map(|(c, _)| c).collect(),
            spans,
            excerpts: doc.clauses,
            unlocated,
            text,
        });
    }
    Ok(Some((labels.categories, docs)))
}

/// Loads the corpus for a test: `None` (after saying so) when absent, a panic under CI, where
/// the corpus must be present.
pub fn for_test() -> Option<Corpus> {
    let dir = default_dir();
    match load(&dir) {
        Ok(Some(corpus)) => Some(corpus),
        Ok(None) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display());
            None
        }
        Ok(None) => panic!("CI: the CUAD corpus must be at {}", dir.display()),
        Err(e) => panic!("the CUAD corpus at {} is unreadable: {e}", dir.display()),
    }
}

/// The byte span of `excerpt` in `text`: verbatim, or from where its first 60 characters are to
/// the end of its last 60.
pub fn locate(text: &str, excerpt: &str) -> Option<(usize, usize)> {
    let excerpt = excerpt.trim();
    if excerpt.is_empty() {
        return None;
    }
    if let Some(start) = text.find(excerpt) {
        return Some((start, start + excerpt.len()));
    }
    let head: String = excerpt.chars().take(60).collect();
    let tail_start = excerpt.char_indices().rev().nth(59).map_or(0, |(i, _)| i);
    let tail = &excerpt[tail_start..];
    let start = text.find(head.as_str())?;
    let end = text[start..].find(tail).map(|i| start + i + tail.len())?;
    (end - start <= excerpt.len() * 2).then_some((start, end))
}
