/**
 * The one place the native addon is loaded (build/Release/trtllm_cuda.node), with its typed
 * interface. `isAvailable()` says whether kernels can run here and, if not, why (addon not built,
 * no driver, no device); `addon()` returns the binding or throws CudaUnavailableError with the fix.
 * Pointers are BigInt device addresses; dtype codes follow DTYPE_CODES.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { DType } from '@trtllm/ref-math';
import { CudaUnavailableError } from './errors.js';

/** The addon's dtype enum (csrc/common.h), in the ref-math dtype table's order. */
export const DTYPE_CODES: { readonly [D in DType]: number } = { f32: 0, f16: 1, bf16: 2, fp8e4m3: 3, i8: 4, i32: 5 };

export type DevicePtr = bigint;
/** Op params: field names as csrc/ops.h, pointers as BigInt, dtypes as codes. */
export interface NativeParams {
  readonly [field: string]: bigint | number | boolean | null | undefined | NativeParams | readonly bigint[];
}

export interface DeviceInfo {
  readonly available: boolean;
  readonly reason?: string;
  readonly runtimeVersion: number;
  readonly count?: number;
  readonly name?: string;
  readonly computeCapability?: string;
  readonly multiprocessors?: number;
  /** Shared memory a block may opt into, bytes. */
  readonly sharedMemoryOptin?: number;
  readonly totalMemory?: number;
  readonly l2Bytes?: number;
  readonly driverVersion?: number;
}

export interface MemoryStats {
  /** Bytes held by live tensors. */
  readonly allocated: number;
  /** Bytes freed by tensors and kept for reuse. */
  readonly cached: number;
  readonly deviceFree: number;
  readonly deviceTotal: number;
}

/** A dlopen'ed library (cuBLASLt, NCCL): where it was found and its version, or why not. */
export interface LibraryStatus {
  readonly available: boolean;
  readonly path?: string;
  readonly version?: number;
  readonly reason?: string;
}

export interface NativeAddon {
  readonly abiVersion: number;
  deviceInfo(): DeviceInfo;
  malloc(bytes: number): DevicePtr;
  free(ptr: DevicePtr): void;
  memoryStats(): MemoryStats;
  emptyCache(): void;
  /**
   * kind 0: host→device (src a TypedArray), 1: device→host (dst a TypedArray), 2: device→device;
   * 3 / 4: host→device / device→host without waiting, from or into pinned host memory only.
   */
  copy(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, bytes: number, kind: 0 | 1 | 2 | 3 | 4, stream?: DevicePtr): void;
  memset(dst: DevicePtr, value: number, bytes: number, stream?: DevicePtr): void;
  /** Keep the GPU busy for about this many microseconds (perf-mode timing: hides launch overhead). */
  spin(microseconds: number, stream?: DevicePtr): void;
  streamCreate(): DevicePtr;
  streamDestroy(stream: DevicePtr): void;
  /** Synchronize one stream, or the whole device when none is given. */
  synchronize(stream?: DevicePtr): void;
  /** Whether everything queued on the stream has finished (cudaStreamQuery; an error throws). */
  streamQuery(stream: DevicePtr): boolean;
  eventCreate(): DevicePtr;
  eventRecord(event: DevicePtr, stream?: DevicePtr): void;
  /** Milliseconds between two recorded events (waits for the second). */
  eventElapsed(start: DevicePtr, end: DevicePtr): number;
  eventDestroy(event: DevicePtr): void;
  /** Page-locked host memory, released when the ArrayBuffer is collected. */
  hostAllocPinned(bytes: number): ArrayBuffer;
  /** Device-to-device copy bandwidth in GB/s (bytes read + written). */
  measureCopyBandwidth(bytes: number, iters: number): number;
  /** NCCL's 128-byte unique id (rank 0 makes it; every rank passes it to ncclCommInit). */
  ncclUniqueId(): Uint8Array;
  /** A communicator for this process's current device as `rank` of `nranks` (blocks until all ranks join). */
  ncclCommInit(nranks: number, id: Uint8Array, rank: number): DevicePtr;
  ncclCommDestroy(comm: DevicePtr): void;
  /** ncclCommAbort: collectives waiting on a dead or hung rank return; the communicator is unusable after. */
  ncclCommAbort(comm: DevicePtr): void;
  /** ncclCommGetAsyncError: '' while healthy, else NCCL's error string. */
  ncclCommAsyncError(comm: DevicePtr): string;
  /** recv = Σ over ranks of send (NCCL ring order), count elements; queued on params.stream, or on the default stream and waited for. */
  allReduceSum(params: NativeParams): void;
  /** cuBLASLt and NCCL as found by dlopen ($TRTLLM_CUBLASLT_PATH / $TRTLLM_NCCL_PATH, then the sonames). */
  libraryInfo(): { readonly cublasLt: LibraryStatus; readonly nccl: LibraryStatus };
  /** TFLOP/s of an n×n×n f16 (or bf16) cuBLASLt matmul with fp32 compute; throws if cuBLASLt is missing. */
  measureMatmulPeak(n: number, iters: number, bf16?: boolean): number;
  gemm(p: NativeParams): void;
  int8Gemm(p: NativeParams): void;
  smoothQuantEpilogue(p: NativeParams): void;
  int8GemmLt(p: NativeParams): void;
  int8GemmLtUnsupported(p: NativeParams): string;
  int8GemmLtAlgorithms(): string;
  /** The SmoothQuant linear for decode rows in one kernel (tier 1) — see ops/int8-gemm.ts int8GemmDecode. */
  int8GemmDecode(p: NativeParams): void;
  int8GemmDecodeUnsupported(p: NativeParams): string;
  /** Its launch plan as JSON (host arithmetic; no GPU needed). */
  int8GemmDecodePlan(p: NativeParams): string;
  fp8GemmLt(p: NativeParams): void;
  fp8GemmDecode(p: NativeParams): void;
  fp8GemmDecodeUnsupported(p: NativeParams): string;
  fp8GemmDecodePlan(p: NativeParams): string;
  fp8GemmLtUnsupported(p: NativeParams): string;
  fp8GemmLtAlgorithms(): string;
  quantize(p: NativeParams): void;
  fp8(p: NativeParams): void;
  layerNorm(p: NativeParams): void;
  activation(p: NativeParams): void;
  softmax(p: NativeParams): void;
  residual(p: NativeParams): void;
  /** The ops below return 0, or 1 + the index of the token / sequence that was out of range. */
  rope(p: NativeParams): number;
  kvCacheWrite(p: NativeParams): number;
  attention(p: NativeParams): number;
  embedding(p: NativeParams): number;
  // ---- production ops (tier 3): enqueue on params.stream only, never synchronize ----
  gemmLt(p: NativeParams): void;
  /** The cuBLASLt algorithms chosen so far, one line per GEMM shape. */
  gemmLtAlgorithms(): string;
  /** The decode GEMM (tensor cores, batch-invariant by construction) — see ops/gemm.ts gemmDecode. */
  gemmDecode(p: NativeParams): void;
  /** Why (n, k, transB, inDtype) has no decode GEMM, or "" when it has one. */
  gemmDecodeUnsupported(p: NativeParams): string;
  /** The decode GEMM's launch plan as JSON (host arithmetic; no GPU needed) — see ops/gemm.ts gemmDecodePlan. */
  gemmDecodePlan(p: NativeParams): string;
  gemmDecodeClusters(): boolean;
  layerNormFast(p: NativeParams): void;
  qkvPrepare(p: NativeParams): void;
  attentionDecode(p: NativeParams): void;
  attentionContext(p: NativeParams): void;
  argmax(p: NativeParams): void;
  sample(p: NativeParams): void;
  beamCandidates(p: NativeParams): void;
  tokenLogProbs(p: NativeParams): void;
  kvCopyRows(p: NativeParams): void;
  /** Strided device-to-device copy: `rows` rows of `widthBytes`, pitches in bytes. */
  copy2d(dst: DevicePtr, dstPitch: number, src: DevicePtr, srcPitch: number, widthBytes: number, rows: number, stream?: DevicePtr): void;
  /** cudaProfilerStart (true) / cudaProfilerStop (false): the region an external profiler records. */
  profilerRange(on: boolean): void;
  /** Start capturing the stream's work into a CUDA graph. */
  graphBegin(stream: DevicePtr): void;
  /** End the capture; returns the instantiated graph. */
  graphEnd(stream: DevicePtr): DevicePtr;
  /** End a capture that failed, dropping its work. */
  graphAbort(stream: DevicePtr): void;
  graphLaunch(graph: DevicePtr, stream: DevicePtr): void;
  graphDestroy(graph: DevicePtr): void;
}

export const ADDON_PATH = fileURLToPath(new URL('../build/Release/trtllm_cuda.node', import.meta.url));
/** How to (re)build the addon: in this repository's workspace, its build; in an installed package, npm's install step (scripts/install.mjs). */
const REBUILD = existsSync(fileURLToPath(new URL('../src/index.ts', import.meta.url)))
  ? 'build it with `npm run build -w @trtllm/cuda-kernels` (needs nvcc and cmake, no GPU)'
  : 'rebuild it from source with `npm rebuild @trtllm/cuda-kernels --foreground-scripts` (needs nvcc and cmake, no GPU)';

let loaded: { addon: NativeAddon; info: DeviceInfo } | { error: string } | undefined;

function load(): { addon: NativeAddon; info: DeviceInfo } | { error: string } {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) return (loaded = { error: `the CUDA addon is not built (${ADDON_PATH} is missing): ${REBUILD}` });
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    loaded = { addon, info: addon.deviceInfo() };
  } catch (e) {
    loaded = { error: `the CUDA addon failed to load (${(e as Error).message}): ${REBUILD}` };
  }
  return loaded;
}

/**
 * The reason no device is usable, in words a user can act on: the CUDA runtime's
 * cudaErrorInsufficientDriver also means "no driver at all", which `driverFile` (the kernel module's
 * version file) tells apart from an old driver.
 */
export function explainUnavailable(runtime: string, driverFile = '/proc/driver/nvidia/version'): string {
  if (/cudaErrorInsufficientDriver|cudaErrorNoDevice/.test(runtime)) {
    if (!existsSync(driverFile)) return `no NVIDIA driver on this machine (${driverFile} is absent), so no GPU: the ref backend runs without one (${runtime})`;
    const version = /Kernel Module\s+([\d.]+)/.exec(readFileSync(driverFile, 'utf8'))?.[1];
    if (/cudaErrorInsufficientDriver/.test(runtime)) return `the NVIDIA driver${version ? ` ${version}` : ''} is older than the CUDA runtime the addon was built with: update the driver, or rebuild the addon with an older toolkit (${runtime})`;
  }
  return `no usable CUDA device: ${runtime}`;
}

export type Availability = { readonly ok: true; readonly device: DeviceInfo } | { readonly ok: false; readonly reason: string };

/** isAvailable's reason, worked out once (the device state is read once per process, in load()). */
let unavailable: string | undefined;

/** Whether kernels can run on this machine, and why not. Never throws. */
export function isAvailable(): Availability {
  const l = load();
  if ('error' in l) return { ok: false, reason: l.error };
  if (!l.info.available) return { ok: false, reason: (unavailable ??= explainUnavailable(l.info.reason ?? 'unknown')) };
  return { ok: true, device: l.info };
}

/** The native binding; throws CudaUnavailableError (with the reason and the fix) when kernels cannot run. */
export function addon(): NativeAddon {
  const a = isAvailable();
  if (!a.ok) throw new CudaUnavailableError(a.reason);
  return (load() as { addon: NativeAddon }).addon; // available ⇒ loaded (load() is memoized)
}

/** The binding even without a device (to read deviceInfo), or undefined when it is not built. */
export function addonIfBuilt(): NativeAddon | undefined {
  const l = load();
  return 'error' in l ? undefined : l.addon;
}
