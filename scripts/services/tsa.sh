#!/usr/bin/env bash
# A throwaway RFC 3161 time-stamping authority for tests, on loopback only: `openssl ts -reply`
# behind a small Python HTTP server. Each start makes a fresh test PKI (a root CA and a TSA
# certificate it issued, RSA 2048, with the critical extended key usage timeStamping that RFC 3161
# section 2.3 requires) under the service folder. Nothing here is trusted by anything else.
#
#   scripts/services/tsa.sh start   # make the PKI, start the server
#   scripts/services/tsa.sh stop    # SIGTERM, wait up to 10 s, then SIGKILL
#   scripts/services/tsa.sh env     # print the ATTESTA_TEST_* exports: eval "$(scripts/services/tsa.sh env)"
#   scripts/services/tsa.sh status  # exit 0 when running and answering
#
# ATTESTA_TEST_TSA_URL is where to POST application/timestamp-query; ATTESTA_TEST_TSA_CA is the
# root's certificate (PEM) to trust the TSA with.
#
# Needs: bash, openssl (3.x), python3, curl. Overrides (environment): ATTESTA_SERVICES_DIR,
# TSA_PORT, TSA_START_TIMEOUT.
set -euo pipefail

DIR="${ATTESTA_SERVICES_DIR:-$HOME/.cache/attesta/services}/tsa"
PID_FILE="$DIR/tsa.pid"
LOG="$DIR/tsa.log"
TSA_PORT="${TSA_PORT:-11318}"
TSA_START_TIMEOUT="${TSA_START_TIMEOUT:-20}"
URL="http://127.0.0.1:$TSA_PORT/tsa"

NAME=tsa.sh
CMDLINE_PATTERN="tsa_server.py"
START_TIMEOUT="$TSA_START_TIMEOUT"
SERVER_LABEL="the server"
HEALTH_WORD=answering
POLL_INTERVAL=0.2
ALREADY_NOTE=": $URL"
STARTED_NOTE=": $URL, root certificate $DIR/ca.pem"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A real request answered with a granted, verifiable token.
healthy() {
  local q="$DIR/health.tsq" r="$DIR/health.tsr"
  openssl ts -query -data "$PID_FILE" -sha256 -cert -out "$q" 2>/dev/null || return 1
  curl -sf --max-time 5 -H 'Content-Type: application/timestamp-query' --data-binary "@$q" -o "$r" "$URL" || return 1
  openssl ts -verify -queryfile "$q" -in "$r" -CAfile "$DIR/ca.pem" >/dev/null 2>&1
}

make_pki() {
  rm -rf "$DIR"
  mkdir -p "$DIR"
  (
    cd "$DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -sha256 \
      -subj "/O=Attesta Test/CN=Attesta Test TSA Root" \
      -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj "/O=Attesta Test/CN=Attesta Test TSA" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:false" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=critical,timeStamping" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" > tsa.ext
    openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 3650 -sha256 \
      -extfile tsa.ext 2>/dev/null
    echo 01 > serial
    cat > tsa.cnf <<EOF
[ tsa ]
default_tsa = test_tsa

[ test_tsa ]
dir = $DIR
serial = \$dir/serial
crypto_device = builtin
signer_cert = \$dir/tsa.pem
certs = \$dir/ca.pem
signer_key = \$dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
    # One request at a time (HTTPServer is not threaded), so the serial file needs no lock.
    cat > tsa_server.py <<'EOF'
import http.server, os, subprocess, sys, tempfile

CONFIG = sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self.send_error(415, "expected application/timestamp-query")
            return
        length = int(self.headers.get("Content-Length", "0"))
        if length <= 0 or length > 65536:
            self.send_error(400, "bad length")
            return
        body = self.rfile.read(length)
        with tempfile.TemporaryDirectory() as tmp:
            query, reply = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(query, "wb") as f:
                f.write(body)
            done = subprocess.run(["openssl", "ts", "-reply", "-config", CONFIG, "-queryfile", query, "-out", reply],
                                  capture_output=True)
            if done.returncode != 0 or not os.path.exists(reply):
                sys.stderr.write(done.stderr.decode(errors="replace"))
                self.send_error(500, "openssl ts -reply failed")
                return
            with open(reply, "rb") as f:
                answer = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
  )
}

launch() {
  command -v openssl >/dev/null || die "openssl is missing: apt-get install -y openssl"
  command -v python3 >/dev/null || die "python3 is missing: apt-get install -y python3"
  command -v curl >/dev/null || die "curl is missing: apt-get install -y curl"
  ! port_in_use "$TSA_PORT" || die "port $TSA_PORT is already in use (set TSA_PORT to a free one)"
  make_pki
  (cd "$DIR" && exec setsid python3 "$DIR/tsa_server.py" "$TSA_PORT" "$DIR/tsa.cnf" < /dev/null > "$LOG" 2>&1) &
}

env_exports() {
  printf 'export ATTESTA_TEST_TSA_URL=%s ATTESTA_TEST_TSA_CA=%s\n' "$URL" "$DIR/ca.pem"
}

service_main "$@"
