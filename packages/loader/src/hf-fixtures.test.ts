// Tiny random-weight HF checkpoints made by transformers (scripts/fixtures/hf_tiny_fixtures.py on the
// GPU machine): every layout (GPT-2 Conv1D, GPTBigCode Linear MQA and MHA, SantaCoder q_attn/kv_attn)
// in every container (safetensors, sharded safetensors, torch .bin) and dtype (fp32, fp16) loads to a
// model whose ref-math forward reproduces HF's fp32 logits at every position and HF's greedy tokens.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createGptKvCache, greedyGenerate, gptForward, toF32 } from '@trtllm/ref-math';
import { HfGptCheckpoint, loadHfGpt } from './hf-gpt.js';
import { SafetensorsFile } from './safetensors.js';

const TINY = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/tiny');

interface Reference {
  prompts: number[][];
  greedy32: number[][];
  greedy16: number[][];
}

const CASES: readonly { dir: string; ref: string; kind: string; format: string; fp16: boolean }[] = [
  { dir: 'gpt2/st-fp32', ref: 'gpt2', kind: 'gpt2', format: 'safetensors', fp16: false },
  { dir: 'gpt2/st-fp16', ref: 'gpt2', kind: 'gpt2', format: 'safetensors', fp16: true },
  { dir: 'gpt2/bin-fp32', ref: 'gpt2', kind: 'gpt2', format: 'pytorch', fp16: false },
  { dir: 'gpt2/bin-fp16', ref: 'gpt2', kind: 'gpt2', format: 'pytorch', fp16: true },
  { dir: 'gpt2/sharded-fp32', ref: 'gpt2', kind: 'gpt2', format: 'safetensors-sharded', fp16: false },
  { dir: 'bigcode-mqa/st-fp32', ref: 'bigcode-mqa', kind: 'starcoder', format: 'safetensors', fp16: false },
  { dir: 'bigcode-mqa/bin-fp16', ref: 'bigcode-mqa', kind: 'starcoder', format: 'pytorch', fp16: true },
  { dir: 'bigcode-mha/st-fp32', ref: 'bigcode-mha', kind: 'starcoder', format: 'safetensors', fp16: false },
  { dir: 'santacoder/bin-fp32', ref: 'bigcode-mqa', kind: 'santacoder', format: 'pytorch', fp16: false },
  { dir: 'santacoder/st-fp16', ref: 'bigcode-mqa', kind: 'santacoder', format: 'safetensors', fp16: true },
];

describe('HF fixtures: the ref-math forward on every loaded layout reproduces HF (fp32 logits ≤ 1e-4, greedy exact)', () => {
  for (const c of CASES) {
    it(`${c.dir} (${c.kind}, ${c.format})`, () => {
      const ckpt = HfGptCheckpoint.open(resolve(TINY, c.dir));
      expect([ckpt.kind, ckpt.format]).toEqual([c.kind, c.format]);
      ckpt.close();
      const model = loadHfGpt(resolve(TINY, c.dir), { dtype: 'f32' });
      expect(model.config.nKvHead).toBe(c.ref === 'bigcode-mqa' ? 1 : 4);
      const ref = JSON.parse(readFileSync(resolve(TINY, c.ref, 'reference.json'), 'utf8')) as Reference;
      const logitsRef = SafetensorsFile.open(resolve(TINY, c.ref, 'reference.safetensors'));
      let worst = 0;
      ref.prompts.forEach((p, i) => {
        const got = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: p }], { logits: 'all' }));
        const want = toF32(logitsRef.read(`${c.fp16 ? 'logits16' : 'logits32'}.p${i}`));
        expect(got.length).toBe(want.length);
        for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
      });
      logitsRef.close();
      expect(worst).toBeLessThanOrEqual(1e-4);
      expect(greedyGenerate(model, ref.prompts, { maxNewTokens: 16 })).toEqual(c.fp16 ? ref.greedy16 : ref.greedy32);
    });
  }
});
