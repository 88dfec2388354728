# Sourced by the other scripts: where builds and tools go, so every script agrees.

# Builds live outside the clone, so a fresh clone on the same machine (as CI makes) reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attesta/target}"
# cargo-leptos sets this while it builds; setting it for every cargo command keeps `cargo test`
# and `cargo leptos build` from rebuilding Leptos for each other (Leptos reads it at compile time).
export LEPTOS_OUTPUT_NAME=attesta
export PATH="$HOME/.cargo/bin:$PATH"
# npm's binaryen 132 wasm-opt, ahead of Debian's 108 which breaks wasm-bindgen's output.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export PATH="$REPO_ROOT/end2end/node_modules/.bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.8
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# pyHanko, the independent PAdES validator of the seal tests (installed by bootstrap.sh from
# scripts/pyhanko-requirements.txt). ATTESTA_TEST_* because the server warns about any other
# ATTESTA* variable that is not a configuration key.
PYHANKO_VENV="$HOME/.cache/attesta/venv-pyhanko"
export ATTESTA_TEST_PYHANKO="${ATTESTA_TEST_PYHANKO:-$PYHANKO_VENV/bin/pyhanko}"
