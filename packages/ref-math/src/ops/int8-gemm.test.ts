import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { randomInt8 } from '../testing/random.js';
import { int8Gemm, smoothQuantEpilogue, smoothQuantGemm } from './int8-gemm.js';
import { gelu } from './activation.js';
import { residualAdd } from './residual.js';
import { randomTensor } from '../testing/random.js';
import { DTypeError, ShapeError } from '../errors.js';
import { decodeValue, encodeValue, fromValues, tensor, toValues } from '../tensor.js';

/** Exact integer GEMM with BigInt, wrapped to int32 as the hardware does. */
function bigIntGemm(a: Int8Array, b: Int8Array, m: number, k: number, n: number, transB = false): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0n;
      for (let p = 0; p < k; p++) s += BigInt(a[i * k + p]!) * BigInt(transB ? b[j * k + p]! : b[p * n + j]!);
      out.push(Number(BigInt.asIntN(32, s)));
    }
  }
  return out;
}

describe('int8Gemm', () => {
  it('equals exact integer arithmetic on random full-range int8 (odd shapes, both layouts of b)', () => {
    for (const [m, k, n] of [[5, 7, 11], [13, 64, 3], [1, 1, 1]] as const) {
      const a = randomInt8([m, k], m);
      const b = randomInt8([k, n], n);
      expect(Array.from(int8Gemm({ a, b }).data)).toEqual(bigIntGemm(a.data, b.data, m, k, n));
      const bt = randomInt8([n, k], k);
      expect(Array.from(int8Gemm({ a, b: bt }, { transB: true }).data)).toEqual(bigIntGemm(a.data, bt.data, m, k, n, true));
    }
  });
  it('wraps around in int32 past 2^31 (K = 131073 of (−128)·(−128))', () => {
    const k = 131073;
    const a = tensor('i8', [1, k]);
    a.data.fill(-128);
    const got = int8Gemm({ a, b: tensor('i8', [k, 1], a.data.slice()) }).data[0];
    expect(got).toBe(Number(BigInt.asIntN(32, BigInt(k) * 16384n)));
    expect(got).toBeLessThan(0);
  });
  it('rejects float inputs', () => {
    expect(() => int8Gemm({ a: fromValues('f32', [1, 1], [1]) as never, b: randomInt8([1, 1], 1) })).toThrow(DTypeError);
  });
});

describe('smoothQuantGemm', () => {
  const m = 3, k = 5, n = 4;
  const a = randomInt8([m, k], 1);
  const b = randomInt8([k, n], 2);
  const acc = bigIntGemm(a.data, b.data, m, k, n);
  const rowS = [0.011, 0.5, 0.0203];
  const colS = [0.3, 0.007, 1.25, 0.09];
  const modes = [
    { perToken: false, perChannel: false },
    { perToken: true, perChannel: false },
    { perToken: false, perChannel: true },
    { perToken: true, perChannel: true },
  ];
  for (const mode of modes) {
    for (const outDtype of ['f32', 'f16', 'bf16'] as const) {
      it(`applies y = T(fp32(acc)·fp32(αcol·αrow)) then + bias in T (perToken ${mode.perToken}, perChannel ${mode.perChannel}, ${outDtype})`, () => {
        const alphaRow = fromValues('f32', [mode.perToken ? m : 1], mode.perToken ? rowS : [rowS[0]!]);
        const alphaCol = fromValues('f32', [mode.perChannel ? n : 1], mode.perChannel ? colS : [colS[0]!]);
        const bias = fromValues(outDtype, [n], [0.5, -0.25, 3, 0.125]);
        const y = toValues(smoothQuantGemm({ a, b, alphaRow, alphaCol, bias }, { outDtype, mode }));
        const biasV = toValues(bias);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const alpha = f32(f32(colS[mode.perChannel ? j : 0]!) * f32(rowS[mode.perToken ? i : 0]!));
            const yT = decodeValue(outDtype, encodeValue(outDtype, f32(acc[i * n + j]! * alpha)));
            expect(y[i * n + j]).toBe(decodeValue(outDtype, encodeValue(outDtype, f32(yT + biasV[j]!))));
          }
        }
      });
    }
  }
  it('rounds int32 → fp32 to nearest even before scaling (acc = 2^24 + 1 → 2^24)', () => {
    // 1040 · 127 · 127 = 16774160; + 3057 · 1 · 1 = 16777217 = 2^24 + 1, a tie in fp32 → 2^24.
    const kk = 1040 + 3057;
    const a1 = tensor('i8', [1, kk]);
    const b1 = tensor('i8', [kk, 1]);
    for (let p = 0; p < kk; p++) {
      a1.data[p] = p < 1040 ? 127 : 1;
      b1.data[p] = p < 1040 ? 127 : 1;
    }
    expect(int8Gemm({ a: a1, b: b1 }).data[0]).toBe(2 ** 24 + 1);
    const one = fromValues('f32', [1], [1]);
    const y = smoothQuantGemm({ a: a1, b: b1, alphaRow: one, alphaCol: one }, { outDtype: 'f32', mode: modes[0]! });
    expect(toValues(y)[0]).toBe(2 ** 24);
  });
  it('checks scale vector shapes against the declared mode', () => {
    const one = fromValues('f32', [1], [1]);
    expect(() => smoothQuantGemm({ a, b, alphaRow: one, alphaCol: one }, { outDtype: 'f16', mode: { perToken: true, perChannel: false } })).toThrow(ShapeError);
    expect(() => smoothQuantGemm({ a, b, alphaRow: one, alphaCol: one }, { outDtype: 'f16', mode: modes[0]! })).not.toThrow();
  });
});

describe('smoothQuantEpilogue', () => {
  const m = 4, k = 9, n = 6;
  const a = randomInt8([m, k], 11);
  const b = randomInt8([n, k], 12);
  const alphaRow = fromValues('f32', [m], [0.011, 0.5, 0.0203, 0.003]);
  const alphaCol = fromValues('f32', [n], [0.3, 0.007, 1.25, 0.09, 0.002, 0.04]);
  const mode = { perToken: true, perChannel: true };
  for (const outDtype of ['f32', 'f16', 'bf16'] as const) {
    it(`over int8Gemm's accumulator equals smoothQuantGemm, then gelu, then residualAdd (${outDtype})`, () => {
      const bias = randomTensor(outDtype, [n], 13);
      const residual = randomTensor(outDtype, [m, n], 14);
      const acc = int8Gemm({ a, b }, { transB: true });
      const y = smoothQuantGemm({ a, b, alphaRow, alphaCol, bias }, { outDtype, mode, transB: true });
      expect(smoothQuantEpilogue({ acc, alphaRow, alphaCol, bias }, { outDtype, mode }).data).toEqual(y.data);
      const composed = residualAdd({ a: residual, b: gelu({ x: y }) });
      expect(smoothQuantEpilogue({ acc, alphaRow, alphaCol, bias, residual }, { outDtype, mode, gelu: true }).data).toEqual(composed.data);
      expect(smoothQuantEpilogue({ acc, alphaRow, alphaCol, residual }, { outDtype, mode }).data)
        .toEqual(residualAdd({ a: residual, b: smoothQuantGemm({ a, b, alphaRow, alphaCol }, { outDtype, mode, transB: true }) }).data);
    });
  }
  it('by hand: acc 100 · (0.5 · 0.25) + 1 = 13.5, gelu(13.5) = 13.5 in f16, + residual 2 = 15.5', () => {
    const one = (v: number) => fromValues('f32', [1], [v]);
    const y = smoothQuantEpilogue(
      { acc: fromValues('i32', [1, 1], [100]), alphaRow: one(0.5), alphaCol: one(0.25), bias: fromValues('f16', [1], [1]), residual: fromValues('f16', [1, 1], [2]) },
      { outDtype: 'f16', mode: { perToken: false, perChannel: false }, gelu: true },
    );
    expect(Array.from(toValues(y))).toEqual([15.5]);
  });
  it('checks the residual and accumulator', () => {
    const acc = fromValues('i32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const one = fromValues('f32', [1], [1]);
    const m0 = { perToken: false, perChannel: false };
    expect(() => smoothQuantEpilogue({ acc, alphaRow: one, alphaCol: one, residual: fromValues('f16', [3, 2], [0, 0, 0, 0, 0, 0]) }, { outDtype: 'f16', mode: m0 })).toThrow(ShapeError);
    expect(() => smoothQuantEpilogue({ acc: fromValues('f32', [2, 3], [1, 2, 3, 4, 5, 6]) as never, alphaRow: one, alphaCol: one }, { outDtype: 'f16', mode: m0 })).toThrow(DTypeError);
  });
});
