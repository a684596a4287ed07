/** embedding on the device — lookups (plain, prompt table, vocab- and hidden-sharded) and the position add (csrc/embedding.cu). */
import {
  checkPositionEmbedding, expectAttr, expectDType, expectSameDType, expectShape,
  type ActDType, type EmbeddingInputs, type HiddenShardedEmbeddingInputs, type PositionEmbeddingInputs, type PromptEmbeddingInputs,
  type ShardAttrs, type VocabShardedEmbeddingInputs,
} from '@trtllm/ref-math';
import { addon, type NativeParams } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, throwIfFlagged, type OnDevice } from '../launch.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

function lookup(op: string, ids: DeviceTensor, table: DeviceTensor<ActDType>, extra: NativeParams, range: string, stream?: Stream, errorFlag?: DeviceTensor<'i32'>): DeviceTensor<ActDType> {
  expectDType(op, 'inputs.ids', ids, ['i32']);
  const [t] = expectShape(op, 'inputs.ids', ids, ['T']) as [number];
  expectDType(op, 'inputs.table', table, ACT);
  const [rows, h] = expectShape(op, 'inputs.table', table, ['V', 'H']) as [number, number];
  const out = DeviceTensor.empty(table.dtype, [t, h]);
  const flag = native(op, () =>
    addon().embedding({
      ids: ids.ptr, table: table.ptr, out: out.ptr, tokens: t, hidden: h, tableRows: rows, vocabSize: rows, rowOffset: 0,
      zeroOutOfRange: false, promptTokens: 0, numTasks: 0, dtype: code(table.dtype), stream: stream?.handle, errorFlag: errorFlag?.ptr, ...extra,
    }),
  );
  if (flag !== 0) out.free();
  throwIfFlagged(flag, op, 'inputs.ids', range);
  return out;
}

/**
 * With `errorFlag` the lookup is only enqueued (no wait): a bad id sets the flag (1 + token index) for
 * the caller to read later, instead of throwing here.
 */
export function embeddingLookup(inputs: OnDevice<EmbeddingInputs>, stream?: Stream, errorFlag?: DeviceTensor<'i32'>): DeviceTensor<ActDType> {
  return lookup('embeddingLookup', inputs.ids, inputs.table, {}, `a token id in [0, ${inputs.table.shape[0]})`, stream, errorFlag);
}

export function promptEmbeddingLookup(inputs: OnDevice<PromptEmbeddingInputs>, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'promptEmbeddingLookup';
  const { table, promptTable, tasks } = inputs;
  expectSameDType(op, 'inputs.promptTable', table, promptTable);
  const [numTasks, pt] = expectShape(op, 'inputs.promptTable', promptTable, ['tasks', 'Pt', table.shape[1]!]) as [number, number];
  expectDType(op, 'inputs.tasks', tasks, ['i32']);
  expectShape(op, 'inputs.tasks', tasks, [inputs.ids.shape[0]!]);
  return lookup(op, inputs.ids, table, { promptTable: promptTable.ptr, tasks: tasks.ptr, promptTokens: pt, numTasks },
    `a token id in [0, ${table.shape[0]! + pt}) with a task in [0, ${numTasks})`, stream);
}

export function vocabShardedLookup(inputs: OnDevice<VocabShardedEmbeddingInputs>, attrs: ShardAttrs & { readonly vocabSize: number }, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'vocabShardedLookup';
  const vl = Math.ceil(attrs.vocabSize / attrs.tpSize);
  expectAttr(op, 'attrs.rank', attrs.rank >= 0 && attrs.rank < attrs.tpSize, `0 ≤ rank < ${attrs.tpSize}`, attrs.rank);
  expectAttr(op, 'inputs.shard rows', inputs.shard.shape[0] === vl, `⌈V / TP⌉ = ${vl}`, inputs.shard.shape[0]);
  return lookup(op, inputs.ids, inputs.shard, { vocabSize: attrs.vocabSize, rowOffset: attrs.rank * vl, zeroOutOfRange: true }, `a token id in [0, ${attrs.vocabSize})`, stream);
}

export function hiddenShardedLookup(inputs: OnDevice<HiddenShardedEmbeddingInputs>, attrs: ShardAttrs, stream?: Stream): DeviceTensor<ActDType> {
  expectAttr('hiddenShardedLookup', 'attrs.rank', attrs.rank >= 0 && attrs.rank < attrs.tpSize, `0 ≤ rank < ${attrs.tpSize}`, attrs.rank);
  return embeddingLookup({ ids: inputs.ids, table: inputs.shard }, stream);
}

/** With `errorFlag`: enqueued only, as embeddingLookup. */
export function addPositionEmbedding(inputs: OnDevice<PositionEmbeddingInputs>, stream?: Stream, errorFlag?: DeviceTensor<'i32'>): DeviceTensor<ActDType> {
  const op = 'addPositionEmbedding';
  const { x, wpe, positions } = inputs;
  const [t, h, p] = checkPositionEmbedding(x, wpe, positions);
  const y = DeviceTensor.empty(x.dtype, [t, h]);
  const flag = native(op, () =>
    addon().embedding({ positionAdd: true, x: x.ptr, wpe: wpe.ptr, positions: positions.ptr, out: y.ptr, tokens: t, hidden: h, numPositions: p, dtype: code(x.dtype), stream: stream?.handle, errorFlag: errorFlag?.ptr }),
  );
  if (flag !== 0) y.free();
  throwIfFlagged(flag, op, 'inputs.positions', `0 ≤ position < ${p} (n_positions)`);
  return y;
}
