-- API keys (REST API v1) and the idempotency records of document creation.

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    -- The key's public half (`atk_<public_id>_…`): how a request finds its row.
    public_id     TEXT    NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,  -- `read,send,admin`, a non-empty subset in that order
    -- SHA-256("attesta/v1/api-key" || 0x00 || secret): the secret itself is never stored.
    secret_hash   BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    created_at    INTEGER NOT NULL,  -- UTC microseconds
    last_used_at  INTEGER,           -- updated at most once a minute
    revoked_at    INTEGER
) STRICT;

CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);

-- `Idempotency-Key` of POST /api/v1/documents, per API key, kept 24 hours. A row without a
-- response is a request still running (a second one with the same key is a 409).
CREATE TABLE api_idempotency (
    api_key_id      INTEGER NOT NULL REFERENCES api_keys (id),
    idempotency_key TEXT    NOT NULL,
    request_sha256  BLOB    NOT NULL CHECK (length(request_sha256) = 32),
    created_at      INTEGER NOT NULL,
    status          INTEGER,         -- the stored response, once there is one
    response        TEXT,
    PRIMARY KEY (api_key_id, idempotency_key)
) STRICT, WITHOUT ROWID;
