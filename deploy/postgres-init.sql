-- The two roles and the database of deploy/compose.yaml (docs/SCALING.md, "PostgreSQL").
--
-- Run once by the postgres image when its data volume is empty (mounted into
-- /docker-entrypoint-initdb.d/), as the superuser, with psql. The passwords come from the db
-- container's environment (PG_OWNER_PASSWORD, PG_APP_PASSWORD) through psql's \getenv
-- (PostgreSQL 15 and later), so none is written here; psql stops at the first error.
--
-- - attesta_owner owns the database, so it owns the `public` schema's tables it creates: it
--   runs `attesta migrate` (database.migrate_url) and grants the application role exactly what
--   migrations/postgres/grants.sql lists. It needs no superuser, CREATEDB or CREATEROLE.
-- - attesta_app is what `attesta serve` connects as (database.url): it owns nothing, and after
--   `attesta migrate` may read everything, change state, and only append evidence.
--
-- The same statements as scripts/services/pg.sh makes its test cluster's roles with. The cluster
-- itself is made with --locale=C.UTF-8 (POSTGRES_INITDB_ARGS in compose.yaml), as the tests'
-- cluster is, so text sorts as on SQLite (migrations/postgres/README.md).

\getenv owner_password PG_OWNER_PASSWORD
\getenv app_password PG_APP_PASSWORD

CREATE ROLE attesta_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE attesta_app LOGIN PASSWORD :'app_password';
CREATE DATABASE attesta OWNER attesta_owner;
