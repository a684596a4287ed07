/**
 * embedding — token lookup (plain, prompt-table, vocab-sharded, hidden-sharded) and the learned
 * position embedding add. Lookups copy stored rows bit for bit (tier 1: exact on every kernel).
 *
 * lookup:        out[t] = table[ids[t]]                                  ids in [0, V)
 * prompt table:  out[t] = ids[t] < V ? table[ids[t]] : promptTable[tasks[t], ids[t] − V]
 * vocab-sharded: rank r holds rows r·Vl … r·Vl+Vl−1; local = ids[t] − r·Vl;
 *                out[t] = 0 ≤ local < Vl ? shard[local] : +0 row; then allReduceSum over ranks
 *                gives the full lookup exactly (one non-zero partial per element).
 * hidden-sharded: rank r holds columns r·Hl … ; out[t] = shard[ids[t]]; then allGather.
 * position add:  out[t] = cast_T(fp32(x[t] + wpe[positions[t]]))
 * Shapes: ids i32 [T], table [V, H], promptTable [tasks, Pt, H], out [T, H] (or [T, Hl]).
 */
import { expectAttr, expectDType, expectSameDType, expectShape, type Shaped } from '../check.js';
import type { ActDType } from '../dtype.js';
import { IndexRangeError } from '../errors.js';
import { f32 } from '../numerics/f32.js';
import type {
  EmbeddingInputs,
  HiddenShardedEmbeddingInputs,
  PositionEmbeddingInputs,
  PromptEmbeddingInputs,
  ShardAttrs,
  VocabShardedEmbeddingInputs,
} from '../op-specs.js';
import { fromF32, tensor, toF32, type Tensor } from '../tensor.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

function checkIds(op: string, ids: Tensor): number {
  expectDType(op, 'inputs.ids', ids, ['i32']);
  return expectShape(op, 'inputs.ids', ids, ['T'])[0]!;
}

function idError(op: string, t: number, id: number, range: string): IndexRangeError {
  return new IndexRangeError({ op, what: `inputs.ids[${t}]`, expected: `a token id in ${range}`, got: `${id}` });
}

export function embeddingLookup(inputs: EmbeddingInputs): Tensor<ActDType> {
  const { ids, table } = inputs;
  const t = checkIds('embeddingLookup', ids);
  expectDType('embeddingLookup', 'inputs.table', table, ACT);
  const [v, h] = expectShape('embeddingLookup', 'inputs.table', table, ['V', 'H']) as [number, number];
  const out = tensor(table.dtype, [t, h]);
  for (let i = 0; i < t; i++) {
    const id = ids.data[i]!;
    if (id < 0 || id >= v) throw idError('embeddingLookup', i, id, `[0, ${v})`);
    out.data.set(table.data.subarray(id * h, (id + 1) * h), i * h);
  }
  return out;
}

export function promptEmbeddingLookup(inputs: PromptEmbeddingInputs): Tensor<ActDType> {
  const op = 'promptEmbeddingLookup';
  const { ids, table, promptTable, tasks } = inputs;
  const t = checkIds(op, ids);
  expectDType(op, 'inputs.table', table, ACT);
  const [v, h] = expectShape(op, 'inputs.table', table, ['V', 'H']) as [number, number];
  expectSameDType(op, 'inputs.promptTable', table, promptTable);
  const [numTasks, pt] = expectShape(op, 'inputs.promptTable', promptTable, ['tasks', 'Pt', h]) as [number, number];
  expectDType(op, 'inputs.tasks', tasks, ['i32']);
  expectShape(op, 'inputs.tasks', tasks, [t]);
  const out = tensor(table.dtype, [t, h]);
  for (let i = 0; i < t; i++) {
    const id = ids.data[i]!;
    if (id >= 0 && id < v) {
      out.data.set(table.data.subarray(id * h, (id + 1) * h), i * h);
      continue;
    }
    const task = tasks.data[i]!;
    if (id < v || id >= v + pt) throw idError(op, i, id, `[0, ${v + pt}) (vocab plus ${pt} prompt tokens)`);
    if (task < 0 || task >= numTasks) {
      throw new IndexRangeError({ op, what: `inputs.tasks[${i}]`, expected: `a task in [0, ${numTasks})`, got: `${task}` });
    }
    const row = task * pt + (id - v);
    out.data.set(promptTable.data.subarray(row * h, (row + 1) * h), i * h);
  }
  return out;
}

export function vocabShardedLookup(inputs: VocabShardedEmbeddingInputs, attrs: ShardAttrs & { readonly vocabSize: number }): Tensor<ActDType> {
  const op = 'vocabShardedLookup';
  const { ids, shard } = inputs;
  const t = checkIds(op, ids);
  expectDType(op, 'inputs.shard', shard, ACT);
  const [vl, h] = expectShape(op, 'inputs.shard', shard, ['Vl', 'H']) as [number, number];
  expectAttr(op, 'attrs.rank', attrs.rank >= 0 && attrs.rank < attrs.tpSize, `0 ≤ rank < ${attrs.tpSize}`, attrs.rank);
  expectAttr(op, 'inputs.shard rows', vl === Math.ceil(attrs.vocabSize / attrs.tpSize), `⌈V / TP⌉ = ${Math.ceil(attrs.vocabSize / attrs.tpSize)}`, vl);
  const out = tensor(shard.dtype, [t, h]);
  for (let i = 0; i < t; i++) {
    const id = ids.data[i]!;
    if (id < 0 || id >= attrs.vocabSize) throw idError(op, i, id, `[0, ${attrs.vocabSize})`);
    const local = id - attrs.rank * vl;
    if (local >= 0 && local < vl) out.data.set(shard.data.subarray(local * h, (local + 1) * h), i * h);
  }
  return out;
}

export function hiddenShardedLookup(inputs: HiddenShardedEmbeddingInputs, attrs: ShardAttrs): Tensor<ActDType> {
  const op = 'hiddenShardedLookup';
  expectAttr(op, 'attrs.rank', attrs.rank >= 0 && attrs.rank < attrs.tpSize, `0 ≤ rank < ${attrs.tpSize}`, attrs.rank);
  return embeddingLookup({ ids: inputs.ids, table: inputs.shard });
}

/** The addPositionEmbedding op's input checks, shared by every backend: returns [T, H, P]. */
export function checkPositionEmbedding(x: Shaped, wpe: Shaped, positions: Shaped): [number, number, number] {
  const op = 'addPositionEmbedding';
  expectDType(op, 'inputs.x', x, ACT);
  const [t, h] = expectShape(op, 'inputs.x', x, ['T', 'H']) as [number, number];
  expectSameDType(op, 'inputs.wpe', x, wpe);
  const p = expectShape(op, 'inputs.wpe', wpe, ['P', h])[0]!;
  expectDType(op, 'inputs.positions', positions, ['i32']);
  expectShape(op, 'inputs.positions', positions, [t]);
  return [t, h, p];
}

export function addPositionEmbedding(inputs: PositionEmbeddingInputs): Tensor<ActDType> {
  const op = 'addPositionEmbedding';
  const { x, wpe, positions } = inputs;
  const [t, h, p] = checkPositionEmbedding(x, wpe, positions);
  const xv = toF32(x);
  const wv = toF32(wpe);
  const out = new Float32Array(t * h);
  for (let i = 0; i < t; i++) {
    const pos = positions.data[i]!;
    if (pos < 0 || pos >= p) {
      throw new IndexRangeError({ op, what: `inputs.positions[${i}]`, expected: `0 ≤ position < ${p} (n_positions)`, got: `${pos}` });
    }
    for (let d = 0; d < h; d++) out[i * h + d] = f32(xv[i * h + d]! + wv[pos * h + d]!);
  }
  return fromF32(x.dtype, [t, h], out);
}
