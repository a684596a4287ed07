// The paged KV cache's bookkeeping on its own: lowest ids first, all-or-nothing beam groups, blocks
// and slots back on release (and handed out lowest first again), capacity checks, typed errors.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { BlockPool } from './block-pool.js';

const pool = (numBlocks = 10, numSlots = 3, maxBlocksPerSeq = 4): BlockPool => new BlockPool({ numBlocks, tokensPerBlock: 8, numSlots, maxBlocksPerSeq });

describe('BlockPool', () => {
  it('hands out the lowest slot and block ids first; ⌈tokens / tokensPerBlock⌉ blocks', () => {
    const p = pool();
    expect(p.blocksFor(1)).toBe(1);
    expect(p.blocksFor(8)).toBe(1);
    expect(p.blocksFor(9)).toBe(2);
    expect(p.acquire(17)).toEqual({ slot: 0, blocks: [0, 1, 2] });
    expect(p.acquire(8)).toEqual({ slot: 1, blocks: [3] });
    expect([p.freeSlots, p.freeBlocks]).toEqual([1, 6]);
  });
  it('release returns slot and blocks; the next acquire reuses the lowest ids (runs are reproducible)', () => {
    const p = pool();
    const a = p.acquire(17)!;
    p.acquire(8);
    p.release(a.slot);
    expect([p.freeSlots, p.freeBlocks]).toEqual([2, 9]);
    expect(p.acquire(16)).toEqual({ slot: 0, blocks: [0, 1] });
    p.release(a.slot);
    p.release(a.slot); // releasing twice (or a slot never held) changes nothing
    p.release(2);
    expect([p.freeSlots, p.freeBlocks]).toEqual([2, 9]);
  });
  it('refuses what does not fit now: no slot, too few blocks, more than maxBlocksPerSeq', () => {
    const p = pool(5, 2, 4);
    expect(p.acquire(33)).toBeUndefined(); // 5 blocks > maxBlocksPerSeq 4
    expect(p.acquire(32)).toBeDefined(); // 4 blocks
    expect(p.acquire(16)).toBeUndefined(); // 2 blocks, 1 free
    expect(p.acquire(8)).toEqual({ slot: 1, blocks: [4] });
    expect(p.acquire(1)).toBeUndefined(); // no slot left
  });
  it('beam groups are all or nothing; fitsEver tells a request that can never fit from one that must wait', () => {
    const p = pool(10, 4, 4);
    expect(p.acquireGroup(3, 24)).toEqual([{ slot: 0, blocks: [0, 1, 2] }, { slot: 1, blocks: [3, 4, 5] }, { slot: 2, blocks: [6, 7, 8] }]);
    expect(p.acquireGroup(2, 8)).toBeUndefined(); // one slot free: nothing taken
    expect([p.freeSlots, p.freeBlocks]).toEqual([1, 1]);
    expect(p.fitsEver(24, 3)).toBe(true); // fits once the others leave
    expect(p.fitsEver(24, 4)).toBe(false); // 12 blocks > 10
    expect(p.fitsEver(40)).toBe(false); // 5 blocks > maxBlocksPerSeq
    expect(p.fitsEver(8, 5)).toBe(false); // 5 slots > 4
  });
  it('sizes that are not positive integers are config errors naming the field', () => {
    expect(() => new BlockPool({ numBlocks: 0, tokensPerBlock: 8, numSlots: 1, maxBlocksPerSeq: 1 })).toThrow(EngineError);
    expect(() => new BlockPool({ numBlocks: 4, tokensPerBlock: 2.5, numSlots: 1, maxBlocksPerSeq: 1 })).toThrow(/kv cache tokensPerBlock: expected a positive integer, got 2\.5/);
  });
});
