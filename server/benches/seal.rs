//! Sealing a PDF, with figures printed (no assertions on time): our PAdES seal step against
//! pyHanko signing the same PDF with the same key and certificate.
//!
//! Two real contracts from the CUAD corpus (`../shared/corpus/cuad/pdf`, or `ATTESTA_CUAD_DIR`),
//! the ones nearest 20 and 100 pages. Ours is timed in process (the incremental update, hashing,
//! the ECDSA signature, the CMS); pyHanko as the command a server would run,
//! `pyhanko sign addsig --field Sig1 pemder --key .. --cert .. --no-pass in out` (so its figure
//! includes starting Python, which is part of what calling it costs). Neither has a timestamp.
//!
//! `cargo bench -p attesta-server --bench seal` (add `-- --quick` for fewer rounds).

use attesta_core::Timestamp;
use attesta_server::seal::identity::{self, SealIdentity, SealNames};
use attesta_server::seal::pades::sign_pdf;
use std::path::{Path, PathBuf};
use std::process::Command;
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
    let pyhanko = std::env::var_os("ATTESTA_TEST_PYHANKO").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/attesta/venv-pyhanko/bin/pyhanko")
    });
    let pyhanko = pyhanko.is_file().then_some(pyhanko);
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

    let (ours_rounds, theirs_rounds) = if quick { (5, 2) } else { (30, 5) };
    println!("seal step, median (min) of {ours_rounds} rounds for ours, {theirs_rounds} for pyHanko\n");
    if let Some(pyhanko) = &pyhanko {
        // How much of pyHanko's figure is starting Python and importing it.
        let start_up = time(theirs_rounds, || {
            Command::new(pyhanko).arg("--version").output().expect("pyhanko runs");
        });
        println!("pyHanko start-up alone (pyhanko --version): {}\n", figures(&start_up));
    }
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
        let output = work.path().join(format!("pyhanko-{name}"));
        let theirs = time(theirs_rounds, || {
            let _ = std::fs::remove_file(&output);
            let status = Command::new(pyhanko)
                .args(["sign", "addsig", "--field", "Sig1", "pemder", "--key"])
                .arg(&key)
                .arg("--cert")
                .arg(&cert)
                .arg("--chain")
                .arg(&ca)
                .arg("--no-pass")
                .arg(&input)
                .arg(&output)
                .output()
                .expect("pyhanko runs");
            assert!(status.status.success(), "pyhanko failed: {}", String::from_utf8_lossy(&status.stderr));
        });
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
