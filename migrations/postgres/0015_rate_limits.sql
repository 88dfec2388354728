-- Rate limits shared by every instance on one database (server/src/http/limiter.rs): each
-- bucket's theoretical arrival time (GCRA), in microseconds.
-- PostgreSQL mirror of ../sqlite/0015_rate_limits.sql (README.md here has the conventions).
-- UNLOGGED: no WAL and no fsync per request; after a crash the table is empty, which only lets
-- a few more requests through.
CREATE UNLOGGED TABLE rate_limits (
    bucket TEXT   PRIMARY KEY NOT NULL,
    tat    BIGINT NOT NULL
);
