/**
 * Worker-thread entry of writeRandomRankFiles (stream-build.ts): draws its share of the weights and
 * writes every rank's part of each into the rank files (opened here; positioned writes to ranges no
 * other thread writes). Posts 'tensor' after each weight, 'done' at the end.
 */
import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { ActDType } from '@trtllm/ref-math';
import { runStreamJobs, type StreamJob } from './stream-build.js';

const { seed, dtype, jobs, paths } = workerData as { seed: number; dtype: ActDType; jobs: StreamJob[]; paths: string[] };
const fds = paths.map((p) => openSync(p, 'r+'));
try {
  runStreamJobs(seed, dtype, jobs, fds, () => parentPort!.postMessage('tensor'));
} finally {
  for (const fd of fds) closeSync(fd);
}
parentPort!.postMessage('done');
