-- Completion: the signed document (every signer's marks drawn into the PDF) and the sealed one
-- (certificate pages, the evidence package attached, the PAdES seal), each an encrypted blob.
--
-- `document.completed` is appended with the signed file's row; `document.sealed` with the
-- sealed one's. Each is set once: a retry after a crash finds the column filled and moves on.

ALTER TABLE documents ADD COLUMN signed_blob_key TEXT REFERENCES blobs (key);
ALTER TABLE documents ADD COLUMN signed_sha256 BLOB CHECK (signed_sha256 IS NULL OR length(signed_sha256) = 32);
ALTER TABLE documents ADD COLUMN signed_size INTEGER;
ALTER TABLE documents ADD COLUMN sealed_blob_key TEXT REFERENCES blobs (key);
ALTER TABLE documents ADD COLUMN sealed_sha256 BLOB CHECK (sealed_sha256 IS NULL OR length(sealed_sha256) = 32);
ALTER TABLE documents ADD COLUMN sealed_size INTEGER;
ALTER TABLE documents ADD COLUMN sealed_at INTEGER;
ALTER TABLE documents ADD COLUMN completion_mailed_at INTEGER;
ALTER TABLE documents ADD COLUMN completion_error TEXT;      -- the last failure, for the sender

-- What the evidence names never changes once written.
CREATE TRIGGER documents_signed_frozen BEFORE UPDATE OF signed_blob_key, signed_sha256, signed_size ON documents
WHEN OLD.signed_sha256 IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a completed document''s signed file cannot change');
END;

CREATE TRIGGER documents_sealed_frozen BEFORE UPDATE OF sealed_blob_key, sealed_sha256, sealed_size, sealed_at ON documents
WHEN OLD.sealed_sha256 IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a sealed document''s file cannot change');
END;

CREATE INDEX documents_unsealed ON documents (status) WHERE status = 'completed' AND completion_mailed_at IS NULL;
