-- Clause intelligence (issue 18, server/src/risk/): the flags the clause engine raised on each
-- document and their review, and which engine version read which document.
--
-- A flag row is written in the transaction that appends its `risk.flagged` event, and every
-- change of its status with its `risk.reviewed` or `risk.resolved` event (docs/EVIDENCE.md §4):
-- the table is the working copy, the chain is the proof. A clause is flagged once per document
-- whatever the engine version (the unique key), so a re-scan by a newer engine adds only what
-- it newly finds.
-- PostgreSQL mirror of ../sqlite/0018_risk_flags.sql (README.md here has the conventions).

CREATE TABLE document_risk_flags (
    id              TEXT    PRIMARY KEY,              -- `rf` + 26 base32 characters
    document_id     TEXT    NOT NULL REFERENCES documents (id),
    category        TEXT    NOT NULL,                 -- CUAD's name where one fits, else ours
    severity        TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    clause_text     TEXT    NOT NULL,
    clause_sha256   BYTEA   NOT NULL CHECK (octet_length(clause_sha256) = 32),
    page            BIGINT,                          -- 1-based; NULL for text without pages
    char_start      BIGINT NOT NULL,                 -- characters of the extracted text
    char_end        BIGINT NOT NULL,
    rects_json      TEXT,                             -- JSON [{"page","x","y","width","height"}] when known
    explanation     TEXT    NOT NULL,
    engine          TEXT    NOT NULL,
    engine_version  TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'dismissed', 'escalated', 'resolved')),
    reviewed_by     BIGINT REFERENCES users (id),    -- the last review's reviewer
    reviewed_at     BIGINT,
    review_reason   TEXT,                             -- a dismissal's reason
    escalated_to    BIGINT REFERENCES users (id),
    resolved_at     BIGINT,
    resolved_reason TEXT,                             -- `document.completed`, `document.expired`
    created_at      BIGINT NOT NULL,
    UNIQUE (document_id, category, char_start, char_end)
);

CREATE INDEX document_risk_flags_by_status ON document_risk_flags (status, severity);

-- One row per document and engine version that read it: the hourly sweep scans documents
-- without a row for the current version.
CREATE TABLE document_risk_scans (
    document_id    TEXT    NOT NULL REFERENCES documents (id),
    engine         TEXT    NOT NULL,
    engine_version TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('analysed', 'no_text', 'unreadable')),
    contract_type  TEXT    NOT NULL,
    missing_json   TEXT    NOT NULL,                  -- JSON [{"clause", "severity", "why"}]
    flags          BIGINT NOT NULL,                  -- how many this scan found
    scanned_at     BIGINT NOT NULL,
    PRIMARY KEY (document_id, engine_version)
);
