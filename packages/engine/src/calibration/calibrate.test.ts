// Engine.calibrate: what the seed's capture_activation_range records, on every backend. Layer 0's QKV
// input and output are recomputed here with the oracle's ops; the maxima over several prompts are the
// maxima of each prompt's; q, k, v come out as one QKV GEMM; the cuda backends give the ref backend's
// maxima (bit for bit on the reference kernels: absMaxColumns is exact, so is every op before it).
import { describe, expect, it } from 'vitest';
import { absMaxColumns, addPositionEmbedding, embeddingLookup, fromValues, gemm, gptConfig, layerNorm, randomGptWeights, type GptModel } from '@trtllm/ref-math';
import { describeBackends } from '../testing/backends.js';
import { RefBackend } from '../backends/ref.js';
import { ObservingBackend } from './observing-backend.js';
import { gelu, residualAdd } from '@trtllm/ref-math';
import { Engine } from '../runtime/engine.js';

const config = gptConfig({ vocabSize: 96, nPositions: 64, nEmbd: 128, nHead: 2, nLayer: 2, dtype: 'f32' });
const model: GptModel = { config, weights: randomGptWeights(config, 5) };
const PROMPTS = [[1, 5, 9, 33, 2, 60], [7, 7, 7], [95, 0, 14, 22, 41, 43, 47, 50, 51, 8]];

describe('ObservingBackend', () => {
  it("records a linear layer's GEMM output before GELU and the residual, and still returns residual + GELU(x·W + b)", () => {
    const b = new RefBackend({});
    const x = fromValues('f32', [2, 2], [1, -2, 0.5, 3]);
    const w = { weight: fromValues('f32', [2, 3], [1, 0, -1, 2, 1, 0.5]), bias: fromValues('f32', [3], [0.25, -4, 0]) };
    const residual = fromValues('f32', [2, 3], [1, 1, 1, 1, 1, 1]);
    const o = new ObservingBackend(b, new Map([[w.weight, 'layers.0.fc']]));
    const out = o.linear({ x, w, residual }, { activation: 'gelu' });
    const y = gemm({ a: x, b: w.weight, bias: w.bias }); // [[-2.75, -6, -2], [6.75, -1, 1]]
    expect(Array.from(out.data)).toEqual(Array.from(residualAdd({ a: residual, b: gelu({ x: y }) }).data));
    const s = o.activationStats().get('layers.0.fc')!;
    expect([Array.from(s.x), Array.from(s.y)]).toEqual([[1, 3], [6.75, 6, 2]]);
  });
});

describe('Engine.calibrate (ref backend)', () => {
  it("layer 0's QKV: x = max |LayerNorm(embedding)| per channel, y = max |x·W + b| over [q | k | v], as the oracle computes them", async () => {
    const e = await Engine.fromModel(model, { maxInputLen: 16 });
    try {
      const stats = e.calibrate([PROMPTS[0]!]);
      const ids = fromValues('i32', [PROMPTS[0]!.length], PROMPTS[0]!);
      const x0 = addPositionEmbedding({ x: embeddingLookup({ ids, table: model.weights.wte }), wpe: model.weights.wpe!, positions: fromValues('i32', [ids.shape[0]!], PROMPTS[0]!.map((_, i) => i)) });
      const l0 = model.weights.layers[0]!;
      const h = layerNorm({ x: x0, gamma: l0.ln1.gamma, beta: l0.ln1.beta! }, { eps: config.layernormEps });
      const qkv = stats.get('layers.0.qkv')!;
      expect(Array.from(qkv.x)).toEqual(Array.from(absMaxColumns({ x: h }).data));
      const y = gemm({ a: h, b: l0.qkv.weight, bias: l0.qkv.bias! });
      const want = absMaxColumns({ x: y }).data;
      // per column the same sum in k order (one GEMM here, q, k and v apart in the engine)
      expect(Array.from(qkv.y)).toEqual(Array.from(want));
      expect([...stats.keys()]).toEqual(['layers.0.qkv', 'layers.0.attnOut', 'layers.0.fc', 'layers.0.proj', 'layers.1.qkv', 'layers.1.attnOut', 'layers.1.fc', 'layers.1.proj']);
      expect([stats.get('layers.1.fc')!.x.length, stats.get('layers.1.fc')!.y.length, stats.get('layers.1.proj')!.x.length, qkv.y.length]).toEqual([128, 512, 512, 384]);
    } finally {
      e.dispose();
    }
  });
  it('several prompts give the maxima of each prompt alone; progress is reported', async () => {
    const e = await Engine.fromModel(model, { maxInputLen: 16 });
    try {
      const seen: number[] = [];
      const all = e.calibrate(PROMPTS, { onProgress: (d) => seen.push(d) });
      expect(seen).toEqual([1, 2, 3]);
      const each = PROMPTS.map((p) => e.calibrate([p]));
      for (const [name, s] of all) {
        for (const key of ['x', 'y'] as const) expect(Array.from(s[key]), `${name}.${key}`).toEqual(Array.from(s[key], (_, j) => Math.max(...each.map((m) => m.get(name)![key][j]!))));
      }
      expect(() => e.calibrate([new Array(18).fill(1)])).toThrow(/calibrate: prompt 0: expected 1 … 17 tokens, got 18/);
    } finally {
      e.dispose();
    }
  });
  it('a prompt may fill all n_positions (64 here): the engine keeps its one output position inside them', async () => {
    const e = await Engine.fromModel(model, { maxInputLen: 64 });
    try {
      expect(e.config.maxInputLen + e.config.maxOutputLen).toBe(64);
      const s = e.calibrate([Array.from({ length: 64 }, (_, i) => (i * 7) % 96)]);
      expect(s.get('layers.1.proj')!.y.length).toBe(128);
      expect(() => e.calibrate([new Array(65).fill(1)])).toThrow(/calibrate: prompt 0: expected 1 … 64 tokens, got 65/);
    } finally {
      e.dispose();
    }
  });
});

describeBackends('Engine.calibrate on every backend', (v) => {
  it(`the maxima ${v.exact ? "equal the ref backend's bits" : 'stay within 1e-2 relative of the ref backend'}`, async () => {
    const [r, e] = [await Engine.fromModel(model, { maxInputLen: 16 }), await Engine.fromModel(model, { maxInputLen: 16, ...v.options })];
    try {
      const [sr, se] = [r.calibrate(PROMPTS), e.calibrate(PROMPTS)];
      expect([...se.keys()]).toEqual([...sr.keys()]);
      for (const [name, s] of sr) {
        for (const key of ['x', 'y'] as const) {
          const got = se.get(name)![key];
          if (v.exact) expect(Array.from(got), `${name}.${key}`).toEqual(Array.from(s[key]));
          else s[key].forEach((w, j) => expect(Math.abs(got[j]! - w), `${name}.${key}[${j}]`).toBeLessThanOrEqual(1e-2 * Math.abs(w) + 1e-6));
        }
      }
    } finally {
      r.dispose();
      e.dispose();
    }
  });
});
