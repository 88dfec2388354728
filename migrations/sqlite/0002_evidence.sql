-- The evidence: audit events, the global Merkle log over them, and signed checkpoints.
--
-- audit_events, log_nodes and log_checkpoints are append-only: the database itself refuses to
-- UPDATE or DELETE their rows (the triggers below), so no code path, bug or hand-typed SQL can
-- rewrite history in place. Personal data lives apart, in audit_personal, which a retention
-- purge may delete: the events keep only a salted commitment to it.

CREATE TABLE audit_events (
    log_index   INTEGER PRIMARY KEY,            -- the event's leaf index in the global log
    document_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,               -- 0, 1, 2, ... per document
    event_type  TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,               -- UTC microseconds
    record      TEXT    NOT NULL,               -- the hashed record, JSON (docs/EVIDENCE.md)
    event_hash  BLOB    NOT NULL CHECK (length(event_hash) = 32),
    UNIQUE (document_id, seq)
) STRICT;

CREATE TABLE audit_personal (
    log_index INTEGER PRIMARY KEY REFERENCES audit_events (log_index),
    personal  TEXT NOT NULL,                    -- JSON: email, name, ip, user agent, geolocation
    salt      BLOB NOT NULL CHECK (length(salt) = 32)
) STRICT;

-- Every perfect subtree of the log: level 0 = leaf hashes. Enough for any root or proof.
CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE log_checkpoints (
    tree_size         INTEGER PRIMARY KEY,
    note              TEXT    NOT NULL,         -- the signed C2SP checkpoint note
    previous_size     INTEGER,                  -- the checkpoint before this one, if any
    consistency_proof TEXT    NOT NULL,         -- JSON array of hex hashes, previous -> this
    created_at        INTEGER NOT NULL
) STRICT;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
-- Personal data may be purged (deleted) but never altered.
CREATE TRIGGER audit_personal_no_update BEFORE UPDATE ON audit_personal
BEGIN SELECT RAISE(ABORT, 'personal data of audit events cannot be altered, only purged'); END;
