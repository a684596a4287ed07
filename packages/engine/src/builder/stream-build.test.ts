// The streaming random-weight build (each weight drawn once, every rank's share written in place;
// stream-build.ts) against the build that holds the whole model (buildEngine from randomGptWeights):
// byte-identical engine dirs for GPT-2, multi-query, SwiGLU + RoPE and layernorm1p shapes at TP 1, 2
// and 4, on one thread and on worker threads; and a refused build writes nothing.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { convertHfToFt, FtCheckpoint } from '@trtllm/loader';
import type { BuildFlags } from '../build-config.js';
import { engineFileName, writeEngineFile } from '../engine-dir.js';
import { buildEngine, buildEngineAsync, rankTensors } from './build.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-stream-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SHAPES: [string, BuildFlags][] = [
  ['gpt2-like f16, TP 4', { vocab_size: 101, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 24, dtype: 'float16', world_size: 4, max_input_len: 16, max_output_len: 8 }],
  ['santacoder-like MQA f16, TP 2', { vocab_size: 77, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 24, dtype: 'float16', multi_query_mode: true, world_size: 2, max_input_len: 16, max_output_len: 8 }],
  ['GPT-Next-like SwiGLU + RoPE, no bias, bf16, TP 2', { vocab_size: 64, n_layer: 2, n_embd: 32, n_head: 4, inter_size: 48, n_positions: 24, dtype: 'bfloat16', no_bias: true, hidden_act: 'swiglu', rotary_pct: 0.5, world_size: 2, max_input_len: 16, max_output_len: 8, use_gpt_attention_plugin: true }],
  ['fp32, TP 1, seed 7', { vocab_size: 50, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, dtype: 'float32', random_seed: 7, max_input_len: 8, max_output_len: 8 }],
];

function files(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]));
}

// the worker threads run compiled code (dist/builder/stream-worker.js); from sources alone they fall back to one thread
const workerBuilt = existsSync(fileURLToPath(new URL('../../dist/builder/stream-worker.js', import.meta.url)));

describe('streaming random-weight build', () => {
  for (const [name, flags] of SHAPES) {
    it(`${name}: the same bytes as the in-memory build`, async () => {
      const whole = buildEngine({ flags, outputDir: join(work, `${name}-whole`) });
      const streamed = await buildEngineAsync({ flags, outputDir: join(work, `${name}-stream`), threads: 1 });
      const want = files(whole.dir);
      expect(files(streamed.dir)).toEqual(want);
      expect(streamed.bytes).toBe(whole.bytes);
      expect([...want.keys()].filter((f) => f.endsWith('.engine'))).toHaveLength(flags.world_size ?? 1);
    });
  }

  it('matrices drawn in row blocks (3 rows: odd element starts, row splits across blocks), on this thread: the same bytes', async () => {
    const flags = SHAPES[0]![1];
    const a = await buildEngineAsync({ flags, outputDir: join(work, 'rows-whole'), threads: 1 });
    const b = await buildEngineAsync({ flags, outputDir: join(work, 'rows-blocks'), threads: 1, pieceElements: 3 * 32 + 5 });
    expect(files(b.dir)).toEqual(files(a.dir));
  });

  it.skipIf(!workerBuilt)('on 3 worker threads, and with matrices drawn in row blocks: the same bytes; progress counts every block', async () => {
    const flags = SHAPES[0]![1];
    const ticks: [number, number][] = [];
    const a = await buildEngineAsync({ flags, outputDir: join(work, 'threads-1'), threads: 1 });
    const b = await buildEngineAsync({ flags, outputDir: join(work, 'threads-3'), threads: 3, onProgress: (d, t) => ticks.push([d, t]) });
    expect(files(b.dir)).toEqual(files(a.dir));
    // matrices cut into blocks of 3 rows (odd element starts, row splits across blocks), on threads and not
    const c = await buildEngineAsync({ flags, outputDir: join(work, 'blocks-3'), threads: 3, pieceElements: 3 * 32 + 5 });
    const d = await buildEngineAsync({ flags, outputDir: join(work, 'blocks-1'), threads: 1, pieceElements: 3 * 32 + 5 });
    expect(files(c.dir)).toEqual(files(a.dir));
    expect(files(d.dir)).toEqual(files(a.dir));
    expect(ticks.map(([d]) => d)).toEqual(Array.from({ length: ticks.length }, (_, i) => i + 1));
    expect(ticks.at(-1)).toEqual([ticks.length, ticks.length]);
  });

  it('a refused build writes nothing: no output, no partial directory', async () => {
    const out = join(work, 'refused');
    await expect(buildEngineAsync({ flags: { ...SHAPES[0]![1], n_head: 3 }, outputDir: out, threads: 1 })).rejects.toThrow(/model shape flags/);
    expect(readdirSync(work).filter((f) => f.includes('refused'))).toEqual([]);
  });

  // a float build from an FT checkpoint streams weight by weight: the same rank files as rankTensors of the loaded model
  const FIXTURES = fileURLToPath(new URL('../../../loader/fixtures/tiny/', import.meta.url));
  for (const [name, hf, tp, worldSize, dtype] of [
    ['GPT-2 fp32 checkpoint TP 2 → TP 4 engine in fp16', 'gpt2/st-fp32', 2, 4, 'float16'],
    ['GPTBigCode multi-query fp16 checkpoint TP 1 → TP 2 engine', 'bigcode-mqa/st-fp32', 1, 2, undefined],
  ] as const) {
    it(`from a checkpoint: ${name}, the bytes of the in-memory layout`, async () => {
      const ft = await convertHfToFt({ inDir: join(FIXTURES, hf), outDir: join(work, `ft-${name}`), storage: dtype ? 'float32' : 'float16', tp });
      const flags: BuildFlags = { model_dir: ft.dir, world_size: worldSize, max_input_len: 8, max_output_len: 8, ...(dtype ? { dtype } : {}) };
      const ticks: number[] = [];
      const built = buildEngine({ flags, outputDir: join(work, `ckpt-${name}`), onProgress: (d, _t, unit) => unit === 'weight' && ticks.push(d) });
      const checkpoint = FtCheckpoint.open(ft.dir);
      const model = checkpoint.loadModel({ dtype: built.config.model.dtype });
      expect(ticks).toHaveLength(checkpoint.layout.length); // streamed: one tick per weight
      for (let r = 0; r < worldSize; r++) {
        const want = join(work, `want-${r}.engine`);
        writeEngineFile(want, r, worldSize, rankTensors(built.config.model, model.weights, r, worldSize));
        expect(readFileSync(join(built.dir, engineFileName(built.config, r))).equals(readFileSync(want)), `rank ${r}`).toBe(true);
      }
    });
  }
});
