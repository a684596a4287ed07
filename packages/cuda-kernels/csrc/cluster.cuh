// cluster.cuh — thread-block clusters (Hopper) where the device has them, one block elsewhere: a block
// reads another block's shared memory of its cluster (distributed shared memory) and waits for the
// whole cluster. Below compute capability 9.0 every "cluster" is the block itself, so code written for
// a cluster of C blocks runs unchanged with C = 1.
#pragma once
#include <cooperative_groups.h>

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

}  // namespace trt
