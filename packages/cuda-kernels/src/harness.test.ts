import { describe, expect, it } from 'vitest';
import { fromValues, OP_NAMES, tensor } from '@trtllm/ref-math';
import { kernelCases, NOT_SUPPORTED } from './cases.js';
import { compareOutputs, parityVerdict, type ParityResult } from './harness.js';

describe('case table', () => {
  const cases = kernelCases();
  it('has unique names, a tier and a declared tolerance on every case', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) {
      expect([1, 2, 3]).toContain(c.tier);
      if (c.tier === 3) expect(c.tolerance.kind).toBe('nmse'); // a production kernel states its bound and why
      else expect(c.tolerance.kind, c.name).toBe('exact'); // tiers 1 and 2 are bit-exact by definition
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

describe('parityVerdict: the rule the GPU parity test and the GPU suite apply', () => {
  const exact = { kind: 'exact' } as const;
  const nmse = { kind: 'nmse', max: 1e-5, reason: 'tensor-core sum order' } as const;
  const off = { exact: false, mismatches: 3, maxAbsDiff: 0.5, maxUlp: 2, nmse: 1e-3 };
  const r = (tier: 1 | 2 | 3, tolerance: ParityResult['tolerance'], status: ParityResult['status'], extra: Partial<ParityResult> = {}) =>
    ({ name: 'case', tier, tolerance, status, ...extra });
  it('an exact case passes only when bit-exact: FAIL and error fail, whatever the tier says', () => {
    expect(parityVerdict(r(1, exact, 'exact')).ok).toBe(true);
    expect(parityVerdict(r(2, exact, 'exact')).ok).toBe(true);
    for (const tier of [1, 2, 3] as const) {
      const v = parityVerdict(r(tier, exact, 'FAIL', { diff: off }));
      expect(v.ok).toBe(false);
      expect(v.message).toMatch(/FAIL — 3 mismatches, max ulp 2.*required exact/);
    }
    expect(parityVerdict(r(1, exact, 'error', { error: 'CudaRuntimeError: boom' }))).toEqual({ ok: false, message: 'case: error — CudaRuntimeError: boom; required exact (tier 1)' });
  });
  it('tier 1 and 2 must be exact even if a tolerance were declared; tier 3 may be exact or within its bound', () => {
    expect(parityVerdict(r(2, nmse, 'within tolerance')).ok).toBe(false);
    expect(parityVerdict(r(3, nmse, 'within tolerance')).ok).toBe(true);
    expect(parityVerdict(r(3, nmse, 'exact')).ok).toBe(true);
    expect(parityVerdict(r(3, nmse, 'FAIL', { diff: off }))).toMatchObject({ ok: false, message: expect.stringMatching(/required NMSE ≤ 0.00001/) });
    expect(parityVerdict(r(3, nmse, 'error', { error: 'x' })).ok).toBe(false);
  });
});
