/**
 * The paged KV cache's bookkeeping (ARCHITECTURE.md, Runtime): a pool of `numBlocks` blocks of
 * `tokensPerBlock` positions, and sequence slots (block-table rows). A sequence is admitted with
 * all the blocks its prompt plus its longest output can need (TensorRT-LLM's "guaranteed no evict"
 * policy: a running request never waits for memory, nothing is preempted), and gives them back
 * when it ends. Blocks are handed out lowest id first, so runs are reproducible.
 */
import { EngineError } from '../errors.js';

export class BlockPool {
  readonly numBlocks: number;
  readonly tokensPerBlock: number;
  readonly numSlots: number;
  /** Block-table columns: the most blocks one sequence may hold. */
  readonly maxBlocksPerSeq: number;
  readonly #free: number[];
  readonly #freeSlots: number[];
  readonly #held = new Map<number, number[]>();

  constructor(o: { numBlocks: number; tokensPerBlock: number; numSlots: number; maxBlocksPerSeq: number }) {
    for (const [k, v] of Object.entries(o)) {
      if (!Number.isInteger(v) || v < 1) throw new EngineError('config', { what: `kv cache ${k}`, expected: 'a positive integer', got: String(v) });
    }
    this.numBlocks = o.numBlocks;
    this.tokensPerBlock = o.tokensPerBlock;
    this.numSlots = o.numSlots;
    this.maxBlocksPerSeq = o.maxBlocksPerSeq;
    this.#free = Array.from({ length: o.numBlocks }, (_, i) => o.numBlocks - 1 - i); // pop() gives the lowest id
    this.#freeSlots = Array.from({ length: o.numSlots }, (_, i) => o.numSlots - 1 - i);
  }

  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.tokensPerBlock);
  }

  get freeBlocks(): number {
    return this.#free.length;
  }

  get freeSlots(): number {
    return this.#freeSlots.length;
  }

  /** A slot and the blocks for `tokens` positions, or undefined when they are not free now. */
  acquire(tokens: number): { slot: number; blocks: number[] } | undefined {
    const n = this.blocksFor(tokens);
    if (this.#freeSlots.length === 0 || n > this.#free.length || n > this.maxBlocksPerSeq) return undefined;
    const slot = this.#freeSlots.pop()!;
    const blocks = Array.from({ length: n }, () => this.#free.pop()!);
    this.#held.set(slot, blocks);
    return { slot, blocks };
  }

  /** `n` slots with blocks for `tokens` positions each (a beam group), all or none. */
  acquireGroup(n: number, tokens: number): { slot: number; blocks: number[] }[] | undefined {
    const per = this.blocksFor(tokens);
    if (this.#freeSlots.length < n || per * n > this.#free.length || per > this.maxBlocksPerSeq) return undefined;
    return Array.from({ length: n }, () => this.acquire(tokens)!);
  }

  /** Whether `n` sequences (beams) of at most `tokens` positions could ever fit together (else refuse, do not queue). */
  fitsEver(tokens: number, n = 1): boolean {
    return n <= this.numSlots && this.blocksFor(tokens) * n <= this.numBlocks && this.blocksFor(tokens) <= this.maxBlocksPerSeq;
  }

  release(slot: number): void {
    const blocks = this.#held.get(slot);
    if (!blocks) return;
    this.#held.delete(slot);
    this.#free.push(...blocks.reverse());
    this.#free.sort((a, b) => b - a);
    this.#freeSlots.push(slot);
    this.#freeSlots.sort((a, b) => b - a);
  }
}
