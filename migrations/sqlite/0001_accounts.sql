-- Accounts of the embedded default, and the failed sign-ins that throttle them.

CREATE TABLE users (
    id                 INTEGER PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name               TEXT    NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash      TEXT,
    disabled           INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    -- Bumped to end every session of the user at once.
    session_generation INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL  -- UTC microseconds since the epoch
) STRICT;

CREATE TABLE login_failures (
    key TEXT    NOT NULL,  -- 'account:<email>' or 'address:<ip>'
    at  INTEGER NOT NULL   -- UTC microseconds since the epoch
) STRICT;

CREATE INDEX login_failures_by_key ON login_failures (key, at);
