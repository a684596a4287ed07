/**
 * SmoothQuant INT8 and FP8 weights for an engine's ranks.
 *
 * SmoothQuant INT8: each linear layer's weight and scales as the
 * seed's converter computes them (@trtllm/quant generateInt8, from the calibrated activation ranges
 * of that GEMM), split per rank like the float weights (builder/rank-split.ts, as rankTensors splits the float ones), under the
 * converter's names: `<linear>.weight.int8` (per tensor, or the `.col` per-channel variant) —
 * stored transposed, [N, K] with K contiguous, the layout INT8 tensor cores read (backend.ts Int8Linear) —
 * `<linear>.scale_w_quant_orig` ([1], or [N/W] / [N] per channel), `<linear>.scale_x_orig_quant`
 * [1]. The float `<linear>.weight` is left out; biases, norms and embeddings stay float.
 *
 * Activation ranges are keyed `layers.<n>.qkv | attnOut | fc | proj`, each with `w` over the GEMM's
 * whole output (QKV: Q's columns, K's, V's). QKV is quantized as the converter does, one per-tensor
 * scale per Q, K and V part — for multi-query models too (beyond the seed, which refuses them: the
 * parts are then H, HS and HS columns wide). Gated MLPs (swiglu) are refused with a typed error.
 */
import { gatherColumns, transpose2d, type Int8ArrayName, type Int8Arrays, type Int8LinearName } from '@trtllm/loader';
import { generateFp8, generateInt8Weight, type ActRange, type generateInt8 } from '@trtllm/quant';
import { headSize, tensor, type ActDType, type GptConfig, type GptWeights, type SmoothQuantMode, type Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import { rankSplit } from './rank-split.js';

/**
 * What a SmoothQuant build needs beyond the float weights: calibrated activation ranges to quantize
 * the weights with (generateInt8), or the INT8 arrays a convert -sq checkpoint already holds.
 */
export type SmoothQuantBuild =
  | { readonly mode: SmoothQuantMode; /** Calibrated ranges per GEMM: `layers.<n>.qkv`, `.attnOut`, `.fc`, `.proj`. */ readonly actRanges: ReadonlyMap<string, ActRange> }
  | { readonly mode: SmoothQuantMode; /** A layer's arrays of these names (FtCheckpoint.readInt8). */ readonly int8: (layer: number, linear: Int8LinearName, names: readonly Int8ArrayName[]) => Partial<Int8Arrays> };

type Storage = Tensor<'f32' | 'f16'>;

function storage(t: Tensor<ActDType>, what: string): Storage {
  if (t.dtype === 'bf16') throw new EngineError('config', { what, expected: 'fp32 or fp16 weights for SmoothQuant (the converter quantizes those)', got: 'bf16', hint: 'build with --dtype float16 or float32' });
  return t as Storage;
}

/**
 * generateInt8's input for a GEMM weight [K, N] in the storage dtype: the converter quantizes an MHA
 * QKV as [K, 3, N/3] (one per-tensor scale per part); a multi-query QKV stays [K, H + 2·HS] with its
 * part widths.
 */
export function int8Input(c: GptConfig, linear: Int8LinearName, w: Storage): { w: Storage; o: Parameters<typeof generateInt8>[2] } {
  if (linear !== 'qkv') return { w, o: {} };
  const [k, n] = w.shape as [number, number];
  if (c.nKvHead !== c.nHead) return { w, o: { qkvParts: [c.nHead * headSize(c), c.nKvHead * headSize(c), c.nKvHead * headSize(c)] } };
  return { w: tensor(w.dtype, [k, 3, n / 3], w.data as never) as Storage, o: { qkv: true } };
}

/**
 * A layer's INT8 weight for the mode (per channel: `weight.int8.col` and `scale_w_quant_orig.col`,
 * else `weight.int8` and `scale_w_quant_orig`) and its scale_x_orig_quant: from the checkpoint, or
 * quantized here from its calibrated range (only the weight the mode reads: half of generateInt8's work).
 */
function int8Of(c: GptConfig, sq: SmoothQuantBuild, layer: number, linear: Int8LinearName, w: Tensor<ActDType>): { weight: Tensor<'i8'>; scaleW: Tensor<'f32'>; scaleX: Tensor<'f32'> } {
  const perChannel = sq.mode.perChannel;
  if ('int8' in sq) {
    // only the files the mode reads (a per-channel engine never reads weight.int8, nor a per-tensor one weight.int8.col)
    const [weight, scaleW] = perChannel ? (['weight.int8.col', 'scale_w_quant_orig.col'] as const) : (['weight.int8', 'scale_w_quant_orig'] as const);
    const q = sq.int8(layer, linear, [weight, scaleW, 'scale_x_orig_quant']);
    return { weight: q[weight] as Tensor<'i8'>, scaleW: q[scaleW] as Tensor<'f32'>, scaleX: q.scale_x_orig_quant as Tensor<'f32'> };
  }
  const g = int8Input(c, linear, storage(w, `layers.${layer}.${linear}.weight`));
  return generateInt8Weight(g.w, range(sq, `layers.${layer}.${linear}`), { ...g.o, perChannel });
}

function range(sq: { readonly actRanges: ReadonlyMap<string, ActRange> }, key: string): ActRange {
  const r = sq.actRanges.get(key);
  if (!r) throw new EngineError('config', { what: `SmoothQuant activation range ${key}`, expected: 'a calibrated range for every GEMM (layers.<n>.qkv, attnOut, fc, proj)', got: 'none', hint: 'calibrate on the model first (convert -sq)' });
  return r;
}

/** The INT8 tensors of rank `rank` of `worldSize`, to put in place of the float linear weights. */
export function smoothQuantRankTensors(c: GptConfig, w: GptWeights, rank: number, worldSize: number, sq: SmoothQuantBuild): Map<string, Tensor> {
  if (c.nKvHead !== c.nHead && c.nKvHead !== 1) throw new EngineError('config', { what: 'SmoothQuant', expected: 'multi-head or multi-query attention', got: `${c.nKvHead} K/V heads for ${c.nHead} query heads (grouped)`, hint: 'build this model unquantized' });
  if (c.activation === 'swiglu') throw new EngineError('config', { what: 'SmoothQuant', expected: 'a GELU MLP', got: 'swiglu (gated MLP)', hint: 'the converter does not quantize gated MLPs; build this model unquantized' });
  const split = rankSplit(c, rank, worldSize);
  const out = new Map<string, Tensor>();
  w.layers.forEach((l, n) => {
    const p = `layers.${n}`;
    // QKV: one GEMM for the converter (one per-tensor scale per Q, K, V part), three per-part matrices here
    const [k, width] = l.qkv.weight.shape as [number, number];
    const { weight, scaleW, scaleX } = int8Of(c, sq, n, 'qkv', l.qkv.weight);
    const w2 = tensor('i8', [k, width], weight.data);
    const s1 = tensor('f32', [width], scaleW.data);
    for (const part of ['q', 'k', 'v'] as const) {
      out.set(`${p}.${part}.weight.int8`, transpose2d(gatherColumns(w2, split.qkv[part])));
      out.set(`${p}.${part}.scale_w_quant_orig`, sq.mode.perChannel ? gatherColumns(s1, split.qkv[part]) : tensor('f32', [1], Float32Array.of(s1.data[split.qkvOffset[part]]!)));
      out.set(`${p}.${part}.scale_x_orig_quant`, scaleX);
    }
    // attnOut, proj: row-parallel (rows split, scales over the whole output); fc: column-parallel
    for (const [name, lin, parallel] of [['attnOut', l.attnOut, 'rows'], ['fc', l.fc, 'cols'], ['proj', l.proj, 'rows']] as const) {
      const { weight: wi, scaleW: sw, scaleX: sx } = int8Of(c, sq, n, name, lin.weight);
      out.set(`${p}.${name}.weight.int8`, transpose2d(parallel === 'rows' ? split.rows(wi) : split.cols(wi)));
      out.set(`${p}.${name}.scale_w_quant_orig`, sq.mode.perChannel && parallel === 'cols' ? split.cols(sw) : sw);
      out.set(`${p}.${name}.scale_x_orig_quant`, sx);
    }
  });
  return out;
}

/** What an FP8 build needs beyond the float weights: max |x| of each GEMM's input, keyed as for SmoothQuant. */
export interface Fp8Build {
  readonly actRanges: ReadonlyMap<string, { readonly x: number }>;
}

/**
 * The FP8 tensors of rank `rank` (per-tensor scales, @trtllm/quant generateFp8): each of q, k, v,
 * attnOut, fc, (gate,) proj as `<linear>.weight.fp8` [N, K] (K contiguous: what FP8 tensor cores
 * read, as the INT8 weights) split like the float weight, with `<linear>.scale_w_quant_orig` and
 * `<linear>.scale_x_orig_quant` [1] (whole: one scale per tensor, computed on the whole weight so
 * every rank dequantizes alike). q, k and v share the scale of the fused QKV weight (as TensorRT-LLM's
 * FP8 QKV), so they run as one GEMM.
 */
export function fp8RankTensors(c: GptConfig, w: GptWeights, rank: number, worldSize: number, fp8: Fp8Build): Map<string, Tensor> {
  const split = rankSplit(c, rank, worldSize);
  const out = new Map<string, Tensor>();
  const get = (key: string): { readonly x: number } => {
    const r = fp8.actRanges.get(key);
    if (!r) throw new EngineError('config', { what: `FP8 activation range ${key}`, expected: 'a calibrated range for every GEMM (layers.<n>.qkv, attnOut, fc, gate, proj)', got: 'none', hint: 'calibrate on the model first (trtllm convert --qformat fp8)' });
    return r;
  };
  w.layers.forEach((l, n) => {
    const p = `layers.${n}`;
    const qkv = generateFp8(l.qkv.weight as Storage, get(`${p}.qkv`));
    for (const part of ['q', 'k', 'v'] as const) {
      out.set(`${p}.${part}.weight.fp8`, transpose2d(gatherColumns(qkv['weight.fp8'], split.qkv[part])));
      out.set(`${p}.${part}.scale_w_quant_orig`, qkv.scale_w_quant_orig);
      out.set(`${p}.${part}.scale_x_orig_quant`, qkv.scale_x_orig_quant);
    }
    const linears = [['attnOut', l.attnOut, 'rows'], ['fc', l.fc, 'cols'], ...(l.gate ? [['gate', l.gate, 'cols'] as const] : []), ['proj', l.proj, 'rows']] as const;
    for (const [name, lin, parallel] of linears) {
      const g = generateFp8(lin.weight, get(`${p}.${name}`));
      out.set(`${p}.${name}.weight.fp8`, transpose2d(parallel === 'rows' ? split.rows(g['weight.fp8']) : split.cols(g['weight.fp8'])));
      out.set(`${p}.${name}.scale_w_quant_orig`, g.scale_w_quant_orig);
      out.set(`${p}.${name}.scale_x_orig_quant`, g.scale_x_orig_quant);
    }
  });
  return out;
}
