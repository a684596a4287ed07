import { describe, expect, it } from 'vitest';
import { fromValues, OP_NAMES, tensor } from '@trtllm/ref-math';
import { kernelCases, NOT_SUPPORTED } from './cases.js';
import { compareOutputs } from './harness.js';

describe('case table', () => {
  const cases = kernelCases();
  it('has unique names, a tier and a declared tolerance on every case', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) {
      expect([1, 2, 3]).toContain(c.tier);
      if (c.tier === 3) expect(c.tolerance.kind).toBe('nmse'); // a production kernel states its bound and why
      expect(c.tolerance.kind === 'exact' || (c.tolerance.kind === 'nmse' && c.tolerance.reason.length > 0)).toBe(true);
    }
  });
  it('covers every ref-math op, or says why an op has no kernel', () => {
    for (const op of OP_NAMES) expect(cases.some((c) => c.op === op) || NOT_SUPPORTED[op] !== undefined).toBe(true);
  });
  it('runs the oracle side of every case on the CPU (odd and model shapes)', () => {
    for (const c of cases) {
      const outs = c.ref();
      expect(outs.length).toBeGreaterThan(0);
      for (const o of outs) expect(o.data.length).toBeGreaterThan(0);
    }
  }, 60_000); // GPT-2-sized GEMMs in plain JS: seconds, more on a busy machine
});

describe('compareOutputs', () => {
  it('reports exact for identical bits, and counts ulps in the output format', () => {
    const a = fromValues('f16', [3], [1, 2, 3]);
    expect(compareOutputs(a, fromValues('f16', [3], [1, 2, 3])).exact).toBe(true);
    const b = tensor('f16', [3], Uint16Array.from(a.data));
    b.data[1] = a.data[1]! + 2; // two fp16 steps above 2
    const d = compareOutputs(a, b);
    expect(d).toMatchObject({ exact: false, mismatches: 1, maxUlp: 2, maxAbsDiff: 2 * 2 ** -9 });
  });
  it('counts ulps across zero and treats −0 vs +0 as one bit mismatch, zero ulps', () => {
    const d = compareOutputs(fromValues('f32', [2], [0, 1e-45]), fromValues('f32', [2], [-0, -1e-45]));
    expect(d.mismatches).toBe(2);
    expect(d.maxUlp).toBe(2);
  });
  it('flags a shape or dtype mismatch as a total failure', () => {
    expect(compareOutputs(fromValues('f32', [2], [1, 2]), fromValues('f32', [1, 2], [1, 2])).mismatches).toBe(Infinity);
  });
});
