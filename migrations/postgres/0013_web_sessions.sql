-- Browser sessions in a table of the project's own migrations, the same on both databases:
-- expiry in microseconds (like every stored time) compared with the clock port's time.
-- PostgreSQL mirror of ../sqlite/0013_web_sessions.sql (README.md here has the conventions).
DROP TABLE IF EXISTS sessions;

CREATE TABLE web_sessions (
    id         TEXT   PRIMARY KEY NOT NULL,
    data       BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
