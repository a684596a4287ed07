/**
 * `trtllm convert -sq α` and `-kv`: an HF model → an FT checkpoint with SmoothQuant INT8 weights
 * and/or KV-cache scales, as the seed's hf_gpt_convert.py with --smoothquant / --calibrate-kv-cache
 * does it (smoothquant.py, utils/convert.py), calibrating on our own engine:
 *
 *   1. the model in fp32 (the seed calibrates the fp32 HF model) runs every calibration prompt as one
 *      sequence on an engine (Engine.calibrate: max |x| and max |y| per channel of every linear layer);
 *   2. -sq: the QKV GEMM is smoothed against LayerNorm 1 and the FC GEMM against LayerNorm 2 with
 *      s = xmax^α / wmax^(1−α) (@trtllm/quant smoothing.ts); their input ranges become x / s and their
 *      weight ranges are taken again from the smoothed weights; attention dense and MLP proj keep theirs;
 *   3. -sq: each GEMM's INT8 weights and scales (@trtllm/quant generateInt8) from the weight in the
 *      storage dtype and the ranges: x = max over channels, y = max over channels, w per output column;
 *   4. -kv: per layer the seed's shared K/V scale (max |QKV output| / 127) and our max |K| and max |V|
 *      from the QKV GEMM's output ranges (loader ft-kv.ts, @trtllm/quant kv-scales.ts);
 *   5. the (smoothed) float weights and the INT8 / KV files (write_int8's names and splits) go to
 *      `<out>/<tp>-gpu`, config.ini saying `smoothquant = α` and `calibrate_kv_cache = True`.
 *
 * Beyond the seed, which refuses them: multi-query models (SantaCoder / StarCoder), whose QKV is
 * quantized with one per-tensor scale per Q, K and V part of widths H, HS, HS (ft-int8.ts has the layout).
 */
import { join } from 'node:path';
import { convertHfToFt, fp8LinearsOf, ftFp8Files, ftInt8Files, ftKvCacheFiles, ftLayout, HfGptCheckpoint, INT8_LINEARS, loadHfGpt, castTo, FT_STORAGE, type ConvertOptions, type ConvertResult } from '@trtllm/loader';
import { applySmoothing, columnAbsMax, generateInt8, kvAmaxOfQkv, kvCacheScales, seedKvScale, smoothingScales, type ActRange, type KvAmax } from '@trtllm/quant';
import { mapGptWeights, tensor, toF32, type GptConfig, type GptLayerWeights, type GptModel, type GptWeights, type KvQuantScales, type SmoothQuantMode, type Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import { int8Input, type Fp8Build, type SmoothQuantBuild } from './smoothquant.js';
import type { ActivationStats } from '../calibration/observing-backend.js';
import { Engine, type EngineLoadOptions } from '../runtime/engine.js';

export interface CalibratedConvertOptions extends Omit<ConvertOptions, 'smoothQuant' | 'kvCache' | 'fp8' | 'processes'> {
  /** -sq: α ∈ [0, 1], how much of the activations' range moves into the weights. */
  readonly alpha?: number;
  /** -kv: write the KV-cache scales. */
  readonly kvCache?: boolean;
  /** --qformat fp8: write every linear layer's input range for FP8 (at least one of alpha, kvCache, fp8; not with alpha). */
  readonly fp8?: boolean;
  /** Calibration prompts, token ids (each already truncated to the calibration length). */
  readonly prompts: readonly (readonly number[])[];
  /** The engine calibration runs on (default: the ref backend). */
  readonly backend?: Pick<EngineLoadOptions, 'backend' | 'kernels'>;
  readonly onCalibrate?: (done: number, total: number) => void;
}

export interface CalibratedConvertResult extends ConvertResult {
  /** The backend calibration ran on, and how many prompts and tokens it saw. */
  readonly calibration: { readonly backend: string; readonly prompts: number; readonly tokens: number };
  /** -sq: the ranges each GEMM was quantized with (`layers.<n>.qkv | attnOut | fc | proj`). */
  readonly actRanges?: ReadonlyMap<string, ActRange>;
  /** -sq: the smoothing scales s per input channel of `layers.<n>.qkv` and `.fc`. */
  readonly smoothing?: ReadonlyMap<string, Float64Array>;
  /** -kv: max |K| and max |V| per layer. */
  readonly kvAmax?: readonly KvAmax[];
  /** --qformat fp8: max |x| of each linear layer's input (`layers.<n>.qkv | attnOut | fc | gate | proj`). */
  readonly fp8Amax?: ReadonlyMap<string, number>;
}

const f32 = Math.fround;
const maxOf = (v: Float32Array): number => v.reduce((a, b) => Math.max(a, b), 0);

export async function convertCalibrated(o: CalibratedConvertOptions): Promise<CalibratedConvertResult> {
  const storage = o.storage ?? 'float32';
  const sqAlpha = o.alpha;
  if (sqAlpha === undefined && !o.kvCache && !o.fp8) throw new EngineError('config', { what: 'convertCalibrated', expected: 'alpha (-sq), kvCache (-kv) and/or fp8 (--qformat fp8)', got: 'none of them', hint: 'without calibration use convertHfToFt' });
  if (sqAlpha !== undefined && o.fp8) throw new EngineError('config', { what: '-sq with --qformat fp8', expected: 'one weight quantization: SmoothQuant INT8 or FP8', got: 'both', hint: 'convert twice, into two directories' });
  if (sqAlpha !== undefined && !(sqAlpha >= 0 && sqAlpha <= 1)) throw new EngineError('config', { what: '-sq/--smoothquant', expected: 'α in [0, 1]', got: String(sqAlpha), hint: 'a good first try is 0.5' });
  if (sqAlpha !== undefined && storage === 'bfloat16') throw new EngineError('config', { what: '-t bfloat16 with -sq', expected: 'float32 or float16 storage (the converter quantizes those)', got: 'bfloat16', hint: 'convert with -t float16' });
  if (o.prompts.length === 0) throw new EngineError('config', { what: 'calibration prompts', expected: 'at least one', got: 'none' });
  const probe = HfGptCheckpoint.open(o.inDir, o.kind ? { kind: o.kind } : {});
  const kind = probe.kind;
  probe.close();
  // -tp must divide the heads and the MLP before the calibration run, not after it
  ftLayout(probe.config, { tp: o.tp ?? 1, lmHead: !probe.hf.tied, file: join(o.inDir, 'config.json') });
  const model = loadHfGpt(o.inDir, { dtype: 'f32', kind });
  const c = model.config;
  if (sqAlpha !== undefined && c.activation === 'swiglu') throw new EngineError('config', { what: `${o.inDir}: -sq`, expected: 'a GELU MLP', got: 'swiglu', hint: 'convert without -sq' });

  const calOptions = { ...(o.backend ? { backend: o.backend } : {}), ...(o.onCalibrate ? { onCalibrate: o.onCalibrate } : {}) };
  const { stats, backend } = await calibrateModel(model, o.prompts, calOptions);
  const tp = o.tp ?? 1;
  const { alpha: _a, kvCache: _k, fp8: _f, prompts: _p, backend: _b, onCalibrate: _c, ...convert } = o;
  let kvCache: { files: Map<string, Tensor>; amax: KvAmax[] } | undefined;
  if (o.kvCache) {
    const ranges = kvRangesOf(c, stats);
    kvCache = { files: new Map(ranges.flatMap((r, n) => [...ftKvCacheFiles(n, r)])), amax: ranges.map((r) => r.amax) };
  }
  let fp8: { files: Map<string, Tensor>; amax: Map<string, number> } | undefined;
  if (o.fp8) {
    const amax = fp8RangesOf(c, stats);
    const files = Array.from({ length: c.nLayer }, (_, n) => fp8LinearsOf(c).flatMap((l) => [...ftFp8Files(n, l, amax.get(`layers.${n}.${l}`)!)]));
    fp8 = { files: new Map(files.flat()), amax };
  }
  const kvResult = { ...(kvCache ? { kvAmax: kvCache.amax } : {}), ...(fp8 ? { fp8Amax: fp8.amax } : {}) };
  const calibration = { backend, prompts: o.prompts.length, tokens: o.prompts.reduce((s, p) => s + p.length, 0) };
  if (sqAlpha === undefined) {
    const r = await convertHfToFt({ ...convert, kind, storage, ...(kvCache ? { kvCache } : {}), ...(fp8 ? { fp8 } : {}) });
    return { ...r, calibration, ...kvResult };
  }
  const r0 = smoothQuantModel(model, stats, sqAlpha);
  const files = new Map<string, Tensor>();
  r0.weights.layers.forEach((l, n) => {
    for (const linear of INT8_LINEARS) {
      const g = int8Input(c, linear, castTo(l[linear].weight, FT_STORAGE[storage]) as Tensor<'f32' | 'f16'>);
      for (const [file, t] of ftInt8Files(c, n, linear, tp, generateInt8(g.w, r0.actRanges.get(`layers.${n}.${linear}`)!, g.o))) files.set(file, t);
    }
  });
  const r = await convertHfToFt({ ...convert, kind, storage, smoothQuant: { alpha: sqAlpha, weights: r0.weights, files }, ...(kvCache ? { kvCache } : {}) });
  return { ...r, calibration, actRanges: r0.actRanges, smoothing: r0.smoothing, ...kvResult };
}

/**
 * Calibrate a model in memory (any dtype) in fp32 on an engine (Engine.fromModel on `backend`,
 * default ref): max |x| and |y| per channel of every linear layer, and the backend's name.
 */
export async function calibrateModel(
  model: GptModel,
  prompts: readonly (readonly number[])[],
  o: { readonly backend?: Pick<EngineLoadOptions, 'backend' | 'kernels'>; readonly onCalibrate?: (done: number, total: number) => void } = {},
): Promise<{ stats: Map<string, ActivationStats>; backend: string; model: GptModel }> {
  if (prompts.length === 0) throw new EngineError('config', { what: 'calibration prompts', expected: 'at least one', got: 'none' });
  const f32Config = { ...model.config, dtype: 'f32' as const };
  const m32 = model.config.dtype === 'f32' ? model : { config: f32Config, weights: mapGptWeights(f32Config, model.weights, (t) => castTo(t, 'f32')) };
  const engine = await Engine.fromModel(m32, { ...(o.backend ?? {}), maxInputLen: Math.max(1, ...prompts.map((p) => p.length)) });
  try {
    return { stats: engine.calibrate(prompts, o.onCalibrate ? { onProgress: o.onCalibrate } : {}), backend: engine.backendName, model: m32 };
  } finally {
    engine.dispose();
  }
}

/** What to quantize a model in memory into (quantizeInMemory). */
export interface InMemoryQuantization {
  /** SmoothQuant INT8 with α and a mode. */
  readonly smoothQuant?: { readonly alpha: number; readonly mode: SmoothQuantMode };
  /** FP8 GEMMs (per-tensor scales from each linear layer's calibrated input range). */
  readonly fp8?: boolean;
  /** An int8 / fp8 KV cache (per-layer K and V scales). */
  readonly kv?: 'int8' | 'fp8';
}

/**
 * A model in memory (any dtype) calibrated once (calibrateModel) and turned into what buildEngine
 * takes for the asked quantization — the same arithmetic as convert -sq / --qformat fp8 / -kv followed
 * by build, without files: the (smoothed) weights in the model's dtype, and the smoothQuant / fp8 /
 * kvCacheScales options. Build with `int8_kv_cache` / `fp8_kv_cache` in the flags for a quantized cache.
 */
export async function quantizeInMemory(
  model: GptModel,
  prompts: readonly (readonly number[])[],
  q: InMemoryQuantization,
  o: { readonly backend?: Pick<EngineLoadOptions, 'backend' | 'kernels'>; readonly onCalibrate?: (done: number, total: number) => void } = {},
): Promise<{ weights: GptWeights; smoothQuant?: SmoothQuantBuild; fp8?: Fp8Build; kvCacheScales?: KvQuantScales[]; backend: string }> {
  if (q.smoothQuant && q.fp8) throw new EngineError('config', { what: 'quantizeInMemory', expected: 'SmoothQuant or FP8', got: 'both' });
  const { stats, backend, model: m32 } = await calibrateModel(model, prompts, o);
  const c = model.config;
  const out: { weights: GptWeights; smoothQuant?: SmoothQuantBuild; fp8?: Fp8Build; kvCacheScales?: KvQuantScales[]; backend: string } = { weights: model.weights, backend };
  if (q.smoothQuant) {
    const r = smoothQuantModel(m32, stats, q.smoothQuant.alpha);
    out.weights = c.dtype === 'f32' ? r.weights : backToDtype(model.weights, r.weights, c.dtype);
    out.smoothQuant = { mode: q.smoothQuant.mode, actRanges: r.actRanges };
  }
  if (q.fp8) out.fp8 = { actRanges: new Map([...fp8RangesOf(c, stats)].map(([k, x]) => [k, { x }])) };
  if (q.kv) out.kvCacheScales = kvRangesOf(c, stats).map((r) => kvCacheScales(r.amax, q.kv!));
  return out;
}

/**
 * The smoothed fp32 weights in the model's dtype again: what smoothing changed — LN1, LN2 and the QKV
 * and FC weights — cast once (the bits mapGptWeights(castTo) gives); every other tensor is the
 * model's own, as casting it to fp32 and back would give the same bits (that round trip of the
 * whole model was most of a gpt2-xl quantization's host time).
 */
function backToDtype(original: GptWeights, smoothed: GptWeights, dtype: GptConfig['dtype']): GptWeights {
  const cast = <D extends Tensor>(t: D): D => castTo(t, dtype) as D;
  const ln = (n: GptLayerWeights['ln1']): GptLayerWeights['ln1'] => (n.beta ? { gamma: cast(n.gamma), beta: cast(n.beta) } : { gamma: cast(n.gamma) });
  const layers = original.layers.map((l, n): GptLayerWeights => {
    const s = smoothed.layers[n]!;
    return { ...l, ln1: ln(s.ln1), ln2: ln(s.ln2), qkv: { ...l.qkv, weight: cast(s.qkv.weight) }, fc: { ...l.fc, weight: cast(s.fc.weight) } };
  });
  return { ...original, layers };
}

/**
 * Per layer, from the QKV GEMM's calibrated output: max |K| and max |V| (our K and V scales) and the
 * seed's one shared scale, max |QKV output| / 127; a non-finite or all-zero output is a typed error.
 */
function kvRangesOf(c: GptConfig, stats: ReadonlyMap<string, ActivationStats>): { amax: KvAmax; seedScale: number }[] {
  return Array.from({ length: c.nLayer }, (_, n) => {
    const y = calibrated(stats, `layers.${n}.qkv`).y;
    const amax = kvAmaxOfQkv(c, y);
    const seedScale = seedKvScale(y);
    if (![amax.k, amax.v].every((v) => Number.isFinite(v)) || !(seedScale > 0)) {
      throw new EngineError('config', { what: `KV-cache calibration of layer ${n}`, expected: 'finite K and V ranges and a QKV output with a non-zero value', got: `max |K| ${amax.k}, max |V| ${amax.v}`, hint: 'the model produced non-finite or all-zero attention inputs on this text: calibrate on other text (--calib-dataset)' });
    }
    return { amax, seedScale };
  });
}

/** Every FP8 linear layer's input range (fp32 max over channels of the calibrated max |x|), keyed `layers.<n>.<linear>`; a zero range is a typed error. */
function fp8RangesOf(c: GptConfig, stats: ReadonlyMap<string, ActivationStats>): Map<string, number> {
  const out = new Map<string, number>();
  for (let n = 0; n < c.nLayer; n++) {
    for (const linear of fp8LinearsOf(c)) {
      const key = `layers.${n}.${linear}`;
      const x = f32(maxOf(calibrated(stats, key).x));
      if (!(x > 0)) throw new EngineError('config', { what: `FP8 calibration of ${key}`, expected: 'an input with a non-zero value', got: 'all zeros over every calibration prompt', hint: 'calibrate on other text (--calib-dataset)' });
      out.set(key, x);
    }
  }
  return out;
}

/** One linear layer's calibrated ranges, or a typed error. */
function calibrated(stats: ReadonlyMap<string, ActivationStats>, key: string): ActivationStats {
  const s = stats.get(key);
  if (!s) throw new EngineError('config', { what: `calibration of ${key}`, expected: 'max |x| and |y| of every linear layer', got: 'none' });
  return s;
}

/**
 * Smooth a model's QKV and FC GEMMs with the calibrated ranges (smooth_gpt_model), and the ranges
 * each GEMM is then quantized with. `model` is fp32; the result shares every tensor it leaves alone.
 */
export function smoothQuantModel(model: GptModel, stats: ReadonlyMap<string, ActivationStats>, alpha: number): { weights: GptWeights; actRanges: Map<string, ActRange>; smoothing: Map<string, Float64Array> } {
  const c = model.config;
  const actRanges = new Map<string, ActRange>();
  const smoothing = new Map<string, Float64Array>();
  const layers = model.weights.layers.map((l, n): GptLayerWeights => {
    const p = `layers.${n}`;
    const smoothed = (name: 'qkv' | 'fc', norm: 'ln1' | 'ln2'): { lin: GptLayerWeights['qkv']; ln: GptLayerWeights['ln1'] } => {
      const s0 = calibrated(stats, `${p}.${name}`);
      const w = l[name].weight;
      const k = w.shape[0]!;
      const wv = toF32(w);
      const s = smoothingScales(s0.x, wv, k, alpha);
      smoothing.set(`${p}.${name}`, s);
      const beta = l[norm].beta;
      const sm = applySmoothing(s, { w: wv, gamma: toF32(l[norm].gamma), ...(beta ? { beta: toF32(beta) } : {}), layernorm1p: c.layernorm1p });
      const weight = tensor('f32', w.shape, sm.w);
      // the seed: x / smoother (binary64), w = max |W'| per output column (no clip), y as calibrated
      let x = 0;
      s0.x.forEach((v, j) => (x = Math.max(x, v / s[j]!)));
      const wmax = new Float32Array(w.shape[1]!);
      for (let r = 0; r < k; r++) for (let j = 0; j < wmax.length; j++) wmax[j] = Math.max(wmax[j]!, Math.abs(sm.w[r * wmax.length + j]!));
      actRanges.set(`${p}.${name}`, { x, y: f32(maxOf(s0.y)), w: wmax });
      const ln = sm.beta ? { gamma: tensor('f32', [k], sm.gamma), beta: tensor('f32', [k], sm.beta) } : { gamma: tensor('f32', [k], sm.gamma) };
      return { lin: { ...l[name], weight }, ln };
    };
    const qkv = smoothed('qkv', 'ln1');
    const fc = smoothed('fc', 'ln2');
    for (const name of ['attnOut', 'proj'] as const) {
      const s0 = calibrated(stats, `${p}.${name}`);
      actRanges.set(`${p}.${name}`, { x: f32(maxOf(s0.x)), y: f32(maxOf(s0.y)), w: columnAbsMax(l[name].weight) });
    }
    return { ...l, ln1: qkv.ln, qkv: qkv.lin, ln2: fc.ln, fc: fc.lin };
  });
  return { weights: { ...model.weights, layers }, actRanges, smoothing };
}
