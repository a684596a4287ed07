/**
 * `trtllm benchmark` — the seed's benchmarks/python/benchmark.py for GPT: fixed input/output
 * lengths and batch sizes on engines built here (random weights of a named shape, or converted from
 * an HF directory so a peer can run the same weights) or given as engine dirs. Per model: engine
 * build and load time; per batch size: TTFT, ms per decode step, output tokens/s, GPU memory in use,
 * each the median of --runs after --warmup; a long-prompt prefill (TTFT of one --prefill_len prompt);
 * whether request 0's tokens are the same at every batch size (batch invariance). With --peer (the
 * JSON of scripts/bench/hf_peer.py, measured in the same device session) every number is also shown
 * as a ratio to HF transformers; the decode step is shown against the device's bandwidth roofline
 * (weight + KV bytes ÷ copy bandwidth measured in this run). Writes a table, JSON, markdown and an
 * SVG plot of tokens/s against batch size.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEngine, buildEngineAsync, convertCalibrated, deviceMemoryInUse, Engine, kvBytesPerToken as engineKvBytesPerToken, measureDevice, quantizeInMemory, randomWeights, resolveBuildConfig, type BackendName, type GemmAlgo, type BuildFlags, type InMemoryQuantization, type DeviceReport, type GenerateRequest, type KernelSet, type StepStats } from '@trtllm/engine';
import { convertHfToFt, HfGptCheckpoint } from '@trtllm/loader';
import { DTYPES, seededRandom } from '@trtllm/ref-math';
import { parseFlags, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { progressBar } from './progress.js';
import { defaultBackend, gemmAlgoFlag, tensorParallel } from './run.js';

export const BENCHMARK_HELP = `Usage: trtllm benchmark [--model NAME[=HF_DIR] ...| --engine_dir DIR ...] [flags]

  --model NAME[=HF_DIR]   gpt2 | gpt2-medium | gpt2-xl | santacoder (24 layers, n_embd 2048, 16 heads,
                          multi-query, vocab 49280); random fp16 weights, or converted from HF_DIR
                          (so a peer can load the same weights). Repeat for several. Default gpt2.
  --engine_dir DIR        an engine built by trtllm build (repeatable)
  --batch_sizes LIST      default 1,8,64
  --input_len N           prompt tokens (default 128)
  --output_len N          new tokens, no early stop (default 128)
  --prefill_len N         also time one prompt of N tokens (TTFT; default 924; 0: skip)
  --runs N                timed runs per point, the median reported (default 3)
  --warmup N              untimed runs first (default 1)
  --backend ref|cuda      default cuda when a GPU is usable
  --kernels production|reference  cuda kernels (default production)
  --no_cuda_graphs        production kernels without CUDA graphs
  --gemm_algo auto|batch-invariant|decode-kernel|cublaslt|per-shape  GEMM policy (default auto: the
                         decode GEMM for engines of ≤ 8 generation rows per step, else batch-invariant:
                         cuBLASLt one algorithm per shape, the decode GEMM for the lm_head); one engine
                         per model is built for the largest batch, so --batch_sizes decides what auto picks
  --quantization LIST     also benchmark each model quantized, beside its fp16 engine, as TensorRT-LLM's
                          benchmark names them: int8_sq_per_tensor | int8_sq_per_token | int8_sq_per_channel |
                          int8_sq_per_token_channel (SmoothQuant α 0.5) | fp8 (FP8 GEMMs + FP8 KV cache) |
                          fp8_gemm | fp8_kv_cache | int8_kv_cache; calibrated on 16 of the benchmark's own
                          prompt kind on this backend (from HF_DIR through convert -sq / --qformat fp8 / -kv)
  --sampling SPEC         also time sampled decoding with these settings, beside greedy:
                          temperature=T,top_k=K,top_p=P (any of them; seeded per request; the peer's
                          hf_peer.py --sampling takes the same string)
  --num_beams N           also time beam search with N beams (the engine is built with max_beam_width N)
  --peer FILE             HF peer results (scripts/bench/hf_peer.py) from the same device session
  --json FILE  --markdown FILE  --plot FILE.svg   write the results
`;

/** What a `--quantization` value builds: SmoothQuant INT8 GEMMs in a mode, FP8 GEMMs, an int8 / fp8 KV cache. */
export interface QuantizationSpec {
  readonly smoothQuant?: { readonly perToken: boolean; readonly perChannel: boolean };
  readonly fp8?: boolean;
  readonly kv?: 'int8' | 'fp8';
}

/** `--quantization` values (TensorRT-LLM benchmark.py's names; int8_kv_cache is ours) and what they build. */
export const QUANTIZATIONS = {
  int8_sq_per_tensor: { smoothQuant: { perToken: false, perChannel: false } },
  int8_sq_per_token: { smoothQuant: { perToken: true, perChannel: false } },
  int8_sq_per_channel: { smoothQuant: { perToken: false, perChannel: true } },
  int8_sq_per_token_channel: { smoothQuant: { perToken: true, perChannel: true } },
  fp8: { fp8: true, kv: 'fp8' },
  fp8_gemm: { fp8: true },
  fp8_kv_cache: { kv: 'fp8' },
  int8_kv_cache: { kv: 'int8' },
} as const satisfies Record<string, QuantizationSpec>;
export type Quantization = keyof typeof QUANTIZATIONS;

/** What quantizeInMemory is asked for a `--quantization` value: SmoothQuant with α 0.5 (the seed benchmark's), FP8 GEMMs, the KV cache. */
export function inMemoryQuantization(mode: QuantizationSpec): InMemoryQuantization {
  return { ...(mode.smoothQuant ? { smoothQuant: { alpha: 0.5, mode: mode.smoothQuant } } : {}), ...(mode.fp8 ? { fp8: true } : {}), ...(mode.kv ? { kv: mode.kv } : {}) };
}

/** The limits an engine is built for: max batch size, input and output lengths. */
export interface EngineLimits {
  readonly batch: number;
  readonly input: number;
  readonly output: number;
}

/**
 * The benchmark's build flags for `base` (a random-weight shape and dtype, or a model_dir) at these
 * limits: in-flight batching, context FMHA, the fp16 GEMM plugin, max_num_tokens batch × input, and
 * the quantization mode's KV cache.
 */
export function engineFlags(base: BuildFlags, limits: EngineLimits, mode?: QuantizationSpec): BuildFlags {
  return {
    ...base,
    max_batch_size: limits.batch, max_input_len: limits.input, max_output_len: limits.output,
    max_num_tokens: Math.max(limits.batch * limits.input, limits.input), use_inflight_batching: true, enable_context_fmha: true, use_gemm_plugin: 'float16',
    ...(mode?.kv === 'int8' ? { int8_kv_cache: true } : mode?.kv === 'fp8' ? { fp8_kv_cache: true } : {}),
  };
}

/** The prompts a quantized benchmark engine is calibrated on: 16 of the input length (requests 1000 … 1015's). */
export function calibrationPrompts(inputLen: number, vocab: number): number[][] {
  return Array.from({ length: 16 }, (_, i) => prompt(1000 + i, inputLen, vocab));
}

/**
 * A quantized random-weight model: the weights of seed 0 for `flags`' model (its float engine's),
 * calibrated on `calibration` and quantized in memory as `mode` asks. buildQuantized makes its engine.
 */
export async function quantizeRandomWeights(
  flags: BuildFlags,
  calibration: readonly (readonly number[])[],
  mode: QuantizationSpec,
  o: { readonly backend: { readonly backend: BackendName; readonly kernels?: KernelSet }; readonly onCalibrate?: (done: number, total: number) => void },
): ReturnType<typeof quantizeInMemory> {
  const config = resolveBuildConfig({ ...flags, int8_kv_cache: false, fp8_kv_cache: false }).model;
  return quantizeInMemory({ config, weights: await randomWeights(config, 0, availableParallelism()) }, calibration, inMemoryQuantization(mode), o);
}

/** An engine of quantizeRandomWeights' model, built into `outputDir` with `flags`. */
export function buildQuantized(flags: BuildFlags, outputDir: string, q: Awaited<ReturnType<typeof quantizeInMemory>>): void {
  buildEngine({ flags, outputDir, weights: q.weights, ...(q.smoothQuant ? { smoothQuant: q.smoothQuant } : {}), ...(q.fp8 ? { fp8: q.fp8 } : {}), ...(q.kvCacheScales ? { kvCacheScales: q.kvCacheScales } : {}) });
}

/** The random-weight shapes the issue names (fp16). */
export const SHAPES: Readonly<Record<string, Partial<BuildFlags>>> = {
  gpt2: { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024, hidden_act: 'gelu' },
  'gpt2-medium': { n_layer: 24, n_embd: 1024, n_head: 16, vocab_size: 50257, n_positions: 1024, hidden_act: 'gelu' },
  'gpt2-xl': { n_layer: 48, n_embd: 1600, n_head: 25, vocab_size: 50257, n_positions: 1024, hidden_act: 'gelu' },
  santacoder: { n_layer: 24, n_embd: 2048, n_head: 16, vocab_size: 49280, n_positions: 2048, hidden_act: 'gelu', multi_query_mode: true },
};

/** One (model, batch size) measurement; times in ms, medians over the runs. */
export interface BatchPoint {
  readonly batch: number;
  /** Absent for beam search: a request's tokens arrive together when its search ends. */
  readonly ttftMs?: number;
  readonly msPerStep: number;
  readonly tokensPerSec: number;
  readonly gpuMemoryGiB?: number;
}

/** How a series of points decodes: greedy, sampled (--sampling), or beam search (--num_beams). */
export type Decoding = 'greedy' | 'sampled' | 'beams';

export interface ModelResult {
  readonly model: string;
  /** Greedy when absent. */
  readonly decoding?: Decoding;
  /** The sampling settings (decoding 'sampled') or the beam count (decoding 'beams'). */
  readonly decodingSettings?: string;
  /** A sampled or beam series: the label of the same engine's greedy series. */
  readonly greedyModel?: string;
  /** The model whose peer numbers this row is compared with (a quantized engine: its fp16 model's). */
  readonly base?: string;
  /** The quantization (`--quantization`), when not fp16. */
  readonly quantization?: Quantization;
  readonly params: number;
  /** The engine's float dtype ('f16', 'bf16', 'f32'). */
  readonly dtype?: string;
  /** Bytes of weights read per decode step (every parameter once, in its stored dtype). */
  readonly weightBytes: number;
  /** KV-cache bytes per token position (all layers, K and V). */
  readonly kvBytesPerToken: number;
  readonly buildSec?: number;
  readonly loadSec: number;
  readonly points: readonly BatchPoint[];
  readonly prefill?: { readonly tokens: number; readonly ttftMs: number };
  /** Request 0's tokens at every batch size equal its tokens alone. */
  readonly batchInvariant: boolean;
  /** The GEMM policy the engine ran (production kernels; 'auto' resolved for this engine's batch limit). */
  readonly gemmAlgo?: GemmAlgo;
  readonly steps?: StepStats;
  /** Wall time of the benchmark's steps, ms, summed (the engine's step loop: scheduling, sampling, the backend). */
  readonly engineStepMs?: number;
}

/** The peer script's JSON: per model and mode, per batch size. */
export interface PeerResults {
  readonly device?: string;
  readonly torch?: string;
  readonly transformers?: string;
  readonly models: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, { readonly tokensPerSec: number; readonly msPerStep?: number; readonly ttftMs?: number }>>>>>>;
}

export interface BenchmarkReport {
  readonly device?: DeviceReport;
  readonly backend: BackendName;
  readonly kernels: KernelSet;
  readonly inputLen: number;
  readonly outputLen: number;
  readonly models: readonly ModelResult[];
  readonly peer?: PeerResults;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Seeded prompt ids in [0, vocab): request i's prompt is the same in every batch. */
function prompt(i: number, len: number, vocab: number): number[] {
  const r = seededRandom(i + 1);
  return Array.from({ length: len }, () => Math.floor(r() * Math.min(vocab, 50000)));
}

/** Steps a production backend counted (eager + captured + replayed). */
const stepCount = (s: StepStats): number => s.eager + s.captured + s.replayed;

/** Per-request options of a decoding: request i samples with seed i, so the draws are the same at every batch size. */
type RequestOptions = (i: number) => Partial<GenerateRequest>;

/** --sampling's settings: temperature=T,top_k=K,top_p=P (any of them). */
/** `--peer FILE`: hf_peer.py's JSON. */
function readPeer(file: string): PeerResults {
  if (!existsSync(file)) throw new UsageError(`--peer ${file}: no such file (the JSON scripts/bench/hf_peer.py writes)`);
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as PeerResults;
    if (typeof p !== 'object' || p === null || typeof p.models !== 'object' || p.models === null) throw new Error('no "models" object');
    return p;
  } catch (e) {
    throw new UsageError(`--peer ${file}: not hf_peer.py's JSON (${(e as Error).message})`);
  }
}

export function parseSampling(spec: string): { temperature?: number; topK?: number; topP?: number } {
  const o: { temperature?: number; topK?: number; topP?: number } = {};
  for (const kv of spec.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [k, val] = kv.split('=') as [string, string | undefined];
    const n = Number(val);
    if (val === undefined || val.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--sampling: '${kv}' is not name=number (temperature=T,top_k=K,top_p=P)`);
    if (k === 'temperature') o.temperature = n;
    else if (k === 'top_k') o.topK = n;
    else if (k === 'top_p') o.topP = n;
    else throw new UsageError(`--sampling: unknown setting '${k}' (temperature, top_k, top_p)`);
  }
  if (Object.keys(o).length === 0) throw new UsageError('--sampling: expected temperature=T,top_k=K,top_p=P (any of them)');
  return o;
}

/** One timed batch: every request streamed; TTFT = the last first token (all prompts run in one step). */
async function timeBatch(engine: Engine, prompts: readonly (readonly number[])[], out: number, options: RequestOptions = () => ({})): Promise<{ ttft: number; total: number; first: readonly number[] }> {
  const t0 = performance.now();
  let lastFirst = 0;
  let first: readonly number[] = [];
  await Promise.all(
    prompts.map(async (tokens, i) => {
      const s = engine.stream({ ...options(i), tokens, maxNewTokens: out, endId: null });
      let n = 0;
      for await (const e of s) {
        void e;
        if (n++ === 0) lastFirst = Math.max(lastFirst, performance.now());
      }
      const r = await s.result;
      if (i === 0) first = r.tokens;
    }),
  );
  return { ttft: lastFirst - t0, total: performance.now() - t0, first };
}

export async function benchmark(argv: readonly string[], io: CliIO): Promise<number> {
  const v = parseFlags(argv, {
    model: { type: 'string', multiple: true }, engine_dir: { type: 'string', multiple: true }, batch_sizes: { type: 'string' }, input_len: { type: 'string' },
    output_len: { type: 'string' }, prefill_len: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' }, backend: { type: 'string' },
    kernels: { type: 'string' }, no_cuda_graphs: { type: 'boolean' }, gemm_algo: { type: 'string' }, peer: { type: 'string' }, json: { type: 'string' },
    markdown: { type: 'string' }, plot: { type: 'string' }, quantization: { type: 'string' }, sampling: { type: 'string' }, num_beams: { type: 'string' }, help: { type: 'boolean' },
  }, BENCHMARK_HELP);
  if (v.help) {
    io.out(BENCHMARK_HELP);
    return 0;
  }
  const int = (name: string, s: string | undefined, dflt: number, min = 1): number => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${s}'`);
    return n;
  };
  const batches = (v.batch_sizes ?? '1,8,64').split(',').map((s) => int('batch_sizes', s.trim(), 1));
  const inputLen = int('input_len', v.input_len, 128);
  const outputLen = int('output_len', v.output_len, 128, 2);
  const prefillLen = int('prefill_len', v.prefill_len, 924, 0);
  const runs = int('runs', v.runs, 3);
  const warmup = int('warmup', v.warmup, 1, 0);
  const backend = (v.backend ?? (await defaultBackend())) as BackendName;
  if (backend !== 'ref' && backend !== 'cuda') throw new UsageError(`--backend must be ref or cuda, got '${v.backend}'`);
  const kernels = (v.kernels ?? (backend === 'cuda' ? 'production' : 'reference')) as KernelSet;
  if (kernels !== 'production' && kernels !== 'reference') throw new UsageError(`--kernels must be production or reference, got '${v.kernels}'`);
  const { gemmAlgo } = gemmAlgoFlag(v.gemm_algo);
  const models = (v.model ?? (v.engine_dir ? [] : ['gpt2'])).map((m) => {
    const [name, hf] = m.split('=') as [string, string | undefined];
    if (!SHAPES[name]) throw new UsageError(`--model: unknown shape '${name}' (${Object.keys(SHAPES).join(', ')})`);
    return { name, hf };
  });
  const sampling = v.sampling !== undefined ? parseSampling(v.sampling) : undefined;
  const numBeams = v.num_beams !== undefined ? int('num_beams', v.num_beams, 1, 2) : undefined;
  if (numBeams !== undefined && v.engine_dir) throw new UsageError('--num_beams builds engines with max_beam_width N from --model shapes; an --engine_dir is benchmarked as it was built');
  const decodings: { decoding: Decoding; settings?: string; options: RequestOptions }[] = [
    { decoding: 'greedy', options: () => ({}) },
    ...(sampling ? [{ decoding: 'sampled' as const, settings: v.sampling!, options: (i: number) => ({ ...sampling, seed: i }) }] : []),
    ...(numBeams ? [{ decoding: 'beams' as const, settings: `${numBeams} beams`, options: () => ({ numBeams }) }] : []),
  ];
  const peer = v.peer ? readPeer(v.peer) : undefined;
  const quants = (v.quantization ?? '').split(',').map((q) => q.trim()).filter(Boolean);
  for (const q of quants) if (!(q in QUANTIZATIONS)) throw new UsageError(`--quantization: unknown '${q}' (${Object.keys(QUANTIZATIONS).join(', ')})`);
  if (quants.length && models.length === 0) throw new UsageError('--quantization builds quantized engines of --model shapes; an --engine_dir is benchmarked as it was built');
  // under mpirun / srun the other ranks serve one engine: one --engine_dir, nothing built here
  const launched = tensorParallel(undefined);
  if (launched.launch && (models.length > 0 || (v.engine_dir ?? []).length !== 1)) throw new UsageError(`under ${launched.launch.launcher} (${launched.launch.worldSize} ranks), benchmark one tensor-parallel engine: exactly one --engine_dir and no --model`);

  return withLibraryErrors('benchmark', io, async () => {
    const device = backend === 'cuda' ? await measureDevice() : undefined;
    if (device) io.out(`device: ${device.name}; copy ${device.copyGBs.toFixed(0)} GB/s; cuBLASLt f16 ${device.matmulTflops?.toFixed(0) ?? '—'} TFLOP/s (measured now)\n`);
    const maxBatch = Math.max(...batches);
    const results: ModelResult[] = [];
    const targets: { label: string; dir?: string; name?: string; hf?: string; quant?: Quantization }[] = [
      ...models.flatMap((m) => [{ label: m.name, ...m }, ...quants.map((q) => ({ label: `${m.name} ${q}`, ...m, quant: q as Quantization }))]),
      ...(v.engine_dir ?? []).map((d) => ({ label: d, dir: d })),
    ];
    for (const t of targets) {
      const scratch = t.dir ? undefined : mkdtempSync(join(tmpdir(), 'trtllm-bench-'));
      try {
        let dir = t.dir;
        let buildSec: number | undefined;
        let modelDir: string | undefined;
        /** An engine of this target's weights for these limits (random weights, or the converted HF checkpoint). */
        const mode: QuantizationSpec | undefined = t.quant ? QUANTIZATIONS[t.quant] : undefined;
        const vocabOf = (): number => {
          if (!t.hf) return SHAPES[t.name!]!.vocab_size ?? 50257;
          const ck = HfGptCheckpoint.open(t.hf);
          ck.close();
          return ck.config.vocabSize;
        };
        const vocab = mode ? vocabOf() : 0; // once: an HF checkpoint's header is opened for it
        const calibration = mode ? calibrationPrompts(inputLen, vocab) : [];
        const calibBackend = { backend, ...(backend === 'cuda' ? { kernels } : {}) } as const;
        /** A quantized random-weight model: the fp16 engine's weights (seed 0), calibrated once, and what the mode needs of it. */
        let quantized: ReturnType<typeof quantizeInMemory> | undefined;
        /** An engine of this target's weights for these limits (random weights, or the converted HF checkpoint). */
        const buildFor = async (name: string, limits: { batch: number; input: number; output: number }): Promise<string> => {
          const flags = engineFlags(
            {
              ...(modelDir ? { model_dir: modelDir } : { ...SHAPES[t.name!], dtype: 'float16' }),
              ...(numBeams ? { max_beam_width: numBeams } : {}),
              ...(mode?.smoothQuant && modelDir ? { use_smooth_quant: true, per_token: mode.smoothQuant.perToken, per_channel: mode.smoothQuant.perChannel } : {}),
              ...(mode?.fp8 && modelDir ? { enable_fp8: true } : {}),
            },
            limits,
            mode,
          );
          if (mode && !modelDir) {
            quantized ??= (async () => {
              // minutes for a large model (random weights, fp32 calibration, smoothing on the host): say what runs
              const q0 = performance.now();
              io.err(`${t.label}: random weights, calibration on ${calibration.length} prompts (${backend}), quantization in memory…\n`);
              const bar = progressBar(io, `${t.label}: calibrating`);
              const r = await quantizeRandomWeights(flags, calibration, mode, { backend: calibBackend, onCalibrate: (done, total) => bar.update(done, total) });
              bar.end();
              io.err(`${t.label}: quantized in ${((performance.now() - q0) / 1000).toFixed(1)} s\n`);
              return r;
            })();
            buildQuantized(flags, join(scratch!, name), await quantized);
          } else {
            await buildEngineAsync({ flags, outputDir: join(scratch!, name), threads: availableParallelism() });
          }
          return join(scratch!, name);
        };
        if (!dir) {
          const b0 = performance.now();
          if (t.hf && mode) {
            const what = { ...(mode.smoothQuant ? { alpha: 0.5 } : {}), ...(mode.fp8 ? { fp8: true } : {}), ...(mode.kv ? { kvCache: true } : {}) };
            modelDir = (await convertCalibrated({ inDir: t.hf, outDir: join(scratch!, 'ft'), storage: 'float16', prompts: calibration, backend: calibBackend, ...what })).dir;
          }
          else if (t.hf) modelDir = (await convertHfToFt({ inDir: t.hf, outDir: join(scratch!, 'ft'), storage: 'float16', processes: Math.min(8, availableParallelism()) })).dir;
          dir = await buildFor('engine', { batch: maxBatch, input: inputLen, output: outputLen });
          buildSec = (performance.now() - b0) / 1000;
        }
        const l0 = performance.now();
        const engine = await Engine.load(dir, { backend, ...(backend === 'cuda' ? { kernels } : {}), ...(v.no_cuda_graphs ? { cudaGraphs: false } : {}), ...(gemmAlgo ? { gemmAlgo } : {}), ...launched });
        const loadSec = (performance.now() - l0) / 1000;
        try {
          const c = engine.model;
          const vocab = c.vocabSize;
          const hsz = c.nEmbd / c.nHead;
          const linearParams = c.nLayer * (c.nEmbd * (c.nHead + 2 * c.nKvHead) * hsz + c.nEmbd * c.nEmbd + 2 * c.nEmbd * c.intermediateSize);
          const embeddingParams = c.vocabSize * c.nEmbd + (c.rotaryPct > 0 ? 0 : c.nPositions * c.nEmbd);
          const params = embeddingParams + linearParams;
          // bytes per decode step from the engine's own quantization (an --engine_dir engine too): INT8 / FP8
          // linear layers read one byte per weight and an int8 / fp8 cache one per element, the rest their dtype's
          const floatBytes = DTYPES[c.dtype].bytes;
          const kvBytesPerToken = engineKvBytesPerToken(engine.config);
          const weightBytes = floatBytes * embeddingParams + (engine.config.quant.weights.kind === 'none' ? floatBytes : 1) * linearParams;
          io.out(`${t.label}: ${(params / 1e6).toFixed(0)} M parameters${buildSec !== undefined ? `, built in ${buildSec.toFixed(1)} s` : ''}, loaded in ${loadSec.toFixed(2)} s\n`);
          const series: { d: (typeof decodings)[number]; points: BatchPoint[]; invariant: boolean }[] = [];
          for (const d of decodings) {
            const points: BatchPoint[] = [];
            let alone: readonly number[] | undefined;
            let invariant = true;
            if (d.decoding !== 'greedy') io.out(`  ${d.decoding} (${d.settings}):\n`);
            for (const b of batches) {
              const prompts = Array.from({ length: b }, (_, i) => prompt(i, inputLen, vocab));
              for (let w = 0; w < warmup; w++) await timeBatch(engine, prompts, outputLen, d.options);
              const ms: { ttft: number; step: number; tps: number }[] = [];
              for (let r = 0; r < runs; r++) {
                const m = await timeBatch(engine, prompts, outputLen, d.options);
                // beams: every token arrives at the end, so the whole run over its steps (the context step included)
                const step = d.decoding === 'beams' ? m.total / outputLen : (m.total - m.ttft) / (outputLen - 1);
                ms.push({ ttft: m.ttft, step, tps: (b * outputLen) / (m.total / 1000) });
                alone ??= m.first;
                if (m.first.length !== alone.length || m.first.some((x, i) => x !== alone![i])) invariant = false;
              }
              const mem = await deviceMemoryInUse();
              const p: BatchPoint = { batch: b, ...(d.decoding === 'beams' ? {} : { ttftMs: median(ms.map((x) => x.ttft)) }), msPerStep: median(ms.map((x) => x.step)), tokensPerSec: median(ms.map((x) => x.tps)), ...(mem !== undefined ? { gpuMemoryGiB: mem / 2 ** 30 } : {}) };
              points.push(p);
              io.out(`  batch ${String(b).padStart(3)}: ${p.ttftMs !== undefined ? `TTFT ${p.ttftMs.toFixed(2)} ms, ` : ''}${p.msPerStep.toFixed(3)} ms/step, ${p.tokensPerSec.toFixed(0)} tokens/s\n`);
            }
            series.push({ d, points, invariant });
          }
          const steps = engine.stepStats;
          if (steps) {
            const n = stepCount(steps);
            io.out(`  steps: ${steps.eager} eager, ${steps.captured} captured, ${steps.replayed} replayed; per step ${(steps.stepMs / n).toFixed(3)} ms in the backend, ${(steps.gpuMs / n).toFixed(3)} ms on the device (events)\n`);
          }
          let prefill: ModelResult['prefill'];
          if (prefillLen > 0) {
            // one long prompt: an engine with room for it (built alongside when the benchmark engine's limits are shorter)
            const fits = engine.config.maxInputLen >= prefillLen;
            const room = c.nPositions - prefillLen;
            let long: Engine | undefined = fits ? engine : undefined;
            if (!fits && scratch && room >= 2) long = await Engine.load(await buildFor('prefill', { batch: 1, input: prefillLen, output: 2 }), { backend, ...(backend === 'cuda' ? { kernels } : {}), ...(gemmAlgo ? { gemmAlgo } : {}) });
            if (long) {
              try {
                const ids = [prompt(7, prefillLen, vocab)];
                for (let w = 0; w < Math.max(1, warmup); w++) await timeBatch(long, ids, 2);
                const ttfts: number[] = [];
                for (let r = 0; r < runs; r++) ttfts.push((await timeBatch(long, ids, 2)).ttft);
                prefill = { tokens: prefillLen, ttftMs: median(ttfts) };
                io.out(`  prefill ${prefillLen} tokens: ${prefill.ttftMs.toFixed(2)} ms\n`);
              } finally {
                if (long !== engine) long.dispose();
              }
            } else io.out(`  prefill ${prefillLen} tokens: skipped (the engine's max_input_len is ${engine.config.maxInputLen})\n`);
          }
          for (const { d, points, invariant } of series) {
            const greedy = d.decoding === 'greedy';
            const label = greedy ? t.label : `${t.label} ${d.decoding === 'sampled' ? 'sampled' : d.settings}`;
            const base = t.quant ? t.name! : t.dir ? undefined : t.label;
            results.push({
              model: label, ...(greedy ? {} : { decoding: d.decoding, decodingSettings: d.settings!, greedyModel: t.label }), ...(base !== undefined && base !== label ? { base } : {}), ...(t.quant ? { quantization: t.quant } : {}),
              params, dtype: c.dtype, weightBytes, kvBytesPerToken, ...(buildSec !== undefined ? { buildSec } : {}), loadSec, points, ...(greedy && prefill ? { prefill } : {}), batchInvariant: invariant,
              ...(greedy && steps ? { steps } : {}), ...(engine.gemmAlgo ? { gemmAlgo: engine.gemmAlgo } : {}),
            });
          }
        } finally {
          engine.dispose();
        }
      } finally {
        if (scratch) rmSync(scratch, { recursive: true, force: true });
      }
    }
    const report: BenchmarkReport = { ...(device ? { device } : {}), backend, kernels, inputLen, outputLen, models: results, ...(peer ? { peer } : {}) };
    const md = benchmarkMarkdown(report);
    io.out(`\n${md}`);
    if (v.json) writeFileSync(v.json, JSON.stringify(report, null, 2) + '\n');
    if (v.markdown) writeFileSync(v.markdown, md);
    if (v.plot) writeFileSync(v.plot, benchmarkSvg(report));
    return 0;
  });
}

/** Decode roofline: weights + the KV cache at the step's mean context, read once, at the measured copy bandwidth. */
export function rooflineMs(m: ModelResult, batch: number, inputLen: number, outputLen: number, copyGBs: number): number {
  const bytes = m.weightBytes + batch * m.kvBytesPerToken * (inputLen + outputLen / 2);
  return (bytes / (copyGBs * 1e9)) * 1e3;
}

const perStep = (m: ModelResult, k: 'stepMs' | 'gpuMs'): string => {
  const s = m.steps;
  return s && stepCount(s) ? (s[k] / stepCount(s)).toFixed(3) : '—';
};

const peerOf = (r: BenchmarkReport, model: string, mode: string, batch: number) => r.peer?.models[model]?.[mode]?.[String(batch)];
/** The peer's mode name for a series' decoding (hf_peer.py: eager, compiled, eager-sampled, compiled-beams, …). */
const peerSuffix = (m: ModelResult): string => (m.decoding === 'sampled' ? '-sampled' : m.decoding === 'beams' ? '-beams' : '');

/** The engines' float dtypes as the header names them ('fp16', 'bf16 and fp16'); reports from before the field say fp16. */
function dtypesOf(r: BenchmarkReport): string {
  const names: Record<string, string> = { f16: 'fp16', bf16: 'bf16', f32: 'fp32' };
  return [...new Set(r.models.map((m) => names[m.dtype ?? 'f16'] ?? m.dtype!))].join(' and ');
}

export function benchmarkMarkdown(r: BenchmarkReport): string {
  const lines: string[] = [];
  const d = r.device;
  lines.push(`Device: ${d ? `${d.name} — copy bandwidth ${d.copyGBs.toFixed(0)} GB/s, cuBLASLt f16 ${d.matmulTflops?.toFixed(0) ?? '—'} TFLOP/s, measured in this run` : 'CPU (ref backend)'}; backend ${r.backend}, kernels ${r.kernels}; ${dtypesOf(r)}, greedy unless a row says sampled (seeded per request) or beams, input ${r.inputLen} / output ${r.outputLen} tokens, no early stop.`);
  if (r.peer) lines.push(`Peer: HF transformers ${r.peer.transformers ?? '?'} / torch ${r.peer.torch ?? '?'} on ${r.peer.device ?? '?'}, same weights, same device call: eager \`generate\` and \`cache_implementation="static"\` + torch.compile ("compiled").`);
  lines.push('');
  lines.push('| model | batch | TTFT ms | ms / step | tokens/s | × HF compiled | × HF eager | roofline ms / step | step ÷ roofline | GPU GiB |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const m of r.models) {
    for (const p of m.points) {
      const comp = peerOf(r, m.base ?? m.model, `compiled${peerSuffix(m)}`, p.batch);
      const eager = peerOf(r, m.base ?? m.model, `eager${peerSuffix(m)}`, p.batch);
      const roof = d ? rooflineMs(m, p.batch, r.inputLen, r.outputLen, d.copyGBs) : undefined;
      lines.push(`| ${m.model} | ${p.batch} | ${p.ttftMs?.toFixed(2) ?? '—'} | ${p.msPerStep.toFixed(3)} | ${p.tokensPerSec.toFixed(0)} | ${comp ? (p.tokensPerSec / comp.tokensPerSec).toFixed(2) : '—'} | ${eager ? (p.tokensPerSec / eager.tokensPerSec).toFixed(2) : '—'} | ${roof?.toFixed(3) ?? '—'} | ${roof ? (p.msPerStep / roof).toFixed(2) : '—'} | ${p.gpuMemoryGiB?.toFixed(1) ?? '—'} |`);
    }
  }
  const others = r.models.filter((m) => m.greedyModel !== undefined);
  if (others.length) {
    lines.push('');
    lines.push('Decoding cost: each sampled / beam series against its engine’s greedy series, same run (ms / step ÷ greedy ms / step).');
    lines.push('');
    lines.push('| model | decoding | batch | ms / step | greedy ms / step | ÷ greedy |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const m of others) {
      const g = r.models.find((x) => x.model === m.greedyModel);
      for (const p of m.points) {
        const gp = g?.points.find((x) => x.batch === p.batch);
        lines.push(`| ${m.greedyModel} | ${m.decoding === 'sampled' ? `sampled (${m.decodingSettings})` : m.decodingSettings} | ${p.batch} | ${p.msPerStep.toFixed(3)} | ${gp?.msPerStep.toFixed(3) ?? '—'} | ${gp ? (p.msPerStep / gp.msPerStep).toFixed(2) : '—'} |`);
      }
    }
  }
  lines.push('');
  lines.push('| model | parameters | build s | load s | prefill | batch-invariant tokens | steps eager / captured / replayed | ms / step in backend | ms / step on device | GEMM policy |');
  lines.push('| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |');
  for (const m of r.models) {
    lines.push(`| ${m.model} | ${(m.params / 1e6).toFixed(0)} M | ${m.buildSec?.toFixed(1) ?? '—'} | ${m.loadSec.toFixed(2)} | ${m.prefill ? `${m.prefill.tokens} tokens: ${m.prefill.ttftMs.toFixed(2)} ms` : '—'} | ${m.batchInvariant ? 'yes' : 'NO'} | ${m.steps ? `${m.steps.eager} / ${m.steps.captured} / ${m.steps.replayed}` : '—'} | ${perStep(m, 'stepMs')} | ${perStep(m, 'gpuMs')} | ${m.gemmAlgo ?? '—'} |`);
  }
  if (r.peer) {
    lines.push('');
    lines.push('HF peer (same device call):');
    lines.push('');
    lines.push('| model | mode | batch | tokens/s | ms / step | TTFT ms |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const [model, modes] of Object.entries(r.peer.models)) {
      for (const [mode, byBatch] of Object.entries(modes)) {
        for (const [b, x] of Object.entries(byBatch)) lines.push(`| ${model} | ${mode} | ${b} | ${x.tokensPerSec.toFixed(0)} | ${x.msPerStep?.toFixed(3) ?? '—'} | ${x.ttftMs?.toFixed(2) ?? '—'} |`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** Tokens/s against batch size (log axes), ours solid, HF compiled dashed, HF eager dotted; one colour per model. */
export function benchmarkSvg(r: BenchmarkReport): string {
  const W = 720, H = 440, L = 70, R = 190, T = 40, B = 50;
  const series: { label: string; colour: string; dash: string; pts: [number, number][] }[] = [];
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  r.models.forEach((m, i) => {
    const colour = colours[i % colours.length]!;
    series.push({ label: `${m.model} (ours)`, colour, dash: '', pts: m.points.map((p) => [p.batch, p.tokensPerSec]) });
    // the peer's lines once per peer model and decoding: beside the fp16 series (a quantized series shares its fp16 model's)
    if (m.quantization !== undefined) return;
    for (const [mode, dash] of [['compiled', '6 4'], ['eager', '2 3']] as const) {
      const pts = m.points.flatMap((p) => {
        const x = peerOf(r, m.base ?? m.model, `${mode}${peerSuffix(m)}`, p.batch);
        return x ? [[p.batch, x.tokensPerSec] as [number, number]] : [];
      });
      if (pts.length) series.push({ label: `${m.model} HF ${mode}`, colour, dash, pts });
    }
  });
  const all = series.flatMap((s) => s.pts);
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no data</text></svg>\n`;
  const lx = (x: number) => Math.log2(x);
  const ly = (y: number) => Math.log10(Math.max(y, 1));
  const [x0, x1] = [Math.min(...all.map((p) => lx(p[0]))), Math.max(...all.map((p) => lx(p[0])))];
  const [y0, y1] = [Math.floor(Math.min(...all.map((p) => ly(p[1])))), Math.ceil(Math.max(...all.map((p) => ly(p[1]))))];
  const px = (x: number) => L + ((lx(x) - x0) / Math.max(x1 - x0, 1e-9)) * (W - L - R);
  const py = (y: number) => H - B - ((ly(y) - y0) / Math.max(y1 - y0, 1e-9)) * (H - T - B);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${L}" y="22" font-size="14">Output tokens/s vs batch size — ${r.device?.name ?? 'CPU'}, fp16, in ${r.inputLen} / out ${r.outputLen}</text>`);
  for (let e = y0; e <= y1; e++) out.push(`<line x1="${L}" x2="${W - R}" y1="${py(10 ** e)}" y2="${py(10 ** e)}" stroke="#ddd"/><text x="${L - 8}" y="${py(10 ** e) + 4}" text-anchor="end">1e${e}</text>`);
  for (const b of [...new Set(all.map((p) => p[0]))]) out.push(`<line x1="${px(b)}" x2="${px(b)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${px(b)}" y="${H - B + 16}" text-anchor="middle">${b}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">batch size</text><text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">tokens/s</text>`);
  series.forEach((s, i) => {
    out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''} points="${s.pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of s.pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.colour}"/>`);
    out.push(`<line x1="${W - R + 10}" x2="${W - R + 40}" y1="${T + 10 + i * 18}" y2="${T + 10 + i * 18}" stroke="${s.colour}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''}/><text x="${W - R + 46}" y="${T + 14 + i * 18}">${s.label}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
