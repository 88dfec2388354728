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

say() { printf 'mail.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  # Only our maildev: a stale pid file must never make us signal an unrelated process that reused the id.
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "maildev/bin/maildev" || return 1
  echo "$pid"
}

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

start() {
  if pid="$(running_pid)"; then
    if healthy; then say "already running (pid $pid): SMTP 127.0.0.1:$MAIL_SMTP_PORT, web $WEB"; return 0; fi
    say "pid $pid is running but not healthy yet; waiting"
  else
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
    echo $! > "$PID_FILE"
    pid="$(cat "$PID_FILE")"
  fi

  local deadline=$((SECONDS + MAIL_START_TIMEOUT))
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "maildev exited during startup; last lines of $LOG:"; tail -n 30 "$LOG" >&2 || true
      rm -f "$PID_FILE"; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "not healthy after ${MAIL_START_TIMEOUT}s; last lines of $LOG:"; tail -n 30 "$LOG" >&2 || true
      stop; exit 1
    fi
    sleep 0.25
  done
  say "running (pid $pid): SMTP 127.0.0.1:$MAIL_SMTP_PORT, web and REST API $WEB, mail in $DIR/store"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"; say "not running"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid still running after 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

env_exports() {
  printf 'export ATTESTA_TEST_SMTP_HOST=127.0.0.1 ATTESTA_TEST_SMTP_PORT=%s ATTESTA_TEST_MAILDEV_URL=%s\n' \
    "$MAIL_SMTP_PORT" "$WEB"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_exports ;;
  status) if pid="$(running_pid)" && healthy; then say "running (pid $pid)"; else say "not running"; exit 1; fi ;;
  install) install ;;
  *) echo "usage: $0 start|stop|env|status|install" >&2; exit 2 ;;
esac
