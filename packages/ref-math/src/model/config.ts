/**
 * The GPT model family as one typed config (ARCHITECTURE.md, Model family): GPT-2, SantaCoder / StarCoder
 * (GPTBigCode, multi-query), NeMo GPT-Next (RoPE, SwiGLU, no bias, layernorm1p).
 * Field names follow TypeScript style; the FT `config.ini [gpt]` key is given for each.
 */
import { expectAttr } from '../check.js';
import type { ActDType } from '../dtype.js';
import { DEFAULT_LAYERNORM_EPS } from '../ops/layernorm.js';
import { DEFAULT_ROPE_BASE, rotaryDimOf } from '../ops/rope.js';

export type Activation = 'gelu' | 'swiglu';

export interface GptConfig {
  /** V: rows of the token embedding (`vocab_size`). */
  readonly vocabSize: number;
  /** P: learned positions, and the RoPE table length (`n_positions`). */
  readonly nPositions: number;
  /** H: hidden size (`n_embd`). */
  readonly nEmbd: number;
  /** NH: query heads (`n_head`). */
  readonly nHead: number;
  /** NKV: key/value heads: 1 = multi-query (`multi_query_mode`), nHead = multi-head. */
  readonly nKvHead: number;
  /** L: decoder layers (`n_layer`). */
  readonly nLayer: number;
  /** I: MLP width (`intermediate_size`, default 4·n_embd). */
  readonly intermediateSize: number;
  /** `gelu` (tanh form: gelu / gelu_new / gelu_fast) or `swiglu` (gated: proj(silu(fc x) · gate x)). */
  readonly activation: Activation;
  /** Linear layers carry biases (`bias`). */
  readonly bias: boolean;
  /**
   * LayerNorms carry β; absent: as `bias` (layernormBiasOf). NeMo keeps LayerNorm biases when its
   * linear layers have none (GPT-Next: `bias: false`, β present); an FT checkpoint says so by having
   * the LayerNorm bias files.
   */
  readonly layernormBias?: boolean;
  /** 0: learned absolute positions (wpe); > 0: NeoX RoPE on floor(HS·rotaryPct) dims (`rotary_pct`). */
  readonly rotaryPct: number;
  /** RoPE base (10000). */
  readonly rotaryBase: number;
  /** LayerNorm epsilon (1e-5). */
  readonly layernormEps: number;
  /** NeMo layernorm1p: LayerNorm weights are used as γ + 1 (`layernorm1p`). */
  readonly layernorm1p: boolean;
  /** T: dtype of weights and activations. */
  readonly dtype: ActDType;
  /** Dtype of the logits (fp32 by default, as TensorRT-LLM's `logits_dtype`). */
  readonly logitsDtype: ActDType;
}

export type GptConfigInput = Pick<GptConfig, 'vocabSize' | 'nPositions' | 'nEmbd' | 'nHead' | 'nLayer'> & Partial<GptConfig>;

/** A complete, validated config from the required fields and any overrides. */
export function gptConfig(input: GptConfigInput): GptConfig {
  const c: GptConfig = {
    nKvHead: input.nHead,
    intermediateSize: 4 * input.nEmbd,
    activation: 'gelu',
    bias: true,
    rotaryPct: 0,
    rotaryBase: DEFAULT_ROPE_BASE,
    layernormEps: DEFAULT_LAYERNORM_EPS,
    layernorm1p: false,
    dtype: 'f32',
    logitsDtype: 'f32',
    ...input,
  };
  const op = 'gptConfig';
  for (const key of ['vocabSize', 'nPositions', 'nEmbd', 'nHead', 'nKvHead', 'nLayer', 'intermediateSize'] as const) {
    expectAttr(op, key, Number.isInteger(c[key]) && c[key] > 0, 'an integer > 0', c[key]);
  }
  expectAttr(op, 'nEmbd', c.nEmbd % c.nHead === 0, `a multiple of nHead (${c.nHead})`, c.nEmbd);
  expectAttr(op, 'nKvHead', c.nHead % c.nKvHead === 0, `a divisor of nHead (${c.nHead})`, c.nKvHead);
  if (c.rotaryPct !== 0) rotaryDimOf(c.nEmbd / c.nHead, c.rotaryPct);
  return c;
}

/** Whether the LayerNorms carry β: `layernormBias` where given, else `bias`. */
export function layernormBiasOf(c: GptConfig): boolean {
  return c.layernormBias ?? c.bias;
}

/** HS: size of one attention head. */
export function headSize(c: GptConfig): number {
  return c.nEmbd / c.nHead;
}

/** Width of the fused QKV projection output: (NH + 2·NKV)·HS. */
export function qkvWidth(c: GptConfig): number {
  return (c.nHead + 2 * c.nKvHead) * headSize(c);
}

/** Published model shapes (weights are not included; these are for random-weight engines and benchmarks). */
export const GPT_SHAPES = {
  gpt2: { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nHead: 12, nLayer: 12 },
  'gpt2-medium': { vocabSize: 50257, nPositions: 1024, nEmbd: 1024, nHead: 16, nLayer: 24 },
  'gpt2-xl': { vocabSize: 50257, nPositions: 1024, nEmbd: 1600, nHead: 25, nLayer: 48 },
  santacoder: { vocabSize: 49280, nPositions: 2048, nEmbd: 2048, nHead: 16, nKvHead: 1, nLayer: 24 },
} as const satisfies Record<string, GptConfigInput>;
