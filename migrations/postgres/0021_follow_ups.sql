-- Follow-ups of a document out for signature (attesta_core::ceremony).
--
-- Reminders (ReminderPolicy): the policy a document was sent with (read
-- from the configuration at sending, so a later change of it never alters a document already
-- out), and how many reminders each recipient was sent. Each reminder is a fresh link: the
-- time of the latest link is `recipients.link_issued_at`.
-- PostgreSQL mirror of ../sqlite/0021_follow_ups.sql (README.md here has the conventions).

ALTER TABLE documents ADD COLUMN reminder_first_after BIGINT;           -- µs after a link
ALTER TABLE documents ADD COLUMN reminder_every BIGINT;                 -- µs between reminders
ALTER TABLE documents ADD COLUMN reminder_max BIGINT NOT NULL DEFAULT 0 CHECK (reminder_max >= 0);
ALTER TABLE recipients ADD COLUMN reminders_sent BIGINT NOT NULL DEFAULT 0 CHECK (reminders_sent >= 0);

-- Stalls: how many of the instance's thresholds (`signing.stalled_after_days`) were recorded as
-- `document.stalled` for the document; each is recorded once, counted from the latest progress.
ALTER TABLE documents ADD COLUMN stalls BIGINT NOT NULL DEFAULT 0 CHECK (stalls >= 0);
