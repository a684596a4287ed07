// The cuBLASLt state shared by the quantized tensor-core GEMMs (int8-gemm-lt.cu, fp8-gemm-lt.cu): a
// handle and workspace of their own (the float GEMM's tuning state in gemm-lt.cu stays apart), one
// plan per shape key — a matmul descriptor, the B / A / D layouts (cuBLASLt's order: our weight, our
// activation, our output) and the heuristic's algorithm — and one report line per plan made.
#pragma once
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "dynlibs.h"
#include "launch.cuh"

namespace trt::lt {

inline void check(dyn::cublasStatus_t st, const char* who, const char* what) {
  if (st != 0) throw CudaError(std::string("cuBLASLt (") + who + ") " + what + " returned status " + std::to_string(st));
}

struct Plan {
  dyn::cublasLtMatmulDesc_t desc = nullptr;
  dyn::cublasLtMatrixLayout_t lw = nullptr, lx = nullptr, ld = nullptr;
  dyn::cublasLtMatmulHeuristicResult_t h{};
  bool found() const { return desc != nullptr; }
};

template <class Key>
struct Plans {
  std::mutex mu;
  dyn::cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspaceBytes = 32u << 20;
  std::map<Key, Plan> plans;
  std::vector<std::string> report;

  // The handle and workspace, made at the first call (hold `mu`).
  void open(const dyn::CublasLt* api, const char* who) {
    if (handle) return;
    check(api->Create(&handle), who, "create");
    TRT_CUDA(cudaMalloc(&workspace, workspaceBytes));
  }

  // Ask the heuristic for `plan` (its desc and layouts made by the caller) and record `line` with the
  // outcome; with no algorithm the plan is released and left empty (found() false). Hold `mu`.
  Plan& add(const dyn::CublasLt* api, const Key& key, Plan plan, const std::string& line) {
    dyn::cublasLtMatmulPreference_t pref = nullptr;
    check(api->MatmulPreferenceCreate(&pref), "plans", "preference");
    const uint64_t ws = workspaceBytes;
    api->MatmulPreferenceSetAttribute(pref, dyn::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    int found = 0;
    const dyn::cublasStatus_t r = api->MatmulAlgoGetHeuristic(handle, plan.desc, plan.lw, plan.lx, plan.ld, plan.ld, pref, 1, &plan.h, &found);
    api->MatmulPreferenceDestroy(pref);
    std::ostringstream out;
    out << line << ": ";
    if (r != 0 || found == 0) {
      api->MatmulDescDestroy(plan.desc);
      for (auto* l : {plan.lw, plan.lx, plan.ld}) api->MatrixLayoutDestroy(l);
      plan = Plan{};
      out << "no cuBLASLt algorithm (status " << r << ")";
    } else {
      out << "algo " << (uint32_t)plan.h.algo.data[0] << ", workspace " << plan.h.workspaceSize << " B";
    }
    report.push_back(out.str());
    return plans.emplace(key, plan).first->second;
  }

  std::string algorithms() {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const auto& l : report) out += l + "\n";
    return out;
  }
};

}  // namespace trt::lt
