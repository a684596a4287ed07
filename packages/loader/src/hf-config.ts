/**
 * HF `config.json` → the oracle's GptConfig, for GPT-2 (`model_type: gpt2`), SantaCoder's original
 * release (`model_type: gpt2` + `attention_head_type: multiquery`, remote code GPT2LMHeadCustomModel)
 * and GPTBigCode (`gpt_bigcode`: StarCoder, SantaCoder re-released; `multi_query` → one KV head).
 * A missing or mistyped key is a LoaderError naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { gptConfig, type ActDType, type GptConfig } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';

export type HfArchitecture = 'gpt2' | 'gpt_bigcode';

/**
 * The checkpoint's weight layout, named as the seed's `--model` flag: `gpt2` (Conv1D [in, out],
 * fused c_attn), `santacoder` (Conv1D, q_attn + kv_attn, multi-query), `starcoder` (GPTBigCode:
 * nn.Linear [out, in], fused c_attn).
 */
export type HfGptKind = 'gpt2' | 'santacoder' | 'starcoder';

export interface HfModelConfig {
  readonly architecture: HfArchitecture;
  readonly kind: HfGptKind;
  readonly config: GptConfig;
  /** Whether lm_head shares wte (`tie_word_embeddings`, default true). */
  readonly tied: boolean;
  /** The raw JSON, for keys this mapping does not use. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Activations FT treats as the tanh GELU. */
const GELU_NAMES = ['gelu', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh'];

export function parseHfConfig(file: string, dtype: ActDType = 'f32'): HfModelConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new LoaderError('io', { file, expected: 'a readable JSON config', got: (e as Error).message });
  }
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (!Number.isInteger(v) || (v as number) <= 0) throw new LoaderError('missing', { file, item: key, expected: 'a positive integer', got: JSON.stringify(raw[key]) });
    return v as number;
  };
  const modelType = raw['model_type'];
  if (modelType !== 'gpt2' && modelType !== 'gpt_bigcode') {
    throw new LoaderError('format', { file, item: 'model_type', expected: '"gpt2" or "gpt_bigcode"', got: JSON.stringify(modelType), hint: 'GPT-2, SantaCoder and StarCoder checkpoints are supported' });
  }
  const act = String(raw['activation_function'] ?? 'gelu_new');
  if (!GELU_NAMES.includes(act)) throw new LoaderError('format', { file, item: 'activation_function', expected: GELU_NAMES.join(' | '), got: act });
  const headType = raw['attention_head_type'];
  if (headType !== undefined && headType !== 'multiquery' && headType !== 'multihead') {
    throw new LoaderError('format', { file, item: 'attention_head_type', expected: '"multiquery" or "multihead"', got: JSON.stringify(headType) });
  }
  const kind: HfGptKind = modelType === 'gpt_bigcode' ? 'starcoder' : headType === 'multiquery' ? 'santacoder' : 'gpt2';
  const multiQuery = kind === 'santacoder' || (kind === 'starcoder' && raw['multi_query'] !== false);
  const nEmbd = int('n_embd');
  const nHead = int('n_head');
  const inner = raw['n_inner'];
  const config = gptConfig({
    vocabSize: int('vocab_size'),
    nPositions: int('n_positions'),
    nEmbd,
    nHead,
    nLayer: int('n_layer'),
    nKvHead: multiQuery ? 1 : nHead,
    intermediateSize: inner === null || inner === undefined ? 4 * nEmbd : int('n_inner'),
    layernormEps: typeof raw['layer_norm_epsilon'] === 'number' ? raw['layer_norm_epsilon'] : 1e-5,
    dtype,
  });
  return { architecture: modelType, kind, config, tied: raw['tie_word_embeddings'] !== false, raw };
}
