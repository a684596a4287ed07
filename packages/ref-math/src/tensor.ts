/**
 * Typed tensors: `{ dtype, shape, data }`, row-major, `data` the storage array of the dtype table.
 * Helpers here convert between real values and stored elements, always by the rounding rules of
 * numerics/ (round to nearest even; fp8 saturating; int8 saturating).
 */
import { allocStorage, DTYPES, type DType, type StorageOf } from './dtype.js';
import { ShapeError, AttrError } from './errors.js';
import { f32, rni } from './numerics/f32.js';
import { satS8 } from './numerics/int8.js';
import {
  f16Values,
  fromBf16Bits,
  fromF16Bits,
  fromFp8E4m3Bits,
  toBf16Bits,
  toF16Bits,
  toFp8E4m3Bits,
} from './numerics/minifloat.js';

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  /** Dimensions, outermost first (row-major). */
  readonly shape: readonly number[];
  readonly data: StorageOf[D];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Wrap storage as a tensor, checking that shape and length agree (zeroed storage if omitted). */
export function tensor<D extends DType>(dtype: D, shape: readonly number[], data?: StorageOf[D]): Tensor<D> {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError({ op: 'tensor', what: 'shape', expected: 'non-negative integer dims', got: `[${shape.join(', ')}]` });
    }
  }
  const n = numel(shape);
  const storage = data ?? allocStorage(dtype, n);
  if (storage.length !== n) {
    throw new ShapeError({
      op: 'tensor',
      what: 'data.length',
      expected: `${n} elements for shape [${shape.join(', ')}]`,
      got: `${storage.length}`,
    });
  }
  return { dtype, shape: [...shape], data: storage };
}

/** The stored element that represents real value x in `dtype` (rounded as numerics/ specifies). */
export function encodeValue(dtype: DType, x: number): number {
  switch (dtype) {
    case 'f32':
      return f32(x);
    case 'f16':
      return toF16Bits(x);
    case 'bf16':
      return toBf16Bits(x);
    case 'fp8e4m3':
      return toFp8E4m3Bits(x);
    case 'i8':
      return satS8(rni(x));
    case 'i32':
      return rni(x) | 0;
  }
}

/** The real value of a stored element of `dtype` (exact). */
export function decodeValue(dtype: DType, stored: number): number {
  switch (dtype) {
    case 'f16':
      return fromF16Bits(stored);
    case 'bf16':
      return fromBf16Bits(stored);
    case 'fp8e4m3':
      return fromFp8E4m3Bits(stored);
    default:
      return stored;
  }
}

/** x rounded to `dtype` and back: the value a kernel sees after storing x as that dtype. */
export function roundTo(dtype: DType, x: number): number {
  return decodeValue(dtype, encodeValue(dtype, x));
}

/** `values` rounded into an f16 / bf16 tensor: encodeValue's rounding, without its per-element dispatch. */
function encodeHalves<D extends DType>(t: Tensor<D>, values: ArrayLike<number>): Tensor<D> {
  const encode = t.dtype === 'f16' ? toF16Bits : toBf16Bits;
  for (let i = 0; i < values.length; i++) t.data[i] = encode(values[i]!);
  return t;
}

/**
 * A tensor of `dtype` holding `values` rounded to that dtype. Integer dtypes take integers only
 * (a fractional or out-of-range value is an error, not a silent rounding).
 */
export function fromValues<D extends DType>(dtype: D, shape: readonly number[], values: ArrayLike<number>): Tensor<D> {
  const t = tensor(dtype, shape);
  if (values.length !== t.data.length) {
    throw new ShapeError({ op: 'fromValues', what: 'values.length', expected: `${t.data.length}`, got: `${values.length}` });
  }
  const isInt = !DTYPES[dtype].isFloat;
  if (dtype === 'f16' || dtype === 'bf16') return encodeHalves(t, values);
  const [lo, hi] = dtype === 'i8' ? [-128, 127] : [-(2 ** 31), 2 ** 31 - 1];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (isInt && (!Number.isInteger(v) || v < lo || v > hi)) {
      throw new AttrError({ op: 'fromValues', what: `values[${i}]`, expected: `an integer in [${lo}, ${hi}] for ${dtype}`, got: `${v}` });
    }
    t.data[i] = encodeValue(dtype, v);
  }
  return t;
}

/** The real values of any tensor as float64 (exact for every dtype, i32 included). */
export function toValues(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = decodeValue(t.dtype, t.data[i]!);
  return out;
}

/**
 * Tensors that are read many times and never written — a model's weights — can be marked constant:
 * `toF32` then decodes such a tensor once and hands out the same fp32 values after (on the `ref`
 * backend a decode step would otherwise decode every weight matrix to multiply one row by it; the
 * values, and so every result, are the same either way). Kept per data array (a reshaped view shares
 * them), at most CONSTANT_F32_BUDGET bytes in all; past that a constant is decoded on every read, as
 * any other tensor is.
 */
export const CONSTANT_F32_BUDGET = 2 * 2 ** 30;
const constantData = new WeakSet<object>();
const keptF32 = new WeakMap<object, Float32Array>();
let keptBytes = 0;
const released = new FinalizationRegistry<number>((bytes) => void (keptBytes -= bytes));

/** Mark `t` as never written again (see CONSTANT_F32_BUDGET); returns `t`. */
export function markConstant<T extends Tensor>(t: T): T {
  constantData.add(t.data);
  return t;
}

/**
 * The real values of a float or int8 tensor as fp32 (exact: every f16/bf16/fp8/i8 value is a
 * binary32 number). This is how every oracle op reads its float inputs. The array may be the
 * tensor's own (f32) or a kept copy (a constant's): read it, never write it.
 */
export function toF32(t: Tensor): Float32Array {
  if (t.dtype === 'f32') return t.data as Float32Array;
  const kept = keptF32.get(t.data);
  if (kept) return kept;
  const out = decodeF32(t);
  if (constantData.has(t.data) && keptBytes + out.byteLength <= CONSTANT_F32_BUDGET) {
    keptF32.set(t.data, out);
    keptBytes += out.byteLength;
    released.register(t.data, out.byteLength);
  }
  return out;
}

function decodeF32(t: Tensor): Float32Array {
  const out = new Float32Array(t.data.length);
  const data = t.data;
  if (t.dtype === 'f16') {
    const values = f16Values(); // fromF16Bits' table, read directly: the same decode without a call per element
    for (let i = 0; i < out.length; i++) out[i] = values[data[i]!]!;
  } else if (t.dtype === 'bf16') {
    const bits = new Uint32Array(out.buffer); // bf16 bits are the upper half of the binary32
    for (let i = 0; i < out.length; i++) bits[i] = data[i]! << 16;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = decodeValue(t.dtype, data[i]!);
  }
  return out;
}

/** A tensor of `dtype` from fp32 values, each rounded once to `dtype`: how every op writes its output. */
export function fromF32<D extends DType>(dtype: D, shape: readonly number[], values: Float32Array): Tensor<D> {
  const t = tensor(dtype, shape);
  if (dtype === 'f32') {
    (t.data as Float32Array).set(values);
    return t;
  }
  if (dtype === 'f16' || dtype === 'bf16') return encodeHalves(t, values);
  for (let i = 0; i < values.length; i++) t.data[i] = encodeValue(dtype, values[i]!);
  return t;
}

/** A copy of `t` with a new shape of the same element count. */
export function reshape<D extends DType>(t: Tensor<D>, shape: readonly number[]): Tensor<D> {
  if (numel(shape) !== t.data.length) {
    throw new ShapeError({ op: 'reshape', what: 'shape', expected: `${t.data.length} elements`, got: `[${shape.join(', ')}]` });
  }
  return { dtype: t.dtype, shape: [...shape], data: t.data };
}

/** Bitwise equality of two tensors (dtype, shape and every stored element; NaN patterns included). */
export function bitEqual(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return false;
  if (a.shape.some((d, i) => d !== b.shape[i])) return false;
  const ua = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const ub = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  if (ua.length !== ub.length) return false;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
