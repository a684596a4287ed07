import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { bitEqual, fromValues, toF32, type Tensor } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { allGather, allReduceSum, shardCols, shardRows } from './collectives.js';
import { addPositionEmbedding, embeddingLookup, hiddenShardedLookup, promptEmbeddingLookup, vocabShardedLookup } from './embedding.js';
import { IndexRangeError } from '../errors.js';

const V = 37; // not divisible by 2 or 4
const H = 8;
const table = randomTensor('f16', [V, H], 91);
const ids = fromValues('i32', [9], [0, 36, 18, 19, 9, 10, 27, 28, 5]);

describe('embeddingLookup', () => {
  it('copies rows bit for bit and rejects out-of-range ids', () => {
    const out = embeddingLookup({ ids, table });
    for (let t = 0; t < 9; t++) expect(Array.from(out.data.subarray(t * H, (t + 1) * H))).toEqual(Array.from(table.data.subarray(ids.data[t]! * H, (ids.data[t]! + 1) * H)));
    expect(() => embeddingLookup({ ids: fromValues('i32', [1], [37]), table })).toThrow(IndexRangeError);
    expect(() => embeddingLookup({ ids: fromValues('i32', [1], [-1]), table })).toThrow(/a token id in \[0, 37\)/);
  });
});

describe('vocab-sharded lookup', () => {
  for (const tp of [1, 2, 4]) {
    it(`summed over ${tp} ranks equals the unsharded lookup bit for bit (V = 37, padded shards)`, () => {
      const shards = shardRows(table, tp);
      expect(shards.every((s) => s.shape[0] === Math.ceil(V / tp))).toBe(true);
      const parts = shards.map((shard, rank) => vocabShardedLookup({ ids, shard }, { rank, tpSize: tp, vocabSize: V }));
      expect(bitEqual(allReduceSum(parts), embeddingLookup({ ids, table }))).toBe(true);
    });
  }
  it('gives +0 rows for ids another rank owns', () => {
    const [s0] = shardRows(table, 4);
    const part = vocabShardedLookup({ ids: fromValues('i32', [1], [36]), shard: s0! }, { rank: 0, tpSize: 4, vocabSize: V });
    expect(Array.from(part.data)).toEqual(new Array(H).fill(0));
  });
});

describe('hidden-sharded lookup', () => {
  for (const tp of [1, 2, 4]) {
    it(`all-gathered over ${tp} ranks equals the unsharded lookup bit for bit`, () => {
      const parts = shardCols(table, tp).map((shard, rank) => hiddenShardedLookup({ ids, shard }, { rank, tpSize: tp }));
      expect(bitEqual(allGather(parts), embeddingLookup({ ids, table }))).toBe(true);
    });
  }
  it('rejects a TP that does not divide H', () => {
    expect(() => shardCols(table, 3)).toThrow(/a divisor of H = 8/);
  });
});

describe('prompt-table lookup', () => {
  const promptTable = randomTensor('f16', [2, 3, H], 92);
  it('maps ids ≥ V to table[task][id − V] and other ids to wte', () => {
    const pids = fromValues('i32', [4], [37, 39, 5, 38]);
    const tasks = fromValues('i32', [4], [1, 0, 1, 1]);
    const out = promptEmbeddingLookup({ ids: pids, table, promptTable, tasks });
    const row = (t: Tensor, r: number): number[] => Array.from(t.data.subarray(r * H, (r + 1) * H));
    expect(row(out, 0)).toEqual(row(promptTable, 3 + 0));
    expect(row(out, 1)).toEqual(row(promptTable, 0 + 2));
    expect(row(out, 2)).toEqual(row(table, 5));
    expect(row(out, 3)).toEqual(row(promptTable, 3 + 1));
  });
  it('rejects ids past the prompt table and unknown tasks', () => {
    expect(() => promptEmbeddingLookup({ ids: fromValues('i32', [1], [40]), table, promptTable, tasks: fromValues('i32', [1], [0]) })).toThrow(/vocab plus 3 prompt tokens/);
    expect(() => promptEmbeddingLookup({ ids: fromValues('i32', [1], [37]), table, promptTable, tasks: fromValues('i32', [1], [2]) })).toThrow(/a task in \[0, 2\)/);
  });
});

describe('addPositionEmbedding', () => {
  it('is cast_T(fp32(x + wpe[pos]))', () => {
    const x = embeddingLookup({ ids, table });
    const wpe = randomTensor('f16', [16, H], 93);
    const positions = fromValues('i32', [9], [0, 1, 2, 3, 4, 5, 6, 7, 15]);
    const y = addPositionEmbedding({ x, wpe, positions });
    const xv = toF32(x);
    const wv = toF32(wpe);
    const want = fromValues('f16', [9, H], Array.from(xv, (v, i) => f32(v + wv[positions.data[Math.floor(i / H)]! * H + (i % H)]!)));
    expect(bitEqual(y, want)).toBe(true);
    expect(() => addPositionEmbedding({ x, wpe, positions: fromValues('i32', [9], [0, 0, 0, 0, 0, 0, 0, 0, 16]) })).toThrow(/n_positions/);
  });
});
