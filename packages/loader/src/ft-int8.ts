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
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocStorage, DTYPES, numel, tensor, type DType, type GptConfig, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { gatherColumns, sliceRows, tensorBytes } from './layout.js';

/** The linear layers SmoothQuant quantizes. */
export type Int8LinearName = 'qkv' | 'attnOut' | 'fc' | 'proj';
export const INT8_LINEARS: readonly Int8LinearName[] = ['qkv', 'attnOut', 'fc', 'proj'];

/** The eight arrays the converter writes per linear layer. */
export const INT8_ARRAYS = ['weight.int8', 'weight.int8.col', 'scale_x_orig_quant', 'scale_w_quant_orig', 'scale_w_quant_orig.col', 'scale_y_accum_quant', 'scale_y_accum_quant.col', 'scale_y_quant_orig'] as const;
export type Int8ArrayName = (typeof INT8_ARRAYS)[number];
export type Int8Arrays = Readonly<Record<Int8ArrayName, Tensor>>;

const BASE: Record<Int8LinearName, string> = { qkv: 'attention.query_key_value', attnOut: 'attention.dense', fc: 'mlp.dense_h_to_4h', proj: 'mlp.dense_4h_to_h' };
const ROWS: Record<Int8LinearName, boolean> = { qkv: false, attnOut: true, fc: false, proj: true };

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

/** Which arrays are split per rank (the rest are written once). */
function isSplit(linear: Int8LinearName, name: Int8ArrayName): boolean {
  return name.startsWith('weight.int8') || (!ROWS[linear] && name.endsWith('.col'));
}

/** Multi-query QKV: rank r's columns — its share of Q's, then all of K's and V's. */
function mqaColumns(config: GptConfig, tp: number, r: number): [number, number][] {
  const h = config.nEmbd;
  const w = h / tp;
  return [[r * w, w], [h, 2 * (h / config.nHead)]];
}

/** Rank r's part of a full array along its split axis. */
function shard(config: GptConfig, linear: Int8LinearName, t: Tensor, rows: boolean, tp: number, r: number): Tensor {
  if (rows) return sliceRows(t, (r * t.shape[0]!) / tp, t.shape[0]! / tp);
  if (linear === 'qkv' && multiQuery(config)) return gatherColumns(t, mqaColumns(config, tp, r));
  const w = t.shape[t.shape.length - 1]! / tp;
  return gatherColumns(t, [[r * w, w]]);
}

/** The files write_int8 writes for one layer: file name → tensor (its bytes as written). */
export function ftInt8Files(config: GptConfig, layer: number, linear: Int8LinearName, tp: number, a: Int8Arrays): Map<string, Tensor> {
  const base = int8BaseKey(layer, linear);
  const out = new Map<string, Tensor>();
  for (const name of INT8_ARRAYS) {
    const t = a[name];
    if (!isSplit(linear, name)) out.set(`${base}.${name}.bin`, t);
    else for (let r = 0; r < tp; r++) out.set(`${base}.${name}.${r}.bin`, shard(config, linear, t, ROWS[linear] && name.startsWith('weight'), tp, r));
  }
  return out;
}

/** Write a map of file name → tensor into `dir`; returns the bytes written. */
export function writeFtFiles(dir: string, files: ReadonlyMap<string, Tensor>): number {
  let bytes = 0;
  for (const [file, t] of files) {
    const b = tensorBytes(t);
    writeFileSync(join(dir, file), b);
    bytes += b.byteLength;
  }
  return bytes;
}

/**
 * One layer's INT8 arrays from the checkpoint in `dir` (split `tp` ways), whole again: every file
 * checked for presence and size, every scale for being finite and > 0.
 */
export function readFtInt8(dir: string, config: GptConfig, tp: number, layer: number, linear: Int8LinearName): Int8Arrays {
  const base = int8BaseKey(layer, linear);
  const shapes = int8Shapes(config, linear);
  const read = (file: string, dtype: DType, shape: readonly number[], item: string): Tensor => {
    const path = join(dir, file);
    const bytes = numel(shape) * DTYPES[dtype].bytes;
    if (!existsSync(path)) {
      throw new LoaderError('missing', { file: path, item, expected: `${bytes} bytes (${shape.join('×')} ${dtype})`, got: 'no such file', hint: 'this checkpoint has no SmoothQuant INT8 weights: convert with -sq (e.g. trtllm convert -sq 0.5 --calib-dataset FILE), or build without --use_smooth_quant' });
    }
    const size = statSync(path).size;
    if (size !== bytes) throw new LoaderError('shape', { file: path, item, expected: `${bytes} bytes (${shape.join('×')} ${dtype}, from config.ini)`, got: `${size} bytes`, hint: 'the file does not belong to this checkpoint: re-run trtllm convert -sq' });
    const buf = readFileSync(path);
    const data = allocStorage(dtype, numel(shape));
    new Uint8Array(data.buffer).set(buf);
    return tensor(dtype, shape, data);
  };
  const out = {} as Record<Int8ArrayName, Tensor>;
  for (const name of INT8_ARRAYS) {
    const dtype = name.startsWith('weight') ? 'i8' : 'f32';
    const full = shapes[name];
    const item = `layers.${layer}.${linear} ${name}`;
    if (!isSplit(linear, name)) {
      out[name] = read(`${base}.${name}.bin`, dtype, full, item);
    } else {
      const rows = ROWS[linear] && name.startsWith('weight');
      const mqa = linear === 'qkv' && multiQuery(config);
      const hs = config.nEmbd / config.nHead;
      const last = mqa ? config.nEmbd / tp + 2 * hs : full[full.length - 1]! / tp;
      const part = rows ? [full[0]! / tp, ...full.slice(1)] : [...full.slice(0, -1), last];
      const parts = Array.from({ length: tp }, (_, r) => read(`${base}.${name}.${r}.bin`, dtype, part, item));
      out[name] = rows ? concatRows(parts, full) : mqa ? mergeMqa(parts, full, config, tp, join(dir, `${base}.${name}`), item) : concatLast(parts, full);
    }
    if (dtype === 'f32') {
      const bad = Array.from(out[name].data as Float32Array).findIndex((v) => !(v > 0) || !Number.isFinite(v));
      if (bad >= 0) throw new LoaderError('format', { file: join(dir, `${base}.${name}${isSplit(linear, name) ? '.R' : ''}.bin`), item, expected: 'finite scales > 0', got: `${(out[name].data as Float32Array)[bad]} at element ${bad}`, hint: 're-run trtllm convert -sq' });
    }
  }
  return out;
}

function concatRows(parts: readonly Tensor[], shape: readonly number[]): Tensor {
  const data = allocStorage(parts[0]!.dtype, numel(shape));
  const bytes = new Uint8Array(data.buffer);
  let o = 0;
  for (const p of parts) {
    const b = tensorBytes(p);
    bytes.set(b, o);
    o += b.byteLength;
  }
  return tensor(parts[0]!.dtype, shape, data);
}

/** Multi-query QKV shards back to [.., H + 2·HS]: each rank's Q columns in place, K and V from rank 0 (the others must hold the same). */
function mergeMqa(parts: readonly Tensor[], shape: readonly number[], config: GptConfig, tp: number, file: string, item: string): Tensor {
  const e = DTYPES[parts[0]!.dtype].bytes;
  const n = shape[shape.length - 1]!;
  const rows = numel(shape) / n;
  const data = allocStorage(parts[0]!.dtype, numel(shape));
  const bytes = new Uint8Array(data.buffer);
  parts.forEach((p, r) => {
    const b = tensorBytes(p);
    const [[q0, qw], [kv0, kvw]] = mqaColumns(config, tp, r);
    const pw = qw + kvw;
    for (let i = 0; i < rows; i++) {
      bytes.set(b.subarray(i * pw * e, (i * pw + qw) * e), (i * n + q0) * e);
      const kv = b.subarray((i * pw + qw) * e, (i + 1) * pw * e);
      if (r === 0) bytes.set(kv, (i * n + kv0) * e);
      else if (!Buffer.from(kv).equals(Buffer.from(bytes.subarray((i * n + kv0) * e, (i * n + kv0 + kvw) * e)))) {
        throw new LoaderError('format', { file: `${file}.${r}.bin`, item, expected: 'the multi-query K/V columns equal to rank 0', got: `a difference in row ${i}`, hint: 're-run trtllm convert -sq' });
      }
    }
  });
  return tensor(parts[0]!.dtype, shape, data);
}

function concatLast(parts: readonly Tensor[], shape: readonly number[]): Tensor {
  const e = DTYPES[parts[0]!.dtype].bytes;
  const w = shape[shape.length - 1]!;
  const pw = w / parts.length;
  const rows = numel(shape) / w;
  const data = allocStorage(parts[0]!.dtype, numel(shape));
  const bytes = new Uint8Array(data.buffer);
  parts.forEach((p, r) => {
    const b = tensorBytes(p);
    for (let i = 0; i < rows; i++) bytes.set(b.subarray(i * pw * e, (i + 1) * pw * e), (i * w + r * pw) * e);
  });
  return tensor(parts[0]!.dtype, shape, data);
}
