//! The per-document hash chain: each event points at the hash of the one before it.
//!
//! Invariants: a document's events have sequence numbers 0, 1, 2, … with no gaps; the first
//! event's `prev_hash` is the document's genesis hash `SHA-256("attesta/v1/genesis" || 0x00 ||
//! document id)`, and every later event's `prev_hash` is the hash of the event before it. So
//! changing, dropping, inserting or reordering any event breaks every link after it, and no event
//! can be moved to another document. The chain gives order and completeness per document; the
//! global log ([`super::merkle`]) and signed checkpoints pin the chain in time.

use super::event::{DocumentId, EventError, EventRecord, MAX_SAFE_INTEGER, NewEvent, PersonalData, Salt};
use super::hash::{Sha256, tag, tagged};
use super::merkle;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("the document's sequence numbers are exhausted")]
    SequenceExhausted,
    #[error("event {position}: belongs to document {found}, not {expected}")]
    WrongDocument { position: usize, found: DocumentId, expected: DocumentId },
    #[error("event {position}: sequence number {found}, expected {position}")]
    SequenceGap { position: usize, found: u64 },
    #[error("event {position}: previous-hash link broken")]
    BrokenLink { position: usize },
    #[error("event {position}: hash mismatch")]
    HashMismatch { position: usize },
    #[error("event {position}: personal data does not match its commitment")]
    CommitmentMismatch { position: usize },
    #[error("event {position}: personal data and salt must be both present or both purged")]
    HalfPurged { position: usize },
}

/// Where a document's chain starts: `SHA-256("attesta/v1/genesis" || 0x00 || document id)`.
pub fn genesis_hash(document_id: &DocumentId) -> Sha256 {
    tagged(tag::GENESIS, &[document_id.as_str().as_bytes()])
}

/// One event as stored: its record, its hash and, until a retention purge, its personal data
/// and the salt of the commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub(crate) record: EventRecord,
    pub(crate) hash: Sha256,
    pub(crate) personal: Option<PersonalData>,
    pub(crate) salt: Option<Salt>,
}

impl Event {
    /// Rebuilds an event from storage, recomputing its hash and checking its commitment, so a
    /// corrupted row is noticed when it is read. Give both personal data and salt, or neither
    /// (after a purge).
    pub fn from_stored(
        record: EventRecord,
        personal: Option<PersonalData>,
        salt: Option<Salt>,
    ) -> Result<Self, ChainError> {
        let position = usize::try_from(record.seq).unwrap_or(usize::MAX);
        match (&personal, &salt) {
            (Some(data), Some(salt)) if data.commitment(salt) != record.personal_commitment => {
                return Err(ChainError::CommitmentMismatch { position });
            }
            (Some(_), None) | (None, Some(_)) => return Err(ChainError::HalfPurged { position }),
            _ => {}
        }
        let hash = record.hash();
        Ok(Self { record, hash, personal, salt })
    }

    pub fn record(&self) -> &EventRecord {
        &self.record
    }

    /// The event hash, which is also the leaf data of the global log.
    pub fn hash(&self) -> &Sha256 {
        &self.hash
    }

    /// The leaf hash in the global log: `SHA-256(0x00 || event hash)`.
    pub fn leaf_hash(&self) -> Sha256 {
        merkle::log_leaf_hash(&self.hash)
    }

    pub fn personal(&self) -> Option<&PersonalData> {
        self.personal.as_ref()
    }

    pub fn salt(&self) -> Option<&Salt> {
        self.salt.as_ref()
    }

    /// Drops the personal data and its salt (retention purge). Hashes and proofs are unaffected.
    pub fn purge_personal_data(&mut self) {
        self.personal = None;
        self.salt = None;
    }
}

/// The end of one document's chain: what the server needs to append the next event. Load it
/// from the last stored event ([`ChainHead::after`]) or start a new document with
/// [`ChainHead::genesis`], inside the same transaction that inserts the new event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    document_id: DocumentId,
    next_seq: u64,
    head: Sha256,
}

impl ChainHead {
    /// A document with no events yet.
    pub fn genesis(document_id: DocumentId) -> Self {
        let head = genesis_hash(&document_id);
        Self { document_id, next_seq: 0, head }
    }

    /// The chain after its last event.
    pub fn after(last: &Event) -> Self {
        Self { document_id: last.record.document_id.clone(), next_seq: last.record.seq + 1, head: last.hash }
    }

    /// The chain from stored columns: the next sequence number and the last event's hash.
    pub fn resume(document_id: DocumentId, next_seq: u64, head: Sha256) -> Self {
        Self { document_id, next_seq, head }
    }

    pub fn document_id(&self) -> &DocumentId {
        &self.document_id
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The hash the next event will point at.
    pub fn head(&self) -> &Sha256 {
        &self.head
    }

    /// Builds the next event: commits to `personal` with `salt` (32 fresh random bytes from the
    /// server's random source, never reused), links it to the head, hashes it, and advances.
    /// On error the head is left as it was, so the caller can go on with the next event.
    pub fn append(&mut self, event: NewEvent, personal: PersonalData, salt: Salt) -> Result<Event, ChainError> {
        if self.next_seq > MAX_SAFE_INTEGER {
            return Err(ChainError::SequenceExhausted);
        }
        let commitment = personal.commitment(&salt);
        let record = EventRecord::new(self.document_id.clone(), self.next_seq, self.head, commitment, event)?;
        let hash = record.hash();
        self.next_seq += 1;
        self.head = hash;
        Ok(Event { record, hash, personal: Some(personal), salt: Some(salt) })
    }
}

/// Checks a whole chain as the server holds it: every event belongs to `document_id`, sequence
/// numbers run 0, 1, 2, …, each hash recomputes, each link holds, and each commitment matches
/// where the personal data is still present. Returns the first problem found.
pub fn verify_chain(document_id: &DocumentId, events: &[Event]) -> Result<(), ChainError> {
    let mut prev = genesis_hash(document_id);
    for (position, event) in events.iter().enumerate() {
        let record = &event.record;
        if record.document_id != *document_id {
            return Err(ChainError::WrongDocument {
                position,
                found: record.document_id.clone(),
                expected: document_id.clone(),
            });
        }
        if usize::try_from(record.seq) != Ok(position) {
            return Err(ChainError::SequenceGap { position, found: record.seq });
        }
        if record.hash() != event.hash {
            return Err(ChainError::HashMismatch { position });
        }
        if record.prev_hash != prev {
            return Err(ChainError::BrokenLink { position });
        }
        match (&event.personal, &event.salt) {
            (Some(data), Some(salt)) if data.commitment(salt) != record.personal_commitment => {
                return Err(ChainError::CommitmentMismatch { position });
            }
            (Some(_), None) | (None, Some(_)) => return Err(ChainError::HalfPurged { position }),
            _ => {}
        }
        prev = event.hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::event::{Actor, ActorKind, Details, EventId, EventType, Text};
    use crate::time::Timestamp;

    fn doc() -> DocumentId {
        DocumentId::parse("doc-1").expect("id")
    }

    fn new_event(i: u64, event_type: EventType) -> NewEvent {
        NewEvent {
            event_id: EventId::parse(&format!("evt-{i}")).expect("id"),
            event_type,
            time: Timestamp::from_micros(1_700_000_000_000_000 + i as i64),
            actor: Actor { kind: ActorKind::System, id: None },
            file_sha256: Sha256::digest(b"file"),
            client_file_sha256: None,
            details: Details::empty(),
        }
    }

    fn personal(i: u64) -> PersonalData {
        PersonalData { email: Some(Text::new(format!("p{i}@example.com")).expect("text")), ..PersonalData::none() }
    }

    fn chain(n: u64) -> Vec<Event> {
        let mut head = ChainHead::genesis(doc());
        (0..n)
            .map(|i| {
                head.append(new_event(i, EventType::RecipientViewed), personal(i), Salt::from_bytes([i as u8; 32]))
                    .expect("append")
            })
            .collect()
    }

    #[test]
    fn appended_events_form_a_valid_chain_from_genesis() {
        let events = chain(5);
        assert_eq!(events[0].record.prev_hash, genesis_hash(&doc()));
        assert_eq!(events[3].record.prev_hash, events[2].hash);
        assert_eq!(verify_chain(&doc(), &events), Ok(()));
    }

    #[test]
    fn resuming_from_the_last_event_continues_the_same_chain() {
        let events = chain(3);
        let mut resumed = ChainHead::after(&events[2]);
        let from_columns = ChainHead::resume(doc(), 3, events[2].hash);
        assert_eq!(resumed, from_columns);
        let next = resumed.append(new_event(3, EventType::DocumentCompleted), personal(3), Salt::from_bytes([9; 32]));
        let mut all = events;
        all.push(next.expect("append"));
        assert_eq!(verify_chain(&doc(), &all), Ok(()));
    }

    #[test]
    fn a_chain_verifies_after_its_personal_data_is_purged() {
        let mut events = chain(4);
        for event in &mut events {
            event.purge_personal_data();
        }
        assert_eq!(verify_chain(&doc(), &events), Ok(()));
    }

    #[test]
    fn each_kind_of_break_is_reported_where_it_happens() {
        let events = chain(4);
        let mut dropped = events.clone();
        dropped.remove(1);
        assert_eq!(verify_chain(&doc(), &dropped), Err(ChainError::SequenceGap { position: 1, found: 2 }));

        let mut swapped = events.clone();
        swapped.swap(1, 2);
        assert_eq!(verify_chain(&doc(), &swapped), Err(ChainError::SequenceGap { position: 1, found: 2 }));

        let mut wrong_data = events.clone();
        wrong_data[2].personal = Some(personal(99));
        assert_eq!(verify_chain(&doc(), &wrong_data), Err(ChainError::CommitmentMismatch { position: 2 }));

        let mut half = events.clone();
        half[1].salt = None;
        assert_eq!(verify_chain(&doc(), &half), Err(ChainError::HalfPurged { position: 1 }));

        let mut edited = events.clone();
        edited[3].record.time = Timestamp::from_micros(0);
        assert_eq!(verify_chain(&doc(), &edited), Err(ChainError::HashMismatch { position: 3 }));

        let other = DocumentId::parse("doc-2").expect("id");
        assert!(matches!(verify_chain(&other, &events), Err(ChainError::WrongDocument { position: 0, .. })));
    }

    #[test]
    fn rebuilding_from_storage_refuses_a_commitment_that_does_not_match() {
        let events = chain(1);
        let record = events[0].record.clone();
        let ok = Event::from_stored(record.clone(), Some(personal(0)), Some(Salt::from_bytes([0; 32])));
        assert_eq!(ok.as_ref().map(|e| e.hash), Ok(events[0].hash));
        assert!(Event::from_stored(record.clone(), Some(personal(1)), Some(Salt::from_bytes([0; 32]))).is_err());
        assert!(Event::from_stored(record.clone(), Some(personal(0)), None).is_err());
        assert!(Event::from_stored(record, None, None).is_ok());
    }
}
