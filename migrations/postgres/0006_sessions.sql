-- The registry of signed-in sessions: what a user sees on their sessions page and can revoke.
-- PostgreSQL mirror of ../sqlite/0006_sessions.sql (README.md here has the conventions).
-- The session's secret id stays in tower-sessions' own table; a session carries its
-- handle, and is valid only while its row here is live (not revoked, within the timeouts).

CREATE TABLE user_sessions (
    handle       TEXT    PRIMARY KEY,          -- 32 hex characters, not a credential
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    created_at   BIGINT  NOT NULL,             -- UTC microseconds since the epoch
    last_seen_at BIGINT  NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    revoked_at   BIGINT
);

CREATE INDEX user_sessions_by_user ON user_sessions (user_id, last_seen_at);
