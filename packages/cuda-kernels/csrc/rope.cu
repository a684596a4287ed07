// rope — NeoX rotate-half on the first rotaryDim dims, table from the host (ref-math ropeTable):
// y_i = cast(fp32(fp32(x_i·c) − fp32(x_{i+h}·s))), y_{i+h} = cast(fp32(fp32(x_{i+h}·c) + fp32(x_i·s))),
// other dims copied bit for bit (ref-math/src/ops/rope.ts). One thread per (token, head, i < HS).
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void ropeKernel(RopeParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.tokens * p.heads * p.headSize) return;
  const int d = (int)(idx % p.headSize);
  const int t = (int)(idx / ((size_t)p.heads * p.headSize));
  const size_t base = idx - d;
  const int half = p.rotaryDim / 2;
  const size_t bytes = dtypeSize(p.dtype);
  if (d >= p.rotaryDim) {  // pass-through: copy the stored element
    memcpy((char*)p.y + idx * bytes, (const char*)p.x + idx * bytes, bytes);
    return;
  }
  const int pos = p.positions[t];
  if (pos < 0 || pos >= p.tablePositions) {
    atomicCAS(p.error, 0, t + 1);
    return;
  }
  const int i = d < half ? d : d - half;
  const float c = p.cos[(size_t)pos * half + i];
  const float sn = p.sin[(size_t)pos * half + i];
  const float x1 = loadf(p.dtype, p.x, base + i);
  const float x2 = loadf(p.dtype, p.x, base + i + half);
  storef(p.dtype, p.y, idx, d < half ? fsub(fmul(x1, c), fmul(x2, sn)) : fadd(fmul(x2, c), fmul(x1, sn)));
}

void invokeRope(const RopeParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("rope", ropeKernel, (size_t)p.tokens * p.heads * p.headSize, 256, s, p);
}

}  // namespace trt
