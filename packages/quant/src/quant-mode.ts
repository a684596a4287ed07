/**
 * What an engine quantizes, as a typed config, and TensorRT-LLM's `quant_mode` integer for the same
 * thing (its QuantMode IntFlag, written to config.json's builder_config and read back):
 *
 *   bit  1 INT4_WEIGHTS   2 INT8_WEIGHTS   4 ACTIVATIONS   8 PER_CHANNEL   16 PER_TOKEN
 *       32 PER_GROUP     64 INT8_KV_CACHE 128 FP8_KV_CACHE 256 FP8_QDQ
 *
 * SmoothQuant is INT8_WEIGHTS | ACTIVATIONS (+ PER_TOKEN: activations scaled per token at run time;
 * + PER_CHANNEL: weights scaled per output column); FP8 is FP8_QDQ; the KV cache adds its own bit.
 * Weight-only and INT4 modes are not built by this engine: reading them back is a typed error.
 */
import type { ActDType, KvCacheDType } from '@trtllm/ref-math';
import { QuantError } from './errors.js';

export const QUANT_MODE = {
  NONE: 0,
  INT4_WEIGHTS: 1,
  INT8_WEIGHTS: 2,
  ACTIVATIONS: 4,
  PER_CHANNEL: 8,
  PER_TOKEN: 16,
  PER_GROUP: 32,
  INT8_KV_CACHE: 64,
  FP8_KV_CACHE: 128,
  FP8_QDQ: 256,
} as const;
const VALID_FLAGS = 511;

/** How the GEMMs' weights and activations are stored and computed. */
export type WeightQuant =
  | { readonly kind: 'none' }
  /** INT8 weights and activations (SmoothQuant): int8 × int8 → int32, scaled back in the epilogue. */
  | { readonly kind: 'smoothquant'; readonly perToken: boolean; readonly perChannel: boolean }
  /** FP8 e4m3 weights and activations with per-tensor scales (quantize / dequantize around the GEMMs). */
  | { readonly kind: 'fp8' };

/** How the KV cache stores K and V: the activation dtype, or int8 / fp8 e4m3 with per-layer K and V scales. */
export type KvCacheQuant = 'float' | 'int8' | 'fp8';

export interface QuantConfig {
  readonly weights: WeightQuant;
  readonly kv: KvCacheQuant;
}

export const NO_QUANT: QuantConfig = { weights: { kind: 'none' }, kv: 'float' };

/** TensorRT-LLM's quant_mode for a config. */
export function quantModeOf(q: QuantConfig): number {
  const M = QUANT_MODE;
  let mode: number = M.NONE;
  if (q.weights.kind === 'smoothquant') mode |= M.INT8_WEIGHTS | M.ACTIVATIONS | (q.weights.perChannel ? M.PER_CHANNEL : 0) | (q.weights.perToken ? M.PER_TOKEN : 0);
  if (q.weights.kind === 'fp8') mode |= M.FP8_QDQ;
  if (q.kv === 'int8') mode |= M.INT8_KV_CACHE;
  if (q.kv === 'fp8') mode |= M.FP8_KV_CACHE;
  return mode;
}

/** The config a quant_mode value describes; `where` names the file or field it came from. */
export function quantConfigOf(mode: number, where = 'quant_mode'): QuantConfig {
  const M = QUANT_MODE;
  const bad = (expected: string): never => {
    throw new QuantError({ what: where, expected, got: String(mode), hint: 'rebuild the engine with this version of trtllm build' });
  };
  if (!Number.isInteger(mode) || mode < 0 || (mode & ~VALID_FLAGS) !== 0) bad('a QuantMode bit set (0 … 511)');
  if (mode & (M.INT4_WEIGHTS | M.PER_GROUP)) bad('no INT4 / per-group weights (not built by this engine)');
  const int8w = (mode & M.INT8_WEIGHTS) !== 0;
  const act = (mode & M.ACTIVATIONS) !== 0;
  if (int8w !== act) bad('INT8 weights together with INT8 activations (SmoothQuant); weight-only INT8 is not built by this engine');
  if (!int8w && mode & (M.PER_CHANNEL | M.PER_TOKEN)) bad('PER_CHANNEL / PER_TOKEN only with SmoothQuant (INT8_WEIGHTS | ACTIVATIONS)');
  if (int8w && mode & M.FP8_QDQ) bad('either SmoothQuant or FP8, not both');
  if ((mode & M.INT8_KV_CACHE) && (mode & M.FP8_KV_CACHE)) bad('one KV-cache type: INT8_KV_CACHE or FP8_KV_CACHE');
  const weights: WeightQuant = int8w
    ? { kind: 'smoothquant', perToken: (mode & M.PER_TOKEN) !== 0, perChannel: (mode & M.PER_CHANNEL) !== 0 }
    : mode & M.FP8_QDQ ? { kind: 'fp8' } : { kind: 'none' };
  const kv: KvCacheQuant = mode & M.INT8_KV_CACHE ? 'int8' : mode & M.FP8_KV_CACHE ? 'fp8' : 'float';
  return { weights, kv };
}

/** The KV cache's storage dtype: the activations' for 'float', else i8 or fp8 e4m3 (with per-layer K and V scales). */
export function kvCacheDTypeOf(act: ActDType, kv: KvCacheQuant): KvCacheDType {
  return kv === 'int8' ? 'i8' : kv === 'fp8' ? 'fp8e4m3' : act;
}
