// In-flight batching admission on its own: arrival order, batch size, token budget and KV blocks;
// running sequences always keep their place; finishing returns blocks so waiting ones get in.
import { describe, expect, it } from 'vitest';
import { BlockPool } from '../kvcache/block-pool.js';
import { Scheduler, type Schedulable } from './scheduler.js';

interface Seq extends Schedulable {
  nextTokens: number;
}
let ids = 0;
const seq = (prompt: number, maxNew: number, width = 1): Seq => ({ id: ids++, nextTokens: prompt, maxPositions: prompt + maxNew, width });
const names = (xs: readonly Seq[]): number[] => xs.map((s) => s.id);

describe('Scheduler', () => {
  it('admits in arrival order while the batch size allows; running ones decode every step', () => {
    ids = 0;
    const s = new Scheduler<Seq>(new BlockPool({ numBlocks: 64, tokensPerBlock: 8, numSlots: 8, maxBlocksPerSeq: 8 }), { maxBatchSize: 2, maxNumTokens: 1000 });
    const [a, b, c] = [seq(5, 4), seq(7, 4), seq(3, 4)];
    [a, b, c].forEach((x) => s.submit(x));
    const first = s.schedule();
    expect([names(first.decode), names(first.admitted)]).toEqual([[], [0, 1]]);
    expect([a.slots, a.blocks, b.slots, b.blocks]).toEqual([[0], [[0, 1]], [1], [[2, 3]]]);
    a.nextTokens = b.nextTokens = 1;
    const second = s.schedule();
    expect([names(second.decode), names(second.admitted), s.waiting]).toEqual([[0, 1], [], 1]); // batch full: c waits
    s.finish(a);
    const third = s.schedule();
    expect([names(third.decode), names(third.admitted)]).toEqual([[1], [2]]);
    expect(c.slots).toEqual([0]); // a's slot and blocks, lowest first
    expect(c.blocks).toEqual([[0]]);
  });
  it('the token budget and the KV blocks stop admission; nobody jumps the queue', () => {
    ids = 0;
    const pool = new BlockPool({ numBlocks: 4, tokensPerBlock: 8, numSlots: 4, maxBlocksPerSeq: 4 });
    const s = new Scheduler<Seq>(pool, { maxBatchSize: 4, maxNumTokens: 20 });
    const [a, b, c] = [seq(12, 4), seq(12, 4), seq(2, 2)];
    [a, b, c].forEach((x) => s.submit(x));
    expect(names(s.schedule().admitted)).toEqual([0]); // 12 + 12 > 20: b waits, and so does c behind it
    a.nextTokens = 1;
    expect(names(s.schedule().admitted)).toEqual([1]); // 1 + 12 ≤ 20; b takes the last 2 blocks
    b.nextTokens = 1;
    expect(names(s.schedule().admitted)).toEqual([]); // c needs 1 block: none free
    expect(pool.freeBlocks).toBe(0);
    s.finish(b);
    expect(names(s.schedule().admitted)).toEqual([2]);
  });
  it('a beam request takes one slot per beam; finishing a waiting request just removes it', () => {
    ids = 0;
    const pool = new BlockPool({ numBlocks: 16, tokensPerBlock: 4, numSlots: 4, maxBlocksPerSeq: 4 });
    const s = new Scheduler<Seq>(pool, { maxBatchSize: 4, maxNumTokens: 100 });
    const beams = seq(3, 5, 3);
    const next = seq(3, 5, 2);
    s.submit(beams);
    s.submit(next);
    expect(names(s.schedule().admitted)).toEqual([0]);
    expect([beams.slots, beams.blocks]).toEqual([[0, 1, 2], [[0, 1], [2, 3], [4, 5]]]);
    expect(s.waiting).toBe(1); // 2 beams, 1 slot free
    s.finish(next);
    expect([s.waiting, s.running, s.all().length]).toEqual([0, 1, 1]);
    s.finish(beams);
    expect([pool.freeSlots, pool.freeBlocks]).toEqual([4, 16]);
  });
});
