-- Single sign-on: which OpenID Connect identity (issuer, subject) signs in as which account.
-- PostgreSQL mirror of ../sqlite/0007_sso.sql (README.md here has the conventions).
-- Accounts created by SSO have no password_hash (NULL): only SSO signs them in.

CREATE TABLE sso_identities (
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The email the provider vouched for at the last sign-in (for the logs and admins).
    email         TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,  -- UTC microseconds since the epoch
    last_login_at BIGINT  NOT NULL,  -- UTC microseconds since the epoch
    PRIMARY KEY (issuer, subject)
);

CREATE INDEX sso_identities_by_user ON sso_identities (user_id);
