// Bounded waits on NCCL collectives, with a fake stream, clock and communicator: a step that finishes
// returns; a lost peer or the deadline aborts the communicator once and throws a typed error naming
// the rank; TRTLLM_NCCL_TIMEOUT is read and checked.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { collectiveTimeoutMs, DEFAULT_COLLECTIVE_TIMEOUT_MS, waitForCollectives, type CollectiveWatch } from './collective-watch.js';

/** A clock that advances only when polled or paused, and a communicator that records its aborts. */
function fakes(o: { readonly doneAfterMs?: number; readonly errorAfterMs?: number; readonly timeoutMs?: number } = {}) {
  let t = 0;
  let aborts = 0;
  let polls = 0;
  const clock = { now: () => t, pause: (ms: number) => void (t += ms) };
  const watch: CollectiveWatch = {
    rank: 1, worldSize: 4, timeoutMs: o.timeoutMs ?? 5_000,
    asyncError: () => (o.errorAfterMs !== undefined && t >= o.errorAfterMs ? 'remote process exited or there was a network error' : ''),
    abort: () => void aborts++,
  };
  const done = (): boolean => {
    polls++;
    t += 0.01; // each query takes 10 µs
    return o.doneAfterMs !== undefined && t >= o.doneAfterMs;
  };
  return { clock, watch, done, aborts: () => aborts, polls: () => polls, time: () => t };
}

describe('waiting for a step with NCCL collectives', () => {
  it('returns once the stream is done: at once, while spinning, or after polls', () => {
    for (const after of [0, 5, 250]) {
      const f = fakes({ doneAfterMs: after });
      waitForCollectives(f.done, f.watch, f.clock);
      expect(f.aborts(), `done after ${after} ms`).toBe(0);
      expect(f.time()).toBeGreaterThanOrEqual(after);
      expect(f.time()).toBeLessThan(after + 1.1);
    }
  });

  it('a step past the deadline aborts the communicator once and names the rank and the limit', () => {
    const f = fakes({ timeoutMs: 3_000 });
    let err: unknown;
    try {
      waitForCollectives(f.done, f.watch, f.clock);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toMatch(/^step on rank 1 of 4: expected every rank's collectives \(NCCL\) within 3 s, got none for 3\.0 s: a rank died, hangs or lost its connection; the communicator was aborted \(the other ranks' output names the one that failed; restart the job \(TRTLLM_NCCL_TIMEOUT sets the limit in seconds\)\)$/);
    expect(f.aborts()).toBe(1);
    expect(f.time()).toBeGreaterThanOrEqual(3_000);
    expect(f.time()).toBeLessThan(3_002);
    expect(f.polls()).toBeLessThan(2_000 + 3_000); // it slept between polls after the first 20 ms, not spun for 3 s
  });

  it("NCCL's asynchronous error (a peer gone) ends the wait at once, before the deadline", () => {
    const f = fakes({ errorAfterMs: 40, timeoutMs: 600_000 });
    expect(() => waitForCollectives(f.done, f.watch, f.clock)).toThrow(/got NCCL reported remote process exited or there was a network error: a rank died/);
    expect(f.aborts()).toBe(1);
    expect(f.time()).toBeLessThan(42);
  });

  it('TRTLLM_NCCL_TIMEOUT sets the limit in seconds; a bad value is a typed error', () => {
    expect(collectiveTimeoutMs({})).toBe(DEFAULT_COLLECTIVE_TIMEOUT_MS);
    expect(collectiveTimeoutMs({ TRTLLM_NCCL_TIMEOUT: '2.5' })).toBe(2_500);
    for (const bad of ['0', '-3', 'ten']) expect(() => collectiveTimeoutMs({ TRTLLM_NCCL_TIMEOUT: bad })).toThrow(/TRTLLM_NCCL_TIMEOUT: expected a positive number of seconds, got "/);
  });
});
