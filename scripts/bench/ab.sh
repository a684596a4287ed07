#!/usr/bin/env bash
# A/B timing of two builds in one device call, same weights, same GPU: `trtllm benchmark` of this
# checkout (B) and of an earlier build (A), alternated A B A B so drift in clocks or temperature
# falls on both; each benchmark run converts the same saved random-weight models.
#
#   PREV=file.tar.xz OUT=dir [MODELS=gpt2,gpt2-xl] [BATCHES=1,8,64] [RUNS=3] [ROUNDS=2] bash scripts/bench/ab.sh
#
# PREV: the earlier build packed from its checkout's root (after npm run build):
#   tar -cJf prev.tar.xz package.json packages/*/package.json packages/*/dist tools/package.json \
#       tools/bin tools/dist packages/cuda-kernels/build/Release/trtllm_cuda.node
# It is unpacked beside a copy of this checkout's node_modules (the workspace links are relative,
# so they resolve to the earlier packages). Writes $OUT/{a,b}-<round>.{json,md,log} and $OUT/ab.md
# (median ms / step and TTFT of A and B per model and batch, and B ÷ A).
set -uo pipefail
out=${OUT:-ab-out}
models=${MODELS:-gpt2,gpt2-xl}
batches=${BATCHES:-1,8,64}
runs=${RUNS:-3}
rounds=${ROUNDS:-2}
prev=${PREV:?PREV=the earlier build as a .tar.xz (see the header)}
work=${WORK:-/tmp/ab-work}
mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)
source scripts/gpu/env.sh
a=$work/prev
rm -rf "$a" && mkdir -p "$a" && tar -xJf "$prev" -C "$a" && cp -a node_modules "$a/" || { echo "ab: could not unpack $prev" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv"
# the same random weights for both: saved once, converted by each build
python3 scripts/bench/hf_peer.py "$work" "$out/peer.json" --models "$models" --batch-sizes 1 --runs 1 --modes eager > "$out/peer.log" 2>&1 || { echo "ab: making the models failed (peer.log)" >&2; exit 1; }
args=()
IFS=, read -ra names <<<"$models"
for m in "${names[@]}"; do args+=(--model "$m=$work/$m/hf"); done
status=0
for r in $(seq 1 "$rounds"); do
  for side in a b; do
    root=$([ $side = a ] && echo "$a" || pwd)
    node "$root/tools/bin/trtllm.js" benchmark "${args[@]}" --batch_sizes "$batches" --runs "$runs" \
      --json "$out/$side-$r.json" --markdown "$out/$side-$r.md" > "$out/$side-$r.log" 2>&1 || { echo "ab: $side round $r failed ($side-$r.log)"; status=1; }
  done
done
node scripts/bench/ab-table.mjs "$out" > "$out/ab.md" && cat "$out/ab.md"
exit $status
