// GPT-Next engines from a .nemo on every backend (describeBackends: ref always; the cuda reference
// and production kernels on a GPU), against the torch reference of scripts/fixtures/nemo_fixtures.py:
// fp32 logits within 1e-4 at every position and the greedy tokens; the bit-exact backends equal the
// ref backend bit for bit; bf16 engines pick the reference's token at ≥ 99 % of positions (teacher
// forced); prompt tuning with two tasks in one in-flight batch gives each task's reference tokens.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxAbsDiff } from '@trtllm/ref-math/testing';
import { afterAll, expect, it } from 'vitest';
import { convertNemoToFt, readNemoPromptTable } from '@trtllm/loader';
import { argmax } from '@trtllm/ref-math';
import { buildEngine } from '../builder/build.js';
import { describeBackends } from '../testing/backends.js';
import { Engine } from './engine.js';

const NEMO = fileURLToPath(new URL('../../../loader/fixtures/nemo/', import.meta.url));
interface Reference {
  config: { vocab_padded: number };
  prompts: { text: string; ids: number[]; logits: number[][]; greedy: number[]; greedy_bf16_weights: number[] }[];
  prompt_tuning: { task: number; ids: number[]; logits: number[][]; greedy: number[] }[];
}
const REF = JSON.parse(readFileSync(join(NEMO, 'reference.json'), 'utf8')) as Reference;
const work = mkdtempSync(join(tmpdir(), 'trtllm-gpt-next-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));


const ckpt32 = (await convertNemoToFt({ inFile: join(NEMO, 'gpt-next-tp2.nemo'), outDir: join(work, 'c32') })).dir;
const ckpt16 = (await convertNemoToFt({ inFile: join(NEMO, 'gpt-next-bf16.nemo'), outDir: join(work, 'c16'), storage: 'bfloat16' })).dir;
const { table } = await readNemoPromptTable(join(NEMO, 'prompt-tasks.nemo'));
const engines = {
  fp32: buildEngine({ flags: { model_dir: ckpt32, max_batch_size: 4, max_input_len: 48, max_output_len: 12, max_prompt_embedding_table_size: 16, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: join(work, 'e32') }).dir,
  fp32tp2: buildEngine({ flags: { model_dir: ckpt32, max_batch_size: 4, max_input_len: 48, max_output_len: 12, world_size: 2, use_gpt_attention_plugin: true, max_prompt_embedding_table_size: 16 }, outputDir: join(work, 'e32tp2') }).dir,
  bf16: buildEngine({ flags: { model_dir: ckpt16, max_batch_size: 4, max_input_len: 60, max_output_len: 4, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: join(work, 'e16') }).dir,
};
const refLogits = new Map<string, Float32Array>();

describeBackends('GPT-Next from .nemo ≡ the torch reference', (v) => {
  it('fp32 (in-flight batching, paged KV): logits within 1e-4 at every position; greedy tokens of a batch identical', async () => {
    const engine = await Engine.load(engines.fp32, v.options);
    try {
      for (const [i, p] of REF.prompts.entries()) {
        const got = engine.logits(p.ids);
        expect(maxAbsDiff(p.logits.flat(), got)).toBeLessThan(1e-4);
        if (v.name === 'ref') refLogits.set(`fp32-${i}`, got);
        else if (v.exact) expect(Array.from(got)).toEqual(Array.from(refLogits.get(`fp32-${i}`)!)); // the ref backend's bits
      }
      const out = await engine.generate(REF.prompts.map((p) => ({ tokens: p.ids, maxNewTokens: 12, endId: null })));
      expect(out.map((r) => r.tokens)).toEqual(REF.prompts.map((p) => p.greedy));
    } finally {
      engine.dispose();
    }
  });

  it(v.exact ? 'TP 2 (ranks in this process): the same greedy tokens, prompt tuning included' : 'TP 2 on production kernels is refused in one process (one GPU per rank: tensorParallel processes)', async () => {
    if (!v.exact) {
      await expect(Engine.load(engines.fp32tp2, v.options)).rejects.toThrow(/expected 'processes' \(one GPU per rank\) for a 2-rank engine on production kernels/);
      return;
    }
    const engine = await Engine.load(engines.fp32tp2, v.options);
    try {
      const out = await engine.generate(REF.prompts.map((p) => ({ tokens: p.ids, maxNewTokens: 12, endId: null })));
      expect(out.map((r) => r.tokens)).toEqual(REF.prompts.map((p) => p.greedy));
      engine.setPromptTable(table);
      const tuned = await engine.generate(REF.prompt_tuning.map((t) => ({ tokens: t.ids, promptTask: t.task, maxNewTokens: 8, endId: null })));
      expect(tuned.map((r) => r.tokens)).toEqual(REF.prompt_tuning.map((t) => t.greedy));
    } finally {
      engine.dispose();
    }
  });

  it('bf16: the reference token (bf16 weights) at ≥ 99 % of positions, teacher forced', async () => {
    const engine = await Engine.load(engines.bf16, v.options);
    try {
      let same = 0;
      let all = 0;
      for (const p of REF.prompts) {
        const seq = [...p.ids, ...p.greedy_bf16_weights];
        const logits = engine.logits(seq);
        const vocab = REF.config.vocab_padded;
        p.greedy_bf16_weights.forEach((tok, k) => {
          const row = logits.subarray((p.ids.length - 1 + k) * vocab, (p.ids.length + k) * vocab);
          same += argmax(row) === tok ? 1 : 0;
          all++;
        });
      }
      expect(same / all).toBeGreaterThanOrEqual(0.99);
    } finally {
      engine.dispose();
    }
  });

  it('prompt tuning: two tasks in one batch each get their rows (the reference with those rows substituted)', async () => {
    const engine = await Engine.load(engines.fp32, v.options);
    try {
      engine.setPromptTable(table);
      for (const t of REF.prompt_tuning) {
        const got = engine.logits(t.ids, { promptTask: t.task });
        expect(maxAbsDiff(t.logits.flat(), got)).toBeLessThan(1e-4);
      }
      const out = await engine.generate(REF.prompt_tuning.map((t) => ({ tokens: t.ids, promptTask: t.task, maxNewTokens: 8, endId: null })));
      expect(out.map((r) => r.tokens)).toEqual(REF.prompt_tuning.map((t) => t.greedy));
    } finally {
      engine.dispose();
    }
  });
});
