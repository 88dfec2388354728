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
//!   chains to the instance's seal certificate authority;
//! - the seal against the evidence (`seal_certificate`): the last signature in the file was
//!   made with the seal certificate the log-signed evidence names (`seal_certificate_sha256` of
//!   `document.completed`, or of a later `document.seal_certificate` or `document.sealed`). This
//!   is what ties the seal to the log key alone: a file changed after sealing and signed again
//!   with any other certificate fails here, whether or not a seal authority was given.
//!
//! `Err` means nothing could be read (the CLI exits 2); otherwise the report says what holds,
//! and [`Summary`] what the files say (document, signers, seal, checkpoint) for people to read
//! beside the verdict.

use super::checkpoint::{Checkpoint, VerifierKey, unverified_note_text};
use super::event::{EventRecord, EventType};
use super::hash::Sha256;
use super::package::{EvidencePackage, MAX_PACKAGE_BYTES, PackageError};
use super::verify::{Report, verify_package};
use crate::Timestamp;
use crate::seal::SealFacts;
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
    verify_document_detailed(inputs).map(|v| v.report)
}

/// A verification: the checks and their verdict, and what the files say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub report: Report,
    pub summary: Summary,
}

/// What the verified files say, for people: which document, who signed it and when, who sealed
/// it, and which log checkpoint covers it. These are the files' own statements; the report's
/// verdict says whether they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub document_id: Option<String>,
    /// `document.uploaded`'s `details.title`.
    pub title: Option<String>,
    pub events: usize,
    /// Each `recipient.signed`, in order.
    pub signers: Vec<Signer>,
    /// `document.completed`'s time.
    pub completed: Option<Timestamp>,
    /// The seal the PDF carries (its last signature), when a PDF was given.
    pub seal: Option<SealFacts>,
    /// The checkpoint the evidence is proven against.
    pub checkpoint: Option<CheckpointFacts>,
}

/// One signature in the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// `details.recipient`.
    pub recipient: String,
    /// From the event's personal data; `None` once purged.
    pub name: Option<String>,
    pub email: Option<String>,
    pub signed_at: Timestamp,
}

/// The checkpoint's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFacts {
    /// The log's name (its origin line).
    pub origin: String,
    pub tree_size: u64,
}

impl Summary {
    fn of(package: &EvidencePackage) -> Self {
        let records = || package.events.iter().map(|e| &e.record);
        let title = find(package, "document.uploaded")
            .and_then(|r| r.details().as_map().get("title").and_then(|t| t.as_str()).map(str::to_owned));
        let signers = package
            .events
            .iter()
            .filter(|e| *e.record.event_type() == EventType::RecipientSigned)
            .map(|e| Signer {
                recipient: e
                    .record
                    .details()
                    .as_map()
                    .get("recipient")
                    .and_then(|r| r.as_str())
                    .unwrap_or("")
                    .to_owned(),
                name: e.personal.as_ref().and_then(|p| p.name.as_ref()).map(|n| n.as_str().to_owned()),
                email: e.personal.as_ref().and_then(|p| p.email.as_ref()).map(|n| n.as_str().to_owned()),
                signed_at: e.record.time(),
            })
            .collect();
        let checkpoint = unverified_note_text(&package.log.checkpoint)
            .and_then(|text| Checkpoint::parse_text(text).ok())
            .map(|c| CheckpointFacts { origin: c.origin().to_owned(), tree_size: c.size() });
        Self {
            document_id: Some(package.document.id.to_string()),
            title,
            events: package.events.len(),
            signers,
            completed: records().rfind(|r| *r.event_type() == EventType::DocumentCompleted).map(|r| r.time()),
            seal: None,
            checkpoint,
        }
    }
}

impl std::fmt::Display for Summary {
    /// What the files say, one fact a line, for the CLI above the checks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::seal::format_utc;
        let title = self.title.as_deref().unwrap_or("(untitled)");
        match &self.document_id {
            Some(id) => writeln!(f, "Document: {title} ({id}), {} events", self.events)?,
            None => writeln!(f, "Document: no evidence package")?,
        }
        for signer in &self.signers {
            let who = match (&signer.name, &signer.email) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (Some(n), None) => n.clone(),
                (None, Some(e)) => e.clone(),
                (None, None) => format!("recipient {} (personal data purged)", signer.recipient),
            };
            writeln!(f, "Signed by: {who} at {}", format_utc(signer.signed_at))?;
        }
        if let Some(at) = self.completed {
            writeln!(f, "Completed: {}", format_utc(at))?;
        }
        if let Some(seal) = &self.seal {
            let by = seal.signer_subject.as_deref().unwrap_or("no readable seal");
            let when = seal.signing_time.map(format_utc).unwrap_or_else(|| "an unstated time".into());
            write!(f, "Sealed by: {by} at {when}")?;
            match (&seal.timestamp, &seal.timestamp_authority) {
                (Some(t), Some(tsa)) => writeln!(f, ", timestamped {} by {tsa}", format_utc(*t))?,
                _ => writeln!(f, ", no timestamp authority")?,
            }
        }
        if let Some(c) = &self.checkpoint {
            writeln!(f, "Log checkpoint: {}, tree size {}", c.origin, c.tree_size)?;
        }
        Ok(())
    }
}

/// The event types whose `details.seal_certificate_sha256` names the instance's seal certificate.
const SEAL_NAMING: [&str; 3] = ["document.completed", "document.seal_certificate", "document.sealed"];

/// The seal certificate the evidence names: `seal_certificate_sha256` of the last event of a
/// type in [`SEAL_NAMING`], with that event's position. `None` when no such event names one.
pub fn named_seal_certificate(package: &EvidencePackage) -> Option<(Sha256, usize, &EventRecord)> {
    let (position, record) = package
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| (i, &e.record))
        .rfind(|(_, r)| SEAL_NAMING.contains(&r.event_type().as_str()))?;
    let text = record.details().as_map().get("seal_certificate_sha256")?.as_str()?;
    Sha256::parse_hex(text).ok().map(|sha| (sha, position, record))
}

/// The last signature against the certificate the evidence names.
fn check_seal_binding(report: &mut Report, package: &EvidencePackage, facts: &SealFacts) {
    let Some((named, position, record)) = named_seal_certificate(package) else {
        return report.add(
            "seal_certificate",
            vec![
                "the evidence names no seal certificate (no document.completed recording seal_certificate_sha256), \
                 so no signature in this file can be tied to the log"
                    .into(),
            ],
            None,
        );
    };
    let named_by = format!("event {position} ({})", record.event_type());
    let failures = match &facts.signer_certificate_sha256 {
        None => vec![format!("the file's last signature is not a readable seal to compare with {named_by}")],
        Some(found) if *found == named => vec![],
        Some(found) => vec![format!(
            "the last of the file's {} signature(s) was made by {} (certificate SHA-256 {found}), not with the seal \
             certificate {named_by} names ({named}): the file was signed again after it was sealed, or sealed elsewhere",
            facts.signatures,
            facts.signer_subject.as_deref().unwrap_or("an unknown signer"),
        )],
    };
    let detail = format!("certificate SHA-256 {named}, named by {named_by}; nothing was signed after it");
    report.add("seal_certificate", failures, Some(detail));
}

/// [`verify_document`], with the [`Summary`] of what was verified.
pub fn verify_document_detailed(inputs: Inputs<'_>) -> Result<Verification, SealedPdfError> {
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
        let mut summary = Summary::default();
        if let Some(pdf) = inputs.pdf {
            let seal = crate::seal::verify_seal_detailed(pdf, inputs.seal_anchors);
            report.checks.extend(seal.report.checks);
            // Without evidence nothing names the instance's seal: that is a failure, not a skip.
            report.add("seal_certificate", vec!["no evidence names a seal certificate to compare with".into()], None);
            summary.seal = Some(seal.facts);
        }
        return Ok(Verification { report, summary });
    };
    let mut summary = Summary::of(package);
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
        let seal = crate::seal::verify_seal_detailed(pdf, inputs.seal_anchors);
        report.checks.extend(seal.report.checks);
        check_seal_binding(&mut report, package, &seal.facts);
        summary.seal = Some(seal.facts);
    }
    Ok(Verification { report, summary })
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
