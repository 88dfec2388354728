#!/usr/bin/env bash
# Property-based test of the REST API against its own OpenAPI document (Schemathesis): starts the
# already-built debug `attesta` binary on a temporary data folder and a free loopback port,
# creates an owner and an API key with the command line, seeds documents, and runs every check
# (no server error, responses conform to the schema, status codes and headers documented, ...)
# with a bounded number of examples per operation. Any finding fails the script.
#
#   scripts/api-schema-test.sh            # after `cargo build -p attesta-server --bin attesta`
#   ST_MAX_EXAMPLES=50 scripts/api-schema-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

BIN="${ATTESTA_TEST_BIN:-$CARGO_TARGET_DIR/debug/attesta}"
ST="$HOME/.cache/attesta/venv-schemathesis/bin/st"
[ -x "$BIN" ] || { echo "no $BIN: build it with cargo build -p attesta-server --bin attesta" >&2; exit 2; }
[ -x "$ST" ] || { echo "no Schemathesis at $ST: run scripts/bootstrap.sh" >&2; exit 2; }

data=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# Only ATTESTA variables of ours: a stray one from the caller's shell must not leak in.
unset $(env | grep -o '^ATTESTA[A-Z_]*' | grep -v '^ATTESTA_TEST' || true)
export ATTESTA_CONFIG="$data/none.toml"
export ATTESTA__SERVER__HOST=127.0.0.1 ATTESTA__SERVER__PORT="$port"
export ATTESTA__SERVER__SITE_ROOT="$data/site"
export ATTESTA__DATABASE__URL="sqlite://$data/attesta.db"
export ATTESTA__EVIDENCE__LOG_KEY_FILE="$data/log.key"
export ATTESTA__STORAGE__PATH="$data/blobs" ATTESTA__STORAGE__SPOOL_DIR="$data/spool"
export ATTESTA__STORAGE__MASTER_KEY_FILE="$data/master.key"
export ATTESTA__SEAL__DIR="$data/seal"
export ATTESTA__MAIL__OUTBOX_DIR="$data/outbox"
# The run is a burst of requests from one key: the rate limit is tested elsewhere (tests/api/rest.rs).
export ATTESTA__API__REQUESTS_PER_MINUTE=1000000 ATTESTA__API__BURST=1000000
export ATTESTA__LOG__FILTER=warn
mkdir -p "$data/site"

step "Starting attesta on $base"
"$BIN" serve > "$data/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" > /dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$data/server.log"; exit 1; }
  sleep 0.2
done

printf 'a long enough password\n' | "$BIN" user create --email ada@example.com --name "Ada Lovelace" --role owner > /dev/null
key=$("$BIN" api-key create --email ada@example.com --name schemathesis --scopes admin)

step "Seeding documents"
for title in Draft Sent; do
  send=$([ "$title" = Sent ] && echo true || echo false)
  curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$base/api/v1/documents" \
    --data "{\"title\":\"$title\",\"markdown\":\"# $title\\n\\nPlease sign.\\n\",\"send\":$send,
             \"recipients\":[{\"name\":\"Grace Hopper\",\"email\":\"grace@example.com\"}],
             \"fields\":[{\"recipient\":\"grace@example.com\",\"kind\":\"signature\",\"page\":1,
                          \"x\":72,\"y\":100,\"width\":180,\"height\":48}]}"
done

step "Schemathesis against $base/api/v1/openapi.json"
# Every check but positive_data_acceptance ("schema-valid requests are accepted"): a document's
# rules go beyond what a schema says (fields inside the page, each tied to a recipient's email,
# distinct valid emails before sending, Markdown that typesets), so schema-valid requests are
# rightly refused with 422. Refusing schema-invalid ones (negative_data_rejection) is checked.
# From the temporary folder: Schemathesis and Hypothesis leave their caches where they run.
cd "$data"
"$ST" run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "${ST_MAX_EXAMPLES:-50}" \
  --workers 2 \
  --seed "${ST_SEED:-42}" \
  --generation-database none \
  --request-timeout 60 \
  --report-dir "$data/report" \
  --no-color
