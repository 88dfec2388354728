-- Retention of document files (attesta_core::retention, rule `document_files`, off by default):
-- a finished document's files (original, signed, sealed, and the signers' signature images) may
-- be deleted once the policy's window has passed. The hashes stay, and the evidence says when
-- and under which policy (`retention.document_files_purged`).
-- PostgreSQL mirror of ../sqlite/0020_document_files_retention.sql (README.md here has the conventions).
--
-- The keys of a sent document's files are frozen (0004, 0005). The one change now allowed is
-- their purge: every key to NULL at once with `files_purged_at` set for the first time, the
-- hashes, sizes and layout untouched. Once set, `files_purged_at` never changes.

ALTER TABLE documents ADD COLUMN files_purged_at BIGINT;

DROP TRIGGER documents_layout_frozen ON documents;
CREATE TRIGGER documents_layout_frozen BEFORE UPDATE OF layout_json, layout_sha256, sha256, blob_key ON documents
FOR EACH ROW WHEN (OLD.layout_sha256 IS NOT NULL AND NOT (
    OLD.files_purged_at IS NULL AND NEW.files_purged_at IS NOT NULL AND NEW.blob_key IS NULL
    AND NEW.layout_json IS NOT DISTINCT FROM OLD.layout_json
    AND NEW.layout_sha256 IS NOT DISTINCT FROM OLD.layout_sha256
    AND NEW.sha256 IS NOT DISTINCT FROM OLD.sha256
))
EXECUTE FUNCTION refuse_change('a sent document''s file and layout cannot change');

DROP TRIGGER documents_signed_frozen ON documents;
CREATE TRIGGER documents_signed_frozen BEFORE UPDATE OF signed_blob_key, signed_sha256, signed_size ON documents
FOR EACH ROW WHEN (OLD.signed_sha256 IS NOT NULL AND NOT (
    OLD.files_purged_at IS NULL AND NEW.files_purged_at IS NOT NULL AND NEW.signed_blob_key IS NULL
    AND NEW.signed_sha256 IS NOT DISTINCT FROM OLD.signed_sha256
    AND NEW.signed_size IS NOT DISTINCT FROM OLD.signed_size
))
EXECUTE FUNCTION refuse_change('a completed document''s signed file cannot change');

DROP TRIGGER documents_sealed_frozen ON documents;
CREATE TRIGGER documents_sealed_frozen BEFORE UPDATE OF sealed_blob_key, sealed_sha256, sealed_size, sealed_at ON documents
FOR EACH ROW WHEN (OLD.sealed_sha256 IS NOT NULL AND NOT (
    OLD.files_purged_at IS NULL AND NEW.files_purged_at IS NOT NULL AND NEW.sealed_blob_key IS NULL
    AND NEW.sealed_sha256 IS NOT DISTINCT FROM OLD.sealed_sha256
    AND NEW.sealed_size IS NOT DISTINCT FROM OLD.sealed_size
    AND NEW.sealed_at IS NOT DISTINCT FROM OLD.sealed_at
))
EXECUTE FUNCTION refuse_change('a sealed document''s file cannot change');

CREATE TRIGGER documents_files_purged_once BEFORE UPDATE OF files_purged_at ON documents
FOR EACH ROW WHEN (OLD.files_purged_at IS NOT NULL)
EXECUTE FUNCTION refuse_change('a document''s files are purged once');

-- The daily run's candidates: finished documents whose files are still kept.
CREATE INDEX documents_files_kept ON documents (finished_at) WHERE files_purged_at IS NULL AND finished_at IS NOT NULL;

-- The trust dashboard (and /metrics at each scrape) counts events of the last 30 days and of a
-- type, and the personal-data purge looks for events older than its cutoff: without these, each
-- is a scan of the whole log.
CREATE INDEX audit_events_occurred ON audit_events (occurred_at);
CREATE INDEX audit_events_type ON audit_events (event_type);
