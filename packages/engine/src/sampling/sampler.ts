/**
 * Token selection for one request, applied to the fp32 logits of its last position in this order
 * (HF generate's order): repetition penalty over every token seen (prompt and output; a positive
 * logit is divided by the penalty, a negative one multiplied); the end id masked until
 * `minNewTokens`; then greedy argmax (the default, and whenever topK = 1 or temperature = 0), or
 * temperature, top-k, top-p (the smallest set of most likely tokens whose probability reaches p;
 * the first is always kept), softmax, and a draw from the request's own seeded generator
 * (mulberry32), so a request's tokens never depend on other requests.
 */
import { argmax, seededRandom } from '@trtllm/ref-math';
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
  readonly #rand: () => number;

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
    if (!(p > 0 && p <= 1)) bad('topP', 'a number in (0, 1]', p);
    if (!(rep > 0) || !Number.isFinite(rep)) bad('repetitionPenalty', 'a finite number > 0', rep);
    this.#o = { temperature: t, topK: k, topP: p, repetitionPenalty: rep, minNewTokens: o.minNewTokens ?? 0 };
    this.#greedy = t === 0 || k === 1 || (o.temperature === undefined && o.topK === undefined && o.topP === undefined);
    this.#rand = seededRandom(o.seed ?? 0);
  }

  get greedy(): boolean {
    return this.#greedy;
  }

  /** True when next() would be the plain argmax of these logits (greedy, no penalty, end id not masked): the device may pick the token. */
  plainGreedy(generated: number, endId: number | undefined): boolean {
    return this.#greedy && this.#o.repetitionPenalty === 1 && !(endId !== undefined && generated < this.#o.minNewTokens);
  }

  /** The next token from this step's logits (modified in place), the tokens seen so far, and how many were generated. */
  next(logits: Float32Array, seen: readonly number[], generated: number, endId: number | undefined): number {
    const { repetitionPenalty: rep, minNewTokens, temperature, topK, topP } = this.#o;
    if (rep !== 1) {
      for (const id of new Set(seen)) {
        if (id >= logits.length) continue; // a prompt-table (virtual) token has no logit
        const l = logits[id]!;
        logits[id] = l > 0 ? l / rep : l * rep;
      }
    }
    if (endId !== undefined && generated < minNewTokens) logits[endId] = -Infinity;
    if (this.#greedy) return argmax(logits);
    let ids = Array.from(logits.keys()).filter((i) => logits[i] !== -Infinity);
    ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
    if (topK > 0) ids = ids.slice(0, topK);
    const max = logits[ids[0]!]!;
    let probs = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
    let total = probs.reduce((s, x) => s + x, 0);
    if (topP < 1) {
      let cum = 0;
      let keep = 0;
      while (keep < ids.length && (keep === 0 || cum < topP * total)) cum += probs[keep++]!;
      ids = ids.slice(0, keep);
      probs = probs.slice(0, keep);
      total = cum;
    }
    let u = this.#rand() * total;
    for (let i = 0; i < ids.length; i++) {
      u -= probs[i]!;
      if (u < 0) return ids[i]!;
    }
    return ids[ids.length - 1]!;
  }
}
