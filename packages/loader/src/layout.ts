/**
 * Layout transforms on row-major tensors, dtype-agnostic (they move bytes, never values):
 * transpose of a matrix, a gather of column ranges (how QKV heads are reordered and how TP splits a
 * matrix along its last axis), a row slice (a split along axis 0), and a dtype cast that is exact
 * when widening and rounds to nearest-even when narrowing (as torch's `.to(dtype)`).
 */
import { allocStorage, DTYPES, fromF32, numel, tensor, toF32, type ActDType, type DType, type Tensor } from '@trtllm/ref-math';

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function like<D extends DType>(dtype: D, shape: readonly number[]): { t: Tensor<D>; bytes: Uint8Array } {
  const data = allocStorage(dtype, numel(shape));
  const t = tensor(dtype, shape, data);
  return { t, bytes: bytesOf(t) };
}

/** [R, C] → [C, R]. */
export function transpose2d<D extends DType>(t: Tensor<D>): Tensor<D> {
  const [r, c] = t.shape as [number, number];
  const e = DTYPES[t.dtype].bytes;
  const src = bytesOf(t);
  const { t: out, bytes } = like(t.dtype, [c, r]);
  // elements moved as whole words (1, 2 or 4 bytes: every dtype's width; views of the bits, so a NaN's
  // payload moves unchanged), in square blocks so that both the rows read and the rows written stay in
  // cache (a large matrix walked column by column misses on every element)
  const view = (b: Uint8Array): Uint8Array | Uint16Array | Uint32Array => (e === 1 ? b : e === 2 ? new Uint16Array(b.buffer, b.byteOffset, b.length / 2) : new Uint32Array(b.buffer, b.byteOffset, b.length / 4));
  const from = view(src), to = view(bytes);
  const B = 64;
  for (let i0 = 0; i0 < r; i0 += B) {
    const i1 = Math.min(r, i0 + B);
    for (let j0 = 0; j0 < c; j0 += B) {
      const j1 = Math.min(c, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0, at = i * c + j0; j < j1; j++, at++) to[j * r + i] = from[at]!;
    }
  }
  return out;
}

/** A column range [start, start + length). */
export type ColumnRange = readonly [start: number, length: number];

/** [R, C] (or [C], one row) → the listed column ranges side by side: [R, Σ length] (or [Σ length]). */
export function gatherColumns<D extends DType>(t: Tensor<D>, ranges: readonly ColumnRange[]): Tensor<D> {
  const vector = t.shape.length === 1;
  const c = t.shape[t.shape.length - 1]!;
  const r = vector ? 1 : numel(t.shape) / c;
  const e = DTYPES[t.dtype].bytes;
  const w = ranges.reduce((s, [, len]) => s + len, 0);
  for (const [start, len] of ranges) if (start < 0 || len < 0 || start + len > c) throw new RangeError(`column range [${start}, ${start + len}) outside ${c} columns`);
  const src = bytesOf(t);
  const { t: out, bytes } = like(t.dtype, vector ? [w] : [...t.shape.slice(0, -1), w]);
  for (let i = 0; i < r; i++) {
    let o = i * w * e;
    for (const [start, len] of ranges) {
      bytes.set(src.subarray((i * c + start) * e, (i * c + start + len) * e), o);
      o += len * e;
    }
  }
  return out;
}

/** Columns of several [R, Ci] tensors side by side: [R, Σ Ci]. */
export function concatColumns<D extends DType>(parts: readonly Tensor<D>[]): Tensor<D> {
  const first = parts[0]!;
  const vector = first.shape.length === 1;
  const r = vector ? 1 : first.shape[0]!;
  const e = DTYPES[first.dtype].bytes;
  const widths = parts.map((p) => p.shape[p.shape.length - 1]!);
  const w = widths.reduce((a, b) => a + b, 0);
  const { t: out, bytes } = like(first.dtype, vector ? [w] : [r, w]);
  for (let i = 0; i < r; i++) {
    let o = i * w * e;
    parts.forEach((p, k) => {
      bytes.set(bytesOf(p).subarray(i * widths[k]! * e, (i + 1) * widths[k]! * e), o);
      o += widths[k]! * e;
    });
  }
  return out;
}

/** Rows [start, start + count) of a tensor (axis 0). */
export function sliceRows<D extends DType>(t: Tensor<D>, start: number, count: number): Tensor<D> {
  const row = numel(t.shape.slice(1)) * DTYPES[t.dtype].bytes;
  const { t: out, bytes } = like(t.dtype, [count, ...t.shape.slice(1)]);
  bytes.set(bytesOf(t).subarray(start * row, (start + count) * row));
  return out;
}

/** The same values in `dtype`: exact when widening, round-to-nearest-even when narrowing. */
export function castTo<D extends ActDType>(t: Tensor, dtype: D): Tensor<D> {
  if (t.dtype === dtype) return t as Tensor<D>;
  if (dtype === 'f32') return tensor('f32', t.shape, Float32Array.from(toF32(t))) as Tensor<D>; // its own array: toF32's may be a constant's kept values
  return fromF32(dtype, t.shape, toF32(t));
}

/** The raw little-endian bytes of a tensor (what FT files and engine files hold). */
export function tensorBytes(t: Tensor): Uint8Array {
  return bytesOf(t);
}
