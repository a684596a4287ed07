/**
 * KV-cache calibration in an FT checkpoint (`convert -kv`), per layer N, written once (rank-less) as
 * raw little-endian fp32, beside the float files:
 *
 *   model.layers.N.attention.query_key_value.scale_y_quant_orig.bin   [1]  the seed's: max |QKV output| / 127,
 *                                                                           one int8 scale for K and V
 *   model.layers.N.attention.query_key_value.kv_cache_amax.bin        [2]  ours: max |K|, max |V| of the layer
 *
 * The seed's file keeps a seed-made checkpoint building (`--int8_kv_cache`, shared scale) and ours
 * gives K and V their own scales, int8 or fp8 (@trtllm/quant kv-scales.ts computes them from it). A
 * SmoothQuant checkpoint already has the seed's file (write_int8 writes it for the QKV layer). The
 * values are read here as written; which scale a build takes is the builder's choice.
 */
import { join } from 'node:path';
import { tensor, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { readRawTensor } from './files.js';

const BASE = (layer: number): string => `model.layers.${layer}.attention.query_key_value`;

/** The seed's shared K/V scale file of a layer. */
export const seedKvScaleFile = (layer: number): string => `${BASE(layer)}.scale_y_quant_orig.bin`;
/** Our K and V range file of a layer. */
export const kvAmaxFile = (layer: number): string => `${BASE(layer)}.kv_cache_amax.bin`;

/** What convert -kv writes for one layer: file name → tensor. */
export function ftKvCacheFiles(layer: number, o: { readonly seedScale: number; readonly amax: { readonly k: number; readonly v: number } }): Map<string, Tensor> {
  return new Map<string, Tensor>([
    [seedKvScaleFile(layer), tensor('f32', [1], Float32Array.of(o.seedScale))],
    [kvAmaxFile(layer), tensor('f32', [2], Float32Array.of(o.amax.k, o.amax.v))],
  ]);
}

/** A layer's KV-cache calibration as found: our K/V ranges and/or the seed's shared scale (absent files are undefined). */
export interface FtKvCacheCalibration {
  readonly amax?: { readonly k: number; readonly v: number };
  readonly seedScale?: number;
}

const readF32 = (path: string, count: number, item: string): Float32Array | undefined => readRawTensor(path, 'f32', [count], item, 're-run trtllm convert -kv', `${count} fp32`)?.data;

/**
 * Layer `layer`'s KV-cache calibration from the checkpoint in `dir`: sizes checked, the seed's scale
 * finite and > 0, our ranges finite and ≥ 0 (a range of 0 is a head that was never nonzero).
 */
export function readFtKvCache(dir: string, layer: number): FtKvCacheCalibration {
  const seedPath = join(dir, seedKvScaleFile(layer));
  const amaxPath = join(dir, kvAmaxFile(layer));
  const seed = readF32(seedPath, 1, `layers.${layer} KV-cache scale`);
  const amax = readF32(amaxPath, 2, `layers.${layer} K/V range`);
  if (seed && !(seed[0]! > 0 && Number.isFinite(seed[0]!))) {
    throw new LoaderError('format', { file: seedPath, item: `layers.${layer} KV-cache scale`, expected: 'a finite scale > 0', got: String(seed[0]), hint: 're-run trtllm convert -kv' });
  }
  if (amax) {
    const bad = Array.from(amax).findIndex((v) => !(v >= 0) || !Number.isFinite(v));
    if (bad >= 0) throw new LoaderError('format', { file: amaxPath, item: `layers.${layer} ${bad === 0 ? 'K' : 'V'} range`, expected: 'a finite max |x| ≥ 0', got: String(amax[bad]), hint: 're-run trtllm convert -kv' });
  }
  return { ...(amax ? { amax: { k: amax[0]!, v: amax[1]! } } : {}), ...(seed ? { seedScale: seed[0]! } : {}) };
}
