#!/usr/bin/env bash
# A real OpenID provider for the SSO tests and demos: panva's oidc-provider 9.13.3 (npm, pinned in
# scripts/services/idp/package-lock.json) run by scripts/services/idp/idp.mjs, on loopback only.
# Its clients, accounts and test-only knobs are described at the top of idp.mjs.
#
#   scripts/services/idp.sh start   # install if missing, start
#   scripts/services/idp.sh stop    # SIGTERM, wait up to 10 s, then SIGKILL
#   scripts/services/idp.sh env     # print the ATTESTA_TEST_* exports: eval "$(scripts/services/idp.sh env)"
#   scripts/services/idp.sh status  # exit 0 when running and healthy
#
# Needs: bash, curl, node and npm (scripts/bootstrap.sh installs them). oidc-provider 9 asks for
# Node 22 and prints a warning on Node 20; it works there (shared notes, components §4).
#
# Overrides (environment): ATTESTA_SERVICES_DIR, IDP_PORT, IDP_START_TIMEOUT.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IDP_DIR="$HERE/idp"
DIR="${ATTESTA_SERVICES_DIR:-$HOME/.cache/attesta/services}/idp"
PID_FILE="$DIR/idp.pid"
LOG="$DIR/idp.log"

IDP_PORT="${IDP_PORT:-9400}"
IDP_START_TIMEOUT="${IDP_START_TIMEOUT:-30}"
ISSUER="http://127.0.0.1:$IDP_PORT"

NAME=idp.sh
CMDLINE_PATTERN="idp.mjs"
START_TIMEOUT="$IDP_START_TIMEOUT"
SERVER_LABEL="the provider"
HEALTH_WORD=healthy
POLL_INTERVAL=0.25
ALREADY_NOTE=": $ISSUER"
STARTED_NOTE=": issuer $ISSUER"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

healthy() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ISSUER/.well-known/openid-configuration" || true)" = 200 ]
}

# The lock's oidc-provider version, and the installed one.
wanted_version() { node -p "require('$IDP_DIR/package-lock.json').packages['node_modules/oidc-provider'].version"; }
installed_version() {
  [ -f "$IDP_DIR/node_modules/oidc-provider/package.json" ] || return 0
  node -p "require('$IDP_DIR/node_modules/oidc-provider/package.json').version" 2>/dev/null || true
}

install() {
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "node and npm are missing: apt-get install -y nodejs npm (or run scripts/bootstrap.sh)"
  if [ "$(installed_version)" = "$(wanted_version)" ]; then
    return 0
  fi
  say "installing oidc-provider $(wanted_version) into $IDP_DIR/node_modules (npm ci)"
  (cd "$IDP_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  [ "$(installed_version)" = "$(wanted_version)" ] || die "npm ci finished but oidc-provider is not installed"
}

launch() {
  install
  ! port_in_use "$IDP_PORT" || die "port $IDP_PORT already in use (set IDP_PORT to a free one)"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  (cd "$IDP_DIR" && IDP_PORT="$IDP_PORT" exec setsid node "$IDP_DIR/idp.mjs" < /dev/null > "$LOG" 2>&1) &
}

# Everything a test (Rust or Playwright) needs: the issuer, both clients, and a login for the dev
# form (any password is accepted; the login's domain decides the email, see idp.mjs).
env_exports() {
  printf 'export ATTESTA_TEST_OIDC_ISSUER=%s' "$ISSUER"
  printf ' ATTESTA_TEST_OIDC_CLIENT_ID=attesta-test ATTESTA_TEST_OIDC_CLIENT_SECRET=attesta-test-secret'
  printf ' ATTESTA_TEST_OIDC_TAMPERED_CLIENT_ID=attesta-tampered ATTESTA_TEST_OIDC_TAMPERED_CLIENT_SECRET=attesta-tampered-secret'
  printf ' ATTESTA_TEST_OIDC_LOGIN=alice@acme.test ATTESTA_TEST_OIDC_PASSWORD=any-password\n'
}

service_main "$@"
