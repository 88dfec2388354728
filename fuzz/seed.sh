#!/usr/bin/env bash
# Builds the seed corpus for the pdf_inspect target in fuzz/corpus/pdf_inspect:
#   - the hand-made seeds in fuzz/seeds/ (committed; regenerate with seeds/make_seeds.py),
#   - the regression reproducers in fuzz/regressions/ (committed),
#   - the smallest N PDFs of the CUAD corpus, if present (not committed: too large).
# Usage: fuzz/seed.sh [N]   (default N=40; CUAD_DIR overrides /work/shared/corpus/cuad/pdf)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
n="${1:-40}"
cuad="${CUAD_DIR:-/work/shared/corpus/cuad/pdf}"
out="$here/corpus/pdf_inspect"

mkdir -p "$out"
cp "$here"/seeds/*.pdf "$out"/
if compgen -G "$here/regressions/*.pdf" >/dev/null; then
    cp "$here"/regressions/*.pdf "$out"/
fi

if [ -d "$cuad" ]; then
    # Smallest first; names prefixed so they never collide with libFuzzer's hash-named entries.
    find "$cuad" -maxdepth 1 -type f -iname '*.pdf' -printf '%s\t%p\n' \
        | sort -n | head -n "$n" | cut -f2- \
        | while IFS= read -r f; do cp "$f" "$out/cuad-$(basename "$f")"; done
else
    echo "note: $cuad not found; seeding from fuzz/seeds only" >&2
fi

# The upload_names target starts from an empty corpus; give it a few shaped inputs anyway.
mkdir -p "$here/corpus/upload_names"
printf '%%PDF-1.7\n\x00contract.pdf\x00application/pdf' > "$here/corpus/upload_names/pdf"
printf '# Title\n\x00notes.md\x00text/markdown; charset=utf-8' > "$here/corpus/upload_names/md"

echo "pdf_inspect corpus: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
