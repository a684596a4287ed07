/**
 * The GPT forward pass composed from the oracle's ops, and greedy decoding on top of it. This is
 * what the engine's `ref` backend runs and what the CUDA reference-order path must reproduce bit
 * for bit (ARCHITECTURE.md, Numerics tier 2).
 *
 * One step takes, for each sequence, a chunk of new tokens at positions start … start+n−1 (a whole
 * prompt for context, one token for decode), packed into T rows:
 *   x   = wte[ids] (+ wpe[positions] when rotaryPct = 0)                      embedding.ts
 *   per layer:
 *     a   = LN1(x);  qkv = a·Wqkv + b;  q, k, v = split(qkv)                   layernorm.ts, gemm.ts
 *     q, k = RoPE(q, k) when rotaryPct > 0                                      rope.ts
 *     o   = attention(q, k, v; earlier positions from the cache)               attention.ts
 *     cache ← k, v at their positions                                           kv-cache.ts
 *     x   = x + (o·Wo + b)                                                      residual.ts
 *     m   = LN2(x);  x = x + (act(m·Wfc + b)·Wproj + b)   act: gelu, or silu(m·Wfc)·(m·Wgate)
 *   logits = LN_F(x)·lm_headᵀ (lm_head = wte when tied), in logitsDtype
 * Every op rounds its output to T (config.dtype); the logits GEMM writes logitsDtype directly.
 * Each row's arithmetic is independent of the other rows, so a sequence's logits do not depend on
 * its batch-mates (batch invariance holds by construction here and is tested).
 */
import { expectAttr } from '../check.js';
import type { ActDType } from '../dtype.js';
import { IndexRangeError } from '../errors.js';
import { swiglu, gelu } from '../ops/activation.js';
import { attention } from '../ops/attention.js';
import { addPositionEmbedding, embeddingLookup } from '../ops/embedding.js';
import { gemm } from '../ops/gemm.js';
import type { KvCache, KvCacheDType, KvLayout, KvQuantScales, RopeTable } from '../op-specs.js';
import { createKvCache, kvCacheWrite } from '../ops/kv-cache.js';
import { layerNorm } from '../ops/layernorm.js';
import { argmax } from '../ops/argmax.js';
import { residualAdd } from '../ops/residual.js';
import { rope, ropeTable, rotaryDimOf } from '../ops/rope.js';
import { fromValues, reshape, tensor, toF32, type Tensor } from '../tensor.js';
import { headSize, type GptConfig } from './config.js';
import type { GptModel, LayerNormWeights, LinearWeights } from './weights.js';

/** New tokens of one sequence for one forward step. */
export interface GptChunk {
  /** KV-cache slot of the sequence. */
  readonly slot: number;
  /** Position of tokens[0]; positions before it must already be in the cache. */
  readonly start: number;
  readonly tokens: readonly number[];
}

export interface GptForwardOptions {
  /** Logits for every new token, or only for the last token of each chunk (generation). */
  readonly logits: 'all' | 'last';
}

const ropeTables = new WeakMap<GptConfig, RopeTable>();

function ropeTableFor(c: GptConfig): RopeTable {
  let table = ropeTables.get(c);
  if (!table) {
    table = ropeTable(c.nPositions, rotaryDimOf(headSize(c), c.rotaryPct), c.rotaryBase);
    ropeTables.set(c, table);
  }
  return table;
}

const linear = (x: Tensor<ActDType>, l: LinearWeights): Tensor<ActDType> =>
  gemm(l.bias ? { a: x, b: l.weight, bias: l.bias } : { a: x, b: l.weight });

function norm(c: GptConfig, x: Tensor<ActDType>, w: LayerNormWeights): Tensor<ActDType> {
  const inputs = w.beta ? { x, gamma: w.gamma, beta: w.beta } : { x, gamma: w.gamma };
  return layerNorm(inputs, { eps: c.layernormEps, weightPlusOne: c.layernorm1p });
}

/** Columns [from, from + heads·hs) of qkv [T, W] as [T, heads, hs] (an exact copy). */
function headsOf(qkv: Tensor<ActDType>, from: number, heads: number, hs: number): Tensor<ActDType> {
  const [t, width] = qkv.shape as [number, number];
  const out = tensor(qkv.dtype, [t, heads, hs]);
  for (let i = 0; i < t; i++) out.data.set(qkv.data.subarray(i * width + from, i * width + from + heads * hs), i * heads * hs);
  return out;
}

/** One forward step over packed chunks; returns logits [rows, V] (rows = T, or one per chunk). */
export function gptForward(model: GptModel, cache: KvCache, chunks: readonly GptChunk[], options: GptForwardOptions): Tensor<ActDType> {
  const { config: c, weights: w } = model;
  const hs = headSize(c);
  const ids: number[] = [];
  const positions: number[] = [];
  const slots: number[] = [];
  for (const ch of chunks) {
    expectAttr('gptForward', `chunk(slot ${ch.slot}).tokens`, ch.tokens.length > 0, 'at least one token', 0);
    if (ch.start + ch.tokens.length > c.nPositions) {
      throw new IndexRangeError({ op: 'gptForward', what: `chunk(slot ${ch.slot})`, expected: `positions < n_positions (${c.nPositions})`, got: `up to ${ch.start + ch.tokens.length - 1}` });
    }
    ch.tokens.forEach((id, i) => {
      ids.push(id);
      positions.push(ch.start + i);
      slots.push(ch.slot);
    });
  }
  const t = ids.length;
  const idsT = fromValues('i32', [t], ids);
  const posT = fromValues('i32', [t], positions);
  const slotsT = fromValues('i32', [t], slots);
  const sequences = chunks.map((ch) => ({ slot: ch.slot, start: ch.start, length: ch.tokens.length }));

  let x = embeddingLookup({ ids: idsT, table: w.wte });
  if (c.rotaryPct === 0) x = addPositionEmbedding({ x, wpe: w.wpe!, positions: posT });
  const table = c.rotaryPct > 0 ? ropeTableFor(c) : undefined;

  w.layers.forEach((lw, layer) => {
    const qkv = linear(norm(c, x, lw.ln1), lw.qkv);
    let q = headsOf(qkv, 0, c.nHead, hs);
    let k = headsOf(qkv, c.nHead * hs, c.nKvHead, hs);
    const v = headsOf(qkv, (c.nHead + c.nKvHead) * hs, c.nKvHead, hs);
    if (table) {
      q = rope({ x: q, positions: posT, table });
      k = rope({ x: k, positions: posT, table });
    }
    const o = attention({ q, k, v }, { sequences, cache: { cache, layer } });
    kvCacheWrite(cache, layer, { k, v, slots: slotsT, positions: posT });
    x = residualAdd({ a: x, b: linear(reshape(o, [t, c.nHead * hs]), lw.attnOut) });
    const m = norm(c, x, lw.ln2);
    const act = c.activation === 'swiglu' ? swiglu({ x: linear(m, lw.fc), gate: linear(m, lw.gate!) }) : gelu({ x: linear(m, lw.fc) });
    x = residualAdd({ a: x, b: linear(act, lw.proj) });
  });

  let xf = norm(c, x, w.lnF);
  if (options.logits === 'last') {
    const rows = tensor(xf.dtype, [chunks.length, c.nEmbd]);
    let end = 0;
    chunks.forEach((ch, i) => {
      end += ch.tokens.length;
      rows.data.set(xf.data.subarray((end - 1) * c.nEmbd, end * c.nEmbd), i * c.nEmbd);
    });
    xf = rows;
  }
  return gemm({ a: xf, b: w.lmHead ?? w.wte }, { transB: true, outDtype: c.logitsDtype });
}

export interface GptCacheOptions {
  readonly numSlots: number;
  /** Storage dtype; default the model dtype. */
  readonly dtype?: KvCacheDType;
  /** One K and one V scale per layer (int8 / fp8 storage). */
  readonly scales?: readonly KvQuantScales[];
  /** Default contiguous with maxSeqLen = n_positions. */
  readonly layout?: KvLayout;
}

/** A KV cache shaped for a model. Paged layouts start with no blocks assigned. */
export function createGptKvCache(config: GptConfig, o: GptCacheOptions): KvCache {
  const spec = {
    numLayers: config.nLayer,
    numSlots: o.numSlots,
    numKvHeads: config.nKvHead,
    headSize: headSize(config),
    dtype: o.dtype ?? config.dtype,
    layout: o.layout ?? { kind: 'contiguous' as const, maxSeqLen: config.nPositions },
  };
  return createKvCache(o.scales ? { ...spec, scales: o.scales } : spec);
}

export interface GreedyOptions {
  readonly maxNewTokens: number;
  /** Stop a sequence after it emits this id (the id is kept in its output). */
  readonly endId?: number;
  /** Cache to use (slots 0 … prompts.length − 1; paged blocks assigned by the caller); default contiguous. */
  readonly cache?: KvCache;
}

/**
 * Greedy decoding of a batch: one context step over all prompts (packed), then one decode step per
 * new token for the sequences still running. Returns the new tokens of each prompt.
 */
export function greedyGenerate(model: GptModel, prompts: readonly (readonly number[])[], o: GreedyOptions): number[][] {
  const cache = o.cache ?? createGptKvCache(model.config, { numSlots: prompts.length });
  const out = prompts.map((): number[] => []);
  const v = model.config.vocabSize;
  let running = prompts.map((p, slot) => ({ slot, start: 0, tokens: [...p] }));
  for (let step = 0; step < o.maxNewTokens && running.length > 0; step++) {
    const logits = toF32(gptForward(model, cache, running, { logits: 'last' }));
    const next: typeof running = [];
    running.forEach((ch, i) => {
      const id = argmax(logits.subarray(i * v, (i + 1) * v));
      out[ch.slot]!.push(id);
      if (id !== o.endId) next.push({ slot: ch.slot, start: ch.start + ch.tokens.length, tokens: [id] });
    });
    running = next;
  }
  return out;
}
