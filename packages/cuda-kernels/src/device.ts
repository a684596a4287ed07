/**
 * Device tensors: `{ dtype, shape }` plus a device pointer from the caching allocator, the same
 * typed shape as a ref-math Tensor but with data on the GPU. Uploads and downloads convert nothing:
 * the bytes are the ref-math storage arrays. Streams and events wrap the native handles.
 */
import { DTYPES, numel, tensor, type DType, type StorageOf, type Tensor } from '@trtllm/ref-math';
import { addon, type DevicePtr } from './binding.js';
import { FreedTensorError, native } from './errors.js';

export class DeviceTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly bytes: number;
  #ptr: DevicePtr;
  #freed = false;

  private constructor(dtype: D, shape: readonly number[], ptr: DevicePtr) {
    this.dtype = dtype;
    this.shape = [...shape];
    this.bytes = numel(shape) * DTYPES[dtype].bytes;
    this.#ptr = ptr;
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

  /** The device address; throws after free(). */
  get ptr(): DevicePtr {
    if (this.#freed) throw new FreedTensorError(`tensor [${this.shape.join(', ')}] ${this.dtype}`);
    return this.#ptr;
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** Copy to a host tensor (waits for the stream). */
  toHost(stream?: Stream): Tensor<D> {
    const out = tensor(this.dtype, this.shape);
    if (this.bytes > 0) native('download', () => addon().copy(out.data as StorageOf[D], this.ptr, this.bytes, 1, stream?.handle));
    return out;
  }

  /** A new device tensor with a copy of this one's bytes (device to device). */
  clone(stream?: Stream): DeviceTensor<D> {
    const c = DeviceTensor.empty(this.dtype, this.shape);
    if (this.bytes > 0) native('clone', () => addon().copy(c.ptr, this.ptr, this.bytes, 2, stream?.handle));
    return c;
  }

  /** Return the storage to the allocator's cache. Using the tensor afterwards throws FreedTensorError. */
  free(): void {
    if (this.#freed) return;
    native('free', () => addon().free(this.#ptr));
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
  destroy(): void {
    native('streamDestroy', () => addon().streamDestroy(this.handle));
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
  const buf = native('hostAllocPinned', () => addon().hostAllocPinned(n * DTYPES[dtype].bytes));
  const ctor = { f32: Float32Array, f16: Uint16Array, bf16: Uint16Array, fp8e4m3: Uint8Array, i8: Int8Array, i32: Int32Array }[dtype];
  return new ctor(buf) as StorageOf[D];
}

/** Block until all work on the device is done. */
export function synchronize(): void {
  native('synchronize', () => addon().synchronize());
}
