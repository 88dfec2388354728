-- The registry of signed-in sessions: what a user sees on their sessions page and can revoke.
-- The session's secret id stays in tower-sessions' `sessions` table; a session carries its
-- handle, and is valid only while its row here is live (not revoked, within the timeouts).

CREATE TABLE user_sessions (
    handle       TEXT    PRIMARY KEY,          -- 32 hex characters, not a credential
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,             -- UTC microseconds since the epoch
    last_seen_at INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX user_sessions_by_user ON user_sessions (user_id, last_seen_at);
