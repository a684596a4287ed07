/**
 * HF checkpoint → FT checkpoint (`trtllm convert`, the seed's hf_gpt_convert.py), streamed: one
 * tensor is read, cast to the storage dtype, split over TP ranks and written before the next is
 * read, so peak memory is a few of the largest tensor, not the model. With `processes > 1` the
 * tensors are dealt to worker threads (largest first, each to the least-loaded worker); each worker
 * opens the checkpoint itself.
 *
 * The output appears all at once or not at all: files are written into a hidden sibling directory
 * `<out>/.<tp>-gpu.partial-*` which is renamed to `<out>/<tp>-gpu` at the end (an existing one is
 * replaced, as the seed overwrites); on any error the partial directory is removed, and `<out>` too
 * when this call created it.
 *
 * Deliberate differences from the seed (also in the CLI help): the layout (`--model`) is read from
 * config.json and a contradicting `--model` is refused instead of silently mis-transposing;
 * GPTBigCode with multi_query false is written as true multi-head QKV with `multi_query_mode = False`
 * (the seed forces multi-query for every starcoder); config.ini holds config.json's keys (the seed
 * dumps transformers' in-memory config object, whose extra runtime keys the builder never reads).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DTYPES, gptWeightAt, type GptWeights, type Tensor } from '@trtllm/ref-math';
import { LoaderError, type LoaderErrorKind } from './errors.js';
import { compiledExecArgv, compiledWorker, writeDirAtomically } from './files.js';
import { FT_STORAGE, ftFiles, ftLayout, writeFtFiles, writeFtTensor, type FtStorageType, type FtTensor } from './ft.js';
import type { HfGptKind } from './hf-config.js';
import { HfGptCheckpoint } from './hf-gpt.js';
import { formatIni, parsePyJson, pyFloatRepr, pyStr, PyDict } from './ini.js';
import { castTo } from './layout.js';

export interface ConvertOptions {
  /** HF model directory (`-i/--in-file`). */
  readonly inDir: string;
  /** Output directory (`-o/--out-dir`); the checkpoint goes to `<outDir>/<tp>-gpu`. */
  readonly outDir: string;
  /** `-tp/--tensor-parallelism` (default 1). */
  readonly tp?: number;
  /** `-t/--storage-type` (default float32). */
  readonly storage?: FtStorageType;
  /** `--model`: the expected layout; default what config.json says. */
  readonly kind?: HfGptKind;
  /** `-p/--processes`: worker threads (default 1 = this thread). */
  readonly processes?: number;
  readonly onProgress?: (p: ConvertProgress) => void;
  /**
   * SmoothQuant (`-sq α`): the model's weights as they are to be written (smoothed, any dtype: cast to
   * the storage type here) instead of the input checkpoint's, the INT8 files (ft-int8.ts ftInt8Files)
   * written beside them, and α for config.ini. Runs in this thread.
   */
  readonly smoothQuant?: { readonly alpha: number; readonly weights: GptWeights; readonly files: ReadonlyMap<string, Tensor> };
  /** `-kv`: the KV-cache calibration files (ft-kv.ts ftKvCacheFiles) written beside the weights; config.ini says calibrate_kv_cache = True. */
  readonly kvCache?: { readonly files: ReadonlyMap<string, Tensor> };
  /** `--qformat fp8`: the FP8 calibration files (ft-fp8.ts ftFp8Files) written beside the weights; config.ini says qformat = fp8 (our key, after the seed's). */
  readonly fp8?: { readonly files: ReadonlyMap<string, Tensor> };
}

export interface ConvertProgress {
  readonly tensorsDone: number;
  readonly tensors: number;
  readonly bytesDone: number;
  readonly bytes: number;
}

export interface ConvertResult {
  /** `<outDir>/<tp>-gpu`. */
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  readonly kind: HfGptKind;
  readonly multiQuery: boolean;
}

/** What a worker (or this thread) needs to convert a subset of tensors. */
export interface ConvertJob {
  readonly inDir: string;
  readonly kind: HfGptKind;
  readonly tp: number;
  readonly storage: FtStorageType;
  readonly dir: string;
  readonly indices: readonly number[];
}

/** Convert the tensors `job.indices` of the FT layout; `progress(bytes)` after each. */
export function runConvertJob(job: ConvertJob, progress: (bytes: number) => void): void {
  const ckpt = HfGptCheckpoint.open(job.inDir, { kind: job.kind });
  try {
    const config = ckpt.config;
    const layout = ftLayout(config, { tp: job.tp, lmHead: !ckpt.hf.tied });
    for (const i of job.indices) {
      const t = layout[i]!;
      progress(writeFtTensor(job.dir, config, t, job.tp, castTo(ckpt.read(t.spec), FT_STORAGE[job.storage])));
    }
  } finally {
    ckpt.close();
  }
}

export async function convertHfToFt(o: ConvertOptions): Promise<ConvertResult> {
  const tp = o.tp ?? 1;
  const storage = o.storage ?? 'float32';
  const processes = o.processes ?? 1;
  if (!Number.isInteger(tp) || tp < 1) throw new LoaderError('format', { file: o.outDir, item: '-tp', expected: 'a positive integer', got: String(tp) });
  if (!(storage in FT_STORAGE)) throw new LoaderError('dtype', { file: o.outDir, item: '-t', expected: Object.keys(FT_STORAGE).join(' | '), got: String(storage) });
  if (!Number.isInteger(processes) || processes < 1) throw new LoaderError('format', { file: o.outDir, item: '-p', expected: 'a positive integer', got: String(processes) });

  // Open and validate everything before the first byte is written.
  const ckpt = HfGptCheckpoint.open(o.inDir, o.kind ? { kind: o.kind } : {});
  const kind = ckpt.kind;
  const config = ckpt.config;
  let layout: FtTensor[];
  try {
    layout = ftLayout(config, { tp, lmHead: !ckpt.hf.tied, file: join(o.inDir, 'config.json') });
  } finally {
    ckpt.close();
  }
  const multiQuery = config.nKvHead === 1 && config.nHead > 1;
  const elementBytes = DTYPES[FT_STORAGE[storage]].bytes;
  const sizes = layout.map((t) => ftFiles(config, t, tp).reduce((s, f) => s + f.elements * elementBytes, 0));
  const total = { tensors: layout.length, bytes: sizes.reduce((a, b) => a + b, 0) };

  const final = await writeDirAtomically(o.outDir, `${tp}-gpu`, async (partial) => {
    writeFileSync(join(partial, 'config.ini'), configIni(o, kind, tp, storage, processes, multiQuery));
    let tensorsDone = 0;
    let bytesDone = 0;
    const progress = (bytes: number): void => {
      tensorsDone++;
      bytesDone += bytes;
      o.onProgress?.({ tensorsDone, tensors: total.tensors, bytesDone, bytes: total.bytes });
    };
    const sq = o.smoothQuant;
    if (sq) {
      // the weights in memory (smoothed), then the INT8 files
      for (const t of layout) progress(writeFtTensor(partial, config, t, tp, castTo(weightAt(sq.weights, t.spec.path), FT_STORAGE[storage])));
      writeFtFiles(partial, sq.files);
    } else {
      const jobs = dealLargestFirst(sizes, Math.min(processes, layout.length)).map((indices): ConvertJob => ({ inDir: o.inDir, kind, tp, storage, dir: partial, indices }));
      if (jobs.length <= 1) runConvertJob(jobs[0] ?? { inDir: o.inDir, kind, tp, storage, dir: partial, indices: [] }, progress);
      else await runInWorkers(jobs, progress);
    }
    if (o.kvCache) writeFtFiles(partial, o.kvCache.files);
    if (o.fp8) writeFtFiles(partial, o.fp8.files);
  });
  return { dir: final, files: readdirSync(final).length, bytes: total.bytes, kind, multiQuery };
}

/** The tensor at a canonical path of a model's weights in memory. */
function weightAt(w: GptWeights, path: string): Tensor {
  const at = gptWeightAt(w, path);
  if (at === undefined) throw new LoaderError('missing', { file: '(weights in memory)', item: path, expected: 'a tensor', got: 'none' });
  return at;
}

/** Indices of `sizes` dealt to n lists: largest first, each to the least-loaded list (empty lists dropped). */
export function dealLargestFirst(sizes: readonly number[], n: number): number[][] {
  const lists = Array.from({ length: Math.max(n, 1) }, (): number[] => []);
  const load = lists.map(() => 0);
  [...sizes.keys()]
    .sort((a, b) => sizes[b]! - sizes[a]! || a - b)
    .forEach((i) => {
      const k = load.indexOf(Math.min(...load));
      lists[k]!.push(i);
      load[k]! += sizes[i]!;
    });
  return lists.filter((l) => l.length > 0);
}

/** The compiled worker entry; from sources (tests) the package's built dist is used. */
function workerUrl(): URL {
  const url = compiledWorker(import.meta.url, './convert-worker.js');
  if (!url) throw new LoaderError('missing', { file: 'dist/convert-worker.js', expected: 'the compiled convert worker', got: 'no such file', hint: 'build the loader (npm run build), or convert with -p 1' });
  return url;
}

interface WorkerMessage {
  readonly type: 'progress' | 'done' | 'error';
  readonly bytes?: number;
  readonly error?: { name: string; message: string; kind?: LoaderErrorKind; file?: string; item?: string; expected?: string; got?: string; hint?: string };
}

async function runInWorkers(jobs: readonly ConvertJob[], progress: (bytes: number) => void): Promise<void> {
  const url = workerUrl();
  const workers: Worker[] = [];
  try {
    await Promise.all(
      jobs.map(
        (job) =>
          new Promise<void>((ok, fail) => {
            const w = new Worker(url, { workerData: job, execArgv: compiledExecArgv() });
            workers.push(w);
            w.on('message', (m: WorkerMessage) => {
              if (m.type === 'progress') progress(m.bytes ?? 0);
              else if (m.type === 'done') ok();
              else if (m.type === 'error' && m.error) {
                const d = m.error;
                fail(d.name === 'LoaderError' && d.kind && d.file && d.expected && d.got ? new LoaderError(d.kind, { file: d.file, expected: d.expected, got: d.got, ...(d.item ? { item: d.item } : {}), ...(d.hint ? { hint: d.hint } : {}) }) : new Error(d.message));
              }
            });
            w.on('error', fail);
            w.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`convert worker exited with code ${code}`))));
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** config.ini [gpt] as hf_gpt_convert.py writes it: its arguments, the model config, storage_dtype, multi_query_mode. */
function configIni(o: ConvertOptions, kind: HfGptKind, tp: number, storage: FtStorageType, processes: number, multiQuery: boolean): string {
  const cfgFile = join(o.inDir, 'config.json');
  const json = parsePyJson(readFileSync(cfgFile, 'utf8'), cfgFile);
  const pairs: [string, string][] = [
    ['out_dir', o.outDir],
    ['in_file', o.inDir],
    ['tensor_parallelism', String(tp)],
    ['processes', String(processes)],
    ['calibrate_kv_cache', o.kvCache ? 'True' : 'False'],
    ['smoothquant', o.smoothQuant ? pyFloatRepr(o.smoothQuant.alpha) : 'None'],
    ['model', kind],
    ['storage_type', storage],
    ['dataset_cache_dir', 'None'],
    ['load_model_on_cpu', 'False'],
    ['convert_model_on_cpu', 'False'],
  ];
  if (json instanceof PyDict) for (const [k, v] of json.entries) pairs.push([k, pyStr(v)]);
  pairs.push(['storage_dtype', storage], ['multi_query_mode', multiQuery ? 'True' : 'False']);
  if (o.fp8) pairs.push(['qformat', 'fp8']);
  return formatIni([['gpt', pairs]]);
}
