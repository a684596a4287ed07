// cluster.cuh — thread-block clusters (Hopper) where the device has them, one block elsewhere: a block
// reads another block's shared memory of its cluster (distributed shared memory) and waits for the
// whole cluster. Below compute capability 9.0 every "cluster" is the block itself, so code written for
// a cluster of C blocks runs unchanged with C = 1.
#pragma once
#include <cooperative_groups.h>

#include <map>
#include <mutex>
#include <tuple>

#include "launch.cuh"

namespace trt {

/** `mine` (a shared-memory address) in the block of rank `rank` of this cluster; `mine` itself outside clusters. */
template <typename T>
__device__ __forceinline__ T* clusterAt(T* mine, int rank) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  return cooperative_groups::this_cluster().map_shared_rank(mine, rank);
#else
  (void)rank;
  return mine;
#endif
}

/** Every thread of the cluster waits for all (release / acquire: shared-memory writes before it are seen after it); the block's barrier outside clusters. */
__device__ __forceinline__ void clusterSync() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cooperative_groups::this_cluster().sync();
#else
  __syncthreads();
#endif
}

/**
 * Whether `kernel` runs as thread-block clusters on the current device: the device launches clusters
 * and the code that loads for it is compute capability ≥ 9.0 (codeCapability). Code the driver compiled
 * from older PTX (a GPU newer than the build's machine code, or a build without sm_90) has no cluster in
 * it — clusterAt would hand a block its own shared memory — so it must run with clusters of one.
 */
template <typename Kernel>
bool clustersFor(Kernel* kernel) {
  return deviceAttribute<cudaDevAttrClusterLaunch>() != 0 && codeCapability(kernel) >= 90;
}

/**
 * Whether at least one cluster of `size` blocks of `threads` threads and `smem` bytes of dynamic shared
 * memory fits on the current device at once (it may not where the visible SMs are restricted: MPS, MIG,
 * green contexts). Per (kernel, device, size, threads, smem), asked once.
 */
template <typename Kernel>
bool clusterFits(Kernel* kernel, int size, int threads, size_t smem) {
  static std::mutex mu;
  static auto* known = new std::map<std::tuple<const void*, int, int, int, size_t>, bool>();  // never destroyed
  int dev = 0;
  TRT_CUDA(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(reinterpret_cast<const void*>(kernel), dev, size, threads, smem);
  const auto at = known->find(key);
  if (at != known->end()) return at->second;
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeClusterDimension;
  attr.val.clusterDim.x = size, attr.val.clusterDim.y = 1, attr.val.clusterDim.z = 1;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(size), cfg.blockDim = dim3(threads), cfg.dynamicSmemBytes = smem, cfg.attrs = &attr, cfg.numAttrs = 1;
  int clusters = 0;
  const bool yes = cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg) == cudaSuccess && clusters >= 1;
  if (!yes) (void)cudaGetLastError();
  known->emplace(key, yes);
  return yes;
}

}  // namespace trt
