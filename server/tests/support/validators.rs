//! The independent PDF validators the tests run: pyHanko (from the venv `scripts/bootstrap.sh`
//! makes), poppler's `pdfsig` and `qpdf`. Shared by `tests/seal.rs` and the API tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Present validators; `None` (after saying why) when they are missing and not required.
pub struct Validators {
    pub pyhanko: PathBuf,
}

/// Whether a missing validator fails the test instead of skipping it: under CI (`CI` set), or
/// when `ATTESTA_TEST_REQUIRE_VALIDATORS=1`.
pub fn required() -> bool {
    std::env::var("ATTESTA_TEST_REQUIRE_VALIDATORS").is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some()
}

/// Whether a missing test service (MailDev, S3, the TSA, the identity provider) fails the test
/// instead of skipping it: under CI, or when `ATTESTA_TEST_REQUIRE_SERVICES=1`.
pub fn services_required() -> bool {
    std::env::var("ATTESTA_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some()
}

pub fn validators() -> Option<Validators> {
    let pyhanko = std::env::var_os("ATTESTA_TEST_PYHANKO").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/attesta/venv-pyhanko/bin/pyhanko")
    });
    let mut missing = Vec::new();
    if !pyhanko.is_file() {
        missing.push(format!("pyHanko ({})", pyhanko.display()));
    }
    for tool in ["pdfsig", "qpdf"] {
        if Command::new(tool).arg("--version").output().is_err() {
            missing.push(tool.to_owned());
        }
    }
    if missing.is_empty() {
        return Some(Validators { pyhanko });
    }
    let message = format!("missing PDF validators: {} (scripts/bootstrap.sh installs them)", missing.join(", "));
    assert!(!required(), "{message}");
    eprintln!("SKIPPED: {message}");
    None
}

/// How strictly pyHanko reads the file's syntax.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Strict,
    /// `--no-strict-syntax`, for inputs pyHanko's strict reader refuses before any signature.
    Lenient,
}

/// pyHanko's verdict: (exit status success, pretty-printed report).
pub fn pyhanko(validators: &Validators, pdf: &Path, trust: &[&Path]) -> (bool, String) {
    pyhanko_with(validators, pdf, trust, Syntax::Strict)
}

pub fn pyhanko_with(validators: &Validators, pdf: &Path, trust: &[&Path], syntax: Syntax) -> (bool, String) {
    let mut command = Command::new(&validators.pyhanko);
    command.args(["sign", "validate", "--pretty-print", "--trust-replace"]);
    if syntax == Syntax::Lenient {
        command.arg("--no-strict-syntax");
    }
    for anchor in trust {
        command.arg("--trust").arg(anchor);
    }
    let out = command.arg(pdf).output().expect("pyhanko runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

pub fn pdfsig(pdf: &Path) -> String {
    let out = Command::new("pdfsig").arg("-nocert").arg(pdf).output().expect("pdfsig runs");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn qpdf_check(pdf: &Path) -> (bool, String) {
    let out = Command::new("qpdf").arg("--check").arg(pdf).output().expect("qpdf runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
