// Backend.concatColumns, the packing of a step's outputs into one ('chosenLogProbs': tokens [R, 1],
// log-probability words [R, 4], candidates [R, 2n + 3]): on the ref backend always, on the cuda
// backend where a GPU is usable — parts of unequal width side by side, row by row.
import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '@trtllm/ref-math';
import { GPU } from '../testing/backends.js';
import type { Backend } from './backend.js';
import { CudaBackend } from './cuda.js';
import { RefBackend } from './ref.js';

const parts = [fromValues('i32', [3, 1], [7, 8, 9]), fromValues('i32', [3, 4], Array.from({ length: 12 }, (_, i) => 100 + i)), fromValues('i32', [3, 2], [-1, -2, -3, -4, -5, -6])];
const want = [7, 100, 101, 102, 103, -1, -2, 8, 104, 105, 106, 107, -3, -4, 9, 108, 109, 110, 111, -5, -6];

async function check<T>(b: Backend<T>): Promise<void> {
  const up = parts.map((p) => b.upload(p as Tensor));
  const out = b.concatColumns(up);
  expect(Array.from(b.toI32(out))).toEqual(want);
  for (const t of [...up, out]) b.free(t);
  b.dispose();
}

describe('concatColumns', () => {
  it('ref: [3, 1] | [3, 4] | [3, 2] → [3, 7], row by row', () => check(new RefBackend({})));
  it.skipIf(!GPU.ok)(`cuda${GPU.ok ? '' : ` (skipped: ${GPU.reason})`}: the same`, async () => check(await CudaBackend.create({})));
});
