/**
 * Kernel cases of op `embedding` (tier 1, exact): token lookup over the GPT-2 vocabulary, the
 * position add, vocab- and hidden-sharded lookups (tensor parallelism) and the prompt table.
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType, type Tensor } from '@trtllm/ref-math';
import { caseOf, ints, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function embeddingCases(gpt2Wte: Tensor<ActDType>): KernelCase[] {
  const table = gpt2Wte;
  const ids = ints([50256, 0, 15496, 11, 995, 13, 50256, 1, 7]);
  const wpe = rnd('f16', [1024, 768], 52, 0.01);
  const tok = ref.embeddingLookup({ ids, table });
  const positions = ints([0, 1, 2, 3, 4, 5, 6, 7, 1023]);
  const cases: KernelCase[] = [
    caseOf({ name: 'embedding lookup f16 (gpt2 vocab)', op: 'embedding', dtype: 'f16', shape: '[9] in [50257,768]', tier: 1, host: { ids, table },
      ref: () => [ref.embeddingLookup({ ids, table })], launch: (d) => [gpu.embeddingLookup({ ids: d['ids'] as never, table: d['table'] as never })], bytes: 2 * 9 * 768 * 2, flops: 0 }),
    caseOf({ name: 'position add f16', op: 'embedding', dtype: 'f16', shape: '[9,768]', tier: 1, host: { x: tok, wpe, positions },
      ref: () => [ref.addPositionEmbedding({ x: tok, wpe, positions })], launch: (d) => [gpu.addPositionEmbedding({ x: d['x'] as never, wpe: d['wpe'] as never, positions: d['positions'] as never })], bytes: 3 * 9 * 768 * 2, flops: 9 * 768 }),
  ];
  const small = rnd('bf16', [37, 8], 53);
  const sids = ints([0, 36, 18, 19, 9, 10, 27, 28, 5]);
  for (const rank of [0, 3]) {
    const shard = ref.shardRows(small, 4)[rank]!;
    cases.push(caseOf({ name: `vocab-sharded lookup bf16 TP 4 rank ${rank} (V 37)`, op: 'embedding', dtype: 'bf16', shape: '[9] in [10,8]', tier: 1, host: { ids: sids, shard },
      ref: () => [ref.vocabShardedLookup({ ids: sids, shard }, { rank, tpSize: 4, vocabSize: 37 })],
      launch: (d) => [gpu.vocabShardedLookup({ ids: d['ids'] as never, shard: d['shard'] as never }, { rank, tpSize: 4, vocabSize: 37 })], bytes: 2 * 9 * 8 * 2, flops: 0 }));
  }
  const cols = ref.shardCols(small, 2)[1]!;
  const promptTable = rnd('bf16', [2, 3, 8], 54);
  const pids = ints([37, 39, 5, 38]);
  const tasks = ints([1, 0, 1, 1]);
  cases.push(
    caseOf({ name: 'hidden-sharded lookup bf16 TP 2 rank 1', op: 'embedding', dtype: 'bf16', shape: '[9] in [37,4]', tier: 1, host: { ids: sids, shard: cols },
      ref: () => [ref.hiddenShardedLookup({ ids: sids, shard: cols }, { rank: 1, tpSize: 2 })],
      launch: (d) => [gpu.hiddenShardedLookup({ ids: d['ids'] as never, shard: d['shard'] as never }, { rank: 1, tpSize: 2 })], bytes: 2 * 9 * 4 * 2, flops: 0 }),
    caseOf({ name: 'prompt-table lookup bf16', op: 'embedding', dtype: 'bf16', shape: '[4]; 2 tasks × 3 tokens', tier: 1, host: { ids: pids, table: small, promptTable, tasks },
      ref: () => [ref.promptEmbeddingLookup({ ids: pids, table: small, promptTable, tasks })],
      launch: (d) => [gpu.promptEmbeddingLookup({ ids: d['ids'] as never, table: d['table'] as never, promptTable: d['promptTable'] as never, tasks: d['tasks'] as never })], bytes: 2 * 4 * 8 * 2, flops: 0 }),
  );
  return cases;
}
