//! `attesta log verify`: re-derives the whole stored log from its events and checks everything
//! the server ever signed, without trusting any stored hash.
//!
//! It recomputes every event hash from its record, every per-document chain link, every personal
//! data commitment still present, every perfect node of the Merkle tree (compared with the stored
//! ones), and for every checkpoint: its signature, that its root is the recomputed root at its
//! size, and that its stored consistency proof links it to the checkpoint before. The instance
//! chain is one chain among the documents' (checked alike), and its events must name no file.

use super::log::{EventRow, EvidenceError, SELECT_EVENTS, stored_checkpoint};
use attesta_core::evidence::{
    ChainHead, DocumentId, Event, MemoryTree, NodeId, NodeSource, Sha256, VerifierKey, merkle, verify_checkpoint,
};
use rayon::prelude::*;
use sqlx::AnyPool;
use std::collections::HashMap;

const PAGE: i64 = 10_000;

/// One finding of the verification.
#[derive(Debug, Clone)]
pub struct Finding {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct LogReport {
    pub events: u64,
    pub checkpoints: u64,
    pub findings: Vec<Finding>,
}

impl LogReport {
    pub fn is_valid(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    fn pass(&mut self, check: &'static str, detail: String) {
        self.findings.push(Finding { check, ok: true, detail });
    }

    fn fail(&mut self, check: &'static str, detail: String) {
        self.findings.push(Finding { check, ok: false, detail });
    }
}

/// One page of stored events after log index `after`, in log order.
async fn read_page(pool: &AnyPool, after: i64, bound: i64) -> Result<Vec<EventRow>, EvidenceError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_EVENTS} WHERE e.log_index > $1 AND e.log_index < $3 ORDER BY e.log_index LIMIT $2"
    ))
    .bind(after)
    .bind(PAGE)
    .bind(bound)
    .fetch_all(pool)
    .await?)
}

/// A stored event as re-derived from its record: its log index, its stored hash, and the event
/// with its Merkle leaf hash (or why it could not be re-derived).
type Decoded = (i64, Vec<u8>, Result<(Event, Sha256), EvidenceError>);

/// Re-derives a page of events from their records on all cores, keeping log order.
fn decode_page(rows: Vec<EventRow>) -> Vec<Decoded> {
    rows.into_par_iter()
        .map(|row| {
            let (index, hash) = (row.log_index, row.event_hash.clone());
            (
                index,
                hash,
                row.decode().map(|(event, _)| {
                    let leaf = event.leaf_hash();
                    (event, leaf)
                }),
            )
        })
        .collect()
}

/// Verifies the stored log against `key`. `progress(done, total)` is called every so often.
pub async fn verify_log(
    pool: &AnyPool,
    key: &VerifierKey,
    mut progress: impl FnMut(u64, u64),
) -> Result<LogReport, EvidenceError> {
    let mut report = LogReport::default();
    // The log as it is now: a running server goes on appending while this reads (the nightly
    // self-verification), so everything is checked up to this size, which the appends already
    // committed fill completely (an event, its nodes and its state change commit together).
    let bound = log_size(pool).await?;
    let total = u64::try_from(bound).unwrap_or(0);

    // 1. Events: hashes, chains, commitments, and the tree recomputed from them.
    let mut tree = MemoryTree::new();
    let mut heads: HashMap<DocumentId, ChainHead> = HashMap::new();
    let mut first_bad_event: Option<String> = None;
    let instance = attesta_core::evidence::instance_chain_id();
    let (mut instance_events, mut instance_problem) = (0u64, None::<String>);
    // Pages are read in log order. Parsing, re-canonicalising and hashing a page's records is
    // most of the work and independent per record: it runs on every core (rayon) while the next
    // page is read; the chain and tree checks that follow are in log order.
    let mut after: i64 = -1;
    let mut rows = read_page(pool, after, bound).await?;
    while let Some(last) = rows.last() {
        after = last.log_index;
        let decoding = tokio::task::spawn_blocking(move || decode_page(rows));
        let (decoded, next) = tokio::join!(decoding, read_page(pool, after, bound));
        let decoded = decoded.map_err(|e| EvidenceError::Corrupt(format!("verifying a page of events: {e}")))?;
        rows = next?;
        for (index, hash, decoded) in decoded {
            if u64::try_from(index).ok() != Some(tree.size()) && first_bad_event.is_none() {
                first_bad_event = Some(format!("log index {index}: expected {} (a gap in the log)", tree.size()));
            }
            let leaf = match decoded {
                Ok((event, leaf)) => {
                    let record = event.record();
                    let doc = record.document_id().clone();
                    let expected = heads.remove(&doc).unwrap_or_else(|| ChainHead::genesis(doc.clone()));
                    if first_bad_event.is_none() {
                        if record.seq() != expected.next_seq() {
                            first_bad_event = Some(format!(
                                "log index {index}: document {} sequence {} where {} was due",
                                doc.as_str(),
                                record.seq(),
                                expected.next_seq()
                            ));
                        } else if record.prev_hash() != expected.head() {
                            first_bad_event = Some(format!(
                                "log index {index}: document {} event {}: previous-hash link broken",
                                doc.as_str(),
                                record.seq()
                            ));
                        }
                    }
                    if doc == instance {
                        instance_events += 1;
                        if record.file_sha256() != &attesta_core::evidence::no_file_sha256()
                            && instance_problem.is_none()
                        {
                            instance_problem =
                                Some(format!("log index {index}: instance event {} names a file", record.seq()));
                        }
                    }
                    heads.insert(doc, ChainHead::after(&event));
                    leaf
                }
                Err(e) => {
                    if first_bad_event.is_none() {
                        first_bad_event = Some(e.to_string());
                    }
                    // Keep the tree going with the stored hash so later checks still say something.
                    match Sha256::from_slice(&hash) {
                        Ok(h) => merkle::log_leaf_hash(&h),
                        Err(_) => Sha256::digest(&[]),
                    }
                }
            };
            tree.push_leaf_hash(leaf);
        }
        progress(tree.size(), total);
    }
    report.events = tree.size();
    match first_bad_event {
        None => {
            report.pass("events", format!("{} events: hashes, sequence numbers, chains and commitments", report.events))
        }
        Some(e) => report.fail("events", e),
    }
    match instance_problem {
        None => report.pass("instance_chain", format!("instance chain: {instance_events} events, naming no file")),
        Some(e) => report.fail("instance_chain", e),
    }

    // 1b. Every captured change of state (migration 0014) came with the evidence event that
    // caused it: one of the same document, appended in the same transaction.
    unrecorded_changes(pool, &mut report).await?;

    // 2. Stored nodes equal the recomputed ones, and none is missing or extra.
    let stored: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT level, idx, hash FROM log_nodes ORDER BY level, idx").fetch_all(pool).await?;
    // Nodes of events appended since the bound was read belong to a larger tree than the one
    // checked here.
    let stored: Vec<(i64, i64, Vec<u8>)> = stored
        .into_iter()
        .filter(|(level, idx, _)| u32::try_from(*level).is_ok_and(|l| l < 64 && *idx < (bound >> l)))
        .collect();
    // A tree of n leaves has n >> l perfect nodes at level l.
    let expected_nodes: u64 = (0..u64::BITS).map(|l| report.events >> l).sum();
    let mismatch = stored.iter().find(|(level, idx, hash)| {
        let id = NodeId::new(u8::try_from(*level).unwrap_or(u8::MAX), u64::try_from(*idx).unwrap_or(u64::MAX));
        tree.node(id).is_none_or(|h| h.as_bytes().as_slice() != hash.as_slice())
    });
    match mismatch {
        Some((level, idx, _)) => {
            report.fail("log_nodes", format!("stored node {level}/{idx} differs from the recomputed tree"))
        }
        None if stored.len() as u64 != expected_nodes => {
            report.fail("log_nodes", format!("{} nodes stored, {expected_nodes} expected", stored.len()))
        }
        None => report.pass("log_nodes", format!("{expected_nodes} stored nodes equal the recomputed tree")),
    }

    // 3. Checkpoints: signature, root, and the consistency link to the one before.
    let rows: Vec<(i64, String, Option<i64>, String, i64)> = sqlx::query_as(
        "SELECT tree_size, note, previous_size, consistency_proof, created_at FROM log_checkpoints \
         WHERE tree_size <= $1 ORDER BY tree_size",
    )
    .bind(bound)
    .fetch_all(pool)
    .await?;
    let mut previous: Option<(u64, Sha256)> = None;
    let mut problems = Vec::new();
    for row in rows {
        let stored = stored_checkpoint(row)?;
        report.checkpoints += 1;
        let size = stored.tree_size;
        let checkpoint = match verify_checkpoint(&stored.note, key) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("checkpoint {size}: {e}"));
                continue;
            }
        };
        if checkpoint.size() != size {
            problems.push(format!("checkpoint {size}: its note says size {}", checkpoint.size()));
        }
        if size > report.events {
            problems.push(format!("checkpoint {size}: larger than the log ({} events)", report.events));
        } else {
            match merkle::root(&tree, size) {
                Ok(root) if root == *checkpoint.root() => {}
                Ok(_) => problems.push(format!("checkpoint {size}: its root is not the recomputed root")),
                Err(e) => problems.push(format!("checkpoint {size}: {e}")),
            }
        }
        if stored.previous_size != previous.map(|(s, _)| s) {
            problems.push(format!(
                "checkpoint {size}: says it follows {:?}, the one before is {:?}",
                stored.previous_size,
                previous.map(|(s, _)| s)
            ));
        }
        // Everything is consistent with the empty tree, so a first checkpoint of size 0 needs no link.
        if let Some((old_size, old_root)) = previous.filter(|(s, _)| *s > 0)
            && let Err(e) =
                merkle::verify_consistency(old_size, size, &old_root, checkpoint.root(), &stored.consistency_proof)
        {
            problems.push(format!("checkpoint {size}: not consistent with checkpoint {old_size}: {e}"));
        }
        previous = Some((size, *checkpoint.root()));
    }
    // Checkpoints of a log that grew while this ran are checked next time; one larger than the
    // log is now is not a checkpoint of this log.
    let later: Vec<i64> = sqlx::query_scalar("SELECT tree_size FROM log_checkpoints WHERE tree_size > $1")
        .bind(bound)
        .fetch_all(pool)
        .await?;
    if !later.is_empty() {
        let now = log_size(pool).await?;
        for size in later.into_iter().filter(|s| *s > now) {
            problems.push(format!("checkpoint {size}: larger than the log ({now} events)"));
        }
    }
    if problems.is_empty() {
        report.pass(
            "checkpoints",
            format!("{} checkpoints: signatures, roots and consistency links", report.checkpoints),
        );
    } else {
        for p in problems {
            report.fail("checkpoints", p);
        }
    }
    Ok(report)
}

/// The log's size: one past the highest log index stored (a gap below it is found as a gap).
async fn log_size(pool: &AnyPool) -> Result<i64, EvidenceError> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(log_index) + 1, 0) FROM audit_events").fetch_one(pool).await?)
}

/// How many unrecorded changes are named one by one; the rest are counted.
const NAMED_CHANGES: usize = 20;

/// Checks that each captured change of a state table names an event of its own document
/// (`state_changes.log_index`, set by the sequencer while that event's change ran). A change
/// with none, or with an event of another document, was made behind the application's back.
async fn unrecorded_changes(pool: &AnyPool, report: &mut LogReport) -> Result<(), EvidenceError> {
    let rows: Vec<(i64, String, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT c.id, c.table_name, c.row_key, c.document_id, c.operation, c.log_index FROM state_changes c \
         LEFT JOIN audit_events e ON e.log_index = c.log_index \
         WHERE e.log_index IS NULL OR e.document_id <> c.document_id ORDER BY c.id",
    )
    .fetch_all(pool)
    .await?;
    let captured: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM state_changes").fetch_one(pool).await?;
    if rows.is_empty() {
        report.pass("changes", format!("{captured} captured changes of state, each with the event that caused it"));
        return Ok(());
    }
    let mut named: Vec<String> = rows
        .iter()
        .take(NAMED_CHANGES)
        .map(|(id, table, key, document, operation, index)| {
            let why = match index {
                None => "no event was being appended".to_owned(),
                Some(i) => format!("log index {i} is not an event of that document"),
            };
            format!("change {id}: {operation} of {table} {key} (document {document}): {why}")
        })
        .collect();
    if rows.len() > NAMED_CHANGES {
        named.push(format!("and {} more", rows.len() - NAMED_CHANGES));
    }
    report.fail(
        "changes",
        format!("{} of {captured} captured changes have no evidence: {}", rows.len(), named.join("; ")),
    );
    Ok(())
}
