//! Verifying a sealed PDF together with its evidence: what `/verify` (in the browser) and
//! `attesta verify --pdf` run. One report covers all of it:
//!
//! - the evidence package: the one attached inside the PDF, or one given beside it (the mailed
//!   `attesta-evidence-<id>.json`, which also covers the seal event), checked by
//!   [`super::verify::verify_package`] against the log key;
//! - when both are given, that they are the same document and the attached one's events are
//!   the first events of the other;
//! - the file against the evidence: the original upload and the signed document are byte-exact
//!   prefixes of the sealed file (completion only appends), so their recorded lengths and hashes
//!   are checked by cutting the file there; with the seal event, the whole file's hash;
//! - the PAdES seal ([`crate::seal::verify_seal`]): the signature covers the whole file and
//!   chains to the instance's seal certificate authority.
//!
//! `Err` means nothing could be read (the CLI exits 2); otherwise the report says what holds.

use super::checkpoint::VerifierKey;
use super::event::EventRecord;
use super::hash::Sha256;
use super::package::{EvidencePackage, MAX_PACKAGE_BYTES, PackageError};
use super::verify::{Report, verify_package};
use lopdf::{Document, Object};

/// Attached evidence packages are named `attesta-evidence-<document id>.json`.
pub const PACKAGE_PREFIX: &str = "attesta-evidence-";

#[derive(Debug, thiserror::Error)]
pub enum SealedPdfError {
    #[error("not a readable PDF: {0}")]
    Unreadable(String),
    #[error("nothing to verify: give a sealed PDF, an evidence package, or both")]
    NoInput,
    #[error("the evidence package cannot be read: {0}")]
    Package(#[from] PackageError),
}

/// What to verify and against which keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub pdf: Option<&'a [u8]>,
    /// An evidence package given beside the PDF (JSON).
    pub package: Option<&'a [u8]>,
    /// The log's published key; without it the package's own key is used (and said so).
    pub log_key: Option<&'a VerifierKey>,
    /// DER certificates the seal must chain to; none: the seal is checked but not its issuer.
    pub seal_anchors: &'a [Vec<u8>],
}

/// The evidence package attached to a PDF, if it has one: the bytes of the first embedded
/// file named `attesta-evidence-….json`.
pub fn embedded_package(pdf: &[u8]) -> Result<Option<Vec<u8>>, SealedPdfError> {
    let doc = Document::load_mem(pdf).map_err(|e| SealedPdfError::Unreadable(e.to_string()))?;
    let Some(tree) = doc.catalog().ok().and_then(|c| c.get(b"Names").ok()).and_then(|n| deref(&doc, n)) else {
        return Ok(None);
    };
    let Some(files) = tree.as_dict().ok().and_then(|d| d.get(b"EmbeddedFiles").ok()) else { return Ok(None) };
    let mut entries = Vec::new();
    collect(&doc, files, &mut entries, 0);
    for (name, spec) in entries {
        let name = String::from_utf8_lossy(&name).into_owned();
        if !(name.starts_with(PACKAGE_PREFIX) && name.ends_with(".json")) {
            continue;
        }
        let stream = deref(&doc, &spec)
            .and_then(|s| s.as_dict().ok())
            .and_then(|s| s.get(b"EF").ok())
            .and_then(|ef| deref(&doc, ef))
            .and_then(|ef| ef.as_dict().ok())
            .and_then(|ef| ef.get(b"F").or_else(|_| ef.get(b"UF")).ok())
            .and_then(|f| deref(&doc, f))
            .and_then(|f| f.as_stream().ok());
        let Some(stream) = stream else { continue };
        return inflate(stream).map(Some);
    }
    Ok(None)
}

/// The stream's bytes, decompressed (Flate only, as we write it), at most the package limit.
fn inflate(stream: &lopdf::Stream) -> Result<Vec<u8>, SealedPdfError> {
    let filter = stream.dict.get(b"Filter").ok().and_then(|f| f.as_name().ok());
    match filter {
        None => Ok(stream.content.clone()),
        Some(b"FlateDecode") => {
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&stream.content, MAX_PACKAGE_BYTES).map_err(|_| {
                SealedPdfError::Package(PackageError::Json("the attached package does not decompress".into()))
            })
        }
        Some(other) => Err(SealedPdfError::Package(PackageError::Json(format!(
            "the attached package uses the unsupported filter {}",
            String::from_utf8_lossy(other)
        )))),
    }
}

fn deref<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn collect(doc: &Document, node: &Object, out: &mut Vec<(Vec<u8>, Object)>, depth: usize) {
    let Some(dict) = deref(doc, node).and_then(|n| n.as_dict().ok()) else { return };
    if depth > 32 {
        return;
    }
    if let Some(Object::Array(pairs)) = dict.get(b"Names").ok().and_then(|o| deref(doc, o)) {
        for pair in pairs.chunks(2) {
            if let [Object::String(key, _), value] = pair {
                out.push((key.clone(), value.clone()));
            }
        }
    }
    if let Some(Object::Array(kids)) = dict.get(b"Kids").ok().and_then(|o| deref(doc, o)) {
        for kid in kids {
            collect(doc, kid, out, depth + 1);
        }
    }
}

/// Runs every check; see the module docs.
pub fn verify_document(inputs: Inputs<'_>) -> Result<Report, SealedPdfError> {
    if inputs.pdf.is_none() && inputs.package.is_none() {
        return Err(SealedPdfError::NoInput);
    }
    let given = inputs.package.map(EvidencePackage::from_json).transpose()?;
    let mut report = Report::default();
    let embedded = match inputs.pdf {
        Some(pdf) => match embedded_package(pdf)? {
            Some(json) => match EvidencePackage::from_json(&json) {
                Ok(package) => {
                    report.add("embedded_package", vec![], Some(format!("{} events attached", package.events.len())));
                    Some(package)
                }
                Err(e) => {
                    report.add("embedded_package", vec![format!("the attached package cannot be read: {e}")], None);
                    None
                }
            },
            None if given.is_some() => {
                report.skip("embedded_package", "this PDF carries no evidence package; the given one is used".into());
                None
            }
            None => {
                report.add("embedded_package", vec!["this PDF carries no Attesta evidence package".into()], None);
                None
            }
        },
        None => None,
    };
    let Some(package) = given.as_ref().or(embedded.as_ref()) else {
        if let Some(pdf) = inputs.pdf {
            report.checks.extend(crate::seal::verify_seal(pdf, inputs.seal_anchors).checks);
        }
        return Ok(report);
    };
    report.checks.extend(verify_package(package, inputs.log_key).checks);
    if let (Some(given), Some(embedded)) = (&given, &embedded) {
        report.add(
            "packages_agree",
            agree(embedded, given),
            Some("the attached events begin the given package".into()),
        );
    }
    if let Some(pdf) = inputs.pdf {
        file_checks(&mut report, pdf, package);
        report.checks.extend(crate::seal::verify_seal(pdf, inputs.seal_anchors).checks);
    }
    Ok(report)
}

/// The attached package's events are the first events of the given one, the same document.
fn agree(embedded: &EvidencePackage, given: &EvidencePackage) -> Vec<String> {
    if embedded.document.id != given.document.id {
        return vec![format!(
            "the attached package is for document {} but the given one for {}",
            embedded.document.id, given.document.id
        )];
    }
    if embedded.events.len() > given.events.len() {
        return vec!["the attached package has more events than the given one".into()];
    }
    embedded
        .events
        .iter()
        .zip(&given.events)
        .enumerate()
        .filter(|(_, (a, b))| a.hash != b.hash)
        .map(|(i, _)| format!("event {i} differs between the attached and the given package"))
        .collect()
}

fn find<'a>(package: &'a EvidencePackage, event_type: &str) -> Option<&'a EventRecord> {
    package.events.iter().map(|e| &e.record).rfind(|r| r.event_type().as_str() == event_type)
}

fn size_in(record: &EventRecord, key: &str) -> Option<usize> {
    record.details().as_map().get(key).and_then(|v| v.as_u64()).and_then(|n| usize::try_from(n).ok())
}

/// The file against the evidence: recorded prefixes, and the whole file once sealed.
fn file_checks(report: &mut Report, pdf: &[u8], package: &EvidencePackage) {
    let prefix = |name: &'static str, report: &mut Report, record: Option<&EventRecord>, size_key: &str, what: &str| {
        match record.map(|r| (r, size_in(r, size_key))) {
            None => report.skip(name, format!("the evidence has no {what} yet")),
            Some((_, None)) => report.skip(name, format!("the evidence does not record the {what}'s length")),
            Some((_, Some(n))) if n > pdf.len() => {
                report.add(name, vec![format!("the {what} was {n} bytes, longer than this file ({})", pdf.len())], None)
            }
            Some((r, Some(n))) => {
                let found = Sha256::digest(&pdf[..n]);
                let failures = if &found == r.file_sha256() {
                    vec![]
                } else {
                    vec![format!("the first {n} bytes hash to {found}, not the {what}'s {}", r.file_sha256())]
                };
                report.add(
                    name,
                    failures,
                    Some(format!("the first {n} bytes are the {what}, SHA-256 {}", r.file_sha256())),
                );
            }
        }
    };
    prefix("original_file", report, find(package, "document.uploaded"), "size", "original upload");
    prefix("signed_file", report, find(package, "document.completed"), "signed_size", "signed document");
    match find(package, "document.sealed") {
        Some(sealed) => {
            let found = Sha256::digest(pdf);
            let failures = if &found == sealed.file_sha256() {
                vec![]
            } else {
                vec![format!("this file hashes to {found}, not the sealed file's {}", sealed.file_sha256())]
            };
            report.add("sealed_file", failures, Some(format!("SHA-256 {}", sealed.file_sha256())));
        }
        None => report.skip(
            "sealed_file",
            "the evidence attached to a sealed PDF ends before its seal: add the evidence package sent with it \
             to match the whole file"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_verify_is_an_error() {
        assert!(matches!(verify_document(Inputs::default()), Err(SealedPdfError::NoInput)));
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let inputs = Inputs { pdf: Some(b"%PDF-1.7 garbage"), ..Inputs::default() };
        assert!(matches!(verify_document(inputs), Err(SealedPdfError::Unreadable(_))));
        let inputs = Inputs { package: Some(b"{"), ..Inputs::default() };
        assert!(matches!(verify_document(inputs), Err(SealedPdfError::Package(_))));
    }
}
