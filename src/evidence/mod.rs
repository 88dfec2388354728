//! Evidence: the tamper-evident record of what happened to each document, and its verifier.
//!
//! Layers, each in its own module (the format is specified in `docs/EVIDENCE.md`):
//!
//! 1. [`event`]: an audit event's record and its canonical encoding (RFC 8785 JSON), with
//!    personal data kept out of every hash except through a salted commitment, so a retention
//!    purge leaves all evidence verifiable.
//! 2. [`chain`]: the per-document hash chain from a genesis hash, sequence numbers from 0.
//! 3. [`merkle`]: one global RFC 9162 Merkle log whose leaves are event hashes, with proofs
//!    computed from stored perfect-subtree nodes.
//! 4. [`checkpoint`]: C2SP signed-note checkpoints of the log, Ed25519, never signed unless
//!    consistent with the previous one.
//! 5. [`instance`]: the instance chain, one more chain in the same log for the instance's own
//!    administrative acts, with one typed details struct per kind of act.
//! 6. [`package`] and [`verify`]: the self-contained evidence package per document, and the one
//!    verifier that reports each check.
//!
//! Invariants across all of it: pure functions of their inputs, no clock, no randomness (salts
//! and key seeds come from the caller), no I/O; every hash is domain-separated ([`hash::tag`]);
//! every byte format has golden tests so it cannot change silently.

pub mod chain;
pub mod checkpoint;
pub mod event;
pub mod hash;
pub mod instance;
pub mod merkle;
pub mod package;
#[cfg(feature = "pdf")]
pub mod sealed;
pub mod verify;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod vectors;

pub use chain::{ChainError, ChainHead, Event, genesis_hash, verify_chain};
pub use checkpoint::{
    Checkpoint, CheckpointError, KeyName, LogSigner, VerifierKey, check_consistent, verify_checkpoint,
};
pub use event::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventError, EventId, EventRecord, EventType, GeoSource,
    Geolocation, Latitude, Longitude, NewEvent, PersonalData, Salt, Text,
};
pub use hash::{FileHasher, HashError, Sha256};
pub use instance::{Acting, INSTANCE_CHAIN_ID, InstanceEvent, instance_chain_id, no_file_sha256};
pub use merkle::{Frontier, MemoryTree, NodeId, NodeSource, ProofError};
pub use package::{EvidencePackage, PackageError, PackagedEvent};
pub use verify::{Report, Status, Verdict, verify_package, verify_package_json};
