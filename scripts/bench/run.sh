#!/usr/bin/env bash
# `trtllm benchmark` against its HF peer in one call on the GPU machine (device tool),
# same weights: the peer makes each model (random weights, fp16) with transformers, saves it, and times
# HF eager and HF static-cache + torch.compile; then our benchmark converts the saved model, builds,
# loads and times it, and prints ratios to the peer and to the bandwidth roofline.
#
#   OUT=dir MODELS=gpt2,gpt2-medium [BATCHES=1,8,64] [RUNS=3] [QUANT=fp8,int8_kv_cache] bash scripts/bench/run.sh
#
# QUANT: also benchmark each model quantized (trtllm benchmark --quantization), beside its fp16 engine.
# SAMPLING=temperature=0.8,top_k=50,top_p=0.9 and BEAMS=4: also sampled and beam decoding, ours and the
# peer's (hf_peer.py --sampling / --num-beams; benchmark --sampling / --num_beams).
#
# Writes $OUT/peer.json, $OUT/bench.{json,md,svg}, $OUT/*.log. Needs .device (bundle.sh) carried.
set -uo pipefail
out=${OUT:-bench-out}
models=${MODELS:-gpt2}
batches=${BATCHES:-1,8,64}
runs=${RUNS:-3}
work=${WORK:-/tmp/bench-work}
mkdir -p "$out" "$work"
source scripts/bench/device-env.sh
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv"
python3 scripts/bench/hf_peer.py "$work" "$out/peer.json" --models "$models" --batch-sizes "$batches" --runs "$runs" \
  ${SAMPLING:+--sampling "$SAMPLING"} ${BEAMS:+--num-beams "$BEAMS"} ${PEER_MODES:+--modes "$PEER_MODES"} 2>&1 | tee "$out/peer.log"
args=()
IFS=, read -ra names <<<"$models"
for m in "${names[@]}"; do args+=(--model "$m=$work/$m/hf"); done
node tools/bin/trtllm.js benchmark "${args[@]}" --batch_sizes "$batches" --runs "$runs" --peer "$out/peer.json" ${QUANT:+--quantization "$QUANT"} \
  ${SAMPLING:+--sampling "$SAMPLING"} ${BEAMS:+--num_beams "$BEAMS"} \
  --json "$out/bench.json" --markdown "$out/bench.md" --plot "$out/bench.svg" 2>&1 | tee "$out/bench.log"
