/**
 * KV-cache scales: how an int8 or fp8 (e4m3) cache maps stored values back to real ones
 * (real = stored · s; ref-math kv-cache.ts has the storage rule), from calibration.
 *
 * The seed (hf_gpt_convert.py -kv, utils/convert.py generate_int8) keeps one scale per layer for K
 * and V together, from the largest |y| of the whole QKV GEMM output (queries included):
 *
 *   scale_y_quant_orig = ymax / 127                     binary64, then fp32 (the file it writes)
 *
 * We calibrate K and V apart — amaxK = max |y| over the K columns, amaxV over the V columns, each
 * over every head and calibration token — since a layer's K range is often several times its V range
 * and one shared scale wastes the smaller one's levels:
 *
 *   int8:  sK = amaxK / 127,  sV = amaxV / 127          binary64, then fp32
 *   fp8:   sK = amaxK / 448,  sV = amaxV / 448          448 = e4m3's largest finite value
 *
 * A range of 0 (a head whose K or V was never nonzero) has no scale to measure: every s > 0 stores its
 * zeros exactly, and 1 is taken. The QKV output is taken before RoPE, as the seed calibrates it.
 */
import { headSize, type GptConfig, type KvQuantScales } from '@trtllm/ref-math';
import { QuantError } from './errors.js';
import { FP8_E4M3_MAX } from './fp8-weights.js';

/** The largest |K| and |V| of one layer, as calibrated. */
export interface KvAmax {
  readonly k: number;
  readonly v: number;
}

export type KvScaleKind = 'int8' | 'fp8';

const LEVELS: Record<KvScaleKind, number> = { int8: 127, fp8: FP8_E4M3_MAX };

/** The dequantization scale of a range amax for an int8 or fp8 cache (fp32). */
export function kvCacheScale(amax: number, kind: KvScaleKind): number {
  if (!(amax >= 0) || !Number.isFinite(amax)) throw new QuantError({ what: 'KV-cache range', expected: 'a finite max |x| ≥ 0', got: String(amax), hint: 'calibrate again: the model produced a non-finite K or V' });
  return amax === 0 ? 1 : Math.fround(amax / LEVELS[kind]);
}

/** One layer's K and V scales from its K and V ranges. */
export function kvCacheScales(amax: KvAmax, kind: KvScaleKind): KvQuantScales {
  return { k: kvCacheScale(amax.k, kind), v: kvCacheScale(amax.v, kind) };
}

/**
 * The K and V ranges of a layer from the calibrated max |y| per output channel of its QKV GEMM
 * (the whole model: columns Q [NH·HS] | K [NKV·HS] | V [NKV·HS]).
 */
export function kvAmaxOfQkv(config: GptConfig, yPerChannel: ArrayLike<number>): KvAmax {
  const hs = headSize(config);
  const q = config.nHead * hs;
  const kv = config.nKvHead * hs;
  if (yPerChannel.length !== q + 2 * kv) throw new QuantError({ what: 'QKV output range', expected: `${q + 2 * kv} per-channel maxima (Q ${q} | K ${kv} | V ${kv})`, got: String(yPerChannel.length) });
  let k = 0;
  let v = 0;
  for (let j = q; j < q + kv; j++) k = Math.max(k, yPerChannel[j]!);
  for (let j = q + kv; j < q + 2 * kv; j++) v = Math.max(v, yPerChannel[j]!);
  return { k, v };
}

/** The seed's one scale for K and V of a layer (its scale_y_quant_orig file): the whole QKV output's max |y| / 127, fp32. */
export function seedKvScale(yPerChannel: ArrayLike<number>): number {
  let m = 0;
  for (let j = 0; j < yPerChannel.length; j++) m = Math.max(m, yPerChannel[j]!);
  return Math.fround(m / 127);
}
