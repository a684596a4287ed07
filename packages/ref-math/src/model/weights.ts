/**
 * GPT weights as typed tensors, their validation against a config, and seeded random weights.
 *
 * Linear weights are [in, out] (y = x · W + b, as HF Conv1D and FT store them). The fused QKV
 * projection's output columns are Q heads, then K heads, then V heads: [H, (NH + 2·NKV)·HS].
 */
import type { ActDType } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { fromValues, tensor, type Tensor } from '../tensor.js';
import { headSize, layernormBiasOf, qkvWidth, type GptConfig } from './config.js';

export interface LinearWeights {
  /** [in, out]. */
  readonly weight: Tensor<ActDType>;
  /** [out]; present iff config.bias. */
  readonly bias?: Tensor<ActDType>;
}

export interface LayerNormWeights {
  /** [H]. */
  readonly gamma: Tensor<ActDType>;
  /** [H]; present iff layernormBiasOf(config). */
  readonly beta?: Tensor<ActDType>;
}

export interface GptLayerWeights {
  readonly ln1: LayerNormWeights;
  /** [H, (NH + 2·NKV)·HS]. */
  readonly qkv: LinearWeights;
  /** [NH·HS, H]. */
  readonly attnOut: LinearWeights;
  readonly ln2: LayerNormWeights;
  /** [H, I]. */
  readonly fc: LinearWeights;
  /** [H, I]; swiglu only. */
  readonly gate?: LinearWeights;
  /** [I, H]. */
  readonly proj: LinearWeights;
}

export interface GptWeights {
  /** [V, H]. */
  readonly wte: Tensor<ActDType>;
  /** [P, H]; learned positions only (rotaryPct = 0). */
  readonly wpe?: Tensor<ActDType>;
  readonly layers: readonly GptLayerWeights[];
  readonly lnF: LayerNormWeights;
  /** [V, H]; absent = tied to wte. */
  readonly lmHead?: Tensor<ActDType>;
}

export interface GptModel {
  readonly config: GptConfig;
  readonly weights: GptWeights;
}

/** Check every tensor's presence, shape and dtype against the config; errors name the tensor path. */
export function validateGptWeights(config: GptConfig, w: GptWeights): void {
  const op = 'validateGptWeights';
  const check = (path: string, t: Tensor | undefined, shape: readonly number[] | undefined): void => {
    if (shape === undefined) {
      if (t !== undefined) throw new ShapeError({ op, what: path, expected: 'absent for this config', got: `[${t.shape.join(', ')}]` });
      return;
    }
    if (t === undefined) throw new ShapeError({ op, what: path, expected: `[${shape.join(', ')}]`, got: 'missing' });
    if (t.dtype !== config.dtype) throw new DTypeError({ op, what: path, expected: config.dtype, got: t.dtype });
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError({ op, what: path, expected: `[${shape.join(', ')}]`, got: `[${t.shape.join(', ')}]` });
    }
  };
  const { nEmbd: h, vocabSize: v, intermediateSize: i, bias } = config;
  const biasShape = (n: number): number[] | undefined => (bias ? [n] : undefined);
  const linear = (path: string, l: LinearWeights | undefined, rows: number, cols: number): void => {
    if (l === undefined) throw new ShapeError({ op, what: path, expected: `[${rows}, ${cols}]`, got: 'missing' });
    check(`${path}.weight`, l.weight, [rows, cols]);
    check(`${path}.bias`, l.bias, biasShape(cols));
  };
  const ln = (path: string, l: LayerNormWeights): void => {
    check(`${path}.gamma`, l.gamma, [h]);
    check(`${path}.beta`, l.beta, layernormBiasOf(config) ? [h] : undefined);
  };
  check('wte', w.wte, [v, h]);
  check('wpe', w.wpe, config.rotaryPct === 0 ? [config.nPositions, h] : undefined);
  if (w.layers.length !== config.nLayer) {
    throw new ShapeError({ op, what: 'layers', expected: `${config.nLayer} layers`, got: `${w.layers.length}` });
  }
  w.layers.forEach((l, n) => {
    const p = `layers.${n}`;
    ln(`${p}.ln1`, l.ln1);
    linear(`${p}.qkv`, l.qkv, h, qkvWidth(config));
    linear(`${p}.attnOut`, l.attnOut, config.nHead * headSize(config), h);
    ln(`${p}.ln2`, l.ln2);
    linear(`${p}.fc`, l.fc, h, i);
    if (config.activation === 'swiglu') linear(`${p}.gate`, l.gate, h, i);
    else if (l.gate) throw new ShapeError({ op, what: `${p}.gate`, expected: 'absent (activation gelu)', got: 'present' });
    linear(`${p}.proj`, l.proj, i, h);
  });
  ln('lnF', w.lnF);
  if (w.lmHead) check('lmHead', w.lmHead, [v, h]);
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; same seed, same stream of uint32s, on every machine. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform numbers in [0, 1): mulberry32's uint32s over 2^32. */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** Normal(mean, std) samples by Box–Muller over `rand`; each pair of uniforms gives two samples. */
export function normalSampler(rand: () => number): (mean: number, std: number) => number {
  let spare: number | undefined;
  return (mean, std) => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return mean + std * z;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - rand())); // 1 − rand() ∈ (0, 1]: log is finite
    const angle = 2 * Math.PI * rand();
    spare = radius * Math.sin(angle);
    return mean + std * radius * Math.cos(angle);
  };
}

/**
 * The n-th output (0-based) of seededRandom(seed), without the n before it: mulberry32's state is
 * seed + (n+1)·0x6d2b79f5 mod 2^32, then the same mixing.
 */
export function uniformAt(seed: number, n: number): number {
  let t = ((seed >>> 0) + Math.imul((n + 1) % 4294967296, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** One tensor of randomGptWeights: its path, shape, and where its normals start in the seeded stream. */
export interface RandomTensorPlan {
  readonly path: string;
  readonly shape: readonly number[];
  /** Index of its first normal in normalSampler(seededRandom(seed)). */
  readonly first: number;
  readonly mean: number;
  readonly std: number;
}

/**
 * The tensors of randomGptWeights in draw order: per layer ln1, qkv, attnOut, ln2, fc, proj, (gate),
 * each weight before its bias and γ before β; then wte, lnF, wpe. N(0, 0.02) matrices and
 * embeddings (GPT-2's init), projections into the residual scaled by 1/√(2L), LayerNorm γ ≈ N(1, 0.1)
 * (γ − 1 with layernorm1p), biases ≈ N(0, 0.02) so every parameter path is exercised.
 */
export function randomGptWeightsPlan(config: GptConfig): RandomTensorPlan[] {
  const plan: RandomTensorPlan[] = [];
  let first = 0;
  const t = (path: string, shape: number[], mean: number, std: number): void => {
    plan.push({ path, shape, first, mean, std });
    first += shape.reduce((a, b) => a * b, 1);
  };
  const { nEmbd: h, intermediateSize: i, bias } = config;
  const residStd = 0.02 / Math.sqrt(2 * config.nLayer);
  const linear = (p: string, rows: number, cols: number, std = 0.02): void => {
    t(`${p}.weight`, [rows, cols], 0, std);
    if (bias) t(`${p}.bias`, [cols], 0, 0.02);
  };
  const g = config.layernorm1p ? 0 : 1;
  const ln = (p: string): void => {
    t(`${p}.gamma`, [h], g, 0.1);
    if (layernormBiasOf(config)) t(`${p}.beta`, [h], 0, 0.02);
  };
  for (let n = 0; n < config.nLayer; n++) {
    const p = `layers.${n}`;
    ln(`${p}.ln1`);
    linear(`${p}.qkv`, h, qkvWidth(config));
    linear(`${p}.attnOut`, config.nHead * headSize(config), h, residStd);
    ln(`${p}.ln2`);
    linear(`${p}.fc`, h, i);
    linear(`${p}.proj`, i, h, residStd);
    if (config.activation === 'swiglu') linear(`${p}.gate`, h, i);
  }
  t('wte', [config.vocabSize, h], 0, 0.02);
  ln('lnF');
  if (config.rotaryPct === 0) t('wpe', [config.nPositions, h], 0, 0.01);
  return plan;
}

/**
 * One planned tensor, exactly as the sequential sampler draws it: normal g of the stream uses the
 * uniforms 2⌊g/2⌋ and 2⌊g/2⌋+1 (Box–Muller, normalSampler): even g → mean + std·r·cos θ, odd g →
 * mean + std·(r·sin θ); then one rounding to `dtype`. Any tensor can be drawn alone (in parallel),
 * and any run of its elements (randomNormalsAt): drawn `chunk` elements at a time, so a tensor of
 * billions of elements needs its own storage and one chunk of float64, not eight bytes per element.
 */
export function randomTensor(seed: number, p: RandomTensorPlan, dtype: ActDType, chunk = 1 << 22): Tensor<ActDType> {
  const n = p.shape.reduce((a, b) => a * b, 1);
  if (n <= chunk) return fromValues(dtype, p.shape, randomNormalsAt(seed, p, 0, n));
  const out = tensor(dtype, p.shape);
  for (let k = 0; k < n; k += chunk) {
    const m = Math.min(chunk, n - k);
    (out.data as { set(a: ArrayLike<number>, o: number): void }).set(fromValues(dtype, [m], randomNormalsAt(seed, p, k, m)).data, k);
  }
  return out;
}

/** Elements start … start+count−1 of planned tensor `p`, as float64 normals before the dtype rounding. */
export function randomNormalsAt(seed: number, p: RandomTensorPlan, start: number, count: number): Float64Array {
  const values = new Float64Array(count);
  const { mean, std } = p;
  let k = 0;
  const g = p.first + start;
  let q = Math.floor(g / 2);
  if (g % 2 === 1 && count > 0) {
    // starts on the second normal of a pair
    const radius = Math.sqrt(-2 * Math.log(1 - uniformAt(seed, 2 * q)));
    values[k++] = mean + std * (radius * Math.sin(2 * Math.PI * uniformAt(seed, 2 * q + 1)));
    q++;
  }
  for (; k < count; q++) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniformAt(seed, 2 * q)));
    const angle = 2 * Math.PI * uniformAt(seed, 2 * q + 1);
    values[k++] = mean + std * radius * Math.cos(angle);
    if (k < count) values[k++] = mean + std * (radius * Math.sin(angle));
  }
  return values;
}

/** Random weights for a config, deterministic in `seed` (randomGptWeightsPlan says how each is drawn). */
export function randomGptWeights(config: GptConfig, seed = 0): GptWeights {
  const tensors = new Map(randomGptWeightsPlan(config).map((p) => [p.path, randomTensor(seed, p, config.dtype)]));
  return assembleGptWeights(config, (spec) => tensors.get(spec.path)!, { lmHead: false });
}

/**
 * One weight tensor of a GPT model by its path in GptWeights (`wte`, `layers.3.qkv.weight`,
 * `lnF.beta`, …) and its shape. Loaders and writers walk this list so that every format maps the
 * same set of tensors, in the same order (embeddings, then layer by layer, then the final norm).
 */
export interface GptWeightSpec {
  readonly path: string;
  readonly shape: readonly number[];
}

/** Every tensor a model of `config` has; `lmHead` only when it is not tied to wte. */
export function gptWeightSpecs(config: GptConfig, o: { readonly lmHead: boolean }): GptWeightSpec[] {
  const { nEmbd: h, intermediateSize: i, bias } = config;
  const out: GptWeightSpec[] = [{ path: 'wte', shape: [config.vocabSize, h] }];
  if (config.rotaryPct === 0) out.push({ path: 'wpe', shape: [config.nPositions, h] });
  const ln = (p: string): void => {
    out.push({ path: `${p}.gamma`, shape: [h] });
    if (layernormBiasOf(config)) out.push({ path: `${p}.beta`, shape: [h] });
  };
  const linear = (p: string, rows: number, cols: number): void => {
    out.push({ path: `${p}.weight`, shape: [rows, cols] });
    if (bias) out.push({ path: `${p}.bias`, shape: [cols] });
  };
  for (let n = 0; n < config.nLayer; n++) {
    const p = `layers.${n}`;
    ln(`${p}.ln1`);
    linear(`${p}.qkv`, h, qkvWidth(config));
    linear(`${p}.attnOut`, config.nHead * headSize(config), h);
    ln(`${p}.ln2`);
    linear(`${p}.fc`, h, i);
    if (config.activation === 'swiglu') linear(`${p}.gate`, h, i);
    linear(`${p}.proj`, i, h);
  }
  ln('lnF');
  if (o.lmHead) out.push({ path: 'lmHead', shape: [config.vocabSize, h] });
  return out;
}

/** GptWeights from a getter called once per spec of `gptWeightSpecs` (then validated). */
export function assembleGptWeights(config: GptConfig, get: (spec: GptWeightSpec) => Tensor<ActDType>, o: { readonly lmHead: boolean }): GptWeights {
  const t = new Map(gptWeightSpecs(config, o).map((s) => [s.path, get(s)]));
  const at = (path: string): Tensor<ActDType> => t.get(path)!;
  const ln = (p: string): LayerNormWeights => (layernormBiasOf(config) ? { gamma: at(`${p}.gamma`), beta: at(`${p}.beta`) } : { gamma: at(`${p}.gamma`) });
  const linear = (p: string): LinearWeights => (config.bias ? { weight: at(`${p}.weight`), bias: at(`${p}.bias`) } : { weight: at(`${p}.weight`) });
  const layers = Array.from({ length: config.nLayer }, (_, n): GptLayerWeights => {
    const p = `layers.${n}`;
    const base = { ln1: ln(`${p}.ln1`), qkv: linear(`${p}.qkv`), attnOut: linear(`${p}.attnOut`), ln2: ln(`${p}.ln2`), fc: linear(`${p}.fc`), proj: linear(`${p}.proj`) };
    return config.activation === 'swiglu' ? { ...base, gate: linear(`${p}.gate`) } : base;
  });
  const w: GptWeights = {
    wte: at('wte'),
    ...(t.has('wpe') ? { wpe: at('wpe') } : {}),
    layers,
    lnF: ln('lnF'),
    ...(t.has('lmHead') ? { lmHead: at('lmHead') } : {}),
  };
  validateGptWeights(config, w);
  return w;
}

/** The tensor at a canonical path of `gptWeightSpecs` (`wte`, `layers.3.qkv.weight`, `lnF.gamma`), or undefined. */
export function gptWeightAt(w: GptWeights, path: string): Tensor<ActDType> | undefined {
  let at: unknown = w;
  for (const key of path.split('.')) at = (at as Record<string, unknown> | undefined)?.[key];
  return at as Tensor<ActDType> | undefined;
}

/** The same weights with every tensor mapped by `f` (e.g. a dtype cast), as a new, validated GptWeights of `config`. */
export function mapGptWeights(config: GptConfig, w: GptWeights, f: (t: Tensor<ActDType>, spec: GptWeightSpec) => Tensor<ActDType>): GptWeights {
  return assembleGptWeights(config, (spec) => f(gptWeightAt(w, spec.path)!, spec), { lmHead: w.lmHead !== undefined });
}
