#!/usr/bin/env node
// Greedy tokens of the ref backend (the oracle's arithmetic) for a random-weight engine, to compare the
// cuda backend against on the GPU machine (gpu-engine-suite.mjs): the engine is rebuilt there from the
// same flags and seed (random weights are deterministic), so only the tokens travel.
//   node packages/engine/scripts/ref-greedy.mjs OUT.json [--shape gpt2] [--dtype float16] [--prompts 20] [--tokens 64]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEngine, Engine } from '@trtllm/engine';
import { GPT_SHAPES } from '@trtllm/ref-math';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { shape: { type: 'string', default: 'gpt2' }, dtype: { type: 'string', default: 'float16' }, prompts: { type: 'string', default: '20' }, tokens: { type: 'string', default: '64' } } });
const s = GPT_SHAPES[values.shape];
export const refGreedyFlags = (shape, dtype, prompts, tokens) => ({
  vocab_size: shape.vocabSize, n_layer: shape.nLayer, n_embd: shape.nEmbd, n_head: shape.nHead, n_positions: shape.nPositions, dtype, random_seed: 1,
  max_batch_size: prompts, max_input_len: 64, max_output_len: tokens, use_inflight_batching: true, tokens_per_block: 32, ...(shape.nKvHead === 1 ? { multi_query_mode: true } : {}),
});
export function refGreedyPrompts(n, vocab) {
  let x = 2463534242;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0));
  return Array.from({ length: n }, () => Array.from({ length: 4 + (next() % 29) }, () => next() % vocab));
}
const n = Number(values.prompts);
const tokens = Number(values.tokens);
const flags = refGreedyFlags(s, values.dtype, n, tokens);
const dir = mkdtempSync(join(tmpdir(), 'ref-greedy-'));
const t0 = performance.now();
buildEngine({ flags, outputDir: dir });
const engine = await Engine.load(dir, { backend: 'ref' });
const prompts = refGreedyPrompts(n, s.vocabSize);
const out = await engine.generate(prompts.map((p) => ({ tokens: p, maxNewTokens: tokens, endId: null })));
const seconds = (performance.now() - t0) / 1000;
writeFileSync(positionals[0], JSON.stringify({ made_by: `packages/engine/scripts/ref-greedy.mjs on the ref backend (${seconds.toFixed(0)} s, Node ${process.version})`, shape: values.shape, flags, prompts, greedy: out.map((r) => r.tokens) }) + '\n');
rmSync(dir, { recursive: true, force: true });
console.log(`${values.shape} ${values.dtype}: ${n} prompts × ${tokens} tokens in ${seconds.toFixed(0)} s`);
