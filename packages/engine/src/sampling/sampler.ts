/**
 * Token selection for one request: its validated settings and its own seeded generator. Each step
 * makes a ref-math SamplingRow (penalty, the end id banned until `minNewTokens`, greedy or
 * temperature / top-k / top-p, and a uint32 draw from the request's mulberry32 stream, taken only
 * when the row is not greedy), which every backend turns into the same token (ref-math
 * ops/sampling.ts is the specification; the engine samples on the device, `next` on the host is the
 * same function). So a request's tokens never depend on other requests, the batch or the backend.
 * Greedy: the default, and whenever topK = 1 or temperature = 0.
 */
import { mulberry32, sampleToken, type SamplingRow } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';

export interface SamplingOptions {
  /** 0 = greedy; default 1. */
  readonly temperature?: number;
  /** 0 = no top-k filter; 1 = greedy. Default: greedy unless temperature, topK or topP is set. */
  readonly topK?: number;
  /** In (0, 1]; 1 = no filter. */
  readonly topP?: number;
  /** ≥ 1 discourages repeats; default 1 (off). */
  readonly repetitionPenalty?: number;
  /** The end id cannot be chosen before this many new tokens. */
  readonly minNewTokens?: number;
  /** Seed of this request's generator (default 0). */
  readonly seed?: number;
}

export class Sampler {
  readonly #o: Required<Omit<SamplingOptions, 'seed'>>;
  readonly #greedy: boolean;
  readonly #draw: () => number;

  constructor(o: SamplingOptions, what = 'sampling') {
    const t = o.temperature ?? 1;
    const k = o.topK ?? 0;
    const p = o.topP ?? 1;
    const rep = o.repetitionPenalty ?? 1;
    const bad = (field: string, expected: string, got: unknown): never => {
      throw new EngineError('request', { what: `${what}.${field}`, expected, got: String(got) });
    };
    if (!(t >= 0) || !Number.isFinite(t)) bad('temperature', 'a finite number ≥ 0', t);
    if (!Number.isInteger(k) || k < 0) bad('topK', 'an integer ≥ 0', k);
    if (!(p > 0 && p <= 1) || Math.fround(p) === 0) bad('topP', 'a number in (0, 1] (not 0 in fp32: at least 1.4e-45)', p);
    if (!(rep > 0) || !Number.isFinite(rep)) bad('repetitionPenalty', 'a finite number > 0', rep);
    this.#o = { temperature: t, topK: k, topP: p, repetitionPenalty: rep, minNewTokens: o.minNewTokens ?? 0 };
    this.#greedy = t === 0 || k === 1 || (o.temperature === undefined && o.topK === undefined && o.topP === undefined);
    this.#draw = mulberry32(o.seed ?? 0);
  }

  get greedy(): boolean {
    return this.#greedy;
  }

  /** Whether the repetition penalty is on (then row() needs the tokens seen). */
  get penalizes(): boolean {
    return this.#o.repetitionPenalty !== 1;
  }

  /** True when next() would be the plain argmax of these logits (greedy, no penalty, end id not masked): the device may pick the token. */
  plainGreedy(generated: number, endId: number | undefined): boolean {
    return this.#greedy && this.#o.repetitionPenalty === 1 && !(endId !== undefined && generated < this.#o.minNewTokens);
  }

  /**
   * This step's settings for the sequence: the tokens it has seen (prompt and output), how many it
   * generated, its end id. Takes the next draw of the request's generator unless greedy.
   */
  row(seen: readonly number[], generated: number, endId: number | undefined): SamplingRow {
    const { repetitionPenalty, minNewTokens, temperature, topK, topP } = this.#o;
    return {
      temperature: this.#greedy ? 0 : temperature,
      topK: this.#greedy ? 0 : topK,
      topP: this.#greedy ? 1 : topP,
      repetitionPenalty,
      seen: repetitionPenalty === 1 ? [] : seen,
      banned: endId !== undefined && generated < minNewTokens ? endId : -1,
      draw: this.#greedy ? 0 : this.#draw(),
    };
  }

  /** The next token from this step's fp32 logits on the host (ref-math sampleToken of row()). */
  next(logits: ArrayLike<number>, seen: readonly number[], generated: number, endId: number | undefined): number {
    return sampleToken(logits, this.row(seen, generated, endId));
  }
}
