/**
 * collectives on the device — NCCL all-reduce sum across processes, one GPU each
 * (csrc/collectives.cu). Order: NCCL's ring, not the oracle's ranks-ascending chain
 * (ref-math allReduceSum): with 2 ranks each element is rounded once either way and the results are
 * bit-identical; with more ranks the sums are tier 3. Rank 0 makes the unique id and hands it to
 * the others (a file or a socket: the caller's choice); `init` blocks until every rank joins.
 */
import { type ActDType } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { CudaRuntimeError, native } from '../errors.js';
import { code } from '../launch.js';

export class NcclCommunicator {
  readonly worldSize: number;
  readonly rank: number;
  #comm: bigint | undefined;
  /** Why #comm is gone (destroyed, or aborted after a failed rank), for the error of a later use. */
  #gone: string | undefined;

  private constructor(worldSize: number, rank: number, comm: bigint) {
    this.worldSize = worldSize;
    this.rank = rank;
    this.#comm = comm;
  }

  /** The id rank 0 creates and every rank passes to `init`. */
  static uniqueId(): Uint8Array {
    return native('ncclUniqueId', () => addon().ncclUniqueId());
  }

  static init(o: { readonly worldSize: number; readonly rank: number; readonly id: Uint8Array }): NcclCommunicator {
    return new NcclCommunicator(o.worldSize, o.rank, native('ncclCommInit', () => addon().ncclCommInit(o.worldSize, o.id, o.rank)));
  }

  /**
   * Σ over ranks of `x`, as a new tensor on this rank's device. With `stream` (the one that wrote x)
   * the all-reduce is queued in its order and this returns at once; without, it runs on the default
   * stream and this waits for it.
   */
  allReduceSum(x: DeviceTensor<ActDType>, stream?: Stream): DeviceTensor<ActDType> {
    const comm = this.#comm;
    if (comm === undefined) throw new CudaRuntimeError('NcclCommunicator.allReduceSum', this.#gone ?? 'the communicator was destroyed');
    const out = DeviceTensor.empty(x.dtype, x.shape);
    try {
      native('allReduceSum', () => addon().allReduceSum({ send: x.ptr, recv: out.ptr, count: x.shape.reduce((a, b) => a * b, 1), dtype: code(x.dtype), comm, stream: stream?.handle }));
    } catch (e) {
      out.free();
      throw e;
    }
    return out;
  }

  /**
   * End every collective of this communicator that waits on a rank gone or hung (ncclCommAbort): they
   * return, and the communicator is released — it cannot be used again.
   */
  abort(): void {
    const comm = this.#comm;
    this.#comm = undefined; // aborted (or failing to abort) it is gone either way: never destroyed after
    this.#gone = 'the communicator was aborted (a rank failed): restart the job';
    if (comm !== undefined) native('ncclCommAbort', () => addon().ncclCommAbort(comm));
  }

  /** NCCL's asynchronous error of this communicator ('' while healthy: no peer lost, no network error). */
  asyncError(): string {
    const comm = this.#comm;
    if (comm === undefined) return this.#gone ?? 'the communicator was destroyed';
    return native('ncclCommAsyncError', () => addon().ncclCommAsyncError(comm));
  }

  destroy(): void {
    const comm = this.#comm;
    this.#comm = undefined;
    this.#gone ??= 'the communicator was destroyed';
    if (comm !== undefined) native('ncclCommDestroy', () => addon().ncclCommDestroy(comm));
  }
}
