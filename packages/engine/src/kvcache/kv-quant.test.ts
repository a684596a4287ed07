// INT8 and FP8 KV caches end to end: an engine built with --int8_kv_cache / --fp8_kv_cache and per-layer
// K/V scales generates the oracle's tokens (ref-math greedyGenerate over a cache of the same storage and
// scales) on every backend — the cache write and read are exact (tier 1), so wherever the rest is exact
// the tokens and logits through the cache are the oracle's; production kernels (tier 3) are held to
// the ref backend's logits through the cache within a bound, the kernel parity cases bound them closely.
// The model has sharpened attention and its own lm_head, so its tokens follow the context (a plain
// random model repeats its last token) and a float cache, or one layer's scales swapped, gives other
// tokens: the test sees the quantized cache itself, and each layer's own scales.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGptKvCache, fromF32, greedyGenerate, randomGptWeights, randomTensor, toF32, type GptModel, type KvQuantScales, type Tensor } from '@trtllm/ref-math';
import { resolveBuildConfig, type BuildFlags } from '../build-config.js';
import { BlockPool } from './block-pool.js';
import { kvBlockBytes, kvCacheSpec } from './kv-spec.js';
import { buildEngine } from '../builder/build.js';
import { Engine } from '../runtime/engine.js';
import { describeBackends } from '../testing/backends.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-kvq-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// head size 64: the production attention kernels' own path (not the reference fallback)
const FLAGS: BuildFlags = { vocab_size: 97, n_layer: 2, n_embd: 128, n_head: 2, n_positions: 64, max_batch_size: 4, max_input_len: 16, max_output_len: 10, random_seed: 7, dtype: 'float16', use_inflight_batching: true, tokens_per_block: 4 };
const PROMPTS = [[5, 17, 3, 60, 2, 2, 9, 41, 13, 77], [8, 1, 90], [33, 33, 12, 4, 71, 6]];
const NEW = 8;
const SCALES: Record<'int8' | 'fp8', KvQuantScales[]> = {
  int8: [{ k: 0.05, v: 0.025 }, { k: 0.0125, v: 0.05 }],
  fp8: [{ k: 0.05, v: 0.03 }, { k: 0.017, v: 0.07 }],
};

const base = buildEngine({ flags: { ...FLAGS, use_inflight_batching: false }, outputDir: join(work, 'shape') });
const random = randomGptWeights(base.config.model, 7);
const scaled = (t: Tensor, f: number): Tensor<'f16'> => fromF32('f16', t.shape, toF32(t).map((x) => x * f));
const model: GptModel = {
  config: base.config.model,
  weights: {
    ...random,
    lmHead: randomTensor(99, { path: 'lmHead', shape: [97, 128], first: 0, mean: 0, std: 0.02 }, 'f16'),
    layers: random.layers.map((l) => ({ ...l, qkv: { ...l.qkv, weight: scaled(l.qkv.weight, 20) }, attnOut: { ...l.attnOut, weight: scaled(l.attnOut.weight, 30) } })),
  },
};
const oracle = (kind: 'int8' | 'fp8' | 'float', scales?: KvQuantScales[]): number[][] =>
  greedyGenerate(model, PROMPTS, {
    maxNewTokens: NEW,
    cache: createGptKvCache(model.config, { numSlots: PROMPTS.length, ...(kind === 'float' ? {} : { dtype: kind === 'int8' ? 'i8' : 'fp8e4m3', scales: scales! }) }),
  });

const built = new Map<string, string>();
function engineDir(kind: 'int8' | 'fp8', worldSize = 1): string {
  const key = `${kind}-${worldSize}`;
  if (!built.has(key)) {
    const dir = join(work, key);
    buildEngine({ flags: { ...FLAGS, world_size: worldSize, ...(kind === 'int8' ? { int8_kv_cache: true } : { fp8_kv_cache: true }) }, outputDir: dir, weights: model.weights, kvCacheScales: SCALES[kind] });
    built.set(key, dir);
  }
  return built.get(key)!;
}

describe('quantized KV cache: build and engine files', () => {
  it('records the quant mode and each layer’s K and V scales (fp32) in config.json, and refuses a bad one on load', async () => {
    const dir = engineDir('int8');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { builder_config: { quant_mode: number; int8: boolean }; trtllm_ts: { build_config: { kvCacheScales: KvQuantScales[] } } };
    expect(cfg.builder_config.quant_mode).toBe(64); // TensorRT-LLM's INT8_KV_CACHE bit
    expect(cfg.builder_config.int8).toBe(true);
    expect(cfg.trtllm_ts.build_config.kvCacheScales).toEqual(SCALES.int8.map((s) => ({ k: Math.fround(s.k), v: Math.fround(s.v) })));
    const bad = join(work, 'bad-scales');
    buildEngine({ flags: { ...FLAGS, int8_kv_cache: true }, outputDir: bad, weights: model.weights, kvCacheScales: SCALES.int8 });
    const raw = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8')) as { trtllm_ts: { build_config: { kvCacheScales: unknown } } };
    raw.trtllm_ts.build_config.kvCacheScales = [{ k: 0.1, v: 0 }, { k: 0.1, v: 0.1 }];
    writeFileSync(join(bad, 'config.json'), JSON.stringify(raw));
    await expect(Engine.load(bad)).rejects.toThrow(/kvCacheScales: expected finite K and V scales > 0 for each of the 2 layers \(an int8 KV cache\)/);
  });
  it('refuses scales that are missing, of the wrong count or not positive, and both cache flags at once', () => {
    const out = join(work, 'refused');
    expect(() => buildEngine({ flags: { ...FLAGS, int8_kv_cache: true }, outputDir: out, weights: model.weights })).toThrow(/--int8_kv_cache: expected a checkpoint with KV-cache scales .*got random weights.*convert -kv/);
    expect(() => buildEngine({ flags: { ...FLAGS, fp8_kv_cache: true }, outputDir: out, weights: model.weights, kvCacheScales: SCALES.fp8.slice(1) })).toThrow(/kvCacheScales: expected one \{k, v\} per layer \(2\), got 1/);
    expect(() => buildEngine({ flags: { ...FLAGS, fp8_kv_cache: true }, outputDir: out, weights: model.weights, kvCacheScales: [{ k: 1, v: Number.NaN }, { k: 1, v: 1 }] })).toThrow(/kvCacheScales\[0\]: expected finite K and V scales > 0/);
    expect(() => buildEngine({ flags: { ...FLAGS, int8_kv_cache: true, fp8_kv_cache: true }, outputDir: out, weights: model.weights, kvCacheScales: SCALES.int8 })).toThrow(/at most one of them/);
    expect(() => buildEngine({ flags: { ...FLAGS, use_inflight_batching: false, fp8_kv_cache: true }, outputDir: out, weights: model.weights, kvCacheScales: SCALES.fp8 })).toThrow(/--fp8_kv_cache: expected the GPT attention plugin/);
  });
  it('the fixture sees the cache: coarse int8 / fp8 caches change the greedy tokens, and so does one layer’s scales', () => {
    const float = oracle('float');
    expect(oracle('int8', SCALES.int8)).not.toEqual(float);
    expect(oracle('fp8', SCALES.fp8)).not.toEqual(float);
    expect(oracle('int8', [SCALES.int8[0]!, SCALES.int8[0]!])).not.toEqual(oracle('int8', SCALES.int8));
    expect(oracle('fp8', [SCALES.fp8[0]!, SCALES.fp8[0]!])).not.toEqual(oracle('fp8', SCALES.fp8));
  });
});

describe('quantized KV cache: memory', () => {
  it('gpt2-xl: an int8 / fp8 block is half an fp16 block, so a fixed budget holds twice the sequences (the block pool admits them)', () => {
    const xl: BuildFlags = { n_layer: 48, n_embd: 1600, n_head: 25, vocab_size: 50257, n_positions: 1024, max_input_len: 512, max_output_len: 512, max_batch_size: 512, use_inflight_batching: true };
    const budget = 16 * 2 ** 30;
    const seqs = (flags: BuildFlags): { blockBytes: number; sequences: number } => {
      const b = resolveBuildConfig(flags);
      const layout = { kind: 'paged' as const, tokensPerBlock: 64, numBlocks: 1, maxBlocksPerSeq: 16 };
      const blockBytes = kvBlockBytes(kvCacheSpec(b, { numSlots: 512, layout }), 64);
      const pool = new BlockPool({ numBlocks: Math.floor(budget / blockBytes), tokensPerBlock: 64, numSlots: 512, maxBlocksPerSeq: 16 });
      let sequences = 0;
      while (pool.acquire(1024)) sequences++;
      return { blockBytes, sequences };
    };
    const f16 = seqs(xl);
    expect(f16).toEqual({ blockBytes: 48 * 2 * 25 * 64 * 64 * 2, sequences: 54 }); // 19.7 MB per 64 tokens; 873 blocks
    for (const q of [{ int8_kv_cache: true }, { fp8_kv_cache: true }]) expect(seqs({ ...xl, ...q })).toEqual({ blockBytes: 48 * 2 * 25 * 64 * 64, sequences: 109 }); // 1747 blocks
  });
});

describeBackends('quantized KV cache engines generate the oracle’s tokens', (b) => {
  for (const kind of ['int8', 'fp8'] as const) {
    it(`${kind}: paged, three prompts in flight, ${b.exact ? "the oracle's greedy tokens; logits through the cache equal the ref backend's bits" : "logits through the cache near the ref backend's"}`, async () => {
      const e = await Engine.load(engineDir(kind), b.options);
      const r = await Engine.load(engineDir(kind));
      try {
        // every position after the first through a decode step that reads the quantized cache; and the
        // whole prompt in one step (on production without context FMHA its rows run on the decode kernel,
        // which must attend the chunk's own tokens fresh, not their quantized copies)
        const [le, lr] = [e.logits(PROMPTS[0]!, { decodeFrom: 1 }), r.logits(PROMPTS[0]!, { decodeFrom: 1 })];
        const [ce, cr] = [e.logits(PROMPTS[0]!), r.logits(PROMPTS[0]!)];
        if (b.exact) {
          expect(Buffer.from(le.buffer).equals(Buffer.from(lr.buffer))).toBe(true);
          expect(Buffer.from(ce.buffer).equals(Buffer.from(cr.buffer))).toBe(true);
          const got = (await e.generate(PROMPTS.map((tokens) => ({ tokens, maxNewTokens: NEW, endId: null })))).map((g) => g.tokens);
          expect(got).toEqual(oracle(kind, SCALES[kind]));
        } else {
          // tier 3 (fp16 rounding in other places, amplified by this model's sharp attention); greedy tokens of
          // this model are too fragile to compare, the parity cases bound the kernels themselves.
          // Measured on an H100, 2026-12-06: int8 3.1e-6, fp8 1.1e-4
          const err = nmse(le, lr);
          const errContext = nmse(ce, cr);
          console.log(`${kind} KV, production vs ref, logits through the cache: NMSE ${err.toExponential(2)}; one context step: ${errContext.toExponential(2)}`);
          expect(err).toBeLessThan(1e-3);
          expect(errContext).toBeLessThan(1e-3);
        }
      } finally {
        e.dispose();
        r.dispose();
      }
    });
  }
  it('int8, TP 2 (ranks in this process where the backend allows): the same tokens', async () => {
    if (!b.exact) return; // production TP runs over NCCL processes (the TP tests)
    const e = await Engine.load(engineDir('int8', 2), b.options);
    try {
      const got = await e.generate(PROMPTS.map((tokens) => ({ tokens, maxNewTokens: NEW, endId: null })));
      expect(got.map((g) => g.tokens)).toEqual(oracle('int8', SCALES.int8));
    } finally {
      e.dispose();
    }
  });
});

describe('logits through the KV cache (Engine.logits decodeFrom)', () => {
  it('a float cache: the decode path gives the context pass’s bits; a quantized one changes them, as the oracle does', async () => {
    const float = join(work, 'float-paged');
    buildEngine({ flags: FLAGS, outputDir: float, weights: model.weights });
    const [f, q] = [await Engine.load(float), await Engine.load(engineDir('int8'))];
    try {
      const t = PROMPTS[0]!;
      const lf = f.logits(t);
      expect(Buffer.from(f.logits(t, { decodeFrom: 1 }).buffer).equals(Buffer.from(lf.buffer))).toBe(true);
      expect(Buffer.from(q.logits(t).buffer).equals(Buffer.from(lf.buffer))).toBe(true); // a context pass never reads the cache
      const lq = q.logits(t, { decodeFrom: 3 });
      expect(Buffer.from(lq.subarray(0, 3 * 97).buffer.slice(lq.byteOffset, lq.byteOffset + 3 * 97 * 4)).equals(Buffer.from(lf.subarray(0, 3 * 97).slice().buffer))).toBe(true);
      expect(nmse(lq, lf)).toBeGreaterThan(1e-4); // the int8 cache, read from position 3 on
      expect(() => q.logits(t, { decodeFrom: 0 })).toThrow(/decodeFrom: expected an integer in \[1, 10\]/);
    } finally {
      f.dispose();
      q.dispose();
    }
  });
});

function nmse(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  want.forEach((v, i) => ((num += (got[i]! - v) ** 2), (den += v * v)));
  return num / den;
}
