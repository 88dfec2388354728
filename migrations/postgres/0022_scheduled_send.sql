-- Scheduled sending (attesta_core::ceremony, Command::Schedule): the instant a draft is to be
-- sent (UTC µs) and the IANA time zone the sender picked it in, so the app tells it back in
-- their terms. Both NULL when the draft is not scheduled; set and cleared only by ceremony
-- transitions (`document.scheduled`, `document.schedule_cancelled`, `document.sent`).
ALTER TABLE documents ADD COLUMN scheduled_at BIGINT;
ALTER TABLE documents ADD COLUMN scheduled_zone TEXT CHECK (scheduled_zone IS NULL OR char_length(scheduled_zone) BETWEEN 1 AND 64);

-- The "Scheduled" list of the app and the API.
CREATE INDEX documents_scheduled ON documents (scheduled_at) WHERE scheduled_at IS NOT NULL;
