-- Webhooks: endpoints per user, their signing secrets, the outbox of messages with every
-- delivery attempt, and the dispatcher's cursor over the audit log.
--
-- Messages are made from committed audit events only: the dispatcher reads audit_events past
-- `webhook_cursor.next_log_index` (log indexes are assigned under the database's write lock, so
-- committed rows are contiguous) and, in one transaction, inserts the messages and advances the
-- cursor. Delivery happens afterwards, from this table, by whichever server process leases a
-- message first.

CREATE TABLE webhook_endpoints (
    id          TEXT    PRIMARY KEY,                 -- ep_<hex>
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    url         TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    event_types TEXT    NOT NULL,                    -- JSON array of names; ["*"] = all
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  INTEGER NOT NULL                     -- UTC microseconds
) STRICT;

CREATE INDEX webhook_endpoints_by_owner ON webhook_endpoints (owner_id, created_at);

-- A secret is 32 random bytes stored encrypted like a file (storage::envelope): a fresh data
-- key wrapped by the storage master key, bound to the secret's id, and the secret encrypted
-- with it. The current secret has no expiry; a rotated-out one keeps signing beside it until
-- `expires_at`.
CREATE TABLE webhook_secrets (
    id             TEXT    PRIMARY KEY,              -- sec_<hex>
    endpoint_id    TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    wrapped_key    TEXT    NOT NULL,                 -- the data key, wrapped by the master key
    master_key_id  TEXT    NOT NULL,                 -- which master key wrapped it
    ciphertext     BLOB    NOT NULL,                 -- the secret, encrypted with the data key
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER
) STRICT;

CREATE INDEX webhook_secrets_by_endpoint ON webhook_secrets (endpoint_id, created_at DESC);

CREATE TABLE webhook_messages (
    id               TEXT    PRIMARY KEY,            -- msg_<hex>, the webhook-id header
    endpoint_id      TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type       TEXT    NOT NULL,
    log_index        INTEGER,                        -- the audit event; NULL for webhook.test
    payload          TEXT    NOT NULL,               -- the exact JSON body
    created_at       INTEGER NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,                        -- NULL once delivered or failed
    last_status_code INTEGER,
    lease_owner      TEXT,                           -- the process delivering it now
    lease_until      INTEGER,                        -- after this another process may take it
    UNIQUE (endpoint_id, log_index)
) STRICT;

CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (endpoint_id, created_at DESC);

CREATE TABLE webhook_attempts (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT    NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    attempted_at  INTEGER NOT NULL,
    status_code   INTEGER,                           -- NULL when no answer came
    duration_ms   INTEGER NOT NULL,
    error         TEXT,                              -- why it failed without a status code
    response_head TEXT                               -- the first bytes of the answer's body
) STRICT;

CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id, attempted_at);

-- One row: the first audit log index not yet turned into messages. Starts after the events
-- already there, so turning webhooks on does not replay history.
CREATE TABLE webhook_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    next_log_index INTEGER NOT NULL
) STRICT;

INSERT INTO webhook_cursor (id, next_log_index) SELECT 1, COALESCE(MAX(log_index) + 1, 0) FROM audit_events;
