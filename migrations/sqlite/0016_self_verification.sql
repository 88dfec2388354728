-- The self-verification's results (server/src/integrity.rs): each run of the recurring job
-- `instance.self_verify`, what it checked and what it found, for the integrity page and the
-- metrics. A record of checks, not evidence: the evidence is the log it re-derives.

CREATE TABLE self_verifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL,
    ok            INTEGER NOT NULL CHECK (ok IN (0, 1)),
    log_events    INTEGER NOT NULL,
    files_checked INTEGER NOT NULL,
    files_failed  INTEGER NOT NULL,
    findings      TEXT    NOT NULL            -- JSON: [{"check", "ok", "detail"}]
) STRICT;

CREATE INDEX self_verifications_recent ON self_verifications (started_at);
