#!/usr/bin/env bash
# Command 1: install what is missing, build, and serve Attesta on the embedded default
# (SQLite database and files under ./data) at http://127.0.0.1:3000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

bash scripts/bootstrap.sh

# `--split`: the lazily loaded parts of the client (the /verify verifier) become their own WASM
# files; `--precompress`: brotli and gzip copies of the client made once here, sent as stored.
step "Building (release)"
cargo leptos build --release --split --precompress

mkdir -p data
export ATTESTA__SERVER__SITE_ROOT="${ATTESTA__SERVER__SITE_ROOT:-$REPO_ROOT/target/site}"
url="http://${ATTESTA__SERVER__HOST:-127.0.0.1}:${ATTESTA__SERVER__PORT:-3000}"
cat <<MSG

  Attesta is starting at $url
  Data: $REPO_ROOT/data (SQLite database attesta.db)

  First visit: the page asks you to create the owner account (name, email, a password of at
  least 12 characters); after that, sign in at $url/login.
  More users: $CARGO_TARGET_DIR/release/attesta user create --email ... --name ...
  Stop with Ctrl-C.

MSG
exec "$CARGO_TARGET_DIR/release/attesta" serve
