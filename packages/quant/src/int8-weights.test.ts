// generateInt8 against numpy 1.24 running the seed's generate_int8 arithmetic
// (fixtures/int8-weights-reference.json, scripts/fixtures/int8_weights_reference.py): every int8
// weight and every fp32 scale bit for bit, for fp32 and fp16 storage, a plain GEMM and a QKV weight,
// and cases whose products land exactly on .5 (round half to even, clip at ±127).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromValues, rni, tensor, toF32 } from '@trtllm/ref-math';
import { QuantError } from './errors.js';
import { generateInt8, generateInt8Weight, type Int8Weights } from './int8-weights.js';

interface Case {
  name: string;
  k: number;
  n: number;
  dtype: 'f32' | 'f16';
  qkv: boolean;
  seed: number;
  ties: boolean;
  act_range: { x: number; y: number };
  outputs: Record<string, { dtype: string; shape: number[]; hex: string }>;
}
const fixture = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/int8-weights-reference.json'), 'utf8')) as { made_by: string; cases: Case[] };

/** The fixture's inputs: ((i·2654435761 + seed) mod 2^32 / 2^32 − 0.5) · scale, in binary64, then fp32. */
function hashed(n: number, scale: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i * 2654435761 + seed) % 2 ** 32) / 2 ** 32 - 0.5) * scale);
}

function inputs(c: Case) {
  let w = hashed(c.k * c.n, 0.4, c.seed);
  if (c.ties) w = w.map((v) => rni(Math.fround(v * 40)) / 2);
  const wt = fromValues(c.dtype, [c.k, c.n], w);
  const wv = toF32(wt);
  const wmax = c.ties ? new Float32Array(c.n).fill(127) : Float32Array.from({ length: c.n }, (_, j) => Math.max(1e-8, ...Array.from({ length: c.k }, (_, r) => Math.abs(wv[r * c.n + j]!))));
  const weight = c.qkv ? tensor(c.dtype, [c.k, 3, c.n / 3], wt.data as never) : wt;
  return { weight, range: { x: c.act_range.x, y: c.act_range.y, w: wmax } };
}

const hex = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
const hexF32 = (a: Float32Array): string => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (u) => u.toString(16).padStart(8, '0')).join('');

describe(`generateInt8 ≡ the seed's generate_int8 under numpy 1.x (${fixture.made_by})`, () => {
  for (const c of fixture.cases) {
    it(`${c.name}: all eight arrays, bit for bit`, () => {
      const { weight, range } = inputs(c);
      const got = generateInt8(weight, range, { qkv: c.qkv });
      for (const [key, want] of Object.entries(c.outputs)) {
        const t = got[key as keyof Int8Weights];
        expect(t.dtype, key).toBe(want.dtype === 'int8' ? 'i8' : 'f32');
        expect(t.shape.reduce((a, b) => a * b, 1), key).toBe(want.shape.reduce((a, b) => a * b, 1));
        expect(t.dtype === 'i8' ? hex(t.data) : hexF32(t.data as Float32Array), key).toBe(want.hex);
      }
    });
  }
  for (const c of fixture.cases) {
    it(`${c.name}: generateInt8Weight gives the arrays a per-tensor and a per-channel engine read`, () => {
      const { weight, range } = inputs(c);
      for (const perChannel of [false, true]) {
        const got = generateInt8Weight(weight, range, { qkv: c.qkv, perChannel });
        const want = c.outputs[perChannel ? 'weight.int8.col' : 'weight.int8']!;
        expect(hex(got.weight.data), `${perChannel}`).toBe(want.hex);
        expect(hexF32(got.scaleW.data as Float32Array)).toBe(c.outputs[perChannel ? 'scale_w_quant_orig.col' : 'scale_w_quant_orig']!.hex);
        expect(hexF32(got.scaleX.data as Float32Array)).toBe(c.outputs.scale_x_orig_quant!.hex);
      }
    });
  }
  it('every quarter from −300 to 300 and the non-finite values: sat127(rni(·)) of the product, per tensor and per column', () => {
    const vals = [...Array.from({ length: 2401 }, (_, i) => i / 4 - 300), Infinity, -Infinity, NaN];
    const w = fromValues('f32', [1, vals.length], vals);
    const got = generateInt8(w, { x: 1, y: 1, w: new Float32Array(vals.length).fill(127) });
    const want = Int8Array.from(vals, (v) => Math.max(-127, Math.min(127, rni(v))));
    expect(hex(got['weight.int8'].data)).toBe(hex(want));
    expect(hex(got['weight.int8.col'].data)).toBe(hex(want));
  });
  it('ties round half to even and products past ±127 clip to ±127 (not −128)', () => {
    const w = fromValues('f32', [1, 6], [0.5, 1.5, 2.5, -0.5, -2.5, -200]);
    const got = generateInt8(w, { x: 1, y: 1, w: new Float32Array(6).fill(127) });
    expect(Array.from(got['weight.int8'].data)).toEqual([0, 2, 2, 0, -2, -127]);
    expect(Array.from(got['weight.int8.col'].data)).toEqual([0, 2, 2, 0, -2, -127]);
  });
  it('bad input is a QuantError naming the field: bf16 storage, a range of the wrong length, a zero range', () => {
    expect(() => generateInt8(fromValues('bf16', [1, 2], [1, 2]) as never, { x: 1, y: 1, w: new Float32Array(2).fill(1) })).toThrow(QuantError);
    expect(() => generateInt8(fromValues('f32', [2, 3], [1, 2, 3, 4, 5, 6]), { x: 1, y: 1, w: new Float32Array(2) })).toThrow(/act_range\.w: expected 3 per-column maxima/);
    expect(() => generateInt8(fromValues('f32', [1, 2], [1, 2]), { x: 0, y: 1, w: new Float32Array(2).fill(1) })).toThrow(/act_range\.x: expected a finite range > 0, got 0/);
  });
});

describe('generateInt8 with multi-query QKV parts (beyond the seed)', () => {
  const k = 4;
  const w = fromValues('f32', [k, 8], Array.from({ length: 32 }, (_, i) => ((i * 37) % 17) / 8 - 1));
  const wv = toF32(w);
  const wmax = Float32Array.from({ length: 8 }, (_, j) => Math.max(...Array.from({ length: k }, (_, r) => Math.abs(wv[r * 8 + j]!))));
  const range = { x: 3, y: 5, w: wmax };
  it('equal parts give the seed QKV values, as [N] vectors instead of [3, N/3]', () => {
    const w6 = fromValues('f32', [k, 6], Array.from({ length: 24 }, (_, i) => wv[i]!));
    const r6 = { ...range, w: wmax.subarray(0, 6) };
    const seed = generateInt8(tensor('f32', [k, 3, 2], w6.data), r6, { qkv: true });
    const parts = generateInt8(w6, r6, { qkvParts: [2, 2, 2] });
    for (const key of ['weight.int8', 'weight.int8.col', 'scale_w_quant_orig', 'scale_w_quant_orig.col', 'scale_y_accum_quant', 'scale_y_accum_quant.col', 'scale_x_orig_quant', 'scale_y_quant_orig'] as const) {
      expect(Array.from(parts[key].data), key).toEqual(Array.from(seed[key].data));
    }
    expect([parts['weight.int8'].shape, parts.scale_w_quant_orig.shape]).toEqual([[k, 6], [6]]);
  });
  it('Q [4 columns], K [2], V [2]: each part quantized with its own max', () => {
    const g = generateInt8(w, range, { qkvParts: [4, 2, 2] });
    const partMax = [Math.max(...wmax.subarray(0, 4)), Math.max(...wmax.subarray(4, 6)), Math.max(...wmax.subarray(6, 8))];
    const sW = Array.from(g.scale_w_quant_orig.data);
    expect(sW).toEqual([0, 0, 0, 0, 1, 1, 2, 2].map((p) => Math.fround(1 / Math.fround(127 / partMax[p]!))));
    for (let j = 0; j < 8; j++) {
      const p = j < 4 ? 0 : j < 6 ? 1 : 2;
      expect(g['weight.int8'].data[j]).toBe(Math.max(-127, Math.min(127, rni(Math.fround(wv[j]! * Math.fround(127 / partMax[p]!))))));
    }
    expect(() => generateInt8(w, range, { qkvParts: [4, 2, 1] })).toThrow(/qkvParts: expected Q, K, V widths adding up to 8/);
  });
});
