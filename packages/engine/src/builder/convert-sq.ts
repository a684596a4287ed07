/**
 * `trtllm convert -sq α`: an HF model → a SmoothQuant FT checkpoint, as the seed's hf_gpt_convert.py
 * with --smoothquant does it (smoothquant.py, utils/convert.py), calibrating on our own engine:
 *
 *   1. the model in fp32 (the seed calibrates the fp32 HF model) runs every calibration prompt as one
 *      sequence on an engine (Engine.calibrate: max |x| and max |y| per channel of every linear layer);
 *   2. the QKV GEMM is smoothed against LayerNorm 1 and the FC GEMM against LayerNorm 2 with
 *      s = xmax^α / wmax^(1−α) (@trtllm/quant smoothing.ts); their input ranges become x / s and their
 *      weight ranges are taken again from the smoothed weights; attention dense and MLP proj keep theirs;
 *   3. each GEMM's INT8 weights and scales (@trtllm/quant generateInt8) from the weight in the storage
 *      dtype and the ranges: x = max over channels, y = max over channels, w per output column;
 *   4. the smoothed float weights and the INT8 files (write_int8's names and splits) go to
 *      `<out>/<tp>-gpu`, config.ini saying `smoothquant = α`.
 *
 * Beyond the seed, which refuses them: multi-query models (SantaCoder / StarCoder), whose QKV is
 * quantized with one per-tensor scale per Q, K and V part of widths H, HS, HS (ft-int8.ts has the layout).
 */
import { join } from 'node:path';
import { convertHfToFt, ftInt8Files, ftLayout, HfGptCheckpoint, loadHfGpt, castTo, FT_STORAGE, type ConvertOptions, type ConvertResult, type Int8LinearName } from '@trtllm/loader';
import { applySmoothing, columnAbsMax, generateInt8, smoothingScales, type ActRange } from '@trtllm/quant';
import { mapGptWeights, tensor, toF32, type GptLayerWeights, type GptModel, type GptWeights, type Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import { int8Input } from './smoothquant.js';
import type { ActivationStats } from '../calibration/observing-backend.js';
import { Engine, type EngineLoadOptions } from '../runtime/engine.js';

export interface SmoothQuantConvertOptions extends Omit<ConvertOptions, 'smoothQuant' | 'processes'> {
  /** α ∈ [0, 1]: how much of the activations' range moves into the weights. */
  readonly alpha: number;
  /** Calibration prompts, token ids (each already truncated to the calibration length). */
  readonly prompts: readonly (readonly number[])[];
  /** The engine calibration runs on (default: the ref backend). */
  readonly backend?: Pick<EngineLoadOptions, 'backend' | 'kernels'>;
  readonly onCalibrate?: (done: number, total: number) => void;
}

export interface SmoothQuantConvertResult extends ConvertResult {
  /** The backend calibration ran on, and how many prompts and tokens it saw. */
  readonly calibration: { readonly backend: string; readonly prompts: number; readonly tokens: number };
  /** The ranges each GEMM was quantized with (`layers.<n>.qkv | attnOut | fc | proj`). */
  readonly actRanges: ReadonlyMap<string, ActRange>;
  /** The smoothing scales s per input channel of `layers.<n>.qkv` and `.fc`. */
  readonly smoothing: ReadonlyMap<string, Float64Array>;
}

const f32 = Math.fround;
const maxOf = (v: Float32Array): number => v.reduce((a, b) => Math.max(a, b), 0);

export async function convertSmoothQuant(o: SmoothQuantConvertOptions): Promise<SmoothQuantConvertResult> {
  const storage = o.storage ?? 'float32';
  if (!(o.alpha >= 0 && o.alpha <= 1)) throw new EngineError('config', { what: '-sq/--smoothquant', expected: 'α in [0, 1]', got: String(o.alpha), hint: 'a good first try is 0.5' });
  if (storage === 'bfloat16') throw new EngineError('config', { what: '-t bfloat16 with -sq', expected: 'float32 or float16 storage (the converter quantizes those)', got: 'bfloat16', hint: 'convert with -t float16' });
  if (o.prompts.length === 0) throw new EngineError('config', { what: 'calibration prompts', expected: 'at least one', got: 'none' });
  const probe = HfGptCheckpoint.open(o.inDir, o.kind ? { kind: o.kind } : {});
  const kind = probe.kind;
  probe.close();
  // -tp must divide the heads and the MLP before the calibration run, not after it
  ftLayout(probe.config, { tp: o.tp ?? 1, lmHead: !probe.hf.tied, file: join(o.inDir, 'config.json') });
  const model = loadHfGpt(o.inDir, { dtype: 'f32', kind });
  const c = model.config;
  if (c.activation === 'swiglu') throw new EngineError('config', { what: `${o.inDir}: -sq`, expected: 'a GELU MLP', got: 'swiglu', hint: 'convert without -sq' });

  const { weights, actRanges, smoothing, backend } = await smoothQuantFromModel(model, o.prompts, o.alpha, { ...(o.backend ? { backend: o.backend } : {}), ...(o.onCalibrate ? { onCalibrate: o.onCalibrate } : {}) });
  const files = new Map<string, Tensor>();
  const tp = o.tp ?? 1;
  weights.layers.forEach((l, n) => {
    for (const linear of ['qkv', 'attnOut', 'fc', 'proj'] as const) {
      const g = int8Input(c, linear, castTo(l[linear].weight, FT_STORAGE[storage]) as Tensor<'f32' | 'f16'>);
      for (const [file, t] of ftInt8Files(c, n, linear as Int8LinearName, tp, generateInt8(g.w, actRanges.get(`layers.${n}.${linear}`)!, g.o))) files.set(file, t);
    }
  });
  const { alpha, prompts: _p, backend: _b, onCalibrate: _c, ...convert } = o;
  const r = await convertHfToFt({ ...convert, kind, storage, smoothQuant: { alpha, weights, files } });
  return { ...r, calibration: { backend, prompts: o.prompts.length, tokens: o.prompts.reduce((s, p) => s + p.length, 0) }, actRanges, smoothing };
}

/**
 * SmoothQuant of a model in memory (any dtype): calibrate the model in fp32 on an engine
 * (Engine.fromModel on `backend`, default ref), smooth it (smoothQuantModel), and return the smoothed
 * weights in the model's dtype with the ranges — what buildEngine({ weights, smoothQuant: { mode,
 * actRanges } }) takes — and the name of the backend that calibrated.
 */
export async function smoothQuantFromModel(
  model: GptModel,
  prompts: readonly (readonly number[])[],
  alpha: number,
  o: { readonly backend?: Pick<EngineLoadOptions, 'backend' | 'kernels'>; readonly onCalibrate?: (done: number, total: number) => void } = {},
): Promise<{ weights: GptWeights; actRanges: Map<string, ActRange>; smoothing: Map<string, Float64Array>; backend: string }> {
  if (prompts.length === 0) throw new EngineError('config', { what: 'calibration prompts', expected: 'at least one', got: 'none' });
  const f32Config = { ...model.config, dtype: 'f32' as const };
  const m32 = model.config.dtype === 'f32' ? model : { config: f32Config, weights: mapGptWeights(f32Config, model.weights, (t) => castTo(t, 'f32')) };
  const engine = await Engine.fromModel(m32, { ...(o.backend ?? {}), maxInputLen: Math.max(1, ...prompts.map((p) => p.length)) });
  let stats: Map<string, ActivationStats>;
  try {
    stats = engine.calibrate(prompts, o.onCalibrate ? { onProgress: o.onCalibrate } : {});
  } finally {
    engine.dispose();
  }
  const r = smoothQuantModel(m32, stats, alpha);
  const weights = model.config.dtype === 'f32' ? r.weights : mapGptWeights(model.config, r.weights, (t) => castTo(t, model.config.dtype));
  return { weights, actRanges: r.actRanges, smoothing: r.smoothing, backend: engine.backendName };
}

/**
 * Smooth a model's QKV and FC GEMMs with the calibrated ranges (smooth_gpt_model), and the ranges
 * each GEMM is then quantized with. `model` is fp32; the result shares every tensor it leaves alone.
 */
export function smoothQuantModel(model: GptModel, stats: ReadonlyMap<string, ActivationStats>, alpha: number): { weights: GptWeights; actRanges: Map<string, ActRange>; smoothing: Map<string, Float64Array> } {
  const c = model.config;
  const actRanges = new Map<string, ActRange>();
  const smoothing = new Map<string, Float64Array>();
  const get = (key: string): ActivationStats => {
    const s = stats.get(key);
    if (!s) throw new EngineError('config', { what: `calibration of ${key}`, expected: 'max |x| and |y| of every linear layer', got: 'none' });
    return s;
  };
  const layers = model.weights.layers.map((l, n): GptLayerWeights => {
    const p = `layers.${n}`;
    const smoothed = (name: 'qkv' | 'fc', norm: 'ln1' | 'ln2'): { lin: GptLayerWeights['qkv']; ln: GptLayerWeights['ln1'] } => {
      const s0 = get(`${p}.${name}`);
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
      const s0 = get(`${p}.${name}`);
      actRanges.set(`${p}.${name}`, { x: f32(maxOf(s0.x)), y: f32(maxOf(s0.y)), w: columnAbsMax(l[name].weight) });
    }
    return { ...l, ln1: qkv.ln, qkv: qkv.lin, ln2: fc.ln, fc: fc.lin };
  });
  return { weights: { ...model.weights, layers }, actRanges, smoothing };
}
