/**
 * The GPT model graph of the engine (ARCHITECTURE.md, Model family), written once against the Backend interface:
 * one forward step over packed chunks (context chunks of whole prompts and one-token decode chunks
 * together, no padding). Per layer:
 *
 *   h = LN1(x);  q = h·Wq + bq,  k = h·Wk + bk,  v = h·Wv + bv     ([T, NH|NKV, HS] views)
 *   RoPE on q, k when rotary_pct > 0
 *   o = attention(q, k, v; earlier positions from the KV cache);  then k, v are written to the cache
 *   x = x + (o·Wo + bo)
 *   m = LN2(x);  x = x + (act(m·Wfc + bfc)[· gate]·Wproj + bproj)
 *
 * then the last row of each chunk (a row gather, exact; skipped when every chunk is one token), the
 * final LN (per row, so gathering first changes no bit), and logits = rows·lm_headᵀ (wte when tied) in the logits dtype — or, for greedy
 * requests, the argmax of each row on the backend, so only token ids cross to the host. On `ref` and
 * cuda-reference every op is ref-math's (or its bit-exact kernel), in the order of ref-math's
 * gptForward, so they reproduce the oracle bit for bit; the production cuda kernels fuse the
 * attention sub-block and the linears' epilogues and stay within the tolerances of their kernels.
 * A step made only of decode tokens (single rank, no prompt table) is named by its batch size, so a
 * backend with CUDA graphs captures it once and replays it. A backend that `fusesNorm` (production
 * cuda, one rank) gets LN1 and LN2 with the linear layers that read them instead of as ops of their
 * own, and applies them inside its decode GEMM where it can (the same bits as the LayerNorm kernel).
 *
 * Prompt tuning: with a prompt table [numTasks, Pt, H], ids V … V+Pt−1 of a sequence are rows of its
 * task's table (an exact row copy); everything after the embedding is unchanged.
 *
 * Tensor parallelism (ARCHITECTURE.md, Tensor parallelism), W ranks each with its own backend, weights and KV cache (its
 * query heads and KV heads; the one K/V head of multi-query models on every rank): q/k/v and fc (gate)
 * are column-parallel; attention runs per rank; the attention-output and proj GEMMs are row-parallel
 * without bias, their partials summed across ranks in rank order with one rounding to T per step
 * (ref-math allReduceSum = a chain of residual adds), then the bias is added once (as rows of
 * ones·bias, an exact GEMM, and a residual add). Everything else is replicated and runs on rank 0.
 * With W = 1 the bias stays inside the GEMM, as the oracle does. Across processes (one rank each,
 * NCCL), `allReduce` replaces the in-process sum: with 2 ranks the two are bit-identical.
 */
import { fromValues, headSize, type GptConfig, type SamplingRow, type SmoothQuantMode } from '@trtllm/ref-math';
import type { Backend, LinearWeights, NormInput, PendingStep, StepHost, StepInputs, StepOutput } from '../backends/backend.js';
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

/** What a launched step returns per chunk (GptGraph.launch), with the prompt table when the engine has one. */
export type StepRequest<T> = { readonly promptTable?: T } & (
  | { readonly output: 'tokens' }
  /** fp32 logits of each chunk's last row; `scored` chunks (indices) return every row. */
  | { readonly output: 'logits'; readonly scored?: readonly number[] }
  | { readonly output: 'sampled'; readonly sampling: readonly SamplingRow[] }
  | { readonly output: 'beams'; readonly beams: number }
  /**
   * The token (argmax, or drawn with `sampling`), its log-probability and the first `top` candidates per
   * row; `scored` chunks (indices) return every row, each but the last scored for the chunk's next token.
   */
  | { readonly output: 'chosenLogProbs'; readonly sampling?: readonly SamplingRow[]; readonly top: number; readonly scored?: readonly number[] }
);

/**
 * The output rows of a step whose `scored` chunks return every row (the others their last): per chunk,
 * its first output row and its last (the row of its next token); `targets` per output row — the
 * chunk's next token for a scored row, −1 (no given token: the row's pick is scored apart) for a
 * chunk's last row.
 */
export function stepRows(chunks: readonly StepChunk[], scored: ReadonlySet<number>): { readonly rows: number[]; readonly first: number[]; readonly last: number[]; readonly targets: number[] } {
  const rows: number[] = [];
  const first: number[] = [];
  const last: number[] = [];
  const targets: number[] = [];
  let at = 0;
  chunks.forEach((ch, i) => {
    first.push(rows.length);
    if (scored.has(i)) ch.tokens.forEach((_, j) => (rows.push(at + j), targets.push(j + 1 < ch.tokens.length ? ch.tokens[j + 1]! : -1)));
    else rows.push(at + ch.tokens.length - 1), targets.push(-1);
    last.push(rows.length - 1);
    at += ch.tokens.length;
  });
  return { rows, first, last, targets };
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
  readonly #smoothQuant: SmoothQuantMode | undefined;

  /**
   * `ranks`: every rank, in this process; or this process's one rank with `distributed`.
   * `smoothQuant`: the engine's SmoothQuant mode; its linear layers whose weights come as
   * `<name>.weight.int8` (+ `scale_x_orig_quant`, `scale_w_quant_orig`) then run in INT8. Weights
   * that come as `<name>.weight.fp8` (+ the same two scales) run in FP8.
   */
  constructor(ranks: readonly GraphRank<T>[], config: GptConfig, distributed?: Distributed<T>, smoothQuant?: SmoothQuantMode) {
    this.#ranks = ranks;
    this.#b = ranks[0]!.backend;
    this.#w = ranks[0]!.weights;
    this.#c = config;
    this.#dist = distributed;
    this.#smoothQuant = smoothQuant;
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
    return this.#launch(chunks, o.logits, 'logits', o.promptTable).collect() as Float32Array;
  }

  /** One step; returns each chunk's greedy next token (argmax of its last logits, on the backend). */
  greedyTokens(chunks: readonly StepChunk[], o: { readonly promptTable?: T } = {}): Int32Array {
    return this.launch(chunks, { output: 'tokens', ...o }).collect() as Int32Array;
  }

  /**
   * One step; returns each chunk's next token drawn on the backend from its last logits with
   * `sampling[i]` (ref-math sampleRows: penalty, ban, greedy or temperature / top-k / top-p and the draw).
   */
  sampledTokens(chunks: readonly StepChunk[], sampling: readonly SamplingRow[], o: { readonly promptTable?: T } = {}): Int32Array {
    return this.launch(chunks, { output: 'sampled', sampling, ...o }).collect() as Int32Array;
  }

  /**
   * One step; returns each chunk's last logits reduced for beam search on the backend: i32 [chunks, 2n + 3]
   * (ref-math beamCandidateRows: the first n candidates, the max and the exact weight sum; unpack a row
   * with beamCandidatesFromRow).
   */
  beamCandidates(chunks: readonly StepChunk[], n: number, o: { readonly promptTable?: T } = {}): Int32Array {
    return this.launch(chunks, { output: 'beams', beams: n, ...o }).collect() as Int32Array;
  }

  /**
   * One step; returns rows' log-probabilities of given tokens, reduced on the backend: i32 [rows, 4]
   * (ref-math tokenLogProbRows; finish row r on the host with tokenLogProbFromRow). The rows are each
   * chunk's last token's, or with `rows: 'all'` every token's; `tokens` has one id per row (the token
   * that follows it).
   */
  tokenLogProbs(chunks: readonly StepChunk[], tokens: readonly number[], o: { readonly rows: 'last' | 'all'; readonly promptTable?: T }): Int32Array {
    return this.#launch(chunks, o.rows, 'logProbs', o.promptTable, undefined, undefined, tokens).collect() as Int32Array;
  }

  /**
   * Start one step that returns a row per chunk (its last token's): fp32 logits [chunks, V] ('logits'),
   * or the token picked on the backend ('tokens', 'sampled' with a settings row per chunk), or the
   * beam-search reduction ('beams', n candidates). `collect` brings the output to the host; until then
   * the host is free (Backend.launchStep). The synchronous forms above are launch + collect.
   */
  launch(chunks: readonly StepChunk[], o: StepRequest<T>): PendingStep {
    const sampling = o.output === 'sampled' || o.output === 'chosenLogProbs' ? o.sampling : undefined;
    if (sampling && sampling.length !== chunks.length) throw new EngineError('request', { what: 'sampling', expected: `one settings row per chunk (${chunks.length})`, got: String(sampling.length) });
    const scored = (o.output === 'chosenLogProbs' || o.output === 'logits') && o.scored?.length ? stepRows(chunks, new Set(o.scored)) : undefined;
    if (!scored) return this.#launch(chunks, 'last', o.output, o.promptTable, sampling, o.output === 'beams' ? o.beams : o.output === 'chosenLogProbs' ? o.top : undefined);
    if (o.output === 'logits') return this.#launch(chunks, scored.rows, 'logits', o.promptTable);
    return this.#launch(chunks, scored.rows, o.output, o.promptTable, sampling, (o as { top: number }).top, scored.targets, scored.last);
  }

  /**
   * `rowsOut`: which rows return (or the list of them); `beams`: candidates per row ('beams',
   * 'chosenLogProbs'); `targets`: a token per output row ('logProbs'; 'chosenLogProbs' with scored
   * chunks: the next prompt token, −1 on a chunk's last row); `picks`: with scored chunks, the output
   * row of each chunk's last token — the rows a token is picked from ('chosenLogProbs').
   */
  #launch(chunks: readonly StepChunk[], rowsOut: 'last' | 'all' | 'none' | readonly number[], output: StepOutput, promptTable: T | undefined, sampling?: readonly SamplingRow[], beams?: number, targets?: readonly number[], picks?: readonly number[]): PendingStep {
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
    const outputRows = typeof rowsOut !== 'string' ? [...rowsOut] : rowsOut === 'all' ? ids.map((_, i) => i) : rowsOut === 'last' ? lastRows : [];
    if (output === 'logProbs' && targets?.length !== outputRows.length) throw new EngineError('request', { what: 'tokenLogProbs: tokens', expected: `one token per output row (${outputRows.length})`, got: String(targets?.length ?? 0) });
    const host: StepHost = {
      ids, positions, slots, tasks, outputRows,
      sequences: chunks.map((ch) => ({ slot: ch.slot, start: ch.start, length: ch.tokens.length })),
      ...(sampling ? { sampling } : {}),
      ...(beams !== undefined && output === 'beams' ? { beamCandidates: beams } : {}),
      ...(targets ? { targets } : {}),
    };
    const w = this.#dist?.worldSize ?? this.#ranks.length;
    const headsPerRank = c.nHead / w;
    const kvPerRank = c.nKvHead === 1 ? 1 : c.nKvHead / w;
    const decodeOnly = chunks.every((ch) => ch.tokens.length === 1 && ch.start > 0);
    const capture = this.#ranks.length === 1 && !this.#dist && promptTable === undefined && decodeOnly && rowsOut === 'last' ? `${output}${sampling && output === 'chosenLogProbs' ? 's' : ''}${beams ?? ''}:${chunks.length}` : undefined;
    const lw = (name: string, r: GraphRank<T>, withBias = true): LinearWeights<T> => {
      const bias = withBias ? this.#opt(`${name}.bias`, r.weights) : undefined;
      const fp8 = this.#opt(`${name}.weight.fp8`, r.weights);
      if (fp8 !== undefined) {
        const f = { kind: 'fp8' as const, weight: fp8, scaleX: this.#get(`${name}.scale_x_orig_quant`, r.weights), scaleW: this.#get(`${name}.scale_w_quant_orig`, r.weights) };
        return bias === undefined ? f : { ...f, bias };
      }
      const int8 = this.#opt(`${name}.weight.int8`, r.weights);
      if (int8 !== undefined) {
        if (!this.#smoothQuant) throw new EngineError('format', { what: `engine tensor ${name}.weight.int8`, expected: 'float weights (the engine is not SmoothQuant)', got: 'INT8 weights', hint: 'the engine file does not match its config.json: rebuild it' });
        const q = { kind: 'int8' as const, weight: int8, mode: this.#smoothQuant, scaleX: this.#get(`${name}.scale_x_orig_quant`, r.weights), scaleW: this.#get(`${name}.scale_w_quant_orig`, r.weights) };
        return bias === undefined ? q : { ...q, bias };
      }
      const weight = this.#get(`${name}.weight`, r.weights);
      return bias === undefined ? { weight } : { weight, bias };
    };
    const body = (s: StepInputs<T>): T | undefined => {
      const keep = s.keep;
      const normOf = (name: string): NormInput<T> => {
        const beta = this.#opt(`${name}.beta`);
        const n = { gamma: this.#get(`${name}.gamma`), eps: c.layernormEps, weightPlusOne: c.layernorm1p };
        return beta === undefined ? n : { ...n, beta };
      };
      const norm = (x: T, name: string): T => {
        const { gamma, beta, eps, weightPlusOne } = normOf(name);
        return keep(b.layerNorm(beta === undefined ? { x, gamma } : { x, gamma, beta }, { eps, weightPlusOne }));
      };
      let ones: T | undefined;
      /** Row-parallel output: Σ_r partial_r (rank order, one rounding per step), then + bias once. */
      const reduce = (parts: T[], bias: T | undefined): T => {
        let sum: T = this.#dist ? keep(this.#dist.allReduce(parts[0] as T)) : (parts[0] as T);
        for (let r = 1; r < parts.length; r++) sum = keep(b.residualAdd({ a: sum, b: parts[r] as T }));
        if (bias === undefined) return sum;
        ones ??= keep(b.upload(fromValues(c.dtype, [t, 1], new Array<number>(t).fill(1))));
        return keep(b.residualAdd({ a: sum, b: keep(b.gemm({ a: ones, b: keep(b.view(bias, [1, c.nEmbd])) })) }));
      };
      /** h, or with `n` the LayerNorm's input x (a backend that fusesNorm, one rank). */
      const attentionOf = (h: T, layer: number, r: GraphRank<T>, n?: NormInput<T>): T => {
        const p = `layers.${layer}`;
        const qkv = { h, q: lw(`${p}.q`, r), k: lw(`${p}.k`, r), v: lw(`${p}.v`, r) };
        return keep(r.backend.selfAttention(
          n ? { ...qkv, norm: n } : qkv,
          { layer, step: s, numHeads: headsPerRank, numKvHeads: kvPerRank, headSize: hs, rope: c.rotaryPct > 0 },
        ));
      };
      /** The MLP's activation input → hidden: act(m·Wfc + bfc) [· (m·Wgate + bgate)]. */
      const mlpOf = (m: T, layer: number, r: GraphRank<T>, n?: NormInput<T>): T => {
        const p = `layers.${layer}`;
        const rb = r.backend;
        const input = (name: string) => (n ? { x: m, w: lw(`${p}.${name}`, r), norm: n } : { x: m, w: lw(`${p}.${name}`, r) });
        if (c.activation === 'swiglu') return keep(rb.swiglu({ x: keep(rb.linear(input('fc'))), gate: keep(rb.linear(input('gate'))) }));
        return keep(rb.linear(input('fc'), { activation: 'gelu' }));
      };
      let x = promptTable !== undefined
        ? keep(b.promptEmbeddingLookup({ ids: s.ids, table: this.#get('wte'), promptTable, tasks: s.tasks }))
        : keep(b.embeddingLookup({ ids: s.ids, table: this.#get('wte') }));
      if (c.rotaryPct === 0) x = keep(b.addPositionEmbedding({ x, wpe: this.#get('wpe'), positions: s.positions }));
      const r0 = this.#ranks[0]!;
      for (let layer = 0; layer < c.nLayer; layer++) {
        const p = `layers.${layer}`;
        if (w === 1 && b.fusesNorm) { // the backend applies each LayerNorm inside the linear layer that reads it
          x = keep(b.linear({ x: attentionOf(x, layer, r0, normOf(`${p}.ln1`)), w: lw(`${p}.attnOut`, r0), residual: x }));
          x = keep(b.linear({ x: mlpOf(x, layer, r0, normOf(`${p}.ln2`)), w: lw(`${p}.proj`, r0), residual: x }));
          continue;
        }
        const h = norm(x, `${p}.ln1`);
        if (w === 1) {
          x = keep(b.linear({ x: attentionOf(h, layer, r0), w: lw(`${p}.attnOut`, r0), residual: x }));
          x = keep(b.linear({ x: mlpOf(norm(x, `${p}.ln2`), layer, r0), w: lw(`${p}.proj`, r0), residual: x }));
          continue;
        }
        x = keep(b.residualAdd({ a: x, b: reduce(this.#ranks.map((r) => keep(r.backend.linear({ x: attentionOf(h, layer, r), w: lw(`${p}.attnOut`, r, false) }))), this.#opt(`${p}.attnOut.bias`)) }));
        const m = norm(x, `${p}.ln2`);
        x = keep(b.residualAdd({ a: x, b: reduce(this.#ranks.map((r) => keep(r.backend.linear({ x: mlpOf(m, layer, r), w: lw(`${p}.proj`, r, false) }))), this.#opt(`${p}.proj.bias`)) }));
      }
      if (rowsOut === 'none') return undefined;
      // each chunk's last row; when every chunk is one token those are all the rows, in order: no gather
      const rows = rowsOut !== 'all' && chunks.some((ch) => ch.tokens.length > 1) ? keep(b.embeddingLookup({ ids: s.outputRows, table: x })) : x;
      const logits = keep(b.gemm({ a: norm(rows, 'lnF'), b: this.#opt('lmHead') ?? this.#get('wte') }, { transB: true, outDtype: c.logitsDtype }));
      if (output === 'tokens') return keep(b.argmax(logits));
      if (output === 'sampled') return keep(b.sample(logits, s));
      if (output === 'beams') return keep(b.beamCandidates(logits, beams!, s));
      if (output === 'logProbs') return keep(b.tokenLogProbs(logits, s.targets!));
      if (output === 'chosenLogProbs') {
        // per chunk: its last row's pick, the pick's words, its first `beams` candidates ([C, 5 (+ 2n + 3)])
        const last = picks ? keep(b.embeddingLookup({ ids: keep(b.upload(fromValues('i32', [picks.length], picks))), table: logits })) : logits;
        const picked = keep(sampling ? b.sample(last, s) : b.argmax(last));
        const chosen = [keep(b.view(picked, [chunks.length, 1])), keep(b.tokenLogProbs(last, picked))];
        if (beams! > 0) chosen.push(keep(b.beamCandidates(last, beams!, s)));
        if (!picks) return keep(b.concatColumns(chosen));
        // scored chunks: then every output row's words for its target (a prompt row's next token; NaN on a
        // last row, whose pick is above) and candidates ([R, 4 (+ 2n + 3)]), both flat, one after the other
        const scoredRows = [keep(b.tokenLogProbs(logits, s.targets!))];
        if (beams! > 0) scoredRows.push(keep(b.beamCandidates(logits, beams!, s)));
        const a = keep(b.concatColumns(chosen));
        const r = keep(b.concatColumns(scoredRows));
        return keep(b.concatColumns([keep(b.view(a, [1, chunks.length * (5 + (beams! > 0 ? 2 * beams! + 3 : 0))])), keep(b.view(r, [1, outputRows.length * (4 + (beams! > 0 ? 2 * beams! + 3 : 0))]))]));
      }
      return logits;
    };
    return b.launchStep(host, body, capture === undefined ? { output } : { output, capture });
  }
}
