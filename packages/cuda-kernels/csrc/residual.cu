// residual — y = cast_T(fp32(a + b)) elementwise (ref-math/src/ops/residual.ts).
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void residualKernel(ResidualParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) storef(p.dtype, p.y, i, fadd(loadf(p.dtype, p.a, i), loadf(p.dtype, p.b, i)));
}

void invokeResidual(const ResidualParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("residualAdd", residualKernel, p.n, 256, s, p);
}

}  // namespace trt
