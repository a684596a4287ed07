/**
 * In-flight batching (ARCHITECTURE.md, Runtime): requests join and leave between steps. Each step the
 * scheduler keeps every running sequence (one decode token each) and admits waiting requests in
 * arrival order while a slot, the KV blocks for their prompt plus their longest output, the batch
 * size and the step's token budget (`maxNumTokens`) allow; whole prompts run as context chunks in
 * the same packed step as the decodes. A beam-search request takes one slot (and its blocks) per beam. A request that can never fit is refused at submission; one
 * that cannot fit now waits. Arrival order is kept (no request jumps the queue), so admission is
 * reproducible.
 */
import type { BlockPool } from '../kvcache/block-pool.js';

export interface Schedulable {
  readonly id: number;
  /** Tokens this sequence feeds in its next step: the prompt when not started, else 1. */
  readonly nextTokens: number;
  /** Positions it may occupy at most: prompt + max new tokens. */
  readonly maxPositions: number;
  /** Slots it needs (beam search: one per beam). */
  readonly width: number;
  /** Set at admission: its slots and each slot's blocks. */
  slots?: readonly number[];
  blocks?: readonly (readonly number[])[];
}

export class Scheduler<S extends Schedulable> {
  readonly #pool: BlockPool;
  readonly #maxBatchSize: number;
  readonly #maxNumTokens: number;
  readonly #waiting: S[] = [];
  readonly #running: S[] = [];

  constructor(pool: BlockPool, o: { readonly maxBatchSize: number; readonly maxNumTokens: number }) {
    this.#pool = pool;
    this.#maxBatchSize = o.maxBatchSize;
    this.#maxNumTokens = o.maxNumTokens;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running.length;
  }

  /** Every running and waiting sequence (running first). */
  all(): S[] {
    return [...this.#running, ...this.#waiting];
  }

  submit(s: S): void {
    this.#waiting.push(s);
  }

  /** The sequences of the next step: the running ones, then newly admitted ones (with slot and blocks set). */
  schedule(): { readonly decode: readonly S[]; readonly admitted: readonly S[] } {
    const decode = [...this.#running];
    let tokens = decode.length;
    const admitted: S[] = [];
    while (this.#waiting.length > 0 && this.#running.length < this.#maxBatchSize) {
      const s = this.#waiting[0]!;
      if (tokens + s.nextTokens > this.#maxNumTokens) break;
      const got = this.#pool.acquireGroup(s.width, s.maxPositions);
      if (!got) break;
      this.#waiting.shift();
      s.slots = got.map((g) => g.slot);
      s.blocks = got.map((g) => g.blocks);
      this.#running.push(s);
      admitted.push(s);
      tokens += s.nextTokens;
    }
    return { decode, admitted };
  }

  /** A sequence ended (finished, stopped or cancelled): its slot and blocks go back to the pool. */
  finish(s: S): void {
    const i = this.#running.indexOf(s);
    if (i >= 0) {
      this.#running.splice(i, 1);
      for (const slot of s.slots!) this.#pool.release(slot);
      return;
    }
    const w = this.#waiting.indexOf(s);
    if (w >= 0) this.#waiting.splice(w, 1);
  }
}
