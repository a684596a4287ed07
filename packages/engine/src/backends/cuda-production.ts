/**
 * The `cuda` backend with production kernels (ARCHITECTURE.md, Numerics: tier 3; the build's plugin flags select
 * them): GEMMs through cuBLASLt with bias / GELU / residual in the epilogue (the lm_head, and with
 * the 'decode-kernel' policy every generation row, through the tensor-core decode GEMM), one fused
 * QKV GEMM per layer followed by the fused RoPE + KV-cache write, flash attention for prompts
 * (`--enable_context_fmha[_fp32_acc]`) and split decode attention over the paged cache, LayerNorm
 * with tree sums, greedy argmax on the device. Our kernels launch with programmatic dependent launch
 * (TRTLLM_PDL=0 turns it off). Everything runs on the backend's own stream with no
 * host synchronization inside a step: the step's inputs sit in fixed device buffers filled by async
 * copies from pinned memory, index errors land in one device flag read with the step's output, and a
 * decode step seen twice (same batch size) is captured into a CUDA graph and replayed from then on.
 * launchStep returns once the step is queued (its output is copied to pinned memory by the stream);
 * the host waits only in PendingStep.collect, so the engine's host work overlaps the device.
 * SmoothQuant INT8 layers: the activation quantized per token (one block per row) or per tensor, the
 * int8 × int8 → int32 product on tensor cores (cuBLASLt IMMA; weights [N, K]), then one epilogue kernel
 * with the scales, bias, GELU and residual — every one of them exact (tier 1), so an INT8 layer gives
 * the oracle's bits from the oracle's input; q, k and v share one GEMM (their scales as one column vector).
 *
 * Numerics: every op is checked against the oracle with the tolerance declared in the kernel case
 * table; every reduction is per row with fixed splits, one cuBLASLt algorithm per GEMM shape (N, K)
 * for all batch sizes and one sum order per shape in the decode GEMM, so a request's tokens do not
 * depend on the rest of its batch.
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import { tensor, toF32, type ActDType, type LayerNormInputs } from '@trtllm/ref-math';
import type { ContextFmha } from '../build-config.js';
import { EngineError } from '../errors.js';
import type { Fp8Linear, GemmAlgo, Int8Linear, KernelSet, LinearWeights, NormInput, PendingStep, StepHost, StepInputs, StepOutput } from './backend.js';
import { composeSelfAttention } from './compose.js';
import { act, CudaBackend, i32, type RopeOptions, type T } from './cuda.js';
import { loadKernels } from './kernels.js';
import { waitForCollectives, type CollectiveWatch } from '../parallel/collective-watch.js';

/** Free a step's tensors and its output (when the output is not one of them). */
function freeStep(temps: readonly T[], out: T | undefined): void {
  for (const x of temps) x.free();
  if (out && !temps.includes(out)) out.free();
}

/** A launched step's output and, for an eager step, the tensors it frees once collected. */
interface InFlight {
  readonly out: T | undefined;
  readonly temps: readonly T[];
  readonly owned: boolean;
}

export interface ProductionOptions {
  readonly rope?: RopeOptions;
  /** Most tokens in one step (max_num_tokens, and the longest sequence for Engine.logits). */
  readonly maxTokens: number;
  /** Most rows a step returns (max_batch_size × max_beam_width): the most the shared sampling workspace grows to. */
  readonly maxRows?: number;
  /** Longest sequence (max_input_len + max_output_len): fixes the decode attention's split count. */
  readonly maxSeqLen: number;
  /** Prompt attention: flash kernel (fp32 or rounded-P accumulation), or the decode kernel per row. */
  readonly contextFmha: ContextFmha;
  /** The model's head size (the fused attention kernels have 64 and 128; other sizes run the reference attention, uncaptured). */
  readonly headSize: number;
  /** Capture decode steps into CUDA graphs (default true). */
  readonly cudaGraphs?: boolean;
  /** How GEMMs are chosen (see GemmAlgo; default 'batch-invariant'; createBackend resolves 'auto' with resolveGemmAlgo). */
  readonly gemmAlgo?: Exclude<GemmAlgo, 'auto'>;
}

/** The step's device inputs: fixed buffers (their addresses are baked into captured graphs). */
const FIELDS = ['ids', 'positions', 'slots', 'tasks', 'outputRows', 'targets', 'decodeRows', 'freshFrom', 'tiles', 'genRows', 'sampling', 'seenOffsets', 'seen'] as const;
type Field = (typeof FIELDS)[number];

interface CapturedStep {
  readonly graph: Cuda.CudaGraph;
  readonly out: T | undefined;
  readonly temps: T[];
}

/**
 * Rows up to which a SmoothQuant layer runs as one int8GemmDecode kernel; above, a quantize kernel,
 * cuBLASLt's IMMA and the epilogue kernel. The whole gpt2-xl SQ step (per token + per channel, H100,
 * 2026-12-07, fp16 engine in the same call, docs/quantization.md): 8 rows 3.634 ms (fp16 3.440), but 16
 * rows through int8GemmDecode (two token groups, the rows quantized inside) 6.810 (fp16 3.684).
 */
const INT8_DECODE_ROWS = 8;
/**
 * Rows up to which an FP8 layer of a decode step runs as one fp8GemmDecode kernel (x quantized inside,
 * the GELU and residual in its epilogue); above, quantizeFp8 → fp8GemmLt → gelu → residualAdd. Each
 * block quantizes its rows again, so the kernel is for few rows (as int8GemmDecode).
 */
const FP8_DECODE_ROWS = 8;

/**
 * Rows up to which a SmoothQuant layer's LayerNorm runs inside its int8GemmDecode (every block
 * normalizes the rows again): gpt2-xl per token + per channel, H100, 2026-12-07, ms per step — 1 row
 * 3.138 fused vs 3.182 LayerNorm first; 2 rows 3.657 vs 3.264 (docs/quantization.md).
 */
const INT8_NORM_FUSED_ROWS = 1;

/** How many graphs to keep (one per decode batch size seen); the least recently used goes first. */
const MAX_GRAPHS = 64;

export class CudaProductionBackend extends CudaBackend {
  override readonly kernels: KernelSet = 'production';
  /** The GEMM policy in use. */
  readonly gemmAlgo: Exclude<GemmAlgo, 'auto'>;
  /**
   * LayerNorms come with the linear layers that read them (inside the decode GEMM in decode steps, else
   * layerNormFast first), and decode steps write k and v from the QKV GEMM. TRTLLM_FUSED_DECODE=0 turns
   * both off (separate LayerNorm and qkvPrepare launches, the same bits) for comparisons.
   */
  readonly fusesNorm: boolean;
  readonly #o: ProductionOptions;
  readonly #dev: Record<Field, Cuda.DeviceTensor<'i32'>>;
  readonly #pinned: Record<Field, Int32Array>;
  /** What each device buffer holds now (its first `length` values), to skip unchanged uploads. */
  readonly #onDevice: Record<Field, Int32Array>;
  readonly #error: Cuda.DeviceTensor<'i32'>;
  readonly #errorHost: Int32Array;
  #outF32: Float32Array | undefined;
  #outI32: Int32Array | undefined;
  /** The fused QKV weights per layer (by q's weight), with the tensors made for them. */
  readonly #fused = new Map<T, { readonly w: LinearWeights<T>; readonly owned: readonly T[] }>();
  readonly #decodeShapes = new Map<string, boolean>();
  readonly #graphs = new Map<string, CapturedStep>();
  #work: { readonly cols: number; readonly rows: number; readonly t: Cuda.DeviceTensor } | undefined;
  readonly #works: Cuda.DeviceTensor[] = [];
  readonly #seen = new Set<string>();
  /** This step's row split: decode-attention rows, flash tiles, generation rows (of how many tokens); its scratch. */
  #meta = { decodeRows: 0, tiles: 0, genRows: 0, tokens: 0, oneTokenRows: false };
  #partial: Cuda.DeviceTensor<'f32'> | undefined;
  /** The running step's `keep`, and its LayerNorm outputs by (input, γ) — a LayerNorm read by two linears runs once. */
  #keep: (<U extends T>(t: U) => U) | undefined;
  /** The running step is eager (not being captured into a CUDA graph, whose temporaries the graph owns). */
  #eager = false;
  readonly #normed = new Map<T, Map<T, T>>();
  /**
   * Counters for reports: steps run eagerly, captured, replayed; milliseconds in launchStep and collect
   * (host wall time) and between CUDA events around the step's kernels (device time), summed.
   */
  readonly stats = { eager: 0, captured: 0, replayed: 0, stepMs: 0, gpuMs: 0 };
  readonly asyncSteps = true;
  /** The step launched and not yet collected (launchStep → PendingStep.collect). */
  #inFlight: InFlight | undefined;
  /** Ranks joined by NCCL: how a step's collect waits on its collectives (watchCollectives). */
  #watch: CollectiveWatch | undefined;
  readonly #events: [Cuda.CudaEvent, Cuda.CudaEvent];

  /** The fused attention kernels have this model's head size (64 or 128). */
  readonly #fusedAttention: boolean;
  /**
   * A SmoothQuant layer's float rows that go to int8GemmDecode (≤ INT8_DECODE_ROWS: the attention and GELU outputs,
   * and a LayerNorm's output where the LayerNorm is not fused) quantized inside it rather than by a
   * quantize kernel before it (the same bits); TRTLLM_INT8_QUANTIZE_INSIDE=0 turns it off, for A/B timings.
   */
  readonly #int8QuantizeInside: boolean;

  private constructor(k: typeof Cuda, o: ProductionOptions) {
    super(k, o.rope, new k.Stream());
    this.#o = o;
    this.gemmAlgo = o.gemmAlgo ?? 'batch-invariant';
    this.fusesNorm = process.env['TRTLLM_FUSED_DECODE'] !== '0';
    this.#int8QuantizeInside = process.env['TRTLLM_INT8_QUANTIZE_INSIDE'] !== '0';
    this.#fusedAttention = k.CONTEXT_HEAD_SIZES.includes(o.headSize);
    const n = Math.max(1, o.maxTokens);
    // sampling: settings per output row (ops/sampling.ts packSampling); seen: the penalized rows' tokens, grown on demand
    const sizes: Record<Field, number> = { ids: n, positions: n, slots: n, tasks: n, outputRows: n, targets: n, decodeRows: n, freshFrom: n, tiles: 3 * (Math.ceil(n / 32) + n), genRows: n, sampling: k.SAMPLING_SETTINGS * n, seenOffsets: n + 1, seen: 4096 };
    this.#dev = Object.fromEntries(FIELDS.map((f) => [f, k.DeviceTensor.zeros('i32', [sizes[f]], this.stream)])) as Record<Field, Cuda.DeviceTensor<'i32'>>;
    this.#pinned = Object.fromEntries(FIELDS.map((f) => [f, k.pinnedStorage('i32', sizes[f])])) as Record<Field, Int32Array>;
    this.#onDevice = Object.fromEntries(FIELDS.map((f) => [f, new Int32Array(0)])) as Record<Field, Int32Array>;
    this.#error = k.DeviceTensor.zeros('i32', [1], this.stream);
    this.#errorHost = k.pinnedStorage('i32', 1);
    this.#events = [new k.CudaEvent(), new k.CudaEvent()];
  }

  static async createProduction(o: ProductionOptions): Promise<CudaProductionBackend> {
    const k = await loadKernels();
    const lt = k.addonIfBuilt()?.libraryInfo().cublasLt;
    if (!lt?.available) throw new EngineError('backend', { what: "kernels 'production'", expected: 'cuBLASLt (libcublasLt.so.13 or .12)', got: lt?.reason ?? 'not found', hint: "set TRTLLM_CUBLASLT_PATH, or load with kernels: 'reference'" });
    return new CudaProductionBackend(k, o);
  }

  override embeddingLookup(i: { ids: T; table: T }): T {
    return this.k.embeddingLookup({ ids: i32(i.ids), table: act(i.table) }, this.stream, this.#error);
  }
  override addPositionEmbedding(i: { x: T; wpe: T; positions: T }): T {
    return this.k.addPositionEmbedding({ x: act(i.x), wpe: act(i.wpe), positions: i32(i.positions) }, this.stream, this.#error);
  }
  override layerNorm(i: { x: T; gamma: T; beta?: T }, a: { eps: number; weightPlusOne: boolean }): T {
    return this.k.layerNormFast(i.beta ? { x: act(i.x), gamma: act(i.gamma), beta: act(i.beta) } : { x: act(i.x), gamma: act(i.gamma) }, a, this.stream);
  }
  /** The only transB GEMM of the graph is the lm_head (over wte or lm_head [V, K]): the decode GEMM where the policy and shape allow. */
  override gemm(i: { a: T; b: T; bias?: T }, a: { transB?: boolean; outDtype?: ActDType } = {}): T {
    if (a.transB && this.#decodeGemm(i.b, true)) {
      return this.k.gemmDecode({ a: act(i.a), b: act(i.b), ...(i.bias ? { bias: act(i.bias) } : {}) }, a, this.stream);
    }
    return this.#lt({ a: i.a, b: i.b, bias: i.bias }, a);
  }
  /**
   * cuBLASLt; with the 'decode-kernel' policy, generation rows through the decode GEMM and prompt rows
   * through cuBLASLt: a step of only generation rows is one decode GEMM (with `norm`, the LayerNorm
   * inside it); a mixed step runs cuBLASLt on every row, then the decode GEMM overwrites the
   * generation rows (mixed steps are the few where a request joins).
   */
  override linear(i: { x: T; w: LinearWeights<T>; residual?: T; norm?: NormInput<T> }, a: { activation?: 'gelu' } = {}): T {
    if (i.w.kind === 'fp8') return this.#fp8Linear(i.x, i.w, i.residual, a.activation === 'gelu', i.norm);
    if (i.w.kind === 'int8') return this.#int8Linear(i.x, i.w, i.residual, a.activation === 'gelu', i.norm);
    if (i.norm && this.#decodeStep(i.x, i.w.weight)) return this.k.gemmDecode(this.#decodeInputs(i), { ...a, ...this.#normAttrs(i.norm) }, this.stream);
    const x = i.norm ? this.#normalized(i.x, i.norm) : i.x;
    const gen = this.#meta.genRows;
    // a weight whose generation rows always run on the decode GEMM: cuBLASLt only ever sees its prompt rows
    const decodeRows = this.gemmAlgo === 'decode-kernel' && this.#decodeGemm(i.w.weight, false);
    const lt = { ...a, promptTuned: decodeRows };
    if (gen === 0 || x.shape[0] !== this.#meta.tokens || !decodeRows) return this.#lt({ a: x, b: i.w.weight, bias: i.w.bias, residual: i.residual }, lt);
    const inputs = this.#decodeInputs({ ...i, x, norm: undefined });
    if (gen === this.#meta.tokens) return this.k.gemmDecode(inputs, a, this.stream);
    const out = this.#lt({ a: x, b: i.w.weight, bias: i.w.bias, residual: i.residual }, lt);
    this.k.gemmDecode({ ...inputs, rows: this.#dev.genRows.view(0, [gen]), out: out as Cuda.DeviceTensor<ActDType> }, a, this.stream);
    return out;
  }
  /**
   * A SmoothQuant layer, by rows (every way gives the same bits — int32 sums are exact, and each
   * LayerNorm here has layerNormFast's arithmetic — so which one runs never changes a bit and batch
   * invariance holds across the switches; which is fastest was measured on gpt2-xl, H100, 2026-12-07:
   * docs/quantization.md):
   * - one row with `norm` (the fused decode on, K ≤ 2048): one int8GemmDecode that normalizes,
   *   quantizes and multiplies (each of its blocks normalizes the row: worth it for one row only);
   * - otherwise `norm` first as layerNormFast (once per (x, γ) in a step), then
   * - at most INT8_DECODE_ROWS rows under the decode-kernel and batch-invariant policies: int8GemmDecode
   *   quantizing x inside (TRTLLM_INT8_QUANTIZE_INSIDE=0: a quantize kernel before it);
   * - more rows: a quantize kernel, cuBLASLt's IMMA into int32, then the epilogue kernel.
   * (layerNormFastQuant, LayerNorm and quantize in one kernel, measured slower than layerNormFast and
   * quantizePerToken as two: its software rounding of y; it is not used here.)
   */
  #int8Linear(x: T, w: Int8Linear<T>, residual: T | undefined, gelu: boolean, norm?: NormInput<T>): T {
    const keep = this.#keep;
    if (!keep) throw new EngineError('backend', { what: 'SmoothQuant linear', expected: 'inside launchStep', got: 'outside a step' });
    const b = w.weight as Cuda.DeviceTensor<'i8'>;
    const alphaCol = w.scaleW as Cuda.DeviceTensor<'f32'>;
    const extras = { ...(w.bias ? { bias: act(w.bias) } : {}), ...(residual ? { residual: act(residual) } : {}) };
    const attrs = { outDtype: x.dtype as ActDType, mode: w.mode, gelu };
    const rows = x.shape[0]!;
    const decode = rows <= INT8_DECODE_ROWS && this.#int8DecodeGemm(b);
    const fuseNorm = norm !== undefined && decode && this.fusesNorm && rows <= INT8_NORM_FUSED_ROWS && b.shape[1]! <= this.k.INT8_DECODE_MAX_NORM_K;
    const input = norm && !fuseNorm ? this.#normalized(x, norm) : x;
    if (fuseNorm || (decode && this.#int8QuantizeInside && rows <= this.k.INT8_DECODE_MAX_QUANTIZE_ROWS)) {
      // float rows into the kernel: per token their scales are computed there; per tensor, the static multiplier
      const s = w.mode.perToken ? undefined : this.staticScale(w);
      const n = fuseNorm ? { norm: norm!.beta ? { gamma: act(norm!.gamma), beta: act(norm!.beta) } : { gamma: act(norm!.gamma) } } : {};
      return this.k.int8GemmDecode({ a: act(input), b, alphaCol, ...extras, ...(s ? { alphaRow: s.alphaRow } : {}), ...n }, { ...attrs, ...(s ? { quantScale: s.scaleX } : {}), ...(fuseNorm ? this.#normAttrs(norm!) : {}) }, this.stream);
    }
    // In an eager step the quantized rows, their scales and the int32 sums go back to the allocator as
    // soon as their last reader is enqueued, not at the end of the step (an 8,192-token gpt2-xl prompt's
    // int32 sums are 22 GB kept to the end). Safe in stream order: a later kernel that gets the memory
    // runs on this stream after that reader (a dependent launch writes only after its pdlWait), and the
    // allocator's cudaFree of cached blocks synchronizes first. A step being captured keeps them: the
    // graph owns its temporaries (a freed one could be released to the driver while the graph lives).
    const done = (t: T): void => void (this.#eager ? t.free() : keep(t));
    const { q, alphaRow } = this.quantizeActivation(input, w);
    const epilogue = { alphaRow, alphaCol, ...extras };
    try {
      if (decode) return this.k.int8GemmDecode({ a: q, b, ...epilogue }, attrs, this.stream);
      const acc = this.k.int8GemmLt({ a: q, b }, this.stream);
      try {
        return this.k.smoothQuantEpilogue({ acc, ...epilogue }, attrs, this.stream);
      } finally {
        done(acc);
      }
    } finally {
      done(q);
      if (w.mode.perToken) done(alphaRow);
    }
  }
  /** Whether this int8 weight [N, K] may go through int8GemmDecode: policy and shape only. */
  #int8DecodeGemm(w: Cuda.DeviceTensor<'i8'>): boolean {
    const [n, k] = w.shape as [number, number];
    return this.#decodeKernelTakes(`${n}:${k}:i8`, () => this.k.int8GemmDecodeUnsupported(n, k) === '');
  }
  /**
   * The GEMM policies under which a decode kernel of ours may take generation rows (batch-invariant,
   * decode-kernel), and whether it takes this weight shape: `supported`, asked once per key.
   */
  #decodeKernelTakes(key: string, supported: () => boolean): boolean {
    if (this.gemmAlgo !== 'batch-invariant' && this.gemmAlgo !== 'decode-kernel') return false;
    let ok = this.#decodeShapes.get(key);
    if (ok === undefined) {
      ok = supported();
      this.#decodeShapes.set(key, ok);
    }
    return ok;
  }
  /**
   * An FP8 layer: (`norm` first as layerNormFast, once per (x, γ) in a step,) quantize x with the static
   * scale, then the FP8 GEMM on tensor cores with the bias in its epilogue (fp8GemmLt, scales read on
   * the device; what tensor cores cannot run takes the reference order inside it). Then GELU and +
   * residual. (layerNormFastFp8 gives the same e4m3 in one kernel but rounds y in software, as
   * layerNormFastQuant does, which measured slower than the two kernels for SmoothQuant.)
   */
  #fp8Linear(x: T, w: Fp8Linear<T>, residual: T | undefined, gelu: boolean, norm?: NormInput<T>): T {
    const keep = this.#keep;
    if (!keep) throw new EngineError('backend', { what: 'FP8 linear', expected: 'inside launchStep', got: 'outside a step' });
    const s = this.fp8Scales(w);
    const xin = norm ? this.#normalized(x, norm) : x;
    const b = w.weight as Cuda.DeviceTensor<'fp8e4m3'>;
    const weight = { b, scaleA: s.scaleADevice, scaleB: w.scaleW as Cuda.DeviceTensor<'f32'>, ...(w.bias ? { bias: act(w.bias) } : {}) };
    if (this.#fp8DecodeStep(xin, b)) return this.k.fp8GemmDecode({ x: act(xin), ...weight, ...(residual ? { residual: act(residual) } : {}) }, { quantScale: s.scaleX, gelu }, this.stream);
    const q = keep(this.k.quantizeFp8({ x: act(xin) }, { scale: s.scaleX }, this.stream));
    let y: T = this.k.fp8GemmLt({ a: q, ...weight }, { outDtype: x.dtype as ActDType }, this.stream);
    if (gelu) y = this.k.gelu({ x: act(keep(y)) }, this.stream);
    if (residual) y = this.k.residualAdd({ a: act(residual), b: act(keep(y)) }, this.stream);
    return y;
  }
  /**
   * A step of at most FP8_DECODE_ROWS generation rows only, under the batch-invariant or decode-kernel
   * policy, on a GPU and shape fp8GemmDecode takes: the FP8 layer as one kernel. (FP8 engines are not
   * batch-invariant: cuBLASLt picks its FP8 algorithm per M.)
   */
  #fp8DecodeStep(x: T, w: Cuda.DeviceTensor<'fp8e4m3'>): boolean {
    const gen = this.#meta.genRows;
    if (gen === 0 || gen !== this.#meta.tokens || x.shape[0] !== gen || gen > FP8_DECODE_ROWS || x.dtype === 'f32') return false; // f16 / bf16 models only
    const [n, k] = w.shape as [number, number];
    return this.#decodeKernelTakes(`${n}:${k}:fp8`, () => this.k.fp8GemmDecodeUnsupported(n, k, 1) === '');
  }
  /** Every row of `x` is a generation row and goes through the decode GEMM (policy and shape allow). */
  #decodeStep(x: T, w: T): boolean {
    const gen = this.#meta.genRows;
    return gen > 0 && gen === this.#meta.tokens && x.shape[0] === gen && this.gemmAlgo === 'decode-kernel' && this.#decodeGemm(w, false);
  }
  #decodeInputs(i: { x: T; w: LinearWeights<T>; residual?: T | undefined; norm?: NormInput<T> | undefined }): Cuda.GemmDecodeInputs {
    return {
      a: act(i.x), b: act(i.w.weight),
      ...(i.w.bias ? { bias: act(i.w.bias) } : {}),
      ...(i.residual ? { residual: act(i.residual) } : {}),
      ...(i.norm ? { norm: i.norm.beta ? { gamma: act(i.norm.gamma), beta: act(i.norm.beta) } : { gamma: act(i.norm.gamma) } } : {}),
    };
  }
  #normAttrs(n: NormInput<T>): { eps: number; weightPlusOne: boolean } {
    return { eps: n.eps, weightPlusOne: n.weightPlusOne };
  }
  /** LayerNorm(x) as its own kernel, once per (x, γ) in a step, freed with the step. */
  #normalized(x: T, n: NormInput<T>): T {
    return this.#oncePerStep(this.#normed, x, n, (keep, inputs) => keep(this.k.layerNormFast(inputs, this.#normAttrs(n), this.stream)));
  }
  /** A step's LayerNorm result for (x, γ) from `cache`, made by `make` the first time (its tensors kept for the step). */
  #oncePerStep<R>(cache: Map<T, Map<T, R>>, x: T, n: NormInput<T>, make: (keep: <U extends T>(t: U) => U, inputs: Cuda.OnDevice<LayerNormInputs>) => R): R {
    let byGamma = cache.get(x);
    if (!byGamma) cache.set(x, (byGamma = new Map()));
    let r = byGamma.get(n.gamma);
    if (r === undefined) {
      const keep = this.#keep;
      if (!keep) throw new EngineError('backend', { what: 'linear with a LayerNorm', expected: 'inside launchStep', got: 'outside a step' });
      r = make(keep, n.beta ? { x: act(x), gamma: act(n.gamma), beta: act(n.beta) } : { x: act(x), gamma: act(n.gamma) });
      byGamma.set(n.gamma, r);
    }
    return r;
  }
  /** Whether this weight may go through the decode GEMM: policy and shape only (never the batch). */
  #decodeGemm(w: T, transB: boolean): boolean {
    const [r, c] = w.shape as [number, number];
    const [n, k] = transB ? [r, c] : [c, r];
    return this.#decodeKernelTakes(`${n}:${k}:${transB}:${w.dtype}`, () => (w.dtype === 'f16' || w.dtype === 'bf16') && this.k.gemmDecodeUnsupported(n, k, transB, w.dtype as ActDType) === '');
  }
  /** Every cuBLASLt GEMM of this backend, with the engine's algorithm policy (`promptTuned` where only prompt rows come here). */
  #lt(i: { a: T; b: T; bias?: T | undefined; residual?: T | undefined }, a: Cuda.GemmLtAttrs): T {
    const inputs = { a: act(i.a), b: act(i.b), ...(i.bias ? { bias: act(i.bias) } : {}), ...(i.residual ? { residual: act(i.residual) } : {}) };
    return this.k.gemmLt(inputs, { ...a, perShape: this.gemmAlgo === 'per-shape' }, this.stream);
  }

  /**
   * One GEMM for q, k and v (weights concatenated by columns once), then the fused RoPE + cache write,
   * then attention. In a decode step on the decode GEMM without RoPE, the GEMM itself writes k and v
   * into the cache (and applies the LayerNorm `norm`): the same bits, two launches fewer.
   */
  override selfAttention(
    i: { h: T; q: LinearWeights<T>; k: LinearWeights<T>; v: LinearWeights<T>; norm?: NormInput<T> },
    a: { layer: number; step: StepInputs<T>; numHeads: number; numKvHeads: number; headSize: number; rope: boolean },
  ): T {
    // head sizes the fused kernels lack: the oracle's op sequence on the reference kernels (these synchronize, so such steps are never captured)
    if (!this.#fusedAttention) return composeSelfAttention(this, { h: i.norm ? this.#normalized(i.h, i.norm) : i.h, q: i.q, k: i.k, v: i.v }, a);
    const { step } = a;
    const layout = { numHeads: a.numHeads, numKvHeads: a.numKvHeads, headSize: a.headSize };
    const w = this.#fusedQkv(i.q, i.k, i.v);
    const cache = this.kv();
    const slots = i32(step.slots), positions = i32(step.positions);
    let qkv: Cuda.DeviceTensor;
    if (this.fusesNorm && !a.rope && this.#meta.decodeRows === step.tokens && this.#decodeStep(i.h, w.weight)) {
      const kvWrite = { cache, layer: a.layer, slots, positions, numHeads: a.numHeads, error: this.#error };
      qkv = step.keep(this.k.gemmDecode({ ...this.#decodeInputs({ x: i.h, w, norm: i.norm }), kvWrite }, i.norm ? this.#normAttrs(i.norm) : {}, this.stream));
    } else {
      qkv = step.keep(this.linear(i.norm ? { x: i.h, w, norm: i.norm } : { x: i.h, w }));
      if (a.rope && !this.ropeTable) throw new EngineError('backend', { what: 'rope', expected: 'a model with rotary_pct > 0', got: 'no RoPE table' });
      this.k.qkvPrepare(cache, a.layer, { qkv, slots, positions }, { ...layout, ...(a.rope ? { rope: this.ropeTable! } : {}) }, this.#error, this.stream);
    }
    const out = step.keep(this.k.DeviceTensor.empty(qkv.dtype, [step.tokens, a.numHeads * a.headSize]) as Cuda.DeviceTensor<ActDType>);
    const maxSplits = Math.ceil(this.#o.maxSeqLen / this.k.DECODE_SPLIT);
    if (this.#meta.decodeRows > 0) {
      const floats = this.#meta.decodeRows * a.numHeads * maxSplits * (a.headSize + 2);
      if (!this.#partial || this.#partial.shape[0]! < floats) this.#partial = step.keep(this.k.DeviceTensor.empty('f32', [floats]));
      this.k.attentionDecode(cache, a.layer,
        // a step of one-token rows attends each row fresh from its own position, the kernel's default without freshFrom (not staged then)
        { qkv: act(qkv), rows: this.#dev.decodeRows, slots, positions, out, ...(this.#meta.oneTokenRows ? {} : { freshFrom: this.#dev.freshFrom }) },
        { ...layout, numRows: this.#meta.decodeRows, maxSplits }, { partial: this.#partial, error: this.#error }, this.stream);
    }
    if (this.#meta.tiles > 0) {
      this.k.attentionContext({ qkv: act(qkv), tiles: this.#dev.tiles, out }, { ...layout, numTiles: this.#meta.tiles, fp32Acc: this.#o.contextFmha !== 'enabled' }, this.stream);
    }
    return out;
  }

  override launchStep(host: StepHost, body: (step: StepInputs<T>) => T | undefined, o: { output: StepOutput; capture?: string }): PendingStep {
    if (this.#inFlight) throw new EngineError('backend', { what: 'launchStep', expected: 'the step in flight collected first (one step at a time)', got: 'a second launch' });
    const t = host.ids.length;
    this.kv(); // a disposed backend (or one without its cache) is a typed error before any device call
    if (t > this.#o.maxTokens) throw new EngineError('request', { what: 'step', expected: `at most ${this.#o.maxTokens} tokens (max_num_tokens)`, got: String(t) });
    // prompts that start at position 0 go to the flash kernel (when enabled), every other row to the decode kernel
    const flash = this.#o.contextFmha !== 'disabled' && this.#fusedAttention;
    const decodeRows: number[] = [];
    const freshFrom: number[] = []; // per decode row, its chunk's first position (this step's tokens are attended fresh)
    const genRows: number[] = []; // one-token sequences: their GEMM rows go to the decode GEMM
    const chunks: { row: number; length: number }[] = [];
    let row = 0;
    for (const s of host.sequences) {
      if (flash && s.start === 0 && s.length > 1) chunks.push({ row, length: s.length });
      else for (let j = 0; j < s.length; j++) decodeRows.push(row + j), freshFrom.push(s.start);
      if (s.length === 1) genRows.push(row);
      row += s.length;
    }
    const tiles = this.k.contextTiles(chunks);
    const values: Record<Exclude<Field, 'sampling' | 'seenOffsets' | 'seen' | 'targets'>, readonly number[]> = { ids: host.ids, positions: host.positions, slots: host.slots, tasks: host.tasks, outputRows: host.outputRows, decodeRows, freshFrom, tiles, genRows };
    const oneTokenRows = genRows.length === t; // every row a one-token sequence: attended fresh from its own position (no freshFrom)
    for (const [f, v] of Object.entries(values)) if (f !== 'freshFrom' || !oneTokenRows) this.#stage(f as Field, v);
    if (host.targets) this.#stage('targets', host.targets);
    if (host.sampling) {
      const packed = this.k.packSampling(host.sampling);
      if (packed.seen.length > this.#pinned.seen.length) this.#growSeen(packed.seen.length);
      this.#stage('sampling', packed.settings);
      this.#stage('seenOffsets', packed.seenOffsets);
      this.#stage('seen', packed.seen);
    }
    this.#meta = { decodeRows: decodeRows.length, tiles: tiles.length / 3, genRows: genRows.length, tokens: t, oneTokenRows };
    this.#partial = undefined;
    const graphs = o.capture !== undefined && this.#o.cudaGraphs !== false && this.#fusedAttention;
    let captured = graphs ? this.#graphs.get(o.capture!) : undefined;
    const temps: T[] = [];
    const keep = <U extends T>(x: U): U => (temps.push(x), x);
    this.#keep = keep;
    this.#normed.clear();
    const step: StepInputs<T> = {
      tokens: t, keep, sequences: host.sequences,
      ids: this.#dev.ids.view(0, [t]), positions: this.#dev.positions.view(0, [t]), slots: this.#dev.slots.view(0, [t]), tasks: this.#dev.tasks.view(0, [t]),
      outputRows: this.#dev.outputRows.view(0, [host.outputRows.length]),
      ...(host.targets ? { targets: this.#dev.targets.view(0, [host.targets.length]) } : {}),
      ...(host.sampling ? { sampling: host.sampling } : {}),
    };
    let out: T | undefined;
    let owned = true; // eager steps free their tensors; a captured step's belong to its graph
    const t0 = performance.now();
    this.#events[0].record(this.stream);
    try {
      if (captured) {
        this.#graphs.delete(o.capture!);
        this.#graphs.set(o.capture!, captured); // most recently used last
        captured.graph.launch(this.stream!);
        out = captured.out;
        owned = false;
        this.stats.replayed++;
      } else if (graphs && this.#seen.has(o.capture!)) {
        const { graph, result } = this.k.CudaGraph.capture(this.stream!, () => body(step));
        captured = { graph, out: result, temps: [...temps] };
        temps.length = 0;
        this.#remember(o.capture!, captured);
        graph.launch(this.stream!);
        out = result;
        owned = false;
        this.stats.captured++;
      } else {
        if (graphs) this.#seen.add(o.capture!);
        this.#eager = true;
        out = body(step);
        this.stats.eager++;
      }
      this.#events[1].record(this.stream);
      const read = this.#downloadAsync(out, o.output);
      this.stats.stepMs += performance.now() - t0;
      // from here the step is the handle's: collect waits for it, reads its output and frees its tensors
      const done = { out, temps: owned ? temps : [], owned };
      this.#inFlight = done;
      return { collect: () => this.#collect(done, read) };
    } finally {
      this.#meta = { decodeRows: 0, tiles: 0, genRows: 0, tokens: 0, oneTokenRows: false };
      this.#keep = undefined;
      this.#eager = false;
      this.#normed.clear();
      if (owned && !this.#inFlight) { // the step failed before its handle existed
        this.stream!.synchronize();
        freeStep(temps, out);
      }
    }
  }

  watchCollectives(w: CollectiveWatch): void {
    this.#watch = w;
  }

  /**
   * The launched step `s`: wait for the stream (bounded when its collectives are watched), then its
   * output, the counters and the index-error flag.
   */
  #collect(s: InFlight, read: () => Float32Array | Int32Array): Float32Array | Int32Array {
    if (this.#inFlight !== s) throw new EngineError('backend', { what: 'PendingStep.collect', expected: 'one call per step, before the backend is disposed', got: 'a step already collected, or a disposed backend' });
    const t0 = performance.now();
    let streamDone = false;
    try {
      this.#waitStream();
      streamDone = true;
      const result = read();
      this.stats.gpuMs += this.#events[1].elapsedSince(this.#events[0]);
      this.stats.stepMs += performance.now() - t0;
      this.#checkError();
      return result;
    } finally {
      this.#release(s, streamDone); // a device error or an aborted collective: no longer in flight
    }
  }

  /** Wait for the stream: bounded by the collective watch when ranks are joined by NCCL, else blocking. */
  #waitStream(): void {
    if (this.#watch) waitForCollectives(() => this.stream!.query(), this.#watch);
    this.stream!.synchronize();
  }

  /**
   * The step is no longer in flight; an eager step's tensors go back to the allocator — once the stream
   * has passed them. A step whose collectives were aborted may still have work queued: its tensors are
   * left to the process (freeing them could hand their memory to a kernel still queued).
   */
  #release(s: InFlight, streamDone = true): void {
    if (this.#inFlight !== s) return;
    this.#inFlight = undefined;
    if (s.owned && streamDone) freeStep(s.temps, s.out);
  }

  override dispose(): void {
    if (this.#inFlight) {
      const s = this.#inFlight;
      try {
        this.#waitStream(); // a hung collective must not hang dispose
        this.#release(s);
      } catch {
        this.#release(s, false); // disposing: the step's failure has no one to go to
      }
    }
    this.#events.forEach((e) => e.destroy());
    for (const g of this.#graphs.values()) this.#drop(g);
    this.#graphs.clear();
    for (const f of this.#fused.values()) f.owned.forEach((t) => t.free());
    this.#fused.clear();
    for (const t of this.#works) t.free();
    this.#works.length = 0;
    this.#work = undefined;
    super.dispose();
  }

  /**
   * Each row's token by the sampling kernel, on the staged settings (their buffers are fixed, so a
   * captured step samples with each replay's settings and draws); the workspace belongs to the step.
   */
  override sample(logits: T, step: StepInputs<T>): T {
    if (!this.#keep || !step.sampling) throw new EngineError('backend', { what: 'sample', expected: "inside a step run with output 'sampled'", got: 'outside one' });
    const [rows, cols] = logits.shape as [number, number];
    const workspace = this.#workspace(rows, cols);
    const settings = this.#dev.sampling.view(0, [rows, this.k.SAMPLING_SETTINGS]);
    return this.k.sampleRows({ x: act(logits), settings, seenOffsets: this.#dev.seenOffsets.view(0, [rows + 1]), seen: this.#dev.seen, workspace }, this.stream);
  }

  /**
   * The shared workspace holds maxRows rows: a step with more rows to reduce (a prompt whose every row
   * is scored) reduces them in slices of that many, one after the other, into one output.
   */
  override beamCandidates(logits: T, n: number): T {
    const [rows, cols] = logits.shape as [number, number];
    const most = Math.max(1, this.#o.maxRows ?? rows);
    if (rows <= most) return this.k.beamCandidateRows({ x: act(logits), workspace: this.#workspace(rows, cols) }, n, this.stream);
    const out = this.k.DeviceTensor.empty('i32', [rows, 2 * n + 3]);
    for (let r0 = 0; r0 < rows; r0 += most) {
      const m = Math.min(most, rows - r0);
      const part = this.k.beamCandidateRows({ x: act(logits).view(r0 * cols, [m, cols]), workspace: this.#workspace(m, cols) }, n, this.stream);
      out.view(r0 * (2 * n + 3), [m, 2 * n + 3]).copyFrom(part, this.stream);
      (this.#keep ?? ((t: T) => t.free()))(part); // freed with the step (its copy is queued on the same stream)
    }
    return out;
  }

  /**
   * The sampling kernels' workspace, shared by every step and captured graph (their kernels run in
   * stream order): grown by doubling the rows it holds (up to maxRows) when a step has more rows than
   * it; an outgrown buffer stays until dispose, since graphs captured on it still use it.
   */
  #workspace(rows: number, cols: number): Cuda.DeviceTensor {
    const w = this.#work;
    if (w && w.cols === cols && w.rows >= rows) return w.t;
    let cap = w && w.cols === cols ? w.rows : 1;
    while (cap < rows) cap *= 2;
    cap = Math.max(rows, Math.min(cap, this.#o.maxRows ?? cap));
    const t = this.k.DeviceTensor.empty('i32', [this.k.sampleWorkspaceSize(cap, cols)]);
    this.#works.push(t);
    this.#work = { cols, rows: cap, t };
    return t;
  }

  /** A larger buffer for the penalized rows' seen tokens: graphs captured on the old one are dropped. */
  #growSeen(need: number): void {
    let size = this.#pinned.seen.length;
    while (size < need) size *= 2;
    for (const g of this.#graphs.values()) this.#drop(g);
    this.#graphs.clear();
    this.stream!.synchronize();
    this.#dev.seen.free();
    this.#dev.seen = this.k.DeviceTensor.zeros('i32', [size], this.stream);
    this.#pinned.seen = this.k.pinnedStorage('i32', size);
    this.#onDevice.seen = new Int32Array(0);
  }

  /** Copy a field's values into its device buffer (async, from pinned memory) unless it already holds them. */
  #stage(f: Field, v: ArrayLike<number>): void {
    const now = this.#onDevice[f];
    if (now.length === v.length && now.every((x, i) => x === v[i])) return;
    const pinned = this.#pinned[f];
    if (v.length > pinned.length) throw new EngineError('request', { what: `step ${f}`, expected: `at most ${pinned.length} values`, got: String(v.length) });
    pinned.set(v);
    if (v.length > 0) this.#dev[f].view(0, [v.length]).uploadAsync(pinned, this.stream!);
    this.#onDevice[f] = Int32Array.from(v);
  }

  /**
   * Queue the copies of the index-error flag and of the step's output into pinned memory; the returned
   * reader copies the output out of it (call it after the stream is synchronized).
   */
  #downloadAsync(out: T | undefined, output: StepOutput): () => Float32Array | Int32Array {
    this.#error.downloadAsync(this.#errorHost, this.stream!);
    if (out === undefined) return () => new Float32Array(0);
    const n = out.bytes / 4;
    if (output !== 'logits') {
      if ((this.#outI32?.length ?? 0) < n) this.#outI32 = this.k.pinnedStorage('i32', n);
      const host = this.#outI32!;
      (out as Cuda.DeviceTensor<'i32'>).downloadAsync(host, this.stream!);
      return () => host.slice(0, n);
    }
    if ((this.#outF32?.length ?? 0) < Math.ceil(n)) this.#outF32 = this.k.pinnedStorage('f32', Math.ceil(n));
    const host = this.#outF32!;
    if (out.dtype !== 'f32') {
      // fp16 / bf16 logits (logits_dtype float16): their bits into the same pinned memory, widened on the host
      const numel = out.shape.reduce((a, b) => a * b, 1);
      const bits = new Uint16Array(host.buffer, host.byteOffset, numel);
      (out as Cuda.DeviceTensor<'f16'>).downloadAsync(bits, this.stream!);
      return () => {
        const t = tensor(out.dtype as ActDType, out.shape);
        t.data.set(bits);
        return toF32(t);
      };
    }
    (out as Cuda.DeviceTensor<'f32'>).downloadAsync(host, this.stream!);
    return () => host.slice(0, n);
  }

  #checkError(): void {
    const flag = this.#errorHost[0]!;
    if (flag === 0) return;
    this.k.addonIfBuilt()!.memset(this.#error.ptr, 0, 4, this.stream!.handle);
    throw new EngineError('request', {
      what: `step token ${flag - 1}`,
      expected: 'an id in the vocabulary, a position inside n_positions / the RoPE table, and KV-cache storage for its position',
      got: 'a value outside them (checked on the device)',
    });
  }

  #fusedQkv(q: LinearWeights<T>, k: LinearWeights<T>, v: LinearWeights<T>): LinearWeights<T> {
    const have = this.#fused.get(q.weight);
    if (have) return have.w;
    const parts = [q, k, v];
    const kind = q.kind ?? 'float';
    if (parts.some((p) => (p.kind ?? 'float') !== kind)) throw new EngineError('format', { what: 'q, k, v weights', expected: 'all INT8, all FP8 or all float', got: parts.map((p) => p.kind ?? 'float').join(', '), hint: 'the engine file does not match its config.json: rebuild it' });
    const int8 = kind === 'int8';
    const nk = kind !== 'float'; // INT8 and FP8 weights are [N, K]
    const owned: T[] = [];
    // float [K, N]: columns side by side; INT8 / FP8 [N, K]: rows one after another
    const weight = nk ? this.#concatRows(parts.map((p) => p.weight)) : this.concatColumns(parts.map((p) => p.weight));
    owned.push(weight);
    const cols = parts.map((p) => (nk ? p.weight.shape[0]! : p.weight.shape[1]!));
    let bias: T | undefined;
    if (parts.some((p) => p.bias)) {
      bias = this.k.DeviceTensor.zeros(parts.find((p) => p.bias)!.bias!.dtype, [cols.reduce((x, y) => x + y, 0)], this.stream);
      owned.push(bias);
      let col = 0;
      parts.forEach((p, j) => {
        if (p.bias) bias!.view(col, [cols[j]!]).copyFrom(p.bias, this.stream);
        col += cols[j]!;
      });
    }
    let fused: LinearWeights<T>;
    if (int8) {
      const [qi, ki, vi] = parts as Int8Linear<T>[];
      fused = this.#fusedInt8Scales(qi!, ki!, vi!, cols, weight, bias, owned);
    } else if (kind === 'fp8') {
      // one GEMM needs one pair of scales: the builder gives q, k and v the fused QKV's (engine format 3)
      const [qf, kf, vf] = parts as Fp8Linear<T>[];
      const scales = [qf!, kf!, vf!].map((p) => this.fp8Scales(p));
      if (scales.some((x) => x.scaleX !== scales[0]!.scaleX || x.scaleW !== scales[0]!.scaleW)) {
        throw new EngineError('format', { what: 'FP8 q, k, v scales', expected: 'one scale pair for the fused QKV', got: scales.map((x) => `${x.scaleX}/${x.scaleW}`).join(', '), hint: 'rebuild the engine with trtllm build' });
      }
      fused = { kind: 'fp8', weight, scaleX: qf!.scaleX, scaleW: qf!.scaleW, ...(bias ? { bias } : {}) };
    } else {
      fused = bias ? { weight, bias } : { weight };
    }
    this.#fused.set(q.weight, { w: fused, owned });
    return fused;
  }

  /**
   * One SmoothQuant layer for q, k, v: their weight scales as one column vector (a per-tensor scale
   * repeated over its part's columns: the same fp32 products as three GEMMs), one activation scale.
   */
  #fusedInt8Scales(q: Int8Linear<T>, k: Int8Linear<T>, v: Int8Linear<T>, cols: readonly number[], weight: T, bias: T | undefined, owned: T[]): Int8Linear<T> {
    const parts = [q, k, v];
    const host = (t: T): Float32Array => this.toF32(t);
    if (!q.mode.perToken) {
      const xs = parts.map((p) => host(p.scaleX)[0]);
      if (xs[0] !== xs[1] || xs[0] !== xs[2]) {
        throw new EngineError('format', { what: 'q, k, v scale_x_orig_quant', expected: 'one activation scale for the QKV GEMM (it has one input)', got: xs.join(', '), hint: 'the engine file was edited or made by another tool: rebuild it' });
      }
    }
    const n = cols.reduce((x, y) => x + y, 0);
    const scales = new Float32Array(n);
    let col = 0;
    parts.forEach((p, j) => {
      const s = host(p.scaleW);
      for (let c = 0; c < cols[j]!; c++) scales[col + c] = q.mode.perChannel ? s[c]! : s[0]!;
      col += cols[j]!;
    });
    const scaleW = this.upload(tensor('f32', [n], scales));
    owned.push(scaleW);
    const base = { kind: 'int8' as const, weight, mode: { perToken: q.mode.perToken, perChannel: true }, scaleX: q.scaleX, scaleW };
    return bias ? { ...base, bias } : base;
  }

  /** Row-major matrices [r_i, C] one after another: [Σ r_i, C]. */
  #concatRows(ws: readonly T[]): T {
    const c = ws[0]!.shape[1]!;
    const rows = ws.reduce((x, w) => x + w.shape[0]!, 0);
    const out = this.k.DeviceTensor.empty(ws[0]!.dtype, [rows, c]);
    let r = 0;
    for (const w of ws) {
      out.view(r * c, [w.shape[0]!, c]).copyFrom(w, this.stream);
      r += w.shape[0]!;
    }
    return out;
  }

  #remember(key: string, g: CapturedStep): void {
    this.#graphs.set(key, g);
    if (this.#graphs.size <= MAX_GRAPHS) return;
    const [oldest, og] = this.#graphs.entries().next().value as [string, CapturedStep];
    this.#graphs.delete(oldest);
    this.#drop(og);
  }

  #drop(g: CapturedStep): void {
    this.stream!.synchronize();
    g.graph.destroy();
    freeStep(g.temps, g.out);
  }
}
