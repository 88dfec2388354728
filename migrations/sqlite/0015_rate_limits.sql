-- Rate limits shared by every instance on one database (server/src/http/limiter.rs): each
-- bucket's theoretical arrival time (GCRA), in microseconds. Used on PostgreSQL, where several
-- processes serve one database; SQLite instances keep their limits in memory, and the table is
-- here so that both schemas stay alike (and `attesta db copy` moves nothing special).
CREATE TABLE rate_limits (
    bucket TEXT    PRIMARY KEY NOT NULL,
    tat    INTEGER NOT NULL
) STRICT;
