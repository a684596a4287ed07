// The one-dimensional launch every reference kernel uses: ⌈n / threads⌉ blocks of `threads`,
// nothing launched for n = 0, the launch checked at the caller's file:line (configuration errors
// surface here; execution errors at the next synchronization).
//
// The production kernels launch with programmatic dependent launch (PDL, Hopper and newer): a kernel
// may start while its predecessor in the stream still runs, loads what does not depend on it (the
// weights), then waits in pdlWait() for the predecessor's completion and memory before touching
// anything the predecessor wrote (or reads). Every PDL-launched kernel calls pdlWait() before its
// first dependent load and before its first store; pdlLaunchDependents() lets the next kernel start.
// Off below compute capability 9.0 or with TRTLLM_PDL=0 (then both device calls are no-ops).
#pragma once
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

#include "ops.h"

namespace trt {

template <typename Params>
void launch1d(const char* op, void (*kernel)(Params), size_t n, unsigned threads, cudaStream_t s, const Params& p, const char* file, int line) {
  if (n == 0) return;
  kernel<<<blocksFor(n, threads), threads, 0, s>>>(p);
  check(cudaGetLastError(), (std::string(op) + " launch").c_str(), file, line);
}

__device__ __forceinline__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/**
 * The split-K / split-row handshake of the production kernels: whether this block is the last of
 * `arrivals` blocks to count at `counter` (a zeroed streamScratch counter). Every block fences its
 * writes before it counts, so the last one — after its own __threadfence() — reads them all; the last
 * one resets the counter for the next call (or graph replay). Called by the whole block.
 */
__device__ __forceinline__ bool lastBlockToArrive(int* counter, int arrivals) {
  __shared__ bool last;
  __threadfence();  // this block's writes visible device-wide before it is counted
  __syncthreads();
  if (threadIdx.x == 0) {
    last = atomicAdd(counter, 1) == arrivals - 1;
    if (last) *counter = 0;  // every block has arrived: reset for the next call (or graph replay)
  }
  __syncthreads();
  return last;
}

/** Whether production kernels launch with PDL: compute capability ≥ 9.0 and TRTLLM_PDL ≠ "0" (read once). */
inline bool pdlEnabled() {
  static const bool on = [] {
    const char* env = std::getenv("TRTLLM_PDL");
    if (env && std::string(env) == "0") return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return false;
    return major >= 9;
  }();
  return on;
}

/** An attribute of the current device, read once per device. */
template <cudaDeviceAttr Attr>
int deviceAttribute() {
  static int cached[64] = {};
  int dev = 0;
  TRT_CUDA(cudaGetDevice(&dev));
  if (dev < 64 && cached[dev]) return cached[dev];
  int v = 0;
  TRT_CUDA(cudaDeviceGetAttribute(&v, Attr, dev));
  if (dev < 64) cached[dev] = v;
  return v;
}

/**
 * The compute capability `kernel` runs at on the current device (major · 10 + minor): the device's,
 * capped by the version of the code that loads for it — an sm_89 card runs a build's sm_80 code, a GPU
 * newer than the build's machine code its compute_80 PTX. What a kernel may use (FP8 mma, clusters)
 * follows from this, not from the device alone. Per (kernel, device), read once.
 */
template <typename Kernel>
int codeCapability(Kernel* kernel) {
  static std::mutex mu;
  static auto* known = new std::map<std::pair<const void*, int>, int>();  // never destroyed
  int dev = 0;
  TRT_CUDA(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(reinterpret_cast<const void*>(kernel), dev);
  const auto at = known->find(key);
  if (at != known->end()) return at->second;
  cudaFuncAttributes a{};
  TRT_CUDA(cudaFuncGetAttributes(&a, kernel));
  const int device = deviceAttribute<cudaDevAttrComputeCapabilityMajor>() * 10 + deviceAttribute<cudaDevAttrComputeCapabilityMinor>();
  const int cc = device < a.ptxVersion ? device : a.ptxVersion;
  known->emplace(key, cc);
  return cc;
}

/** The current device's SM count (what the production kernels' split plans are made for), read once. */
inline int multiprocessors() { return deviceAttribute<cudaDevAttrMultiProcessorCount>(); }

/** Whether the last launch asking for both a cluster and PDL was refused (then clusters launch without PDL). */
inline std::atomic<bool>& pdlRefusedWithClusters() {
  static std::atomic<bool> refused{false};
  return refused;
}

/**
 * kernel<<<grid, block, smem, s>>>(args…) with the PDL attribute where enabled and, for `clusterX`
 * > 0, thread-block clusters of clusterX blocks along x (Hopper); checked at file:line. Should a
 * driver refuse a cluster together with PDL, clusters launch without PDL from then on (a kernel's
 * pdlWait / pdlLaunchDependents are no-ops without the attribute).
 */
template <typename... Params, typename... Args>
void launchPdl(const char* op, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, unsigned clusterX, cudaStream_t s, const char* file, int line, Args&&... args) {
  cudaLaunchAttribute attr[2];
  int n = 0;
  if (clusterX > 0) {
    attr[n].id = cudaLaunchAttributeClusterDimension;
    attr[n].val.clusterDim.x = clusterX, attr[n].val.clusterDim.y = 1, attr[n].val.clusterDim.z = 1;
    n++;
  }
  const bool pdl = pdlEnabled() && !(clusterX > 0 && pdlRefusedWithClusters());
  if (pdl) {
    attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[n].val.programmaticStreamSerializationAllowed = 1;
    n++;
  }
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid, cfg.blockDim = block, cfg.dynamicSmemBytes = smem, cfg.stream = s;
  cfg.attrs = attr, cfg.numAttrs = n;
  cudaError_t err = cudaLaunchKernelEx(&cfg, kernel, args...);
  if (err != cudaSuccess && pdl && clusterX > 0) {
    (void)cudaGetLastError();
    pdlRefusedWithClusters() = true;
    cfg.numAttrs = 1;
    err = cudaLaunchKernelEx(&cfg, kernel, args...);
  }
  check(err, (std::string(op) + " launch").c_str(), file, line);
}

/**
 * Device scratch kept for the life of the process, one buffer per (stream, tag, bytes): the split
 * partials and arrival counters of the production kernels (gemmDecode, attentionDecode, argmax).
 * Never freed or moved — CUDA graphs captured on the stream hold its address — and zeroed once on the
 * stream when made. Counters stay zero between calls because the last block of each reset its own.
 * Calls sharing a buffer run in stream order (PDL kernels touch it only after pdlWait()).
 */
inline void* streamScratch(cudaStream_t s, const char* tag, size_t bytes, bool zeroed) {
  static std::mutex mu;
  static auto* buffers = new std::map<std::tuple<cudaStream_t, std::string, size_t>, void*>();  // never destroyed
  std::lock_guard<std::mutex> lock(mu);
  void*& b = (*buffers)[std::make_tuple(s, std::string(tag), bytes)];
  if (!b) {
    void* made = nullptr;
    TRT_CUDA(cudaMalloc(&made, bytes));
    if (zeroed) TRT_CUDA(cudaMemsetAsync(made, 0, bytes, s));
    b = made;
  }
  return b;
}

/**
 * Let `kernel` take `bytes` of dynamic shared memory on the current device (cudaFuncSetAttribute,
 * which holds per device): set once per (kernel, device) and raised when a call needs more.
 */
template <typename Kernel>
void allowDynamicSharedMemory(Kernel* kernel, size_t bytes, const char* op) {
  if (bytes <= 48 * 1024) return;
  static std::mutex mu;
  static auto* allowed = new std::map<std::pair<const void*, int>, size_t>();  // never destroyed
  int dev = 0;
  TRT_CUDA(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  size_t& limit = (*allowed)[std::make_pair(reinterpret_cast<const void*>(kernel), dev)];
  if (bytes <= limit) return;
  const int optin = deviceAttribute<cudaDevAttrMaxSharedMemoryPerBlockOptin>();
  if (bytes > (size_t)optin) {
    throw CudaError(std::string(op) + ": needs " + std::to_string(bytes) + " bytes of shared memory per block, more than this GPU's " + std::to_string(optin));
  }
  TRT_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
  limit = bytes;
}

}  // namespace trt

#define TRT_LAUNCH_PDL(op, kernel, grid, block, smem, stream, ...) ::trt::launchPdl(op, kernel, grid, block, smem, 0, stream, __FILE__, __LINE__, __VA_ARGS__)
#define TRT_LAUNCH_PDL_CLUSTER(op, kernel, grid, block, smem, clusterX, stream, ...) ::trt::launchPdl(op, kernel, grid, block, smem, clusterX, stream, __FILE__, __LINE__, __VA_ARGS__)
#define TRT_LAUNCH_1D(op, kernel, n, threads, stream, params) ::trt::launch1d(op, kernel, n, threads, stream, params, __FILE__, __LINE__)
