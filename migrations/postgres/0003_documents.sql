-- Documents and the encrypted files behind them.
-- PostgreSQL mirror of ../sqlite/0003_documents.sql (README.md here has the conventions).
--
-- A file is stored encrypted (docs/ARCHITECTURE.md, "Storage"): the object store holds only
-- ciphertext, and the key that opens it lives here, wrapped by a master key from the
-- configuration. Rotating the master key rewrites `wrapped_key` and `master_key_id` only.

CREATE TABLE blobs (
    key           TEXT    PRIMARY KEY,           -- object key in the blob store
    sha256        BYTEA   NOT NULL CHECK (octet_length(sha256) = 32),   -- of the plaintext
    size          BIGINT  NOT NULL CHECK (size >= 0),                   -- plaintext bytes
    stored_size   BIGINT  NOT NULL CHECK (stored_size >= 0),            -- ciphertext bytes
    wrapped_key   TEXT    NOT NULL,              -- the file's data key, wrapped
    master_key_id TEXT    NOT NULL,              -- which master key wrapped it
    content_type  TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL               -- UTC microseconds
);

CREATE INDEX blobs_by_master_key ON blobs (master_key_id);

CREATE TABLE documents (
    id                TEXT    PRIMARY KEY,       -- also the document id of its evidence chain
    owner_id          BIGINT  NOT NULL REFERENCES users (id),
    title             TEXT    NOT NULL,
    title_folded      TEXT    NOT NULL,          -- lowercase title, for search
    status            TEXT    NOT NULL CHECK (status IN
                          ('draft', 'sent', 'completed', 'declined', 'voided', 'expired', 'deleted')),
    source            TEXT    NOT NULL CHECK (source IN ('pdf', 'markdown')),
    original_name     TEXT,
    page_count        BIGINT  NOT NULL CHECK (page_count >= 1),
    size              BIGINT  NOT NULL CHECK (size >= 0),
    sha256            BYTEA   NOT NULL CHECK (octet_length(sha256) = 32),
    blob_key          TEXT    REFERENCES blobs (key),    -- NULL once the file is deleted
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);

CREATE INDEX documents_by_owner ON documents (owner_id, created_at DESC);
CREATE INDEX documents_by_status ON documents (status, created_at DESC);
CREATE INDEX documents_by_created ON documents (created_at DESC);
CREATE INDEX documents_by_title ON documents (title_folded);
