// Block-wide reductions shared by the kernels that reduce a row across a whole block (the production
// LayerNorm past 2,048 columns, per-token quantization): a butterfly of shuffles within each warp, then
// `init` and the warp results in warp order, so every thread gets the same bits. Max is exact in any
// order; a sum's order is this one.
#pragma once
#include <cuda_runtime.h>

namespace trt {

/** `op` over the 32 lanes of a warp (xor butterfly). */
template <typename Op>
__device__ __forceinline__ float warpReduce(float v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/** `op` over the block; `shared` holds one float per warp (blockDim.x a multiple of 32, at most 1,024). */
template <typename Op>
__device__ __forceinline__ float blockReduce(float v, float* shared, float init, Op op) {
  v = warpReduce(v, op);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = init;
  for (int w = 0; w < (int)(blockDim.x / 32); w++) total = op(total, shared[w]);
  return total;
}

__device__ __forceinline__ float warpMax(float v) { return warpReduce(v, [](float a, float b) { return fmaxf(a, b); }); }
__device__ __forceinline__ float blockMax(float v, float* shared) { return blockReduce(v, shared, -INFINITY, [](float a, float b) { return fmaxf(a, b); }); }
__device__ __forceinline__ float blockSum(float v, float* shared) { return blockReduce(v, shared, 0.f, [](float a, float b) { return a + b; }); }

}  // namespace trt
