//! pyHanko for the seal and completion benchmarks: signing warm and in process, timed inside one
//! Python process (`pyhanko_sign.py` beside this file), so Python's start-up is not counted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Python of pyHanko's venv (`ATTESTA_TEST_PYHANKO` names its `pyhanko` command), if present.
pub fn python() -> Option<PathBuf> {
    let pyhanko = std::env::var_os("ATTESTA_TEST_PYHANKO").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/attesta/venv-pyhanko/bin/pyhanko")
    });
    let python = pyhanko.with_file_name("python");
    python.is_file().then_some(python)
}

/// pyHanko's `sign_pdf` on `input` (an `IncrementalPdfFileWriter` over it in memory), once
/// untimed, then `rounds` timed times, with the PEM key, certificate and CA at these paths.
pub fn sign_in_process(
    python: &Path,
    key: &Path,
    cert: &Path,
    ca: &Path,
    rounds: usize,
    input: &Path,
) -> Vec<Duration> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/support/pyhanko_sign.py");
    let out = Command::new(python)
        .arg(script)
        .args([key, cert, ca])
        .arg(rounds.to_string())
        .arg(input)
        .output()
        .expect("pyhanko runs");
    assert!(out.status.success(), "pyhanko failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip(1)
        .map(|ms| Duration::from_secs_f64(ms.parse::<f64>().expect("a time in ms") / 1e3))
        .collect()
}
