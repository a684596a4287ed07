/**
 * NeMo Megatron GPT (`.nemo`) → FT checkpoint (`trtllm nemo-convert`, the seed's nemo_ckpt_convert.py):
 * the archive's config becomes a GptConfig, every tensor-parallel rank (and pipeline stage) of the
 * weights is merged into our canonical tensors and written split for any `-tp` through the same FT
 * layout as `trtllm convert`, with config.ini and the tokenizer beside them.
 *
 * NeMo → canonical (torch Linear weights are [out, in]; ours are [in, out]):
 *   embedding.word_embeddings.weight       wte: rows concatenated over ranks (NeMo's padded vocabulary)
 *   embedding.position_embeddings.weight   wpe (learned_absolute only)
 *   output_layer.weight                    lmHead: rows over ranks (absent when embeddings are shared)
 *   encoder.layers.N.input_layernorm.*     ln1 (γ + 1 for layernorm1p, in the checkpoint's dtype, then cast)
 *   ….self_attention.query_key_value.*     qkv: a rank's rows are (head, q|k|v, head_dim) → Q | K | V, heads in rank order
 *   ….self_attention.dense.*               attnOut: input rows over ranks
 *   ….post_attention_layernorm.*           ln2
 *   ….mlp.dense_h_to_4h.*                  fc; fast-swiglu: each rank's first half fc, second half gate
 *   ….mlp.dense_h_to_4h_2.*                gate (swiglu with two GEMMs)
 *   ….mlp.dense_4h_to_h.*                  proj: input rows over ranks
 *   encoder.final_layernorm.*              lnF
 *
 * Deliberate differences from the seed (also in the CLI help): rotary_pct is written only for
 * position_embedding_type rope (the seed copies rotary_percentage whatever the type, turning a
 * learned-position model into a RoPE one); plain swiglu's separate dense_h_to_4h_2 is its gate (the
 * seed halves dense_h_to_4h anyway); geglu / reglu / RMSNorm / grouped-query configs are refused by
 * name instead of written wrong; config.ini holds the keys the builder reads (the seed dumps a whole
 * transformers GPT2Config); eos / bos come from the tokenizer, as the seed does, and run uses them
 * (the seed's run.py hard-codes 50256).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocStorage, gptConfig, numel, tensor, toF32, fromF32, type ActDType, type GptConfig, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { writeDirAtomically } from './files.js';
import { FT_STORAGE, ftLayout, writeFtTensor, type FtStorageType } from './ft.js';
import { formatIni, pyFloatRepr } from './ini.js';
import { castTo, concatColumns, gatherColumns, sliceRows, transpose2d } from './layout.js';
import { NemoArchive } from './nemo.js';
import { SentencePieceTokenizer } from './sentencepiece.js';
import type { TorchCheckpoint } from './torch-bin.js';

/** What nemo-convert reads from model_config.yaml (NeMo's keys and defaults). */
export interface NemoModelConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly ffnHiddenSize: number;
  readonly maxPositions: number;
  /** NeMo's name, as written to config.ini's activation_function. */
  readonly activation: 'gelu' | 'fast-swiglu' | 'swiglu';
  readonly bias: boolean;
  readonly layernorm1p: boolean;
  readonly layernormEps: number;
  /** 0 for learned_absolute. */
  readonly rotaryPct: number;
  readonly rotaryBase: number;
  readonly shareEmbeddings: boolean;
  readonly tp: number;
  readonly pp: number;
  /** The tokenizer: a sentencepiece model, or GPT-2 BPE vocab + merges (archive members). */
  readonly tokenizer: { readonly library: string; readonly model?: string; readonly vocab?: string; readonly merges?: string };
}

/** model_config.yaml → NemoModelConfig, refusing what the engine cannot run, by key. */
export function nemoModelConfig(archive: NemoArchive): NemoModelConfig {
  const cfg = archive.config;
  const file = `${archive.path}:${archive.root ? `${archive.root}/` : ''}model_config.yaml`;
  const refuse = (key: string, expected: string, got: unknown, hint?: string): never => {
    throw new LoaderError('format', { file, item: key, expected, got: JSON.stringify(got) ?? 'undefined', ...(hint ? { hint } : {}) });
  };
  const num = (key: string, fallback?: number): number => {
    const raw = cfg[key] ?? fallback;
    // PyYAML writes 1.0e-05; a hand-edited 1e-5 is a string under YAML 1.1
    const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isFinite(v)) return refuse(key, 'a number', raw);
    return v;
  };
  const int = (key: string, fallback?: number): number => {
    const v = num(key, fallback);
    if (!Number.isInteger(v) || v < 1) refuse(key, 'a positive integer', cfg[key]);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = cfg[key] ?? fallback;
    return typeof v === 'boolean' ? v : refuse(key, 'true or false', v);
  };
  const str = (key: string, fallback: string): string => {
    const v = cfg[key] ?? fallback;
    return typeof v === 'string' ? v : refuse(key, 'a string', v);
  };
  if (cfg['mcore_gpt'] === true) refuse('mcore_gpt', 'false (Megatron-LM legacy GPT, as the seed reads)', true, 'Megatron-core checkpoints (model.decoder.layers.*) are not read');
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const kv = cfg['kv_channels'];
  if (kv !== undefined && kv !== null && kv !== hiddenSize / numHeads) refuse('kv_channels', `null or hidden_size / num_attention_heads (${hiddenSize / numHeads})`, kv);
  const groups = cfg['num_query_groups'];
  if (groups !== undefined && groups !== null && groups !== numHeads) refuse('num_query_groups', `null or num_attention_heads (${numHeads}): FT checkpoints have no grouped-query layout`, groups);
  const act = str('activation', 'gelu');
  if (act !== 'gelu' && act !== 'fast-swiglu' && act !== 'swiglu') refuse('activation', 'gelu | fast-swiglu | swiglu', act, 'geglu, reglu and squared-relu have no kernel here');
  // the engine's GELU is the tanh form: NeMo uses it with openai_gelu, or fused with the bias (bias_activation_fusion, the default); else erf
  if (act === 'gelu' && cfg['openai_gelu'] !== true && (cfg['bias_activation_fusion'] === false || cfg['bias'] === false)) {
    refuse('activation', 'the tanh GELU (openai_gelu: true, or gelu fused with its bias)', 'gelu in its erf form', 'the engine has no erf GELU kernel');
  }
  // what the engine computes in one way only: pre-LayerNorm blocks, 1/√d attention scores, no head scaling
  const only = (key: string, want: unknown, fallback: unknown): void => {
    const v = cfg[key] ?? fallback;
    if (v !== want) refuse(key, `${JSON.stringify(want)} (the engine runs pre-LN GPT blocks with 1/√d attention)`, v);
  };
  only('transformer_block_type', 'pre_ln', 'pre_ln');
  only('normalize_attention_scores', true, true);
  only('headscale', false, false);
  only('apply_residual_connection_post_layernorm', false, false);
  const norm = str('normalization', 'layernorm');
  if (norm !== 'layernorm' && norm !== 'layernorm1p') refuse('normalization', 'layernorm | layernorm1p', norm, 'RMSNorm has no kernel here');
  const pos = str('position_embedding_type', 'learned_absolute');
  if (pos !== 'learned_absolute' && pos !== 'rope') refuse('position_embedding_type', 'learned_absolute | rope', pos);
  let rotaryPct = 0;
  if (pos === 'rope') {
    rotaryPct = num('rotary_percentage', 1);
    if (!(rotaryPct > 0 && rotaryPct <= 1)) refuse('rotary_percentage', 'in (0, 1]', rotaryPct);
  }
  if (cfg['seq_len_interpolation_factor'] !== undefined && cfg['seq_len_interpolation_factor'] !== null) refuse('seq_len_interpolation_factor', 'null (no RoPE scaling)', cfg['seq_len_interpolation_factor']);
  const tok = cfg['tokenizer'];
  if (typeof tok !== 'object' || tok === null) refuse('tokenizer', 'a tokenizer section (library, model or vocab_file + merge_file)', tok, 'the model cannot be run without its tokenizer');
  const t = tok as Record<string, unknown>;
  const library = typeof t['library'] === 'string' ? t['library'] : refuse('tokenizer.library', 'sentencepiece | megatron | huggingface', t['library']);
  const model = archive.artifact(t['model'], 'tokenizer.model');
  const vocab = archive.artifact(t['vocab_file'], 'tokenizer.vocab_file');
  const merges = archive.artifact(t['merge_file'], 'tokenizer.merge_file');
  if (library === 'sentencepiece' ? !model : !(vocab && merges)) {
    refuse('tokenizer', library === 'sentencepiece' ? 'model: nemo:<name>.model (a sentencepiece model in the archive)' : 'vocab_file and merge_file in the archive (GPT-2 BPE)', t);
  }
  return {
    hiddenSize,
    numLayers: int('num_layers'),
    numHeads,
    ffnHiddenSize: int('ffn_hidden_size', 4 * hiddenSize),
    maxPositions: int('max_position_embeddings'),
    activation: act as NemoModelConfig['activation'],
    bias: bool('bias', true),
    layernorm1p: norm === 'layernorm1p',
    layernormEps: num('layernorm_epsilon', 1e-5),
    rotaryPct,
    rotaryBase: pos === 'rope' ? num('rotary_base', 10000) : 10000,
    shareEmbeddings: bool('share_embeddings_and_output_weights', true),
    tp: int('tensor_model_parallel_size', 1),
    pp: int('pipeline_model_parallel_size', 1),
    tokenizer: { library, ...(model ? { model } : {}), ...(vocab ? { vocab } : {}), ...(merges ? { merges } : {}) },
  };
}

export interface NemoConvertOptions {
  /** `-i/--in-file`: a .nemo file or its unpacked directory. */
  readonly inFile: string;
  /** `-o/--out-dir`: the checkpoint goes to `<outDir>/<tp>-gpu`. */
  readonly outDir: string;
  /** `-tp/--tensor-parallelism` (default 1): a divisor of the heads and of the MLP width, whatever the training TP. */
  readonly tp?: number;
  /** `-t/--storage-type` (default float32). */
  readonly storage?: FtStorageType;
  readonly onProgress?: (p: { readonly tensorsDone: number; readonly tensors: number }) => void;
}

export interface NemoConvertResult {
  readonly dir: string;
  readonly files: number;
  readonly config: GptConfig;
  readonly nemo: NemoModelConfig;
  /** The tokenizer file written beside the weights (tokenizer.model, or vocab.json + merges.txt). */
  readonly tokenizer: readonly string[];
  readonly eos: number;
  readonly bos: number;
}

/** The rank checkpoints of a NeMo archive and our canonical tensors assembled from them. */
class NemoWeights {
  readonly #archive: NemoArchive;
  readonly #m: NemoModelConfig;
  /** ranks[tp][pp] */
  readonly #ranks: TorchCheckpoint[][];
  /** What precedes `language_model.` in every key (`model.`, or `model.module.` under megatron_amp_O2). */
  readonly #prefix: string;

  constructor(archive: NemoArchive, m: NemoModelConfig) {
    this.#archive = archive;
    this.#m = m;
    this.#ranks = [];
    try {
      for (let tp = 0; tp < m.tp; tp++) {
        const stages: TorchCheckpoint[] = [];
        this.#ranks.push(stages);
        for (let pp = 0; pp < m.pp; pp++) stages.push(archive.checkpoint(archive.weightsMember(tp, pp, m.tp, m.pp)));
      }
    } catch (e) {
      this.close();
      throw e;
    }
    const first = this.#ranks[0]![0]!;
    const names = first.names();
    const wte = names.find((n) => n.endsWith('language_model.embedding.word_embeddings.weight'));
    if (!wte) {
      const mcore = names.some((n) => n.includes('decoder.layers.'));
      this.close();
      throw new LoaderError('format', { file: first.path, item: 'language_model.embedding.word_embeddings.weight', expected: 'a NeMo Megatron GPT state dict (model.language_model.*)', got: `keys ${names.slice(0, 3).join(', ')}`, hint: mcore ? 'a Megatron-core checkpoint (model.decoder.layers.*): not read' : 'is this a GPT model?' });
    }
    this.#prefix = wte.slice(0, wte.length - 'language_model.embedding.word_embeddings.weight'.length);
  }

  /** `language_model.<key>` of rank (tp, pp), its shape checked. */
  read(tp: number, pp: number, key: string, shape: readonly number[]): Tensor {
    const ck = this.#ranks[tp]![pp]!;
    const name = `${this.#prefix}language_model.${key}`;
    const info = ck.info(name);
    if (!info) throw new LoaderError('missing', { file: ck.path, item: name, expected: `a tensor [${shape.join(', ')}]`, got: 'none', hint: 'the state dict does not match model_config.yaml' });
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new LoaderError('shape', { file: ck.path, item: name, expected: `[${shape.join(', ')}] (from model_config.yaml)`, got: `[${info.shape.join(', ')}]`, hint: 'the state dict contradicts model_config.yaml' });
    }
    return ck.read(name);
  }

  has(tp: number, pp: number, key: string): boolean {
    return this.#ranks[tp]![pp]!.info(`${this.#prefix}language_model.${key}`) !== undefined;
  }

  /** Rows of every rank's word embeddings (NeMo pads the vocabulary per rank). */
  vocabRows(): number {
    let rows = 0;
    for (let tp = 0; tp < this.#m.tp; tp++) {
      const ck = this.#ranks[tp]![0]!;
      const info = ck.info(`${this.#prefix}language_model.embedding.word_embeddings.weight`);
      if (!info || info.shape.length !== 2 || info.shape[1] !== this.#m.hiddenSize) {
        throw new LoaderError('shape', { file: ck.path, item: 'embedding.word_embeddings.weight', expected: `[vocab / ${this.#m.tp}, ${this.#m.hiddenSize}]`, got: info ? `[${info.shape.join(', ')}]` : 'none' });
      }
      rows += info.shape[0]!;
    }
    return rows;
  }

  /** The canonical tensor at `path` (GptWeightSpec paths), in the checkpoint's dtype. */
  canonical(path: string, config: GptConfig): Tensor {
    const m = this.#m;
    const h = m.hiddenSize;
    const nTp = m.tp;
    const last = m.pp - 1;
    const ranks = Array.from({ length: nTp }, (_, r) => r);
    const vocabPart = config.vocabSize / nTp;
    if (path === 'wte') return concatRows(ranks.map((r) => this.read(r, 0, 'embedding.word_embeddings.weight', [vocabPart, h])));
    if (path === 'wpe') return this.read(0, 0, 'embedding.position_embeddings.weight', [m.maxPositions, h]);
    if (path === 'lmHead') return concatRows(ranks.map((r) => this.read(r, last, 'output_layer.weight', [vocabPart, h])));
    if (path === 'lnF.gamma') return this.#gamma(this.read(0, last, 'encoder.final_layernorm.weight', [h]));
    if (path === 'lnF.beta') return this.read(0, last, 'encoder.final_layernorm.bias', [h]);
    const lm = /^layers\.(\d+)\.(\w+)\.(\w+)$/.exec(path);
    if (!lm) throw new LoaderError('missing', { file: this.#archive.path, item: path, expected: 'a canonical GPT tensor nemo-convert maps', got: 'no NeMo source for it' });
    const perStage = m.numLayers / m.pp;
    const n = Number(lm[1]);
    const pp = Math.floor(n / perStage);
    const base = `encoder.layers.${n - pp * perStage}.`;
    const part = lm[2]!;
    const leaf = lm[3]!; // weight | bias | gamma | beta
    const at = (r: number, key: string, shape: readonly number[]): Tensor => this.read(r, pp, base + key, shape);
    const local = h / nTp; // attention width per rank
    const heads = m.numHeads / nTp;
    const hd = h / m.numHeads;
    const ffn = m.ffnHiddenSize / nTp;
    const fast = m.activation === 'fast-swiglu';
    switch (part) {
      case 'ln1':
      case 'ln2': {
        const key = part === 'ln1' ? 'input_layernorm' : 'post_attention_layernorm';
        return leaf === 'gamma' ? this.#gamma(at(0, `${key}.weight`, [h])) : at(0, `${key}.bias`, [h]);
      }
      case 'qkv': {
        // a rank's outputs are (head, q|k|v, d): regroup as q | k | v, then each of q, k, v over ranks
        const perRank = ranks.map((r) => {
          const t = leaf === 'weight' ? transpose2d(at(r, 'self_attention.query_key_value.weight', [3 * local, h])) : at(r, 'self_attention.query_key_value.bias', [3 * local]);
          return gatherColumns(t, [0, 1, 2].flatMap((j) => Array.from({ length: heads }, (_, k) => [(k * 3 + j) * hd, hd] as const)));
        });
        const all = concatColumns(perRank);
        return gatherColumns(all, [0, 1, 2].flatMap((j) => ranks.map((r) => [r * 3 * local + j * local, local] as const)));
      }
      case 'attnOut':
        return leaf === 'weight' ? concatRows(ranks.map((r) => transpose2d(at(r, 'self_attention.dense.weight', [h, local])))) : at(0, 'self_attention.dense.bias', [h]);
      case 'proj':
        return leaf === 'weight' ? concatRows(ranks.map((r) => transpose2d(at(r, 'mlp.dense_4h_to_h.weight', [h, ffn])))) : at(0, 'mlp.dense_4h_to_h.bias', [h]);
      case 'fc':
      case 'gate': {
        // fast-swiglu: one GEMM of 2·ffn outputs per rank, its first half activated (fc), its second the gate
        const key = fast || part === 'fc' ? 'mlp.dense_h_to_4h' : 'mlp.dense_h_to_4h_2';
        const rows = fast ? 2 * ffn : ffn;
        const half = fast ? (part === 'fc' ? 0 : ffn) : 0;
        const perRank = ranks.map((r) => {
          if (leaf === 'weight') return transpose2d(sliceRows(at(r, `${key}.weight`, [rows, h]), half, ffn));
          return gatherColumns(at(r, `${key}.bias`, [rows]), [[half, ffn]]);
        });
        return concatColumns(perRank);
      }
      default:
        throw new LoaderError('missing', { file: this.#archive.path, item: path, expected: 'a canonical GPT tensor nemo-convert maps', got: 'no NeMo source for it' });
    }
  }

  /** layernorm1p stores γ − 1: add 1 in the checkpoint's dtype (as the seed does, before the storage cast). */
  #gamma(t: Tensor): Tensor {
    if (!this.#m.layernorm1p) return t;
    // a new array: toF32's is the tensor's own for f32 (writing it changed the checkpoint's γ in place)
    const f = Float32Array.from(toF32(t), (v) => Math.fround(v + 1));
    return fromF32(t.dtype as ActDType, t.shape, f);
  }

  close(): void {
    for (const stages of this.#ranks) for (const ck of stages) ck.close();
  }
}

/** [R_i, …] tensors stacked along axis 0. */
function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0]!;
  const rows = parts.reduce((s, p) => s + p.shape[0]!, 0);
  const data = allocStorage(first.dtype, numel([rows, ...first.shape.slice(1)]));
  const out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  for (const p of parts) {
    const b = new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    out.set(b, o);
    o += b.length;
  }
  return tensor(first.dtype, [rows, ...first.shape.slice(1)], data);
}

/** Convert a .nemo to an FT checkpoint; all of `<outDir>/<tp>-gpu` appears at the end or nothing does. */
export async function convertNemoToFt(o: NemoConvertOptions): Promise<NemoConvertResult> {
  const tp = o.tp ?? 1;
  const storage = o.storage ?? 'float32';
  if (!Number.isInteger(tp) || tp < 1) throw new LoaderError('format', { file: o.outDir, item: '-tp', expected: 'a positive integer', got: String(tp) });
  if (!(storage in FT_STORAGE)) throw new LoaderError('dtype', { file: o.outDir, item: '-t', expected: Object.keys(FT_STORAGE).join(' | '), got: String(storage) });
  const archive = await NemoArchive.open(o.inFile);
  try {
    const m = nemoModelConfig(archive);
    if (m.numLayers % m.pp !== 0) throw new LoaderError('format', { file: o.inFile, item: 'pipeline_model_parallel_size', expected: `a divisor of num_layers (${m.numLayers})`, got: String(m.pp) });
    for (const [key, n] of [['num_attention_heads', m.numHeads], ['ffn_hidden_size', m.ffnHiddenSize]] as const) {
      if (n % m.tp !== 0) throw new LoaderError('format', { file: o.inFile, item: key, expected: `a multiple of tensor_model_parallel_size (${m.tp})`, got: String(n) });
    }
    // the tokenizer first: a model that cannot be tokenized is refused before anything is written
    const tokFiles: [member: string, name: string][] = m.tokenizer.model ? [[m.tokenizer.model, 'tokenizer.model']] : [[m.tokenizer.vocab!, 'vocab.json'], [m.tokenizer.merges!, 'merges.txt']];
    // GPT-2 BPE: <|endoftext|> (50256) both; sentencepiece: its </s> and <s> control pieces (−1: none)
    let eos = 50256;
    let bos = 50256;
    if (m.tokenizer.model) {
      const sp = SentencePieceTokenizer.fromBytes(archive.read(m.tokenizer.model), `${o.inFile}:${m.tokenizer.model}`);
      eos = sp.specialIds.eos ?? -1;
      bos = sp.specialIds.bos ?? -1;
    }
    const weights = new NemoWeights(archive, m);
    try {
      const vocabSize = weights.vocabRows();
      const lnBias = weights.has(0, m.pp - 1, 'encoder.final_layernorm.bias');
      const dtype = FT_STORAGE[storage];
      let config: GptConfig;
      try {
        config = gptConfig({
          vocabSize,
          nPositions: m.maxPositions,
          nEmbd: m.hiddenSize,
          nHead: m.numHeads,
          nLayer: m.numLayers,
          intermediateSize: m.ffnHiddenSize,
          activation: m.activation === 'gelu' ? 'gelu' : 'swiglu',
          bias: m.bias,
          layernormBias: lnBias,
          rotaryPct: m.rotaryPct,
          rotaryBase: m.rotaryBase,
          layernormEps: m.layernormEps,
          dtype,
        });
      } catch (e) {
        throw new LoaderError('format', { file: `${o.inFile}:model_config.yaml`, expected: 'a consistent model config', got: (e as Error).message });
      }
      if (m.shareEmbeddings === weights.has(0, m.pp - 1, 'output_layer.weight')) {
        throw new LoaderError('format', { file: `${o.inFile}:model_config.yaml`, item: 'share_embeddings_and_output_weights', expected: `${!m.shareEmbeddings} (the state dict ${m.shareEmbeddings ? 'has' : 'lacks'} output_layer.weight)`, got: String(m.shareEmbeddings) });
      }
      const layout = ftLayout(config, { tp, lmHead: !m.shareEmbeddings, file: o.inFile });

      const final = await writeDirAtomically(o.outDir, `${tp}-gpu`, (partial) => {
        writeFileSync(join(partial, 'config.ini'), nemoConfigIni(o, m, config, tp, storage, eos, bos));
        let done = 0;
        for (const t of layout) {
          writeFtTensor(partial, config, t, tp, castTo(weights.canonical(t.spec.path, config), dtype));
          o.onProgress?.({ tensorsDone: ++done, tensors: layout.length });
        }
        for (const [member, name] of tokFiles) writeFileSync(join(partial, name), archive.read(member));
      });
      return { dir: final, files: readdirSync(final).length, config, nemo: m, tokenizer: tokFiles.map(([, n]) => n), eos, bos };
    } finally {
      weights.close();
    }
  } finally {
    archive.close();
  }
}

/** config.ini [gpt]: the arguments, then the keys the builder reads (NeMo's names where it has them). */
function nemoConfigIni(o: NemoConvertOptions, m: NemoModelConfig, c: GptConfig, tp: number, storage: FtStorageType, eos: number, bos: number): string {
  const py = (b: boolean): string => (b ? 'True' : 'False');
  return formatIni([
    [
      'gpt',
      [
        ['out_dir', o.outDir],
        ['in_file', o.inFile],
        ['tensor_parallelism', String(tp)],
        ['storage_type', storage],
        ['model', 'nemo-gpt'],
        ['n_embd', String(c.nEmbd)],
        ['n_head', String(c.nHead)],
        ['n_layer', String(c.nLayer)],
        ['n_positions', String(c.nPositions)],
        ['vocab_size', String(c.vocabSize)],
        ['intermediate_size', String(c.intermediateSize)],
        ['activation_function', m.activation],
        ['bias', py(c.bias)],
        ['layer_norm_epsilon', pyFloatRepr(c.layernormEps)],
        ['rotary_pct', pyFloatRepr(c.rotaryPct)],
        ['rotary_base', pyFloatRepr(c.rotaryBase)],
        ['eos_token_id', String(eos)],
        ['bos_token_id', String(bos)],
        ['storage_dtype', storage],
        ['multi_query_mode', 'False'],
      ],
    ],
  ]);
}

/** One task of a NeMo prompt-learning checkpoint, in model_config.yaml's task_templates order. */
export interface NemoPromptTask {
  /** Its row in the table (what `run --prompt_tasks` / the seed's `--tasks` take). */
  readonly id: number;
  readonly name: string;
  /** [virtual tokens, hidden], float32. */
  readonly rows: Tensor<'f32'>;
}

/**
 * The prompt table of a p-tuning / prompt-tuning `.nemo` (the seed's nemo_prompt_convert.py): each
 * task of `task_templates` whose `prompt_table.<task>.prompt_embeddings.weight` the state dict holds
 * (under its 'prompt_table' key), padded with zero rows to the longest, as [tasks, Pt, H] float32.
 * Tasks without weights are skipped (and not numbered), as the seed does.
 */
export async function readNemoPromptTable(file: string): Promise<{ readonly tasks: readonly NemoPromptTask[]; readonly skipped: readonly string[]; readonly table: Tensor<'f32'> }> {
  const archive = await NemoArchive.open(file);
  try {
    const cfgFile = `${file}:model_config.yaml`;
    const templates = archive.config['task_templates'];
    if (!Array.isArray(templates) || templates.length === 0) throw new LoaderError('format', { file: cfgFile, item: 'task_templates', expected: 'a list of tasks (a prompt-learning .nemo)', got: JSON.stringify(templates) ?? 'none', hint: 'pass the p-tuning / prompt-tuning .nemo, not the base model' });
    // prompt tables are not sharded: rank 0 (stage 0) holds them, wherever the archive puts its ranks
    const size = (key: string): number => (typeof archive.config[key] === 'number' ? (archive.config[key] as number) : 1);
    const member = archive.weightsMember(0, 0, size('tensor_model_parallel_size'), size('pipeline_model_parallel_size'));
    const ck = archive.checkpoint(member, { dict: ['prompt_table'] });
    try {
      const tasks: NemoPromptTask[] = [];
      const skipped: string[] = [];
      let hidden: number | undefined;
      for (const t of templates as unknown[]) {
        const name = (t as { taskname?: unknown } | null)?.taskname;
        if (typeof name !== 'string') throw new LoaderError('format', { file: cfgFile, item: 'task_templates[].taskname', expected: 'a task name', got: JSON.stringify(name) ?? 'none' });
        const key = `prompt_table.${name}.prompt_embeddings.weight`;
        const info = ck.info(key);
        if (!info) {
          skipped.push(name);
          continue;
        }
        if (info.shape.length !== 2 || (hidden !== undefined && info.shape[1] !== hidden)) {
          throw new LoaderError('shape', { file: ck.path, item: key, expected: `[virtual tokens, ${hidden ?? 'hidden'}]`, got: `[${info.shape.join(', ')}]` });
        }
        hidden = info.shape[1]!;
        tasks.push({ id: tasks.length, name, rows: castTo(ck.read(key), 'f32') });
      }
      if (tasks.length === 0) throw new LoaderError('missing', { file: ck.path, item: 'prompt_table.<task>.prompt_embeddings.weight', expected: `the weights of a task of task_templates (${(templates as { taskname?: string }[]).map((t) => t.taskname).join(', ')})`, got: 'none' });
      const pt = Math.max(...tasks.map((t) => t.rows.shape[0]!));
      const h = hidden!;
      const data = new Float32Array(tasks.length * pt * h);
      tasks.forEach((t, i) => data.set(t.rows.data, i * pt * h)); // zero rows pad the shorter tasks
      return { tasks, skipped, table: tensor('f32', [tasks.length, pt, h], data) };
    } finally {
      ck.close();
    }
  } finally {
    archive.close();
  }
}
