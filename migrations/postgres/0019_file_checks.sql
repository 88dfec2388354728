-- The self-verification's rolling schedule (server/src/integrity.rs, rule in
-- attesta_core::integrity): when each stored file was last decrypted and re-hashed, and whether
-- it matched, so that each nightly run takes its share and every file is re-hashed within
-- `jobs.self_verify_rehash_period`. A record of checks, not evidence.
-- PostgreSQL mirror of ../sqlite/0019_file_checks.sql (README.md here has the conventions).

CREATE TABLE file_checks (
    blob_key    TEXT   PRIMARY KEY,
    document_id TEXT   NOT NULL,
    which       TEXT   NOT NULL,              -- 'original', 'signed' or 'sealed'
    checked_at  BIGINT NOT NULL,
    ok          BIGINT NOT NULL CHECK (ok IN (0, 1))
);
