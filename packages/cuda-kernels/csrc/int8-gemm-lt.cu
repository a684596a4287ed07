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
// not a multiple of 4, pointers not 4-byte aligned) run the reference kernel, which is just as exact.
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>
#include <vector>

#include "dynlibs.h"
#include "launch.cuh"
#include "numerics.cuh"

namespace trt {

void invokeInt8GemmFallback(const Int8GemmLtParams& p, cudaStream_t s);  // int8-gemm.cu

namespace {

void check(dyn::cublasStatus_t st, const char* what) {
  if (st != 0) throw CudaError(std::string("cuBLASLt (int8) ") + what + " returned status " + std::to_string(st));
}

struct Plan {
  dyn::cublasLtMatmulDesc_t desc = nullptr;
  dyn::cublasLtMatrixLayout_t lw = nullptr, lx = nullptr, lc = nullptr;
  dyn::cublasLtMatmulHeuristicResult_t h{};
};

struct State {
  std::mutex mu;
  dyn::cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspaceBytes = 32u << 20;
  std::map<std::tuple<int, int, int>, Plan> plans;  // (M, N, K)
  std::vector<std::string> report;
};
State& state() {
  static State* s = new State();  // never destroyed: the CUDA context may be gone at exit
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
  const std::string why = int8GemmLtUnsupported(p.n, p.k);
  if (!why.empty() || !aligned4(p.a) || !aligned4(p.b) || !aligned4(p.c)) {
    invokeInt8GemmFallback(p, s);
    return;
  }
  const dyn::CublasLt* api = dyn::cublasLt(nullptr);
  State& S = state();
  std::lock_guard<std::mutex> lock(S.mu);
  if (!S.handle) {
    check(api->Create(&S.handle), "create");
    TRT_CUDA(cudaMalloc(&S.workspace, S.workspaceBytes));
  }
  const auto key = std::make_tuple(p.m, p.n, p.k);
  auto it = S.plans.find(key);
  if (it == S.plans.end()) {
    Plan plan;
    check(api->MatmulDescCreate(&plan.desc, dyn::CUBLAS_COMPUTE_32I, dyn::CUDA_R_32I), "matmul desc");
    const int opT = dyn::CUBLAS_OP_T, opN = dyn::CUBLAS_OP_N;
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT), "set TRANSA");
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN), "set TRANSB");
    check(api->MatrixLayoutCreate(&plan.lw, dyn::CUDA_R_8I, p.k, p.n, p.k), "layout B");
    check(api->MatrixLayoutCreate(&plan.lx, dyn::CUDA_R_8I, p.k, p.m, p.k), "layout A");
    check(api->MatrixLayoutCreate(&plan.lc, dyn::CUDA_R_32I, p.n, p.m, p.n), "layout C");
    dyn::cublasLtMatmulPreference_t pref = nullptr;
    check(api->MatmulPreferenceCreate(&pref), "preference");
    const uint64_t ws = S.workspaceBytes;
    api->MatmulPreferenceSetAttribute(pref, dyn::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    int found = 0;
    const dyn::cublasStatus_t r = api->MatmulAlgoGetHeuristic(S.handle, plan.desc, plan.lw, plan.lx, plan.lc, plan.lc, pref, 1, &plan.h, &found);
    api->MatmulPreferenceDestroy(pref);
    std::ostringstream line;
    line << "M=" << p.m << " N=" << p.n << " K=" << p.k << ": ";
    if (r != 0 || found == 0) {  // no IMMA kernel for this shape: the reference kernel, exact as well
      api->MatmulDescDestroy(plan.desc);
      for (auto* l : {plan.lw, plan.lx, plan.lc}) api->MatrixLayoutDestroy(l);
      plan = Plan{};
      line << "no cuBLASLt algorithm (status " << r << "): reference kernel";
    } else {
      line << "algo " << (uint32_t)plan.h.algo.data[0] << ", workspace " << plan.h.workspaceSize << " B";
    }
    S.report.push_back(line.str());
    it = S.plans.emplace(key, plan).first;
  }
  const Plan& plan = it->second;
  if (!plan.desc) {
    invokeInt8GemmFallback(p, s);
    return;
  }
  const int32_t alpha = 1, beta = 0;
  check(api->Matmul(S.handle, plan.desc, &alpha, p.b, plan.lw, p.a, plan.lx, &beta, p.c, plan.lc, p.c, plan.lc, &plan.h.algo, S.workspace, S.workspaceBytes, s), "matmul");
}

std::string int8GemmLtAlgorithms() {
  State& S = state();
  std::lock_guard<std::mutex> lock(S.mu);
  std::string out;
  for (const auto& l : S.report) out += l + "\n";
  return out;
}

}  // namespace trt
