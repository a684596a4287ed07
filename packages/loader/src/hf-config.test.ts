import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHfConfig } from './hf-config.js';

const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
const write = (name: string, cfg: object): string => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(cfg));
  return p;
};
const gpt2 = { model_type: 'gpt2', vocab_size: 1000, n_positions: 64, n_embd: 64, n_head: 4, n_layer: 2, activation_function: 'gelu_new', n_inner: null, layer_norm_epsilon: 1e-5 };

describe('HF config.json', () => {
  it('maps GPT-2 and GPTBigCode (multi_query → one KV head) to GptConfig', () => {
    expect(parseHfConfig(write('gpt2.json', gpt2)).config).toMatchObject({ vocabSize: 1000, nPositions: 64, nEmbd: 64, nHead: 4, nKvHead: 4, nLayer: 2, intermediateSize: 256, activation: 'gelu', bias: true });
    const bc = parseHfConfig(write('bc.json', { ...gpt2, model_type: 'gpt_bigcode', multi_query: true, n_inner: 200, activation_function: 'gelu_pytorch_tanh' }));
    expect(bc.architecture).toBe('gpt_bigcode');
    expect(bc.config).toMatchObject({ nKvHead: 1, intermediateSize: 200 });
  });
  it('names the file and the key that is missing, mistyped or unsupported', () => {
    const { n_head: _omit, ...noHead } = gpt2;
    expect(() => parseHfConfig(write('nohead.json', noHead))).toThrow(/nohead\.json: n_head: expected a positive integer, got undefined/);
    expect(() => parseHfConfig(write('llama.json', { ...gpt2, model_type: 'llama' }))).toThrow(/model_type: expected "gpt2" or "gpt_bigcode", got "llama"/);
    expect(() => parseHfConfig(write('relu.json', { ...gpt2, activation_function: 'relu' }))).toThrow(/activation_function/);
    expect(() => parseHfConfig(join(dir, 'absent.json'))).toThrow(/absent\.json: expected a readable JSON config/);
  });
});
