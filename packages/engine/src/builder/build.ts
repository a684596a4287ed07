/**
 * `trtllm build` (the seed's examples/gpt/build.py): weights from an FT checkpoint (`--model_dir`,
 * the output of `trtllm convert`, any TP split: ranks are merged and re-split for `--world_size`) or
 * seeded random weights of a shape given by flags, laid out per rank as the kernels read them, and
 * written as an engine directory (engine-dir.ts). The output appears complete or not at all (a
 * sibling `.partial` directory is renamed at the end).
 *
 * Per-rank layout (rank r of W; NH/W query heads per rank; the one K/V head of multi-query models
 * on every rank): the fused QKV projection is stored as three matrices `q` [H, NH/W·HS],
 * `k`, `v` [H, NKV/W·HS] (per output column a GEMM is the same sum, so splitting columns changes no
 * bit); `attnOut` and `proj` keep their rows r·(N/W)…; `fc`/`gate` their columns; row-parallel
 * biases are stored whole (added once, after the all-reduce); embeddings and norms are whole.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fp8LinearsOf, FtCheckpoint, kvAmaxFile, openTokenizer, seedKvScaleFile, TOKENIZER_FILES } from '@trtllm/loader';
import { kvCacheScales as kvScalesOf } from '@trtllm/quant';
import { gptWeightAt, randomGptWeights, type ActDType, type GptConfig, type GptWeights, type KvQuantScales, type Tensor } from '@trtllm/ref-math';
import { resolveBuildConfig, type BuildConfig, type BuildFlags, type DTypeName } from '../build-config.js';
import { engineFileName, writeEngineConfig, writeEngineFile } from '../engine-dir.js';
import { rankPlan, takeFrom } from './rank-split.js';
import { writeCheckpointRankFiles, writeRandomRankFiles } from './stream-build.js';
import { fp8RankTensors, smoothQuantRankTensors, type Fp8Build, type SmoothQuantBuild } from './smoothquant.js';
import { EngineError } from '../errors.js';

export interface BuildEngineOptions {
  readonly flags: BuildFlags;
  /** `--output_dir`. */
  readonly outputDir: string;
  /** Tokenizer files to copy into the engine dir (vocab.json + merges.txt and/or tokenizer.json). */
  readonly tokenizerDir?: string;
  /**
   * Progress: in weights written (a float build from a checkpoint), in blocks drawn (a random-weight
   * build through buildEngineAsync: a weight, or rows of a large one), else in rank files written.
   */
  readonly onProgress?: (done: number, total: number, unit: 'rank' | 'block' | 'weight') => void;
  /**
   * Build a SmoothQuant INT8 engine from these activation ranges (the linear layers' INT8 weights and
   * scales computed here); `--use_smooth_quant` builds take them from the checkpoint instead.
   */
  readonly smoothQuant?: SmoothQuantBuild;
  /** Build an FP8 engine (API only, like smoothQuant): e4m3 weights with per-tensor scales from these input ranges. */
  readonly fp8?: Fp8Build;
  /**
   * The K and V scales of each layer for `--int8_kv_cache` / `--fp8_kv_cache` (e.g. @trtllm/quant
   * kvCacheScales of calibrated ranges); a `--model_dir` build takes the checkpoint's (convert -kv).
   */
  readonly kvCacheScales?: readonly KvQuantScales[];
}

export interface BuildResult {
  readonly config: BuildConfig;
  readonly dir: string;
  readonly files: readonly string[];
  readonly bytes: number;
  readonly notes: readonly string[];
}

/** The tensors of rank `rank` of `worldSize`, named as the runtime reads them (rank-split.ts rankPlan says which and how). */
export function rankTensors(c: GptConfig, w: GptWeights, rank: number, worldSize: number): Map<string, Tensor<ActDType>> {
  return new Map(rankPlan(c, rank, worldSize, (path) => gptWeightAt(w, path) !== undefined).map((p) => [p.name, takeFrom(gptWeightAt(w, p.source)!, p.take)]));
}

/** `--enable_fp8`: every linear layer's input range the checkpoint holds (convert --qformat fp8), keyed as Fp8Build's. */
function checkpointFp8Ranges(checkpoint: FtCheckpoint): Map<string, { x: number }> {
  const out = new Map<string, { x: number }>();
  for (let n = 0; n < checkpoint.config.nLayer; n++) for (const l of fp8LinearsOf(checkpoint.config)) out.set(`layers.${n}.${l}`, { x: checkpoint.readFp8Amax(n, l) });
  return out;
}

/**
 * The KV-cache scales a `--model_dir` build takes: per layer K and V from our ranges (kv_cache_amax,
 * convert -kv), else — int8 only — the seed's one shared scale (scale_y_quant_orig), with a note.
 */
function checkpointKvScales(checkpoint: FtCheckpoint | undefined, kind: 'int8' | 'fp8', notes: string[], modelDir: string | undefined): KvQuantScales[] {
  const flag = kind === 'int8' ? '--int8_kv_cache' : '--fp8_kv_cache';
  const hint = 'convert with trtllm convert -kv --calib-dataset FILE (with -sq α too for SmoothQuant), then build with --model_dir';
  if (!checkpoint) throw new EngineError('config', { what: flag, expected: 'a checkpoint with KV-cache scales (--model_dir of a convert -kv output)', got: 'random weights (no --model_dir)', hint });
  let shared = 0;
  const scales = Array.from({ length: checkpoint.config.nLayer }, (_, n): KvQuantScales => {
    const cal = checkpoint.readKvCache(n);
    if (cal.amax) return kvScalesOf(cal.amax, kind);
    if (kind === 'int8' && cal.seedScale !== undefined) {
      shared++;
      return { k: cal.seedScale, v: cal.seedScale };
    }
    throw new EngineError('config', {
      what: `${flag} with --model_dir ${modelDir}`,
      expected: kind === 'int8' ? `layer ${n}'s KV-cache scales (${kvAmaxFile(n)} or the seed's ${seedKvScaleFile(n)})` : `layer ${n}'s K/V ranges (${kvAmaxFile(n)}; the seed's FP8 scales come from an external toolkit)`,
      got: 'no such file',
      hint,
    });
  });
  if (shared > 0) notes.push(`${flag}: ${shared} of ${scales.length} layers have only the seed's shared K/V scale (scale_y_quant_orig): K and V share it; convert -kv gives each its own`);
  return scales;
}

/**
 * The same engine as buildEngine. A random-weight float build streams: each weight is drawn once and
 * every rank's share written into its file (stream-build.ts), on `threads` worker threads, without
 * the model in memory — byte-identical to buildEngine for any thread count. Other builds (a
 * checkpoint, quantized weights given in memory) go through buildEngine.
 */
export async function buildEngineAsync(o: BuildEngineOptions & { readonly threads?: number; /** Row blocks of a streamed weight (default stream-build.ts PIECE_ELEMENTS). */ readonly pieceElements?: number }): Promise<BuildResult> {
  if (o.flags.model_dir !== undefined || o.smoothQuant || o.fp8) return buildEngine(o);
  // without a checkpoint the weights are float: build-config refuses --use_smooth_quant / --enable_fp8 there
  const prep = prepareBuild(o);
  return finishBuild(prep, () => writeRandomRankFiles(prep.config, prep.partial, o.flags.random_seed ?? 0, { threads: o.threads ?? 1, ...(o.pieceElements ? { pieceElements: o.pieceElements } : {}), ...(o.onProgress ? { onProgress: (d: number, t: number) => o.onProgress!(d, t, 'block') } : {}) }));
}

function prepareBuild(o: BuildEngineOptions): Prepared {
  const f = o.flags;
  let checkpoint: FtCheckpoint | undefined;
  if (f.model_dir !== undefined) checkpoint = FtCheckpoint.open(f.model_dir);
  const resolved = resolveBuildConfig(
    f,
    checkpoint && { config: checkpoint.config, storage: checkpoint.storage as DTypeName, file: join(checkpoint.dir, 'config.ini') },
  );
  // --use_smooth_quant: the INT8 weights and scales the checkpoint holds (convert -sq)
  const fromCheckpoint: SmoothQuantBuild | undefined = resolved.quant.weights.kind === 'smoothquant' && checkpoint
    ? { mode: { perToken: resolved.quant.weights.perToken, perChannel: resolved.quant.weights.perChannel }, int8: (layer, linear, names) => checkpoint!.readInt8(layer, linear, names) }
    : undefined;
  if (fromCheckpoint && checkpoint!.smoothQuantAlpha === undefined) {
    throw new EngineError('config', { what: `--use_smooth_quant with --model_dir ${f.model_dir}`, expected: 'a SmoothQuant checkpoint (config.ini smoothquant = α, INT8 files beside the float ones)', got: `smoothquant = ${checkpoint!.ini.get('smoothquant') ?? 'absent'}`, hint: 'convert with trtllm convert -sq 0.5 --calib-dataset FILE' });
  }
  const sq = o.smoothQuant ?? fromCheckpoint;
  // --enable_fp8: each linear layer's input range from the checkpoint (convert --qformat fp8)
  const fp8FromCheckpoint: Fp8Build | undefined = resolved.quant.weights.kind === 'fp8' && checkpoint && !o.fp8 ? { actRanges: checkpointFp8Ranges(checkpoint) } : undefined;
  const fp8 = o.fp8 ?? fp8FromCheckpoint;
  if (sq && fp8) throw new EngineError('config', { what: 'buildEngine', expected: 'SmoothQuant or FP8', got: 'both' });
  const quant = sq ? { ...resolved.quant, weights: { kind: 'smoothquant' as const, ...sq.mode } } : fp8 ? { ...resolved.quant, weights: { kind: 'fp8' as const } } : resolved.quant;
  const notes: string[] = [];
  const kvScales = quant.kv === 'float' ? undefined : (o.kvCacheScales ?? checkpointKvScales(checkpoint, quant.kv, notes, f.model_dir));
  if (kvScales && kvScales.length !== resolved.model.nLayer) throw new EngineError('config', { what: 'kvCacheScales', expected: `one {k, v} per layer (${resolved.model.nLayer})`, got: `${kvScales.length}` });
  kvScales?.forEach((s, i) => {
    if (!(s.k > 0 && s.v > 0 && Number.isFinite(s.k) && Number.isFinite(s.v))) throw new EngineError('config', { what: `kvCacheScales[${i}]`, expected: 'finite K and V scales > 0', got: `{k: ${s.k}, v: ${s.v}}` });
  });
  // a checkpoint that carries its tokenizer (nemo-convert writes tokenizer.model beside the weights) gives it to the engine
  const tokenizerDir = o.tokenizerDir ?? (checkpoint && TOKENIZER_FILES.some((n) => existsSync(join(checkpoint.dir, n))) ? checkpoint.dir : undefined);
  if (o.tokenizerDir === undefined && tokenizerDir !== undefined) notes.push(`tokenizer: the one in --model_dir ${tokenizerDir}`);
  const config: BuildConfig = { ...resolved, quant, notes: [...resolved.notes, ...notes], ...(kvScales ? { kvCacheScales: kvScales.map((s) => ({ k: Math.fround(s.k), v: Math.fround(s.v) })) } : {}) };
  if (o.tokenizerDir !== undefined && !TOKENIZER_FILES.some((n) => existsSync(join(o.tokenizerDir!, n)))) {
    throw new EngineError('config', { what: `--tokenizer_dir ${o.tokenizerDir}`, expected: 'tokenizer.model (sentencepiece), vocab.json + merges.txt, or tokenizer.json', got: 'none of them' });
  }

  const out = resolve(o.outputDir);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'config.json'))) {
    throw new EngineError('config', { what: `--output_dir ${o.outputDir}`, expected: 'a new directory or an engine directory to replace', got: 'a directory holding other files', hint: 'choose another --output_dir' });
  }
  const partial = join(dirname(out), `.${out.split(/[\\/]/).pop()}.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  return { config, checkpoint, sq, fp8, tokenizerDir, out, partial, seed: f.random_seed ?? 0 };
}

export function buildEngine(o: BuildEngineOptions & { /** Random weights already drawn for these flags. */ readonly weights?: GptWeights }): BuildResult {
  const prep = prepareBuild(o);
  const { config, checkpoint, sq, fp8 } = prep;
  // a float build from a checkpoint streams weight by weight (stream-build.ts): the model is never in memory
  if (checkpoint && !sq && !fp8) return finishBuild(prep, () => writeCheckpointRankFiles(config, prep.partial, checkpoint, o.onProgress && ((d, t) => o.onProgress!(d, t, 'weight'))));
  return finishBuild(prep, () => {
    const weights = checkpoint ? checkpoint.loadModel({ dtype: config.model.dtype }).weights : (o.weights ?? randomGptWeights(config.model, prep.seed));
    const files: string[] = [];
    let bytes = 0;
    for (let r = 0; r < config.worldSize; r++) {
      const name = engineFileName(config, r);
      const tensors: Map<string, Tensor> = rankTensors(config.model, weights, r, config.worldSize);
      const quantized = sq ? smoothQuantRankTensors(config.model, weights, r, config.worldSize, sq) : fp8 ? fp8RankTensors(config.model, weights, r, config.worldSize, fp8) : undefined;
      for (const [k, t] of quantized ?? []) {
        tensors.delete(k.replace(/\.weight\.(int8|fp8)$/, '.weight')); // the quantized weight replaces the float one
        tensors.set(k, t);
      }
      bytes += writeEngineFile(join(prep.partial, name), r, config.worldSize, tensors);
      files.push(name);
      o.onProgress?.(r + 1, config.worldSize, 'rank');
    }
    return { files, bytes };
  });
}

interface Prepared {
  readonly config: BuildConfig;
  readonly checkpoint: FtCheckpoint | undefined;
  readonly sq: SmoothQuantBuild | undefined;
  readonly fp8: Fp8Build | undefined;
  readonly tokenizerDir: string | undefined;
  /** The output dir, and the sibling `.partial` dir the files are written into (created, empty). */
  readonly out: string;
  readonly partial: string;
  readonly seed: number;
}

/** Write the rank files into prep.partial (`ranks`), then the tokenizer and config.json, and move the dir into place; on failure nothing is left. */
function finishBuild(prep: Prepared, ranks: () => Written): BuildResult;
function finishBuild(prep: Prepared, ranks: () => Promise<Written>): Promise<BuildResult>;
function finishBuild(prep: Prepared, ranks: () => Written | Promise<Written>): BuildResult | Promise<BuildResult> {
  const { config, checkpoint, tokenizerDir, out, partial } = prep;
  const fail = (e: unknown): never => {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  };
  const finish = (written: Written): BuildResult => {
    try {
      const files = [...written.files];
      let tokenizer: string | undefined;
      if (tokenizerDir !== undefined) {
        for (const n of TOKENIZER_FILES) {
          if (existsSync(join(tokenizerDir, n))) {
            cpSync(join(tokenizerDir, n), join(partial, n));
            files.push(n);
          }
        }
        tokenizer = '.';
      }
      const source = checkpoint ? { model_dir: checkpoint.dir, storage_dtype: checkpoint.storage } : { random_seed: prep.seed };
      // the engine dir records its tokenizer: where its files are, what kind, and its end / pad ids
      const tok = tokenizer ? openTokenizer(partial) : undefined;
      const tokenizerInfo = tok ? { tokenizer, tokenizer_kind: tok.kind, end_id: tok.specialIds.eos ?? null, pad_id: tok.specialIds.pad ?? null } : {};
      writeEngineConfig(partial, config, { source, ...tokenizerInfo });
      files.push('config.json');
      if (existsSync(out)) rmSync(out, { recursive: true, force: true });
      mkdirSync(dirname(out), { recursive: true });
      renameSync(partial, out);
      return { config, dir: out, files, bytes: written.bytes, notes: config.notes };
    } catch (e) {
      return fail(e);
    }
  };
  let written: Written | Promise<Written>;
  try {
    written = ranks();
  } catch (e) {
    return fail(e);
  }
  return written instanceof Promise ? written.then(finish, fail) : finish(written);
}

/** The rank files written into the partial dir: their names and total bytes. */
interface Written {
  readonly files: readonly string[];
  readonly bytes: number;
}
