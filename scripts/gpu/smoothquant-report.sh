#!/usr/bin/env bash
# SmoothQuant accuracy on the trained sotu-gpt2-16m, on one GPU, every number from this run:
#   convert (fp16) and convert -sq α for α ∈ {0.5, 0.8} (calibration on the cuda engine, the shared
#   calib.jsonl: 512 samples ≤ 512 tokens, the defaults), build fp16 and the four SmoothQuant modes,
#   then validation perplexity (1024-token windows, val.txt) and summarize ROUGE on the cnn_dailymail
#   sample (100 articles, 100 new tokens) for each engine; then the seed's calibration and smoothing
#   (scripts/fixtures/smoothquant_reference.py, torch) against ours on 64 samples. Writes
#   $OUT/smoothquant-accuracy.md.
#
#   MODEL=dir DATA=dir OUT=dir bash scripts/gpu/smoothquant-report.sh
#   MODEL: the HF model directory (default ../shared/models/sotu-gpt2-16m)
#   DATA:  a directory holding sotu/calib.jsonl, sotu/val.txt, cnn_dailymail/test_sample_100.jsonl (default ../shared/data)
# Needs the build (npm run build, the CUDA addon included).
REPORT=smoothquant-accuracy
source "$(dirname "${BASH_SOURCE[0]}")/report-env.sh"

engine_flags=(--max_input_len 923 --max_output_len 101 --max_batch_size 8 --use_inflight_batching --enable_context_fmha)
run convert -i "$model" -o "$work/ckpt-fp16" -t float16 || exit 1
run build --model_dir "$work/ckpt-fp16" "${engine_flags[@]}" --tokenizer_dir "$model" --output_dir "$work/e-fp16" || exit 1
engines=("fp16|$work/e-fp16")
for a in 0.5 0.8; do
  run convert -i "$model" -o "$work/ckpt-sq$a" -t float16 -sq "$a" --calib-dataset "$data/sotu/calib.jsonl" || exit 1
  for mode in "per-tensor|" "per-token|--per_token" "per-channel|--per_channel" "per-token + per-channel|--per_token --per_channel"; do
    name=${mode%%|*}
    flags=${mode#*|}
    dir="$work/e-sq$a-${name// /}"
    # shellcheck disable=SC2086
    run build --model_dir "$work/ckpt-sq$a" "${engine_flags[@]}" --tokenizer_dir "$model" --use_smooth_quant $flags --output_dir "$dir" || exit 1
    engines+=("SmoothQuant α=$a, $name|$dir")
  done
done

# every engine's perplexity and summaries at once (the NLL over 50257 logits per token is host work: one core each)
i=0
for e in "${engines[@]}"; do
  dir=${e#*|}
  ( trtllm perplexity --engine_dir "$dir" --dataset_path "$data/sotu/val.txt" --window 1024 --backend cuda > "$work/ppl-$i.txt" 2>&1
    trtllm summarize --engine_dir "$dir" --dataset_path "$data/cnn_dailymail/test_sample_100.jsonl" --batch_size 8 --max_ite 13 --output_len 100 --backend cuda > "$work/sum-$i.txt" 2>&1 ) &
  i=$((i + 1))
done
wait

{
  echo "# SmoothQuant accuracy, sotu-gpt2-16m"
  echo
  echo "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader), $(date -u +%Y-%m-%dT%H:%MZ); engines on the cuda backend, production kernels."
  echo "Calibration: $(grep -m1 'calibrating on' "$log")"
  echo "Perplexity: sotu val.txt, 1024-token windows. ROUGE: summarize, cnn_dailymail test_sample_100, 100 new tokens, greedy."
  echo
  echo "| engine | validation perplexity | vs fp16 | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-1 vs fp16 |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$out/smoothquant-accuracy.md"
status=0
base_ppl=""
base_r1=""
i=0
for e in "${engines[@]}"; do
  name=${e%%|*}
  cat "$work/ppl-$i.txt" "$work/sum-$i.txt" >> "$log"
  ppl=$(sed -n 's/.*: perplexity \([0-9.]*\) .*/\1/p' "$work/ppl-$i.txt")
  r1=$(sed -n 's/^  rouge1 : \([0-9.]*\)/\1/p' "$work/sum-$i.txt" | head -1)
  r2=$(sed -n 's/^  rouge2 : \([0-9.]*\)/\1/p' "$work/sum-$i.txt" | head -1)
  rl=$(sed -n 's/^  rougeL : \([0-9.]*\)/\1/p' "$work/sum-$i.txt" | head -1)
  i=$((i + 1))
  if [ -z "$ppl" ] || [ -z "$r1" ]; then status=1; echo "| $name | failed (see smoothquant-accuracy.log) | | | | | |" >> "$out/smoothquant-accuracy.md"; continue; fi
  [ -z "$base_ppl" ] && base_ppl=$ppl && base_r1=$r1
  rel=$(python3 -c "print(f'{(float(\"$ppl\") / float(\"$base_ppl\") - 1) * 100:+.2f} %')")
  dr1=$(python3 -c "print(f'{float(\"$r1\") - float(\"$base_r1\"):+.2f}')")
  echo "| $name | $ppl | $rel | $r1 | $r2 | $rl | $dr1 |" >> "$out/smoothquant-accuracy.md"
done

# the seed's arithmetic on the same model: calibration, smoothing and ranges (64 samples)
if python3 scripts/fixtures/smoothquant_reference.py "$model" "$out/smoothquant-seed-sotu.json" 0.5 --calib "$data/sotu/calib.jsonl" --samples 64 --seq-len 512 >> "$log" 2>&1; then
  SQ_SEED_REFERENCE="$out/smoothquant-seed-sotu.json" SQ_SEED_MODEL="$model" SQ_SEED_CALIB="$data/sotu/calib.jsonl" NO_COLOR=1 \
    node node_modules/vitest/vitest.mjs run packages/engine/src/builder/convert-sq-seed.test.ts > "$out/smoothquant-seed.log" 2>&1 || status=1
  { echo; echo "Against the seed's arithmetic (scripts/fixtures/smoothquant_reference.py, torch):"; grep -m1 'sotu-gpt2-16m vs the seed' "$out/smoothquant-seed.log"; } >> "$out/smoothquant-accuracy.md"
else
  status=1
fi
rm -rf "$work"
cat "$out/smoothquant-accuracy.md"
exit $status
