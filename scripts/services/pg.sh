#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests (issue 16: the second database adapter), from
# Debian's packages, on loopback only. Each start makes a fresh cluster; stop deletes it. Password
# (SCRAM) authentication over TCP; the Unix socket, with trust, sits in the cluster's own folder
# (mode 700), where only root and postgres reach it.
#
#   scripts/services/pg.sh start   # install if missing, initdb, create the roles, start
#   scripts/services/pg.sh stop    # fast shutdown (SIGINT), wait, then delete the cluster
#   scripts/services/pg.sh env     # print the ATTESTA_TEST_PG_* exports: eval "$(scripts/services/pg.sh env)"
#   scripts/services/pg.sh status  # exit 0 when running and answering
#
# Two roles, as in production (issue 16, "Append-only at the grant level"):
# - attesta_admin (LOGIN CREATEDB CREATEROLE) owns the database `attesta`: it runs migrations and
#   grants, and the tests create their per-test databases with it;
# - attesta_app (LOGIN, owns nothing, no CREATE) is the application role the grants are given to
#   (migrations/postgres/grants.sql).
# Both have the password `attesta`: the cluster binds 127.0.0.1 and is deleted on every start.
#
# fsync and synchronous_commit stay on: the product promises that an acknowledged evidence append
# is durable, and the tests and benchmarks must see that cost and those semantics. initdb runs
# with --no-sync (it only skips the final flush of a cluster we would throw away on a crash).
# full_page_writes stays on too: turning it off was not worth it. Measured 2026-12-06 on this
# 2-core machine, pgbench -T 10 of a one-row durable INSERT (an evidence-sized row, an identity
# key and an index): 1 client 347 tps on / 362 off, 8 clients 4263 on / 4002 off (noise).
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (setpriv, so
# the recorded pid is the postmaster's own), and the cluster lives in a private temp folder when
# the services folder is out of that user's reach (root's home is mode 700); $DIR/cluster points
# to it. As another user, everything runs as that user.
#
# Needs: bash, Debian's postgresql-15 and postgresql-client-15 (installed with apt-get when
# missing; scripts/bootstrap.sh installs them), util-linux (setpriv, runuser).
#
# Overrides (environment): ATTESTA_SERVICES_DIR, PG_PORT, PG_BIN, PG_MAX_CONNECTIONS,
# PG_START_TIMEOUT.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${PG_PORT:-55432}"
# The integration tests open a pool per test database and run in parallel: 100 is too few.
PG_MAX_CONNECTIONS="${PG_MAX_CONNECTIONS:-300}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-30}"
DIR="${ATTESTA_SERVICES_DIR:-$HOME/.cache/attesta/services}/pg"
PID_FILE="$DIR/postgres.pid"
LOG="$DIR/postgres.log"
ADMIN_URL="postgres://attesta_admin:attesta@127.0.0.1:$PG_PORT/attesta"

NAME=pg.sh
CMDLINE_PATTERN="bin/postgres -D .* -p $PG_PORT "
START_TIMEOUT="$PG_START_TIMEOUT"
SERVER_LABEL=postgres
HEALTH_WORD=answering
POLL_INTERVAL=0.2
ALREADY_NOTE=": $ADMIN_URL"
STARTED_NOTE=": $ADMIN_URL (cluster in $DIR/cluster)"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The admin role signs in over TCP with its password and reaches its database.
healthy() {
  [ "$(PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" "$ADMIN_URL" -XAtqc 'SELECT 1' 2>/dev/null || true)" = 1 ]
}

unhealthy_detail() {
  printf ' (%s)' "$("$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" 2>&1 || true)"
}

install() {
  if [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/psql" ]; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "PostgreSQL 15 is missing from $PG_BIN: apt-get install -y postgresql-15 postgresql-client-15 (as root)"
  say "installing postgresql-15 and postgresql-client-15 (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15
  [ -x "$PG_BIN/postgres" ] || die "apt-get finished but $PG_BIN/postgres is missing"
}

# Deletes the cluster (the temp folder $DIR/cluster points to, or $DIR/cluster itself) and DIR.
remove_cluster() {
  local target
  if [ -L "$DIR/cluster" ]; then
    target="$(readlink "$DIR/cluster")"
    # Only a folder this script made: never follow a link somewhere else.
    case "$target" in */attesta-pg.*) rm -rf "$target" ;; esac
  fi
  rm -rf "$DIR"
}

launch() {
  install
  ! port_in_use "$PG_PORT" || die "port $PG_PORT is already in use (set PG_PORT to a free one)"
  remove_cluster
  mkdir -p "$DIR"

  local cluster="$DIR/cluster"
  if [ "$(id -u)" = 0 ]; then
    if ! runuser -u postgres -- test -x "$DIR"; then
      cluster="$(mktemp -d "${TMPDIR:-/tmp}/attesta-pg.XXXXXX")"
      ln -s "$cluster" "$DIR/cluster"
    else
      mkdir "$cluster"
    fi
    chown postgres: "$cluster"
  else
    mkdir "$cluster"
  fi
  chmod 700 "$cluster"

  # The bootstrap superuser's password is never used (it signs in over the socket, with trust),
  # but initdb wants one when host connections use SCRAM.
  (umask 077; head -c 24 /dev/urandom | base64 > "$cluster/pw")
  [ "$(id -u)" != 0 ] || chown postgres: "$cluster/pw"
  as_owner "$PG_BIN/initdb" -D "$cluster/data" -U postgres --pwfile="$cluster/pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync \
    > "$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  rm -f "$cluster/pw"

  # The roles and the database, in single-user mode before the server listens: a start that
  # reports healthy has them. password_encryption is scram-sha-256 by default since 14.
  printf '%s\n' \
    "CREATE ROLE attesta_admin LOGIN CREATEDB CREATEROLE PASSWORD 'attesta';" \
    "CREATE ROLE attesta_app LOGIN PASSWORD 'attesta';" \
    "CREATE DATABASE attesta OWNER attesta_admin;" \
    | as_owner "$PG_BIN/postgres" --single -D "$cluster/data" postgres > "$DIR/bootstrap.log" 2>&1 \
    || { cat "$DIR/bootstrap.log" >&2; die "creating the roles failed"; }
  ! grep -q 'ERROR:' "$DIR/bootstrap.log" || { cat "$DIR/bootstrap.log" >&2; die "creating the roles failed"; }

  local run=()
  if [ "$(id -u)" = 0 ]; then run=(setpriv --reuid=postgres --regid=postgres --init-groups); fi
  # fsync and synchronous_commit are the defaults, named so nobody "speeds up" the tests by
  # turning off the durability the product promises.
  (cd "$cluster" && exec setsid "${run[@]}" "$PG_BIN/postgres" -D "$cluster/data" -p "$PG_PORT" -k "$cluster" \
    -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on \
    -c max_connections="$PG_MAX_CONNECTIONS" < /dev/null > "$LOG" 2>&1) &
}

# Fast shutdown (SIGINT: disconnect clients, checkpoint, exit), then the cluster is deleted.
# SIGTERM would be a "smart" shutdown that waits for every client to leave.
stop() {
  local pid i
  if pid="$(running_pid)"; then
    kill -INT "$pid" 2>/dev/null || true
    for i in $(seq 1 80); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid still running after 20 s; sending SIGQUIT (immediate shutdown)"
      kill -QUIT "$pid" 2>/dev/null || true
      for i in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    remove_cluster
    say "stopped; cluster deleted"
  else
    remove_cluster
    say "not running"
  fi
}

env_exports() {
  printf 'export ATTESTA_TEST_PG_ADMIN_URL=%s ATTESTA_TEST_PG_APP_ROLE=attesta_app ATTESTA_TEST_PG_APP_PASSWORD=attesta\n' \
    "$ADMIN_URL"
}

service_main "$@"
