// GPU parity: every case of the table on the oracle and on the device, bit for bit.
// Skipped, with the reason in its title, where no GPU is usable.
import { describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import { isAvailable } from './binding.js';
import { kernelCases } from './cases.js';
import { DeviceTensor } from './device.js';
import { FreedTensorError } from './errors.js';
import { runParity } from './harness.js';
import { embeddingLookup, gemm } from './ops/index.js';

const avail = isAvailable();
const title = avail.ok ? `GPU parity on ${avail.device.name}` : `GPU parity (skipped: ${avail.reason})`;

describe.skipIf(!avail.ok)(title, () => {
  for (const c of avail.ok ? kernelCases() : []) { // a skipped suite still runs this body: build cases only on a GPU
    it(`${c.name}: ${c.tolerance.kind}`, () => {
      const [r] = runParity([c]);
      expect(r!.error).toBeUndefined();
      expect(r!.status).toBe(c.tolerance.kind === 'exact' ? 'exact' : 'within tolerance');
    });
  }
  it('bad input gives typed errors: freed tensor, shape, out-of-range id', () => {
    const a = DeviceTensor.from(fromValues('f32', [2, 3], [1, 2, 3, 4, 5, 6]));
    const b = DeviceTensor.from(fromValues('f32', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
    expect(() => gemm({ a, b })).toThrow(/inner dimension K of b/);
    b.free();
    const bt = DeviceTensor.from(fromValues('f32', [3, 2], [1, 2, 3, 4, 5, 6]));
    bt.free();
    expect(() => gemm({ a, b: bt })).toThrow(FreedTensorError);
    const table = DeviceTensor.from(fromValues('f16', [5, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const ids = DeviceTensor.from(fromValues('i32', [3], [1, 5, 2]));
    expect(() => embeddingLookup({ ids, table })).toThrow(/inputs.ids\[1\]: expected a token id in \[0, 5\)/);
    expect(() => DeviceTensor.empty('f32', [2 ** 38])).toThrow(/cudaMalloc.*cudaErrorMemoryAllocation.*MiB free/);
    [a, table, ids].forEach((t) => t.free());
  });
});
