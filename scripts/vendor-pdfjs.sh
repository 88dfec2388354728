#!/usr/bin/env bash
# Copies pdf.js, which renders document pages in the browser (docs/ARCHITECTURE.md, "Reading
# documents"), from the pinned npm package in end2end/node_modules into public/vendor/pdfjs, where
# cargo-leptos picks it up with the other assets and the server serves it under /vendor/pdfjs/.
# public/vendor is not committed. Skips the copy when that version is already there.
#
# Run by scripts/bootstrap.sh and by the Dockerfile, after `npm install` in end2end/. Needs node.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pdfjs=end2end/node_modules/pdfjs-dist
vendor=public/vendor/pdfjs
version=$(node -p "require('./$pdfjs/package.json').version")
if [ -f "$vendor/VERSION" ] && [ "$(cat "$vendor/VERSION")" = "$version" ] && [ -f "$vendor/pdf.worker.min.mjs.br" ]; then
  echo "present ($version)"
else
  rm -rf "$vendor" && mkdir -p "$vendor"
  # The legacy build: the modern one needs Map.getOrInsertComputed, which Safari/iOS lacks.
  cp "$pdfjs/legacy/build/pdf.min.mjs" "$pdfjs/legacy/build/pdf.worker.min.mjs" "$pdfjs/LICENSE" "$vendor/"
  cp -r "$pdfjs/standard_fonts" "$pdfjs/cmaps" "$pdfjs/wasm" "$pdfjs/iccs" "$vendor/"
  # Compressed once here, beside the files (brotli and gzip at their best): the server sends the
  # stored copy that the browser accepts instead of compressing 1.8 MB of pdf.js per request.
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    for (const f of process.argv.slice(1)) {
      const b = fs.readFileSync(f);
      fs.writeFileSync(f + ".br", zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }));
      fs.writeFileSync(f + ".gz", zlib.gzipSync(b, { level: 9 }));
    }' "$vendor/pdf.min.mjs" "$vendor/pdf.worker.min.mjs"
  echo "$version" > "$vendor/VERSION"
  echo "copied pdfjs-dist $version"
fi
