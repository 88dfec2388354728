-- Changes the application did not record: every UPDATE of the evidence-bearing columns of the
-- state tables (documents, recipients, field_values), and every DELETE of their rows, is copied
-- by a trigger, old and new values, into the append-only `state_changes`, with the log index of
-- the evidence event being appended at that moment (`evidence_context`, set by the sequencer
-- inside its transaction around each event's state change and cleared after it). A change made
-- any other way (a script, a console, a code path that skips the log) is captured with no
-- event, and `attesta log verify` names it. Columns that carry no evidence (caches, drafts,
-- delivery bookkeeping) are not captured.

CREATE TABLE evidence_context (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    log_index INTEGER                          -- the event being appended; NULL between events
) STRICT;
INSERT INTO evidence_context (id, log_index) VALUES (1, NULL);

CREATE TABLE state_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name  TEXT    NOT NULL,
    row_key     TEXT    NOT NULL,
    document_id TEXT    NOT NULL,
    operation   TEXT    NOT NULL CHECK (operation IN ('update', 'delete')),
    old_values  TEXT    NOT NULL,              -- JSON of the captured columns (blobs in hex)
    new_values  TEXT,                          -- NULL for a delete
    log_index   INTEGER                        -- the event appended with it; NULL: none
) STRICT;
CREATE INDEX state_changes_by_event ON state_changes (log_index);

CREATE TRIGGER state_changes_no_update BEFORE UPDATE ON state_changes
BEGIN SELECT RAISE(ABORT, 'captured changes are append-only'); END;
CREATE TRIGGER state_changes_no_delete BEFORE DELETE ON state_changes
BEGIN SELECT RAISE(ABORT, 'captured changes are append-only'); END;

CREATE TRIGGER documents_capture_update AFTER UPDATE ON documents
WHEN OLD.status IS NOT NEW.status OR OLD.title IS NOT NEW.title OR OLD.sha256 IS NOT NEW.sha256 OR OLD.blob_key IS NOT NEW.blob_key OR OLD.layout_json IS NOT NEW.layout_json OR OLD.layout_sha256 IS NOT NEW.layout_sha256 OR OLD.signing_order IS NOT NEW.signing_order OR OLD.sent_at IS NOT NEW.sent_at OR OLD.expires_at IS NOT NEW.expires_at OR OLD.finished_at IS NOT NEW.finished_at OR OLD.void_reason IS NOT NEW.void_reason OR OLD.signed_blob_key IS NOT NEW.signed_blob_key OR OLD.signed_sha256 IS NOT NEW.signed_sha256 OR OLD.signed_size IS NOT NEW.signed_size OR OLD.sealed_blob_key IS NOT NEW.sealed_blob_key OR OLD.sealed_sha256 IS NOT NEW.sealed_sha256 OR OLD.sealed_size IS NOT NEW.sealed_size OR OLD.sealed_at IS NOT NEW.sealed_at
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('documents', OLD.id, OLD.id, 'update', json_object('status', OLD.status, 'title', OLD.title, 'sha256', lower(hex(OLD.sha256)), 'blob_key', OLD.blob_key, 'layout_json', OLD.layout_json, 'layout_sha256', lower(hex(OLD.layout_sha256)), 'signing_order', OLD.signing_order, 'sent_at', OLD.sent_at, 'expires_at', OLD.expires_at, 'finished_at', OLD.finished_at, 'void_reason', OLD.void_reason, 'signed_blob_key', OLD.signed_blob_key, 'signed_sha256', lower(hex(OLD.signed_sha256)), 'signed_size', OLD.signed_size, 'sealed_blob_key', OLD.sealed_blob_key, 'sealed_sha256', lower(hex(OLD.sealed_sha256)), 'sealed_size', OLD.sealed_size, 'sealed_at', OLD.sealed_at),
            json_object('status', NEW.status, 'title', NEW.title, 'sha256', lower(hex(NEW.sha256)), 'blob_key', NEW.blob_key, 'layout_json', NEW.layout_json, 'layout_sha256', lower(hex(NEW.layout_sha256)), 'signing_order', NEW.signing_order, 'sent_at', NEW.sent_at, 'expires_at', NEW.expires_at, 'finished_at', NEW.finished_at, 'void_reason', NEW.void_reason, 'signed_blob_key', NEW.signed_blob_key, 'signed_sha256', lower(hex(NEW.signed_sha256)), 'signed_size', NEW.signed_size, 'sealed_blob_key', NEW.sealed_blob_key, 'sealed_sha256', lower(hex(NEW.sealed_sha256)), 'sealed_size', NEW.sealed_size, 'sealed_at', NEW.sealed_at),
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;
CREATE TRIGGER documents_capture_delete AFTER DELETE ON documents
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('documents', OLD.id, OLD.id, 'delete', json_object('status', OLD.status, 'title', OLD.title, 'sha256', lower(hex(OLD.sha256)), 'blob_key', OLD.blob_key, 'layout_json', OLD.layout_json, 'layout_sha256', lower(hex(OLD.layout_sha256)), 'signing_order', OLD.signing_order, 'sent_at', OLD.sent_at, 'expires_at', OLD.expires_at, 'finished_at', OLD.finished_at, 'void_reason', OLD.void_reason, 'signed_blob_key', OLD.signed_blob_key, 'signed_sha256', lower(hex(OLD.signed_sha256)), 'signed_size', OLD.signed_size, 'sealed_blob_key', OLD.sealed_blob_key, 'sealed_sha256', lower(hex(OLD.sealed_sha256)), 'sealed_size', OLD.sealed_size, 'sealed_at', OLD.sealed_at), NULL,
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;

CREATE TRIGGER recipients_capture_update AFTER UPDATE ON recipients
WHEN OLD.position IS NOT NEW.position OR OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.otp_required IS NOT NEW.otp_required OR OLD.status IS NOT NEW.status OR OLD.token_hash IS NOT NEW.token_hash OR OLD.viewed_at IS NOT NEW.viewed_at OR OLD.consented_at IS NOT NEW.consented_at OR OLD.signed_at IS NOT NEW.signed_at OR OLD.declined_at IS NOT NEW.declined_at OR OLD.decline_reason IS NOT NEW.decline_reason OR OLD.signature_sha256 IS NOT NEW.signature_sha256 OR OLD.initials_sha256 IS NOT NEW.initials_sha256 OR OLD.role IS NOT NEW.role
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('recipients', OLD.id, OLD.document_id, 'update', json_object('position', OLD.position, 'name', OLD.name, 'email', OLD.email, 'otp_required', OLD.otp_required, 'status', OLD.status, 'token_hash', lower(hex(OLD.token_hash)), 'viewed_at', OLD.viewed_at, 'consented_at', OLD.consented_at, 'signed_at', OLD.signed_at, 'declined_at', OLD.declined_at, 'decline_reason', OLD.decline_reason, 'signature_sha256', lower(hex(OLD.signature_sha256)), 'initials_sha256', lower(hex(OLD.initials_sha256)), 'role', OLD.role),
            json_object('position', NEW.position, 'name', NEW.name, 'email', NEW.email, 'otp_required', NEW.otp_required, 'status', NEW.status, 'token_hash', lower(hex(NEW.token_hash)), 'viewed_at', NEW.viewed_at, 'consented_at', NEW.consented_at, 'signed_at', NEW.signed_at, 'declined_at', NEW.declined_at, 'decline_reason', NEW.decline_reason, 'signature_sha256', lower(hex(NEW.signature_sha256)), 'initials_sha256', lower(hex(NEW.initials_sha256)), 'role', NEW.role),
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;
CREATE TRIGGER recipients_capture_delete AFTER DELETE ON recipients
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('recipients', OLD.id, OLD.document_id, 'delete', json_object('position', OLD.position, 'name', OLD.name, 'email', OLD.email, 'otp_required', OLD.otp_required, 'status', OLD.status, 'token_hash', lower(hex(OLD.token_hash)), 'viewed_at', OLD.viewed_at, 'consented_at', OLD.consented_at, 'signed_at', OLD.signed_at, 'declined_at', OLD.declined_at, 'decline_reason', OLD.decline_reason, 'signature_sha256', lower(hex(OLD.signature_sha256)), 'initials_sha256', lower(hex(OLD.initials_sha256)), 'role', OLD.role), NULL,
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;

CREATE TRIGGER field_values_capture_update AFTER UPDATE ON field_values
WHEN OLD.recipient_id IS NOT NEW.recipient_id OR OLD.value_json IS NOT NEW.value_json OR OLD.filled_at IS NOT NEW.filled_at
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('field_values', OLD.field_id, OLD.document_id, 'update', json_object('recipient_id', OLD.recipient_id, 'value_json', OLD.value_json, 'filled_at', OLD.filled_at),
            json_object('recipient_id', NEW.recipient_id, 'value_json', NEW.value_json, 'filled_at', NEW.filled_at),
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;
CREATE TRIGGER field_values_capture_delete AFTER DELETE ON field_values
BEGIN
    INSERT INTO state_changes (table_name, row_key, document_id, operation, old_values, new_values, log_index)
    VALUES ('field_values', OLD.field_id, OLD.document_id, 'delete', json_object('recipient_id', OLD.recipient_id, 'value_json', OLD.value_json, 'filled_at', OLD.filled_at), NULL,
            (SELECT log_index FROM evidence_context WHERE id = 1));
END;
