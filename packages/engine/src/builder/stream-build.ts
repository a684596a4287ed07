/**
 * Random-weight engines of any size (GPT-175B's shape, GPT-530B's) without the model in memory:
 * every rank's engine file is laid out from the shapes alone (engine-dir.ts engineFileLayout) and
 * created with its header; then each canonical weight is drawn once (ref-math randomTensor, in
 * chunks) and every rank's share of it (rank-split.ts rankPlan) is written where that rank's table
 * says. Peak memory is about one weight tensor plus its largest share, per thread; the draw is the
 * model's once, not once per rank.
 *
 * With `threads` > 1 (build --parallel_build) the weights are dealt, largest first, to worker threads
 * (stream-worker.ts), each writing its shares into the same files with positioned writes to disjoint
 * ranges. Every weight is the same bits wherever it is drawn, so the files are byte-identical to the
 * sequential build, and to buildEngine from randomGptWeights (stream-build.test.ts).
 */
import { closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { compiledExecArgv, compiledWorker, dealLargestFirst } from '@trtllm/loader';
import { randomGptWeightsPlan, randomTensor, type ActDType, type RandomTensorPlan } from '@trtllm/ref-math';
import type { BuildConfig } from '../build-config.js';
import { engineFileLayout, engineFileName } from '../engine-dir.js';
import { rankPlan, takeFrom, takeShape, type Take } from './rank-split.js';

/** One weight to draw and where each rank's share of it goes. */
export interface StreamJob {
  readonly plan: RandomTensorPlan;
  readonly shares: readonly { readonly file: number; readonly position: number; readonly bytes: number; readonly take: Take }[];
}

/** The rank files of a random-weight build (headers, sizes) and the jobs that fill them. */
export function streamPlan(config: BuildConfig, dir: string): { files: { path: string; header: Buffer; size: number }[]; jobs: StreamJob[] } {
  const weights = randomGptWeightsPlan(config.model);
  const byPath = new Map(weights.map((p) => [p.path, p]));
  const shares = new Map<string, StreamJob['shares'][number][]>(weights.map((p) => [p.path, []]));
  const files = Array.from({ length: config.worldSize }, (_, r) => {
    const plans = rankPlan(config.model, r, config.worldSize, (path) => byPath.has(path));
    const dtype = config.model.dtype;
    const layout = engineFileLayout(r, config.worldSize, plans.map((p) => ({ name: p.name, dtype, shape: takeShape(byPath.get(p.source)!.shape, p.take) })));
    plans.forEach((p, i) => shares.get(p.source)!.push({ file: r, position: layout.dataStart + layout.entries[i]!.offset, bytes: layout.entries[i]!.bytes, take: p.take }));
    return { path: join(dir, engineFileName(config, r)), header: layout.header, size: layout.end };
  });
  return { files, jobs: weights.map((plan) => ({ plan, shares: shares.get(plan.path)! })) };
}

/**
 * Draw `jobs` and write their shares into the open files `fds` (one per rank); `done` after each
 * weight. What the main thread and each stream-worker run.
 */
export function runStreamJobs(seed: number, dtype: ActDType, jobs: readonly StreamJob[], fds: readonly number[], done: () => void): void {
  for (const job of jobs) {
    const t = randomTensor(seed, job.plan, dtype);
    for (const s of job.shares) {
      const part = takeFrom(t, s.take);
      const bytes = new Uint8Array(part.data.buffer, part.data.byteOffset, part.data.byteLength);
      if (bytes.length !== s.bytes) throw new Error(`${job.plan.path}: a share of ${bytes.length} bytes where the table says ${s.bytes}`);
      for (let at = 0; at < bytes.length; ) at += writeSync(fds[s.file]!, bytes, at, bytes.length - at, s.position + at);
    }
    done();
  }
}

/**
 * Write the rank files of a random-weight build into `dir` (which exists), on `threads` threads;
 * returns their names and total bytes. `onProgress(weights done, weights)`.
 */
export async function writeRandomRankFiles(config: BuildConfig, dir: string, seed: number, o: { readonly threads?: number; readonly onProgress?: (done: number, total: number) => void } = {}): Promise<{ files: string[]; bytes: number }> {
  const { files, jobs } = streamPlan(config, dir);
  const fds = files.map((f) => {
    const fd = openSync(f.path, 'w');
    writeSync(fd, f.header, 0, f.header.length, 0);
    ftruncateSync(fd, f.size);
    return fd;
  });
  let done = 0;
  const tick = (): void => o.onProgress?.(++done, jobs.length);
  try {
    const url = (o.threads ?? 1) > 1 ? compiledWorker(import.meta.url, './stream-worker.js') : undefined;
    if (!url) runStreamJobs(seed, config.model.dtype, jobs, fds, tick);
    else {
      const lists = dealLargestFirst(jobs.map((j) => j.plan.shape.reduce((a, b) => a * b, 1)), Math.min(o.threads!, jobs.length)).map((idx) => idx.map((i) => jobs[i]!));
      await Promise.all(
        lists.map(
          (list) =>
            new Promise<void>((ok, fail) => {
              const w = new Worker(url, { workerData: { seed, dtype: config.model.dtype, jobs: list, paths: files.map((f) => f.path) }, execArgv: compiledExecArgv() });
              w.on('message', (m: 'tensor' | 'done') => (m === 'tensor' ? tick() : ok()));
              w.once('error', fail);
              w.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`a build worker exited with code ${code}`))));
            }),
        ),
      );
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return { files: files.map((f) => f.path.slice(dir.length + 1)), bytes: files.reduce((a, f) => a + f.size, 0) };
}
