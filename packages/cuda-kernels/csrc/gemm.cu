// gemm — reference order (ref-math/src/ops/gemm.ts): one thread per C[i,j],
// acc = fp32(acc + fp32(a·b)) for k ascending, then + bias in fp32, one cast to the output dtype.
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void gemmKernel(GemmParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  float acc = 0.f;
  for (int kk = 0; kk < p.k; kk++) {
    const size_t ai = p.transA ? (size_t)kk * p.m + i : (size_t)i * p.k + kk;  // A[K,M] or A[M,K]
    const size_t bi = p.transB ? (size_t)j * p.k + kk : (size_t)kk * p.n + j;  // B[N,K] or B[K,N]
    acc = fadd(acc, fmul(loadf(p.inDtype, p.a, ai), loadf(p.inDtype, p.b, bi)));
  }
  if (p.bias) acc = fadd(acc, loadf(p.biasDtype, p.bias, j));
  storef(p.outDtype, p.c, idx, acc);
}

void invokeGemm(const GemmParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("gemm", gemmKernel, (size_t)p.m * p.n, 256, s, p);
}

}  // namespace trt

// The production GEMMs of the same op sit beside this file: gemm-lt.cu (cuBLASLt) and
// gemm-decode.cu (the tensor-core decode GEMM); src/ops/gemm.ts binds all three.
