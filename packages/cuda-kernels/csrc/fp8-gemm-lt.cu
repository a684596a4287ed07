// fp8-gemm — production path: e4m3 × e4m3 on tensor cores through cuBLASLt (compute capability ≥ 8.9),
// fp32 accumulation, D = T(scaleA · scaleB · (A·Bᵀ) + bias) with the scales read from the device and
// the bias added in the epilogue (the reference kernel is fp8.cu's fp8GemmKernel; ref-math fp8Gemm).
//
// Tier 3: cuBLASLt accumulates the exact e4m3 products in fp32 in its own order (with its periodic
// promotion, fast accumulation off) and applies the scales in its own order, so the result differs
// from the oracle's serial sum within the declared tolerance; each (M, N, K) takes cuBLASLt's
// heuristic choice once.
//
// Layout: FP8 on cuBLASLt takes only the "TN" form. Row-major D[M,N] = A[M,K]·Bᵀ with B stored [N,K]
// is column-major Dᵀ[N,M] = op_T(B as K×N, ld K) · (A as K×M, ld K), ldd = N — as int8-gemm-lt.cu.
// Requirements (checked in fp8GemmLtUnsupported): K and N multiples of 16, 16-byte aligned pointers,
// an fp16 or bf16 output (the bias in the same dtype).
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>
#include <vector>

#include "dynlibs.h"
#include "launch.cuh"
#include "numerics.cuh"

namespace trt {

namespace {

void check(dyn::cublasStatus_t st, const char* what) {
  if (st != 0) throw CudaError(std::string("cuBLASLt (fp8) ") + what + " returned status " + std::to_string(st));
}

struct Plan {
  dyn::cublasLtMatmulDesc_t desc = nullptr;
  dyn::cublasLtMatrixLayout_t lw = nullptr, lx = nullptr, ld = nullptr;
  dyn::cublasLtMatmulHeuristicResult_t h{};
};

struct State {
  std::mutex mu;
  dyn::cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspaceBytes = 32u << 20;
  // (M, N, K, out dtype, bias); the scale pointers are set per call (they are attributes of the desc)
  std::map<std::tuple<int, int, int, int, bool>, Plan> plans;
  std::vector<std::string> report;
};
State& state() {
  static State* s = new State();  // never destroyed: the CUDA context may be gone at exit
  return *s;
}

bool aligned16(const void* p) { return ((uintptr_t)p & 15u) == 0; }

int cudaTypeOf(DType d) {
  return d == DType::F16 ? dyn::CUDA_R_16F : dyn::CUDA_R_16BF;
}

}  // namespace

std::string fp8GemmLtUnsupported(int n, int k, DType out) {
  std::ostringstream why;
  int dev = 0, major = 0, minor = 0;
  TRT_CUDA(cudaGetDevice(&dev));
  TRT_CUDA(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  TRT_CUDA(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  if (major * 10 + minor < 89) why << "compute capability " << major << "." << minor << " has no FP8 tensor cores (8.9 or newer needed); ";
  if (n % 16 != 0) why << "N = " << n << " is not a multiple of 16; ";
  if (k % 16 != 0) why << "K = " << k << " is not a multiple of 16; ";
  if (out != DType::F16 && out != DType::BF16) why << "output dtype code " << (int)out << " (fp16 or bf16); ";
  dyn::LibraryStatus st;
  if (!dyn::cublasLt(&st)) why << "cuBLASLt unavailable: " << st.reason << "; ";
  std::string s = why.str();
  if (!s.empty()) s.resize(s.size() - 2);
  return s;
}

void invokeFp8GemmLt(const Fp8GemmLtParams& p, cudaStream_t s) {
  if (p.m == 0 || p.n == 0) return;
  const std::string why = fp8GemmLtUnsupported(p.n, p.k, p.outDtype);
  if (!why.empty()) throw CudaError("fp8GemmLt: " + why);
  if (!aligned16(p.a) || !aligned16(p.b) || !aligned16(p.out) || (p.bias && !aligned16(p.bias))) throw CudaError("fp8GemmLt: a, b, out and bias must be 16-byte aligned");
  const dyn::CublasLt* api = dyn::cublasLt(nullptr);
  State& S = state();
  std::lock_guard<std::mutex> lock(S.mu);
  if (!S.handle) {
    check(api->Create(&S.handle), "create");
    TRT_CUDA(cudaMalloc(&S.workspace, S.workspaceBytes));
  }
  const auto key = std::make_tuple(p.m, p.n, p.k, (int)p.outDtype, p.bias != nullptr);
  auto it = S.plans.find(key);
  if (it == S.plans.end()) {
    Plan plan;
    check(api->MatmulDescCreate(&plan.desc, dyn::CUBLAS_COMPUTE_32F, dyn::CUDA_R_32F), "matmul desc");
    const int opT = dyn::CUBLAS_OP_T, opN = dyn::CUBLAS_OP_N;
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT), "set TRANSA");
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN), "set TRANSB");
    // the scale pointers must be set before the heuristic: any device address stands in for now
    const float* scale = p.scaleB;
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale, sizeof scale), "set A scale");
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale, sizeof scale), "set B scale");
    if (p.bias) {
      const uint32_t epi = dyn::CUBLASLT_EPILOGUE_BIAS;
      const int biasType = cudaTypeOf(p.outDtype);
      check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi), "set epilogue");
      check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &biasType, sizeof biasType), "set bias dtype");
      const void* bias = p.bias;
      check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias), "set bias");
    }
    check(api->MatrixLayoutCreate(&plan.lw, dyn::CUDA_R_8F_E4M3, p.k, p.n, p.k), "layout B");
    check(api->MatrixLayoutCreate(&plan.lx, dyn::CUDA_R_8F_E4M3, p.k, p.m, p.k), "layout A");
    check(api->MatrixLayoutCreate(&plan.ld, cudaTypeOf(p.outDtype), p.n, p.m, p.n), "layout D");
    dyn::cublasLtMatmulPreference_t pref = nullptr;
    check(api->MatmulPreferenceCreate(&pref), "preference");
    const uint64_t ws = S.workspaceBytes;
    api->MatmulPreferenceSetAttribute(pref, dyn::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    int found = 0;
    const dyn::cublasStatus_t r = api->MatmulAlgoGetHeuristic(S.handle, plan.desc, plan.lw, plan.lx, plan.ld, plan.ld, pref, 1, &plan.h, &found);
    api->MatmulPreferenceDestroy(pref);
    std::ostringstream line;
    line << "M=" << p.m << " N=" << p.n << " K=" << p.k << (p.outDtype == DType::F16 ? " f16" : " bf16") << (p.bias ? " +bias" : "") << ": ";
    if (r != 0 || found == 0) {
      api->MatmulDescDestroy(plan.desc);
      for (auto* l : {plan.lw, plan.lx, plan.ld}) api->MatrixLayoutDestroy(l);
      line << "no cuBLASLt algorithm (status " << r << ")";
      S.report.push_back(line.str());
      throw CudaError("fp8GemmLt: " + line.str());
    }
    line << "algo " << (uint32_t)plan.h.algo.data[0] << ", workspace " << plan.h.workspaceSize << " B";
    S.report.push_back(line.str());
    it = S.plans.emplace(key, plan).first;
  }
  const Plan& plan = it->second;
  // this call's scales and bias (cuBLASLt's B is our activation, its A our weight)
  const float* sw = p.scaleB;
  const float* sx = p.scaleA;
  check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sw, sizeof sw), "set A scale");
  check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sx, sizeof sx), "set B scale");
  if (p.bias) {
    const void* bias = p.bias;
    check(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias), "set bias");
  }
  const float alpha = 1.f, beta = 0.f;
  check(api->Matmul(S.handle, plan.desc, &alpha, p.b, plan.lw, p.a, plan.lx, &beta, p.out, plan.ld, p.out, plan.ld, &plan.h.algo, S.workspace, S.workspaceBytes, s), "matmul");
}

std::string fp8GemmLtAlgorithms() {
  State& S = state();
  std::lock_guard<std::mutex> lock(S.mu);
  std::string out;
  for (const auto& l : S.report) out += l + "\n";
  return out;
}

}  // namespace trt
