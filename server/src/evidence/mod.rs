//! The evidence store: audit events, the global Merkle log and signed checkpoints in SQLite,
//! on top of the pure rules in `attesta_core::evidence`.
//!
//! Invariants: one writer (the sequencer in [`log`]) assigns log indices and sequence numbers,
//! inside a write transaction, so chains never fork and the log never has gaps; an append is
//! acknowledged only after its transaction committed with `synchronous=FULL`; a checkpoint is
//! signed only when consistent with the previous one, and stored with the proof of that; the
//! database refuses UPDATE and DELETE of events, nodes and checkpoints (migration 0002).

pub mod instance;
pub mod keys;
pub mod log;
pub mod verify;

pub use instance::InstanceLog;
pub use log::{Append, Appended, Effect, EffectError, EvidenceError, EvidenceLog, StoredCheckpoint};
