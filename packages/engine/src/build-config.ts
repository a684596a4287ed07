/**
 * Build flags (the seed's examples/gpt/build.py names) → a typed BuildConfig, with the seed's
 * implied settings and its checks between flags (ARCHITECTURE.md, Compatibility with the seed), each refusal naming the flags and
 * the fix. Deliberate fixes of the seed's defects:
 *   - `--no_bias` means no bias (the seed's `store_false` made it mean "bias" for random weights);
 *   - a checkpoint's storage dtype never silently overrides an explicit `--dtype`: the weights are
 *     converted (exact when widening, nearest-even when narrowing) and the builder says so;
 *   - `--use_inflight_batching` turns on what it needs (attention plugin, paged KV cache, packed input)
 *     instead of asserting, as ARCHITECTURE.md, Compatibility with the seed specifies.
 */
import { NO_QUANT, type QuantConfig } from '@trtllm/quant';
import { gptConfig, type ActDType, type GptConfig, type KvQuantScales, type SmoothQuantMode } from '@trtllm/ref-math';
import { EngineError } from './errors.js';

/** `--dtype` names and our dtypes. */
export const DTYPE_NAMES = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' } as const satisfies Record<string, ActDType>;
export type DTypeName = keyof typeof DTYPE_NAMES;
export const dtypeName = (d: ActDType): DTypeName => (Object.keys(DTYPE_NAMES) as DTypeName[]).find((k) => DTYPE_NAMES[k] === d)!;

/** Flags as the seed spells them (all optional; defaults as the seed's). */
export interface BuildFlags {
  readonly model_dir?: string;
  readonly dtype?: DTypeName;
  readonly logits_dtype?: 'float32' | 'float16';
  readonly vocab_size?: number;
  readonly n_layer?: number;
  readonly n_positions?: number;
  readonly n_embd?: number;
  readonly n_head?: number;
  readonly hidden_act?: string;
  readonly inter_size?: number;
  readonly rotary_pct?: number;
  readonly no_bias?: boolean;
  readonly multi_query_mode?: boolean;
  readonly random_seed?: number;
  readonly world_size?: number;
  readonly max_batch_size?: number;
  readonly max_input_len?: number;
  readonly max_output_len?: number;
  readonly max_beam_width?: number;
  readonly max_num_tokens?: number;
  /** `true` = flag given without a value (use --dtype). */
  readonly use_gpt_attention_plugin?: DTypeName | true;
  readonly use_gemm_plugin?: DTypeName | true;
  readonly use_layernorm_plugin?: DTypeName | true;
  readonly use_lookup_plugin?: DTypeName | true;
  readonly enable_context_fmha?: boolean;
  readonly enable_context_fmha_fp32_acc?: boolean;
  readonly remove_input_padding?: boolean;
  readonly paged_kv_cache?: boolean;
  readonly tokens_per_block?: number;
  readonly use_inflight_batching?: boolean;
  readonly max_prompt_embedding_table_size?: number;
  readonly use_parallel_embedding?: boolean;
  readonly embedding_sharding_dim?: 0 | 1;
  readonly use_embedding_sharing?: boolean;
  readonly parallel_build?: boolean;
  readonly use_smooth_quant?: boolean;
  readonly per_token?: boolean;
  readonly per_channel?: boolean;
  readonly int8_kv_cache?: boolean;
  readonly enable_fp8?: boolean;
  readonly fp8_kv_cache?: boolean;
  readonly use_weight_only?: boolean;
}

export type ContextFmha = 'disabled' | 'enabled' | 'enabled_with_fp32_acc';
export type KvCacheLayoutConfig = { readonly kind: 'contiguous' } | { readonly kind: 'paged'; readonly tokensPerBlock: number };

/** What the engine is: the model, its limits, and the kernel paths chosen. */
export interface BuildConfig {
  readonly model: GptConfig;
  readonly worldSize: number;
  readonly maxBatchSize: number;
  readonly maxInputLen: number;
  readonly maxOutputLen: number;
  readonly maxBeamWidth: number;
  /** Tokens one forward step may carry (packed input); default maxBatchSize · maxInputLen. */
  readonly maxNumTokens: number;
  readonly plugins: {
    readonly gptAttention: ActDType | false;
    readonly gemm: ActDType | false;
    readonly layernorm: ActDType | false;
    readonly lookup: ActDType | false;
  };
  readonly contextFmha: ContextFmha;
  readonly removeInputPadding: boolean;
  readonly kvCache: KvCacheLayoutConfig;
  readonly inflightBatching: boolean;
  readonly maxPromptEmbeddingTableSize: number;
  readonly parallelEmbedding: false | { readonly shardingDim: 0 | 1 };
  readonly embeddingSharing: boolean;
  /**
   * What is quantized (weights/activations, KV cache); written to config.json as TensorRT-LLM's
   * quant_mode. `--use_smooth_quant [--per_token] [--per_channel]` (from a convert -sq checkpoint)
   * sets SmoothQuant, `--enable_fp8` (from a convert --qformat fp8 checkpoint) FP8 GEMMs,
   * `--int8_kv_cache` / `--fp8_kv_cache` (from a convert -kv checkpoint) the KV cache's storage;
   * `--use_weight_only` is refused.
   */
  readonly quant: QuantConfig;
  /**
   * With an int8 / fp8 KV cache (`--int8_kv_cache`, `--fp8_kv_cache`): each layer's K and V
   * dequantization scales, from the checkpoint's calibration (convert -kv) or given to buildEngine.
   */
  readonly kvCacheScales?: readonly KvQuantScales[];
  /** Messages about implied settings and conversions, for the builder's log. */
  readonly notes: readonly string[];
}

/** The SmoothQuant mode of an engine (what GptGraph runs its INT8 layers with), or undefined when it is not SmoothQuant. */
export function smoothQuantModeOf(c: BuildConfig): SmoothQuantMode | undefined {
  const w = c.quant.weights;
  return w.kind === 'smoothquant' ? { perToken: w.perToken, perChannel: w.perChannel } : undefined;
}

/** The model shape from a checkpoint (FT config.ini), when building from one. */
export interface CheckpointInfo {
  readonly config: GptConfig;
  readonly storage: DTypeName;
  readonly file: string;
}

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

function positive(flag: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new EngineError('config', { what: `--${flag}`, expected: 'a positive integer', got: String(v) });
  return n;
}

export function resolveBuildConfig(f: BuildFlags, checkpoint?: CheckpointInfo): BuildConfig {
  const notes: string[] = [];
  const refuse = (what: string, expected: string, got: string, hint?: string): never => {
    throw new EngineError('config', { what, expected, got, ...(hint ? { hint } : {}) });
  };
  if (f.enable_fp8 && f.use_smooth_quant) refuse('--enable_fp8 / --use_smooth_quant', 'one weight quantization: FP8 or SmoothQuant INT8', 'both');
  if (f.enable_fp8 && !checkpoint) refuse('--enable_fp8', 'a checkpoint with FP8 calibration (--model_dir of a convert --qformat fp8 output)', 'random weights (no --model_dir)', 'convert with trtllm convert --qformat fp8 --calib-dataset FILE, then build with --model_dir');
  if (f.use_weight_only) refuse('--use_weight_only', 'a flag this builder implements', 'given', 'weight-only quantization is not built: build without it');
  if (f.int8_kv_cache && f.fp8_kv_cache) refuse('--int8_kv_cache / --fp8_kv_cache', 'at most one of them (the cache has one storage type)', 'both');

  for (const flag of ['per_token', 'per_channel'] as const) {
    if (f[flag] && !f.use_smooth_quant) refuse(`--${flag}`, 'with --use_smooth_quant (it selects a SmoothQuant scaling mode)', 'alone', 'add --use_smooth_quant, or drop the flag');
  }
  if (f.use_smooth_quant && !checkpoint) refuse('--use_smooth_quant', 'a checkpoint with INT8 weights (--model_dir of a convert -sq output)', 'random weights (no --model_dir)', 'convert with trtllm convert -sq 0.5 --calib-dataset FILE, then build with --model_dir');
  // Model shape: the checkpoint's, else the flags' (seed defaults).
  let dtype: ActDType;
  if (checkpoint) {
    const explicit = f.dtype;
    dtype = DTYPE_NAMES[explicit ?? checkpoint.storage];
    if (explicit && explicit !== checkpoint.storage) notes.push(`converting the ${checkpoint.storage} weights of ${checkpoint.file} to --dtype ${explicit} (${DTYPE_NAMES[explicit] === 'f32' ? 'exact' : 'round to nearest even'})`);
  } else dtype = DTYPE_NAMES[f.dtype ?? 'float16'];
  if (!dtype) refuse('--dtype', 'float32 | float16 | bfloat16', String(f.dtype));
  const logitsDtype = f.logits_dtype === 'float16' ? 'f16' : 'f32';
  let model: GptConfig;
  if (checkpoint) {
    for (const flag of ['vocab_size', 'n_layer', 'n_positions', 'n_embd', 'n_head', 'hidden_act', 'inter_size', 'rotary_pct', 'no_bias', 'multi_query_mode'] as const) {
      if (f[flag] !== undefined) notes.push(`--${flag} ignored: the shape comes from ${checkpoint.file}`);
    }
    model = { ...checkpoint.config, dtype, logitsDtype };
  } else {
    const act = f.hidden_act ?? 'gelu';
    if (!['gelu', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh', 'swiglu'].includes(act)) refuse('--hidden_act', 'gelu | gelu_new | gelu_fast | swiglu', act);
    const nEmbd = positive('n_embd', f.n_embd, 1024);
    const nHead = positive('n_head', f.n_head, 16);
    try {
      model = gptConfig({
        vocabSize: positive('vocab_size', f.vocab_size, 51200),
        nLayer: positive('n_layer', f.n_layer, 24),
        nPositions: positive('n_positions', f.n_positions, 1024),
        nEmbd,
        nHead,
        nKvHead: f.multi_query_mode ? 1 : nHead,
        intermediateSize: positive('inter_size', f.inter_size, 4 * nEmbd),
        activation: act === 'swiglu' ? 'swiglu' : 'gelu',
        bias: !f.no_bias,
        rotaryPct: f.rotary_pct ?? 0,
        dtype,
        logitsDtype,
      });
    } catch (e) {
      throw new EngineError('config', { what: 'model shape flags', expected: 'a consistent shape', got: (e as Error).message });
    }
  }

  const worldSize = positive('world_size', f.world_size, 1);
  if (model.nHead % worldSize !== 0 || model.intermediateSize % worldSize !== 0) {
    refuse('--world_size', `a divisor of n_head (${model.nHead}) and inter_size (${model.intermediateSize})`, String(worldSize));
  }

  // Plugins: a bare flag takes --dtype (the seed's rule).
  const plugin = (v: DTypeName | true | undefined): ActDType | false => (v === undefined ? false : v === true ? dtype : DTYPE_NAMES[v]);
  let gptAttention = plugin(f.use_gpt_attention_plugin);
  let removeInputPadding = f.remove_input_padding ?? false;
  let paged = f.paged_kv_cache ?? false;
  if (f.use_inflight_batching) {
    const turnedOn = [!gptAttention && '--use_gpt_attention_plugin', !paged && '--paged_kv_cache', !removeInputPadding && '--remove_input_padding'].filter(Boolean);
    if (turnedOn.length) notes.push(`--use_inflight_batching turns on ${turnedOn.join(', ')}`);
    gptAttention ||= dtype;
    paged = true;
    removeInputPadding = true;
  }
  if (f.enable_context_fmha && f.enable_context_fmha_fp32_acc) refuse('--enable_context_fmha / --enable_context_fmha_fp32_acc', 'at most one of them', 'both');
  const contextFmha: ContextFmha = f.enable_context_fmha ? 'enabled' : f.enable_context_fmha_fp32_acc ? 'enabled_with_fp32_acc' : 'disabled';
  const needsPlugin = [
    contextFmha !== 'disabled' && (f.enable_context_fmha ? '--enable_context_fmha' : '--enable_context_fmha_fp32_acc'),
    paged && '--paged_kv_cache',
    model.rotaryPct > 0 && '--rotary_pct > 0 (RoPE)',
    removeInputPadding && '--remove_input_padding',
  ].filter((x): x is string => typeof x === 'string');
  if (f.fp8_kv_cache) needsPlugin.push('--fp8_kv_cache');
  if (!gptAttention && needsPlugin.length) refuse(needsPlugin.join(', '), 'the GPT attention plugin', 'no --use_gpt_attention_plugin', 'add --use_gpt_attention_plugin (or --use_inflight_batching, which implies it)');
  const tokensPerBlock = positive('tokens_per_block', f.tokens_per_block, 64);
  if (paged && !isPow2(tokensPerBlock)) refuse('--tokens_per_block', 'a power of two', String(tokensPerBlock));

  const maxBatchSize = positive('max_batch_size', f.max_batch_size, 256);
  const maxInputLen = positive('max_input_len', f.max_input_len, 200);
  const maxOutputLen = positive('max_output_len', f.max_output_len, 200);
  const maxBeamWidth = positive('max_beam_width', f.max_beam_width, 1);
  if (maxInputLen + maxOutputLen > model.nPositions) {
    refuse('--max_input_len + --max_output_len', `≤ n_positions (${model.nPositions})`, `${maxInputLen} + ${maxOutputLen}`, 'positions past n_positions have no embedding');
  }
  const maxNumTokens = positive('max_num_tokens', f.max_num_tokens, maxBatchSize * maxInputLen);
  if (maxNumTokens < maxInputLen) refuse('--max_num_tokens', `≥ --max_input_len (${maxInputLen}): one prompt must fit a step`, String(maxNumTokens));
  const shardingDim = f.embedding_sharding_dim ?? 0;
  if (f.use_embedding_sharing && f.use_parallel_embedding && shardingDim !== 0) {
    notes.push('--use_embedding_sharing ignored: embedding sharing needs --embedding_sharding_dim 0');
  }
  const tableSize = f.max_prompt_embedding_table_size ?? 0;
  if (!Number.isInteger(tableSize) || tableSize < 0) refuse('--max_prompt_embedding_table_size', 'an integer ≥ 0', String(tableSize));

  return {
    model,
    worldSize,
    maxBatchSize,
    maxInputLen,
    maxOutputLen,
    maxBeamWidth,
    maxNumTokens,
    plugins: { gptAttention, gemm: plugin(f.use_gemm_plugin), layernorm: plugin(f.use_layernorm_plugin), lookup: plugin(f.use_lookup_plugin) },
    contextFmha,
    removeInputPadding,
    kvCache: paged ? { kind: 'paged', tokensPerBlock } : { kind: 'contiguous' },
    inflightBatching: f.use_inflight_batching ?? false,
    maxPromptEmbeddingTableSize: tableSize,
    parallelEmbedding: f.use_parallel_embedding ? { shardingDim } : false,
    embeddingSharing: (f.use_embedding_sharing ?? false) && (!f.use_parallel_embedding || shardingDim === 0),
    quant: {
      weights: f.use_smooth_quant ? { kind: 'smoothquant', perToken: f.per_token ?? false, perChannel: f.per_channel ?? false } : f.enable_fp8 ? { kind: 'fp8' } : NO_QUANT.weights,
      kv: f.int8_kv_cache ? 'int8' : f.fp8_kv_cache ? 'fp8' : 'float',
    },
    notes,
  };
}
