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
import { generateInt8, type Int8Weights } from './int8-weights.js';

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
