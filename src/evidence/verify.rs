//! The one verifier of evidence packages, shared by the server, the CLI and the browser (wasm).
//!
//! [`verify_package_json`] separates two outcomes: `Err` means the input could not be read as an
//! evidence package at all (the CLI exits 2); `Ok(report)` means it was read, and the report
//! says check by check whether it is genuine, and gives one [`Verdict`].
//!
//! Every check runs even after another fails, so a report shows all that is wrong, and each
//! failure says where ("event 3 (recipient.signed): hash mismatch"). Events are numbered by their
//! position in the package, from 0. A check with nothing to examine (personal data all purged,
//! no trusted key given) is skipped, not failed; but a skipped check that decides integrity
//! ([`DECISIVE`]) leaves the verdict [`Verdict::Unverified`], never valid.
//!
//! Trust: without a trusted key the package's own key is used, which proves only that whoever
//! holds that key vouched for the content. Pin the log's published key to exclude a forger who
//! re-signed everything with a key of their own.

use super::chain::genesis_hash;
use super::checkpoint::{Checkpoint, VerifierKey, open_note, unverified_note_text, verify_checkpoint};
use super::event::EventType;
use super::instance::{INSTANCE_CHAIN_ID, no_file_sha256};
use super::merkle::{log_leaf_hash, verify_inclusion};
use super::package::{DocumentHead, EvidencePackage, PackageError, PackagedEvent};
use serde::Serialize;
use std::fmt;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Nothing to check, e.g. every event's personal data was purged.
    Skip,
}

/// One named check, with what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// A stable, snake_case identifier, e.g. `hash_chain`.
    pub name: &'static str,
    pub status: Status,
    /// A note for a passed or skipped check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a failed check: each place it broke.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// The checks, in the order they ran.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

/// Checks that decide integrity: when one of them is skipped, nothing failed but nothing was
/// proven either. `key_pinned`: without a trusted log key anyone can re-sign a forged history;
/// `original_file` and `signed_file`: without them the PDF's bytes are not tied to the evidence.
pub const DECISIVE: [&str; 3] = ["key_pinned", "original_file", "signed_file"];

/// The one answer of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No check failed and no [`DECISIVE`] check was skipped.
    Valid,
    /// At least one check failed.
    Invalid,
    /// No check failed, but a [`DECISIVE`] check could not run.
    Unverified,
}

impl Report {
    /// The verdict: invalid when a check failed, unverified when a [`DECISIVE`] check was
    /// skipped, else valid.
    pub fn verdict(&self) -> Verdict {
        if !self.no_failures() {
            Verdict::Invalid
        } else if self.undecided().next().is_some() {
            Verdict::Unverified
        } else {
            Verdict::Valid
        }
    }

    /// True only for [`Verdict::Valid`].
    pub fn is_valid(&self) -> bool {
        self.verdict() == Verdict::Valid
    }

    /// True when no check failed (the verdict may still be [`Verdict::Unverified`]).
    pub fn no_failures(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The [`DECISIVE`] checks that were skipped.
    pub fn undecided(&self) -> impl Iterator<Item = &Check> + '_ {
        self.checks.iter().filter(|c| c.status == Status::Skip && DECISIVE.contains(&c.name))
    }

    /// Every failure as (check name, where it broke).
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.checks.iter().flat_map(|c| c.failures.iter().map(move |f| (c.name, f.as_str())))
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub(crate) fn add(&mut self, name: &'static str, failures: Vec<String>, detail: impl Into<Option<String>>) {
        let (status, detail) = if failures.is_empty() { (Status::Pass, detail.into()) } else { (Status::Fail, None) };
        self.checks.push(Check { name, status, detail, failures });
    }

    pub(crate) fn skip(&mut self, name: &'static str, why: String) {
        self.checks.push(Check { name, status: Status::Skip, detail: Some(why), failures: Vec::new() });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let status = match check.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            match &check.detail {
                Some(detail) => writeln!(f, "{status} {}: {detail}", check.name)?,
                None => writeln!(f, "{status} {}", check.name)?,
            }
            for failure in &check.failures {
                writeln!(f, "     {failure}")?;
            }
        }
        let failed = self.checks.iter().filter(|c| c.status == Status::Fail).count();
        match self.verdict() {
            Verdict::Valid => write!(f, "VALID: every check passed"),
            Verdict::Invalid => write!(f, "INVALID: {failed} of {} checks failed", self.checks.len()),
            Verdict::Unverified => {
                let skipped: Vec<&str> = self.undecided().map(|c| c.name).collect();
                write!(f, "NOT VERIFIED: no check failed, but {} could not run", skipped.join(", "))
            }
        }
    }
}

/// A sentence for each check name, for reports people read (the document page, `/verify`).
pub fn check_label(name: &str) -> Option<&'static str> {
    Some(match name {
        "log_key" => "The log's public key is readable",
        "key_pinned" => "The log key is the one this server publishes",
        "checkpoint_signature" => "The log checkpoint is signed by the log's key",
        "event_hashes" => "Each event's hash matches its content",
        "document_ids" => "Every event belongs to this document",
        "sequence_numbers" => "Events are numbered without gaps",
        "hash_chain" => "The events form one unbroken chain from the document's start",
        "document_head" => "The signed head covers the last event, so none were cut off",
        "personal_data" => "Personal data matches what each event committed to",
        "log_order" => "Events sit in the log in the order they happened",
        "inclusion_proofs" => "Every event is included in the signed log",
        "file_hashes" => "The document's file hashes agree with its events",
        "embedded_package" => "The PDF carries its evidence package",
        "packages_agree" => "The evidence inside the PDF begins the evidence package given",
        "original_file" => "The original upload is the start of this file, unchanged",
        "signed_file" => "The signed document is the start of this file, unchanged",
        "sealed_file" => "This file is the sealed file the evidence names",
        "seal_certificate" => "The last signature is this service's seal, made with the certificate the evidence names",
        // The seal's checks (`crate::seal::verify_seal`).
        "trust_anchors" => "The seal's trust anchors are readable certificates",
        "seal_present" => "The PDF carries a PAdES seal",
        "byte_range" => "The seal's signed ranges leave out only the signature itself",
        "whole_file" => "The seal covers the whole file: nothing was added after it",
        "signature_container" => "The seal's signature is a well-formed CMS container",
        "message_digest" => "The signed bytes are exactly the file's bytes",
        "seal_signature" => "The seal's signature verifies with the signer's key",
        "signing_certificate" => "The signature names the certificate that made it",
        "certificate_chain" => "The seal certificate chains to this service's seal authority",
        "timestamp" => "The timestamp covers this signature and is signed by its authority",
        "timestamp_trust" => "The timestamp authority is trusted",
        _ => return None,
    })
}

/// What a failed check means, for people who do not read certificates and hashes.
pub fn failure_meaning(name: &str) -> &'static str {
    match name {
        "log_key" | "checkpoint_signature" | "document_head" => {
            "The log's signature on the evidence is missing or wrong: the evidence may have been forged."
        }
        "key_pinned" => "The evidence was signed by another log than this service's: it does not come from here.",
        "event_hashes" | "hash_chain" | "document_ids" | "sequence_numbers" | "personal_data" => {
            "The history of the document was edited after it was recorded."
        }
        "log_order" | "inclusion_proofs" => {
            "Events are missing from the public log or were moved: the history was edited."
        }
        "file_hashes" | "original_file" | "signed_file" | "sealed_file" => {
            "The file's content is not what was uploaded and signed: it was changed."
        }
        "embedded_package" | "packages_agree" => "The evidence inside the PDF is missing or does not match.",
        "seal_present" | "signature_container" | "seal_signature" | "signing_certificate" => {
            "The PDF's seal is missing or broken."
        }
        "byte_range" | "whole_file" | "message_digest" => "The PDF was changed after it was sealed.",
        "seal_certificate" => {
            "The PDF was signed again after this service sealed it, or sealed by someone else: it was changed."
        }
        "certificate_chain" | "trust_anchors" => "The seal was not made by this service's seal authority.",
        "timestamp" | "timestamp_trust" => "The seal's timestamp is broken or from an unknown authority.",
        _ => "This check failed.",
    }
}

fn label(position: usize, event: &PackagedEvent) -> String {
    format!("event {position} ({})", event.record.event_type)
}

/// Reads and verifies a package. `Err` only when the input is unreadable; see the module docs.
pub fn verify_package_json(input: &[u8], trusted_key: Option<&VerifierKey>) -> Result<Report, PackageError> {
    EvidencePackage::from_json(input).map(|package| verify_package(&package, trusted_key))
}

/// Verifies a package that has been read. With `trusted_key`, that key is used instead of the
/// package's own, and the package's key must equal it.
pub fn verify_package(package: &EvidencePackage, trusted_key: Option<&VerifierKey>) -> Report {
    let mut report = Report::default();
    let events = &package.events;
    let document_id = &package.document.id;

    // Keys.
    let embedded = VerifierKey::parse(&package.log.verifier_key);
    match &embedded {
        Ok(key) => report.add("log_key", vec![], Some(key.to_string())),
        Err(e) => report.add("log_key", vec![format!("log.verifier_key: {e}")], None),
    }
    match (trusted_key, &embedded) {
        (None, _) => report.skip("key_pinned", "no trusted key given; the package's own key was used".into()),
        (Some(trusted), Ok(key)) if key == trusted => report.add("key_pinned", vec![], Some(trusted.to_string())),
        (Some(trusted), Ok(key)) => {
            report.add("key_pinned", vec![format!("the package's key {key} is not the trusted key {trusted}")], None)
        }
        (Some(_), Err(_)) => report.add("key_pinned", vec!["the package's key is unreadable".into()], None),
    }
    let key = trusted_key.or(embedded.as_ref().ok());

    // The checkpoint. When its signature fails, later checks still compare against what it says,
    // to show what else is wrong; this check has already failed the report.
    let checkpoint = match key.map(|key| verify_checkpoint(&package.log.checkpoint, key)) {
        Some(Ok(checkpoint)) => {
            let detail = format!("{}, tree size {}", checkpoint.origin(), checkpoint.size());
            report.add("checkpoint_signature", vec![], Some(detail));
            Some(checkpoint)
        }
        outcome => {
            let why = match outcome {
                Some(Err(e)) => format!("checkpoint: {e}"),
                _ => "no readable key to verify the checkpoint with".to_owned(),
            };
            report.add("checkpoint_signature", vec![why], None);
            unverified_note_text(&package.log.checkpoint).and_then(|text| Checkpoint::parse_text(text).ok())
        }
    };

    check_head(&mut report, package, key, checkpoint.as_ref());

    // The chain.
    let mut failures = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if event.record.hash() != event.hash {
            failures.push(format!("{}: hash mismatch", label(i, event)));
        }
    }
    report.add("event_hashes", failures, format!("{} events", events.len()));

    let failures = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.record.document_id != *document_id)
        .map(|(i, e)| format!("{}: belongs to document {}, not {document_id}", label(i, e), e.record.document_id))
        .collect();
    report.add("document_ids", failures, None);

    let failures = events
        .iter()
        .enumerate()
        .filter(|(i, e)| e.record.seq != *i as u64)
        .map(|(i, e)| format!("{}: sequence number {}, expected {i}", label(i, e), e.record.seq))
        .collect();
    report.add("sequence_numbers", failures, Some("contiguous from 0".to_owned()));

    let mut failures = Vec::new();
    let mut prev = genesis_hash(document_id);
    for (i, event) in events.iter().enumerate() {
        if event.record.prev_hash != prev {
            let what =
                if i == 0 { "does not start at the document's genesis hash" } else { "previous-hash link broken" };
            failures.push(format!("{}: {what}", label(i, event)));
        }
        prev = event.hash;
    }
    report.add("hash_chain", failures, None);

    check_personal_data(&mut report, events);
    check_log(&mut report, events, checkpoint.as_ref());
    check_file_hashes(&mut report, package);
    report
}

fn check_head(
    report: &mut Report,
    package: &EvidencePackage,
    key: Option<&VerifierKey>,
    checkpoint: Option<&Checkpoint>,
) {
    let Some(key) = key else {
        report.add("document_head", vec!["no readable key to verify the document head with".into()], None);
        return;
    };
    let head = open_note(&package.log.document_head, key)
        .map_err(|e| format!("document head: {e}"))
        .and_then(|text| DocumentHead::parse_text(text).map_err(|e| format!("document head: {e}")));
    let head = match head {
        Ok(head) => head,
        Err(why) => return report.add("document_head", vec![why], None),
    };
    let mut failures = Vec::new();
    if head.document_id != package.document.id {
        failures.push(format!("the head is for document {}, not {}", head.document_id, package.document.id));
    }
    if head.event_count != package.events.len() as u64 {
        failures.push(format!(
            "the log recorded {} events, the package has {}",
            head.event_count,
            package.events.len()
        ));
    }
    if package.events.last().map(|e| e.hash) != Some(head.head_hash) {
        failures.push("the last event is not the one the log recorded as the document's latest".to_owned());
    }
    match checkpoint {
        Some(c) if c.size() == head.tree_size && *c.root() == head.root => {}
        Some(_) => failures.push("the head was signed for a different checkpoint".to_owned()),
        None => failures.push("no readable checkpoint to compare the head with".to_owned()),
    }
    let detail = format!("{} events at tree size {}", head.event_count, head.tree_size);
    report.add("document_head", failures, Some(detail));
}

fn check_personal_data(report: &mut Report, events: &[PackagedEvent]) {
    let mut failures = Vec::new();
    let mut present = 0;
    for (i, event) in events.iter().enumerate() {
        match (&event.personal, &event.salt) {
            (Some(data), Some(salt)) => {
                present += 1;
                if data.commitment(salt) != event.record.personal_commitment {
                    failures.push(format!("{}: personal data does not match its commitment", label(i, event)));
                }
            }
            (Some(_), None) => failures.push(format!("{}: personal data without its salt", label(i, event))),
            (None, Some(_)) => failures.push(format!("{}: salt without personal data", label(i, event))),
            (None, None) => {}
        }
    }
    if failures.is_empty() && present == 0 {
        report.skip("personal_data", format!("purged from all {} events", events.len()));
    } else {
        let detail = if present == events.len() {
            format!("present in all {present} events, each matching its commitment")
        } else {
            format!("{present} of {} events carry personal data, each matching; the rest were purged", events.len())
        };
        report.add("personal_data", failures, Some(detail));
    }
}

fn check_log(report: &mut Report, events: &[PackagedEvent], checkpoint: Option<&Checkpoint>) {
    let mut failures = Vec::new();
    let mut previous: Option<u64> = None;
    for (i, event) in events.iter().enumerate() {
        if previous.is_some_and(|p| event.log_index <= p) {
            failures.push(format!(
                "{}: log index {} is not after the previous event's",
                label(i, event),
                event.log_index
            ));
        }
        if let Some(c) = checkpoint
            && event.log_index >= c.size()
        {
            failures.push(format!(
                "{}: log index {} is beyond the checkpoint's tree",
                label(i, event),
                event.log_index
            ));
        }
        previous = Some(event.log_index);
    }
    report.add("log_order", failures, None);

    let Some(checkpoint) = checkpoint else {
        report.add("inclusion_proofs", vec!["no readable checkpoint to verify the proofs against".into()], None);
        return;
    };
    let failures = events
        .iter()
        .enumerate()
        .filter_map(|(i, event)| {
            verify_inclusion(
                &log_leaf_hash(&event.hash),
                event.log_index,
                checkpoint.size(),
                &event.inclusion_proof,
                checkpoint.root(),
            )
            .err()
            .map(|e| format!("{}: inclusion proof does not verify ({e})", label(i, event)))
        })
        .collect();
    report.add("inclusion_proofs", failures, None);
}

fn check_file_hashes(report: &mut Report, package: &EvidencePackage) {
    let (Some(first), Some(last)) = (package.events.first(), package.events.last()) else {
        return report.add("file_hashes", vec!["the package has no events".into()], None);
    };
    let mut failures = Vec::new();
    let instance = package.document.id.as_str() == INSTANCE_CHAIN_ID;
    if instance {
        // The instance chain concerns no file: every event names the empty file.
        let none = no_file_sha256();
        for (i, event) in package.events.iter().enumerate() {
            if event.record.file_sha256 != none {
                failures.push(format!("{}: an instance event must name no file (SHA-256 of nothing)", label(i, event)));
            }
        }
    } else if first.record.event_type != EventType::DocumentUploaded {
        failures.push(format!("{}: the first event must be document.uploaded", label(0, first)));
    }
    if first.record.file_sha256 != package.document.original_sha256 {
        failures.push(format!("document.original_sha256 is not the file hash of {}", label(0, first)));
    }
    if last.record.file_sha256 != package.document.latest_sha256 {
        failures
            .push(format!("document.latest_sha256 is not the file hash of {}", label(package.events.len() - 1, last)));
    }
    report.add("file_hashes", failures, instance.then(|| "the instance chain: no file".to_owned()));
}

#[cfg(test)]
mod tests;
