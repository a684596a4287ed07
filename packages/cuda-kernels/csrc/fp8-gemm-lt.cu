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
// Requirements (fp8GemmLtUnsupported says which fail): K and N multiples of 16, an fp16 or bf16 output
// (the bias in the same dtype), compute capability 8.9+, cuBLASLt. Whatever cannot take that path —
// those, pointers not 16-byte aligned, a shape with no cuBLASLt algorithm — runs the reference-order
// kernel with the same device scales (fp8.cu), so one call serves every shape and GPU. The cuBLASLt
// state is lt-plans.cuh's.
#include <sstream>
#include <tuple>

#include "dynlibs.h"
#include "launch.cuh"
#include "lt-plans.cuh"
#include "numerics.cuh"

namespace trt {

void invokeFp8GemmDeviceScales(const Fp8GemmLtParams& p, cudaStream_t s);  // fp8.cu: the reference order

namespace {

// (M, N, K, out dtype, bias); the scale and bias pointers are set per call (attributes of the desc)
using Key = std::tuple<int, int, int, int, bool>;
lt::Plans<Key>& plans() {
  static auto* s = new lt::Plans<Key>();  // never destroyed: the CUDA context may be gone at exit
  return *s;
}

bool aligned16(const void* p) { return ((uintptr_t)p & 15u) == 0; }

int cudaTypeOf(DType d) { return d == DType::F16 ? dyn::CUDA_R_16F : dyn::CUDA_R_16BF; }

void set(const dyn::CublasLt* api, dyn::cublasLtMatmulDesc_t desc, int attr, const void* value, size_t bytes, const char* what) {
  lt::check(api->MatmulDescSetAttribute(desc, attr, value, bytes), "fp8", what);
}

}  // namespace

// The current device's compute capability as major·10 + minor, read once per device.
static int capability() {
  static int cc[64] = {};
  int dev = 0;
  TRT_CUDA(cudaGetDevice(&dev));
  if (dev >= 64) dev = 63;
  if (cc[dev] == 0) {
    int major = 0, minor = 0;
    TRT_CUDA(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    TRT_CUDA(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    cc[dev] = major * 10 + minor;
  }
  return cc[dev];
}

std::string fp8GemmLtUnsupported(int n, int k, DType out) {
  std::ostringstream why;
  const int cc = capability();
  if (cc < 89) why << "compute capability " << cc / 10 << "." << cc % 10 << " has no FP8 tensor cores (8.9 or newer needed); ";
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
  // what FP8 tensor cores cannot take runs the reference order with the same device scales
  const bool tensorCores = capability() >= 89 && p.n % 16 == 0 && p.k % 16 == 0 && (p.outDtype == DType::F16 || p.outDtype == DType::BF16) && dyn::cublasLt(nullptr) != nullptr;
  if (!tensorCores || !aligned16(p.a) || !aligned16(p.b) || !aligned16(p.out) || (p.bias && !aligned16(p.bias))) {
    invokeFp8GemmDeviceScales(p, s);
    return;
  }
  const dyn::CublasLt* api = dyn::cublasLt(nullptr);
  auto& S = plans();
  std::lock_guard<std::mutex> lock(S.mu);
  S.open(api, "fp8");
  const Key key = std::make_tuple(p.m, p.n, p.k, (int)p.outDtype, p.bias != nullptr);
  auto it = S.plans.find(key);
  const lt::Plan* plan = it == S.plans.end() ? nullptr : &it->second;
  if (!plan) {
    lt::Plan made;
    lt::check(api->MatmulDescCreate(&made.desc, dyn::CUBLAS_COMPUTE_32F, dyn::CUDA_R_32F), "fp8", "matmul desc");
    const int opT = dyn::CUBLAS_OP_T, opN = dyn::CUBLAS_OP_N;
    set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT, "set TRANSA");
    set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN, "set TRANSB");
    // the scale pointers must be set before the heuristic: this call's stand in (set again per call)
    set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &p.scaleB, sizeof p.scaleB, "set A scale");
    set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &p.scaleA, sizeof p.scaleA, "set B scale");
    if (p.bias) {
      const uint32_t epi = dyn::CUBLASLT_EPILOGUE_BIAS;
      const int biasType = cudaTypeOf(p.outDtype);
      set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi, "set epilogue");
      set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &biasType, sizeof biasType, "set bias dtype");
      set(api, made.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias, "set bias");
    }
    lt::check(api->MatrixLayoutCreate(&made.lw, dyn::CUDA_R_8F_E4M3, p.k, p.n, p.k), "fp8", "layout B");
    lt::check(api->MatrixLayoutCreate(&made.lx, dyn::CUDA_R_8F_E4M3, p.k, p.m, p.k), "fp8", "layout A");
    lt::check(api->MatrixLayoutCreate(&made.ld, cudaTypeOf(p.outDtype), p.n, p.m, p.n), "fp8", "layout D");
    std::ostringstream line;
    line << "M=" << p.m << " N=" << p.n << " K=" << p.k << (p.outDtype == DType::F16 ? " f16" : " bf16") << (p.bias ? " +bias" : "");
    plan = &S.add(api, key, made, line.str());
  }
  if (!plan->found()) {  // no algorithm for this shape (the report says so, once): the reference kernel
    invokeFp8GemmDeviceScales(p, s);
    return;
  }
  // this call's scales and bias (cuBLASLt's A is our weight, its B our activation)
  set(api, plan->desc, dyn::CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &p.scaleB, sizeof p.scaleB, "set A scale");
  set(api, plan->desc, dyn::CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &p.scaleA, sizeof p.scaleA, "set B scale");
  if (p.bias) set(api, plan->desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias, "set bias");
  const float alpha = 1.f, beta = 0.f;
  lt::check(api->Matmul(S.handle, plan->desc, &alpha, p.b, plan->lw, p.a, plan->lx, &beta, p.out, plan->ld, p.out, plan->ld, &plan->h.algo, S.workspace, S.workspaceBytes, s), "fp8", "matmul");
}

std::string fp8GemmLtAlgorithms() { return plans().algorithms(); }

}  // namespace trt
