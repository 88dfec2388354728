//! Trains the risk engine's clause model on the whole CUAD corpus and writes `src/risk/model.json`
//! (the model that ships). Deterministic: the same corpus gives the same file.
//!
//! `cargo run -p attesta-core --release --example risk_train [-- OUT.json]`
//! (corpus: `../shared/corpus/cuad`, or `ATTESTA_CUAD_DIR`). Cross-validated quality:
//! `examples/risk_score.rs`.

use attesta_core::risk::{CATEGORIES, corpus, train};
use std::path::PathBuf;

fn main() -> Result<(), String> {
    let dir = corpus::default_dir();
    let Some((_, docs)) = corpus::load(&dir)? else {
        return Err(format!("the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display()));
    };
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/risk/model.json"));
    let categories: Vec<String> = CATEGORIES.iter().map(|c| c.to_string()).collect();
    let settings = train::Settings::from_env();
    let dataset = train::Dataset::new(&docs, &categories);
    let all: Vec<usize> = (0..docs.len()).collect();
    let mut model = dataset.fit(&all, &settings);
    model.trained = format!(
        "CUAD v1 (The Atticus Project, CC BY 4.0), {} contracts, by `cargo run -p attesta-core --release --example risk_train`; {}",
        docs.len(),
        model.trained
    );
    let json = serde_json::to_string_pretty(&model).map_err(|e| e.to_string())?;
    std::fs::write(&out, json + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
    let features: usize = model.categories.iter().map(|c| c.weights.len()).sum();
    println!("wrote {} ({} categories, {features} weights)", out.display(), model.categories.len());
    Ok(())
}
