/**
 * `trtllm convert` — the seed's examples/gpt/hf_gpt_convert.py: an HF GPT-2 / SantaCoder / StarCoder
 * model directory (safetensors, sharded safetensors or pytorch_model.bin; fp32/fp16/bf16) → an FT
 * checkpoint `<out>/<tp>-gpu/` (config.ini + one raw file per tensor and rank), byte-compatible with
 * the seed's output. Streams one tensor at a time; `-p` worker threads.
 */
import { convertCalibrated, gpuStatus } from '@trtllm/engine';
import { convertHfToFt, FT_STORAGE, Gpt2Tokenizer, HfGptCheckpoint, readCalibrationTexts, type FtStorageType, type HfGptKind } from '@trtllm/loader';
import { parseFlags, positiveInt, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { progressBar } from './progress.js';

export const CONVERT_HELP = `Usage: trtllm convert -i <hf model dir> -o <out dir> [flags]

Converts an HF checkpoint to an FT checkpoint in <out dir>/<tp>-gpu (what trtllm build
--model_dir reads), as TensorRT-LLM's examples/gpt/hf_gpt_convert.py writes it.

  -i, --in-file DIR               HF model directory: config.json + model.safetensors,
                                  model.safetensors.index.json (sharded) or pytorch_model.bin
  -o, --out-dir DIR               output directory (the checkpoint goes to DIR/<tp>-gpu;
                                  an existing one is replaced only when conversion succeeds)
  -tp, --tensor-parallelism N     split for N ranks (default 1); must divide n_head and n_inner
  -t, --storage-type T            float32 | float16 | bfloat16 (default float32)
      --model M                   gpt2 | santacoder | starcoder: the layout you expect; default
                                  what config.json says. A contradicting value is an error (the
                                  seed would silently transpose the wrong weights).
  -p, --processes N               worker threads (default 4)
      --load-model-on-cpu, --convert-model-on-cpu
                                  accepted for compatibility: conversion always runs on the CPU
  -sq, --smoothquant A            SmoothQuant with α = A in [0, 1] (0.5 is a good first try):
                                  calibrate, smooth QKV against LayerNorm 1 and FC against
                                  LayerNorm 2, and write the INT8 weights and scales beside the
                                  float ones (what build --use_smooth_quant reads)
      --calib-dataset FILE        calibration text (needed with -sq / -kv): JSON lines with a "text"
                                  field, or plain text, one sample per line. The seed downloads
                                  lambada; here you give the text
      --calib-samples N           samples to calibrate on (default 512: the first N of the file)
      --calib-seq-len N           tokens per sample (default 512; longer samples are truncated)
      --calib-backend B           ref | cuda: where calibration runs (default cuda when a GPU is
                                  usable, else ref); the tokenizer comes from the -i directory
  -kv, --calibrate-kv-cache       KV-cache scales (what build --int8_kv_cache / --fp8_kv_cache read):
                                  per layer the seed's one K/V scale (…query_key_value.scale_y_quant_orig)
                                  and, beyond the seed, max |K| and max |V| apart (…kv_cache_amax),
                                  calibrated like -sq (with -sq or alone; needs --calib-dataset)
      --qformat fp8               FP8 calibration (TensorRT-LLM's quantize.py name; the seed takes FP8
                                  scales from an external toolkit): every linear layer's max |x|
                                  (…<layer>.activation_amax), what build --enable_fp8 reads; with -kv
                                  for --fp8_kv_cache too; not with -sq (needs --calib-dataset)

Differences from the seed, on purpose: GPTBigCode with multi_query false is written as true
multi-head QKV (multi_query_mode = False); config.ini carries config.json's keys rather than
transformers' in-memory config dump.
`;

/** -tp / -sq / -kv are multi-letter single-dash flags in the seed; node's parseArgs wants long names. */
const ALIASES: Record<string, string> = { '-tp': '--tensor-parallelism', '-sq': '--smoothquant', '-kv': '--calibrate-kv-cache' };

export async function convert(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv.map((a) => ALIASES[a] ?? a), {
    'in-file': { type: 'string', short: 'i' },
    'out-dir': { type: 'string', short: 'o' },
    'tensor-parallelism': { type: 'string' },
    'storage-type': { type: 'string', short: 't' },
    model: { type: 'string' },
    processes: { type: 'string', short: 'p' },
    smoothquant: { type: 'string' },
    'calib-dataset': { type: 'string' },
    'calib-samples': { type: 'string' },
    'calib-seq-len': { type: 'string' },
    'calib-backend': { type: 'string' },
    'calibrate-kv-cache': { type: 'boolean' },
    qformat: { type: 'string' },
    'dataset-cache-dir': { type: 'string' },
    'load-model-on-cpu': { type: 'boolean' },
    'convert-model-on-cpu': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, CONVERT_HELP);
  if (values.help) {
    io.out(CONVERT_HELP);
    return 0;
  }
  const inDir = values['in-file'];
  const outDir = values['out-dir'];
  if (!inDir || !outDir) throw new UsageError(`-i/--in-file and -o/--out-dir are required\n\n${CONVERT_HELP}`);
  const kvCache = values['calibrate-kv-cache'] === true;
  if (values.qformat !== undefined && values.qformat !== 'fp8') throw new UsageError(`--qformat must be fp8, got '${values.qformat}' (SmoothQuant INT8 is -sq α)`);
  const fp8 = values.qformat === 'fp8';
  if (fp8 && values.smoothquant !== undefined) throw new UsageError('--qformat fp8 and -sq are two weight quantizations: convert with one of them');
  let alpha: number | undefined;
  if (values.smoothquant !== undefined) {
    alpha = Number(values.smoothquant);
    if (values.smoothquant.trim() === '' || !(alpha >= 0 && alpha <= 1)) throw new UsageError(`-sq/--smoothquant must be a number in [0, 1], got '${values.smoothquant}' (0.5 is a good first try)`);
  }
  const calibrating = alpha !== undefined || kvCache || fp8;
  const calibFlag = [alpha !== undefined && '-sq', kvCache && '-kv', fp8 && '--qformat fp8'].filter(Boolean).join(' ');
  if (calibrating) {
    if (values['calib-dataset'] === undefined) throw new UsageError(`${calibFlag} needs --calib-dataset FILE: calibration text as JSON lines with a "text" field, or plain text lines (the seed downloads lambada; nothing is downloaded here)`);
    if (values['calib-backend'] !== undefined && !['ref', 'cuda'].includes(values['calib-backend'])) throw new UsageError(`--calib-backend must be ref or cuda, got '${values['calib-backend']}'`);
  } else {
    for (const flag of ['calib-dataset', 'calib-samples', 'calib-seq-len', 'calib-backend'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} is for calibration: give it with -sq, -kv or --qformat fp8`);
  }
  const storage = values['storage-type'] ?? 'float32';
  if (!(storage in FT_STORAGE)) throw new UsageError(`-t/--storage-type must be one of ${Object.keys(FT_STORAGE).join(', ')}, got '${storage}'`);
  const kind = values.model;
  if (kind !== undefined && !['gpt2', 'santacoder', 'starcoder'].includes(kind)) throw new UsageError(`--model must be gpt2, santacoder or starcoder, got '${kind}'`);
  const tp = positiveInt('-tp/--tensor-parallelism', values['tensor-parallelism'], 1);
  const processes = positiveInt('-p/--processes', values.processes, 4);

  const started = performance.now();
  return withLibraryErrors('convert', io, async () => {
    const probe = HfGptCheckpoint.open(inDir, kind ? { kind: kind as HfGptKind } : {});
    const c = probe.config;
    io.out(`${inDir}: ${probe.kind} (${probe.format}), ${c.nLayer} layers, n_embd ${c.nEmbd}, n_head ${c.nHead}${c.nKvHead === 1 ? ' (multi-query)' : ''}, vocab ${c.vocabSize}, lm_head ${probe.hf.tied ? 'tied' : 'separate'}\n`);
    probe.close();
    if (calibrating) {
      const samples = positiveInt('--calib-samples', values['calib-samples'], 512);
      const asked = positiveInt('--calib-seq-len', values['calib-seq-len'], 512);
      const seqLen = Math.min(asked, c.nPositions); // the model sees at most n_positions tokens
      if (seqLen < asked) io.out(`note: --calib-seq-len ${asked} is more than the model's ${c.nPositions} positions: samples are truncated to ${seqLen} tokens\n`);
      const file = values['calib-dataset']!;
      const texts = readCalibrationTexts(file, { samples });
      const tok = Gpt2Tokenizer.fromDir(inDir);
      // as the seed's tokenizer(text, max_length=seq_len, truncation=True): the first seq_len tokens
      const prompts = texts.map((t) => tok.encode(t).slice(0, seqLen));
      const gpu = values['calib-backend'] === 'ref' ? undefined : await gpuStatus();
      if (values['calib-backend'] === 'cuda' && !gpu?.ok) throw new UsageError(`--calib-backend cuda: no usable GPU (${gpu && !gpu.ok ? gpu.reason : 'unknown'})`);
      const backend = gpu?.ok ? ({ backend: 'cuda', kernels: 'production' } as const) : ({ backend: 'ref' } as const);
      io.out(`calibrating on ${gpu?.ok ? `cuda (production kernels, ${gpu.name})` : `ref (CPU${gpu && !gpu.ok ? `: ${gpu.reason}` : ''})`}: ${prompts.length} samples of ${file}${texts.length < samples ? ` (the file has ${texts.length} of the ${samples} asked for)` : ''}, ${prompts.reduce((a, p) => a + p.length, 0)} tokens (≤ ${seqLen} each)${alpha !== undefined ? `, α = ${alpha}` : ''}${fp8 ? ', FP8 ranges' : ''}${kvCache ? ', KV-cache scales' : ''}\n`);
      const cal = progressBar(io, 'calibrating');
      const r = await convertCalibrated({
        inDir, outDir, tp, prompts, backend, storage: storage as FtStorageType, kvCache, fp8,
        ...(alpha !== undefined ? { alpha } : {}),
        ...(kind ? { kind: kind as HfGptKind } : {}),
        onCalibrate: (d, t) => cal.update(d, t, `${d}/${t} samples`),
      });
      cal.end();
      const seconds = (performance.now() - started) / 1000;
      const what = [alpha !== undefined && 'SmoothQuant INT8', fp8 && 'FP8 ranges', kvCache && 'KV-cache scales'].filter(Boolean).join(' + ');
      io.out(`wrote ${r.dir}: ${r.files} files (float ${storage} + ${what}), tp ${tp}${alpha !== undefined ? `, smoothquant ${alpha}` : ''}${fp8 ? ', qformat fp8' : ''}${kvCache ? ', calibrate_kv_cache True' : ''}, ${seconds.toFixed(2)} s\n`);
      if (r.kvAmax) io.out(`KV ranges (max |K|, max |V|) per layer: ${r.kvAmax.map((a) => `${a.k.toPrecision(3)}/${a.v.toPrecision(3)}`).join(' ')}\n`);
      return 0;
    }
    const bar = progressBar(io, 'saving weights');
    const r = await convertHfToFt({
      inDir,
      outDir,
      tp,
      storage: storage as FtStorageType,
      processes,
      ...(kind ? { kind: kind as HfGptKind } : {}),
      onProgress: (p) => bar.update(p.bytesDone, p.bytes, `${p.tensorsDone}/${p.tensors} tensors`),
    });
    bar.end();
    const seconds = (performance.now() - started) / 1000;
    io.out(`wrote ${r.dir}: ${r.files} files, ${(r.bytes / 2 ** 20).toFixed(1)} MiB ${storage}, tp ${tp}, multi_query_mode ${r.multiQuery ? 'True' : 'False'}, ${seconds.toFixed(2)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
    return 0;
  });
}
