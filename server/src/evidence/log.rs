//! Appending events and signing checkpoints through one sequencer, with group commit.
//!
//! Callers send requests to a single task. It takes every request waiting (up to a batch
//! limit), opens one transaction holding the database's write lock (`BEGIN IMMEDIATE` on
//! SQLite, an advisory lock on PostgreSQL, so several server processes sharing the database take
//! turns), places each event after its document's last one, adds it to the log, and commits once. Only then does each caller hear back. So each event
//! is durable when acknowledged, yet a burst of appenders costs one fsync, not one each.

use crate::store::db::Sql;
use attesta_core::entropy::EntropyExt as _;
use attesta_core::evidence::{
    ChainHead, Checkpoint, DocumentId, Event, EventRecord, EvidencePackage, Frontier, LogSigner, NewEvent, NodeId,
    PersonalData, Salt, Sha256, merkle, verify_checkpoint,
};
use attesta_core::ports::Entropy;
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Executor as _};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// A wait for, or a hold of, the write lock longer than this is logged (see [`Sequencer::write`]).
const SLOW_LOCK: std::time::Duration = std::time::Duration::from_secs(2);

/// How many requests one transaction takes at most.
const MAX_BATCH: usize = 4096;

/// The longest a batch waits for more callers once the previous batch showed there are some.
const LINGER: std::time::Duration = std::time::Duration::from_micros(1500);

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("invalid event: {0}")]
    Invalid(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored evidence is corrupt: {0}")]
    Corrupt(String),
    #[error("refused to sign: {0}")]
    Signing(String),
    #[error("no events for document {0}")]
    UnknownDocument(String),
    #[error("the evidence sequencer has stopped")]
    Stopped,
    #[error("not committed: {0}")]
    NotCommitted(String),
    /// The state change that goes with the event was refused; neither was written.
    #[error("{0}")]
    Refused(String),
}

/// Why an [`Effect`] did not apply.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    /// The change is not allowed in the current state (e.g. the document is no longer a draft).
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A change of state that must be committed together with its event, or not at all: it runs
/// inside the sequencer's transaction, after the event has been validated and before it is
/// placed in the log. Its failure refuses this event alone; the rest of the batch goes on.
pub type Effect = Box<
    dyn for<'c> FnOnce(
            &'c mut AnyConnection,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), EffectError>> + Send + 'c>>
        + Send,
>;

/// An event to append.
pub struct Append {
    pub document_id: DocumentId,
    pub event: NewEvent,
    pub personal: PersonalData,
    /// The state change this event records, written in the same transaction.
    pub effect: Option<Effect>,
}

impl Append {
    /// An event that records something without changing any other state.
    pub fn event(document_id: DocumentId, event: NewEvent, personal: PersonalData) -> Self {
        Self { document_id, event, personal, effect: None }
    }

    /// An event together with the state change it records.
    pub fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = Some(effect);
        self
    }
}

/// An appended event and where it sits in the global log.
#[derive(Debug, Clone)]
pub struct Appended {
    pub log_index: u64,
    pub event: Event,
}

/// A checkpoint as stored.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub note: String,
    pub previous_size: Option<u64>,
    pub consistency_proof: Vec<Sha256>,
    pub created_at: i64,
}

enum Request {
    Append(Box<Append>, oneshot::Sender<Result<Appended, EvidenceError>>),
    Checkpoint(i64, oneshot::Sender<Result<StoredCheckpoint, EvidenceError>>),
}

/// The evidence log of this instance. Cheap to clone.
#[derive(Clone)]
pub struct EvidenceLog {
    pool: AnyPool,
    signer: Arc<LogSigner>,
    requests: mpsc::Sender<Request>,
    /// Notified after every commit that appended events (the webhook worker waits on it).
    commits: Arc<Notify>,
}

impl EvidenceLog {
    /// Starts the sequencer task on the current runtime; `entropy` blinds each event's
    /// personal-data commitment with a fresh salt.
    pub fn start(pool: AnyPool, signer: LogSigner, entropy: Arc<dyn Entropy>) -> Self {
        let signer = Arc::new(signer);
        let (tx, rx) = mpsc::channel(MAX_BATCH * 2);
        let commits = Arc::new(Notify::new());
        tokio::spawn(
            Sequencer {
                pool: pool.clone(),
                signer: signer.clone(),
                frontier: None,
                heads: HashMap::new(),
                conn: std::sync::Mutex::new(None),
                commits: commits.clone(),
                entropy,
            }
            .run(rx),
        );
        Self { pool, signer, requests: tx, commits }
    }

    /// Notified (one permit) after each commit that appended events: work that follows
    /// committed events, such as webhooks, waits on it instead of polling.
    pub fn commits(&self) -> Arc<Notify> {
        self.commits.clone()
    }

    pub fn signer(&self) -> &LogSigner {
        &self.signer
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Appends one event; returns once it is durably committed.
    pub async fn append(&self, append: Append) -> Result<Appended, EvidenceError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::Append(Box::new(append), reply)).await.map_err(|_| EvidenceError::Stopped)?;
        answer.await.map_err(|_| EvidenceError::Stopped)?
    }

    /// Signs a checkpoint of the log as it is now (or returns the latest one when nothing was
    /// appended since). `now` is the creation time to record, UTC microseconds.
    pub async fn checkpoint(&self, now: i64) -> Result<StoredCheckpoint, EvidenceError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::Checkpoint(now, reply)).await.map_err(|_| EvidenceError::Stopped)?;
        answer.await.map_err(|_| EvidenceError::Stopped)?
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, EvidenceError> {
        let mut conn = self.pool.acquire().await?;
        latest_checkpoint(&mut conn).await
    }

    /// All events of a document in sequence order, each with its log index, checked as read.
    pub async fn events_of(&self, document_id: &DocumentId) -> Result<Vec<(Event, u64)>, EvidenceError> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!("{SELECT_EVENTS} WHERE e.document_id = $1 ORDER BY e.seq"))
            .bind(document_id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(EventRow::decode).collect()
    }

    /// The evidence package of a document, against a checkpoint that covers all its events
    /// (signed now if the latest one does not).
    pub async fn package(&self, document_id: &DocumentId, now: i64) -> Result<EvidencePackage, EvidenceError> {
        let events = self.events_of(document_id).await?;
        let indices: Vec<u64> = events.iter().map(|(_, i)| *i).collect();
        let Some(&last_index) = indices.iter().max() else {
            return Err(EvidenceError::UnknownDocument(document_id.as_str().to_owned()));
        };
        let checkpoint = match self.latest_checkpoint().await? {
            Some(c) if c.tree_size > last_index => c,
            _ => self.checkpoint(now).await?,
        };
        let ids = EvidencePackage::proof_nodes(&indices, checkpoint.tree_size)
            .map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
        let mut conn = self.pool.acquire().await?;
        let nodes = fetch_nodes(&mut conn, &ids).await?;
        EvidencePackage::assemble(events, &checkpoint.note, &nodes, &self.signer)
            .map_err(|e| EvidenceError::Corrupt(e.to_string()))
    }
}

/// Events with their personal data (absent once purged).
pub(crate) const SELECT_EVENTS: &str = "SELECT e.log_index, e.record, e.event_hash, p.personal, p.salt \
     FROM audit_events e LEFT JOIN audit_personal p ON p.log_index = e.log_index";

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub log_index: i64,
    pub record: String,
    pub event_hash: Vec<u8>,
    pub personal: Option<String>,
    pub salt: Option<Vec<u8>>,
}

impl EventRow {
    /// The event, recomputed from its record and checked against the stored hash.
    pub(crate) fn decode(self) -> Result<(Event, u64), EvidenceError> {
        decode_row(self.log_index, &self.record, &self.event_hash, self.personal, self.salt)
    }
}

fn decode_row(
    index: i64,
    record: &str,
    hash: &[u8],
    personal: Option<String>,
    salt: Option<Vec<u8>>,
) -> Result<(Event, u64), EvidenceError> {
    let corrupt = |what: String| EvidenceError::Corrupt(format!("event at log index {index}: {what}"));
    let record: EventRecord = serde_json::from_str(record).map_err(|e| corrupt(format!("record: {e}")))?;
    let personal: Option<PersonalData> =
        personal.map(|p| serde_json::from_str(&p)).transpose().map_err(|e| corrupt(format!("personal data: {e}")))?;
    let salt = salt
        .map(|s| <[u8; 32]>::try_from(s.as_slice()).map(Salt::from_bytes))
        .transpose()
        .map_err(|_| corrupt("salt is not 32 bytes".to_owned()))?;
    let event = Event::from_stored(record, personal, salt).map_err(|e| corrupt(e.to_string()))?;
    if event.hash().as_bytes().as_slice() != hash {
        return Err(corrupt("stored hash differs from the recomputed one".to_owned()));
    }
    let index = u64::try_from(index).map_err(|_| corrupt("negative log index".to_owned()))?;
    Ok((event, index))
}

async fn latest_checkpoint(conn: &mut AnyConnection) -> Result<Option<StoredCheckpoint>, EvidenceError> {
    let row: Option<(i64, String, Option<i64>, String, i64)> = sqlx::query_as(
        "SELECT tree_size, note, previous_size, consistency_proof, created_at FROM log_checkpoints \
         ORDER BY tree_size DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(stored_checkpoint).transpose()
}

pub(crate) fn stored_checkpoint(
    (size, note, previous, proof, created_at): (i64, String, Option<i64>, String, i64),
) -> Result<StoredCheckpoint, EvidenceError> {
    let hex: Vec<String> =
        serde_json::from_str(&proof).map_err(|e| EvidenceError::Corrupt(format!("checkpoint {size}: proof: {e}")))?;
    let consistency_proof = hex
        .iter()
        .map(|h| Sha256::parse_hex(h))
        .collect::<Result<_, _>>()
        .map_err(|e| EvidenceError::Corrupt(format!("checkpoint {size}: proof: {e}")))?;
    Ok(StoredCheckpoint {
        tree_size: u64::try_from(size).unwrap_or(0),
        note,
        previous_size: previous.map(|p| u64::try_from(p).unwrap_or(0)),
        consistency_proof,
        created_at,
    })
}

/// Fetches the given perfect nodes.
pub(crate) async fn fetch_nodes(
    conn: &mut AnyConnection,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Sha256>, EvidenceError> {
    let mut nodes = HashMap::with_capacity(ids.len());
    for id in ids {
        let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM log_nodes WHERE level = $1 AND idx = $2")
            .bind(i64::from(id.level))
            .bind(i64::try_from(id.index).unwrap_or(i64::MAX))
            .fetch_optional(&mut *conn)
            .await?;
        let hash =
            hash.ok_or_else(|| EvidenceError::Corrupt(format!("log node {}/{} is missing", id.level, id.index)))?;
        let hash = Sha256::from_slice(&hash).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
        nodes.insert(*id, hash);
    }
    Ok(nodes)
}

struct Sequencer {
    pool: AnyPool,
    signer: Arc<LogSigner>,
    /// The log's right edge as of the last commit; reloaded when another process appended.
    frontier: Option<Frontier>,
    /// Chain heads of recently written documents, valid exactly as long as `frontier` is.
    heads: HashMap<DocumentId, ChainHead>,
    /// The sequencer's connection, kept while requests keep coming (acquiring one from the pool
    /// costs a round trip per batch) and returned when the queue is empty. In a mutex only to
    /// make the sequencer `Sync` (an `Any` connection is not); it is never contended.
    conn: std::sync::Mutex<Option<sqlx::pool::PoolConnection<Any>>>,
    commits: Arc<Notify>,
    entropy: Arc<dyn Entropy>,
}

/// Beyond this many cached chain heads the cache starts over (a head is one row to re-read).
const MAX_CACHED_HEADS: usize = 100_000;

impl Sequencer {
    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        let mut last_batch = 0;
        while let Some(first) = requests.recv().await {
            let mut batch = vec![first];
            // When the last batch had company, others are likely a moment away from asking: wait
            // briefly for them, so one commit serves them all. A lone caller never waits.
            let deadline = (last_batch > 1).then(|| tokio::time::Instant::now() + LINGER);
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => match deadline {
                        Some(deadline) if batch.len() < last_batch => {
                            match tokio::time::timeout_at(deadline, requests.recv()).await {
                                Ok(Some(r)) => batch.push(r),
                                _ => break,
                            }
                        }
                        _ => break,
                    },
                }
            }
            last_batch = batch.len();
            self.process(batch).await;
            if requests.is_empty() {
                // Idle: give the connection back, so the pool can close and others can use it.
                *self.conn.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            }
        }
    }

    async fn process(&mut self, batch: Vec<Request>) {
        let mut appends = Vec::new();
        let mut append_replies = Vec::new();
        let mut checkpoint_at = None;
        let mut checkpoint_replies = Vec::new();
        for request in batch {
            match request {
                Request::Append(a, reply) => {
                    appends.push(*a);
                    append_replies.push(reply);
                }
                Request::Checkpoint(now, reply) => {
                    checkpoint_at = checkpoint_at.max(Some(now));
                    checkpoint_replies.push(reply);
                }
            }
        }
        match self.write(appends, checkpoint_at).await {
            Ok((appended, checkpoint)) => {
                if appended.iter().any(Result::is_ok) {
                    self.commits.notify_one();
                }
                for (result, reply) in appended.into_iter().zip(append_replies) {
                    let _ = reply.send(result);
                }
                if let Some(checkpoint) = checkpoint {
                    for reply in checkpoint_replies {
                        let _ = reply.send(Ok(checkpoint.clone()));
                    }
                }
            }
            Err(e) => {
                // Nothing of the batch was committed; the cached frontier may be ahead of the
                // database, so forget it.
                self.frontier = None;
                self.heads.clear();
                let message = e.to_string();
                tracing::error!(error = %message, "evidence batch failed; nothing of it was committed");
                for reply in append_replies {
                    let _ = reply.send(Err(EvidenceError::NotCommitted(message.clone())));
                }
                for reply in checkpoint_replies {
                    let _ = reply.send(Err(EvidenceError::NotCommitted(message.clone())));
                }
            }
        }
    }

    /// Writes one batch in one transaction: the appends in order (each may be refused on its
    /// own, as invalid), then a checkpoint when asked for. All or nothing is committed.
    async fn write(
        &mut self,
        appends: Vec<Append>,
        checkpoint_at: Option<i64>,
    ) -> Result<(Vec<Result<Appended, EvidenceError>>, Option<StoredCheckpoint>), EvidenceError> {
        let kept = self.conn.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let mut conn = match kept {
            Some(c) => c,
            None => self.pool.acquire().await?,
        };
        // Measured (not timed by any test): a batch that waited long for the write lock, or
        // held it long, is the first thing to look at when another writer reports the database
        // locked, so it is logged with its size.
        let asked = std::time::Instant::now();
        crate::store::db::Backend::begin_exclusive(&mut conn, crate::store::db::ExclusiveLock::EvidenceLog).await?;
        let locked = std::time::Instant::now();
        let events = appends.len();
        let result = self.write_in_transaction(&mut conn, appends, checkpoint_at).await;
        let result = match result {
            Ok(done) => match conn.execute("COMMIT").await {
                Ok(_) => {
                    *self.conn.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(conn);
                    Ok(done)
                }
                // A failed COMMIT can leave the transaction open; a connection handed back to
                // the pool like that would hold the write lock for whoever takes it next.
                Err(e) => {
                    let _ = conn.execute("ROLLBACK").await;
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                Err(e)
            }
        };
        let (waited, held) = (locked.duration_since(asked), locked.elapsed());
        if waited > SLOW_LOCK || held > SLOW_LOCK {
            tracing::warn!(?waited, ?held, events, "evidence batch: slow write lock");
        }
        result
    }

    async fn write_in_transaction(
        &mut self,
        conn: &mut AnyConnection,
        appends: Vec<Append>,
        checkpoint_at: Option<i64>,
    ) -> Result<(Vec<Result<Appended, EvidenceError>>, Option<StoredCheckpoint>), EvidenceError> {
        let mut frontier = self.current_frontier(conn).await?;
        let mut heads = std::mem::take(&mut self.heads);
        if heads.len() > MAX_CACHED_HEADS {
            heads.clear();
        }
        let mut appended = Vec::with_capacity(appends.len());
        let mut rows = Rows::default();
        for append in appends {
            appended.push(self.append_one(conn, &mut frontier, &mut heads, &mut rows, append).await?);
        }
        rows.insert(conn).await?;
        let checkpoint = match checkpoint_at {
            Some(now) => Some(self.sign_checkpoint(conn, &frontier, now).await?),
            None => None,
        };
        // Cached before COMMIT: if COMMIT fails, `process` clears them again.
        self.frontier = Some(frontier);
        self.heads = heads;
        Ok((appended, checkpoint))
    }

    /// The frontier at the current log size, from the cache when no one else appended since.
    async fn current_frontier(&mut self, conn: &mut AnyConnection) -> Result<Frontier, EvidenceError> {
        let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(log_index) + 1, 0) FROM audit_events")
            .fetch_one(&mut *conn)
            .await?;
        let size = u64::try_from(size).map_err(|_| EvidenceError::Corrupt("negative log size".to_owned()))?;
        if let Some(f) = &self.frontier
            && f.size() == size
        {
            return Ok(f.clone());
        }
        // Another process appended (or this is the first batch): cached chain heads may be stale.
        self.heads.clear();
        let ids = Frontier::node_ids(size).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
        let nodes = fetch_nodes(conn, &ids).await?;
        Frontier::load(&nodes, size).map_err(|e| EvidenceError::Corrupt(e.to_string()))
    }

    /// Places one event. `Ok(Err(_))` is a refusal of this event alone (invalid input); `Err(_)`
    /// is a failure of the transaction.
    async fn append_one(
        &self,
        conn: &mut AnyConnection,
        frontier: &mut Frontier,
        heads: &mut HashMap<DocumentId, ChainHead>,
        rows: &mut Rows,
        append: Append,
    ) -> Result<Result<Appended, EvidenceError>, EvidenceError> {
        let head = match heads.get_mut(&append.document_id) {
            Some(h) => h,
            None => {
                let head = chain_head(conn, &append.document_id).await?;
                heads.entry(append.document_id.clone()).or_insert(head)
            }
        };
        let salt: [u8; 32] = self.entropy.bytes();
        // The head advances only once the event and its effect have both been accepted.
        let mut next = head.clone();
        let event = match next.append(append.event, append.personal, Salt::from_bytes(salt)) {
            Ok(e) => e,
            Err(e) => return Ok(Err(EvidenceError::Invalid(e.to_string()))),
        };
        if let Some(effect) = append.effect {
            // A savepoint, so a refused effect leaves no trace while the batch goes on. The
            // state change is made with the event's index in `evidence_context`, so the change
            // capture triggers (migration 0014) tie each captured change to this event; cleared
            // again before anything else runs, so a change made outside an append has none.
            conn.execute("SAVEPOINT effect").await?;
            let log_index = i64::try_from(frontier.size()).unwrap_or(i64::MAX);
            sqlx::query("UPDATE evidence_context SET log_index = $1 WHERE id = 1")
                .bind(log_index)
                .execute(&mut *conn)
                .await?;
            let applied = effect(conn).await;
            sqlx::query("UPDATE evidence_context SET log_index = NULL WHERE id = 1").execute(&mut *conn).await?;
            match applied {
                Ok(()) => {
                    conn.execute("RELEASE effect").await?;
                }
                Err(e) => {
                    conn.execute("ROLLBACK TO effect").await?;
                    conn.execute("RELEASE effect").await?;
                    return match e {
                        EffectError::Refused(why) => Ok(Err(EvidenceError::Refused(why))),
                        EffectError::Database(e) => Ok(Err(EvidenceError::Refused(format!("not applied: {e}")))),
                    };
                }
            }
        }
        *head = next;
        let log_index = frontier.size();
        let nodes = frontier.append(event.leaf_hash()).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
        rows.add(log_index, &event, nodes)?;
        Ok(Ok(Appended { log_index, event }))
    }

    async fn sign_checkpoint(
        &self,
        conn: &mut AnyConnection,
        frontier: &Frontier,
        now: i64,
    ) -> Result<StoredCheckpoint, EvidenceError> {
        let previous = latest_checkpoint(conn).await?;
        let size = frontier.size();
        if let Some(p) = &previous
            && p.tree_size == size
        {
            return Ok(p.clone());
        }
        let name = self.signer.verifier_key().name();
        let next = Checkpoint::new(name, size, frontier.root());
        let (previous_checkpoint, proof) = match &previous {
            Some(p) if p.tree_size == 0 => (None, Vec::new()),
            Some(p) => {
                let checkpoint = verify_checkpoint(&p.note, self.signer.verifier_key())
                    .map_err(|e| EvidenceError::Corrupt(format!("stored checkpoint {}: {e}", p.tree_size)))?;
                let ids = merkle::consistency_proof_nodes(p.tree_size, size)
                    .map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
                let nodes = fetch_nodes(conn, &ids).await?;
                let proof = merkle::consistency_proof(&nodes, p.tree_size, size)
                    .map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
                (Some(checkpoint), proof)
            }
            None => (None, Vec::new()),
        };
        let note = self
            .signer
            .sign_checkpoint_after(previous_checkpoint.as_ref(), &next, &proof)
            .map_err(|e| EvidenceError::Signing(e.to_string()))?;
        let proof_json = serde_json::to_string(&proof.iter().map(Sha256::to_hex).collect::<Vec<_>>())
            .map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
        let previous_size = previous.as_ref().map(|p| p.tree_size);
        sqlx::query(
            "INSERT INTO log_checkpoints (tree_size, note, previous_size, consistency_proof, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(&note)
        .bind(previous_size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)))
        .bind(proof_json)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(StoredCheckpoint { tree_size: size, note, previous_size, consistency_proof: proof, created_at: now })
    }
}

/// The rows of one batch, inserted together: a statement per row costs far more in sqlx than
/// the row itself.
#[derive(Default)]
struct Rows {
    events: Vec<EventInsert>,
    personal: Vec<(i64, String, [u8; 32])>,
    nodes: Vec<(i64, i64, [u8; 32])>,
}

/// One `audit_events` row.
struct EventInsert {
    log_index: i64,
    document_id: String,
    seq: i64,
    event_type: String,
    occurred_at: i64,
    record: String,
    event_hash: [u8; 32],
}

/// Rows per INSERT: 7 parameters each stays far below SQLite's 32,766-variable limit.
const ROWS_PER_STATEMENT: usize = 500;

impl Rows {
    fn add(&mut self, log_index: u64, event: &Event, nodes: Vec<(NodeId, Sha256)>) -> Result<(), EvidenceError> {
        let index = i64::try_from(log_index).map_err(|_| EvidenceError::Corrupt("log too large".to_owned()))?;
        let record = event.record();
        let json = serde_json::to_string(record).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
        self.events.push(EventInsert {
            log_index: index,
            document_id: record.document_id().as_str().to_owned(),
            seq: i64::try_from(record.seq()).unwrap_or(i64::MAX),
            event_type: record.event_type().as_str().to_owned(),
            occurred_at: record.time().as_micros(),
            record: json,
            event_hash: *event.hash().as_bytes(),
        });
        if let (Some(personal), Some(salt)) = (event.personal(), event.salt()) {
            let personal = serde_json::to_string(personal).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
            self.personal.push((index, personal, *salt.as_bytes()));
        }
        for (id, hash) in nodes {
            self.nodes.push((i64::from(id.level), i64::try_from(id.index).unwrap_or(i64::MAX), *hash.as_bytes()));
        }
        Ok(())
    }

    async fn insert(self, conn: &mut AnyConnection) -> Result<(), EvidenceError> {
        for chunk in self.events.chunks(ROWS_PER_STATEMENT) {
            let mut q = Sql::new(
                "INSERT INTO audit_events (log_index, document_id, seq, event_type, occurred_at, record, event_hash) VALUES ",
            );
            for (i, row) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.push_bind(row.log_index).push(", ").push_bind(row.document_id.as_str()).push(", ");
                q.push_bind(row.seq).push(", ").push_bind(row.event_type.as_str()).push(", ");
                q.push_bind(row.occurred_at).push(", ").push_bind(row.record.as_str()).push(", ");
                q.push_bind(row.event_hash.as_slice()).push(")");
            }
            q.query().execute(&mut *conn).await?;
        }
        for chunk in self.personal.chunks(ROWS_PER_STATEMENT) {
            let mut q = Sql::new("INSERT INTO audit_personal (log_index, personal, salt) VALUES ");
            for (i, (index, personal, salt)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.push_bind(*index).push(", ").push_bind(personal.as_str()).push(", ").push_bind(salt.as_slice());
                q.push(")");
            }
            q.query().execute(&mut *conn).await?;
        }
        for chunk in self.nodes.chunks(ROWS_PER_STATEMENT) {
            let mut q = Sql::new("INSERT INTO log_nodes (level, idx, hash) VALUES ");
            for (i, (level, index, hash)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.push_bind(*level).push(", ").push_bind(*index).push(", ").push_bind(hash.as_slice()).push(")");
            }
            q.query().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

async fn chain_head(conn: &mut AnyConnection, document_id: &DocumentId) -> Result<ChainHead, EvidenceError> {
    let last: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, event_hash FROM audit_events WHERE document_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(document_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match last {
        None => ChainHead::genesis(document_id.clone()),
        Some((seq, hash)) => {
            let hash = Sha256::from_slice(&hash).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
            let next = u64::try_from(seq).map_err(|_| EvidenceError::Corrupt("negative sequence".to_owned()))? + 1;
            ChainHead::resume(document_id.clone(), next, hash)
        }
    })
}
