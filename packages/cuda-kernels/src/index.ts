/**
 * @trtllm/cuda-kernels — the CUDA backend: the native addon behind one typed binding, device tensors,
 * streams and events, every ref-math op as a reference-order kernel (bit-exact, ARCHITECTURE.md, Numerics: tier 1/2),
 * and the case table + harness that proves it (parity) and times it (perf).
 */
export { isAvailable, addonIfBuilt, ADDON_PATH, DTYPE_CODES, type Availability, type DeviceInfo, type LibraryStatus, type MemoryStats, type NativeAddon } from './binding.js';
export { CudaUnavailableError, CudaRuntimeError, FreedTensorError } from './errors.js';
export { DeviceTensor, Stream, CudaEvent, CudaGraph, pinnedStorage, synchronize } from './device.js';
export type { OnDevice } from './launch.js';
export * from './ops/index.js';
export { kernelCases, NOT_SUPPORTED, type KernelCase, type Tolerance, type CaseOptions, type DeviceRun } from './cases.js';
export { runParity, parityVerdict, runPerf, measureCeilings, compareOutputs, parityMarkdown, perfMarkdown, type ParityResult, type PerfResult, type PerfOptions, type DeviceCeilings, type OutputDiff } from './harness.js';
