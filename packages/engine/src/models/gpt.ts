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
 *
 * Prompt tuning: with a prompt table [numTasks, Pt, H], ids V … V+Pt−1 of a sequence are rows of its
 * task's table (an exact row copy); everything after the embedding is unchanged.
 *
 * Tensor parallelism (DESIGN.md §6), W ranks each with its own backend, weights and KV cache (its
 * query heads and KV heads; the one K/V head of multi-query models on every rank): q/k/v and fc (gate)
 * are column-parallel; attention runs per rank; the attention-output and proj GEMMs are row-parallel
 * without bias, their partials summed across ranks in rank order with one rounding to T per step
 * (ref-math allReduceSum = a chain of residual adds), then the bias is added once (as rows of
 * ones·bias, an exact GEMM, and a residual add). Everything else is replicated and runs on rank 0.
 * With W = 1 the bias stays inside the GEMM, as the oracle does. Across processes (one rank each,
 * NCCL), `allReduce` replaces the in-process sum: with 2 ranks the two are bit-identical.
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
  /** Prompt-table task of the sequence (tokens ≥ V are its virtual tokens). */
  readonly task?: number;
}

/** Rank weights on the backend, by engine tensor name (builder/build.ts rankTensors). */
export type GraphWeights<T> = ReadonlyMap<string, T>;

/** One tensor-parallel rank: its backend (with its KV cache) and its weights. */
export interface GraphRank<T> {
  readonly backend: Backend<T>;
  readonly weights: GraphWeights<T>;
}

/** This process's place in a tensor-parallel group that spans processes. */
export interface Distributed<T> {
  readonly worldSize: number;
  /** Σ over ranks of this rank's partial (NCCL), as a new tensor. */
  allReduce(partial: T): T;
}

export class GptGraph<T> {
  readonly #ranks: readonly GraphRank<T>[];
  readonly #b: Backend<T>;
  readonly #c: GptConfig;
  readonly #w: GraphWeights<T>;
  readonly #dist: Distributed<T> | undefined;

  /** `ranks`: every rank, in this process; or this process's one rank with `distributed`. */
  constructor(ranks: readonly GraphRank<T>[], config: GptConfig, distributed?: Distributed<T>) {
    this.#ranks = ranks;
    this.#b = ranks[0]!.backend;
    this.#w = ranks[0]!.weights;
    this.#c = config;
    this.#dist = distributed;
  }

  #get(name: string, w: GraphWeights<T> = this.#w): T {
    const t = w.get(name);
    if (t === undefined) throw new EngineError('format', { what: `engine tensor ${name}`, expected: 'present', got: 'missing', hint: 'the engine file does not match its config.json: rebuild it' });
    return t;
  }

  #opt(name: string, w: GraphWeights<T> = this.#w): T | undefined {
    return w.get(name);
  }

  /** One step; returns fp32 logits [chunks, V] of each chunk's last token (all tokens with `all`; none with `none`: a worker rank). */
  forward(chunks: readonly StepChunk[], o: { readonly logits: 'last' | 'all' | 'none'; /** [numTasks, Pt, H] on rank 0's backend. */ readonly promptTable?: T } = { logits: 'last' }): Float32Array {
    const b = this.#b;
    const c = this.#c;
    const hs = headSize(c);
    const ids: number[] = [];
    const positions: number[] = [];
    const slots: number[] = [];
    const tasks: number[] = [];
    const lastRows: number[] = [];
    for (const ch of chunks) {
      ch.tokens.forEach((id, i) => {
        ids.push(id);
        tasks.push(ch.task ?? 0);
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
    const linear = (x: T, name: string, r: GraphRank<T> = this.#ranks[0]!, withBias = true): T => {
      const bias = withBias ? this.#opt(`${name}.bias`, r.weights) : undefined;
      const weight = this.#get(`${name}.weight`, r.weights);
      return keep(r.backend.gemm(bias === undefined ? { a: x, b: weight } : { a: x, b: weight, bias }));
    };
    const norm = (x: T, name: string): T => {
      const beta = this.#opt(`${name}.beta`);
      const gamma = this.#get(`${name}.gamma`);
      return keep(b.layerNorm(beta === undefined ? { x, gamma } : { x, gamma, beta }, { eps: c.layernormEps, weightPlusOne: c.layernorm1p }));
    };
    const w = this.#dist?.worldSize ?? this.#ranks.length;
    const headsPerRank = c.nHead / w;
    const kvPerRank = c.nKvHead === 1 ? 1 : c.nKvHead / w;
    let ones: T | undefined;
    /** Row-parallel output: Σ_r partial_r (rank order, one rounding per step), then + bias once. */
    const reduce = (parts: T[], bias: T | undefined): T => {
      let sum: T = this.#dist ? keep(this.#dist.allReduce(parts[0] as T)) : (parts[0] as T);
      for (let r = 1; r < parts.length; r++) sum = keep(b.residualAdd({ a: sum, b: parts[r] as T }));
      if (bias === undefined) return sum;
      ones ??= keep(b.upload(fromValues(c.dtype, [t, 1], new Array<number>(t).fill(1))));
      return keep(b.residualAdd({ a: sum, b: keep(b.gemm({ a: ones, b: keep(b.view(bias, [1, c.nEmbd])) })) }));
    };
    const attentionOf = (h: T, layer: number, r: GraphRank<T>): T => {
      const p = `layers.${layer}`;
      const rb = r.backend;
      let q = keep(rb.view(linear(h, `${p}.q`, r), [t, headsPerRank, hs]));
      let k = keep(rb.view(linear(h, `${p}.k`, r), [t, kvPerRank, hs]));
      const v = keep(rb.view(linear(h, `${p}.v`, r), [t, kvPerRank, hs]));
      if (c.rotaryPct > 0) {
        q = keep(rb.rope({ x: q, positions: posT }));
        k = keep(rb.rope({ x: k, positions: posT }));
      }
      const att = keep(rb.attention({ q, k, v }, { sequences, layer }));
      rb.kvCacheWrite(layer, { k, v, slots: slotsT, positions: posT });
      return keep(rb.view(att, [t, headsPerRank * hs]));
    };
    const mlpOf = (m: T, layer: number, r: GraphRank<T>): T => {
      const p = `layers.${layer}`;
      const rb = r.backend;
      return c.activation === 'swiglu' ? keep(rb.swiglu({ x: linear(m, `${p}.fc`, r), gate: linear(m, `${p}.gate`, r) })) : keep(rb.gelu({ x: linear(m, `${p}.fc`, r) }));
    };
    try {
      let x = o.promptTable !== undefined
        ? keep(b.promptEmbeddingLookup({ ids: idsT, table: this.#get('wte'), promptTable: o.promptTable, tasks: keep(b.upload(fromValues('i32', [t], tasks))) }))
        : keep(b.embeddingLookup({ ids: idsT, table: this.#get('wte') }));
      if (c.rotaryPct === 0) x = keep(b.addPositionEmbedding({ x, wpe: this.#get('wpe'), positions: posT }));
      for (let layer = 0; layer < c.nLayer; layer++) {
        const p = `layers.${layer}`;
        const h = norm(x, `${p}.ln1`);
        if (w === 1) {
          x = keep(b.residualAdd({ a: x, b: linear(attentionOf(h, layer, this.#ranks[0]!), `${p}.attnOut`) }));
          x = keep(b.residualAdd({ a: x, b: linear(mlpOf(norm(x, `${p}.ln2`), layer, this.#ranks[0]!), `${p}.proj`) }));
          continue;
        }
        x = keep(b.residualAdd({ a: x, b: reduce(this.#ranks.map((r) => linear(attentionOf(h, layer, r), `${p}.attnOut`, r, false)), this.#opt(`${p}.attnOut.bias`)) }));
        const m = norm(x, `${p}.ln2`);
        x = keep(b.residualAdd({ a: x, b: reduce(this.#ranks.map((r) => linear(mlpOf(m, layer, r), `${p}.proj`, r, false)), this.#opt(`${p}.proj.bias`)) }));
      }
      if (o.logits === 'none') return new Float32Array(0);
      let xf = norm(x, 'lnF');
      if (o.logits === 'last') xf = keep(b.embeddingLookup({ ids: keep(b.upload(fromValues('i32', [lastRows.length], lastRows))), table: xf }));
      const logits = keep(b.gemm({ a: xf, b: this.#opt('lmHead') ?? this.#get('wte') }, { transB: true, outDtype: c.logitsDtype }));
      return b.toF32(logits);
    } finally {
      for (const x of temps) b.free(x);
    }
  }
}

