#!/usr/bin/env bash
# INT8 / FP8 KV-cache accuracy on the trained sotu-gpt2-16m, on one GPU, every number from this run:
#   convert (fp16), convert -kv and convert -sq 0.5 -kv (calibration on the cuda engine, the shared
#   calib.jsonl: 512 samples ≤ 512 tokens, the defaults); build fp16, --int8_kv_cache (our K and V
#   scales, and the seed's one shared scale), --fp8_kv_cache, SmoothQuant per-token + per-channel alone
#   and with --int8_kv_cache / --fp8_kv_cache; then validation perplexity (1024-token windows: one
#   context pass each, which never reads the KV cache, and — the number a KV cache can change — the first
#   $DECODE_WINDOWS windows (default 30) through decode steps that read it, perplexity --decode) and
#   summarize ROUGE on the cnn_dailymail sample (100 articles, 100 new tokens) for each; and the INT8-KV
#   engine's greedy text on ref, cuda reference kernels and cuda production kernels. Also FP8 GEMMs
#   (convert --qformat fp8 -kv; build --enable_fp8 [--fp8_kv_cache]). ONLY=regex runs the engines whose
#   name matches. Writes $OUT/kv-cache-accuracy.md (+ .log).
#
#   MODEL=dir DATA=dir OUT=dir bash scripts/gpu/kv-cache-report.sh
#   MODEL: the HF model directory (default ../shared/models/sotu-gpt2-16m)
#   DATA:  a directory holding sotu/calib.jsonl, sotu/val.txt, cnn_dailymail/test_sample_100.jsonl (default ../shared/data)
# Needs the build (npm run build, the CUDA addon included).
REPORT=kv-cache-accuracy
source "$(dirname "${BASH_SOURCE[0]}")/report-env.sh"

engine_flags=(--max_input_len 923 --max_output_len 101 --max_batch_size 8 --use_inflight_batching --enable_context_fmha --tokenizer_dir "$model")
calib=(--calib-dataset "$data/sotu/calib.jsonl")
sq=(--use_smooth_quant --per_token --per_channel)
all=(
  "fp16|fp16|"
  "INT8 KV (K and V scales)|kv|--int8_kv_cache"
  "INT8 KV (the seed's shared scale)|seedkv|--int8_kv_cache"
  "FP8 KV|kv|--fp8_kv_cache"
  "SmoothQuant per-token + per-channel|sqkv|${sq[*]}"
  "SmoothQuant + INT8 KV|sqkv|${sq[*]} --int8_kv_cache"
  "SmoothQuant + FP8 KV|sqkv|${sq[*]} --fp8_kv_cache"
  "FP8 GEMMs|fp8kv|--enable_fp8"
  "FP8 GEMMs + FP8 KV|fp8kv|--enable_fp8 --fp8_kv_cache"
)
# ONLY=regex: the engines whose name matches (e.g. ONLY='^(fp16|FP8 GEMMs)'); default every one
engines=()
for e in "${all[@]}"; do [[ "${e%%|*}" =~ ${ONLY:-.} ]] && engines+=("$e"); done
# each checkpoint once, when an engine needs it (calibration on the cuda engine: 512 samples ≤ 512 tokens)
declare -A made=()
checkpoint() {
  [ -n "${made[$1]:-}" ] && return 0
  case $1 in
    fp16) run convert -i "$model" -o "$work/ckpt-fp16" -t float16 ;;
    kv) run convert -i "$model" -o "$work/ckpt-kv" -t float16 -kv "${calib[@]}" ;;
    sqkv) run convert -i "$model" -o "$work/ckpt-sqkv" -t float16 -sq 0.5 -kv "${calib[@]}" ;;
    fp8kv) run convert -i "$model" -o "$work/ckpt-fp8kv" -t float16 --qformat fp8 -kv "${calib[@]}" ;;
    # the seed's checkpoint has one shared K/V scale per layer: ours without the K/V range files
    seedkv) checkpoint kv && cp -r "$work/ckpt-kv" "$work/ckpt-seedkv" && rm "$work"/ckpt-seedkv/1-gpu/*.kv_cache_amax.bin ;;
  esac || return 1
  made[$1]=1
}
greedy=""
for i in "${!engines[@]}"; do
  IFS='|' read -r name ckpt flags <<<"${engines[$i]}"
  checkpoint "$ckpt" || exit 1
  # shellcheck disable=SC2086
  run build --model_dir "$work/ckpt-$ckpt/1-gpu" "${engine_flags[@]}" $flags --output_dir "$work/e-$i" || exit 1
  [ "$name" = "INT8 KV (K and V scales)" ] && greedy="$work/e-$i"
done

# every engine's perplexity and summaries at once (the NLL over 50257 logits per token is host work: one core each)
for i in "${!engines[@]}"; do
  ( trtllm perplexity --engine_dir "$work/e-$i" --dataset_path "$data/sotu/val.txt" --window 1024 --backend cuda > "$work/ppl-$i.txt" 2>&1
    trtllm summarize --engine_dir "$work/e-$i" --dataset_path "$data/cnn_dailymail/test_sample_100.jsonl" --batch_size 8 --max_ite 13 --output_len 100 --backend cuda > "$work/sum-$i.txt" 2>&1
    trtllm perplexity --engine_dir "$work/e-$i" --dataset_path "$data/sotu/val.txt" --window 1024 --max_windows "${DECODE_WINDOWS:-30}" --decode --backend cuda > "$work/dppl-$i.txt" 2>&1 ) &
done
# the INT8-KV engine's greedy text on every backend (the cache write and read are exact)
text='Fellow-Citizens of the Senate and House of Representatives: the state of the Union'
if [ -n "$greedy" ]; then
  for b in "ref|--backend ref" "cuda reference kernels|--backend cuda --kernels reference" "cuda production kernels|--backend cuda --kernels production"; do
    IFS='|' read -r bname bflags <<<"$b"
    # shellcheck disable=SC2086
    echo "$bname|$(trtllm run --engine_dir "$greedy" $bflags --input_text "$text" --max_output_len 32 2>>"$log" | sed -n 's/^Output \[Text 0 Beam 0\]: "\(.*\)"$/\1/p')" >> "$work/greedy.txt"
  done
fi
wait

{
  echo "# INT8 / FP8 KV cache accuracy, sotu-gpt2-16m"
  echo
  echo "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader), $(date -u +%Y-%m-%dT%H:%MZ); engines on the cuda backend, production kernels."
  echo "Calibration: $(grep -m1 'calibrating on' "$log")"
  echo "K/V ranges per layer: $(grep -m1 'KV ranges' "$log")"
  echo "Perplexity: sotu val.txt, 1024-token windows; context pass: every window in one step (never reads the KV cache); through the cache: the first ${DECODE_WINDOWS:-30} windows, every position after a window's first a decode step that reads it (perplexity --decode). ROUGE: summarize, cnn_dailymail test_sample_100, 100 new tokens, greedy."
  echo
  echo "| engine | perplexity, context pass | vs fp16 | perplexity through the KV cache | vs fp16 | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-1 vs fp16 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$out/kv-cache-accuracy.md"
status=0
base_ppl=""
base_dppl=""
base_r1=""
for i in "${!engines[@]}"; do
  name=${engines[$i]%%|*}
  cat "$work/ppl-$i.txt" "$work/sum-$i.txt" "$work/dppl-$i.txt" >> "$log"
  ppl=$(sed -n 's/.*: perplexity \([0-9.]*\) .*/\1/p' "$work/ppl-$i.txt")
  dppl=$(sed -n 's/.*: perplexity \([0-9.]*\) .*/\1/p' "$work/dppl-$i.txt")
  r1=$(sed -n 's/^  rouge1 : \([0-9.]*\)/\1/p' "$work/sum-$i.txt" | head -1)
  r2=$(sed -n 's/^  rouge2 : \([0-9.]*\)/\1/p' "$work/sum-$i.txt" | head -1)
  rl=$(sed -n 's/^  rougeL : \([0-9.]*\)/\1/p' "$work/sum-$i.txt" | head -1)
  if [ -z "$ppl" ] || [ -z "$dppl" ] || [ -z "$r1" ]; then status=1; echo "| $name | failed (see kv-cache-accuracy.log) | | | | | | | |" >> "$out/kv-cache-accuracy.md"; continue; fi
  [ -z "$base_ppl" ] && base_ppl=$ppl && base_dppl=$dppl && base_r1=$r1
  rel=$(python3 -c "print(f'{(float(\"$ppl\") / float(\"$base_ppl\") - 1) * 100:+.2f} %')")
  drel=$(python3 -c "print(f'{(float(\"$dppl\") / float(\"$base_dppl\") - 1) * 100:+.2f} %')")
  dr1=$(python3 -c "print(f'{float(\"$r1\") - float(\"$base_r1\"):+.2f}')")
  echo "| $name | $ppl | $rel | $dppl | $drel | $r1 | $r2 | $rl | $dr1 |" >> "$out/kv-cache-accuracy.md"
done
if [ -n "$greedy" ]; then
  {
    echo
    echo "INT8 KV engine (K and V scales), greedy, 32 new tokens after \"$text\":"
    echo
    echo "| backend | text |"
    echo "|---|---|"
    sed 's/^\([^|]*\)|\(.*\)$/| \1 | \2 |/' "$work/greedy.txt"
  } >> "$out/kv-cache-accuracy.md"
  [ "$(cut -d'|' -f2 "$work/greedy.txt" | sort -u | wc -l)" -eq 1 ] || { status=1; echo "the backends' greedy texts differ" >> "$out/kv-cache-accuracy.md"; }
fi
rm -rf "$work"
cat "$out/kv-cache-accuracy.md"
exit $status
