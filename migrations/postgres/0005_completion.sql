-- Completion: the signed document (every signer's marks drawn into the PDF) and the sealed one
-- (certificate pages, the evidence package attached, the PAdES seal), each an encrypted blob.
-- PostgreSQL mirror of ../sqlite/0005_completion.sql (README.md here has the conventions).
--
-- `document.completed` is appended with the signed file's row; `document.sealed` with the
-- sealed one's. Each is set once: a retry after a crash finds the column filled and moves on.

ALTER TABLE documents ADD COLUMN signed_blob_key TEXT REFERENCES blobs (key);
ALTER TABLE documents ADD COLUMN signed_sha256 BYTEA CHECK (signed_sha256 IS NULL OR octet_length(signed_sha256) = 32);
ALTER TABLE documents ADD COLUMN signed_size BIGINT;
ALTER TABLE documents ADD COLUMN sealed_blob_key TEXT REFERENCES blobs (key);
ALTER TABLE documents ADD COLUMN sealed_sha256 BYTEA CHECK (sealed_sha256 IS NULL OR octet_length(sealed_sha256) = 32);
ALTER TABLE documents ADD COLUMN sealed_size BIGINT;
ALTER TABLE documents ADD COLUMN sealed_at BIGINT;
ALTER TABLE documents ADD COLUMN completion_mailed_at BIGINT;
ALTER TABLE documents ADD COLUMN completion_error TEXT;      -- the last failure, for the sender

-- What the evidence names never changes once written (refused when named in the SET list, as
-- in SQLite).
CREATE TRIGGER documents_signed_frozen BEFORE UPDATE OF signed_blob_key, signed_sha256, signed_size ON documents
FOR EACH ROW WHEN (OLD.signed_sha256 IS NOT NULL)
EXECUTE FUNCTION refuse_change('a completed document''s signed file cannot change');

CREATE TRIGGER documents_sealed_frozen BEFORE UPDATE OF sealed_blob_key, sealed_sha256, sealed_size, sealed_at ON documents
FOR EACH ROW WHEN (OLD.sealed_sha256 IS NOT NULL)
EXECUTE FUNCTION refuse_change('a sealed document''s file cannot change');

CREATE INDEX documents_unsealed ON documents (status) WHERE status = 'completed' AND completion_mailed_at IS NULL;
