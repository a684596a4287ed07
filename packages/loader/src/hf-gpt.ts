/**
 * HF GPT checkpoints → the canonical GPT tensors of ref-math (`gptWeightSpecs`: linear weights
 * [in, out], QKV columns = Q heads | K heads | V heads), one tensor at a time, for every layout:
 *
 *   gpt2        GPT2LMHeadModel: Conv1D weights are stored [in, out] (ours); `c_attn` is QKV [H, 3H].
 *   santacoder  the original release: Conv1D, `q_attn` [H, H] + `kv_attn` [H, 2·HS] → concatenated.
 *   starcoder   GPTBigCode: nn.Linear stores [out, in] → transposed. Multi-query `c_attn` columns are
 *               already Q | K | V; with multi_query false they are interleaved per head (q_h k_h v_h)
 *               and are reordered to Q heads | K heads | V heads.
 *
 * lm_head is read only when the config unties it (`tie_word_embeddings: false`); a tied checkpoint
 * that still stores it (torch.save of a state dict does) uses wte, as HF does. Tensors keep their
 * stored dtype here; `loadHfGpt` casts them to the requested dtype (exact when widening).
 */
import { join } from 'node:path';
import { assembleGptWeights, gptWeightSpecs, headSize, type ActDType, type GptConfig, type GptModel, type GptWeightSpec, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { parseHfConfig, type HfGptKind, type HfModelConfig } from './hf-config.js';
import { castTo, concatColumns, gatherColumns, transpose2d, type ColumnRange } from './layout.js';
import { openHfWeights, type HfWeightsFormat, type TensorSource } from './tensor-source.js';

export interface OpenHfOptions {
  /** The layout the caller expects (the seed's `--model`); checked against config.json. Default: detected. */
  readonly kind?: HfGptKind;
}

export interface LoadOptions extends OpenHfOptions {
  /** Dtype of the weights and activations of the returned model (default f32). */
  readonly dtype?: ActDType;
}

/** An open HF GPT checkpoint: its config and its canonical tensors, read on demand. */
export class HfGptCheckpoint {
  readonly dir: string;
  readonly hf: HfModelConfig;
  readonly format: HfWeightsFormat;
  /** The canonical tensors, in order (lmHead only when untied). */
  readonly specs: readonly GptWeightSpec[];
  readonly #src: TensorSource;
  readonly #prefix: string;

  private constructor(dir: string, hf: HfModelConfig, src: TensorSource & { format: HfWeightsFormat }) {
    this.dir = dir;
    this.hf = hf;
    this.#src = src;
    this.format = src.format;
    this.#prefix = src.info('transformer.wte.weight') ? 'transformer.' : '';
    this.specs = gptWeightSpecs(hf.config, { lmHead: !hf.tied });
  }

  static open(dir: string, o: OpenHfOptions = {}): HfGptCheckpoint {
    const cfgFile = join(dir, 'config.json');
    const hf = parseHfConfig(cfgFile);
    if (o.kind !== undefined && o.kind !== hf.kind) {
      throw new LoaderError('format', {
        file: cfgFile,
        item: 'model_type',
        expected: `a ${o.kind} checkpoint (--model ${o.kind})`,
        got: `a ${hf.kind} checkpoint (model_type ${hf.architecture}${hf.kind === 'santacoder' ? ', attention_head_type multiquery' : ''})`,
        hint: `pass --model ${hf.kind}, or leave --model out to use what config.json says`,
      });
    }
    const src = openHfWeights(dir);
    try {
      const ckpt = new HfGptCheckpoint(dir, hf, src);
      ckpt.#checkNames();
      return ckpt;
    } catch (e) {
      src.close();
      throw e;
    }
  }

  get config(): GptConfig {
    return this.hf.config;
  }

  get kind(): HfGptKind {
    return this.hf.kind;
  }

  /** One canonical tensor (stored dtype), checked against the config's shape. */
  read(spec: GptWeightSpec): Tensor {
    const t = this.#assemble(spec.path);
    if (t.shape.join() !== spec.shape.join()) {
      const names = this.#sourceNames(spec.path);
      throw new LoaderError('shape', { file: this.#src.info(names[0]!)?.file ?? this.#src.path, item: names.join(' + '), expected: `[${spec.shape.join(', ')}] for ${spec.path} (from config.json)`, got: `[${t.shape.join(', ')}]` });
    }
    return t;
  }

  close(): void {
    this.#src.close();
  }

  /** The checkpoint tensor names behind a canonical path. */
  #sourceNames(path: string): string[] {
    const p = this.#prefix;
    const top: Record<string, string> = { wte: `${p}wte.weight`, wpe: `${p}wpe.weight`, 'lnF.gamma': `${p}ln_f.weight`, 'lnF.beta': `${p}ln_f.bias`, lmHead: 'lm_head.weight' };
    if (top[path]) return [top[path]];
    const m = /^layers\.(\d+)\.(\w+)\.(\w+)$/.exec(path);
    if (!m) throw new Error(`unknown canonical tensor ${path}`);
    const [, n, part, leaf] = m as unknown as [string, string, string, string];
    const hfLeaf = leaf === 'gamma' ? 'weight' : leaf === 'beta' ? 'bias' : leaf;
    const module = { ln1: 'ln_1', ln2: 'ln_2', qkv: 'attn.c_attn', attnOut: 'attn.c_proj', fc: 'mlp.c_fc', proj: 'mlp.c_proj' }[part];
    if (!module) throw new Error(`unknown canonical tensor ${path}`);
    if (part === 'qkv' && this.kind === 'santacoder') return [`${p}h.${n}.attn.q_attn.${hfLeaf}`, `${p}h.${n}.attn.kv_attn.${hfLeaf}`];
    return [`${p}h.${n}.${module}.${hfLeaf}`];
  }

  #assemble(path: string): Tensor {
    const names = this.#sourceNames(path);
    const parts = names.map((n) => this.#src.read(n));
    if (names.length === 2) return concatColumns(parts);
    let t = parts[0]!;
    const isLinearWeight = /\.(qkv|attnOut|fc|proj)\.weight$/.test(path);
    if (this.kind === 'starcoder' && isLinearWeight) {
      if (t.shape.length !== 2) throw new LoaderError('shape', { file: this.#src.info(names[0]!)?.file ?? this.#src.path, item: names[0]!, expected: 'a matrix', got: `[${t.shape.join(', ')}]` });
      t = transpose2d(t);
    }
    if (this.kind === 'starcoder' && this.config.nKvHead === this.config.nHead && /\.qkv\.(weight|bias)$/.test(path)) t = gatherColumns(t, perHeadToBlocks(this.config));
    return t;
  }

  /** Every tensor the config implies must exist (a clear error before any conversion work). */
  #checkNames(): void {
    for (const spec of this.specs) {
      for (const n of this.#sourceNames(spec.path)) {
        const info = this.#src.info(n);
        if (!info) {
          throw new LoaderError('missing', { file: this.#src.path, item: n, expected: `the tensor for ${spec.path} of a ${this.kind} model`, got: 'none', hint: `config.json says ${this.hf.architecture}; the checkpoint has e.g. ${this.#src.names().slice(0, 3).join(', ')}` });
        }
        if (!info.dtype || !['f32', 'f16', 'bf16'].includes(info.dtype)) {
          throw new LoaderError('dtype', { file: info.file, item: n, expected: 'F32, F16 or BF16', got: info.storedAs, hint: 'convert the checkpoint to fp32/fp16/bf16' });
        }
      }
    }
  }
}

/** GPTBigCode multi-head c_attn columns (per head: q_h k_h v_h) → Q heads | K heads | V heads. */
function perHeadToBlocks(c: GptConfig): ColumnRange[] {
  const hs = headSize(c);
  const heads = Array.from({ length: c.nHead }, (_, h) => h);
  return [0, 1, 2].flatMap((which) => heads.map((h): ColumnRange => [(3 * h + which) * hs, hs]));
}

/** Load an HF GPT model directory (GPT-2, SantaCoder, StarCoder/GPTBigCode; any weights format) as a GptModel. */
export function loadHfGpt(dir: string, o: LoadOptions = {}): GptModel {
  const dtype = o.dtype ?? 'f32';
  const ckpt = HfGptCheckpoint.open(dir, o);
  try {
    const config: GptConfig = { ...ckpt.config, dtype };
    const weights = assembleGptWeights(config, (spec) => castTo(ckpt.read(spec), dtype), { lmHead: !ckpt.hf.tied });
    return { config, weights };
  } finally {
    ckpt.close();
  }
}
