// argmax — ids[r] = first index of the largest non-NaN value of row r, V − 1 when every value is
// NaN: the result of ref-math's sequential argmax (src/ops/argmax.ts), exact (tier 1). Blocks per
// chunk of a row; each thread keeps its best (value, lowest index), then shuffle merges that prefer
// the lower index on ties, so the answer does not depend on the merge order.
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {
namespace {

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
  if (isnan(v)) return false;
  if (bi < 0 || isnan(bv)) return true;
  return v > bv || (v == bv && i < bi);
}

// A row is cut into chunks of kChunk values, one block each (grid x); a block's best (value, index)
// goes to a workspace and the row's last block to finish (an arrival counter) merges the chunks'.
constexpr int kArgmaxBlock = 256;
constexpr int kArgmaxLoads = 8;  // loads in flight per thread
constexpr int kChunk = kArgmaxBlock * kArgmaxLoads;

// (v, i) of the lane `from` lanes up merged into this lane's best (warp shuffles)
__device__ __forceinline__ void mergeDown(float& bv, int& bi, int from) {
  const float ov = __shfl_down_sync(0xffffffffu, bv, from);
  const int oi = __shfl_down_sync(0xffffffffu, bi, from);
  if (oi >= 0 && better(ov, oi, bv, bi)) bv = ov, bi = oi;
}

// The block's best of (bv, bi): returned in thread 0.
__device__ __forceinline__ void blockBest(float& bv, int& bi) {
  __shared__ float vals[kArgmaxBlock / 32];
  __shared__ int idxs[kArgmaxBlock / 32];
  for (int o = 16; o > 0; o >>= 1) mergeDown(bv, bi, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) vals[warp] = bv, idxs[warp] = bi;
  __syncthreads();
  bv = lane < kArgmaxBlock / 32 ? vals[lane] : NAN;
  bi = lane < kArgmaxBlock / 32 ? idxs[lane] : -1;
  for (int o = 16; o > 0; o >>= 1) mergeDown(bv, bi, o);
}

__global__ void __launch_bounds__(kArgmaxBlock) argmaxKernel(ArgmaxParams p, float* bestV, int* bestI, int* counters) {
  pdlLaunchDependents();
  pdlWait();  // the logits are the previous kernel's output
  const int row = blockIdx.y, chunks = gridDim.x;
  const float* x = p.x + (size_t)row * p.cols;
  float v[kArgmaxLoads];
  const int i0 = blockIdx.x * kChunk + threadIdx.x;
#pragma unroll
  for (int k = 0; k < kArgmaxLoads; k++) v[k] = x[min(i0 + k * kArgmaxBlock, p.cols - 1)];  // clamped: no branch around the load
  float bv = NAN;
  int bi = -1;
#pragma unroll
  for (int k = 0; k < kArgmaxLoads; k++) {
    const int i = i0 + k * kArgmaxBlock;
    if (i < p.cols && better(v[k], i, bv, bi)) bv = v[k], bi = i;
  }
  blockBest(bv, bi);
  __shared__ bool last;
  if (threadIdx.x == 0) {
    bestV[row * chunks + blockIdx.x] = bv, bestI[row * chunks + blockIdx.x] = bi;
    __threadfence();
    last = atomicAdd(&counters[row], 1) == chunks - 1;
    if (last) counters[row] = 0;  // every chunk has arrived: reset for the next call (or graph replay)
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  bv = NAN, bi = -1;
  for (int c = threadIdx.x; c < chunks; c += kArgmaxBlock) {
    const int ci = __ldcg(bestI + row * chunks + c);
    const float cv = __ldcg(bestV + row * chunks + c);
    if (ci >= 0 && better(cv, ci, bv, bi)) bv = cv, bi = ci;
  }
  blockBest(bv, bi);
  if (threadIdx.x == 0) p.ids[row] = bi < 0 ? p.cols - 1 : bi;
}

}  // namespace

void invokeArgmax(const ArgmaxParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  const int chunks = (p.cols + kChunk - 1) / kChunk;
  float* v = static_cast<float*>(streamScratch(s, "argmax chunk values", (size_t)p.rows * chunks * sizeof(float), false));
  int* i = static_cast<int*>(streamScratch(s, "argmax chunk indices", (size_t)p.rows * chunks * sizeof(int), false));
  int* counters = static_cast<int*>(streamScratch(s, "argmax counters", (size_t)p.rows * sizeof(int), true));
  TRT_LAUNCH_PDL("argmax", argmaxKernel, dim3(chunks, p.rows), dim3(kArgmaxBlock), 0, s, p, v, i, counters);
}

}  // namespace trt
