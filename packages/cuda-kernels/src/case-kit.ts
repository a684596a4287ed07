/**
 * What every kernel case is made of, shared by the per-op case files (ops/<op>.cases.ts) that
 * cases.ts assembles into the one table: the case type with its tier and declared tolerance,
 * deterministic host inputs (seeded normal draws), uploading them, and the bytes a case moves.
 */
import * as ref from '@trtllm/ref-math';
import { fromValues, normalSampler, seededRandom, type DType, type KvLayout, type OpName, type Tensor } from '@trtllm/ref-math';
import { DeviceTensor } from './device.js';

/** How a case's device output must match the oracle: bit for bit, or within a declared bound with a reason. */
export type Tolerance = { readonly kind: 'exact' } | { readonly kind: 'nmse'; readonly max: number; readonly reason: string };

/** Device-side work of a case: `run` launches on uploaded inputs and returns device outputs. */
export interface DeviceRun {
  readonly run: () => DeviceTensor[];
  readonly dispose: () => void;
}

export interface KernelCase {
  readonly name: string;
  readonly op: OpName;
  readonly dtype: string;
  readonly shape: string;
  /** 1, 2: bit-exact (ARCHITECTURE.md, Numerics); 3: a production kernel within its declared tolerance. */
  readonly tier: 1 | 2 | 3;
  readonly tolerance: Tolerance;
  /** The oracle's outputs for this case's inputs (pure TypeScript). */
  readonly ref: () => Tensor[];
  /** Upload this case's inputs; run() then launches the CUDA op. */
  readonly device: () => DeviceRun;
  /** Bytes read + written and FLOPs of one run (perf mode). */
  readonly bytes: number;
  readonly flops: number;
  /** A production-path kernel (what kernels: 'production' runs; tier 3, or exact where it can be). */
  readonly production?: boolean;
}

export const EXACT: Tolerance = { kind: 'exact' };
export const bytesOf = (...ts: { dtype: DType; shape: readonly number[] }[]): number => ts.reduce((n, t) => n + ref.numel(t.shape) * ref.DTYPES[t.dtype].bytes, 0);

export function rnd<D extends DType>(dtype: D, shape: readonly number[], seed: number, std = 1, mean = 0): Tensor<D> {
  const normal = normalSampler(seededRandom(seed));
  const n = ref.numel(shape);
  const v = Float64Array.from({ length: n }, () => normal(mean, std));
  if (dtype === 'i8') return fromValues(dtype, shape, v.map((x) => Math.max(-128, Math.min(127, Math.round(x * 40)))));
  return fromValues(dtype, shape, v);
}
/** A paged KV layout: tokens per block, blocks in the pool, blocks per sequence. */
export const pagedLayout = (tokensPerBlock: number, numBlocks: number, maxBlocksPerSeq: number): KvLayout => ({ kind: 'paged', tokensPerBlock, numBlocks, maxBlocksPerSeq });
export const ints = (values: number[]): Tensor<'i32'> => fromValues('i32', [values.length], values);

/** Upload a record of host tensors; the returned dispose frees them. */
export function upload<T extends Record<string, Tensor | undefined>>(host: T): { d: { [K in keyof T]: T[K] extends Tensor<infer D> ? DeviceTensor<D> : undefined }; free: () => void } {
  const d: Record<string, DeviceTensor | undefined> = {};
  for (const [k, t] of Object.entries(host)) d[k] = t ? DeviceTensor.from(t) : undefined;
  return { d: d as never, free: () => Object.values(d).forEach((t) => t?.free()) };
}

export function caseOf(c: Omit<KernelCase, 'device' | 'tolerance'> & { tolerance?: Tolerance; host: Record<string, Tensor | undefined>; launch: (d: Record<string, DeviceTensor>) => DeviceTensor[] }): KernelCase {
  return {
    ...c,
    tolerance: c.tolerance ?? EXACT,
    device: () => {
      const { d, free } = upload(c.host);
      return { run: () => c.launch(d as unknown as Record<string, DeviceTensor>), dispose: free };
    },
  };
}

export const nmse = (max: number, reason: string): Tolerance => ({ kind: 'nmse', max, reason });

/** Options for the table: where the real GPT-2 layer 0 lives (optional). */
export interface CaseOptions {
  readonly gpt2Layer0?: { readonly x: Tensor<'f32'>; readonly gamma: Tensor<'f32'>; readonly beta: Tensor<'f32'>; readonly wq: Tensor<'f32'>; readonly bq: Tensor<'f32'> };
}

