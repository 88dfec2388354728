-- What the application role may do on PostgreSQL (issue 16, "Append-only at the grant level").
--
-- `attesta migrate` runs this after the migrations, as the migration role (the tables' owner),
-- when an application role is configured, with every {{app_role}} replaced by that role's name
-- quoted as an identifier and every {{schema}} by the schema the tables live in (`public`
-- unless the URL's search_path names another). It is idempotent: it first takes everything away, then grants exactly
-- what the application's SQL does, so running it after each migration also covers new tables
-- (a table a later migration adds gets nothing until it is listed here).
--
-- The evidence tables get SELECT and INSERT only: without UPDATE, DELETE and TRUNCATE the
-- application cannot rewrite the log even if the triggers of 0002_evidence.sql were dropped, and
-- the triggers refuse it even to the owner. audit_personal may also be DELETEd from: the
-- retention purge (server/src/retention.rs) deletes personal data, never alters it (its trigger
-- refuses UPDATE), each purge with its `retention.personal_data_purged` event.

REVOKE ALL ON ALL TABLES IN SCHEMA {{schema}} FROM {{app_role}};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {{schema}} FROM {{app_role}};
-- The application never creates objects (PostgreSQL 15 no longer lets PUBLIC create in public;
-- a database upgraded from an older one may: the server's start-up check reports it).
REVOKE CREATE ON SCHEMA {{schema}} FROM {{app_role}};
GRANT USAGE ON SCHEMA {{schema}} TO {{app_role}};

-- Evidence: append-only.
GRANT SELECT, INSERT ON audit_events, audit_personal, log_nodes, log_checkpoints, state_changes TO {{app_role}};
GRANT DELETE ON audit_personal TO {{app_role}};

-- State: the application reads and changes these.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    users, login_failures,
    blobs, documents, recipients, field_values, otp_codes,
    user_sessions, web_sessions, sso_identities,
    api_keys, api_idempotency,
    webhook_endpoints, webhook_secrets, webhook_messages, webhook_attempts, webhook_cursor,
    jobs, rate_limits, self_verifications,
    legal_holds, retention_runs, file_checks,
    document_risk_flags, document_risk_scans
TO {{app_role}};

-- The event being appended (set and cleared by the sequencer around each state change).
GRANT SELECT, UPDATE ON evidence_context TO {{app_role}};

-- The identity columns' sequences (api_keys.id, webhook_attempts.id). An
-- INSERT that fills an identity column does not check them, but nextval by name would.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {{schema}} TO {{app_role}};

-- sqlx's migration history, made outside these migrations (read only, so the server can check
-- the schema is up to date).
DO $$
BEGIN
    IF to_regclass('{{schema}}._sqlx_migrations') IS NOT NULL THEN
        GRANT SELECT ON {{schema}}._sqlx_migrations TO {{app_role}};
    END IF;
END
$$;
