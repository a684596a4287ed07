/**
 * FT checkpoints — what TensorRT-LLM's examples/gpt/hf_gpt_convert.py writes and build.py reads
 * (ARCHITECTURE.md, Files on disk): `<out>/<tp>-gpu/config.ini` (section [gpt]) and one raw little-endian file per
 * tensor and rank, in the storage dtype. Per canonical tensor (ref-math's gptWeightSpecs):
 *
 *   canonical           FT file                                                split over TP ranks
 *   wte, wpe            model.wte.bin, model.wpe.bin                            none
 *   lnF.gamma / .beta   model.final_layernorm.weight.bin / .bias.bin            none
 *   lmHead              model.lm_head.weight.bin (absent when tied)             none
 *   layers.N.ln1.*      model.layers.N.input_layernorm.{weight,bias}.bin        none
 *   layers.N.qkv.*      model.layers.N.attention.query_key_value.{weight,bias}.R.bin
 *                         MHA: weight [H, 3, H] split on the last axis → [H, 3, H/TP] (bias [3, H/TP]);
 *                         MQA: Q columns split, the one K and V head copied to every rank → [H, H/TP + 2·HS]
 *   layers.N.attnOut.*  …attention.dense.weight.R.bin (rows: [H/TP, H]); .bias.bin unsplit
 *   layers.N.ln2.*      …post_attention_layernorm.{weight,bias}.bin              none
 *   layers.N.fc.*       …mlp.dense_h_to_4h.{weight,bias}.R.bin                   last axis: [H, I/TP]
 *   layers.N.gate.*     …mlp.dense_h_to_4h.gate.{weight,bias}.R.bin              last axis (swiglu)
 *   layers.N.proj.*     …mlp.dense_4h_to_h.weight.R.bin (rows: [I/TP, H]); .bias.bin unsplit
 *
 * A split is described once, as the column ranges (or row range) of the full tensor that make rank
 * R's shard; writing gathers them, reading scatters them back (MQA K/V must agree on every rank).
 */
import { closeSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocStorage, assembleGptWeights, DTYPES, gptConfig, gptWeightSpecs, headSize, numel, tensor, type ActDType, type GptConfig, type GptModel, type GptWeightSpec, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { openFile, readFully } from './files.js';
import { parseIni } from './ini.js';
import { castTo, gatherColumns, sliceRows, tensorBytes, type ColumnRange } from './layout.js';
import { readFtInt8, type Int8ArrayName, type Int8Arrays, type Int8LinearName } from './ft-int8.js';
import { readFtKvCache, type FtKvCacheCalibration } from './ft-kv.js';
import { readFtFp8Amax, type Fp8LinearName } from './ft-fp8.js';

/** `--storage-type` names and our dtypes. */
export const FT_STORAGE = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' } as const satisfies Record<string, ActDType>;
export type FtStorageType = keyof typeof FT_STORAGE;

export type FtSplit =
  | { readonly kind: 'none' }
  | { readonly kind: 'rows' }
  | { readonly kind: 'cols' }
  /** QKV: `heads` of Q (and of K and V when not multi-query) are split. */
  | { readonly kind: 'qkv'; readonly multiQuery: boolean };

export interface FtTensor {
  readonly spec: GptWeightSpec;
  /** File key without `.R.bin` / `.bin` (e.g. `model.layers.0.attention.dense.weight`). */
  readonly key: string;
  readonly split: FtSplit;
}

const LAYER_NAMES: Record<string, string> = {
  'ln1.gamma': 'input_layernorm.weight',
  'ln1.beta': 'input_layernorm.bias',
  'qkv.weight': 'attention.query_key_value.weight',
  'qkv.bias': 'attention.query_key_value.bias',
  'attnOut.weight': 'attention.dense.weight',
  'attnOut.bias': 'attention.dense.bias',
  'ln2.gamma': 'post_attention_layernorm.weight',
  'ln2.beta': 'post_attention_layernorm.bias',
  'fc.weight': 'mlp.dense_h_to_4h.weight',
  'fc.bias': 'mlp.dense_h_to_4h.bias',
  'gate.weight': 'mlp.dense_h_to_4h.gate.weight',
  'gate.bias': 'mlp.dense_h_to_4h.gate.bias',
  'proj.weight': 'mlp.dense_4h_to_h.weight',
  'proj.bias': 'mlp.dense_4h_to_h.bias',
};
const TOP_NAMES: Record<string, string> = { wte: 'model.wte', wpe: 'model.wpe', 'lnF.gamma': 'model.final_layernorm.weight', 'lnF.beta': 'model.final_layernorm.bias', lmHead: 'model.lm_head.weight' };

/** The FT file and split of every canonical tensor of `config`, checked for divisibility by `tp`. */
export function ftLayout(config: GptConfig, o: { readonly tp: number; readonly lmHead: boolean; /** The config's file, for errors. */ readonly file?: string }): FtTensor[] {
  const { tp } = o;
  const file = o.file ?? 'config';
  if (config.nKvHead !== 1 && config.nKvHead !== config.nHead) {
    throw new LoaderError('format', { file, item: 'n_kv_head', expected: `1 (multi-query) or n_head (${config.nHead}): FT checkpoints have no grouped-query layout`, got: String(config.nKvHead) });
  }
  const divides = (what: string, n: number): void => {
    if (n % tp !== 0) throw new LoaderError('shape', { file, item: what, expected: `a multiple of the tensor parallelism (-tp ${tp})`, got: String(n), hint: `choose -tp among the divisors of ${what}` });
  };
  divides('n_head', config.nHead);
  divides('intermediate_size', config.intermediateSize);
  const multiQuery = config.nKvHead === 1 && config.nHead > 1;
  return gptWeightSpecs(config, { lmHead: o.lmHead }).map((spec): FtTensor => {
    const top = TOP_NAMES[spec.path];
    if (top) return { spec, key: top, split: { kind: 'none' } };
    const m = /^layers\.(\d+)\.(.+)$/.exec(spec.path)!;
    const leaf = m[2]!;
    const key = `model.layers.${m[1]}.${LAYER_NAMES[leaf]!}`;
    const split: FtSplit = leaf.startsWith('qkv.')
      ? { kind: 'qkv', multiQuery }
      : leaf === 'attnOut.weight' || leaf === 'proj.weight'
        ? { kind: 'rows' }
        : leaf.startsWith('fc.') || leaf.startsWith('gate.')
          ? { kind: 'cols' }
          : { kind: 'none' };
    return { spec, key, split };
  });
}

/**
 * Column ranges of a last axis `width` wide that form rank `r`'s shard (cols and qkv splits; a QKV axis
 * is Q | K | V, each part split by heads, the one multi-query K/V head kept whole).
 */
function shardColumns(config: GptConfig, split: FtSplit, width: number, tp: number, r: number): ColumnRange[] {
  if (split.kind === 'cols') return [[(r * width) / tp, width / tp]];
  const h = config.nHead * headSize(config);
  const w = h / tp;
  if (split.kind === 'qkv' && split.multiQuery) return [[r * w, w], [h, 2 * headSize(config)]];
  return [0, 1, 2].map((j): ColumnRange => [j * h + r * w, w]);
}

/** The shape of rank `r`'s shard of a full tensor of `shape` split `split`. */
export function shardShape(config: GptConfig, split: FtSplit, shape: readonly number[], tp: number, r: number): number[] {
  if (split.kind === 'none') return [...shape];
  if (split.kind === 'rows') return [shape[0]! / tp, ...shape.slice(1)];
  return [...shape.slice(0, -1), shardColumns(config, split, shape[shape.length - 1]!, tp, r).reduce((s, [, len]) => s + len, 0)];
}

/** Rank `r`'s shard of a full tensor split `split` ('rows': axis 0; 'cols' / 'qkv': column ranges of its last axis). */
export function splitShard(config: GptConfig, split: FtSplit, full: Tensor, tp: number, r: number): Tensor {
  if (split.kind === 'none') return full;
  if (split.kind === 'rows') return sliceRows(full, (r * full.shape[0]!) / tp, full.shape[0]! / tp);
  return gatherColumns(full, shardColumns(config, split, full.shape[full.shape.length - 1]!, tp, r));
}

/**
 * The full tensor of `shape` from its `tp` rank shards (the inverse of splitShard); the multi-query K/V
 * columns every rank holds must be equal to rank 0's (`fileOf(r)` names a rank's file in the error).
 */
export function mergeShards(config: GptConfig, split: FtSplit, shards: readonly Tensor[], shape: readonly number[], o: { readonly fileOf: (r: number) => string; readonly item: string }): Tensor {
  if (split.kind === 'none') return shards[0]!;
  const dtype = shards[0]!.dtype;
  const e = DTYPES[dtype].bytes;
  const full = tensor(dtype, shape);
  const out = new Uint8Array(full.data.buffer);
  const width = shape[shape.length - 1]!;
  const rows = numel(shape) / width;
  shards.forEach((shard, r) => {
    const src = new Uint8Array(shard.data.buffer, shard.data.byteOffset, shard.data.byteLength);
    if (split.kind === 'rows') {
      out.set(src, r * src.length);
      return;
    }
    const ranges = shardColumns(config, split, width, shards.length, r);
    const w = ranges.reduce((s, [, len]) => s + len, 0);
    for (let i = 0; i < rows; i++) {
      let at0 = i * w * e;
      ranges.forEach(([start, len], k) => {
        const seg = src.subarray(at0, at0 + len * e);
        const at = (i * width + start) * e;
        if (r > 0 && k === 1 && split.kind === 'qkv' && split.multiQuery && !Buffer.from(out.subarray(at, at + len * e)).equals(seg)) {
          throw new LoaderError('format', { file: o.fileOf(r), item: o.item, expected: 'the multi-query K/V columns equal to rank 0', got: `a difference in row ${i}` });
        }
        out.set(seg, at);
        at0 += len * e;
      });
    }
  });
  return full;
}

/** Per-rank file names and shards of one full tensor (rankless name when not split). */
export function ftShards(config: GptConfig, t: FtTensor, tp: number, full: Tensor): { file: string; tensor: Tensor }[] {
  if (t.split.kind === 'none') return [{ file: `${t.key}.bin`, tensor: full }];
  return Array.from({ length: tp }, (_, r) => ({ file: `${t.key}.${r}.bin`, tensor: splitShard(config, t.split, full, tp, r) }));
}

/** Files of one tensor with their element counts (what the reader checks sizes against). */
export function ftFiles(config: GptConfig, t: FtTensor, tp: number): { file: string; rank?: number; elements: number }[] {
  if (t.split.kind === 'none') return [{ file: `${t.key}.bin`, elements: numel(t.spec.shape) }];
  return Array.from({ length: tp }, (_, r) => ({ file: `${t.key}.${r}.bin`, rank: r, elements: numel(shardShape(config, t.split, t.spec.shape, tp, r)) }));
}

/** Write one full canonical tensor (already in the storage dtype) as its FT files in `dir`; returns bytes written. */
export function writeFtTensor(dir: string, config: GptConfig, t: FtTensor, tp: number, full: Tensor): number {
  return writeFtFiles(dir, new Map(ftShards(config, t, tp, full).map((s) => [s.file, s.tensor])));
}

/** Write a map of file name → tensor (its raw bytes) into `dir`; returns the bytes written. */
export function writeFtFiles(dir: string, files: ReadonlyMap<string, Tensor>): number {
  let bytes = 0;
  for (const [file, t] of files) {
    const b = tensorBytes(t);
    writeFileSync(join(dir, file), b);
    bytes += b.byteLength;
  }
  return bytes;
}

/** An FT checkpoint directory, validated: config.ini parsed, every file present with the right size. */
export class FtCheckpoint {
  readonly dir: string;
  readonly config: GptConfig;
  readonly tp: number;
  readonly storage: FtStorageType;
  readonly tied: boolean;
  /** The [gpt] section as read. */
  readonly ini: ReadonlyMap<string, string>;
  readonly layout: readonly FtTensor[];

  private constructor(dir: string, config: GptConfig, tp: number, storage: FtStorageType, tied: boolean, ini: Map<string, string>) {
    this.dir = dir;
    this.config = config;
    this.tp = tp;
    this.storage = storage;
    this.tied = tied;
    this.ini = ini;
    this.layout = ftLayout(config, { tp, lmHead: !tied, file: join(dir, 'config.ini') });
  }

  /** Open `<out>/<tp>-gpu`, or `<out>` when it holds exactly one `<tp>-gpu` directory. */
  static open(path: string): FtCheckpoint {
    let dir = path;
    if (!existsSync(join(dir, 'config.ini')) && existsSync(dir) && statSync(dir).isDirectory()) {
      const inner = readdirSync(dir).filter((d) => /^\d+-gpu$/.test(d));
      if (inner.length === 1) dir = join(dir, inner[0]!);
      else if (inner.length > 1) throw new LoaderError('format', { file: path, expected: 'one <tp>-gpu directory, or the path of one', got: inner.join(', '), hint: `pass e.g. ${join(path, inner[0]!)}` });
    }
    const iniFile = join(dir, 'config.ini');
    let text: string;
    try {
      text = readFileSync(iniFile, 'utf8');
    } catch (e) {
      throw new LoaderError('missing', { file: iniFile, expected: 'an FT checkpoint config.ini (the output of trtllm convert)', got: (e as Error).message });
    }
    const gpt = parseIni(text, iniFile).get('gpt');
    if (!gpt) throw new LoaderError('missing', { file: iniFile, item: '[gpt]', expected: 'a [gpt] section', got: 'none' });
    const get = (key: string): string => {
      const v = gpt.get(key);
      if (v === undefined) throw new LoaderError('missing', { file: iniFile, item: key, expected: `a ${key} key in [gpt]`, got: 'none' });
      return v;
    };
    const int = (key: string, fallback?: number): number => {
      const raw = gpt.get(key);
      if (raw === undefined || raw === 'None') {
        if (fallback !== undefined) return fallback;
        get(key);
      }
      const v = Number(raw);
      if (!Number.isInteger(v) || v <= 0) throw new LoaderError('format', { file: iniFile, item: key, expected: 'a positive integer', got: JSON.stringify(raw) });
      return v;
    };
    const bool = (key: string, fallback: boolean): boolean => {
      const raw = gpt.get(key)?.toLowerCase();
      if (raw === undefined) return fallback;
      if (['1', 'yes', 'true', 'on'].includes(raw)) return true;
      if (['0', 'no', 'false', 'off'].includes(raw)) return false;
      throw new LoaderError('format', { file: iniFile, item: key, expected: 'a boolean (True/False)', got: JSON.stringify(raw) });
    };
    const float = (key: string, fallback: number): number => {
      const raw = gpt.get(key);
      if (raw === undefined || raw === 'None') return fallback;
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new LoaderError('format', { file: iniFile, item: key, expected: 'a number', got: JSON.stringify(raw) });
      return v;
    };
    const storage = gpt.get('storage_dtype') ?? 'float32';
    if (!(storage in FT_STORAGE)) throw new LoaderError('dtype', { file: iniFile, item: 'storage_dtype', expected: Object.keys(FT_STORAGE).join(' | '), got: storage });
    const act = get('activation_function');
    // fast-swiglu: NeMo's name for SwiGLU with both halves in one GEMM (nemo-convert writes them as fc and gate)
    const activation = ['gelu', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh'].includes(act) ? 'gelu' : act === 'swiglu' || act === 'fast-swiglu' ? 'swiglu' : undefined;
    if (!activation) throw new LoaderError('format', { file: iniFile, item: 'activation_function', expected: 'gelu | gelu_new | gelu_fast | gelu_pytorch_tanh | swiglu | fast-swiglu', got: act });
    const dirTp = /^(\d+)-gpu$/.exec(dir.split(/[\\/]/).filter(Boolean).pop() ?? '');
    const tp = int('tensor_parallelism', dirTp ? Number(dirTp[1]) : 1);
    const nEmbd = int('n_embd');
    const nHead = int('n_head');
    let config: GptConfig;
    try {
      config = gptConfig({
        vocabSize: int('vocab_size'),
        nPositions: int('n_positions'),
        nEmbd,
        nHead,
        nLayer: int('n_layer'),
        nKvHead: bool('multi_query_mode', false) ? 1 : int('n_kv_head', nHead),
        intermediateSize: int('intermediate_size', int('n_inner', 4 * nEmbd)),
        activation,
        bias: bool('bias', true),
        // NeMo (bias = False) keeps LayerNorm β: the seed writes its files and TensorRT-LLM loads them
        ...(!bool('bias', true) && existsSync(join(dir, 'model.final_layernorm.bias.bin')) ? { layernormBias: true } : {}),
        rotaryPct: float('rotary_pct', 0),
        rotaryBase: float('rotary_base', 10000),
        layernormEps: float('layer_norm_epsilon', 1e-5),
        layernorm1p: bool('layernorm1p', false),
        dtype: FT_STORAGE[storage as FtStorageType],
      });
    } catch (e) {
      throw new LoaderError('format', { file: iniFile, expected: 'a consistent model config', got: (e as Error).message });
    }
    const ckpt = new FtCheckpoint(dir, config, tp, storage as FtStorageType, !existsSync(join(dir, 'model.lm_head.weight.bin')), gpt);
    ckpt.#checkFiles();
    return ckpt;
  }

  #checkFiles(): void {
    const bytes = DTYPES[this.config.dtype].bytes;
    for (const t of this.layout) {
      for (const f of ftFiles(this.config, t, this.tp)) {
        const path = join(this.dir, f.file);
        if (!existsSync(path)) throw new LoaderError('missing', { file: path, item: t.spec.path, expected: `${f.elements * bytes} bytes (${f.elements} × ${this.storage})`, got: 'no such file', hint: `re-run trtllm convert with -tp ${this.tp}` });
        const size = statSync(path).size;
        if (size !== f.elements * bytes) {
          throw new LoaderError('shape', { file: path, item: t.spec.path, expected: `${f.elements * bytes} bytes (${f.elements} × ${this.storage}, from config.ini)`, got: `${size} bytes`, hint: size < f.elements * bytes ? 'the file is truncated' : 'config.ini does not describe this file' });
        }
      }
    }
  }

  /** Rank `rank`'s shard of one tensor (the whole tensor when it is not split), in the storage dtype. */
  readShard(t: FtTensor, rank: number): Tensor<ActDType> {
    const files = ftFiles(this.config, t, this.tp);
    const f = files.length === 1 ? files[0]! : files[rank]!;
    const data = allocStorage(this.config.dtype, f.elements);
    const path = join(this.dir, f.file);
    const fd = openFile(path, `the ${t.spec.path} file of an FT checkpoint`);
    try {
      readFully(fd, new Uint8Array(data.buffer), 0, path, t.spec.path);
    } finally {
      closeSync(fd);
    }
    return tensor(this.config.dtype, shardShape(this.config, t.split, t.spec.shape, this.tp, rank), data);
  }

  /** One full tensor, its rank shards put back together (MQA K/V checked equal on every rank). */
  read(t: FtTensor): Tensor<ActDType> {
    if (t.split.kind === 'none') return this.readShard(t, 0);
    const shards = Array.from({ length: this.tp }, (_, r) => this.readShard(t, r));
    return mergeShards(this.config, t.split, shards, t.spec.shape, { fileOf: (r) => join(this.dir, `${t.key}.${r}.bin`), item: t.spec.path }) as Tensor<ActDType>;
  }

  /** α of a SmoothQuant checkpoint (config.ini `smoothquant`, written by convert -sq), else undefined. */
  get smoothQuantAlpha(): number | undefined {
    const v = this.ini.get('smoothquant');
    return v === undefined || v === 'None' ? undefined : Number(v);
  }

  /** One layer's SmoothQuant INT8 arrays, ranks merged (ft-int8.ts; typed errors name a missing or bad file). */
  readInt8<N extends Int8ArrayName = Int8ArrayName>(layer: number, linear: Int8LinearName, names?: readonly N[]): Pick<Int8Arrays, N> {
    return readFtInt8(this.dir, this.config, this.tp, layer, linear, names);
  }

  /** True when config.ini says the checkpoint was converted with -kv (calibrate_kv_cache = True). */
  get kvCacheCalibrated(): boolean {
    return this.ini.get('calibrate_kv_cache') === 'True';
  }

  /** Layer `layer`'s KV-cache calibration (ft-kv.ts): our K/V ranges and/or the seed's shared int8 scale. */
  readKvCache(layer: number): FtKvCacheCalibration {
    return readFtKvCache(this.dir, layer);
  }

  /** The FP8 calibration's max |x| of one linear layer's input (ft-fp8.ts; convert --qformat fp8). */
  readFp8Amax(layer: number, linear: Fp8LinearName): number {
    return readFtFp8Amax(this.dir, layer, linear);
  }

  /** True when config.ini says the checkpoint was converted with --qformat fp8 (qformat = fp8). */
  get fp8Calibrated(): boolean {
    return this.ini.get('qformat') === 'fp8';
  }

  /** The whole model (ranks merged) in `dtype` (default: the storage dtype). */
  loadModel(o: { readonly dtype?: ActDType } = {}): GptModel {
    const dtype = o.dtype ?? this.config.dtype;
    const config: GptConfig = { ...this.config, dtype };
    const byPath = new Map(this.layout.map((t) => [t.spec.path, t]));
    return { config, weights: assembleGptWeights(config, (spec) => castTo(this.read(byPath.get(spec.path)!), dtype), { lmHead: !this.tied }) };
  }
}
