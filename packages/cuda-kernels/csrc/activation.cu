// activation — gelu: cast_T(geluF32(x)); swiglu: cast_T(fp32(siluF32(x) · gate)) (ref-math/src/ops/activation.ts).
#include "numerics.cuh"
#include "ops.h"

namespace trt {

__global__ void activationKernel(ActivationParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  const float x = loadf(p.dtype, p.x, i);
  storef(p.dtype, p.y, i, p.gate ? fmul(siluF32(x), loadf(p.dtype, p.gate, i)) : geluF32(x));
}

void invokeActivation(const ActivationParams& p, cudaStream_t s) {
  if (p.n == 0) return;
  activationKernel<<<blocksFor(p.n), 256, 0, s>>>(p);
  TRT_LAUNCHED(p.gate ? "swiglu" : "gelu");
}

}  // namespace trt
