/**
 * collectives — tensor-parallel communication, simulated in-process over a list of per-rank tensors,
 * and the helpers that split a table into rank shards.
 *
 * allReduceSum: out = x_0; for r = 1 … TP−1: out = cast_T(fp32(out + x_r))   ranks ascending,
 *               one rounding to T per step (NCCL's ring order differs: the CUDA path is tier 3 for
 *               sums of non-zero partials, and exact where every element has one non-zero partial,
 *               as in the vocab-sharded embedding).
 * allGather:    concatenation along the last axis, rank order.
 * shardRows:    [V, H] → TP × [Vl, H], Vl = ⌈V / TP⌉, the last shard zero-padded.
 * shardCols:    [V, H] → TP × [V, H / TP]; H must divide by TP.
 */
import { expectAttr, expectDType, expectSameDType, expectShape } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { fromF32, roundTo, tensor, toF32, type Tensor } from '../tensor.js';

export function allReduceSum<D extends ActDType>(parts: readonly Tensor<D>[]): Tensor<D> {
  expectAttr('allReduceSum', 'parts.length', parts.length > 0, '≥ 1 rank', parts.length);
  const first = parts[0]!;
  expectDType('allReduceSum', 'parts[0]', first, ['f32', 'f16', 'bf16']);
  const acc = Float32Array.from(toF32(first));
  for (let r = 1; r < parts.length; r++) {
    const p = parts[r]!;
    expectSameDType('allReduceSum', `parts[${r}]`, first, p);
    expectShape('allReduceSum', `parts[${r}]`, p, first.shape);
    const pv = toF32(p);
    for (let i = 0; i < acc.length; i++) acc[i] = roundTo(first.dtype, f32(acc[i]! + pv[i]!)); // to T after each step
  }
  return fromF32(first.dtype, first.shape, acc);
}

export function allGather<D extends ActDType>(parts: readonly Tensor<D>[]): Tensor<D> {
  expectAttr('allGather', 'parts.length', parts.length > 0, '≥ 1 rank', parts.length);
  const first = parts[0]!;
  const lead = first.shape.slice(0, -1);
  const rows = lead.reduce((n, d) => n * d, 1);
  const widths = parts.map((p, r) => {
    expectSameDType('allGather', `parts[${r}]`, first, p);
    expectShape('allGather', `parts[${r}]`, p, [...lead, 'Hl']);
    return p.shape[p.shape.length - 1]!;
  });
  const width = widths.reduce((a, b) => a + b, 0);
  const out = tensor(first.dtype, [...lead, width]);
  for (let i = 0; i < rows; i++) {
    let col = 0;
    parts.forEach((p, r) => {
      const w = widths[r]!;
      out.data.set(p.data.subarray(i * w, (i + 1) * w), i * width + col);
      col += w;
    });
  }
  return out;
}

/** Rows per rank for a vocab of V over TP ranks. */
export function rowsPerRank(vocabSize: number, tpSize: number): number {
  return Math.ceil(vocabSize / tpSize);
}

export function shardRows<D extends ActDType>(table: Tensor<D>, tpSize: number): Tensor<D>[] {
  const [v, h] = expectShape('shardRows', 'table', table, ['V', 'H']) as [number, number];
  expectAttr('shardRows', 'tpSize', Number.isInteger(tpSize) && tpSize > 0, 'an integer ≥ 1', tpSize);
  const vl = rowsPerRank(v, tpSize);
  return Array.from({ length: tpSize }, (_, r) => {
    const shard = tensor(table.dtype, [vl, h]);
    const lo = r * vl;
    const hi = Math.min(v, lo + vl);
    if (hi > lo) shard.data.set(table.data.subarray(lo * h, hi * h));
    return shard;
  });
}

export function shardCols<D extends ActDType>(table: Tensor<D>, tpSize: number): Tensor<D>[] {
  const [v, h] = expectShape('shardCols', 'table', table, ['V', 'H']) as [number, number];
  expectAttr('shardCols', 'tpSize', Number.isInteger(tpSize) && tpSize > 0 && h % tpSize === 0, `a divisor of H = ${h}`, tpSize);
  const hl = h / tpSize;
  return Array.from({ length: tpSize }, (_, r) => {
    const shard = tensor(table.dtype, [v, hl]);
    for (let i = 0; i < v; i++) shard.data.set(table.data.subarray(i * h + r * hl, i * h + (r + 1) * hl), i * hl);
    return shard;
  });
}
