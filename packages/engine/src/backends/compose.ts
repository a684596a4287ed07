/**
 * The graph's block ops written as ref-math's op sequence, for backends whose every op is an oracle
 * op or its bit-exact kernel (`ref`, and `cuda` with reference kernels): linear = gemm (or the
 * backend's quantized product) → gelu → residualAdd; selfAttention = the q/k/v GEMMs, RoPE, attention, then the cache write (the oracle
 * gptForward's order); a step = upload, run, download, free, finished when launchStep returns.
 */
import { fromValues, type SamplingRow, type Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import { finishedStep, type Backend, type Fp8Linear, type Int8Linear, type LinearWeights, type PendingStep, type StepHost, type StepInputs, type StepOutput } from './backend.js';

/** x·W (+ bias) of a quantized linear layer (SmoothQuant INT8 or FP8), the backend's own. */
export type QuantizedProduct<T> = (x: T, w: Int8Linear<T> | Fp8Linear<T>) => T;

/** linear = x·W (+ bias), then GELU, then + residual; quantized weights go through `quantized`. */
export function composeLinear<T>(b: Backend<T>, i: { readonly x: T; readonly w: LinearWeights<T>; readonly residual?: T }, a: { readonly activation?: 'gelu' }, quantized: QuantizedProduct<T>): T {
  const w = i.w;
  const temps: T[] = [];
  try {
    let y = w.kind === 'int8' || w.kind === 'fp8' ? quantized(i.x, w) : b.gemm(w.bias === undefined ? { a: i.x, b: w.weight } : { a: i.x, b: w.weight, bias: w.bias });
    if (a.activation === 'gelu') {
      temps.push(y);
      y = b.gelu({ x: y });
    }
    if (i.residual !== undefined) {
      temps.push(y);
      y = b.residualAdd({ a: i.residual, b: y });
    }
    return y;
  } finally {
    for (const t of temps) b.free(t);
  }
}

export function composeSelfAttention<T>(
  b: Backend<T>,
  i: { readonly h: T; readonly q: LinearWeights<T>; readonly k: LinearWeights<T>; readonly v: LinearWeights<T> },
  a: { readonly layer: number; readonly step: StepInputs<T>; readonly numHeads: number; readonly numKvHeads: number; readonly headSize: number; readonly rope: boolean },
): T {
  const { step } = a;
  const proj = (w: LinearWeights<T>, heads: number): T => step.keep(b.view(step.keep(b.linear({ x: i.h, w })), [step.tokens, heads, a.headSize]));
  let q = proj(i.q, a.numHeads);
  let k = proj(i.k, a.numKvHeads);
  const v = proj(i.v, a.numKvHeads);
  if (a.rope) {
    q = step.keep(b.rope({ x: q, positions: step.positions }));
    k = step.keep(b.rope({ x: k, positions: step.positions }));
  }
  const att = step.keep(b.attention({ q, k, v }, { sequences: step.sequences, layer: a.layer }));
  b.kvCacheWrite(a.layer, { k, v, slots: step.slots, positions: step.positions });
  return b.view(att, [step.tokens, a.numHeads * a.headSize]);
}

/** An i32 tensor's values (a copy), checked: tokens and packed candidates must not pass through floats. */
export function i32Values(t: Tensor): Int32Array {
  if (t.dtype !== 'i32') throw new EngineError('backend', { what: 'a step output of tokens', expected: 'an i32 tensor', got: t.dtype });
  return Int32Array.from(t.data as Int32Array);
}

/** The step's sampling settings (Backend.sample is called only for a step that has them). */
export function stepSampling<T>(step: StepInputs<T>): readonly SamplingRow[] {
  if (!step.sampling) throw new EngineError('backend', { what: 'sample', expected: "a step run with output 'sampled' and its sampling settings", got: 'none' });
  return step.sampling;
}

export function composeLaunchStep<T>(b: Backend<T>, host: StepHost, body: (step: StepInputs<T>) => T | undefined, o: { readonly output: StepOutput }): PendingStep {
  const temps: T[] = [];
  const keep = <U extends T>(x: U): U => (temps.push(x), x);
  try {
    const up = (v: readonly number[]): T => keep(b.upload(fromValues('i32', [v.length], v)));
    const step: StepInputs<T> = {
      tokens: host.ids.length, keep,
      ids: up(host.ids), positions: up(host.positions), slots: up(host.slots), tasks: up(host.tasks), outputRows: up(host.outputRows), sequences: host.sequences,
      ...(host.sampling ? { sampling: host.sampling } : {}),
      ...(host.targets ? { targets: up(host.targets) } : {}),
    };
    const out = body(step);
    return finishedStep(out === undefined ? new Float32Array(0) : o.output === 'logits' ? b.toF32(out) : b.toI32(out));
  } finally {
    for (const t of temps) b.free(t);
  }
}
