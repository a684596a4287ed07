import { describe, expect, it } from 'vitest';
import { AttrError, RefMathError, ShapeError } from './errors.js';
import { bitEqual, decodeValue, encodeValue, fromF32, fromValues, markConstant, reshape, roundTo, tensor, toF32, toValues } from './tensor.js';
import { DTYPES, allocStorage, isDType } from './dtype.js';
import { thrown } from './testing/random.js';

describe('tensors', () => {
  it('one dtype table: storage arrays and byte sizes', () => {
    expect(Object.values(DTYPES).map((d) => `${d.name}:${d.bytes}`)).toEqual(['f32:4', 'f16:2', 'bf16:2', 'fp8e4m3:1', 'i8:1', 'i32:4']);
    expect(allocStorage('f16', 3)).toBeInstanceOf(Uint16Array);
    expect(allocStorage('fp8e4m3', 3)).toBeInstanceOf(Uint8Array);
    expect(isDType('f16') && !isDType('float16')).toBe(true);
  });
  it('stores narrow floats as bit patterns and decodes them exactly', () => {
    const t = fromValues('bf16', [2], [1, -2.5]);
    expect(Array.from(t.data)).toEqual([0x3f80, 0xc020]);
    expect(Array.from(toValues(t))).toEqual([1, -2.5]);
    expect(roundTo('f16', 0.1)).toBe(0.0999755859375);
    expect(decodeValue('fp8e4m3', encodeValue('fp8e4m3', 1000))).toBe(448);
    expect(Array.from(toF32(fromValues('i8', [2], [-128, 127])))).toEqual([-128, 127]);
  });
  it('toF32 / fromF32 of f16 and bf16 (the bulk paths every cast takes) equal decodeValue / encodeValue on every bit pattern', () => {
    for (const dtype of ['f16', 'bf16'] as const) {
      const all = tensor(dtype, [65536], Uint16Array.from({ length: 65536 }, (_, b) => b));
      const values = toF32(all);
      const decodeMismatches = Array.from({ length: 65536 }, (_, b) => b).filter((b) => !Object.is(values[b], Math.fround(decodeValue(dtype, b))));
      expect(decodeMismatches, `${dtype} bit patterns decoded differently`).toEqual([]);
      // back: every finite value, the midpoint of each pair of neighbours (a tie: to even), scattered binary32 patterns, ±overflow, NaN
      const finite = Array.from(values).filter((v) => Number.isFinite(v));
      const mids = Array.from({ length: 0x7f7f }, (_, b) => (values[b]! + values[b + 1]!) / 2).filter((v) => Number.isFinite(v));
      const random = new Float32Array(Uint32Array.from({ length: 100_000 }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0).buffer); // any binary32, NaN payloads too
      const probes = Float32Array.from([...finite, ...mids, ...mids.map((v) => -v), ...random, 1e30, -1e30, Infinity, NaN]);
      const back = fromF32(dtype, [probes.length], probes);
      const encodeMismatches = Array.from(probes).filter((v, i) => back.data[i] !== encodeValue(dtype, v));
      expect(encodeMismatches, `${dtype} values encoded differently`).toEqual([]);
    }
  });
  it('rejects length/shape mismatches and fractional or out-of-range integers', () => {
    expect(() => tensor('f32', [2, 2], new Float32Array(3))).toThrow(/expected 4 elements for shape \[2, 2\], got 3/);
    expect(() => tensor('f32', [-1])).toThrow(ShapeError);
    expect(() => fromValues('i8', [1], [128])).toThrow(AttrError);
    expect(() => fromValues('i32', [1], [1.5])).toThrow(/an integer/);
    expect(() => reshape(tensor('f32', [6]), [4, 2])).toThrow(ShapeError);
  });
  it('errors are typed, carry data, and read as one line', () => {
    const e = thrown(() => tensor('f32', [2], new Float32Array(1)));
    expect(e).toBeInstanceOf(RefMathError);
    expect(e).toMatchObject({ name: 'ShapeError', kind: 'shape', op: 'tensor', what: 'data.length', expected: '2 elements for shape [2]', got: '1' });
    expect((e as Error).message).toBe('tensor: data.length: expected 2 elements for shape [2], got 1');
  });
  it('bitEqual compares dtype, shape and every byte', () => {
    const a = fromValues('f32', [2], [1, Number.NaN]);
    expect(bitEqual(a, fromValues('f32', [2], [1, Number.NaN]))).toBe(true);
    expect(bitEqual(a, reshape(a, [1, 2]))).toBe(false);
    expect(bitEqual(fromValues('f32', [1], [0]), fromValues('f32', [1], [-0]))).toBe(false);
  });
});

describe('constant tensors (markConstant)', () => {
  it('a constant is decoded once: the same fp32 values, the same array on every read and through a reshaped view', () => {
    const w = markConstant(fromValues('f16', [2, 3], [0.1, -2, 3.5, 65504, -0.0001, 7]));
    const first = toF32(w);
    expect(Array.from(first)).toEqual(Array.from(toF32(fromValues('f16', [2, 3], [0.1, -2, 3.5, 65504, -0.0001, 7]))));
    expect(toF32(w)).toBe(first);
    expect(toF32(reshape(w, [3, 2]))).toBe(first);
  });
  it('any other tensor is read anew: one written after a read (a KV cache, an output) shows its new values', () => {
    const kv = fromValues('bf16', [4], [1, 2, 3, 4]);
    expect(Array.from(toF32(kv))).toEqual([1, 2, 3, 4]);
    kv.data[2] = encodeValue('bf16', -8);
    expect(Array.from(toF32(kv))).toEqual([1, 2, -8, 4]);
    expect(toF32(kv)).not.toBe(toF32(kv));
  });
});
