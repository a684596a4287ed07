/**
 * One harness, two modes over the case table (cases.ts):
 *   runParity: each case on the oracle and on the GPU; outputs compared bit for bit — `exact` — or,
 *              where a case declares a tolerance, by NMSE; the report gives mismatches, max |Δ|,
 *              max ulp in the output's own format, and NMSE.
 *   runPerf:   the same cases, timed with CUDA events after warm-up (device-resident inputs, warm or
 *              cold L2), as
 *              GB/s and TFLOP/s and as fractions of the device's measured copy bandwidth and a
 *              matrix-multiply peak measured in the same run.
 */
import { bitEqual, DTYPES, toValues, type Tensor } from '@trtllm/ref-math';
import { addon } from './binding.js';
import { CudaEvent, DeviceTensor, synchronize } from './device.js';
import type { KernelCase, Tolerance } from './cases.js';

export interface OutputDiff {
  readonly exact: boolean;
  readonly mismatches: number;
  readonly maxAbsDiff: number;
  /** Largest distance in units in the last place of the output's own format (integers: |Δ|). */
  readonly maxUlp: number;
  readonly nmse: number;
}

export interface ParityResult {
  readonly name: string;
  readonly op: string;
  readonly dtype: string;
  readonly shape: string;
  readonly tier: 1 | 2 | 3;
  readonly tolerance: Tolerance;
  readonly status: 'exact' | 'within tolerance' | 'FAIL' | 'error';
  readonly diff?: OutputDiff;
  readonly error?: string;
  readonly ms: { readonly ref: number; readonly cuda: number };
}

/** Position of a stored pattern on the ordered line of its format (so neighbours differ by 1). */
function ordered(dtype: string, stored: number): number {
  const width = dtype === 'f32' ? 32 : dtype === 'fp8e4m3' ? 8 : 16;
  const sign = 2 ** (width - 1);
  const u = stored >>> 0;
  return u >= sign ? -(u - sign) : u;
}

export function compareOutputs(want: Tensor, got: Tensor): OutputDiff {
  if (want.dtype !== got.dtype || want.shape.join() !== got.shape.join()) {
    return { exact: false, mismatches: Number.POSITIVE_INFINITY, maxAbsDiff: Number.NaN, maxUlp: Number.NaN, nmse: Number.NaN };
  }
  if (bitEqual(want, got)) return { exact: true, mismatches: 0, maxAbsDiff: 0, maxUlp: 0, nmse: 0 };
  const a = toValues(want);
  const b = toValues(got);
  const isFloat = DTYPES[want.dtype].isFloat;
  const bitsA = want.dtype === 'f32' ? new Uint32Array((want.data as Float32Array).buffer, want.data.byteOffset, a.length) : want.data;
  const bitsB = got.dtype === 'f32' ? new Uint32Array((got.data as Float32Array).buffer, got.data.byteOffset, b.length) : got.data;
  let mismatches = 0, maxAbs = 0, maxUlp = 0, num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (bitsA[i] !== bitsB[i]) mismatches++;
    maxAbs = Math.max(maxAbs, d);
    maxUlp = Math.max(maxUlp, isFloat ? Math.abs(ordered(want.dtype, bitsA[i]!) - ordered(want.dtype, bitsB[i]!)) : d);
    num += d * d;
    den += a[i]! * a[i]!;
  }
  return { exact: false, mismatches, maxAbsDiff: maxAbs, maxUlp, nmse: den > 0 ? num / den : num };
}

export function runParity(cases: readonly KernelCase[], onResult?: (r: ParityResult) => void): ParityResult[] {
  return cases.map((c) => {
    const base = { name: c.name, op: c.op, dtype: c.dtype, shape: c.shape, tier: c.tier, tolerance: c.tolerance };
    let result: ParityResult;
    const t0 = performance.now();
    try {
      const want = c.ref();
      const t1 = performance.now();
      const run = c.device();
      let got: Tensor[];
      try {
        const outs = run.run();
        got = outs.map((o) => o.toHost());
        outs.forEach((o) => o.free());
      } finally {
        run.dispose();
      }
      const t2 = performance.now();
      if (got.length !== want.length) throw new Error(`the device returned ${got.length} outputs, the oracle ${want.length}`);
      const diffs = want.map((w, i) => compareOutputs(w, got[i]!));
      const worst = diffs.find((d) => !d.exact) ?? diffs[0]!;
      const exact = diffs.every((d) => d.exact);
      const within = !exact && c.tolerance.kind === 'nmse' && diffs.every((d) => d.nmse <= (c.tolerance as { max: number }).max);
      result = { ...base, status: exact ? 'exact' : within ? 'within tolerance' : 'FAIL', diff: worst, ms: { ref: t1 - t0, cuda: t2 - t1 } };
    } catch (e) {
      result = { ...base, status: 'error', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), ms: { ref: 0, cuda: 0 } };
    }
    onResult?.(result);
    return result;
  });
}

/**
 * Whether a parity result passes, and why not: tier 1 and 2 cases (and any case declared `exact`) must
 * come out bit-exact; a tier-3 case with an NMSE bound may be exact or within it. 'FAIL' and 'error'
 * never pass. The GPU test and the GPU suite's exit code both use this one rule.
 */
export function parityVerdict(r: Pick<ParityResult, 'name' | 'tier' | 'tolerance' | 'status' | 'diff' | 'error'>): { readonly ok: boolean; readonly message: string } {
  const mustBeExact = r.tier !== 3 || r.tolerance.kind === 'exact';
  const ok = mustBeExact ? r.status === 'exact' : r.status === 'exact' || r.status === 'within tolerance';
  const d = r.diff;
  const detail = r.error ?? (d && !d.exact ? `${d.mismatches} mismatches, max ulp ${d.maxUlp}, max |Δ| ${d.maxAbsDiff}, NMSE ${d.nmse}` : 'bit-exact');
  const want = mustBeExact ? `exact (tier ${r.tier})` : `NMSE ≤ ${(r.tolerance as { max: number }).max}`;
  return { ok, message: `${r.name}: ${r.status} — ${detail}; required ${want}` };
}

export interface DeviceCeilings {
  /** Device-to-device copy bandwidth, GB/s (bytes read + written), measured now. */
  readonly copyGBs: number;
  /** A matrix-multiply peak in TFLOP/s measured in the same run, and by what. */
  readonly matmulTflops?: number;
  readonly matmulSource?: string;
}

export interface PerfResult {
  readonly name: string;
  readonly op: string;
  readonly dtype: string;
  readonly shape: string;
  readonly msPerRun: number;
  readonly gbs: number;
  readonly tflops: number;
  readonly fractionOfCopy: number;
  readonly fractionOfMatmul?: number;
  readonly error?: string;
}

/**
 * Copy bandwidth, and the matmul peak: from our cuBLASLt binding when the library loads (f16
 * 8192³, fp32 compute), else from `fallback` (e.g. torch measured in the same call), else none.
 */
export function measureCeilings(fallback?: { tflops: number; source: string }): DeviceCeilings {
  const a = addon();
  const copyGBs = a.measureCopyBandwidth(256 * 2 ** 20, 20);
  const lt = a.libraryInfo().cublasLt;
  if (lt.available) {
    return { copyGBs, matmulTflops: a.measureMatmulPeak(8192, 10), matmulSource: `cuBLASLt ${lt.version} f16 8192³, fp32 compute, through our binding` };
  }
  return fallback ? { copyGBs, matmulTflops: fallback.tflops, matmulSource: fallback.source } : { copyGBs };
}

export interface PerfOptions {
  readonly warmup?: number;
  readonly iters?: number;
  /**
   * Cold L2: before each timed run, overwrite a buffer twice the L2 size, and time each run alone
   * (events around the op only). Default warm: `iters` back-to-back runs between two events.
   */
  readonly coldL2?: boolean;
}

/** Time each case on device-resident inputs (see PerfOptions). */
export function runPerf(cases: readonly KernelCase[], ceilings: DeviceCeilings, o: PerfOptions = {}): PerfResult[] {
  const warmup = o.warmup ?? 2;
  const iters = o.iters ?? 10;
  const [start, end] = [new CudaEvent(), new CudaEvent()];
  const flush = o.coldL2 ? DeviceTensor.empty('i8', [2 * (addon().deviceInfo().l2Bytes ?? 64 << 20)]) : undefined;
  const timed = (run: () => void): number => {
    if (!flush) {
      // a spin kernel ahead of the timed launches: the host enqueues them all while it runs, so the
      // events see device time back to back, not the host's launch overhead (reference kernels that
      // synchronize still pay it)
      addon().spin(200 + 60 * iters);
      start.record();
      for (let i = 0; i < iters; i++) run();
      end.record();
      return end.elapsedSince(start) / iters;
    }
    let total = 0;
    for (let i = 0; i < iters; i++) {
      addon().memset(flush.ptr, i & 0xff, flush.bytes);
      addon().spin(200);
      start.record();
      run();
      end.record();
      total += end.elapsedSince(start);
    }
    return total / iters;
  };
  const results = cases.map((c): PerfResult => {
    const base = { name: c.name, op: c.op, dtype: c.dtype, shape: c.shape };
    const run = c.device();
    try {
      for (let i = 0; i < warmup; i++) run.run().forEach((t) => t.free());
      synchronize();
      const ms = timed(() => run.run().forEach((t) => t.free()));
      const gbs = c.bytes / (ms * 1e-3) / 1e9;
      const tflops = c.flops / (ms * 1e-3) / 1e12;
      const r = { ...base, msPerRun: ms, gbs, tflops, fractionOfCopy: gbs / ceilings.copyGBs };
      return ceilings.matmulTflops ? { ...r, fractionOfMatmul: tflops / ceilings.matmulTflops } : r;
    } catch (e) {
      return { ...base, msPerRun: Number.NaN, gbs: Number.NaN, tflops: Number.NaN, fractionOfCopy: Number.NaN, error: (e as Error).message };
    } finally {
      run.dispose();
    }
  });
  start.destroy();
  end.destroy();
  flush?.free();
  return results;
}

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(digits) : x.toFixed(digits)) : '—');

export function parityMarkdown(results: readonly ParityResult[]): string {
  const rows = results.map((r) => {
    const d = r.diff;
    const detail = r.error ?? (d && !d.exact ? `${d.mismatches} mismatches, max ulp ${fmt(d.maxUlp, 0)}, NMSE ${fmt(d.nmse)}` : '');
    const tol = r.tolerance.kind === 'exact' ? 'exact' : `NMSE ≤ ${r.tolerance.max} (${r.tolerance.reason})`;
    return `| ${r.name} | ${r.op} | ${r.dtype} | ${r.shape} | ${r.tier} | ${tol} | **${r.status}** | ${detail} |`;
  });
  return ['| case | op | dtype | shape | tier | tolerance | result | detail |', '| --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

export function perfMarkdown(results: readonly PerfResult[], c: DeviceCeilings): string {
  const head = `Ceilings measured in this run: copy ${fmt(c.copyGBs, 0)} GB/s (device-to-device, read + write)` +
    (c.matmulTflops ? `; matmul ${fmt(c.matmulTflops, 0)} TFLOP/s (${c.matmulSource})` : '; matmul peak not measured') + '.\n\n';
  const rows = results.map((r) => `| ${r.name} | ${r.dtype} | ${r.shape} | ${fmt(r.msPerRun, 4)} | ${fmt(r.gbs)} | ${fmt(r.tflops, 4)} | ${fmt(100 * r.fractionOfCopy, 2)} % | ${r.fractionOfMatmul === undefined ? '—' : fmt(100 * r.fractionOfMatmul, 3) + ' %'} |${r.error ? ' ' + r.error : ''}`);
  return head + ['| case | dtype | shape | ms/run | GB/s | TFLOP/s | of copy BW | of matmul peak |', '| --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}
