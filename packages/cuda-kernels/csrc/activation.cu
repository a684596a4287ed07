// activation — gelu: cast_T(geluF32(x)); swiglu: cast_T(fp32(siluF32(x) · gate)) (ref-math/src/ops/activation.ts).
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void activationKernel(ActivationParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  const float x = loadf(p.dtype, p.x, i);
  storef(p.dtype, p.y, i, p.gate ? fmul(siluF32(x), loadf(p.dtype, p.gate, i)) : geluF32(x));
}

void invokeActivation(const ActivationParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D(p.gate ? "swiglu" : "gelu", activationKernel, p.n, 256, s, p);
}

}  // namespace trt
