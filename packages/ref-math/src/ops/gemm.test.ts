import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError } from '../errors.js';
import { f32 } from '../numerics/f32.js';
import { bitEqual, fromValues, tensor, toValues, type Tensor } from '../tensor.js';
import { randomTensor, thrown } from '../testing/random.js';
import { matmul64, maxAbsDiff } from '../testing/reference64.js';
import { sharedData, readBigEndianF32 } from '../testing/shared-data.js';
import { layerNorm } from './layernorm.js';
import { gemm } from './gemm.js';

function transpose<D extends 'f32' | 'f16' | 'bf16'>(t: Tensor<D>): Tensor<D> {
  const [r, c] = t.shape as [number, number];
  const out = tensor(t.dtype, [c, r]);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[j * r + i] = t.data[i * c + j]!;
  return out;
}
const asRows = (t: Tensor): number[][] => {
  const [r, c] = t.shape as [number, number];
  const v = toValues(t);
  return Array.from({ length: r }, (_, i) => Array.from(v.subarray(i * c, (i + 1) * c)));
};

describe('gemm', () => {
  it('accumulates k ascending in fp32 with one rounding per step (2^24 + 1 + 1 = 2^24)', () => {
    const y = gemm({ a: fromValues('f32', [1, 3], [2 ** 24, 1, 1]), b: fromValues('f32', [3, 1], [1, 1, 1]) });
    expect(toValues(y)[0]).toBe(2 ** 24);
    const rev = gemm({ a: fromValues('f32', [1, 3], [1, 1, 2 ** 24]), b: fromValues('f32', [3, 1], [1, 1, 1]) });
    expect(toValues(rev)[0]).toBe(2 ** 24 + 2);
  });
  it('rounds each product to fp32 before adding (no FMA)', () => {
    // a·b = 1 + 2^-23 + 2^-46 rounds to 1 + 2^-23; an FMA with c = −1 would keep the 2^-46.
    const a = fromValues('f32', [1, 2], [1 + 2 ** -23, -1]);
    const b = fromValues('f32', [2, 1], [1 + 2 ** -23, 1]);
    expect(toValues(gemm({ a, b }))[0]).toBe(f32(f32((1 + 2 ** -23) ** 2) - 1));
    expect(toValues(gemm({ a, b }))[0]).toBe(2 ** -22);
  });
  it('is exact on small integers in every dtype', () => {
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      const a = fromValues(dtype, [2, 3], [1, 2, 3, 4, 5, 6]);
      const b = fromValues(dtype, [3, 2], [7, 8, 9, 10, 11, 12]);
      expect(Array.from(toValues(gemm({ a, b })))).toEqual([58, 64, 139, 154]);
    }
  });
  it('gives the same bits for every transpose arrangement', () => {
    const a = randomTensor('f16', [5, 7], 1);
    const b = randomTensor('f16', [7, 11], 2);
    const ref = gemm({ a, b });
    expect(bitEqual(gemm({ a: transpose(a), b }, { transA: true }), ref)).toBe(true);
    expect(bitEqual(gemm({ a, b: transpose(b) }, { transB: true }), ref)).toBe(true);
    expect(bitEqual(gemm({ a: transpose(a), b: transpose(b) }, { transA: true, transB: true }), ref)).toBe(true);
    // fp32 with magnitudes 2^−20 … 2^20 and signed zeros, where any other order of adding would show:
    // B as stored (read row by row) and Bᵀ (read along K) take the two loops of matmulF32
    const wide = (shape: [number, number], seed: number): Tensor<'f32'> => {
      const r = randomTensor('f32', shape, seed);
      const scale = randomTensor('f32', shape, seed + 100);
      return fromValues('f32', shape, Array.from(toValues(r), (v, i) => (i % 17 === 0 ? -0 : v * 2 ** Math.round(toValues(scale)[i]! * 10))));
    };
    const x = wide([6, 33], 3);
    const w = wide([33, 9], 4);
    const y = gemm({ a: x, b: w });
    expect(bitEqual(gemm({ a: x, b: transpose(w) }, { transB: true }), y)).toBe(true);
    expect(bitEqual(gemm({ a: transpose(x), b: w }, { transA: true }), y)).toBe(true);
  });
  it('adds the bias in fp32 before the single output cast', () => {
    // acc = 2049 (fp32), bias 1 → 2050 → f16 2050. Casting first would give f16(2049) = 2048 (tie → even), + 1 → 2048.
    const y = gemm({ a: fromValues('f16', [1, 2], [2048, 1]), b: fromValues('f16', [2, 1], [1, 1]), bias: fromValues('f16', [1], [1]) });
    expect(toValues(y)[0]).toBe(2050);
  });
  it('is within fp32 error of a float64 GEMM on random data (odd shapes)', () => {
    for (const [m, k, n] of [[5, 13, 7], [1, 64, 11], [3, 1, 2]] as const) {
      const a = randomTensor('f32', [m, k], m + k);
      const b = randomTensor('f32', [k, n], n);
      const got = toValues(gemm({ a, b }));
      const want = matmul64(asRows(a), asRows(b)).flat();
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5 * k);
    }
  });
  it('rejects mismatched shapes and dtypes with typed errors naming op, input, expected and got', () => {
    const a = randomTensor('f32', [2, 3], 1);
    expect(() => gemm({ a, b: randomTensor('f32', [4, 2], 2) })).toThrow(/gemm: inner dimension K of b: expected 3 \(K of a\), got 4/);
    expect(() => gemm({ a, b: randomTensor('f16', [3, 2], 2) })).toThrow(DTypeError);
    expect(() => gemm({ a: randomTensor('f32', [2, 3, 1], 1), b: a })).toThrow(ShapeError);
    expect(() => gemm({ a, b: randomTensor('f32', [3, 2], 2), bias: randomTensor('f32', [3], 3) })).toThrow(/inputs.bias: expected \[2\], got \[3\]/);
    expect(thrown(() => gemm({ a, b: randomTensor('i8', [3, 2], 2) as never }))).toMatchObject({ kind: 'dtype', op: 'gemm', what: 'inputs.b', expected: 'f32', got: 'i8' });
  });
});

const layer0 = sharedData('data/gpt2-124M-layer0/decoder1/att.query.w.dat');
describe.skipIf(layer0.skip)(layer0.title('gemm on the real GPT-2 124M layer 0 (shared/data/gpt2-124M-layer0)'), () => {
  const dir = layer0.path.replace(/decoder1\/att\.query\.w\.dat$/, '');
  const read = (rel: string): Float32Array => readBigEndianF32(dir + rel);
  it('reads wpe as documented (wpe[0, :4] = −0.01882, −0.19742, 0.00403, 0.01135)', () => {
    const wpe = read('input/wpe.dat');
    expect(wpe.length).toBe(1024 * 768);
    expect(Array.from(wpe.subarray(0, 4)).map((v) => Number(v.toFixed(5)))).toEqual([-0.01882, -0.19742, 0.00403, 0.01135]);
  });
  it('LN1 then the Q projection of real activations: fp32 within 2e-5·K·max|x| of float64, f16 within f16 error', () => {
    const rowsN = 7; // positions 0…6 of wpe as inputs: real value distributions
    const x = tensor('f32', [rowsN, 768], read('input/wpe.dat').slice(0, rowsN * 768));
    const ln = layerNorm({ x, gamma: tensor('f32', [768], read('decoder1/att.norm.w.dat')), beta: tensor('f32', [768], read('decoder1/att.norm.b.dat')) });
    const w = tensor('f32', [768, 768], read('decoder1/att.query.w.dat'));
    const bias = tensor('f32', [768], read('decoder1/att.query.b.dat'));
    const got = toValues(gemm({ a: ln, b: w, bias }));
    const want = matmul64(asRows(ln), asRows(w)).flat().map((v, i) => v + bias.data[i % 768]!);
    const scale = Math.max(...want.map(Math.abs));
    expect(maxAbsDiff(got, want) / scale).toBeLessThan(1e-5);
    const got16 = toValues(gemm({ a: fromValues('f16', ln.shape, toValues(ln)), b: fromValues('f16', w.shape, w.data), bias: fromValues('f16', [768], bias.data) }));
    expect(maxAbsDiff(got16, want) / scale).toBeLessThan(2e-3);
  });
});
