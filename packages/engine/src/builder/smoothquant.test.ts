// SmoothQuant INT8 and FP8 engines end to end on the ref backend. SmoothQuant: built from float weights and activation
// ranges (INT8 weights and scales as the seed's converter writes them), loaded, run — the logits stay
// within the quantization error of the float engine, every linear layer really runs in INT8, and the
// refusals (cuda, multi-query, swiglu, a missing range) are typed errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { columnAbsMax, type ActRange } from '@trtllm/quant';
import { randomGptWeights, type GptWeights } from '@trtllm/ref-math';
import { resolveBuildConfig, type BuildFlags } from '../build-config.js';
import { readEngineFile } from '../engine-dir.js';
import { Engine } from '../runtime/engine.js';
import { buildEngine } from './build.js';
import { describeBackends, GPU, type BackendVariant } from '../testing/backends.js';
import { loadKernels } from '../backends/kernels.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-sq-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FLAGS: BuildFlags = { vocab_size: 97, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 64, max_batch_size: 4, max_input_len: 24, max_output_len: 8, random_seed: 7, dtype: 'float16' };
const PROMPT = [5, 17, 3, 60, 2, 2, 9, 41, 13, 77];

// Measured (fp16, this model): NMSE 6e-6 / 8e-6 with per-token activations, 2e-3 with the static
// per-tensor activation scale (range 6: coarse on purpose); the bounds leave headroom, not orders of magnitude.
/** Ranges per GEMM: the weights' column maxima, and fixed activation ranges (stand-ins for calibration). */
function ranges(w: GptWeights, x = 6): Map<string, ActRange> {
  const out = new Map<string, ActRange>();
  w.layers.forEach((l, n) => {
    for (const [name, lin] of [['qkv', l.qkv], ['attnOut', l.attnOut], ['fc', l.fc], ['proj', l.proj]] as const) out.set(`layers.${n}.${name}`, { x, y: 8, w: columnAbsMax(lin.weight) });
  });
  return out;
}

function nmse(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  want.forEach((v, i) => ((num += (got[i]! - v) ** 2), (den += v * v)));
  return num / den;
}

describe('SmoothQuant INT8 engines on the ref backend', () => {
  const floatDir = join(work, 'float');
  const built = buildEngine({ flags: FLAGS, outputDir: floatDir });
  const weights = randomGptWeights(built.config.model, 7);
  for (const [mode, bound] of [[{ perToken: true, perChannel: true }, 5e-5], [{ perToken: true, perChannel: false }, 5e-5], [{ perToken: false, perChannel: true }, 1e-2], [{ perToken: false, perChannel: false }, 1e-2]] as const) {
    it(`per token ${mode.perToken}, per channel ${mode.perChannel}: INT8 weights in the engine file, logits within NMSE ${bound} of the float engine`, async () => {
      const dir = join(work, `sq-${mode.perToken}-${mode.perChannel}`);
      const r = buildEngine({ flags: FLAGS, outputDir: dir, weights, smoothQuant: { mode, actRanges: ranges(weights) } });
      expect(r.config.quant).toEqual({ weights: { kind: 'smoothquant', ...mode }, kv: 'float' });
      const file = readEngineFile(join(dir, r.files[0]!));
      expect(file.tensors.get('layers.1.fc.weight')).toBeUndefined(); // the INT8 weight replaces it
      expect(file.tensors.get('layers.1.fc.weight.int8')?.dtype).toBe('i8');
      expect(file.tensors.get('layers.1.fc.scale_w_quant_orig')?.shape).toEqual([mode.perChannel ? 128 : 1]);
      expect(file.tensors.get('layers.0.q.scale_w_quant_orig')?.shape).toEqual([mode.perChannel ? 32 : 1]);
      const [f, q] = [await Engine.load(floatDir), await Engine.load(dir)];
      const [lf, lq] = [f.logits(PROMPT), q.logits(PROMPT)];
      const e = nmse(lq, lf);
      expect(e).toBeGreaterThan(0); // it really ran in INT8
      expect(e).toBeLessThan(bound);
      const [g] = await q.generate([{ tokens: PROMPT, maxNewTokens: 6, endId: null }]);
      expect(g!.tokens).toHaveLength(6);
      f.dispose();
      q.dispose();
    });
  }
  it('TP 2 splits the INT8 weights and scales like the float ones and stays within the same error', async () => {
    const dir = join(work, 'sq-tp2');
    const mode = { perToken: true, perChannel: true };
    buildEngine({ flags: { ...FLAGS, world_size: 2 }, outputDir: dir, weights, smoothQuant: { mode, actRanges: ranges(weights) } });
    const file = readEngineFile(join(dir, 'gpt_float16_tp2_rank1.engine'));
    expect([file.tensors.get('layers.0.fc.weight.int8')?.shape, file.tensors.get('layers.0.fc.scale_w_quant_orig')?.shape, file.tensors.get('layers.0.proj.weight.int8')?.shape]).toEqual([[64, 32], [64], [32, 64]]); // [N, K]: fc's columns split, proj's rows
    const [f, q] = [await Engine.load(floatDir), await Engine.load(dir)];
    expect(nmse(q.logits(PROMPT), f.logits(PROMPT))).toBeLessThan(5e-5);
    f.dispose();
    q.dispose();
  });
  it('multi-query (beyond the seed): Q, K and V parts of widths H, HS, HS each get their own scale; TP 1 and 2 within the same error', async () => {
    const mq = { ...FLAGS, multi_query_mode: true };
    const fdir = join(work, 'mq-float');
    const w = randomGptWeights(resolveBuildConfig(mq).model, 7);
    buildEngine({ flags: mq, outputDir: fdir, weights: w });
    const f = await Engine.load(fdir);
    const lf = f.logits(PROMPT);
    for (const tp of [1, 2]) {
      const dir = join(work, `mq-sq-${tp}`);
      buildEngine({ flags: { ...mq, world_size: tp }, outputDir: dir, weights: w, smoothQuant: { mode: { perToken: true, perChannel: false }, actRanges: ranges(w) } });
      const file = readEngineFile(join(dir, tp === 1 ? 'gpt_float16_tp1_rank0.engine' : 'gpt_float16_tp2_rank1.engine'));
      expect([file.tensors.get('layers.0.q.weight.int8')?.shape, file.tensors.get('layers.0.k.weight.int8')?.shape]).toEqual([[32 / tp, 32], [8, 32]]); // [N, K]: this rank's Q heads, the one K head
      const q = await Engine.load(dir);
      const e = nmse(q.logits(PROMPT), lf);
      expect(e).toBeGreaterThan(0);
      expect(e, `TP ${tp}`).toBeLessThan(5e-5);
      q.dispose();
    }
    f.dispose();
  });
  it('refusals are typed: swiglu, bf16, a missing range', () => {
    const sq = { mode: { perToken: true, perChannel: true }, actRanges: ranges(weights) };
    expect(() => buildEngine({ flags: { ...FLAGS, hidden_act: 'swiglu' }, outputDir: join(work, 'x2'), smoothQuant: sq })).toThrow(/SmoothQuant: expected a GELU MLP, got swiglu/);
    expect(() => buildEngine({ flags: { ...FLAGS, dtype: 'bfloat16' }, outputDir: join(work, 'x3'), smoothQuant: { ...sq, actRanges: ranges(randomGptWeights({ ...built.config.model, dtype: 'bf16' }, 7)) } })).toThrow(/expected fp32 or fp16 weights for SmoothQuant/);
    const partial = new Map(sq.actRanges);
    partial.delete('layers.1.proj');
    expect(() => buildEngine({ flags: FLAGS, outputDir: join(work, 'x4'), weights, smoothQuant: { ...sq, actRanges: partial } })).toThrow(/SmoothQuant activation range layers\.1\.proj: expected a calibrated range for every GEMM/);
  });
});

// The same SmoothQuant engines on every backend: the quantizers, the int32 GEMM (cuBLASLt IMMA in
// production) and the epilogue are exact, so the cuda reference kernels give the ref backend's bits;
// production kernels differ only where their float ops do (LayerNorm's tree sums, flash attention).
const SQ_MODEL: BuildFlags = { vocab_size: 256, n_layer: 2, n_embd: 128, n_head: 2, n_positions: 64, max_batch_size: 4, max_input_len: 24, max_output_len: 8, random_seed: 11, dtype: 'float16' };
const SQ_MODES = [{ perToken: true, perChannel: true }, { perToken: true, perChannel: false }, { perToken: false, perChannel: true }, { perToken: false, perChannel: false }] as const;
const sqDirs = new Map<string, string>();
function sqEngine(mode: (typeof SQ_MODES)[number], multiQuery = false): string {
  const key = `${mode.perToken}-${mode.perChannel}${multiQuery ? '-mq' : ''}`;
  let dir = sqDirs.get(key);
  if (!dir) {
    dir = join(work, `sq-backends-${key}`);
    const flags = { ...SQ_MODEL, multi_query_mode: multiQuery };
    const w = randomGptWeights(resolveBuildConfig(flags).model, 11);
    buildEngine({ flags, outputDir: dir, weights: w, smoothQuant: { mode, actRanges: ranges(w, 4) } });
    sqDirs.set(key, dir);
  }
  return dir;
}
const SQ_PROMPTS = [[5, 17, 3, 60, 2, 2, 9, 41, 13, 77], [200, 1], [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]];

/** The engine in `dir` on backend variant `v` against the ref backend: logits bit for bit (exact variants) or within NMSE `bound`, and the same greedy tokens. */
async function expectLikeRef(dir: string, v: BackendVariant, bound: number): Promise<void> {
  const [r, e] = [await Engine.load(dir), await Engine.load(dir, v.options)];
  try {
    const [lr, le] = [r.logits(SQ_PROMPTS[0]!), e.logits(SQ_PROMPTS[0]!)];
    if (v.exact) expect(Buffer.from(le.buffer).equals(Buffer.from(lr.buffer))).toBe(true);
    else expect(nmse(le, lr)).toBeLessThan(bound);
    const reqs = SQ_PROMPTS.map((tokens) => ({ tokens, maxNewTokens: 8, endId: null }));
    expect((await e.generate(reqs)).map((g) => g.tokens)).toEqual((await r.generate(reqs)).map((g) => g.tokens));
  } finally {
    r.dispose();
    e.dispose();
  }
}

describeBackends('SmoothQuant engines on every backend', (v) => {
  for (const [mode, mq] of [...SQ_MODES.map((m) => [m, false] as const), [SQ_MODES[1], true] as const]) {
    it(`${mq ? 'multi-query, ' : ''}per token ${mode.perToken}, per channel ${mode.perChannel}: logits ${v.exact ? "equal the ref backend's bits" : 'within NMSE 1e-5 of the ref backend'}, greedy tokens equal`, async () => {
      await expectLikeRef(sqEngine(mode, mq), v, 1e-5);
    });
  }
});

describe('FP8 engines on the ref backend', () => {
  const fp8Ranges = (w: GptWeights): Map<string, { x: number }> => {
    const out = new Map<string, { x: number }>();
    w.layers.forEach((_, n) => ['qkv', 'attnOut', 'fc', 'gate', 'proj'].forEach((g) => out.set(`layers.${n}.${g}`, { x: 6 })));
    return out;
  };
  for (const [name, flags] of [
    ['gpt2 fp16', FLAGS],
    ['multi-query bf16', { ...FLAGS, dtype: 'bfloat16', multi_query_mode: true }],
    ['GPT-Next style: RoPE, swiglu, no bias, fp16', { ...FLAGS, rotary_pct: 0.5, hidden_act: 'swiglu', no_bias: true, use_gpt_attention_plugin: true }],
  ] as const) {
    it(`${name}: e4m3 weights in the engine file, TP 1 and 2 within the quantization error of the float engine`, async () => {
      const floatDir = join(work, `fp8-float-${name.replace(/\W+/g, '-')}`);
      const built = buildEngine({ flags, outputDir: floatDir });
      const w = randomGptWeights(built.config.model, 7);
      const f = await Engine.load(floatDir);
      const lf = f.logits(PROMPT);
      for (const tp of [1, 2]) {
        const dir = join(work, `fp8-${tp}-${name.replace(/\W+/g, '-')}`);
        const r = buildEngine({ flags: { ...flags, world_size: tp }, outputDir: dir, weights: w, fp8: { actRanges: fp8Ranges(w) } });
        expect(r.config.quant).toEqual({ weights: { kind: 'fp8' }, kv: 'float' });
        const file = readEngineFile(join(dir, r.files[0]!));
        expect(file.tensors.get('layers.0.fc.weight.fp8')?.dtype).toBe('fp8e4m3');
        expect(file.tensors.get('layers.0.fc.weight')).toBeUndefined();
        const q = await Engine.load(dir);
        const e = nmse(q.logits(PROMPT), lf);
        expect(e).toBeGreaterThan(0);
        expect(e, `TP ${tp}`).toBeLessThan(1e-3); // measured 1.0e-4 … 2.6e-4 (e4m3: 3 mantissa bits)
        q.dispose();
      }
      f.dispose();
    });
  }
  it('SmoothQuant and FP8 together are refused', async () => {
    const weights = randomGptWeights(buildEngine({ flags: FLAGS, outputDir: join(work, 'fp8-x') }).config.model, 7);
    expect(() => buildEngine({ flags: FLAGS, outputDir: join(work, 'fp8-y'), weights, fp8: { actRanges: fp8Ranges(weights) }, smoothQuant: { mode: { perToken: true, perChannel: true }, actRanges: ranges(weights) } })).toThrow(/expected SmoothQuant or FP8, got both/);
  });
});

// FP8 engines on every backend: the cuda reference kernels are the oracle's order (exact); production
// runs the e4m3 GEMM on tensor cores (cuBLASLt, fp32 accumulation in its own order; tier 3), q/k/v as
// one GEMM sharing the fused QKV's scales. gpt2-like fp16 (N, K multiples of 16) and a bf16 multi-query
// model; a 48-wide model whose shapes FP8 tensor cores cannot run takes the reference FP8 GEMM there.
const FP8_MODELS = [
  ['gpt2 fp16', { ...SQ_MODEL }],
  ['multi-query bf16', { ...SQ_MODEL, dtype: 'bfloat16', multi_query_mode: true }],
  ['n_embd 40 (reference FP8 GEMM in production)', { ...SQ_MODEL, n_embd: 40, n_head: 1 }],
] as const;
const fp8Dirs = new Map<string, string>();
/** Whether this process's GPU has FP8 tensor cores (compute capability ≥ 8.9); undefined without a GPU. */
const FP8_TENSOR_CORES: boolean | undefined = await (async () => {
  if (!GPU.ok) return undefined;
  const a = (await loadKernels()).isAvailable();
  return a.ok ? Number(a.device.computeCapability ?? '9.0') >= 8.9 : undefined;
})();
function fp8Engine(name: string, flags: BuildFlags): string {
  let dir = fp8Dirs.get(name);
  if (!dir) {
    dir = join(work, `fp8-backends-${fp8Dirs.size}`);
    const w = randomGptWeights(resolveBuildConfig(flags).model, 11);
    const ranges = new Map<string, { x: number }>();
    w.layers.forEach((_, n) => ['qkv', 'attnOut', 'fc', 'proj'].forEach((g) => ranges.set(`layers.${n}.${g}`, { x: 4 })));
    buildEngine({ flags, outputDir: dir, weights: w, fp8: { actRanges: ranges } });
    fp8Dirs.set(name, dir);
  }
  return dir;
}

describeBackends('FP8 engines on every backend', (v) => {
  for (const [name, flags] of FP8_MODELS) {
    // production: upstream tree sums move a few activations across an e4m3 rounding boundary (a 1/16 step),
    // so the logits differ by about the FP8 error itself (measured 2.9e-4 / 3.8e-4 on an H200)
    it(`${name}: logits ${v.exact ? "equal the ref backend's bits" : 'within NMSE 2e-3 of the ref backend'}, greedy tokens equal`, async () => {
      const dir = fp8Engine(name, flags);
      if (!v.exact && FP8_TENSOR_CORES === false && flags.dtype !== 'float32') {
        // a GPU without FP8 tensor cores: production FP8 is refused at load, naming the capability
        await expect(Engine.load(dir, v.options)).rejects.toThrow(/compute capability 8\.9 or newer/);
        return;
      }
      await expectLikeRef(dir, v, 2e-3);
    });
  }
});
