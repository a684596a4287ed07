// gemm — production path: cuBLASLt (tier 3; the reference kernel is gemm.cu, the decode GEMM gemm-decode.cu).
// Row-major D[M,N] = A[M,K]·B is column-major Dᵀ[N,M] = Bᵀ·Aᵀ: cuBLASLt's first operand is our B
// (N×K, ld N; or with transB our [N,K] as K×N, ld K, transposed), its second our A (K×M, ld K);
// the bias runs along D's column-major rows, i.e. our N. The residual is C with β = 1.
//
// Algorithm choice (batch-invariant mode): per (N, K, dtypes, epilogue), the candidates cuBLASLt's
// heuristic offers for M = 1 and M = 64 are timed at M = 1, 64 and 512 on the real weights (CUDA
// events, first use, outside any graph capture), checked to run at M = 8192, and the fastest by
// 4·t(1) + t(64) + t(512)/8 is used for every M — one kernel configuration (split-K included), so one
// reduction order per output row whatever the batch. Prompt-tuned shapes (`promptTuned`: engines
// whose generation rows run on the decode GEMM, so cuBLASLt sees prompt rows) take the candidates for
// M = 64 and 512 and score t(64)/8 + t(512) + t(8192)/16. An M where the choice cannot run gets its
// own, and gemmLtAlgorithms() says so.
#include <algorithm>
#include <cstring>
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

int ltType(DType d) {
  switch (d) {
    case DType::F32: return dyn::CUDA_R_32F;
    case DType::F16: return dyn::CUDA_R_16F;
    case DType::BF16: return dyn::CUDA_R_16BF;
    default: throw CudaError("gemmLt: unsupported dtype code " + std::to_string((int)d));
  }
}

void ltCheck(dyn::cublasStatus_t st, const char* what) {
  if (st != 0) throw CudaError(std::string("cuBLASLt ") + what + " returned status " + std::to_string(st));
}

// Descriptors of one GEMM shape (M included); built once, reused by every call.
struct LtPlan {
  dyn::cublasLtMatmulDesc_t desc = nullptr;
  dyn::cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr, ld = nullptr;
  dyn::cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
};

struct LtState {
  std::mutex mu;
  dyn::cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspaceBytes = 256u << 20;  // split-K partials grow with M: room for them at prefill sizes
  // (M, N, K, transB, epilogue, residual, in, out, perShape, promptTuned) → plan
  std::map<std::tuple<int, int, int, bool, uint32_t, bool, int, int, bool, bool>, LtPlan> plans;
  // (N, K, transB, epilogue, residual, in, out, promptTuned) → the algorithm for every M (batch-invariant mode)
  std::map<std::tuple<int, int, bool, uint32_t, bool, int, int, bool>, dyn::cublasLtMatmulHeuristicResult_t> algos;
  std::vector<std::string> report;
};
LtState& lt() {
  static LtState* s = new LtState();  // never destroyed: the CUDA context may be gone at exit
  return *s;
}

struct Shape {
  const dyn::CublasLt* api;
  LtState& L;
  const GemmLtParams& p;
  uint32_t epilogue;
  int in, out;
  bool res;

  void makePlan(int m, LtPlan& plan) const {
    ltCheck(api->MatmulDescCreate(&plan.desc, dyn::CUBLAS_COMPUTE_32F, dyn::CUDA_R_32F), "matmul desc");
    const int opA = p.transB ? dyn::CUBLAS_OP_T : dyn::CUBLAS_OP_N, opB = dyn::CUBLAS_OP_N;
    ltCheck(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof opA), "set TRANSA");
    ltCheck(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof opB), "set TRANSB");
    ltCheck(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue), "set EPILOGUE");
    if (p.bias) ltCheck(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias), "set BIAS_POINTER");
    if (p.transB) ltCheck(api->MatrixLayoutCreate(&plan.la, in, p.k, p.n, p.k), "layout B");
    else ltCheck(api->MatrixLayoutCreate(&plan.la, in, p.n, p.k, p.n), "layout B");
    ltCheck(api->MatrixLayoutCreate(&plan.lb, in, p.k, m, p.k), "layout A");
    ltCheck(api->MatrixLayoutCreate(&plan.lc, out, p.n, m, p.n), "layout C");
    ltCheck(api->MatrixLayoutCreate(&plan.ld, out, p.n, m, p.n), "layout D");
  }
  void destroy(LtPlan& plan) const {
    if (plan.desc) api->MatmulDescDestroy(plan.desc);
    for (auto* l : {plan.la, plan.lb, plan.lc, plan.ld}) if (l) api->MatrixLayoutDestroy(l);
    plan = LtPlan{};
  }
  std::vector<dyn::cublasLtMatmulHeuristicResult_t> heuristic(const LtPlan& plan, int requested) const {
    dyn::cublasLtMatmulPreference_t pref = nullptr;
    ltCheck(api->MatmulPreferenceCreate(&pref), "preference");
    const uint64_t ws = L.workspaceBytes;
    api->MatmulPreferenceSetAttribute(pref, dyn::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    std::vector<dyn::cublasLtMatmulHeuristicResult_t> found(requested);
    int n = 0;
    const dyn::cublasStatus_t r = api->MatmulAlgoGetHeuristic(L.handle, plan.desc, plan.la, plan.lb, plan.lc, plan.ld, pref, requested, found.data(), &n);
    api->MatmulPreferenceDestroy(pref);
    found.resize(r == 0 ? n : 0);
    return found;
  }
  dyn::cublasStatus_t run(const LtPlan& plan, const dyn::cublasLtMatmulHeuristicResult_t& h, const void* a, const void* c, void* d, cudaStream_t s) const {
    const float alpha = 1.f, beta = res ? 1.f : 0.f;
    return api->Matmul(L.handle, plan.desc, &alpha, p.b, plan.la, a, plan.lb, &beta, c, plan.lc, d, plan.ld, &h.algo, L.workspace, L.workspaceBytes, s);
  }

  // Time the candidates on scratch activations; the fastest that runs at every tuning M wins.
  dyn::cublasLtMatmulHeuristicResult_t tune(cudaStream_t s, std::string& how) const {
    // decode: timed at M = 1, 64, 512, run once at M = 8192 (a long prefill) when its buffers are small
    // enough; prompts: timed at 64, 512 and 8192, run once at M = 1
    const int ms[] = {1, 64, 512, 8192};
    const float decodeWeight[] = {4.f, 1.f, 0.125f, 0.f};  // decode (M = 1) weighs most: it is what every generated token waits on
    const float promptWeight[] = {0.f, 0.125f, 1.f, 0.0625f};
    const float* weight = p.promptTuned ? promptWeight : decodeWeight;
    const int maxM = (size_t)8192 * p.n * dtypeBytes(p.outDtype) <= (512u << 20) ? 8192 : 512;
    std::vector<dyn::cublasLtMatmulHeuristicResult_t> cands;
    for (int m : {p.promptTuned ? 64 : 1, p.promptTuned ? 512 : 64}) {
      LtPlan probe;
      makePlan(m, probe);
      for (const auto& h : heuristic(probe, 8)) {
        bool dup = false;
        for (const auto& c : cands) dup = dup || std::memcmp(&c.algo, &h.algo, sizeof h.algo) == 0;
        if (!dup) cands.push_back(h);
      }
      destroy(probe);
    }
    if (cands.empty()) throw CudaError("gemmLt: cuBLASLt has no algorithm for N=" + std::to_string(p.n) + " K=" + std::to_string(p.k));
    void* a = nullptr;
    void* c = nullptr;  // the residual: its own buffer, as in real calls (in-place C = D is not what runs)
    void* d = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    const size_t aBytes = (size_t)maxM * p.k * dtypeBytes(p.inDtype), dBytes = (size_t)maxM * p.n * dtypeBytes(p.outDtype);
    TRT_CUDA(cudaMalloc(&a, aBytes));
    TRT_CUDA(cudaMalloc(&c, dBytes));
    TRT_CUDA(cudaMalloc(&d, dBytes));
    TRT_CUDA(cudaMemsetAsync(a, 0x11, aBytes, s));
    TRT_CUDA(cudaMemsetAsync(c, 0, dBytes, s));
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    // the fastest candidate that runs at every tuning M; failing that, the fastest that runs at the timed
    // ones (larger M then gets its own algorithm at its first call, and the report says so)
    float bestScore = 1e30f, bestTimedScore = 1e30f;
    size_t best = cands.size(), bestTimed = cands.size();
    std::ostringstream times;
    for (size_t i = 0; i < cands.size(); i++) {
      float score = 0.f;
      bool ok = true, timedOk = true;
      for (int k = 0; k < 4 && ok && ms[k] <= maxM; k++) {
        LtPlan plan;
        makePlan(ms[k], plan);
        const dyn::cublasStatus_t status = run(plan, cands[i], a, c, d, s);
        ok = status == 0;
        if (!ok) times << " candidate " << i << " status " << status << " at M=" << ms[k] << ";";
        if (!ok && weight[k] > 0.f) timedOk = false;
        if (ok && weight[k] > 0.f) {
          cudaEventRecord(e0, s);
          for (int it = 0; it < 5; it++) run(plan, cands[i], a, c, d, s);
          cudaEventRecord(e1, s);
          cudaEventSynchronize(e1);
          float t = 0.f;
          cudaEventElapsedTime(&t, e0, e1);
          score += weight[k] * t / 5;
        }
        destroy(plan);
      }
      (void)cudaGetLastError();
      if (ok && score < bestScore) bestScore = score, best = i;
      if (timedOk && score < bestTimedScore) bestTimedScore = score, bestTimed = i;
    }
    if (best == cands.size() && bestTimed != cands.size()) {
      best = bestTimed;
      bestScore = bestTimedScore;
      times << " none runs at M=8192;";
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(a);
    cudaFree(c);
    cudaFree(d);
    if (best == cands.size()) {
      throw CudaError("gemmLt: no cuBLASLt candidate ran at M = 1, 64, 512 and 8192 for N=" + std::to_string(p.n) + " K=" + std::to_string(p.k) + ":" + times.str());
    }
    times << " tuned over " << cands.size() << " candidates, score " << bestScore * 1000 << " us";
    how = times.str();
    return cands[best];
  }
};

bool capturing(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  return cudaStreamIsCapturing(s, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone;
}

}  // namespace

void invokeGemmLt(const GemmLtParams& p, cudaStream_t s) {
  dyn::LibraryStatus st;
  const dyn::CublasLt* api = dyn::cublasLt(&st);
  if (!api) throw CudaError("gemmLt: cuBLASLt unavailable: " + st.reason + " (set TRTLLM_CUBLASLT_PATH, or use the reference kernels)");
  if (p.m == 0 || p.n == 0) return;
  LtState& L = lt();
  std::lock_guard<std::mutex> lock(L.mu);
  if (!L.handle) {
    ltCheck(api->Create(&L.handle), "create");
    TRT_CUDA(cudaMalloc(&L.workspace, L.workspaceBytes));
  }
  const uint32_t epilogue = p.gelu ? (p.bias ? dyn::CUBLASLT_EPILOGUE_GELU_BIAS : dyn::CUBLASLT_EPILOGUE_GELU)
                                   : (p.bias ? dyn::CUBLASLT_EPILOGUE_BIAS : dyn::CUBLASLT_EPILOGUE_DEFAULT);
  const Shape shape{api, L, p, epilogue, ltType(p.inDtype), ltType(p.outDtype), p.residual != nullptr};
  const auto key = std::make_tuple(p.m, p.n, p.k, p.transB, epilogue, shape.res, shape.in, shape.out, p.perShape, p.promptTuned && !p.perShape);
  auto it = L.plans.find(key);
  if (it == L.plans.end()) {
    LtPlan plan;
    shape.makePlan(p.m, plan);
    std::string how;
    dyn::cublasLtMatmulHeuristicResult_t chosen{};
    if (p.perShape) {
      const auto found = shape.heuristic(plan, 1);
      if (found.empty()) throw CudaError("gemmLt: cuBLASLt has no algorithm for M=" + std::to_string(p.m) + " N=" + std::to_string(p.n) + " K=" + std::to_string(p.k));
      chosen = found[0];
      how = "heuristic for this M";
    } else {
      const auto akey = std::make_tuple(p.n, p.k, p.transB, epilogue, shape.res, shape.in, shape.out, p.promptTuned);
      auto a = L.algos.find(akey);
      if (a == L.algos.end()) {
        if (capturing(s)) {  // no timing inside a capture: the heuristic's choice for M = 64
          LtPlan probe;
          shape.makePlan(64, probe);
          const auto found = shape.heuristic(probe, 1);
          shape.destroy(probe);
          if (found.empty()) throw CudaError("gemmLt: cuBLASLt has no algorithm for N=" + std::to_string(p.n) + " K=" + std::to_string(p.k));
          chosen = found[0];
          how = "heuristic for M=64 (chosen during a graph capture)";
        } else {
          chosen = shape.tune(s, how);
        }
        a = L.algos.emplace(akey, chosen).first;
      } else {
        how = "the shape's batch-invariant choice";
      }
      chosen = a->second;
    }
    plan.algo = chosen.algo;
    plan.workspace = chosen.workspaceSize;
    std::ostringstream line;
    line << "M=" << p.m << " N=" << p.n << " K=" << p.k << (p.transB ? " Bt" : "") << " epilogue=" << epilogue << (shape.res ? " +residual" : "")
         << (p.promptTuned && !p.perShape ? " (tuned for prompts)" : "") << ": algo " << (uint32_t)chosen.algo.data[0] << ", workspace " << chosen.workspaceSize << " B, " << how;
    L.report.push_back(line.str());
    it = L.plans.emplace(key, plan).first;
  }
  LtPlan& plan = it->second;
  if (p.bias) ltCheck(api->MatmulDescSetAttribute(plan.desc, dyn::CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias), "set BIAS_POINTER");
  dyn::cublasLtMatmulHeuristicResult_t h{};
  h.algo = plan.algo;
  h.workspaceSize = plan.workspace;
  const dyn::cublasStatus_t status = shape.run(plan, h, p.a, shape.res ? p.residual : p.d, p.d, s);
  if (status != 0 && !p.perShape) {
    // the shape's algorithm cannot run at this M (beyond the sizes it was checked at): this M gets its
    // own heuristic choice from now on, and the report says it is not batch-invariant
    const auto found = shape.heuristic(plan, 1);
    if (found.empty()) ltCheck(status, "matmul");
    plan.algo = found[0].algo;
    plan.workspace = found[0].workspaceSize;
    L.report.push_back("M=" + std::to_string(p.m) + " N=" + std::to_string(p.n) + " K=" + std::to_string(p.k) + ": the batch-invariant algorithm returned status " +
                       std::to_string(status) + "; heuristic for this M instead (NOT batch-invariant at this M)");
    h.algo = plan.algo;
    ltCheck(shape.run(plan, h, p.a, shape.res ? p.residual : p.d, p.d, s), "matmul");
    return;
  }
  ltCheck(status, "matmul");
}

std::string gemmLtAlgorithms() {
  LtState& L = lt();
  std::lock_guard<std::mutex> lock(L.mu);
  std::string out;
  for (const auto& l : L.report) out += l + "\n";
  return out;
}

}  // namespace trt
