# shellcheck shell=bash
# The common part of the test-service scripts (mail.sh, s3.sh, tsa.sh, idp.sh, pg.sh). Sourced, not run:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It provides:
#   say MSG...        print "NAME: MSG" on stderr
#   die MSG...        say "error: MSG" and exit 1
#   port_in_use PORT  true when something accepts connections on 127.0.0.1:PORT
#   running_pid       print the pid from PID_FILE if that process is alive and its command line
#                     matches CMDLINE_PATTERN; false otherwise
#   start             if running and healthy: say so and return. Else run `launch` and record its
#                     background job's pid ($!) in PID_FILE. Then wait until `healthy`, at most
#                     START_TIMEOUT seconds: if the process exits first, show the log's tail, remove
#                     the pid file and exit 1; on timeout, show the log's tail, stop and exit 1
#   stop              SIGTERM, wait up to 10 s, then SIGKILL; removes PID_FILE. Fine when not running
#   service_main ARGS the dispatch: start|stop|env|status (and install when the script defines
#                     `install`); anything else prints the usage and exits 2
#
# The script must first, before sourcing (set -euo pipefail is the script's own):
#   NAME             the prefix of messages, e.g. mail.sh
#   DIR              the service's folder (the server's cwd, the log and pid file are in it)
#   PID_FILE, LOG    the pid file and the server's log
#   CMDLINE_PATTERN  a grep pattern that the server's /proc/<pid>/cmdline (NULs as spaces) matches,
#                    so a stale pid file never makes us signal an unrelated process that reused the id
#   START_TIMEOUT    seconds to wait for the server to become healthy
#   SERVER_LABEL     what the server is called in "... exited during startup", e.g. "maildev"
#   ALREADY_NOTE     what follows "already running (pid N)" when start finds it running, e.g. ": $URL"
#   STARTED_NOTE     what follows "running (pid N)" once a new start is healthy
#   HEALTH_WORD      as in "not healthy after 30s" and "running but not healthy yet": healthy, answering
#   POLL_INTERVAL    seconds between health checks during start, e.g. 0.25
# (all set unconditionally, so none of them can come in from the caller's environment)
# and must define these functions before calling service_main:
#   healthy          exit 0 when the server answers as it should
#   launch           everything a fresh start needs (install, check ports, make DIR, ...), ending
#                    with the server started in the background: `(cd "$DIR" && exec setsid ...) &`
#   env_exports      print the ATTESTA_TEST_* exports on stdout
#   install          optional; adds the `install` subcommand
#   unhealthy_detail optional; its output is added after "not healthy after Ns" on timeout
: "${NAME:?set NAME before sourcing lib.sh}" "${DIR:?}" "${PID_FILE:?}" "${LOG:?}" "${CMDLINE_PATTERN:?}"
: "${START_TIMEOUT:?}" "${SERVER_LABEL:?}" "${ALREADY_NOTE?}" "${STARTED_NOTE?}" "${HEALTH_WORD:?}" "${POLL_INTERVAL:?}"

say() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$CMDLINE_PATTERN" || return 1
  echo "$pid"
}

start() {
  if pid="$(running_pid)"; then
    if healthy; then say "already running (pid $pid)$ALREADY_NOTE"; return 0; fi
    say "pid $pid is running but not $HEALTH_WORD yet; waiting"
  else
    launch
    echo $! > "$PID_FILE"
    pid="$(cat "$PID_FILE")"
  fi

  local deadline=$((SECONDS + START_TIMEOUT)) detail
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$SERVER_LABEL exited during startup; last lines of $LOG:"; tail -n 30 "$LOG" >&2 || true
      rm -f "$PID_FILE"; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      detail=""
      if declare -F unhealthy_detail >/dev/null; then detail="$(unhealthy_detail)"; fi
      say "not $HEALTH_WORD after ${START_TIMEOUT}s$detail; last lines of $LOG:"; tail -n 30 "$LOG" >&2 || true
      stop; exit 1
    fi
    sleep "$POLL_INTERVAL"
  done
  say "running (pid $pid)$STARTED_NOTE"
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

service_main() {
  local commands="start|stop|env|status"
  if declare -F install >/dev/null; then commands="$commands|install"; fi
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) env_exports ;;
    status) if pid="$(running_pid)" && healthy; then say "running (pid $pid)"; else say "not running"; exit 1; fi ;;
    install) if declare -F install >/dev/null; then install; else echo "usage: $0 $commands" >&2; exit 2; fi ;;
    *) echo "usage: $0 $commands" >&2; exit 2 ;;
  esac
}
