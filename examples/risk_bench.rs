//! Speed of the risk engine on one core: scans every CUAD text (`txt/`, as `attesta risk scan`
//! does for a `.txt`) on a single thread and prints contracts per second. With `--pdf`, also
//! the text extraction from the PDFs, which costs more than the analysis.
//!
//! `cargo run -p attesta-core --release --features pdf --example risk_bench [-- --pdf]`
//! (corpus at `../shared/corpus/cuad` or `ATTESTA_CUAD_DIR`).

use attesta_core::risk::{Engine, PagedText, corpus};
use std::time::{Duration, Instant};

fn main() -> Result<(), String> {
    let dir = corpus::default_dir();
    let Ok(entries) = std::fs::read_dir(dir.join("txt")) else {
        return Err(format!("the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display()));
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let texts: Vec<PagedText> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).map(PagedText::plain).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<_, _>>()?;
    let bytes: usize = texts.iter().map(|t| t.text.len()).sum();
    let engine = Engine::builtin();
    // Warm up: the model table is built on first use.
    let mut flags = 0usize;
    for text in texts.iter().take(10) {
        flags += engine.scan(text).flags.len();
    }
    let mut rounds = 0u32;
    let start = Instant::now();
    while rounds < 3 || start.elapsed() < Duration::from_secs(5) {
        for text in &texts {
            flags += engine.scan(text).flags.len();
        }
        rounds += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let contracts = f64::from(rounds) * texts.len() as f64;
    println!(
        "risk scan, 1 thread: {} CUAD texts ({:.1} MB) x {rounds} rounds in {elapsed:.2} s: {:.0} contracts/s, {:.1} MB/s, {:.2} ms per contract ({flags} flags in all)",
        texts.len(),
        bytes as f64 / 1e6,
        contracts / elapsed,
        bytes as f64 * f64::from(rounds) / elapsed / 1e6,
        elapsed * 1000.0 / contracts,
    );
    #[cfg(feature = "pdf")]
    if std::env::args().any(|a| a == "--pdf") {
        let mut pdfs: Vec<_> = std::fs::read_dir(dir.join("pdf"))
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        pdfs.sort();
        let files: Vec<Vec<u8>> = pdfs.iter().filter_map(|p| std::fs::read(p).ok()).collect();
        let start = Instant::now();
        let mut extract = Duration::ZERO;
        for file in &files {
            let t = Instant::now();
            let text = attesta_core::risk::pdf::page_texts(file).unwrap_or_default();
            extract += t.elapsed();
            flags += engine.scan(&text).flags.len();
        }
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "PDF extraction + scan, 1 thread: {} CUAD PDFs in {elapsed:.2} s: {:.1} contracts/s ({:.0}% of the time in extraction; {flags} flags in all)",
            files.len(),
            files.len() as f64 / elapsed,
            100.0 * extract.as_secs_f64() / elapsed
        );
    }
    Ok(())
}
