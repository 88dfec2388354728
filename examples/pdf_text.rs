//! Measures PDF text extractors on the CUAD PDFs against CUAD's own text (`txt/`): how much of
//! the reference's words each one recovers (bag-of-words precision, recall, F1 over lowercase
//! alphanumeric words), how many files give no text, and how fast. This is how the risk engine's
//! extractor was chosen (docs/PERFORMANCE.md).
//!
//! `cargo run -p attesta-core --release --features pdf --example pdf_text [-- LIMIT]`
//! (the corpus is `../shared/corpus/cuad`, or `ATTESTA_CUAD_DIR`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn words(text: &str) -> HashMap<String, u32> {
    let mut bag = HashMap::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        *bag.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    bag
}

/// (matched, extracted total, reference total) words.
fn overlap(extracted: &str, reference: &str) -> (u64, u64, u64) {
    let (a, b) = (words(extracted), words(reference));
    let matched = a.iter().map(|(w, n)| u64::from((*n).min(b.get(w).copied().unwrap_or(0)))).sum();
    (matched, a.values().map(|&n| u64::from(n)).sum(), b.values().map(|&n| u64::from(n)).sum())
}

#[derive(Default)]
struct Tally {
    matched: u64,
    extracted: u64,
    reference: u64,
    failed: u32,
    empty: u32,
    time: Duration,
    per_doc_f1: Vec<f64>,
}

impl Tally {
    fn add(&mut self, result: Option<String>, reference: &str, time: Duration) {
        self.time += time;
        let Some(text) = result else {
            self.failed += 1;
            self.per_doc_f1.push(0.0);
            return;
        };
        if !attesta_core::risk::PagedText::plain(text.clone()).has_text() {
            self.empty += 1;
        }
        let (m, e, r) = overlap(&text, reference);
        self.matched += m;
        self.extracted += e;
        self.reference += r;
        let f1 = if e + r == 0 { 0.0 } else { 2.0 * m as f64 / (e + r) as f64 };
        self.per_doc_f1.push(f1);
    }

    fn print(&self, name: &str, files: usize) {
        let p = self.matched as f64 / self.extracted.max(1) as f64;
        let r = self.matched as f64 / self.reference.max(1) as f64;
        let f1 = 2.0 * p * r / (p + r).max(f64::MIN_POSITIVE);
        let mut sorted = self.per_doc_f1.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let below = sorted.iter().filter(|&&f| f < 0.9).count();
        println!(
            "{name:<12} words P {p:.3} R {r:.3} F1 {f1:.3} | median doc F1 {median:.3}, docs < 0.90: {below} | failed {} no-text {} | {:.1} ms/file",
            self.failed,
            self.empty,
            self.time.as_secs_f64() * 1000.0 / files.max(1) as f64
        );
    }
}

/// lopdf's own extraction, page by page, as the alternative.
fn lopdf_text(bytes: &[u8]) -> Option<String> {
    let document = lopdf::Document::load_mem(bytes).ok()?;
    let pages: Vec<String> =
        document.get_pages().keys().map(|&n| document.extract_text(&[n]).unwrap_or_default()).collect();
    Some(pages.join("\u{c}"))
}

fn main() {
    let root = std::env::var_os("ATTESTA_CUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cuad"));
    let limit: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(usize::MAX);
    let Ok(entries) = std::fs::read_dir(root.join("pdf")) else {
        eprintln!("SKIPPED: the CUAD corpus is not at {}", root.display());
        return;
    };
    let mut pdfs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    pdfs.sort();
    pdfs.truncate(limit);
    // pdf-extract may panic on odd files (caught by page_texts): keep the report readable.
    std::panic::set_hook(Box::new(|_| {}));
    let (mut lopdf, mut pdf_extract) = (Tally::default(), Tally::default());
    for path in &pdfs {
        let Ok(reference) =
            std::fs::read_to_string(root.join("txt").join(path.with_extension("txt").file_name().unwrap_or_default()))
        else {
            continue;
        };
        let bytes = std::fs::read(path).unwrap_or_default();
        let start = Instant::now();
        lopdf.add(lopdf_text(&bytes), &reference, start.elapsed());
        let start = Instant::now();
        let chosen = attesta_core::risk::pdf::page_texts(&bytes).ok().map(|t| t.text);
        pdf_extract.add(chosen, &reference, start.elapsed());
    }
    println!("{} CUAD PDFs, against CUAD's txt/:", pdfs.len());
    lopdf.print("lopdf 0.47", pdfs.len());
    pdf_extract.print("pdf-extract", pdfs.len());
}
