-- Browser sessions in a table of the project's own migrations, the same on both databases:
-- expiry in microseconds (like every stored time) compared with the clock port's time. The old
-- `sessions` table (created outside the migrations by tower-sessions-sqlx-store, expiry as
-- text) is dropped: browsers signed in before the upgrade sign in once more.
DROP TABLE IF EXISTS sessions;

CREATE TABLE web_sessions (
    id         TEXT    PRIMARY KEY NOT NULL,
    data       BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
