//! The evidence package: one self-contained JSON document per document that anyone can verify
//! offline, with nothing from the server, long after the server purged or pruned its data.
//!
//! Modelled on `c2sp.org/tlog-proof@v1`: every event of the document with its log index and an
//! inclusion proof against one signed checkpoint, the checkpoint note, and the log's verifier
//! key. One addition closes the gap a plain tlog proof leaves for a *sequence* of entries: the
//! *document head*, a note signed by the same log key stating the document's event count and
//! last event hash at that checkpoint. Without it, dropping the last events of a package would
//! leave a shorter package that still verifies.
//!
//! Invariants: the package is plain data and is trusted for nothing; [`super::verify`] checks
//! every field. [`EvidencePackage::assemble`] refuses to build a package that does not verify.

use super::chain::Event;
use super::checkpoint::{CheckpointError, LogSigner, verify_checkpoint};
use super::event::{DocumentId, EventRecord, PersonalData, Salt};
use super::hash::Sha256;
use super::merkle::{self, NodeId, NodeSource, ProofError};
use super::verify::verify_package;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The format this code writes and the only one it reads.
pub const FORMAT: &str = "attesta/evidence@v1";
/// First line of a document-head note.
pub const HEAD_NOTE_TAG: &str = "attesta/v1/document-head";
/// Largest package accepted, in bytes.
pub const MAX_PACKAGE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("not a readable evidence package: {0}")]
    Json(String),
    #[error("unsupported evidence package format {0:?} (this verifier reads {FORMAT:?})")]
    UnsupportedFormat(String),
    #[error("the package is larger than {MAX_PACKAGE_BYTES} bytes")]
    TooLarge,
    #[error("the package has no events")]
    NoEvents,
    #[error("the events belong to more than one document")]
    MixedDocuments,
    #[error("malformed document head: {0}")]
    MalformedHead(&'static str),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("the assembled package does not verify: {0}")]
    SelfCheckFailed(String),
}

/// An evidence package as it travels: JSON, every field checked by the verifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidencePackage {
    /// Always [`FORMAT`].
    pub format: String,
    pub document: DocumentSummary,
    pub log: LogSection,
    /// Every event of the document, in sequence order.
    pub events: Vec<PackagedEvent>,
}

/// What the package says about the document; each value must agree with the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSummary {
    pub id: DocumentId,
    /// SHA-256 of the file as uploaded: the first event's file hash.
    pub original_sha256: Sha256,
    /// SHA-256 of the file as of the last event (the sealed PDF once sealed).
    pub latest_sha256: Sha256,
}

/// The log's statements: its key, a signed checkpoint, and the signed document head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// Verifier key text, `<name>+<hex id>+base64(0x01 || key)`.
    pub verifier_key: String,
    /// The checkpoint note, signatures included.
    pub checkpoint: String,
    /// The document-head note, signatures included.
    pub document_head: String,
}

/// One event with its place in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagedEvent {
    pub record: EventRecord,
    pub hash: Sha256,
    /// Absent once purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<PersonalData>,
    /// Absent once purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<Salt>,
    pub log_index: u64,
    /// RFC 9162 inclusion proof of the event's leaf in the checkpoint's tree, bottom-up.
    pub inclusion_proof: Vec<Sha256>,
}

/// The log's statement of where one document's chain ended at one checkpoint.
///
/// Note text: `attesta/v1/document-head\n<document id>\n<event count>\n<hex last event hash>\n
/// <tree size>\n<hex root>\n`, signed with the log key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentHead {
    pub document_id: DocumentId,
    pub event_count: u64,
    pub head_hash: Sha256,
    pub tree_size: u64,
    pub root: Sha256,
}

impl DocumentHead {
    pub fn to_text(&self) -> String {
        format!(
            "{HEAD_NOTE_TAG}\n{}\n{}\n{}\n{}\n{}\n",
            self.document_id, self.event_count, self.head_hash, self.tree_size, self.root
        )
    }

    pub fn parse_text(text: &str) -> Result<Self, PackageError> {
        let body = text.strip_suffix('\n').ok_or(PackageError::MalformedHead("must end with a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [tag, document_id, event_count, head_hash, tree_size, root] = lines[..] else {
            return Err(PackageError::MalformedHead("expected six lines"));
        };
        if tag != HEAD_NOTE_TAG {
            return Err(PackageError::MalformedHead("not a document head"));
        }
        let decimal = super::checkpoint::parse_decimal;
        Ok(Self {
            document_id: DocumentId::parse(document_id).map_err(|_| PackageError::MalformedHead("document id"))?,
            event_count: decimal(event_count).ok_or(PackageError::MalformedHead("event count"))?,
            head_hash: Sha256::parse_hex(head_hash).map_err(|_| PackageError::MalformedHead("head hash"))?,
            tree_size: decimal(tree_size).ok_or(PackageError::MalformedHead("tree size"))?,
            root: Sha256::parse_hex(root).map_err(|_| PackageError::MalformedHead("root"))?,
        })
    }
}

impl EvidencePackage {
    /// The perfect log nodes needed to prove these log indices at `tree_size`, each once: fetch
    /// them into a map and pass it to [`EvidencePackage::assemble`].
    pub fn proof_nodes(indices: &[u64], tree_size: u64) -> Result<Vec<NodeId>, PackageError> {
        let mut nodes = BTreeSet::new();
        for &index in indices {
            nodes.extend(merkle::inclusion_proof_nodes(index, tree_size)?);
        }
        Ok(nodes.into_iter().collect())
    }

    /// Builds the package for one document: `events` are all its events in sequence order, each
    /// with its log index; `checkpoint_note` is a checkpoint signed by `signer` whose tree holds
    /// every one of them; `nodes` gives the log's perfect nodes (see
    /// [`EvidencePackage::proof_nodes`]). Signs the document head, then verifies the result and
    /// refuses to return a package that would not verify.
    pub fn assemble(
        events: Vec<(Event, u64)>,
        checkpoint_note: &str,
        nodes: &(impl NodeSource + ?Sized),
        signer: &LogSigner,
    ) -> Result<Self, PackageError> {
        let (first, _) = events.first().ok_or(PackageError::NoEvents)?;
        let (last, _) = events.last().ok_or(PackageError::NoEvents)?;
        let document_id = first.record.document_id.clone();
        if events.iter().any(|(e, _)| e.record.document_id != document_id) {
            return Err(PackageError::MixedDocuments);
        }
        let checkpoint = verify_checkpoint(checkpoint_note, signer.verifier_key())?;
        let head = DocumentHead {
            document_id: document_id.clone(),
            event_count: events.len() as u64,
            head_hash: last.hash,
            tree_size: checkpoint.size(),
            root: *checkpoint.root(),
        };
        let document = DocumentSummary {
            id: document_id,
            original_sha256: first.record.file_sha256,
            latest_sha256: last.record.file_sha256,
        };
        let log = LogSection {
            verifier_key: signer.verifier_key().to_string(),
            checkpoint: checkpoint_note.to_owned(),
            document_head: signer.sign_note(&head.to_text())?,
        };
        let events = events
            .into_iter()
            .map(|(event, log_index)| {
                Ok(PackagedEvent {
                    inclusion_proof: merkle::inclusion_proof(nodes, log_index, checkpoint.size())?,
                    record: event.record,
                    hash: event.hash,
                    personal: event.personal,
                    salt: event.salt,
                    log_index,
                })
            })
            .collect::<Result<Vec<_>, PackageError>>()?;
        let package = Self { format: FORMAT.to_owned(), document, log, events };
        let report = verify_package(&package, Some(signer.verifier_key()));
        if !report.is_valid() {
            let failures: Vec<String> = report.failures().map(|(check, what)| format!("{check}: {what}")).collect();
            return Err(PackageError::SelfCheckFailed(failures.join("; ")));
        }
        Ok(package)
    }

    /// Reads a package. Unreadable input (not JSON, wrong shape, unknown fields, malformed
    /// values, unsupported format, no events) is an error; whether the content is genuine is
    /// for [`super::verify::verify_package`] to say.
    pub fn from_json(input: &[u8]) -> Result<Self, PackageError> {
        if input.len() > MAX_PACKAGE_BYTES {
            return Err(PackageError::TooLarge);
        }
        if input.starts_with(b"\xEF\xBB\xBF") {
            return Err(PackageError::Json(
                "the package starts with a byte order mark (U+FEFF): it must be UTF-8 JSON without one".into(),
            ));
        }
        // serde would keep the last of two members with the same name, another reader the
        // first: the same bytes would verify differently, so such input is unreadable.
        serde_json::from_slice::<strict::NoDuplicates>(input).map_err(|e| PackageError::Json(e.to_string()))?;
        // Read the format first, so a newer package gets a clear answer rather than a schema error.
        #[derive(Deserialize)]
        struct FormatOnly {
            format: String,
        }
        let probe: FormatOnly = serde_json::from_slice(input).map_err(|e| PackageError::Json(e.to_string()))?;
        if probe.format != FORMAT {
            return Err(PackageError::UnsupportedFormat(probe.format));
        }
        let package: Self = serde_json::from_slice(input).map_err(|e| PackageError::Json(e.to_string()))?;
        if package.events.is_empty() {
            return Err(PackageError::NoEvents);
        }
        Ok(package)
    }

    /// Pretty-printed JSON, for people and files.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("evidence types serialise to JSON without fail")
    }

    /// JSON without whitespace.
    pub fn to_json_compact(&self) -> String {
        serde_json::to_string(self).expect("evidence types serialise to JSON without fail")
    }

    /// Removes all personal data and salts (retention purge); the package still verifies.
    pub fn purge_personal_data(&mut self) {
        for event in &mut self.events {
            event.personal = None;
            event.salt = None;
        }
    }
}

/// A walk over any JSON value that refuses an object with two members of the same name (after
/// unescaping, so `"a"` and `"\u0061"` are the same name).
mod strict {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
    use std::collections::BTreeSet;
    use std::fmt;

    pub struct NoDuplicates;

    impl<'de> Deserialize<'de> for NoDuplicates {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Walk)
        }
    }

    struct Walk;

    impl<'de> Visitor<'de> for Walk {
        type Value = NoDuplicates;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_str<E: Error>(self, _: &str) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_unit<E: Error>(self) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
            while seq.next_element::<NoDuplicates>()?.is_some() {}
            Ok(NoDuplicates)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
            let mut seen = BTreeSet::new();
            while let Some(name) = map.next_key::<String>()? {
                if !seen.insert(name.clone()) {
                    return Err(A::Error::custom(format!("duplicate member name {name:?}")));
                }
                map.next_value::<NoDuplicates>()?;
            }
            Ok(NoDuplicates)
        }
    }
}
