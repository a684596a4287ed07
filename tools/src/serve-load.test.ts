// The serve load test, scaled for CI (scripts/serve-load.mjs runs the full 1,000 requests from 200
// clients): requests of mixed prompt and output lengths from concurrent clients, half streamed, some
// clients leaving mid-stream; nothing lost or hung, every completion equal to its solo run, and no
// request running and no KV block used at the end.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine, Engine } from '@trtllm/engine';
import { runServeLoad } from './serve-load.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-load-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A 2-layer random-weight engine with a byte-level BPE of 1,200 tokens, built once. */
function tinyEngine(): string {
  const dir = join(work, 'engine');
  if (existsSync(dir)) return dir;
  const tok = join(work, 'tok');
  mkdirSync(tok);
  copyFileSync(fileURLToPath(new URL('../../packages/loader/fixtures/tiny/tokenizers/starcoder-style.tokenizer.json', import.meta.url)), join(tok, 'tokenizer.json'));
  buildEngine({ flags: { vocab_size: 1200, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 128, dtype: 'float32', random_seed: 9, max_batch_size: 16, max_input_len: 32, max_output_len: 32, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: dir, tokenizerDir: tok });
  return dir;
}

describe('trtllm serve under load (ref backend)', () => {
  it('150 requests from 40 clients, 10 % leaving mid-stream: 0 lost, 0 mismatched, all blocks free', async () => {
    const engine = await Engine.load(tinyEngine(), { backend: 'ref' });
    try {
      const r = await runServeLoad(engine, { requests: 150, concurrency: 40, disconnect: 0.1, maxPrompt: 32, maxTokens: 24, seed: 3, timeoutMs: 120_000 });
      expect(r.errors).toEqual([]);
      expect({ lost: r.lost, mismatched: r.mismatched, runningAfter: r.runningAfter, blocksUsedAfter: r.blocksUsedAfter }).toEqual({ lost: 0, mismatched: 0, runningAfter: 0, blocksUsedAfter: 0 });
      expect(r.completed + r.disconnected).toBe(150);
      expect(r.disconnected).toBeGreaterThan(5);
      expect(r.completionTokens).toBeGreaterThan(0);
      expect(r.ttftMs.p50).toBeGreaterThan(0);
    } finally {
      engine.dispose();
    }
  }, 180_000);

  it('fixed lengths (the offline benchmark’s shape): every request its max_tokens exactly, each equal to its solo run', async () => {
    const engine = await Engine.load(tinyEngine(), { backend: 'ref' });
    try {
      const r = await runServeLoad(engine, { requests: 12, concurrency: 4, disconnect: 0, maxPrompt: 8, maxTokens: 6, fixed: true, seed: 5 });
      expect({ lost: r.lost, mismatched: r.mismatched, completed: r.completed, disconnected: r.disconnected }).toEqual({ lost: 0, mismatched: 0, completed: 12, disconnected: 0 });
      expect(r.completionTokens).toBe(12 * 6);
    } finally {
      engine.dispose();
    }
  }, 60_000);

  it('an engine without a tokenizer is refused, not compared as empty texts', async () => {
    const dir = join(work, 'bare');
    buildEngine({ flags: { vocab_size: 64, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32, dtype: 'float32', max_batch_size: 2, max_input_len: 8, max_output_len: 4, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: dir });
    const engine = await Engine.load(dir, { backend: 'ref' });
    try {
      await expect(runServeLoad(engine, { requests: 2, concurrency: 1, maxPrompt: 4, maxTokens: 2 })).rejects.toThrow(/compares completion texts: the engine has no tokenizer/);
    } finally {
      engine.dispose();
    }
  });
});
