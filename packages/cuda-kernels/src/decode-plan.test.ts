// The decode GEMM's launch plan is host arithmetic: checked here without a GPU (the addon must be built).
import { describe, expect, it } from 'vitest';
import { addonIfBuilt } from './binding.js';
import { gemmDecodePlan, type DecodeGemmDevice } from './ops/gemm.js';
import { FP8_DECODE_MAX_ROWS, fp8GemmDecodePlan, fp8GemmDecodeUnsupported } from './ops/fp8.js';
import { int8GemmDecodePlan } from './ops/int8-gemm.js';

const h200: DecodeGemmDevice = { multiprocessors: 132, computeMajor: 9, sharedMemoryOptin: 232_448 };
const a100: DecodeGemmDevice = { multiprocessors: 108, computeMajor: 8, sharedMemoryOptin: 166_912 };
// (N, K) of the linear layers of gpt2, gpt2-xl, santacoder (qkv, proj, fc, fc proj), plus tails
const KN: readonly (readonly [number, number])[] = [[2304, 768], [768, 768], [3072, 768], [768, 3072], [4800, 1600], [1600, 1600], [6400, 1600], [1600, 6400], [2304, 2048], [8192, 2048], [2048, 8192], [2312, 776], [512, 64]];
const ROWS = [1, 2, 7, 8, 9, 16, 17, 32, 33, 64, 100, 256];

const built = addonIfBuilt() !== undefined;
describe.skipIf(!built)(built ? 'gemmDecode launch plan (no GPU needed)' : 'gemmDecode launch plan (skipped: the addon is not built — no CUDA toolkit at build time)', () => {
  it('what fixes a sum order (steps, cluster or splits, warps) is the same for every M', () => {
    for (const device of [h200, a100]) {
      for (const [n, k] of KN) {
        const [first, ...rest] = ROWS.map((m) => gemmDecodePlan({ n, k, m }, device));
        for (const p of rest) expect([p.stepK, p.steps, p.cluster, p.warps, p.tileN, p.grid[0], p.grid[1]], `N ${n} K ${k}`).toEqual([first!.stepK, first!.steps, first!.cluster, first!.warps, first!.tileN, first!.grid[0], first!.grid[1]]);
      }
      for (const m of ROWS) {
        const p = gemmDecodePlan({ n: 50257, k: 768, m, transB: true }, device);
        expect([p.steps, p.splits, p.stepsPerSplit, p.warps]).toEqual([24, 1, 24, 8]);
      }
    }
  });
  it('[K,N]: blocks fit two per SM, clusters of a power of two fill at most two blocks per SM, every pass covers its rows', () => {
    for (const device of [h200, a100]) {
      for (const [n, k] of KN) {
        for (const m of ROWS) {
          const p = gemmDecodePlan({ n, k, m }, device);
          expect(p.layout).toBe('KN');
          expect(p.smemBytes, `N ${n} K ${k} M ${m}`).toBeLessThanOrEqual(110 * 1024);
          expect([1, 2, 4, 8]).toContain(p.cluster);
          expect(p.grid[0] * p.grid[1]).toBeLessThanOrEqual(Math.max(2 * device.multiprocessors, p.grid[1]));
          expect(p.grid[1]).toBe(Math.ceil(n / 64));
          expect(p.stages).toBeGreaterThanOrEqual(p.groups!);
          expect(p.passes! * p.groups! * 8).toBeGreaterThanOrEqual(m);
          expect(Math.ceil(p.steps / p.cluster!) / p.warps).toBeGreaterThanOrEqual(1); // every warp has a step (K ≥ 64)
        }
      }
    }
  });
  it('on an H200: gpt2 qkv and gpt2-xl fc proj; decode batches in one pass through the slab, 64 rows in two through the ring', () => {
    const qkv = gemmDecodePlan({ n: 2304, k: 768, m: 1 }, h200);
    expect([qkv.cluster, ...qkv.grid, qkv.threads, qkv.way, qkv.passes]).toEqual([4, 4, 36, 1, 128, 'slab', 1]);
    const fcProj = gemmDecodePlan({ n: 1600, k: 6400, m: 1 }, h200); // 50 steps per block: 13 per warp, all in flight
    expect([fcProj.cluster, ...fcProj.grid, fcProj.way, fcProj.passes, fcProj.stages]).toEqual([8, 8, 25, 1, 'slab', 1, 13]);
    expect(gemmDecodePlan({ n: 1600, k: 6400, m: 8 }, h200).stages).toBe(8); // 8 rows in the slab: a ring of 8 keeps the block ≤ 110 KB
    const batch64 = gemmDecodePlan({ n: 2304, k: 768, m: 64 }, h200);
    expect([batch64.way, batch64.groups, batch64.passes]).toEqual(['ring', 4, 2]);
  });
  it('the fused LayerNorm: inside the GEMM for decode batches (≤ 8 rows) of K ≤ 2,048, else layerNormFast first; the sum order is unchanged', () => {
    for (const device of [h200, a100]) {
      for (const [n, k] of KN) {
        for (const m of ROWS) {
          const plain = gemmDecodePlan({ n, k, m }, device);
          const p = gemmDecodePlan({ n, k, m, layerNorm: true }, device);
          const at = `N ${n} K ${k} M ${m}`;
          expect([p.steps, p.cluster, p.warps, p.grid[0], p.grid[1]], at).toEqual([plain.steps, plain.cluster, plain.warps, plain.grid[0], plain.grid[1]]);
          expect(p.smemBytes, at).toBeLessThanOrEqual(110 * 1024);
          if (k > 2048 || p.way === 'ring') expect(p.layerNorm, at).toBe('separate');
          if (k <= 2048 && m <= 8) expect(p.layerNorm, at).toBe('fused');
        }
      }
    }
    expect(gemmDecodePlan({ n: 2304, k: 768, m: 1 }, h200).layerNorm).toBeUndefined();
  });
  it('before Hopper there are no clusters: one block per 64 outputs owns all of K', () => {
    for (const [n, k] of KN) expect(gemmDecodePlan({ n, k, m: 1 }, a100).cluster).toBe(1);
  });
  it('a Hopper-class GPU running code without clusters (compute_80 PTX on a newer GPU) plans one block per tile, as it runs', () => {
    for (const [n, k] of KN) expect(gemmDecodePlan({ n, k, m: 1 }, { ...h200, clusters: false }).cluster, `${n}×${k}`).toBe(1);
    expect(KN.some(([n, k]) => (gemmDecodePlan({ n, k, m: 1 }, { ...h200, clusters: true }).cluster ?? 1) > 1)).toBe(true);
  });
  it('bad sizes are typed errors naming the field', () => {
    expect(() => gemmDecodePlan({ n: 0, k: 768, m: 1 }, h200)).toThrow(/gemmDecodePlan.*n.*a positive integer/);
    expect(() => gemmDecodePlan({ n: 768, k: 768, m: 1.5 }, h200)).toThrow(/m.*a positive integer/);
    expect(() => gemmDecodePlan({ n: 768, k: 768, m: 1 }, { ...h200, multiprocessors: 0 })).toThrow(/device\.multiprocessors/);
  });
  it('int8GemmDecode: split K from (N, K, SM count) only — the gpt2-xl proj and gpt2 proj split on 132 SMs, qkv and fc do not; token groups of 8 per pass', () => {
    const at = (n: number, k: number, m: number) => int8GemmDecodePlan({ n, k, m }, 132);
    expect([at(4800, 1600, 1).splits, at(6400, 1600, 1).splits, at(1600, 6400, 1).splits, at(768, 3072, 1).splits]).toEqual([1, 1, 3, 6]);
    for (const m of [1, 3, 8, 9, 16, 17, 33, 64, 70]) {
      const p = at(1600, 6400, m);
      expect([p.splits, p.stepsPerSplit, p.warps, p.steps, p.grid[0], p.grid[2]], `M ${m}`).toEqual([3, 38, 8, 100, 100, 3]); // ⌈100 steps · 100 tiles / 264⌉ = 38 steps a split
      expect(p.grid[1] * 8 * p.tokenGroups, `M ${m}`).toBeGreaterThanOrEqual(m);
    }
    expect([1, 8, 9, 16, 17, 33, 70].map((m) => at(768, 768, m).tokenGroups)).toEqual([1, 1, 2, 2, 4, 8, 8]);
    expect(at(768, 784, 1).steps).toBe(13); // K 784: a last step of 16 k
    expect(() => int8GemmDecodePlan({ n: 768, k: 768, m: 0 }, 132)).toThrow(/int8GemmDecodePlan.*m.*a positive integer/);
  });
  it("fp8GemmDecode: int8GemmDecode's split of K (the sum order follows from N, K and the SM count, never M); one or two token groups; refused below compute capability 8.9, past 16 rows, K not a multiple of 16", () => {
    const at = (n: number, k: number, m: number) => fp8GemmDecodePlan({ n, k, m }, 132);
    for (const [n, k] of [[4800, 1600], [6400, 1600], [1600, 6400], [768, 3072]] as const) {
      const a = at(n, k, 1), b = int8GemmDecodePlan({ n, k, m: 1 }, 132);
      expect([a.splits, a.stepsPerSplit, a.warps], `${n}×${k}`).toEqual([b.splits, b.stepsPerSplit, b.warps]);
      for (const m of [2, 8, 9, 16]) expect([at(n, k, m).splits, at(n, k, m).stepsPerSplit, at(n, k, m).warps], `M ${m}`).toEqual([a.splits, a.stepsPerSplit, a.warps]);
    }
    expect([1, 8, 9, 16].map((m) => at(768, 768, m).tokenGroups)).toEqual([1, 1, 2, 2]);
    expect(fp8GemmDecodeUnsupported(4800, 1600, 8, 90)).toBe('');
    expect(fp8GemmDecodeUnsupported(4800, 1600, 16, 89)).toBe('');
    expect(fp8GemmDecodeUnsupported(4800, 1600, 1, 80)).toMatch(/compute capability 8\.9 or newer.*asked about is 8\.0/);
    expect(fp8GemmDecodeUnsupported(4800, 1600, FP8_DECODE_MAX_ROWS, 90)).toBe(''); // the TS limit is the kernel's
    expect(fp8GemmDecodeUnsupported(4800, 1600, FP8_DECODE_MAX_ROWS + 1, 90)).toMatch(/at most 16 rows.*M=17/);
    expect(() => fp8GemmDecodeUnsupported(4800, 1600, 1, 8.9)).toThrow(/fp8GemmDecodeUnsupported.*capability.*major · 10 \+ minor/);
    expect(() => fp8GemmDecodeUnsupported(4800, 1600.5, 1, 90)).toThrow(/fp8GemmDecodeUnsupported.*k.*a positive integer/);
    expect(fp8GemmDecodeUnsupported(4800, 1608, 1, 90)).toMatch(/K a multiple of 16.*K=1608/);
    expect(() => fp8GemmDecodePlan({ n: 768, k: 0, m: 1 }, 132)).toThrow(/fp8GemmDecodePlan.*k.*a positive integer/);
  });
});
