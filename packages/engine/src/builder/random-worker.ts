/**
 * Worker-thread entry of randomWeights(): draws its share of the planned tensors (ref-math
 * randomTensor, each independent of the others) and hands the storage back without copying.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { randomTensor, type ActDType, type RandomTensorPlan } from '@trtllm/ref-math';

const { seed, dtype, items } = workerData as { seed: number; dtype: ActDType; items: RandomTensorPlan[] };
const out = items.map((p) => {
  const t = randomTensor(seed, p, dtype);
  return { path: p.path, shape: t.shape, dtype: t.dtype, buffer: t.data.buffer as ArrayBuffer };
});
parentPort!.postMessage(out, out.map((o) => o.buffer));
