/**
 * Engines of any size (GPT-175B's shape, GPT-530B's) without the model in memory. Random weights:
 * every rank's engine file is laid out from the shapes alone (engine-dir.ts engineFileLayout) and
 * created with its header; then each canonical weight is drawn once (ref-math randomTensor, in
 * chunks) and every rank's share of it (rank-split.ts rankPlan) is written where that rank's table
 * says. Peak memory is about one weight tensor plus its largest share, per thread; the draw is the
 * model's once, not once per rank.
 *
 * A large matrix is drawn in row blocks of at most PIECE_ELEMENTS (any run of a weight's normals can
 * be drawn alone: ref-math randomNormalsAt), each block writing the rows of every share it holds; with
 * `threads` > 1 the blocks are dealt, largest first, to worker threads (stream-worker.ts), which write
 * into the same files with positioned writes to disjoint ranges — so one 256,000-row embedding no
 * longer keeps a single thread busy while the others wait. Every element is the same bits wherever it
 * is drawn: the files are byte-identical to the sequential build, and to buildEngine from
 * randomGptWeights (stream-build.test.ts). A float build from an FT checkpoint goes the same way one
 * weight at a time (writeCheckpointRankFiles: read with its TP shards merged, cast, every share
 * written), so it too holds one weight, never the model.
 */
import { closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { castTo, compiledExecArgv, compiledWorker, dealLargestFirst, sliceRows, type FtCheckpoint } from '@trtllm/loader';
import { DTYPES, randomGptWeightsPlan, randomTensor, type ActDType, type RandomTensorPlan, type Tensor } from '@trtllm/ref-math';
import type { BuildConfig } from '../build-config.js';
import { engineFileLayout, engineFileName } from '../engine-dir.js';
import { rankPlan, takeFrom, takeShape, type Take } from './rank-split.js';

/** Row blocks of at most this many elements are drawn and written as one job. */
export const PIECE_ELEMENTS = 1 << 24;

/** Rows `rowStart` … of one weight (all of a vector) to draw, and where each rank's share of the whole weight goes. */
export interface StreamJob {
  readonly plan: RandomTensorPlan;
  readonly rowStart: number;
  readonly rowCount: number;
  readonly shares: readonly { readonly file: number; readonly position: number; readonly bytes: number; readonly take: Take }[];
}

/** Where every rank's share of each canonical weight goes in the rank files (headers, sizes, positions). */
interface RankFiles {
  readonly files: { path: string; header: Buffer; size: number }[];
  readonly shares: ReadonlyMap<string, StreamJob['shares'][number][]>;
}

/** The rank files of a build whose canonical weights have these shapes, laid out before any data exists. */
function rankFiles(config: BuildConfig, dir: string, shapes: ReadonlyMap<string, readonly number[]>): RankFiles {
  const shares = new Map<string, StreamJob['shares'][number][]>([...shapes.keys()].map((p) => [p, []]));
  const files = Array.from({ length: config.worldSize }, (_, r) => {
    const plans = rankPlan(config.model, r, config.worldSize, (path) => shapes.has(path));
    const layout = engineFileLayout(r, config.worldSize, plans.map((p) => ({ name: p.name, dtype: config.model.dtype, shape: takeShape(shapes.get(p.source)!, p.take) })));
    plans.forEach((p, i) => shares.get(p.source)!.push({ file: r, position: layout.dataStart + layout.entries[i]!.offset, bytes: layout.entries[i]!.bytes, take: p.take }));
    return { path: join(dir, engineFileName(config, r)), header: layout.header, size: layout.end };
  });
  return { files, shares };
}

/** Create the rank files with their headers, at their final size; returns the open fds. */
function createRankFiles(files: RankFiles['files']): number[] {
  return files.map((f) => {
    const fd = openSync(f.path, 'w');
    writeSync(fd, f.header, 0, f.header.length, 0);
    ftruncateSync(fd, f.size);
    return fd;
  });
}

/** All of `bytes` at `position` (a positioned write may write less than asked). */
function writeAt(fd: number, bytes: Uint8Array, position: number): void {
  for (let w = 0; w < bytes.length; ) w += writeSync(fd, bytes, w, bytes.length - w, position + w);
}

/** Write one whole canonical weight's shares (every rank's) into the open rank files. */
function writeShares(t: Tensor, shares: readonly StreamJob['shares'][number][], fds: readonly number[], what: string): void {
  for (const s of shares) {
    const part = takeFrom(t, s.take);
    const bytes = new Uint8Array(part.data.buffer, part.data.byteOffset, part.data.byteLength);
    if (bytes.length !== s.bytes) throw new Error(`${what}: a share of ${bytes.length} bytes where the table says ${s.bytes}`);
    writeAt(fds[s.file]!, bytes, s.position);
  }
}

/** The rank files of a random-weight build (headers, sizes) and the jobs that fill them. */
export function streamPlan(config: BuildConfig, dir: string, pieceElements = PIECE_ELEMENTS): { files: { path: string; header: Buffer; size: number }[]; jobs: StreamJob[] } {
  const weights = randomGptWeightsPlan(config.model);
  const { files, shares } = rankFiles(config, dir, new Map(weights.map((p) => [p.path, p.shape])));
  const jobs = weights.flatMap((plan) => {
    const rows = plan.shape.length === 2 ? plan.shape[0]! : 1;
    const per = plan.shape.length === 2 ? Math.max(1, Math.floor(pieceElements / plan.shape[1]!)) : 1;
    return Array.from({ length: Math.ceil(rows / per) }, (_, b): StreamJob => ({ plan, rowStart: b * per, rowCount: Math.min(per, rows - b * per), shares: shares.get(plan.path)! }));
  });
  return { files, jobs };
}

/**
 * The rank files of a float build from an FT checkpoint, written weight by weight: each canonical
 * weight is read (its TP shards merged), cast to the engine dtype and every rank's share written,
 * so memory holds one weight at a time, never the model. Byte-identical to rankTensors of the loaded
 * model (stream-build.test.ts).
 */
export function writeCheckpointRankFiles(config: BuildConfig, dir: string, checkpoint: FtCheckpoint, onProgress?: (done: number, total: number) => void): { files: string[]; bytes: number } {
  const { files, shares } = rankFiles(config, dir, new Map(checkpoint.layout.map((t) => [t.spec.path, t.spec.shape])));
  const fds = createRankFiles(files);
  try {
    checkpoint.layout.forEach((t, i) => {
      writeShares(castTo(checkpoint.read(t), config.model.dtype), shares.get(t.spec.path)!, fds, t.spec.path);
      onProgress?.(i + 1, checkpoint.layout.length);
    });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return { files: files.map((f) => f.path.slice(dir.length + 1)), bytes: files.reduce((a, f) => a + f.size, 0) };
}

/**
 * Draw `jobs` and write their rows of every share into the open files `fds` (one per rank); `done`
 * after each job. What the main thread and each stream-worker run.
 */
export function runStreamJobs(seed: number, dtype: ActDType, jobs: readonly StreamJob[], fds: readonly number[], done: () => void): void {
  for (const job of jobs) {
    const matrix = job.plan.shape.length === 2;
    const cols = matrix ? job.plan.shape[1]! : job.plan.shape[0]!;
    const block = matrix ? randomTensor(seed, { ...job.plan, shape: [job.rowCount, cols], first: job.plan.first + job.rowStart * cols }, dtype) : randomTensor(seed, job.plan, dtype);
    const e = DTYPES[dtype].bytes;
    for (const s of job.shares) {
      const t = s.take;
      let part: Tensor;
      let at: number; // bytes into the share
      if (t.kind === 'rows') {
        const a = Math.max(job.rowStart, t.start);
        const b = Math.min(job.rowStart + job.rowCount, t.start + t.count);
        if (a >= b) continue;
        part = sliceRows(block, a - job.rowStart, b - a);
        at = (a - t.start) * cols * e;
      } else {
        part = takeFrom(block, t);
        at = job.rowStart * (part.data.byteLength / job.rowCount);
      }
      const bytes = new Uint8Array(part.data.buffer, part.data.byteOffset, part.data.byteLength);
      if (at + bytes.length > s.bytes) throw new Error(`${job.plan.path} rows ${job.rowStart}+${job.rowCount}: past its share's ${s.bytes} bytes`);
      writeAt(fds[s.file]!, bytes, s.position + at);
    }
    done();
  }
}

/**
 * Write the rank files of a random-weight build into `dir` (which exists), on `threads` threads;
 * returns their names and total bytes. `onProgress(jobs done, jobs)` (a job: a weight, or a row block of a large one).
 */
export async function writeRandomRankFiles(config: BuildConfig, dir: string, seed: number, o: { readonly threads?: number; readonly pieceElements?: number; readonly onProgress?: (done: number, total: number) => void } = {}): Promise<{ files: string[]; bytes: number }> {
  const { files, jobs } = streamPlan(config, dir, o.pieceElements);
  const fds = createRankFiles(files);
  let done = 0;
  const tick = (): void => o.onProgress?.(++done, jobs.length);
  try {
    const url = (o.threads ?? 1) > 1 ? compiledWorker(import.meta.url, './stream-worker.js') : undefined;
    if (!url) runStreamJobs(seed, config.model.dtype, jobs, fds, tick);
    else {
      const lists = dealLargestFirst(jobs.map((j) => j.rowCount * (j.plan.shape.length === 2 ? j.plan.shape[1]! : j.plan.shape[0]!)), Math.min(o.threads!, jobs.length)).map((idx) => idx.map((i) => jobs[i]!));
      const workers: Worker[] = [];
      try {
        await Promise.all(
          lists.map(
            (list) =>
              new Promise<void>((ok, fail) => {
                const w = new Worker(url, { workerData: { seed, dtype: config.model.dtype, jobs: list, paths: files.map((f) => f.path) }, execArgv: compiledExecArgv() });
                workers.push(w);
                w.on('message', (m: 'tensor' | 'done') => (m === 'tensor' ? tick() : ok()));
                w.once('error', fail);
                w.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`a build worker exited with code ${code}`))));
              }),
          ),
        );
      } catch (e) {
        // the first failure stops the others (they would draw on for hours at GPT-175B's size)
        await Promise.all(workers.map((w) => w.terminate()));
        throw e;
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return { files: files.map((f) => f.path.slice(dir.length + 1)), bytes: files.reduce((a, f) => a + f.size, 0) };
}
