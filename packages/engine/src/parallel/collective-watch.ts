/**
 * Bounded waits for steps whose ranks are joined by NCCL. An all-reduce waits on the device for every
 * rank; a rank that died or hangs would leave the others inside it for ever (NCCL has no timeout of
 * its own on a blocking communicator). A rank therefore collects such a step by polling its stream
 * rather than blocking in cudaStreamSynchronize: while NCCL reports no asynchronous error and the
 * deadline has not passed, it waits; otherwise it aborts the communicator (ncclCommAbort: the
 * collective returns) and fails with a typed error that names the rank and the limit.
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import type { Backend } from '../backends/backend.js';
import type { CudaBackend } from '../backends/cuda.js';
import { EngineError } from '../errors.js';

/** How long one step may wait on its collectives, unless TRTLLM_NCCL_TIMEOUT (seconds) says otherwise. */
export const DEFAULT_COLLECTIVE_TIMEOUT_MS = 600_000;

/** The step's collective timeout: TRTLLM_NCCL_TIMEOUT seconds when set (a positive number), else the default. */
export function collectiveTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['TRTLLM_NCCL_TIMEOUT'];
  if (v === undefined || v === '') return DEFAULT_COLLECTIVE_TIMEOUT_MS;
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0) throw new EngineError('config', { what: 'TRTLLM_NCCL_TIMEOUT', expected: 'a positive number of seconds', got: JSON.stringify(v) });
  return s * 1000;
}

/** What a rank watches while it waits: its place in the group, the limit, NCCL's error and the abort. */
export interface CollectiveWatch {
  readonly rank: number;
  readonly worldSize: number;
  readonly timeoutMs: number;
  /** NCCL's asynchronous error of the communicator ('' while healthy). */
  asyncError(): string;
  /** Abort the communicator: collectives waiting on the device return. */
  abort(): void;
}

/** Spin this long first (a step's ordinary wait, at the latency of cudaStreamSynchronize's spin). */
const SPIN_MS = 20;
/** Then sleep this long between polls. */
const POLL_MS = 1;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

/**
 * Wait until `done()` (a stream query), at most `w.timeoutMs`: spinning for the first 20 ms, then
 * polling every millisecond with NCCL's asynchronous error checked at each poll. A lost peer (an
 * async error) or the deadline aborts the communicator and throws EngineError('backend') naming the
 * rank, the limit and NCCL's error. `now` and `pause` are the clock and the sleep (tests pass fakes).
 */
export function waitForCollectives(done: () => boolean, w: CollectiveWatch, clock: { readonly now: () => number; readonly pause: (ms: number) => void } = { now: () => performance.now(), pause: sleep }): void {
  const t0 = clock.now();
  while (!done()) {
    const waited = clock.now() - t0;
    if (waited < SPIN_MS) continue;
    const error = w.asyncError();
    if (error !== '' || waited >= w.timeoutMs) {
      w.abort();
      throw new EngineError('backend', {
        what: `step on rank ${w.rank} of ${w.worldSize}`,
        expected: `every rank's collectives (NCCL) within ${w.timeoutMs / 1000} s`,
        got: `${error !== '' ? `NCCL reported ${error}` : `none for ${(waited / 1000).toFixed(1)} s`}: a rank died, hangs or lost its connection; the communicator was aborted`,
        hint: "the other ranks' output names the one that failed; restart the job (TRTLLM_NCCL_TIMEOUT sets the limit in seconds)",
      });
    }
    clock.pause(POLL_MS);
  }
}

/**
 * This rank's NCCL communicator on its backend (rank 0 and workers alike): every later step's collect
 * watched, and the all-reduce the graph calls, queued on the backend's stream. Across processes the
 * backend is cuda (ref is refused before any rank starts).
 */
export function joinCollectives(backend: Backend<unknown>, comm: Cuda.NcclCommunicator, o: { readonly rank: number; readonly worldSize: number; readonly timeoutMs: number }): (x: unknown) => unknown {
  backend.watchCollectives?.({ ...o, asyncError: () => comm.asyncError(), abort: () => comm.abort() });
  const cuda = backend as unknown as CudaBackend;
  return (x) => cuda.allReduceSum(comm, x as Cuda.DeviceTensor);
}
