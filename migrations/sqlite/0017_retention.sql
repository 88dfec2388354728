-- Retention (server/src/retention.rs, rules in attesta_core::retention): legal holds that stop
-- every purge of a document, and the report of each retention run.
--
-- A hold is placed and released with its evidence event (`document.legal_hold_placed`,
-- `document.legal_hold_released`) in the same transaction; changing or deleting a hold any
-- other way is captured in state_changes (0014) and named by `attesta log verify`.

CREATE TABLE legal_holds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id    TEXT    NOT NULL REFERENCES documents (id),
    reason         TEXT    NOT NULL,
    placed_by      INTEGER NOT NULL REFERENCES users (id),
    placed_at      INTEGER NOT NULL,
    released_by    INTEGER REFERENCES users (id),
    released_at    INTEGER,
    release_reason TEXT
) STRICT;

-- At most one active hold per document.
CREATE UNIQUE INDEX legal_holds_active ON legal_holds (document_id) WHERE released_at IS NULL;

CREATE TRIGGER legal_holds_capture_update AFTER UPDATE ON legal_holds
WHEN OLD.document_id IS NOT NEW.document_id OR OLD.reason IS NOT NEW.reason OR OLD.placed_by IS NOT NEW.placed_by OR OLD.placed_at IS NOT NEW.placed_at OR OLD.released_by IS NOT NEW.released_by OR OLD.released_at IS NOT NEW.released_at OR OLD.release_reason IS NOT NEW.release_reason
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('legal_holds', CAST(OLD.id AS TEXT), OLD.document_id, 'update', json_object('document_id', OLD.document_id, 'reason', OLD.reason, 'placed_by', OLD.placed_by, 'placed_at', OLD.placed_at, 'released_by', OLD.released_by, 'released_at', OLD.released_at, 'release_reason', OLD.release_reason),
            json_object('document_id', NEW.document_id, 'reason', NEW.reason, 'placed_by', NEW.placed_by, 'placed_at', NEW.placed_at, 'released_by', NEW.released_by, 'released_at', NEW.released_at, 'release_reason', NEW.release_reason),
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;
CREATE TRIGGER legal_holds_capture_delete AFTER DELETE ON legal_holds
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('legal_holds', CAST(OLD.id AS TEXT), OLD.document_id, 'delete', json_object('document_id', OLD.document_id, 'reason', OLD.reason, 'placed_by', OLD.placed_by, 'placed_at', OLD.placed_at, 'released_by', OLD.released_by, 'released_at', OLD.released_at, 'release_reason', OLD.release_reason), NULL,
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;

-- Each retention run: when, why (the schedule or the command line), the policy it applied, and
-- how many records each rule purged. A report, not evidence: each document's purge is an
-- event in its chain.
CREATE TABLE retention_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    trigger     TEXT    NOT NULL,              -- 'schedule' or 'cli'
    policy      TEXT    NOT NULL,              -- JSON: {"<rule>": days, ...}, 0 = kept
    purged      TEXT    NOT NULL,              -- JSON: {"<rule>": count, ...}
    held        INTEGER NOT NULL,              -- documents skipped because on legal hold
    error       TEXT                           -- why the run stopped early, if it did
) STRICT;

CREATE INDEX retention_runs_recent ON retention_runs (started_at);
