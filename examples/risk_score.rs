//! Scores the risk engine on the CUAD corpus by k-fold cross-validation: the contracts are split
//! into K folds; for each, a model is trained (`risk::train`) on the other folds only and the
//! engine, exactly as shipped apart from its weights, scans the held-out contracts. Prints, per
//! category, document-level precision, recall and F1 (is a clause of this category present?), the
//! share of flags whose span overlaps an annotated excerpt, and the macro-F1 over the 18
//! categories; then, per contract type, how many contracts lack each clause that type expects.
//!
//! `cargo run -p attesta-core --release --example risk_score [-- K]` (K = 5 by default; corpus at
//! `../shared/corpus/cuad` or `ATTESTA_CUAD_DIR`). Training settings can be varied with
//! `RISK_EPOCHS`, `RISK_RATE`, `RISK_L2`, `RISK_POSITIVE_WEIGHT`, `RISK_MIN_DOCS`,
//! `RISK_MAX_FEATURES` (see `risk::train::Settings`); `RISK_DEBUG=<category>` (or `all`) also
//! prints that category's false flags and misses, and each fold's decision modes, for study.

use attesta_core::risk::{CATEGORIES, Engine, Model, PagedText, RiskPolicy, corpus, train};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    flags: u32,
    flags_on_excerpt: u32,
    located_docs: u32,
    located_docs_hit: u32,
}

fn f1(c: Counts) -> (f64, f64, f64) {
    let p = f64::from(c.tp) / f64::from((c.tp + c.fp).max(1));
    let r = f64::from(c.tp) / f64::from((c.tp + c.fn_).max(1));
    let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    (p, r, f)
}

fn main() -> Result<(), String> {
    let dir = corpus::default_dir();
    let Some((_, docs)) = corpus::load(&dir)? else {
        return Err(format!("the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display()));
    };
    let k: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let categories: Vec<String> = CATEGORIES.iter().map(|c| c.to_string()).collect();
    let settings = train::Settings::from_env();
    let dataset = train::Dataset::new(&docs, &categories);
    // `RISK_DEBUG=<category>` (or `all`) prints that category's false positives and misses, for study.
    let debug = std::env::var("RISK_DEBUG").ok();
    let mut counts = vec![Counts::default(); categories.len()];
    // Gap analysis: per contract type, how many contracts, and how many lack each expected clause.
    let mut gaps: BTreeMap<&'static str, (u32, BTreeMap<String, u32>)> = BTreeMap::new();
    // The one expected clause CUAD also annotates: (said missing, of which CUAD has none, CUAD has none).
    let mut law_gaps = (0u32, 0u32, 0u32);
    for fold in 0..k {
        let train_docs: Vec<usize> = (0..docs.len()).filter(|i| i % k != fold).collect();
        let file = dataset.fit(&train_docs, &settings);
        if debug.is_some() {
            let modes: Vec<String> = file.categories.iter().map(|c| format!("{}={:?}", c.name, c.mode)).collect();
            println!("MODES fold {fold}: {}", modes.join(", "));
        }
        let model = Model::new(&file).map_err(|e| e.to_string())?;
        let engine = Engine::new(model, RiskPolicy::default());
        for doc in docs.iter().enumerate().filter(|(i, _)| i % k == fold).map(|(_, d)| d) {
            let scan = engine.scan(&PagedText::plain(doc.text.clone()));
            let flagged: BTreeSet<&str> = scan.flags.iter().map(|f| f.category.as_str()).collect();
            let law_missing = scan.missing.iter().any(|m| m.clause == "Governing Law");
            let law_absent = !doc.present.contains("Governing Law");
            law_gaps.0 += u32::from(law_missing);
            law_gaps.1 += u32::from(law_missing && law_absent);
            law_gaps.2 += u32::from(law_absent);
            let gap = gaps.entry(scan.contract_type.as_str()).or_default();
            gap.0 += 1;
            for clause in scan.contract_type.expected() {
                let lacking = u32::from(scan.missing.iter().any(|m| m.clause == *clause));
                *gap.1.entry((*clause).to_string()).or_default() += lacking;
            }
            for (c, category) in categories.iter().enumerate() {
                let (predicted, actual) = (flagged.contains(category.as_str()), doc.present.contains(category));
                if debug.as_deref().is_some_and(|d| d == category || d == "all") && predicted != actual {
                    let shown = |t: &str| t.chars().take(240).collect::<String>().replace('\n', " ");
                    if predicted {
                        for flag in scan.flags.iter().filter(|f| &f.category == category) {
                            println!("FP {category} | {} [{:.2}] {}", doc.id, flag.score, shown(&flag.text));
                        }
                    } else {
                        for excerpt in doc.excerpts.get(category).into_iter().flatten() {
                            println!("FN {category} | {} {}", doc.id, shown(excerpt));
                        }
                    }
                }
                let n = &mut counts[c];
                match (predicted, actual) {
                    (true, true) => n.tp += 1,
                    (true, false) => n.fp += 1,
                    (false, true) => n.fn_ += 1,
                    (false, false) => {}
                }
                // Span quality, where the annotators' excerpts could be located.
                let Some(spans) = doc.spans.get(category) else { continue };
                let chars: Vec<(usize, usize)> = spans
                    .iter()
                    .map(|&(a, b)| (doc.text[..a].chars().count(), doc.text[..b].chars().count()))
                    .collect();
                n.located_docs += 1;
                let mut hit = false;
                for flag in scan.flags.iter().filter(|f| &f.category == category) {
                    n.flags += 1;
                    let (s, e) = (flag.start as usize, flag.end as usize);
                    if chars.iter().any(|&(a, b)| a < e && s < b) {
                        n.flags_on_excerpt += 1;
                        hit = true;
                    }
                }
                if hit {
                    n.located_docs_hit += 1;
                }
            }
        }
        eprintln!("fold {}/{k} done", fold + 1);
    }
    println!("{k}-fold cross-validation on {} CUAD contracts ({})", docs.len(), settings.describe());
    println!("{:<36} {:>4} {:>6} {:>6} {:>6} {:>9} {:>9}", "category", "docs", "P", "R", "F1", "on-span", "doc-hit");
    let mut sum = 0.0;
    let mut total = Counts::default();
    for (c, category) in categories.iter().enumerate() {
        let n = counts[c];
        let (p, r, f) = f1(n);
        sum += f;
        total.flags += n.flags;
        total.flags_on_excerpt += n.flags_on_excerpt;
        total.located_docs += n.located_docs;
        total.located_docs_hit += n.located_docs_hit;
        println!(
            "{category:<36} {:>4} {p:>6.3} {r:>6.3} {f:>6.3} {:>8.1}% {:>8.1}%",
            n.tp + n.fn_,
            100.0 * f64::from(n.flags_on_excerpt) / f64::from(n.flags.max(1)),
            100.0 * f64::from(n.located_docs_hit) / f64::from(n.located_docs.max(1)),
        );
    }
    println!(
        "macro-F1 {:.3} over {} categories; flags on an annotated excerpt {:.1}% (in documents with the category); \
         documents whose excerpt is flagged {:.1}%",
        sum / categories.len() as f64,
        categories.len(),
        100.0 * f64::from(total.flags_on_excerpt) / f64::from(total.flags.max(1)),
        100.0 * f64::from(total.located_docs_hit) / f64::from(total.located_docs.max(1)),
    );
    println!("\nmissing clauses by contract type (contracts lacking each expected clause):");
    for (kind, (n, lacking)) in &gaps {
        let listed: Vec<String> = lacking.iter().map(|(clause, k)| format!("{clause} {k}")).collect();
        println!("{kind:<14} {n:>4}  {}", listed.join(", "));
    }
    println!(
        "governing law said missing in {} contracts, {} of them without one in CUAD's annotations (which lack it in {})",
        law_gaps.0, law_gaps.1, law_gaps.2
    );
    Ok(())
}
