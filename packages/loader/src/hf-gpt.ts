/**
 * HF GPT checkpoints → the oracle's GptWeights. GPT-2 (`GPT2LMHeadModel`): Conv1D weights are
 * stored [in, out], our layout; `c_attn` is the fused QKV [H, 3H]; lm_head tied to wte unless an
 * `lm_head.weight` exists. Weights convert to the requested dtype (exactly when widening).
 * Every expected tensor is checked for presence and shape, and named when it is wrong.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromF32, toF32, validateGptWeights, type ActDType, type GptModel, type GptWeights, type LayerNormWeights, type LinearWeights, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { parseHfConfig } from './hf-config.js';
import { SafetensorsFile } from './safetensors.js';

export interface LoadOptions {
  /** Dtype of the weights and activations of the returned model (default f32). */
  readonly dtype?: ActDType;
}

function cast(t: Tensor, dtype: ActDType): Tensor<ActDType> {
  if (t.dtype === dtype) return t as Tensor<ActDType>;
  return fromF32(dtype, t.shape, toF32(t));
}

/** Load an HF GPT-2 model directory (config.json + model.safetensors). */
export function loadHfGpt2(dir: string, o: LoadOptions = {}): GptModel {
  const dtype = o.dtype ?? 'f32';
  const cfgFile = join(dir, 'config.json');
  const { config, architecture } = parseHfConfig(cfgFile, dtype);
  if (architecture !== 'gpt2') throw new LoaderError('format', { file: cfgFile, item: 'model_type', expected: '"gpt2"', got: architecture, hint: 'GPTBigCode loading is not implemented yet' });
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) {
    throw new LoaderError('missing', { file, expected: 'model.safetensors', got: 'no such file', hint: existsSync(join(dir, 'pytorch_model.bin')) ? 'pytorch_model.bin is not read yet' : 'not an HF model directory' });
  }
  const st = SafetensorsFile.open(file);
  try {
    const prefix = st.entries.has('transformer.wte.weight') ? 'transformer.' : '';
    const get = (name: string, shape: readonly number[]): Tensor<ActDType> => {
      const t = st.read(prefix + name);
      if (t.shape.join() !== shape.join()) {
        throw new LoaderError('shape', { file, item: prefix + name, expected: `[${shape.join(', ')}] (from config.json)`, got: `[${t.shape.join(', ')}]` });
      }
      return cast(t, dtype);
    };
    const { nEmbd: h, vocabSize: v, intermediateSize: i, nPositions: p } = config;
    const ln = (name: string): LayerNormWeights => ({ gamma: get(`${name}.weight`, [h]), beta: get(`${name}.bias`, [h]) });
    const lin = (name: string, rows: number, cols: number): LinearWeights => ({ weight: get(`${name}.weight`, [rows, cols]), bias: get(`${name}.bias`, [cols]) });
    const layers = Array.from({ length: config.nLayer }, (_, n) => ({
      ln1: ln(`h.${n}.ln_1`),
      qkv: lin(`h.${n}.attn.c_attn`, h, 3 * h),
      attnOut: lin(`h.${n}.attn.c_proj`, h, h),
      ln2: ln(`h.${n}.ln_2`),
      fc: lin(`h.${n}.mlp.c_fc`, h, i),
      proj: lin(`h.${n}.mlp.c_proj`, i, h),
    }));
    const weights: GptWeights = {
      wte: get('wte.weight', [v, h]),
      wpe: get('wpe.weight', [p, h]),
      layers,
      lnF: ln('ln_f'),
      ...(st.entries.has('lm_head.weight') ? { lmHead: cast(st.read('lm_head.weight'), dtype) } : {}),
    };
    validateGptWeights(config, weights);
    return { config, weights };
  } finally {
    st.close();
  }
}
