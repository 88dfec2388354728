-- The evidence: audit events, the global Merkle log over them, and signed checkpoints.
-- PostgreSQL mirror of ../sqlite/0002_evidence.sql (README.md here has the conventions).
--
-- audit_events, log_nodes and log_checkpoints are append-only: the database itself refuses to
-- UPDATE, DELETE or TRUNCATE their rows (the triggers below), so no code path, bug or hand-typed
-- SQL can rewrite history in place. Personal data lives apart, in audit_personal, which a
-- retention purge may delete: the events keep only a salted commitment to it. On PostgreSQL the
-- application role also lacks the privileges to change them (grants.sql).
--
-- Every id here is chosen by the application (log indexes, tree sizes): no identity columns.

CREATE TABLE audit_events (
    log_index   BIGINT  PRIMARY KEY,            -- the event's leaf index in the global log
    document_id TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,               -- 0, 1, 2, ... per document
    event_type  TEXT    NOT NULL,
    occurred_at BIGINT  NOT NULL,               -- UTC microseconds
    record      TEXT    NOT NULL,               -- the hashed record, JSON (docs/EVIDENCE.md)
    event_hash  BYTEA   NOT NULL CHECK (octet_length(event_hash) = 32),
    UNIQUE (document_id, seq)
);

CREATE TABLE audit_personal (
    log_index BIGINT PRIMARY KEY REFERENCES audit_events (log_index),
    personal  TEXT   NOT NULL,                  -- JSON: email, name, ip, user agent, geolocation
    salt      BYTEA  NOT NULL CHECK (octet_length(salt) = 32)
);

-- Every perfect subtree of the log: level 0 = leaf hashes. Enough for any root or proof.
CREATE TABLE log_nodes (
    level BIGINT  NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BYTEA   NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TABLE log_checkpoints (
    tree_size         BIGINT  PRIMARY KEY,
    note              TEXT    NOT NULL,         -- the signed C2SP checkpoint note
    previous_size     BIGINT,                   -- the checkpoint before this one, if any
    consistency_proof TEXT    NOT NULL,         -- JSON array of hex hashes, previous -> this
    created_at        BIGINT  NOT NULL
);

-- SQLite's RAISE(ABORT, msg): every refusing trigger, here and in later migrations, calls this
-- with its message as the argument, so the error text is the same on both databases. SQLSTATE
-- 23001 (restrict_violation): like SQLite's SQLITE_CONSTRAINT_TRIGGER, a rule of the schema
-- refused the statement.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
FOR EACH ROW EXECUTE FUNCTION refuse_change('audit events are append-only');
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION refuse_change('audit events are append-only');
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('audit events are append-only');
CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
FOR EACH ROW EXECUTE FUNCTION refuse_change('the log is append-only');
CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
FOR EACH ROW EXECUTE FUNCTION refuse_change('the log is append-only');
CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the log is append-only');
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
FOR EACH ROW EXECUTE FUNCTION refuse_change('checkpoints are append-only');
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
FOR EACH ROW EXECUTE FUNCTION refuse_change('checkpoints are append-only');
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('checkpoints are append-only');
-- Personal data may be purged (deleted, TRUNCATE included) but never altered.
CREATE TRIGGER audit_personal_no_update BEFORE UPDATE ON audit_personal
FOR EACH ROW EXECUTE FUNCTION refuse_change('personal data of audit events cannot be altered, only purged');
