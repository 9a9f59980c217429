#!/usr/bin/env bash
# Builds the tokenizer reference data from the npm package llama3-tokenizer-js (MIT, pinned in
# package-lock.json). Needs node + npm and the npm registry (or a warm npm cache); nothing from HF.
#
#   tools/tokenizer/prepare.sh OUTDIR [BITNET_BIN]
#
# OUTDIR (e.g. build/vocab) receives:
#   npm/                   node_modules of the pinned package (never committed)
#   tokenizer.json         Llama 3 vocabulary + merges + 256 special tokens, HF format
#   tokenizer_config.json  bos/eos/add_bos
#   llama3-vocab.gguf      vocab-only GGUF written by bitnet-cxx's own GgufWriter
#                          (`bitnet export-vocab`); also the vocabulary for `bitnet synth --vocab`
#   corpus.jsonl           >= 2000 test strings with the package's token ids
#   package_tests.jsonl    the package's own test cases
# BITNET_BIN: the `bitnet` executable (default: $BITNET_BIN, else build/release/bin/bitnet, else
# build/tok/bin/bitnet). Idempotent: node steps rerun only when their inputs change, and the GGUF
# is replaced only when its bytes change.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTDIR [BITNET_BIN]" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)

bin=${2:-${BITNET_BIN:-}}
if [[ -z "$bin" ]]; then
  for c in "$root/build/release/bin/bitnet" "$root/build/tok/bin/bitnet"; do
    if [[ -x "$c" ]]; then bin=$c; break; fi
  done
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "prepare.sh: no bitnet executable found; build it first or pass its path as the 2nd argument" >&2
  exit 1
fi
command -v node >/dev/null || { echo "prepare.sh: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "prepare.sh: npm is required" >&2; exit 1; }

# 1. Node steps, keyed by a hash of everything they depend on.
stamp_want=$( (cat "$here/package.json" "$here/package-lock.json" "$here/extract_vocab.mjs" "$here/gen_corpus.mjs"; node --version) | sha256sum | cut -d' ' -f1)
stamp_file="$out/.node-stamp"
outputs=(tokenizer.json tokenizer_config.json corpus.jsonl package_tests.jsonl)
fresh=1
[[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp_want" ]] || fresh=0
for f in "${outputs[@]}"; do [[ -s "$out/$f" ]] || fresh=0; done
if [[ $fresh == 0 ]]; then
  mkdir -p "$out/npm"
  cp "$here/package.json" "$here/package-lock.json" "$out/npm/"
  (cd "$out/npm" && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline --loglevel=error)
  node "$here/extract_vocab.mjs" "$out/npm" "$out"
  node "$here/gen_corpus.mjs" "$out/npm" "$out"
  echo "$stamp_want" >"$stamp_file"
else
  echo "prepare.sh: node outputs in $out are up to date"
fi

# 2. The vocab-only GGUF, written by our own code from tokenizer.json.
tmp="$out/llama3-vocab.gguf.tmp"
"$bin" export-vocab -m "$out/tokenizer.json" -o "$tmp"
if [[ -f "$out/llama3-vocab.gguf" ]] && cmp -s "$tmp" "$out/llama3-vocab.gguf"; then
  rm -f "$tmp"
else
  mv -f "$tmp" "$out/llama3-vocab.gguf"
fi
echo "prepare.sh: $out/llama3-vocab.gguf ready"
