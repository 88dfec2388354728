#!/usr/bin/env bash
# Checks what migrations/postgres promises on a real PostgreSQL (issue 16), with psql alone, in a
# scratch database it creates and drops:
# - every migration applies, in order, each in one transaction, and grants.sql applies (twice:
#   it is idempotent) for the application role;
# - the triggers refuse, with SQLite's messages and even to the tables' owner: UPDATE, DELETE and
#   TRUNCATE of the append-only evidence tables, UPDATE of audit_personal, and the frozen columns
#   of a sent, completed or sealed document; what they must allow still works;
# - the grants: the application role can read and append evidence but UPDATE, DELETE and TRUNCATE
#   of it fail with "permission denied", and it cannot create tables; it can change state tables;
# - schema details the application relies on: emails must be stored lowercased, and the jobs
#   table's `ON CONFLICT (kind, subject) WHERE …` finds its partial unique index.
# Then it runs scripts/check-schema-parity.py (the same tables and columns as SQLite).
#
#   bash scripts/services/pg.sh start && eval "$(bash scripts/services/pg.sh env)"
#   bash scripts/pg-schema-check.sh
#
# Needs: bash, psql, python3, and ATTESTA_TEST_PG_ADMIN_URL, ATTESTA_TEST_PG_APP_ROLE and
# ATTESTA_TEST_PG_APP_PASSWORD (scripts/services/pg.sh env). Exits 1 on the first failed check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${ATTESTA_TEST_PG_ADMIN_URL:?set it: eval \"\$(bash scripts/services/pg.sh env)\"}"
: "${ATTESTA_TEST_PG_APP_ROLE:?}" "${ATTESTA_TEST_PG_APP_PASSWORD:?}"
PSQL="${PSQL:-psql}"

fail() { echo "pg-schema-check: FAILED: $*" >&2; exit 1; }

# postgres://user:pw@host:port/db -> the same server, database $2, as user $3:$4 when given.
url_for() {
  python3 - "$@" <<'EOF'
import sys, urllib.parse
parts = urllib.parse.urlsplit(sys.argv[1])
netloc = parts.netloc
if len(sys.argv) > 3:
    user = urllib.parse.quote(sys.argv[3], safe="")
    password = urllib.parse.quote(sys.argv[4], safe="")
    netloc = f"{user}:{password}@{netloc.rsplit('@', 1)[-1]}"
print(urllib.parse.urlunsplit(parts._replace(netloc=netloc, path="/" + sys.argv[2])))
EOF
}

SCRATCH="attesta_schema_check_$$"
ADMIN="$(url_for "$ATTESTA_TEST_PG_ADMIN_URL" "$SCRATCH")"
APP="$(url_for "$ATTESTA_TEST_PG_ADMIN_URL" "$SCRATCH" "$ATTESTA_TEST_PG_APP_ROLE" "$ATTESTA_TEST_PG_APP_PASSWORD")"
run() { "$PSQL" "$1" -X -q -v ON_ERROR_STOP=1 "${@:2}"; }

run "$ATTESTA_TEST_PG_ADMIN_URL" -c "CREATE DATABASE \"$SCRATCH\""
trap 'run "$ATTESTA_TEST_PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" >/dev/null 2>&1 || true' EXIT

for f in "$ROOT"/migrations/postgres/[0-9]*.sql; do
  run "$ADMIN" -1 -f "$f" > /dev/null || fail "$(basename "$f") does not apply"
done
# The role's name quoted as an identifier, as `attesta migrate` substitutes it.
quoted_role="\"${ATTESTA_TEST_PG_APP_ROLE//\"/\"\"}\""
for _ in 1 2; do
  sed -e "s/{{app_role}}/$quoted_role/g" -e "s/{{schema}}/public/g" "$ROOT/migrations/postgres/grants.sql" | run "$ADMIN" -1 -f - > /dev/null \
    || fail "grants.sql does not apply"
done
checks=0

# expect_refused URL SQL MESSAGE: the statement fails and the error names MESSAGE.
expect_refused() {
  local out
  if out="$(run "$1" -c "$2" 2>&1)"; then fail "accepted: $2"; fi
  grep -qF -- "$3" <<< "$out" || fail "$2: expected \"$3\", got: $out"
  checks=$((checks + 1))
}
# expect_ok URL SQL: the statement succeeds.
expect_ok() {
  local out
  out="$(run "$1" -c "$2" 2>&1)" || fail "refused: $2: $out"
  checks=$((checks + 1))
}

h32="decode(repeat('ab', 32), 'hex')"
run "$ADMIN" > /dev/null <<EOF
INSERT INTO users (id, email, name, role, created_at) VALUES (1, 'owner@example.test', 'Owner', 'owner', 0);
INSERT INTO blobs (key, sha256, size, stored_size, wrapped_key, master_key_id, content_type, created_at)
  VALUES ('b1', $h32, 1, 1, 'k', 'm', 'application/pdf', 0), ('b2', $h32, 1, 1, 'k', 'm', 'application/pdf', 0);
-- A draft, and a document that was sent, completed and sealed.
INSERT INTO documents (id, owner_id, title, title_folded, status, source, page_count, size, sha256, blob_key, created_at, updated_at)
  VALUES ('draft', 1, 'Draft', 'draft', 'draft', 'pdf', 1, 1, $h32, 'b1', 0, 0);
INSERT INTO documents (id, owner_id, title, title_folded, status, source, page_count, size, sha256, blob_key, created_at, updated_at,
                       layout_json, layout_sha256, signed_blob_key, signed_sha256, signed_size, sealed_blob_key, sealed_sha256, sealed_size, sealed_at)
  VALUES ('done', 1, 'Done', 'done', 'completed', 'pdf', 1, 1, $h32, 'b1', 0, 0,
          '{}', $h32, 'b1', $h32, 1, 'b2', $h32, 1, 1);
INSERT INTO audit_events VALUES (0, 'done', 0, 'document.created', 0, '{}', $h32);
INSERT INTO audit_personal VALUES (0, '{}', $h32);
INSERT INTO log_nodes VALUES (0, 0, $h32);
INSERT INTO log_checkpoints VALUES (1, 'note', NULL, '[]', 0);
EOF

# A column of each evidence table, to name in an UPDATE.
column_of() { case $1 in audit_events) echo seq ;; audit_personal) echo personal ;; log_nodes) echo hash ;; *) echo note ;; esac; }

# The triggers, as the owner (who holds every privilege): SQLite's messages.
for t in audit_events:'audit events are append-only' log_nodes:'the log is append-only' \
         log_checkpoints:'checkpoints are append-only'; do
  table="${t%%:*}" message="${t#*:}" column="$(column_of "${t%%:*}")"
  expect_refused "$ADMIN" "UPDATE $table SET $column = $column" "$message"
  expect_refused "$ADMIN" "DELETE FROM $table" "$message"
  expect_refused "$ADMIN" "TRUNCATE $table CASCADE" "$message"
done
expect_refused "$ADMIN" "UPDATE audit_personal SET personal = '{\"purged\":1}'" \
  "personal data of audit events cannot be altered, only purged"
expect_ok "$ADMIN" "BEGIN; DELETE FROM audit_personal; ROLLBACK"

expect_refused "$ADMIN" "UPDATE documents SET blob_key = blob_key WHERE id = 'done'" "a sent document's file and layout cannot change"
expect_refused "$ADMIN" "UPDATE documents SET layout_json = '[]' WHERE id = 'done'" "a sent document's file and layout cannot change"
expect_refused "$ADMIN" "UPDATE documents SET sha256 = $h32 WHERE id = 'done'" "a sent document's file and layout cannot change"
expect_refused "$ADMIN" "UPDATE documents SET signed_size = 2 WHERE id = 'done'" "a completed document's signed file cannot change"
expect_refused "$ADMIN" "UPDATE documents SET sealed_at = 2 WHERE id = 'done'" "a sealed document's file cannot change"
expect_ok "$ADMIN" "UPDATE documents SET title = 'Done!', completion_mailed_at = 1, ceremony_version = ceremony_version + 1 WHERE id = 'done'"
expect_ok "$ADMIN" "UPDATE documents SET sha256 = $h32, blob_key = 'b2', layout_json = NULL, signed_size = 1 WHERE id = 'draft'"
# The one change of a frozen key allowed: the retention purge of every file at once, hashes kept.
expect_refused "$ADMIN" "UPDATE documents SET files_purged_at = 5, blob_key = NULL, signed_blob_key = NULL, sealed_blob_key = NULL, sealed_size = 9 WHERE id = 'done'" \
  "a sealed document's file cannot change"
expect_refused "$ADMIN" "UPDATE documents SET files_purged_at = 5, blob_key = NULL, signed_blob_key = 'b2', sealed_blob_key = NULL WHERE id = 'done'" \
  "a completed document's signed file cannot change"

# Schema details the application relies on.
expect_refused "$ADMIN" "INSERT INTO users (id, email, name, role, created_at) VALUES (2, 'Owner@example.test', 'O', 'member', 0)" \
  "users_email_check"
expect_refused "$ADMIN" "INSERT INTO users (id, email, name, role, created_at) VALUES (2, 'owner@example.test', 'O', 'member', 0)" \
  "users_email_key"
for _ in 1 2; do
  expect_ok "$ADMIN" "INSERT INTO jobs (id, kind, subject, payload, dedupe_key, mergeable, state, run_at, created_at)
    VALUES ('job_' || md5(random()::text), 'seal', 'done', '{}', NULL, 1, 'queued', 5, 0)
    ON CONFLICT (kind, subject) WHERE mergeable = 1 AND state = 'queued' AND attempts = 0
    DO UPDATE SET run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END RETURNING id"
done
[ "$(run "$ADMIN" -At -c "SELECT count(*) FROM jobs")" = 1 ] || fail "two mergeable waiting jobs for one subject"

# The grants: the application role appends evidence, never changes it.
expect_ok "$APP" "SELECT count(*) FROM audit_events JOIN audit_personal USING (log_index)"
expect_ok "$APP" "INSERT INTO audit_events VALUES (1, 'done', 1, 'document.viewed', 0, '{}', $h32)"
expect_ok "$APP" "INSERT INTO audit_personal VALUES (1, '{}', $h32)"
expect_ok "$APP" "INSERT INTO log_nodes VALUES (0, 1, $h32)"
expect_ok "$APP" "INSERT INTO log_checkpoints VALUES (2, 'note', 1, '[]', 0)"
for table in audit_events audit_personal log_nodes log_checkpoints; do
  column="$(column_of "$table")"
  expect_refused "$APP" "UPDATE $table SET $column = $column" "permission denied for table $table"
  if [ "$table" = audit_personal ]; then
    # The retention purge deletes personal data (server/src/retention.rs); never alters it.
    expect_ok "$APP" "BEGIN; DELETE FROM $table; ROLLBACK"
  else
    expect_refused "$APP" "DELETE FROM $table" "permission denied for table $table"
  fi
  expect_refused "$APP" "TRUNCATE $table" "permission denied for table $table"
done
expect_refused "$APP" "CREATE TABLE mine (a BIGINT)" "permission denied for schema public"
expect_refused "$APP" "TRUNCATE documents" "permission denied for table documents"
expect_ok "$APP" "UPDATE documents SET title = 'Again' WHERE id = 'done'"
expect_ok "$APP" "INSERT INTO api_keys (public_id, user_id, name, scopes, secret_hash, created_at) VALUES ('pk', 1, 'k', 'read', $h32, 0)"
expect_ok "$APP" "DELETE FROM login_failures"
# The triggers still stand behind the grants.
expect_refused "$APP" "UPDATE documents SET blob_key = NULL WHERE id = 'done'" "a sent document's file and layout cannot change"
expect_ok "$APP" "UPDATE documents SET files_purged_at = 5, blob_key = NULL, signed_blob_key = NULL, sealed_blob_key = NULL WHERE id = 'done'"
expect_refused "$APP" "UPDATE documents SET files_purged_at = 6 WHERE id = 'done'" "a document's files are purged once"
expect_refused "$APP" "UPDATE documents SET blob_key = 'b1' WHERE id = 'done'" "a sent document's file and layout cannot change"

echo "pg-schema-check: $checks checks passed (migrations, triggers, grants)"
python3 "$ROOT/scripts/check-schema-parity.py"
