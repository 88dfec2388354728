#!/usr/bin/env bash
# Installs what Attesta needs on Debian 12, skipping whatever is already there at the right
# version: Debian packages, the wasm32 target, cargo-leptos, wasm-bindgen-cli and npm packages.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "Debian packages"
# python3-venv: the S3 test server (SeaweedFS from PyPI); qpdf and poppler-utils: PDF checks in tests;
# postgresql-15 and postgresql-client-15: the PostgreSQL test cluster (scripts/services/pg.sh).
APT_PACKAGES=(build-essential pkg-config curl ca-certificates git nodejs npm chromium fonts-liberation
  python3 python3-venv qpdf poppler-utils postgresql-15 postgresql-client-15)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from elsewhere than Debian (as on the CI image); they only need to work.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "all present"
fi

step "Rust toolchain and wasm32 target"
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
echo "ok"

step "cargo-leptos $CARGO_LEPTOS_VERSION"
if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
  echo "present"
else
  # 0.3.8 is the newest whose locked dependencies build on Rust 1.95; about 12 minutes.
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
step "wasm-bindgen-cli $WASM_BINDGEN_VERSION (must equal Cargo.lock's wasm-bindgen)"
if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  echo "present"
else
  # Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

step "npm packages (playwright-core, binaryen, pdfjs-dist)"
stamp="end2end/node_modules/.attesta-lock-hash"
want=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "present"
else
  # Not `npm ci`: npm 11 leaves pdfjs-dist's optional platform packages (@napi-rs/canvas-*, for
  # pdf.js under Node, which we never use) out of the lock and then refuses it. Every direct
  # dependency is pinned exactly and none has required dependencies, so this is reproducible.
  (cd end2end && npm install --omit=optional --no-save --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
echo "wasm-opt: $(command -v wasm-opt) ($(wasm-opt --version))"

# The OpenID provider the SSO tests sign in through (scripts/services/idp.sh): oidc-provider at
# the version its lock pins; `npm ci` only when another version (or none) is installed.
step "oidc-provider for the SSO tests (scripts/services/idp)"
bash scripts/services/idp.sh install
echo "present ($(node -p "require('./scripts/services/idp/node_modules/oidc-provider/package.json').version"))"

# pdf.js renders document pages in the browser; its build is copied from the pinned npm package
# into public/vendor/pdfjs (not committed). Its own script, so that the Dockerfile runs the same.
step "pdf.js for the document viewer (public/vendor/pdfjs)"
bash scripts/vendor-pdfjs.sh

# pyHanko validates the PAdES seal in the tests (server/tests/seal.rs) and is the seal benchmark's
# baseline. Its command line is a separate package, pyhanko-cli. Everything is pinned in
# scripts/pyhanko-requirements.txt; the venv is rebuilt only when that file changes.
step "pyHanko (PDF signature validator for the seal tests)"
want=$(sha256sum scripts/pyhanko-requirements.txt | cut -d' ' -f1)
if [ -x "$ATTESTA_TEST_PYHANKO" ] && [ "$(cat "$PYHANKO_VENV/.attesta-requirements-hash" 2>/dev/null)" = "$want" ]; then
  echo "present ($("$ATTESTA_TEST_PYHANKO" --version))"
else
  rm -rf "$PYHANKO_VENV"
  python3 -m venv "$PYHANKO_VENV"
  "$PYHANKO_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/pyhanko-requirements.txt
  echo "$want" > "$PYHANKO_VENV/.attesta-requirements-hash"
  "$ATTESTA_TEST_PYHANKO" --version
fi

# Schemathesis tests the REST API against its OpenAPI document (scripts/api-schema-test.sh).
# Pinned in scripts/schemathesis-requirements.txt; the venv is rebuilt only when that file changes.
step "Schemathesis (REST API schema tests)"
ST_VENV="$HOME/.cache/attesta/venv-schemathesis"
want=$(sha256sum scripts/schemathesis-requirements.txt | cut -d' ' -f1)
if [ -x "$ST_VENV/bin/st" ] && [ "$(cat "$ST_VENV/.attesta-requirements-hash" 2>/dev/null)" = "$want" ]; then
  echo "present ($("$ST_VENV/bin/st" --version))"
else
  rm -rf "$ST_VENV"
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/schemathesis-requirements.txt
  echo "$want" > "$ST_VENV/.attesta-requirements-hash"
  "$ST_VENV/bin/st" --version
fi
