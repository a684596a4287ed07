/**
 * The launch plan of the 8-bit decode GEMMs that stream their weights (csrc/decode-stream.cuh:
 * int8GemmDecode, fp8GemmDecode) — host arithmetic, no GPU needed. Internal: the ops export their own
 * plan functions.
 */
import { expectAttr } from '@trtllm/ref-math';
import type { NativeAddon, NativeParams } from './binding.js';
import { native } from './errors.js';
import { currentPlanDevice, planAddon } from './launch.js';

/**
 * How one (N, K, M) is launched: blocks [n tiles of 16, row passes, K splits], warps per block, 64-k
 * steps, token groups of 8 per pass. Splits and warps follow from (N, K, SM count) only, never M.
 */
export interface StreamPlan {
  readonly grid: readonly [number, number, number];
  readonly threads: number;
  readonly stepK: number;
  readonly steps: number;
  readonly splits: number;
  readonly stepsPerSplit: number;
  readonly warps: number;
  readonly tileN: number;
  readonly tokenGroups: number;
}

/** (N, K, M) checked, the SM count given or the current GPU's (a typed error naming it without one), the native plan parsed. */
export function streamPlan(op: string, s: { readonly n: number; readonly k: number; readonly m: number }, multiprocessors: number | undefined, plan: (lib: NativeAddon, p: NativeParams) => string): StreamPlan {
  for (const key of ['n', 'k', 'm'] as const) expectAttr(op, key, Number.isInteger(s[key]) && s[key] > 0 && s[key] < 2 ** 31, 'a positive integer', s[key]);
  const lib = planAddon();
  const sms = multiprocessors ?? currentPlanDevice(op, lib, 'the SM count').multiprocessors;
  expectAttr(op, 'multiprocessors', Number.isInteger(sms) && sms > 0 && sms < 2 ** 31, 'a positive integer', sms);
  return JSON.parse(native(op, () => plan(lib, { n: s.n, k: s.k, m: s.m, multiprocessors: sms }))) as StreamPlan;
}
