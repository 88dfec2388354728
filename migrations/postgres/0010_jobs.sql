-- Durable jobs: the follow-up work of a state change (mail, completion and sealing), and
-- recurring work (checkpoints, purges, sweeps), run by whichever server process claims them.
-- PostgreSQL mirror of ../sqlite/0010_jobs.sql (README.md here has the conventions).
--
-- A job is inserted in the same transaction as the change that asks for it, so it exists
-- exactly when the change committed. A worker claims due jobs with one UPDATE … RETURNING that
-- sets a lease (owner and until) and counts the attempt; a process that dies mid-job leaves the
-- lease to expire and another takes the job. Only the lease holder records the outcome.
--
-- Two keys keep a job from running twice for one reason:
-- - (kind, subject) is unique among mergeable jobs waiting that were never tried, so asking
--   twice for the same follow-up before it ran makes one job (a running or retrying job does not absorb the
--   request: it may have read the state before the change that asked again);
-- - dedupe_key is unique for good: one job per period of a recurring schedule, however many
--   processes notice the period.
-- jobs_waiting_once's predicate is written exactly as the application's
-- `ON CONFLICT (kind, subject) WHERE …` names it: PostgreSQL infers the index from it.

CREATE TABLE jobs (
    id           TEXT    PRIMARY KEY,                   -- job_<hex>
    kind         TEXT    NOT NULL,                      -- attesta_core::jobs::JobKind::as_str
    subject      TEXT    NOT NULL DEFAULT '',           -- a document id, or empty
    payload      TEXT    NOT NULL DEFAULT '{}',         -- JSON for the handler
    dedupe_key   TEXT    UNIQUE,                        -- once-only key (recurring: kind@period)
    mergeable    BIGINT  NOT NULL DEFAULT 0 CHECK (mergeable IN (0, 1)), -- joins a waiting twin
    state        TEXT    NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at       BIGINT  NOT NULL,                      -- due from, UTC microseconds
    attempts     BIGINT  NOT NULL DEFAULT 0,            -- attempts started (counted at claim; the
                                                        -- limit is the runner's, jobs.max_attempts)
    lease_owner  TEXT,                                  -- the claiming worker while running
    lease_until  BIGINT,                                -- after this another worker may take it
    last_error   TEXT,
    created_at   BIGINT  NOT NULL,
    started_at   BIGINT,                                -- the latest attempt's start
    finished_at  BIGINT                                 -- done or failed
);

-- What a worker looks for: waiting jobs by due time, and running ones whose lease expired.
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
-- The admin page: most recent first, and the failed ones.
CREATE INDEX jobs_recent ON jobs (created_at);
CREATE UNIQUE INDEX jobs_waiting_once ON jobs (kind, subject) WHERE mergeable = 1 AND state = 'queued' AND attempts = 0;
