# syntax=docker/dockerfile:1
#
# Attesta's container image: the `attesta` binary and the built browser client, nothing else,
# running as a non-root user. Used by deploy/compose.yaml; docs/SCALING.md explains the setup.
#
#   docker build -t attesta .
#   docker run -p 3000:3000 -v attesta-data:/var/lib/attesta/data attesta
#
# NOT BUILT OR RUN ON THE DEVELOPMENT MACHINE: it has no container runtime. Every build step is
# one that scripts/bootstrap.sh and scripts/run.sh run there (same pinned versions, same commands,
# Node 20 as there), so what this file builds is what `./scripts/run.sh` builds and serves. The
# runtime stage's user, folders and health check are in no test.

# Node 20, the major the development machine and its tests run: it runs npm and binaryen's
# wasm-opt (a Node script). Taken from the official image rather than Debian 12's Node 18.
FROM node:20-bookworm-slim AS node

# --- build: the toolchain of scripts/bootstrap.sh, then the release build of scripts/run.sh ---
# Rust 1.95: the workspace's rust-version (Cargo.toml), the version the project is built with.
FROM rust:1.95-bookworm AS build

# Debian 12's build tools, as bootstrap.sh installs them; the test-only packages (chromium,
# PostgreSQL, qpdf...) are left out.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version

RUN rustup target add wasm32-unknown-unknown
# 0.3.8 is the newest cargo-leptos whose locked dependencies build on Rust 1.95 (bootstrap.sh).
RUN cargo install cargo-leptos --version 0.3.8 --locked

WORKDIR /src
# wasm-bindgen-cli at exactly Cargo.lock's wasm-bindgen, read as bootstrap.sh reads it. Not
# --locked: its lockfile pins a webpki-roots release the registry no longer serves.
COPY Cargo.lock ./
RUN WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock) \
 && cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force

# npm packages pinned in end2end/: binaryen 132 (its wasm-opt; Debian's 108 breaks wasm-bindgen's
# output) and pdfjs-dist (the document viewer). The same command as bootstrap.sh.
COPY end2end/package.json end2end/package-lock.json end2end/
RUN cd end2end && npm install --omit=optional --no-save --no-audit --no-fund --loglevel=error

COPY . .
# pdf.js into public/vendor/pdfjs, which cargo-leptos copies into the site (bootstrap.sh runs this).
RUN bash scripts/vendor-pdfjs.sh
# As scripts/env.sh: npm's wasm-opt ahead of any other; Leptos reads the output name at compile time.
ENV PATH=/src/end2end/node_modules/.bin:$PATH \
    LEPTOS_OUTPUT_NAME=attesta
# scripts/run.sh's build: `--split` makes the /verify verifier its own WASM file, `--precompress`
# stores brotli and gzip copies of the client beside it. Writes target/release/attesta,
# target/release/hash.txt (the content hashes in the client's file names) and target/site.
RUN cargo leptos build --release --split --precompress

# --- runtime: Debian 12 slim, the binary, the site, a non-root user ---
FROM debian:bookworm-slim

# ca-certificates: the system roots that outgoing TLS trusts (S3, SMTP, webhooks, the timestamp
# authority, the SSO provider). curl: the health check below. The binary needs only glibc.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A system user with a fixed id (volumes and orchestrators can name it). Its folders exist in
# the image, owned by it, so that a named volume mounted on them starts out writable.
# /var/lib/attesta/data: the default data folder (database file and local files when used, the
# upload spool, the mail outbox, and keys unless placed elsewhere); /var/lib/attesta/keys: where
# deploy/compose.yaml puts the keys every instance must share.
RUN groupadd --system --gid 10001 attesta \
 && useradd --system --uid 10001 --gid attesta --home-dir /var/lib/attesta --shell /usr/sbin/nologin attesta \
 && mkdir -p /var/lib/attesta/data /var/lib/attesta/keys \
 && chown -R attesta:attesta /var/lib/attesta

COPY --from=build /src/target/release/attesta /usr/local/bin/attesta
COPY --from=build /src/target/release/hash.txt /usr/local/share/attesta/hash.txt
COPY --from=build /src/target/site /usr/local/share/attesta/site

# Relative paths in the configuration (data/attesta.db, data/log.key, ...) resolve from the
# working folder, so the defaults land in the data volume.
ENV ATTESTA__SERVER__HOST=0.0.0.0 \
    ATTESTA__SERVER__SITE_ROOT=/usr/local/share/attesta/site \
    ATTESTA__SERVER__HASH_FILE=/usr/local/share/attesta/hash.txt
WORKDIR /var/lib/attesta
USER 10001:10001
VOLUME /var/lib/attesta/data
EXPOSE 3000

# /healthz: 200 while the process answers (server/src/http/health.rs). Load balancers should
# also ask /readyz, which is 200 only when the database and the file store answer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${ATTESTA__SERVER__PORT:-3000}/healthz" || exit 1

ENTRYPOINT ["attesta"]
CMD ["serve"]
