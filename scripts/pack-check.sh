#!/usr/bin/env bash
# The packages as a user meets them: `npm pack` every workspace package, install the tarballs into an
# empty directory (dependencies from the registry, as a user's install does), then run the CLI and the
# library from there — version, selftest, a random-weight engine built and run (ref backend; the cuda
# backend too where the packed addon loads on a GPU). Prints the tarball sizes and the installed size.
#
#   bash scripts/pack-check.sh [WORK_DIR]        (after npm run build; default WORK_DIR: a temporary directory)
#   PACK_CHECK_SOURCE_BUILD=1 bash scripts/pack-check.sh   also damage the installed addon and let the
#                                                install step rebuild it from source (needs nvcc, cmake)
# A machine without a registry (the GPU machine): PACKS=dir (tarballs packed elsewhere by this script),
# NPM_CACHE=dir (an npm cache holding their runtime dependencies: install once with --cache dir
# --omit=optional) and NPM="node …/npm-cli.js" / NPX="node …/npx-cli.js" where npm is not installed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$(mktemp -d)}
npm=(${NPM:-npm})
npx=(${NPX:-npx})
mkdir -p "$work/packs" "$work/app"
cd "$root"
if [ -n "${PACKS:-}" ]; then
  cp "$PACKS"/*.tgz "$work/packs/"
else
  # package dir → its dist entry; one list for the build check and for npm pack
  declare -A entry=([packages/ref-math]=index.js [packages/quant]=index.js [packages/loader]=index.js [packages/cuda-kernels]=index.js [packages/engine]=index.js [tools]=cli.js)
  ws=()
  for d in packages/ref-math packages/quant packages/loader packages/cuda-kernels packages/engine tools; do
    [ -f "$d/dist/${entry[$d]}" ] || { echo "pack-check: $d/dist/${entry[$d]} is missing: run npm run build first" >&2; exit 2; }
    ws+=(-w "$d")
  done
  "${npm[@]}" pack --silent --pack-destination "$work/packs" "${ws[@]}" > "$work/packs/names.txt"
fi
echo "tarballs:"
(cd "$work/packs" && for f in *.tgz; do printf '  %-36s %8s KiB\n' "$f" "$(( $(stat -c %s "$f") / 1024 ))"; done)
cd "$work/app"
"${npm[@]}" init -y > /dev/null
"${npm[@]}" install --no-audit --no-fund --loglevel=error ${NPM_CACHE:+--offline --omit=optional --cache "$NPM_CACHE"} "$work"/packs/*.tgz
echo "installed: $(du -sk node_modules | cut -f1) KiB in node_modules ($(ls node_modules | wc -l) top-level entries)"
"${npx[@]}" --no -- trtllm --version
"${npx[@]}" --no -- trtllm selftest | tail -1
"${npx[@]}" --no -- trtllm build --vocab_size 50257 --n_layer 2 --n_embd 32 --n_head 4 --n_positions 64 --dtype float32 --max_batch_size 2 --max_input_len 16 --max_output_len 8 --output_dir engine | tail -1
"${npx[@]}" --no -- trtllm run --engine_dir engine --backend ref --input_tokens <(printf '5,17,3\n') --max_output_len 8 --output_csv out.csv > /dev/null
echo "run (ref): $(cat out.csv)"
node --input-type=module -e "
import { Engine } from '@trtllm/engine';
import { Gpt2Tokenizer } from '@trtllm/loader';
const e = await Engine.load('engine', { backend: 'ref' });
const [r] = await e.generate([{ tokens: [5, 17, 3], maxNewTokens: 8, endId: null }]);
console.log('library (ref):', r.tokens.join(','), '| GPT-2 vocabulary shipped:', Gpt2Tokenizer.gpt2().encode('Hello world').join(','));
e.dispose();
"
if [ -n "${PACK_CHECK_SOURCE_BUILD:-}" ] && [ -n "${NPM_CACHE:-}" ]; then
  echo "pack-check: PACK_CHECK_SOURCE_BUILD needs cmake-js, which an offline install (NPM_CACHE, --omit=optional) leaves out: skipped"
elif [ -n "${PACK_CHECK_SOURCE_BUILD:-}" ]; then
  # the install step's fallback: a prebuilt addon that does not load here is built from the shipped csrc/ (needs nvcc, cmake)
  addon=node_modules/@trtllm/cuda-kernels/build/Release/trtllm_cuda.node
  printf 'damaged' > "$addon"
  "${npm[@]}" rebuild @trtllm/cuda-kernels --foreground-scripts 2>&1 | grep '@trtllm/cuda-kernels:'
  node -e "process.dlopen({ exports: {} }, '$PWD/$addon')" && echo "source build: the rebuilt addon loads ($(( $(stat -c %s "$addon") / 1024 )) KiB)"
fi
if nvidia-smi > /dev/null 2>&1; then
  "${npx[@]}" --no -- trtllm run --engine_dir engine --backend cuda --input_tokens <(printf '5,17,3\n') --max_output_len 8 --output_csv out-cuda.csv > /dev/null && echo "run (cuda): $(cat out-cuda.csv)"
fi
echo "pack-check: ok ($work)"
