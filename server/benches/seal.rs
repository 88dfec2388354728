//! Sealing a PDF, with figures printed (no assertions on time): our PAdES seal step against
//! pyHanko signing the same PDF with the same key and certificate.
//!
//! Two real contracts from the CUAD corpus (`../shared/corpus/cuad/pdf`, or `ATTESTA_CUAD_DIR`),
//! the ones nearest 20 and 100 pages. Both are timed warm and in process: ours the incremental
//! update, hashing, the ECDSA signature and the CMS; pyHanko's `signers.sign_pdf` on an
//! `IncrementalPdfFileWriter` over the PDF in memory, the same key and certificate, timed inside
//! one Python process (`support/pyhanko_sign.py`) so Python's start-up is not counted.
//! Neither has a timestamp.
//!
//! `cargo bench -p attesta-server --bench seal` (add `-- --quick` for fewer rounds).

#[path = "support/pyhanko.rs"]
mod pyhanko;

use attesta_core::Timestamp;
use attesta_server::seal::identity::{self, SealIdentity, SealNames};
use attesta_server::seal::pades::sign_pdf;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = std::env::var_os("ATTESTA_CUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/cuad/pdf"));
    let Some(corpus) = corpus(&dir) else {
        println!("SKIPPED: the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display());
        return;
    };
    let pyhanko = pyhanko::python();
    if pyhanko.is_none() {
        println!("pyHanko is not installed (scripts/bootstrap.sh): timing ours only");
    }

    let work = tempfile::tempdir().expect("temp dir");
    let now = Timestamp::from_micros(1_795_329_000_000_000);
    let names = SealNames { instance: "bench.example.test".to_owned(), organization: "Bench".to_owned() };
    let made = identity::generate(&names, now, &attesta_core::entropy::SeededEntropy::new(1)).expect("identity");
    let chain = format!("{}{}", made.seal_pem, made.ca_pem);
    let identity = SealIdentity::from_pem(chain.as_bytes(), &made.seal_key_pem).expect("loads");
    let key = write(work.path(), "seal.key", made.seal_key_pem.as_bytes());
    let cert = write(work.path(), "seal.pem", made.seal_pem.as_bytes());
    let ca = write(work.path(), "ca.pem", made.ca_pem.as_bytes());

    let (ours_rounds, theirs_rounds) = if quick { (5, 3) } else { (30, 15) };
    println!("seal step, median (min) of {ours_rounds} rounds for ours, {theirs_rounds} for pyHanko\n");
    for target in [20, 100] {
        let (path, pages) = nearest(&corpus, target);
        let pdf = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        // Once untimed: warms caches and checks the result is a valid seal.
        let sealed = sign_pdf(&pdf, &identity, now).expect("sealed");
        let report = attesta_core::seal::verify_seal(&sealed, &[identity.anchors()[0].der.clone()]);
        assert!(report.is_valid(), "{report}");
        let ours = time(ours_rounds, || {
            sign_pdf(&pdf, &identity, now).expect("sealed");
        });
        let verify = time(ours_rounds, || {
            attesta_core::seal::verify_seal(&sealed, &[]);
        });
        println!("{name}: {pages} pages, {} KB", pdf.len() / 1024);
        println!("  ours     seal   {}", figures(&ours));
        println!("  ours     verify {}", figures(&verify));
        let Some(pyhanko) = &pyhanko else { continue };
        let input = write(work.path(), name, &pdf);
        let theirs = pyhanko::sign_in_process(pyhanko, &key, &cert, &ca, theirs_rounds, &input);
        println!("  pyHanko  seal   {}", figures(&theirs));
        println!(
            "  ratio (pyHanko / ours, medians): {:.0}x\n",
            median(&theirs).as_secs_f64() / median(&ours).as_secs_f64()
        );
    }
}

/// Every PDF of the corpus with a plain cross-reference table (pyHanko's strict reader refuses
/// some linearized ones outright), with its page count.
fn corpus(dir: &Path) -> Option<Vec<(PathBuf, u32)>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut out = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        if bytes[..bytes.len().min(1024)].windows(10).any(|w| w == b"Linearized") {
            continue;
        }
        if let Ok(meta) = lopdf::Document::load_metadata_mem(&bytes) {
            out.push((path, meta.page_count));
        }
    }
    out.sort();
    (!out.is_empty()).then_some(out)
}

fn nearest(corpus: &[(PathBuf, u32)], pages: u32) -> (PathBuf, u32) {
    corpus.iter().min_by_key(|(_, n)| n.abs_diff(pages)).cloned().expect("a file")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("written");
    path
}

fn time(rounds: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn figures(samples: &[Duration]) -> String {
    let min = samples.iter().min().copied().unwrap_or_default();
    format!("{:>9.2} ms ({:.2} ms)", median(samples).as_secs_f64() * 1e3, min.as_secs_f64() * 1e3)
}
