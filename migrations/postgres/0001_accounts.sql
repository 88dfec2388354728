-- Accounts of the embedded default, and the failed sign-ins that throttle them.
-- PostgreSQL mirror of ../sqlite/0001_accounts.sql (README.md here has the conventions).
--
-- users.id is chosen by the application (the next id, inserted explicitly: the user.created
-- event names it), so it is a plain BIGINT, not an identity column. SQLite compares emails
-- with COLLATE NOCASE, which folds ASCII letters only; the application stores them lowercased,
-- so here the CHECK keeps ASCII capitals out and plain UNIQUE then refuses the same duplicates.

CREATE TABLE users (
    id                 BIGINT  PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE CHECK (email = lower(email COLLATE "C")),
    name               TEXT    NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash      TEXT,
    disabled           BIGINT  NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    -- Bumped to end every session of the user at once.
    session_generation BIGINT  NOT NULL DEFAULT 0,
    created_at         BIGINT  NOT NULL  -- UTC microseconds since the epoch
);

CREATE TABLE login_failures (
    key TEXT    NOT NULL,  -- 'account:<email>' or 'address:<ip>'
    at  BIGINT  NOT NULL   -- UTC microseconds since the epoch
);

CREATE INDEX login_failures_by_key ON login_failures (key, at);
