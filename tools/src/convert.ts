/**
 * `trtllm convert` — the seed's examples/gpt/hf_gpt_convert.py: an HF GPT-2 / SantaCoder / StarCoder
 * model directory (safetensors, sharded safetensors or pytorch_model.bin; fp32/fp16/bf16) → an FT
 * checkpoint `<out>/<tp>-gpu/` (config.ini + one raw file per tensor and rank), byte-compatible with
 * the seed's output. Streams one tensor at a time; `-p` worker threads.
 */
import { convertHfToFt, FT_STORAGE, HfGptCheckpoint, type FtStorageType, type HfGptKind } from '@trtllm/loader';
import { parseFlags, withLibraryErrors } from './command.js';
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
  -sq, --smoothquant A / -kv, --calibrate-kv-cache
                                  need a calibration run of the engine: not available in this
                                  command yet (refused with a message, never ignored)

Differences from the seed, on purpose: GPTBigCode with multi_query false is written as true
multi-head QKV (multi_query_mode = False); config.ini carries config.json's keys rather than
transformers' in-memory config dump.
`;

/** -tp / -sq / -kv are multi-letter single-dash flags in the seed; node's parseArgs wants long names. */
const ALIASES: Record<string, string> = { '-tp': '--tensor-parallelism', '-sq': '--smoothquant', '-kv': '--calibrate-kv-cache' };

function positiveInt(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

export async function convert(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv.map((a) => ALIASES[a] ?? a), {
    'in-file': { type: 'string', short: 'i' },
    'out-dir': { type: 'string', short: 'o' },
    'tensor-parallelism': { type: 'string' },
    'storage-type': { type: 'string', short: 't' },
    model: { type: 'string' },
    processes: { type: 'string', short: 'p' },
    smoothquant: { type: 'string' },
    'calibrate-kv-cache': { type: 'boolean' },
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
  if (values.smoothquant !== undefined || values['calibrate-kv-cache']) {
    throw new UsageError('-sq/--smoothquant and -kv/--calibrate-kv-cache need a calibration run of the engine (the @trtllm/quant work); convert without them, and quantize at build time when that lands');
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
