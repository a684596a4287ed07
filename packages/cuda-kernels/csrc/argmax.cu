// argmax — ids[r] = first index of the largest non-NaN value of row r, V − 1 when every value is
// NaN: the result of ref-math's sequential argmax (src/ops/argmax.ts), exact (tier 1). One block per
// row; each thread keeps its best (value, lowest index), then a tree merge that prefers the lower
// index on ties, so the answer does not depend on the merge order.
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

constexpr int kArgmaxThreads = 1024;

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
  if (isnan(v)) return false;
  if (bi < 0 || isnan(bv)) return true;
  return v > bv || (v == bv && i < bi);
}

__global__ void __launch_bounds__(kArgmaxThreads) argmaxKernel(ArgmaxParams p) {
  __shared__ float vals[kArgmaxThreads];
  __shared__ int idxs[kArgmaxThreads];
  const float* x = p.x + (size_t)blockIdx.x * p.cols;
  float bv = NAN;
  int bi = -1;
  for (int i0 = threadIdx.x; i0 < p.cols; i0 += 4 * kArgmaxThreads) {  // four loads in flight, then the compares in index order
    float v[4];
#pragma unroll
    for (int k = 0; k < 4; k++) v[k] = x[min(i0 + k * kArgmaxThreads, p.cols - 1)];  // clamped: no branch around the load
#pragma unroll
    for (int k = 0; k < 4; k++) v[k] = i0 + k * kArgmaxThreads < p.cols ? v[k] : NAN;
#pragma unroll
    for (int k = 0; k < 4; k++) if (better(v[k], i0 + k * kArgmaxThreads, bv, bi)) bv = v[k], bi = i0 + k * kArgmaxThreads;
  }
  vals[threadIdx.x] = bv;
  idxs[threadIdx.x] = bi;
  __syncthreads();
  for (int w = kArgmaxThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) {
      const int oi = idxs[threadIdx.x + w];
      if (oi >= 0 && better(vals[threadIdx.x + w], oi, vals[threadIdx.x], idxs[threadIdx.x])) {
        vals[threadIdx.x] = vals[threadIdx.x + w];
        idxs[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) p.ids[blockIdx.x] = idxs[0] < 0 ? p.cols - 1 : idxs[0];
}

void invokeArgmax(const ArgmaxParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  argmaxKernel<<<p.rows, kArgmaxThreads, 0, s>>>(p);
  check(cudaGetLastError(), "argmax launch", __FILE__, __LINE__);
}

}  // namespace trt
