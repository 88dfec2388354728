-- Preparing and signing: the draft a sender edits, the recipients once sent, what each filled in,
-- and one-time codes.
-- PostgreSQL mirror of ../sqlite/0004_signing.sql (README.md here has the conventions).
--
-- While a document is a draft its recipients and fields live in `draft_json` (saved whole on
-- every autosave, guarded by `draft_revision`). Sending freezes that JSON into `layout_json`,
-- whose hash the `document.sent` event records, and creates one `recipients` row per person.

ALTER TABLE documents ADD COLUMN draft_json TEXT;
ALTER TABLE documents ADD COLUMN draft_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN pages_json TEXT;          -- page geometry, computed once
ALTER TABLE documents ADD COLUMN layout_json TEXT;         -- the layout as sent, never changed
ALTER TABLE documents ADD COLUMN layout_sha256 BYTEA CHECK (layout_sha256 IS NULL OR octet_length(layout_sha256) = 32);
ALTER TABLE documents ADD COLUMN signing_order TEXT CHECK (signing_order IN ('sequential', 'parallel'));
ALTER TABLE documents ADD COLUMN sent_at BIGINT;
ALTER TABLE documents ADD COLUMN finished_at BIGINT;       -- completed, declined or voided
ALTER TABLE documents ADD COLUMN void_reason TEXT;

-- A sent document's layout and file never change again (the evidence hashes them). As in
-- SQLite, naming one of these columns in an UPDATE's SET list is refused, whatever the value.
CREATE TRIGGER documents_layout_frozen BEFORE UPDATE OF layout_json, layout_sha256, sha256, blob_key ON documents
FOR EACH ROW WHEN (OLD.layout_sha256 IS NOT NULL)
EXECUTE FUNCTION refuse_change('a sent document''s file and layout cannot change');

CREATE TABLE recipients (
    document_id     TEXT    NOT NULL REFERENCES documents (id),
    id              TEXT    NOT NULL,             -- the draft's id for this person
    position        BIGINT  NOT NULL CHECK (position >= 1),
    name            TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    otp_required    BIGINT  NOT NULL CHECK (otp_required IN (0, 1)),
    status          TEXT    NOT NULL CHECK (status IN ('waiting', 'sent', 'viewed', 'signed', 'declined')),
    token_hash      BYTEA   UNIQUE CHECK (token_hash IS NULL OR octet_length(token_hash) = 32),
    link_issued_at  BIGINT,
    emailed_at      BIGINT,
    email_error     TEXT,                         -- the last delivery failure, for the sender
    viewed_at       BIGINT,
    consented_at    BIGINT,
    signed_at       BIGINT,
    declined_at     BIGINT,
    decline_reason  TEXT,
    signature_key   TEXT    REFERENCES blobs (key),
    signature_sha256 BYTEA,
    initials_key    TEXT    REFERENCES blobs (key),
    initials_sha256 BYTEA,
    PRIMARY KEY (document_id, id),
    UNIQUE (document_id, position)
);

CREATE TABLE field_values (
    document_id  TEXT    NOT NULL REFERENCES documents (id),
    field_id     TEXT    NOT NULL,
    recipient_id TEXT    NOT NULL,
    value_json   TEXT    NOT NULL,               -- {"type":"applied"} | {"type":"text","value":..} ...
    filled_at    BIGINT  NOT NULL,
    PRIMARY KEY (document_id, field_id),
    FOREIGN KEY (document_id, recipient_id) REFERENCES recipients (document_id, id)
);

CREATE TABLE otp_codes (
    document_id  TEXT    NOT NULL,
    recipient_id TEXT    NOT NULL,
    code_hash    BYTEA   NOT NULL CHECK (octet_length(code_hash) = 32),
    issued_at    BIGINT  NOT NULL,
    attempts     BIGINT  NOT NULL DEFAULT 0,     -- wrong entries of this code
    total_failures BIGINT NOT NULL DEFAULT 0,    -- wrong entries of every code for this link
    locked_at    BIGINT,
    verified_at  BIGINT,
    PRIMARY KEY (document_id, recipient_id),
    FOREIGN KEY (document_id, recipient_id) REFERENCES recipients (document_id, id)
);
