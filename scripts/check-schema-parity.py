#!/usr/bin/env python3
"""Checks that migrations/postgres builds the same schema as migrations/sqlite (issue 16).

The server runs one SQL text on both databases (sqlx::Any), and `attesta db copy` moves every
row from one to the other, so the two schemas must agree. This applies migrations/sqlite to an
in-memory SQLite and migrations/postgres to a fresh PostgreSQL database, then compares:

- the migration files: the same names, one for one (sqlx needs the same versions);
- the tables, and per table its columns in order, each column's type class (SQLite INTEGER ->
  bigint, TEXT -> text, BLOB -> bytea), NOT NULL and primary key;
- the indexes created by name, and the triggers (PostgreSQL may add `<table>_no_truncate`).

The one allowed difference: `<table>_no_truncate` triggers on PostgreSQL, which have no SQLite
counterpart (SQLite has no TRUNCATE).

Needs: python3 (stdlib only), psql, and a PostgreSQL whose admin URL is in
ATTESTA_TEST_PG_ADMIN_URL (`eval "$(bash scripts/services/pg.sh env)"`); the role must be
allowed to create databases. Exits 0 when the schemas agree, 1 listing each difference, 2 when
it cannot run. Override the client with PSQL.
"""

import os
import sqlite3
import subprocess
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_DIR = ROOT / "migrations" / "sqlite"
PG_DIR = ROOT / "migrations" / "postgres"
PSQL = os.environ.get("PSQL", "psql")

# SQLite declared type -> PostgreSQL data_type, for our conventions (migrations/postgres/README.md).
TYPE_MAP = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}


def fail_to_run(message):
    print(f"check-schema-parity: {message}", file=sys.stderr)
    sys.exit(2)


def migration_files(folder):
    return sorted(p for p in folder.glob("*.sql") if p.name[:4].isdigit())


def sqlite_schema():
    db = sqlite3.connect(":memory:")
    for path in migration_files(SQLITE_DIR):
        db.executescript(path.read_text())
    tables = {}
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ):
        columns = []
        for _cid, col, decl, notnull, _default, pk in db.execute(f'PRAGMA table_info("{name}")'):
            columns.append((col, TYPE_MAP.get(decl.upper(), f"? {decl}"), bool(notnull or pk), pk > 0))
        tables[name] = columns
    indexes = {
        row[0]
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    }
    triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return tables, indexes, triggers


def psql(url, *args, stdin=None):
    done = subprocess.run(
        [PSQL, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"psql exited with {done.returncode}")
    return done.stdout


def rows(url, sql):
    return [line.split("|") for line in psql(url, "-At", "-c", sql).splitlines() if line]


def postgres_schema(url):
    for path in migration_files(PG_DIR):
        try:
            psql(url, "-1", "-f", str(path))
        except RuntimeError as error:
            fail_to_run(f"{path.relative_to(ROOT)} does not apply: {error}")
    tables = {}
    for table, column, data_type, nullable, is_pk in rows(
        url,
        """SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
                  EXISTS (SELECT 1 FROM information_schema.table_constraints t
                          JOIN information_schema.key_column_usage k
                            ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema
                          WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = 'public'
                            AND t.table_name = c.table_name AND k.column_name = c.column_name)
           FROM information_schema.columns c
           JOIN information_schema.tables tb
             ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
           WHERE c.table_schema = 'public'
           ORDER BY c.table_name, c.ordinal_position""",
    ):
        tables.setdefault(table, []).append((column, data_type, nullable == "NO", is_pk == "t"))
    indexes = {
        row[0]
        for row in rows(
            url,
            """SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        )
    }
    triggers = {
        row[0]
        for row in rows(
            url,
            """SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
        )
    }
    return tables, indexes, triggers


def compare(lite, pg):
    (lite_tables, lite_indexes, lite_triggers), (pg_tables, pg_indexes, pg_triggers) = lite, pg
    problems = []

    lite_files = [p.name for p in migration_files(SQLITE_DIR)]
    pg_files = [p.name for p in migration_files(PG_DIR)]
    if lite_files != pg_files:
        problems.append(f"migration files differ: sqlite {lite_files}, postgres {pg_files}")

    for name in sorted(set(lite_tables) - set(pg_tables)):
        problems.append(f"table {name}: only in SQLite")
    for name in sorted(set(pg_tables) - set(lite_tables)):
        problems.append(f"table {name}: only in PostgreSQL")
    for name in sorted(set(lite_tables) & set(pg_tables)):
        want = lite_tables[name]
        got = pg_tables[name]
        if [c[0] for c in want] != [c[0] for c in got]:
            problems.append(f"table {name}: columns differ: sqlite {[c[0] for c in want]}, postgres {[c[0] for c in got]}")
            continue
        for (column, lite_type, lite_notnull, lite_pk), (_, pg_type, pg_notnull, pg_pk) in zip(want, got):
            if lite_type != pg_type:
                problems.append(f"{name}.{column}: type {pg_type} on PostgreSQL, expected {lite_type}")
            if lite_notnull != pg_notnull:
                problems.append(f"{name}.{column}: NOT NULL is {lite_notnull} on SQLite, {pg_notnull} on PostgreSQL")
            if lite_pk != pg_pk:
                problems.append(f"{name}.{column}: primary key on {'SQLite' if lite_pk else 'PostgreSQL'} only")

    for name in sorted(lite_indexes ^ pg_indexes):
        problems.append(f"index {name}: only in {'SQLite' if name in lite_indexes else 'PostgreSQL'}")
    for name in sorted(lite_triggers - pg_triggers):
        problems.append(f"trigger {name}: only in SQLite")
    for name in sorted(pg_triggers - lite_triggers):
        if not name.endswith("_no_truncate"):
            problems.append(f"trigger {name}: only in PostgreSQL")
    return problems


def main():
    admin_url = os.environ.get("ATTESTA_TEST_PG_ADMIN_URL")
    if not admin_url:
        fail_to_run('ATTESTA_TEST_PG_ADMIN_URL is not set: bash scripts/services/pg.sh start && eval "$(bash scripts/services/pg.sh env)"')
    parts = urllib.parse.urlsplit(admin_url)
    scratch = f"attesta_parity_{os.getpid()}"
    scratch_url = urllib.parse.urlunsplit(parts._replace(path=f"/{scratch}"))
    lite = sqlite_schema()
    try:
        psql(admin_url, "-c", f'CREATE DATABASE "{scratch}"')
    except (RuntimeError, FileNotFoundError) as error:
        fail_to_run(f"cannot create a scratch database: {error}")
    try:
        pg = postgres_schema(scratch_url)
    finally:
        psql(admin_url, "-c", f'DROP DATABASE IF EXISTS "{scratch}"')

    problems = compare(lite, pg)
    if problems:
        print("check-schema-parity: migrations/postgres and migrations/sqlite differ:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        sys.exit(1)
    print(
        f"check-schema-parity: {len(lite[0])} tables, {len(lite[1])} indexes and {len(lite[2])} triggers "
        "agree between migrations/sqlite and migrations/postgres"
    )


if __name__ == "__main__":
    main()
