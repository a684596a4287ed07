// The graph's `fusesNorm` wiring, on the CPU: a ref backend that takes each LayerNorm with the linear
// layer that reads it (applied there, as the production backend's decode GEMM does) must give the
// plain graph's logits bit for bit — GPT-2 (GELU, biases, tied lm_head), GPT-Next-like (RoPE,
// layernorm1p, SwiGLU: two linears read one LayerNorm) and a multi-query model, prompt then decode steps.
import { describe, expect, it } from 'vitest';
import { gptConfig, layerNorm, type GptConfigInput, type Tensor } from '@trtllm/ref-math';
import type { LinearWeights, NormInput, StepInputs } from '../backends/backend.js';
import { RefBackend } from '../backends/ref.js';
import { randomWeights } from '../builder/random-weights.js';
import { rankTensors } from '../builder/build.js';
import { GptGraph, type StepChunk } from './gpt.js';

/** RefBackend that takes `norm` and applies it first: what the graph must mean by passing it. */
class NormTakingRef extends RefBackend {
  readonly fusesNorm = true;
  normed = 0;
  #apply(x: Tensor, n: NormInput<Tensor>): Tensor {
    this.normed++;
    return this.layerNorm(n.beta ? { x, gamma: n.gamma, beta: n.beta } : { x, gamma: n.gamma }, { eps: n.eps, weightPlusOne: n.weightPlusOne });
  }
  override linear(i: { x: Tensor; w: LinearWeights<Tensor>; residual?: Tensor; norm?: NormInput<Tensor> }, a?: { activation?: 'gelu' }): Tensor {
    const x = i.norm ? this.#apply(i.x, i.norm) : i.x;
    return super.linear(i.residual ? { x, w: i.w, residual: i.residual } : { x, w: i.w }, a);
  }
  override selfAttention(
    i: { h: Tensor; q: LinearWeights<Tensor>; k: LinearWeights<Tensor>; v: LinearWeights<Tensor>; norm?: NormInput<Tensor> },
    a: { layer: number; step: StepInputs<Tensor>; numHeads: number; numKvHeads: number; headSize: number; rope: boolean },
  ): Tensor {
    return super.selfAttention({ h: i.norm ? this.#apply(i.h, i.norm) : i.h, q: i.q, k: i.k, v: i.v }, a);
  }
}

async function logitsOf(input: GptConfigInput, fused: boolean): Promise<{ logits: Float32Array[]; normed: number }> {
  const c = gptConfig(input);
  const weights = rankTensors(c, await randomWeights(c, 7, 1), 0, 1);
  const rope = c.rotaryPct > 0 ? { positions: c.nPositions, rotaryDim: Math.round((c.nEmbd / c.nHead) * c.rotaryPct), base: c.rotaryBase } : undefined;
  const b = fused ? new NormTakingRef(rope ? { rope } : {}) : new RefBackend(rope ? { rope } : {});
  b.createKvCache({ numLayers: c.nLayer, numSlots: 2, numKvHeads: c.nKvHead, headSize: c.nEmbd / c.nHead, dtype: c.dtype, layout: { kind: 'contiguous', maxSeqLen: 16 } });
  const graph = new GptGraph([{ backend: b, weights: weights as ReadonlyMap<string, Tensor> }], c);
  const steps: StepChunk[][] = [
    [{ slot: 0, start: 0, tokens: [3, 9, 4, 1] }, { slot: 1, start: 0, tokens: [5, 2] }], // prompts (gathered last rows)
    [{ slot: 0, start: 4, tokens: [7] }, { slot: 1, start: 2, tokens: [8] }], // decode: one token each, no gather
    [{ slot: 0, start: 5, tokens: [6] }, { slot: 1, start: 3, tokens: [1, 2] }], // mixed
  ];
  const logits = steps.map((s) => graph.forward(s));
  return { logits, normed: b instanceof NormTakingRef ? b.normed : 0 };
}

describe('GptGraph with a backend that takes LayerNorms with its linear layers', () => {
  const models: [string, GptConfigInput][] = [
    ['gpt2-like', { vocabSize: 40, nPositions: 32, nEmbd: 16, nHead: 2, nLayer: 2 }],
    ['gpt-next-like (RoPE, layernorm1p, SwiGLU)', { vocabSize: 40, nPositions: 32, nEmbd: 16, nHead: 2, nLayer: 2, rotaryPct: 0.5, layernorm1p: true, activation: 'swiglu', bias: false }],
    ['multi-query', { vocabSize: 40, nPositions: 32, nEmbd: 32, nHead: 4, nKvHead: 1, nLayer: 1 }],
  ];
  for (const [name, config] of models) {
    it(`${name}: the same logits bit for bit as LayerNorm ops of their own`, async () => {
      const plain = await logitsOf(config, false);
      const fused = await logitsOf(config, true);
      expect(fused.logits.map((l) => Array.from(l))).toEqual(plain.logits.map((l) => Array.from(l)));
      // each step: LN1 in attention, LN2 in the fc (and gate) per layer
      const perLayer = config.activation === 'swiglu' ? 3 : 2;
      expect(fused.normed).toBe(3 * config.nLayer * perLayer);
    });
  }
});
