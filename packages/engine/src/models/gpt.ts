/**
 * The GPT model graph of the engine (DESIGN.md §3), written once against the Backend interface:
 * one forward step over packed chunks (context chunks of whole prompts and one-token decode chunks
 * together, no padding). Per layer:
 *
 *   h = LN1(x);  q = h·Wq + bq,  k = h·Wk + bk,  v = h·Wv + bv     ([T, NH|NKV, HS] views)
 *   RoPE on q, k when rotary_pct > 0
 *   o = attention(q, k, v; earlier positions from the KV cache);  then k, v are written to the cache
 *   x = x + (o·Wo + bo)
 *   m = LN2(x);  x = x + (act(m·Wfc + bfc)[· gate]·Wproj + bproj)
 *
 * then the final LN, the last row of each chunk (a row gather, exact), and logits = rows·lm_headᵀ
 * (wte when tied) in the logits dtype. Every op is ref-math's (or its bit-exact kernel), in the same
 * order as ref-math's gptForward, so the `ref` backend reproduces the oracle bit for bit.
 */
import { fromValues, headSize, type GptConfig } from '@trtllm/ref-math';
import type { Backend } from '../backends/backend.js';
import { EngineError } from '../errors.js';

/** One sequence's new tokens in a step. */
export interface StepChunk {
  readonly slot: number;
  /** Position of tokens[0]; earlier positions are in the cache. */
  readonly start: number;
  readonly tokens: readonly number[];
}

/** Rank weights on the backend, by engine tensor name (builder/build.ts rankTensors). */
export type GraphWeights<T> = ReadonlyMap<string, T>;

export class GptGraph<T> {
  readonly #b: Backend<T>;
  readonly #c: GptConfig;
  readonly #w: GraphWeights<T>;

  constructor(backend: Backend<T>, config: GptConfig, weights: GraphWeights<T>) {
    this.#b = backend;
    this.#c = config;
    this.#w = weights;
  }

  #get(name: string): T {
    const t = this.#w.get(name);
    if (t === undefined) throw new EngineError('format', { what: `engine tensor ${name}`, expected: 'present', got: 'missing', hint: 'the engine file does not match its config.json: rebuild it' });
    return t;
  }

  #opt(name: string): T | undefined {
    return this.#w.get(name);
  }

  /** One step; returns fp32 logits [chunks, V] of each chunk's last token (all tokens with `all`). */
  forward(chunks: readonly StepChunk[], o: { readonly logits: 'last' | 'all' } = { logits: 'last' }): Float32Array {
    const b = this.#b;
    const c = this.#c;
    const hs = headSize(c);
    const ids: number[] = [];
    const positions: number[] = [];
    const slots: number[] = [];
    const lastRows: number[] = [];
    for (const ch of chunks) {
      ch.tokens.forEach((id, i) => {
        ids.push(id);
        positions.push(ch.start + i);
        slots.push(ch.slot);
      });
      lastRows.push(ids.length - 1);
    }
    const t = ids.length;
    const temps: T[] = [];
    const keep = <U extends T>(x: U): U => {
      temps.push(x);
      return x;
    };
    const idsT = keep(b.upload(fromValues('i32', [t], ids)));
    const posT = keep(b.upload(fromValues('i32', [t], positions)));
    const slotsT = keep(b.upload(fromValues('i32', [t], slots)));
    const sequences = chunks.map((ch) => ({ slot: ch.slot, start: ch.start, length: ch.tokens.length }));
    const linear = (x: T, name: string): T => {
      const bias = this.#opt(`${name}.bias`);
      return keep(b.gemm(bias === undefined ? { a: x, b: this.#get(`${name}.weight`) } : { a: x, b: this.#get(`${name}.weight`), bias }));
    };
    const norm = (x: T, name: string): T => {
      const beta = this.#opt(`${name}.beta`);
      const gamma = this.#get(`${name}.gamma`);
      return keep(b.layerNorm(beta === undefined ? { x, gamma } : { x, gamma, beta }, { eps: c.layernormEps, weightPlusOne: c.layernorm1p }));
    };
    try {
      let x = keep(b.embeddingLookup({ ids: idsT, table: this.#get('wte') }));
      if (c.rotaryPct === 0) x = keep(b.addPositionEmbedding({ x, wpe: this.#get('wpe'), positions: posT }));
      for (let layer = 0; layer < c.nLayer; layer++) {
        const p = `layers.${layer}`;
        const h = norm(x, `${p}.ln1`);
        let q = keep(b.view(linear(h, `${p}.q`), [t, c.nHead, hs]));
        let k = keep(b.view(linear(h, `${p}.k`), [t, c.nKvHead, hs]));
        const v = keep(b.view(linear(h, `${p}.v`), [t, c.nKvHead, hs]));
        if (c.rotaryPct > 0) {
          q = keep(b.rope({ x: q, positions: posT }));
          k = keep(b.rope({ x: k, positions: posT }));
        }
        const att = keep(b.attention({ q, k, v }, { sequences, layer }));
        b.kvCacheWrite(layer, { k, v, slots: slotsT, positions: posT });
        x = keep(b.residualAdd({ a: x, b: linear(keep(b.view(att, [t, c.nHead * hs])), `${p}.attnOut`) }));
        const m = norm(x, `${p}.ln2`);
        const act = c.activation === 'swiglu' ? keep(b.swiglu({ x: linear(m, `${p}.fc`), gate: linear(m, `${p}.gate`) })) : keep(b.gelu({ x: linear(m, `${p}.fc`) }));
        x = keep(b.residualAdd({ a: x, b: linear(act, `${p}.proj`) }));
      }
      let xf = norm(x, 'lnF');
      if (o.logits === 'last') xf = keep(b.embeddingLookup({ ids: keep(b.upload(fromValues('i32', [lastRows.length], lastRows))), table: xf }));
      const logits = keep(b.gemm({ a: xf, b: this.#opt('lmHead') ?? this.#get('wte') }, { transB: true, outDtype: c.logitsDtype }));
      return b.toF32(logits);
    } finally {
      for (const x of temps) b.free(x);
    }
  }
}

