#!/usr/bin/env bash
# A real SMTP server for tests and demos: MailDev 2.2.1 (npm), on loopback only. It accepts every
# mail without authentication or TLS, keeps it, and shows it over a REST API (GET /email,
# DELETE /email/all) and a web page. It never relays anything onwards.
#
#   scripts/services/mail.sh start   # install if missing, start with a fresh mail store
#   scripts/services/mail.sh stop    # SIGTERM, wait up to 10 s, then SIGKILL
#   scripts/services/mail.sh env     # print the ATTESTA_TEST_* exports: eval "$(scripts/services/mail.sh env)"
#   scripts/services/mail.sh status  # exit 0 when running and healthy
#
# Needs: bash, curl, node and npm (Debian: apt-get install -y curl nodejs npm; scripts/bootstrap.sh
# installs them). ~25 MB under $ATTESTA_TOOLS/maildev. maildev 3.x does not install from the npm
# registry as served here (a pinned dependency is missing): keep 2.2.1.
#
# Overrides (environment): ATTESTA_TOOLS, ATTESTA_SERVICES_DIR, MAIL_SMTP_PORT, MAIL_WEB_PORT,
# MAIL_START_TIMEOUT.
set -euo pipefail

MAILDEV_VERSION=2.2.1
TOOLS="${ATTESTA_TOOLS:-$HOME/.cache/attesta/tools}"
INSTALL_DIR="$TOOLS/maildev"
MAILDEV="$INSTALL_DIR/node_modules/maildev/bin/maildev"
DIR="${ATTESTA_SERVICES_DIR:-$HOME/.cache/attesta/services}/mail"
PID_FILE="$DIR/maildev.pid"
LOG="$DIR/maildev.log"

MAIL_SMTP_PORT="${MAIL_SMTP_PORT:-11025}"
MAIL_WEB_PORT="${MAIL_WEB_PORT:-11080}"
MAIL_START_TIMEOUT="${MAIL_START_TIMEOUT:-30}"
WEB="http://127.0.0.1:$MAIL_WEB_PORT"

NAME=mail.sh
CMDLINE_PATTERN="maildev/bin/maildev"
START_TIMEOUT="$MAIL_START_TIMEOUT"
SERVER_LABEL=maildev
HEALTH_WORD=healthy
POLL_INTERVAL=0.25
ALREADY_NOTE=": SMTP 127.0.0.1:$MAIL_SMTP_PORT, web $WEB"
STARTED_NOTE=": SMTP 127.0.0.1:$MAIL_SMTP_PORT, web and REST API $WEB, mail in $DIR/store"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The REST API answers, and the SMTP port accepts connections.
healthy() {
  [ "$(curl -s --max-time 5 "$WEB/healthz" || true)" = true ] || return 1
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$WEB/email" || true)" = 200 ] || return 1
  port_in_use "$MAIL_SMTP_PORT"
}

installed_version() {
  [ -f "$INSTALL_DIR/node_modules/maildev/package.json" ] || return 0
  node -p "require('$INSTALL_DIR/node_modules/maildev/package.json').version" 2>/dev/null || true
}

install() {
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "node and npm are missing: apt-get install -y nodejs npm (or run scripts/bootstrap.sh)"
  if [ "$(installed_version)" = "$MAILDEV_VERSION" ] && [ -f "$MAILDEV" ]; then
    return 0
  fi
  command -v curl >/dev/null || die "curl is missing: apt-get install -y curl"
  say "installing maildev@$MAILDEV_VERSION into $INSTALL_DIR"
  mkdir -p "$INSTALL_DIR"
  # A package.json of our own, so npm installs here and not into a parent folder's project.
  [ -f "$INSTALL_DIR/package.json" ] || echo '{"name": "attesta-maildev", "private": true}' > "$INSTALL_DIR/package.json"
  (cd "$INSTALL_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error "maildev@$MAILDEV_VERSION")
  [ "$(installed_version)" = "$MAILDEV_VERSION" ] || die "npm finished but maildev $MAILDEV_VERSION is not in $INSTALL_DIR"
}

launch() {
  install
  local p busy=""
  for p in "$MAIL_SMTP_PORT" "$MAIL_WEB_PORT"; do port_in_use "$p" && busy="$busy $p"; done
  [ -z "$busy" ] || die "ports already in use:$busy (set MAIL_SMTP_PORT, MAIL_WEB_PORT to free ones)"

  rm -rf "$DIR"
  mkdir -p "$DIR/store"
  # --ip/--web-ip: loopback only (the defaults are 0.0.0.0). No --outgoing-*: nothing is relayed.
  (cd "$DIR" && exec setsid node "$MAILDEV" --ip 127.0.0.1 --smtp "$MAIL_SMTP_PORT" \
    --web-ip 127.0.0.1 --web "$MAIL_WEB_PORT" --mail-directory "$DIR/store" \
    < /dev/null > "$LOG" 2>&1) &
}

env_exports() {
  printf 'export ATTESTA_TEST_SMTP_HOST=127.0.0.1 ATTESTA_TEST_SMTP_PORT=%s ATTESTA_TEST_MAILDEV_URL=%s\n' \
    "$MAIL_SMTP_PORT" "$WEB"
}

service_main "$@"
