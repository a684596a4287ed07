/**
 * Seeded random weights for `trtllm build` without a checkpoint, drawn on worker threads: every
 * tensor of ref-math's randomGptWeightsPlan can be drawn alone (randomTensor jumps to its place in
 * the seeded stream), so the result is bit-identical to randomGptWeights(config, seed) for any
 * thread count; the tensors are dealt largest first to the least-loaded thread.
 */
import { Worker } from 'node:worker_threads';
import { compiledExecArgv, compiledWorker, dealLargestFirst } from '@trtllm/loader';
import { assembleGptWeights, randomGptWeights, randomGptWeightsPlan, storageOver, tensor, type ActDType, type GptConfig, type GptWeights, type Tensor } from '@trtllm/ref-math';

export async function randomWeights(config: GptConfig, seed: number, threads: number): Promise<GptWeights> {
  const url = compiledWorker(import.meta.url, './random-worker.js');
  if (threads <= 1 || !url) return randomGptWeights(config, seed); // from sources without a build: this thread
  const plan = randomGptWeightsPlan(config);
  const lists = dealLargestFirst(plan.map((p) => p.shape.reduce((a, b) => a * b, 1)), threads).map((idx) => idx.map((i) => plan[i]!));
  const parts = await Promise.all(
    lists.map(
      (items) =>
        new Promise<{ path: string; shape: number[]; dtype: ActDType; buffer: ArrayBuffer }[]>((ok, fail) => {
          const w = new Worker(url, { workerData: { seed, dtype: config.dtype, items }, execArgv: compiledExecArgv() });
          w.once('message', (m) => {
            ok(m);
            void w.terminate();
          });
          w.once('error', fail);
        }),
    ),
  );
  const byPath = new Map<string, Tensor<ActDType>>();
  for (const t of parts.flat()) byPath.set(t.path, tensor(t.dtype, t.shape, storageOver(t.dtype, t.buffer)));
  return assembleGptWeights(config, (spec) => byPath.get(spec.path)!, { lmHead: false });
}
