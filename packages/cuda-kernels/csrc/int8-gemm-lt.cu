// int8-gemm — production path: int8 × int8 → int32 through cuBLASLt's tensor-core (IMMA) kernels
// (the reference kernel and the SmoothQuant epilogue are int8-gemm.cu).
//
// Every int32 sum is exact (two's-complement wrap-around is associative too), so any algorithm —
// split-K included — gives the oracle's bits: this op is tier 1, and each (M, N, K) simply takes
// cuBLASLt's heuristic choice; batch invariance comes for free.
//
// Layout: IMMA on the regular column-major order takes only the "TN" form with m and k multiples of 4.
// Row-major C[M,N] = A[M,K]·Bᵀ with B stored [N,K] is column-major Cᵀ[N,M] = op_T(B as K×N, ld K) ·
// (A as K×M, ld K), ldc = N: exactly TN, with cuBLAS's m = our N. Shapes IMMA cannot run (N or K
// not a multiple of 4, pointers not 4-byte aligned, or no algorithm: the report says so) run the
// reference kernel, which is just as exact. The cuBLASLt state is lt-plans.cuh's, shared with FP8.
#include <sstream>
#include <tuple>

#include "dynlibs.h"
#include "launch.cuh"
#include "lt-plans.cuh"
#include "numerics.cuh"

namespace trt {

void invokeInt8GemmFallback(const Int8GemmLtParams& p, cudaStream_t s);  // int8-gemm.cu

namespace {

lt::Plans<std::tuple<int, int, int>>& plans() {  // (M, N, K)
  static auto* s = new lt::Plans<std::tuple<int, int, int>>();  // never destroyed: the CUDA context may be gone at exit
  return *s;
}

bool aligned4(const void* p) { return ((uintptr_t)p & 3u) == 0; }

}  // namespace

std::string int8GemmLtUnsupported(int n, int k) {
  std::ostringstream why;
  if (n % 4 != 0) why << "N = " << n << " is not a multiple of 4; ";
  if (k % 4 != 0) why << "K = " << k << " is not a multiple of 4; ";
  dyn::LibraryStatus st;
  if (!dyn::cublasLt(&st)) why << "cuBLASLt unavailable: " << st.reason << "; ";
  std::string s = why.str();
  if (!s.empty()) s.resize(s.size() - 2);
  return s;
}

void invokeInt8GemmLt(const Int8GemmLtParams& p, cudaStream_t s) {
  if (p.m == 0 || p.n == 0) return;
  // the same conditions as int8GemmLtUnsupported, without building its message on every launch
  const dyn::CublasLt* api = dyn::cublasLt(nullptr);
  if (p.n % 4 != 0 || p.k % 4 != 0 || api == nullptr || !aligned4(p.a) || !aligned4(p.b) || !aligned4(p.c)) {
    invokeInt8GemmFallback(p, s);
    return;
  }
  auto& S = plans();
  std::lock_guard<std::mutex> lock(S.mu);
  S.open(api, "int8");
  const auto key = std::make_tuple(p.m, p.n, p.k);
  auto it = S.plans.find(key);
  const lt::Plan* plan = it == S.plans.end() ? nullptr : &it->second;
  if (!plan) {
    lt::Plan made;
    lt::check(api->MatmulDescCreate(&made.desc, dyn::CUBLAS_COMPUTE_32I, dyn::CUDA_R_32I), "int8", "matmul desc");
    const int opT = dyn::CUBLAS_OP_T, opN = dyn::CUBLAS_OP_N;
    lt::check(api->MatmulDescSetAttribute(made.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT), "int8", "set TRANSA");
    lt::check(api->MatmulDescSetAttribute(made.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN), "int8", "set TRANSB");
    lt::check(api->MatrixLayoutCreate(&made.lw, dyn::CUDA_R_8I, p.k, p.n, p.k), "int8", "layout B");
    lt::check(api->MatrixLayoutCreate(&made.lx, dyn::CUDA_R_8I, p.k, p.m, p.k), "int8", "layout A");
    lt::check(api->MatrixLayoutCreate(&made.ld, dyn::CUDA_R_32I, p.n, p.m, p.n), "int8", "layout C");
    // no IMMA kernel for this shape: the reference kernel, exact as well
    plan = &S.add(api, key, made, "M=" + std::to_string(p.m) + " N=" + std::to_string(p.n) + " K=" + std::to_string(p.k));
  }
  if (!plan->found()) {
    invokeInt8GemmFallback(p, s);
    return;
  }
  const int32_t alpha = 1, beta = 0;
  lt::check(api->Matmul(S.handle, plan->desc, &alpha, p.b, plan->lw, p.a, plan->lx, &beta, p.c, plan->ld, p.c, plan->ld, &plan->h.algo, S.workspace, S.workspaceBytes, s), "int8", "matmul");
}

std::string int8GemmLtAlgorithms() { return plans().algorithms(); }

}  // namespace trt
