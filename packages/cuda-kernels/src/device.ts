/**
 * Device tensors: `{ dtype, shape }` plus a device pointer from the caching allocator, the same
 * typed shape as a ref-math Tensor but with data on the GPU. Uploads and downloads convert nothing:
 * the bytes are the ref-math storage arrays. Views share an owner's storage; async copies go
 * through pinned host memory. Streams and events wrap the native handles.
 */
import { DTYPES, expectAttr, numel, storageOver, tensor, type DType, type StorageOf, type Tensor } from '@trtllm/ref-math';
import { addon, type DevicePtr } from './binding.js';
import { FreedTensorError, native } from './errors.js';

export class DeviceTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly bytes: number;
  #ptr: DevicePtr;
  #freed = false;
  /** For a view: the tensor that owns the storage. */
  readonly #owner: DeviceTensor | undefined;

  private constructor(dtype: D, shape: readonly number[], ptr: DevicePtr, owner?: DeviceTensor) {
    this.dtype = dtype;
    this.shape = [...shape];
    this.bytes = numel(shape) * DTYPES[dtype].bytes;
    this.#ptr = ptr;
    this.#owner = owner;
  }

  /** Uninitialised device storage for a tensor of this dtype and shape. */
  static empty<D extends DType>(dtype: D, shape: readonly number[]): DeviceTensor<D> {
    const bytes = numel(shape) * DTYPES[dtype].bytes;
    return new DeviceTensor(dtype, shape, native('alloc', () => addon().malloc(bytes)));
  }

  /** Zero-filled device storage. */
  static zeros<D extends DType>(dtype: D, shape: readonly number[], stream?: Stream): DeviceTensor<D> {
    const t = DeviceTensor.empty(dtype, shape);
    native('memset', () => addon().memset(t.ptr, 0, t.bytes, stream?.handle));
    return t;
  }

  /** Copy a host tensor to the device. */
  static from<D extends DType>(t: Tensor<D>, stream?: Stream): DeviceTensor<D> {
    const d = DeviceTensor.empty(t.dtype, t.shape);
    if (d.bytes > 0) native('upload', () => addon().copy(d.ptr, t.data, d.bytes, 0, stream?.handle));
    return d;
  }

  /** The device address; throws after free() (of this tensor, or of the tensor a view looks into). */
  get ptr(): DevicePtr {
    if (this.#freed || this.#owner?.freed) throw new FreedTensorError(`tensor [${this.shape.join(', ')}] ${this.dtype}${this.#owner ? ' (a view)' : ''}`);
    return this.#ptr;
  }

  get freed(): boolean {
    return this.#freed || (this.#owner?.freed ?? false);
  }

  /** True for a view into another tensor's storage. */
  get isView(): boolean {
    return this.#owner !== undefined;
  }

  /**
   * A tensor of `shape` over this one's storage from element `offset` (a row block, a head range):
   * no copy; kernels may read and write it; it stays valid while its owner lives.
   */
  view(offset: number, shape: readonly number[]): DeviceTensor<D> {
    const n = numel(shape);
    const total = this.bytes / DTYPES[this.dtype].bytes;
    expectAttr('DeviceTensor.view', 'offset + numel(shape)', Number.isInteger(offset) && offset >= 0 && offset + n <= total, `within the ${total} elements of the tensor`, `${offset} + ${n}`);
    const owner = this.#owner ?? this;
    return new DeviceTensor(this.dtype, shape, this.ptr + BigInt(offset * DTYPES[this.dtype].bytes), owner);
  }

  /** Start copying pinned host storage (pinnedStorage()) into this tensor on `stream`, without waiting. */
  uploadAsync(src: StorageOf[D], stream: Stream): void {
    expectAttr('DeviceTensor.uploadAsync', 'src.byteLength', src.byteLength >= this.bytes, `≥ ${this.bytes} bytes`, src.byteLength);
    native('uploadAsync', () => addon().copy(this.ptr, src, this.bytes, 3, stream.handle));
  }

  /** Start copying this tensor into pinned host storage on `stream`; the data is there after stream.synchronize(). */
  downloadAsync(dst: StorageOf[D], stream: Stream): void {
    expectAttr('DeviceTensor.downloadAsync', 'dst.byteLength', dst.byteLength >= this.bytes, `≥ ${this.bytes} bytes`, dst.byteLength);
    native('downloadAsync', () => addon().copy(dst, this.ptr, this.bytes, 4, stream.handle));
  }

  /** Copy to a host tensor (waits for the stream). */
  toHost(stream?: Stream): Tensor<D> {
    const out = tensor(this.dtype, this.shape);
    if (this.bytes > 0) native('download', () => addon().copy(out.data as StorageOf[D], this.ptr, this.bytes, 1, stream?.handle));
    return out;
  }

  /** Overwrite this tensor with a host tensor of the same dtype and shape (waits for the copy; the address stays). */
  write(src: Tensor<D>, stream?: Stream): void {
    expectAttr('DeviceTensor.write', 'src', src.dtype === this.dtype && numel(src.shape) === numel(this.shape), `${this.dtype} [${this.shape.join(', ')}]`, `${src.dtype} [${src.shape.join(', ')}]`);
    if (this.bytes > 0) native('write', () => addon().copy(this.ptr, src.data, this.bytes, 0, stream?.handle));
  }

  /** Copy another device tensor's bytes into this one (device to device; the same byte size). */
  copyFrom(src: DeviceTensor, stream?: Stream): void {
    expectAttr('DeviceTensor.copyFrom', 'src bytes', src.bytes === this.bytes, `${this.bytes} bytes`, src.bytes);
    if (this.bytes > 0) native('copyFrom', () => addon().copy(this.ptr, src.ptr, this.bytes, 2, stream?.handle));
  }

  /** A new device tensor with a copy of this one's bytes (device to device). */
  clone(stream?: Stream): DeviceTensor<D> {
    const c = DeviceTensor.empty(this.dtype, this.shape);
    if (this.bytes > 0) native('clone', () => addon().copy(c.ptr, this.ptr, this.bytes, 2, stream?.handle));
    return c;
  }

  /**
   * Return the storage to the allocator's cache; using the tensor (or a view into it) afterwards
   * throws FreedTensorError. On a view, only detaches the view: the storage is its owner's.
   * The allocator does not track streams: free once the work that reads this tensor is done, or
   * when that work is on the stream the next user of the memory will run on.
   */
  free(): void {
    if (this.#freed) return;
    if (!this.#owner) native('free', () => addon().free(this.#ptr));
    this.#freed = true;
  }
}

/** A non-blocking CUDA stream. */
export class Stream {
  readonly handle: DevicePtr;
  constructor() {
    this.handle = native('streamCreate', () => addon().streamCreate());
  }
  synchronize(): void {
    native('synchronize', () => addon().synchronize(this.handle));
  }
  /** Whether everything queued so far has finished (never blocks; a device error throws). */
  query(): boolean {
    return native('streamQuery', () => addon().streamQuery(this.handle));
  }
  destroy(): void {
    native('streamDestroy', () => addon().streamDestroy(this.handle));
  }
}

/**
 * A CUDA graph: the kernels one piece of host code enqueued on a stream, captured once and replayed
 * with one launch. What the captured work reads and writes (its inputs, scratch and outputs) must stay
 * allocated at the same addresses for as long as the graph is replayed.
 */
export class CudaGraph {
  #handle: DevicePtr | undefined;
  private constructor(handle: DevicePtr) {
    this.#handle = handle;
  }
  /** Run `body` with its work captured instead of executed (nothing runs until launch()). */
  static capture<R>(stream: Stream, body: () => R): { graph: CudaGraph; result: R } {
    native('graphBegin', () => addon().graphBegin(stream.handle));
    let result: R;
    try {
      result = body();
    } catch (e) {
      native('graphAbort', () => addon().graphAbort(stream.handle));
      throw e;
    }
    return { graph: new CudaGraph(native('graphEnd', () => addon().graphEnd(stream.handle))), result };
  }
  launch(stream: Stream): void {
    const h = this.#handle;
    if (h === undefined) throw new FreedTensorError('CUDA graph (destroyed)');
    native('graphLaunch', () => addon().graphLaunch(h, stream.handle));
  }
  destroy(): void {
    const h = this.#handle;
    if (h === undefined) return;
    this.#handle = undefined;
    native('graphDestroy', () => addon().graphDestroy(h));
  }
}

/** A CUDA event, for device-side timing. */
export class CudaEvent {
  readonly handle: DevicePtr;
  constructor() {
    this.handle = native('eventCreate', () => addon().eventCreate());
  }
  record(stream?: Stream): void {
    native('eventRecord', () => addon().eventRecord(this.handle, stream?.handle));
  }
  /** Milliseconds from `start` to this event (waits for this event). */
  elapsedSince(start: CudaEvent): number {
    return native('eventElapsed', () => addon().eventElapsed(start.handle, this.handle));
  }
  destroy(): void {
    native('eventDestroy', () => addon().eventDestroy(this.handle));
  }
}

/** Page-locked host memory viewed as a storage array of `dtype` (for async copies). */
export function pinnedStorage<D extends DType>(dtype: D, n: number): StorageOf[D] {
  return storageOver(dtype, native('hostAllocPinned', () => addon().hostAllocPinned(n * DTYPES[dtype].bytes)));
}

/** Block until all work on the device is done. */
export function synchronize(): void {
  native('synchronize', () => addon().synchronize());
}
