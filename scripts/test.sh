#!/usr/bin/env bash
# Command 2: everything CI checks. Installs what is missing, then: formatting, clippy on the
# server side and on the browser side (wasm32), all Rust tests, the browser bundle, and the
# Playwright tests in headless Chromium.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"
started=$(date +%s)

bash scripts/bootstrap.sh

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: core, app (ssr) and server"
cargo clippy --locked --workspace --exclude attesta-frontend --all-targets -- -D warnings

step "clippy: core and app (hydrate) on wasm32"
cargo clippy --locked -p attesta-core -p attesta-frontend --target wasm32-unknown-unknown -- -D warnings

# One trap stops every test server, set before any starts so a failed start is cleaned up too.
trap 'bash scripts/services/s3.sh stop >/dev/null 2>&1 || true; bash scripts/services/mail.sh stop >/dev/null 2>&1 || true; bash scripts/services/tsa.sh stop >/dev/null 2>&1 || true; bash scripts/services/idp.sh stop >/dev/null 2>&1 || true; bash scripts/services/pg.sh stop >/dev/null 2>&1 || true' EXIT

step "S3-compatible test server (SeaweedFS, loopback only)"
bash scripts/services/s3.sh start
eval "$(bash scripts/services/s3.sh env)"

step "SMTP test server (MailDev, loopback only)"
bash scripts/services/mail.sh start
eval "$(bash scripts/services/mail.sh env)"

step "RFC 3161 test time-stamping authority (openssl ts, loopback only)"
bash scripts/services/tsa.sh start
eval "$(bash scripts/services/tsa.sh env)"

step "OpenID provider for the SSO tests (oidc-provider, loopback only)"
bash scripts/services/idp.sh start
eval "$(bash scripts/services/idp.sh env)"

step "PostgreSQL 15 test cluster (Debian packages, loopback only, thrown away on stop)"
bash scripts/services/pg.sh start
eval "$(bash scripts/services/pg.sh env)"

# migrations/postgres applies, its triggers and grants refuse what they must, and it builds the
# same tables and columns as migrations/sqlite.
step "PostgreSQL schema: triggers, grants, parity with SQLite"
bash scripts/pg-schema-check.sh

# The seal tests run pyHanko, pdfsig and qpdf (installed by bootstrap.sh): here a missing one
# fails the run instead of skipping those checks.
export ATTESTA_TEST_REQUIRE_VALIDATORS=1
# Likewise the SSO tests: without the OpenID provider they fail instead of skipping.
export ATTESTA_TEST_REQUIRE_SERVICES=1

# Built first, then flushed to disk: the tests commit with fsync (SQLite synchronous=FULL), and
# right after a build those fsyncs queue behind gigabytes of freshly linked binaries. Seen in
# CI: a commit stalled for tens of seconds, a second writer's wait for the lock ran out, and
# deliveries the tests wait for came too late.
step "Building the Rust tests"
cargo test --locked --workspace --exclude attesta-frontend --features attesta-core/pdf --no-run
sync

step "Rust tests (the integration suite on SQLite)"
cargo test --locked --workspace --exclude attesta-frontend --features attesta-core/pdf

# The same integration suite once more, every test in a schema of its own on the PostgreSQL
# started above: every feature is written for both databases.
step "The integration suite on PostgreSQL"
ATTESTA_TEST_DATABASE=postgres cargo test --locked -p attesta-server --features attesta-core/pdf --test api

# `--split`: the pages' lazily loaded parts (the /verify verifier, `#[lazy]`) become their own
# WASM files; without it the client would import a loader that does not exist.
step "Building the app (cargo leptos build --split)"
cargo leptos build --split
sync

step "REST API against its OpenAPI document (Schemathesis)"
scripts/api-schema-test.sh

step "Browser tests (Playwright + Debian Chromium)"
(cd end2end && E2E_BIN="$CARGO_TARGET_DIR/debug/attesta" npm test)

# The ceremonies once more on the grown-up stack: PostgreSQL (a schema per server) and S3.
step "Browser ceremonies on PostgreSQL + S3"
(cd end2end && E2E_DATABASE=postgres E2E_BIN="$CARGO_TARGET_DIR/debug/attesta" node --test --test-concurrency=1 tests/signing.test.mjs)

step "All checks passed in $(( $(date +%s) - started )) s"
