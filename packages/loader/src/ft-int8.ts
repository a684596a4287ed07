/**
 * SmoothQuant's INT8 files in an FT checkpoint, as the seed's utils/convert.py write_int8 lays them
 * out (ARCHITECTURE.md, Files on disk). Per quantized linear layer, base key `model.layers.N.<base>`:
 *
 *   layer     base                          split    weight.int8 (full)     per-channel scales (full)
 *   qkv       attention.query_key_value     last     [H, 3, H] i8           [3, H]
 *   attnOut   attention.dense               rows     [H, H]                 [H]
 *   fc        mlp.dense_h_to_4h             last     [H, I]                 [I]
 *   proj      mlp.dense_4h_to_h             rows     [I, H]                 [H]
 *
 *   <base>.weight.int8.R.bin, <base>.weight.int8.col.R.bin      rank R's split of the weight
 *   <base>.scale_w_quant_orig.col.R.bin, .scale_y_accum_quant.col.R.bin
 *                                                               split per rank for last-axis layers,
 *                                                               else one unsplit .bin
 *   <base>.scale_x_orig_quant.bin, .scale_w_quant_orig.bin, .scale_y_accum_quant.bin,
 *   .scale_y_quant_orig.bin                                     once, unsplit (qkv's per-tensor
 *                                                               scales broadcast to [3, H])
 *
 * int8 weights are int8, every scale fp32, raw little-endian, like the float files.
 *
 * Multi-query QKV (GPTBigCode: SantaCoder, StarCoder; beyond the seed, which refuses it): the weight is
 * [H, H + 2·HS] (Q's columns, then the one K and V head), each rank holds its Q columns and a copy of
 * K and V, as the float QKV is split; the per-tensor scales (one per Q, K, V part) and the per-channel
 * ones are [H + 2·HS] vectors, the per-channel ones split like the weight's columns.
 */
import { join } from 'node:path';
import { allocStorage, DTYPES, numel, tensor, type DType, type GptConfig, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { readRawTensor } from './files.js';
import { mergeShards, shardShape, splitShard, type FtSplit } from './ft.js';

/** The linear layers SmoothQuant quantizes. */
export type Int8LinearName = 'qkv' | 'attnOut' | 'fc' | 'proj';
export const INT8_LINEARS: readonly Int8LinearName[] = ['qkv', 'attnOut', 'fc', 'proj'];

/** The eight arrays the converter writes per linear layer. */
export const INT8_ARRAYS = ['weight.int8', 'weight.int8.col', 'scale_x_orig_quant', 'scale_w_quant_orig', 'scale_w_quant_orig.col', 'scale_y_accum_quant', 'scale_y_accum_quant.col', 'scale_y_quant_orig'] as const;
export type Int8ArrayName = (typeof INT8_ARRAYS)[number];
export type Int8Arrays = Readonly<Record<Int8ArrayName, Tensor>>;

const BASE: Record<Int8LinearName, string> = { qkv: 'attention.query_key_value', attnOut: 'attention.dense', fc: 'mlp.dense_h_to_4h', proj: 'mlp.dense_4h_to_h' };

/** `model.layers.N.<base>`: the key of a layer's INT8 files. */
export function int8BaseKey(layer: number, linear: Int8LinearName): string {
  return `model.layers.${layer}.${BASE[linear]}`;
}

const multiQuery = (c: GptConfig): boolean => c.nKvHead === 1 && c.nHead > 1;

/** Full shapes of one layer's arrays. */
export function int8Shapes(config: GptConfig, linear: Int8LinearName): Record<Int8ArrayName, number[]> {
  const h = config.nEmbd;
  const i = config.intermediateSize;
  if (linear === 'qkv' && multiQuery(config)) {
    const n = h + 2 * (h / config.nHead);
    return { 'weight.int8': [h, n], 'weight.int8.col': [h, n], scale_x_orig_quant: [1], scale_w_quant_orig: [n], 'scale_w_quant_orig.col': [n], scale_y_accum_quant: [n], 'scale_y_accum_quant.col': [n], scale_y_quant_orig: [1] };
  }
  const [k, n] = linear === 'qkv' ? [h, 3 * h] : linear === 'attnOut' ? [h, h] : linear === 'fc' ? [h, i] : [i, h];
  const w = linear === 'qkv' ? [h, 3, h] : [k, n];
  const col = linear === 'qkv' ? [3, h] : [n];
  const perTensor = linear === 'qkv' ? [3, h] : [1];
  return { 'weight.int8': w, 'weight.int8.col': w, scale_x_orig_quant: [1], scale_w_quant_orig: perTensor, 'scale_w_quant_orig.col': col, scale_y_accum_quant: perTensor, 'scale_y_accum_quant.col': col, scale_y_quant_orig: [1] };
}

/**
 * How an array is split over ranks, as the float files of the same layer (ft.ts): the weights like the
 * float weight (QKV by heads, fc by columns, attnOut / proj by rows), the per-channel scales of the
 * column-parallel layers like its columns; everything else is written once.
 */
function splitOf(config: GptConfig, linear: Int8LinearName, name: Int8ArrayName): FtSplit {
  const perRank = name.startsWith('weight.int8') || ((linear === 'qkv' || linear === 'fc') && name.endsWith('.col'));
  if (!perRank) return { kind: 'none' };
  if (linear === 'qkv') return { kind: 'qkv', multiQuery: multiQuery(config) };
  return linear === 'fc' ? { kind: 'cols' } : { kind: 'rows' };
}

/** A multi-head QKV array, [H, 3, H] or [3, H], seen as one Q | K | V axis ([H, 3H] / [3H]), as ft.ts splits the float QKV. */
function qkvAxis(mha: boolean, shape: readonly number[]): number[] {
  if (!mha) return [...shape];
  return shape.length === 3 ? [shape[0]!, 3 * shape[2]!] : [3 * shape[1]!];
}

/** Rank shapes as the seed writes them: [H, 3, H/TP] and [3, H/TP] for a multi-head QKV. */
function fileShape(mha: boolean, shard: readonly number[]): number[] {
  if (!mha) return [...shard];
  return shard.length === 2 ? [shard[0]!, 3, shard[1]! / 3] : [3, shard[0]! / 3];
}

const view = (t: Tensor, shape: readonly number[]): Tensor => tensor(t.dtype, shape, t.data as never);

/** The files write_int8 writes for one layer: file name → tensor (its bytes as written). */
export function ftInt8Files(config: GptConfig, layer: number, linear: Int8LinearName, tp: number, a: Int8Arrays): Map<string, Tensor> {
  const base = int8BaseKey(layer, linear);
  const out = new Map<string, Tensor>();
  for (const name of INT8_ARRAYS) {
    const t = a[name];
    const split = splitOf(config, linear, name);
    if (split.kind === 'none') {
      out.set(`${base}.${name}.bin`, t);
      continue;
    }
    const mha = split.kind === 'qkv' && !split.multiQuery;
    const flat = view(t, qkvAxis(mha, t.shape));
    for (let r = 0; r < tp; r++) {
      const shard = splitShard(config, split, flat, tp, r);
      out.set(`${base}.${name}.${r}.bin`, view(shard, fileShape(mha, shard.shape)));
    }
  }
  return out;
}

/**
 * One layer's INT8 arrays from the checkpoint in `dir` (split `tp` ways), whole again — `names` of
 * them (default all; an engine reads only its mode's weight and scales): every file checked for
 * presence and size, every scale for being finite and > 0, multi-query K/V for being the same on
 * every rank.
 */
export function readFtInt8<N extends Int8ArrayName = Int8ArrayName>(dir: string, config: GptConfig, tp: number, layer: number, linear: Int8LinearName, names: readonly N[] = INT8_ARRAYS as readonly Int8ArrayName[] as readonly N[]): Pick<Int8Arrays, N> {
  const base = int8BaseKey(layer, linear);
  const shapes = int8Shapes(config, linear);
  const read = (file: string, dtype: DType, shape: readonly number[], item: string): Tensor => {
    const path = join(dir, file);
    const t = readRawTensor(path, dtype, shape, item, 'the file does not belong to this checkpoint: re-run trtllm convert -sq', `${shape.join('×')} ${dtype}, from config.ini`);
    if (t) return t;
    throw new LoaderError('missing', { file: path, item, expected: `${numel(shape) * DTYPES[dtype].bytes} bytes (${shape.join('×')} ${dtype})`, got: 'no such file', hint: 'this checkpoint has no SmoothQuant INT8 weights: convert with -sq (e.g. trtllm convert -sq 0.5 --calib-dataset FILE), or build without --use_smooth_quant' });
  };
  const out = {} as Record<N, Tensor>;
  for (const name of names) {
    const dtype = name.startsWith('weight') ? 'i8' : 'f32';
    const full = shapes[name];
    const item = `layers.${layer}.${linear} ${name}`;
    const split = splitOf(config, linear, name);
    if (split.kind === 'none') {
      out[name] = read(`${base}.${name}.bin`, dtype, full, item);
    } else {
      const flat = qkvAxis(split.kind === 'qkv' && !split.multiQuery, full);
      const shards = Array.from({ length: tp }, (_, r) => read(`${base}.${name}.${r}.bin`, dtype, shardShape(config, split, flat, tp, r), item));
      out[name] = view(mergeShards(config, split, shards, flat, { fileOf: (r) => join(dir, `${base}.${name}.${r}.bin`), item }), full);
    }
    if (dtype === 'f32') {
      const bad = Array.from(out[name].data as Float32Array).findIndex((v) => !(v > 0) || !Number.isFinite(v));
      if (bad >= 0) throw new LoaderError('format', { file: join(dir, `${base}.${name}${split.kind === 'none' ? '' : '.R'}.bin`), item, expected: 'finite scales > 0', got: `${(out[name].data as Float32Array)[bad]} at element ${bad}`, hint: 're-run trtllm convert -sq' });
    }
  }
  return out;
}
