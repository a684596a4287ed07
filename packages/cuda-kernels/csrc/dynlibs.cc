// dlopen of cuBLASLt and NCCL through dynlibs.h's prototypes; a missing library or symbol is a
// status with the loader's reason, never a crash.
#include "dynlibs.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace trt::dyn {
namespace {

void* openFirst(const char* envVar, const std::vector<const char*>& sonames, LibraryStatus& st) {
  std::vector<std::string> tries;
  if (const char* p = std::getenv(envVar); p && *p) tries.emplace_back(p);
  for (const char* s : sonames) tries.emplace_back(s);
  std::string reasons;
  for (const auto& t : tries) {
    if (void* h = dlopen(t.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      st.path = t;
      return h;
    }
    const char* e = dlerror();
    reasons += (reasons.empty() ? "" : "; ") + std::string(e ? e : t);
  }
  st.reason = reasons + std::string(" (set ") + envVar + " to the library's path)";
  return nullptr;
}

template <typename F>
bool bind(void* h, const char* name, F& fn, LibraryStatus& st) {
  fn = reinterpret_cast<F>(dlsym(h, name));
  if (!fn) st.reason = std::string("symbol ") + name + " missing in " + st.path;
  return fn != nullptr;
}

}  // namespace

const CublasLt* cublasLt(LibraryStatus* out) {
  static LibraryStatus st;
  static CublasLt lib{};
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = openFirst("TRTLLM_CUBLASLT_PATH", {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"}, st);
    if (!h) return;
    const bool ok = bind(h, "cublasLtGetVersion", lib.GetVersion, st) && bind(h, "cublasLtCreate", lib.Create, st) &&
                    bind(h, "cublasLtDestroy", lib.Destroy, st) && bind(h, "cublasLtMatmulDescCreate", lib.MatmulDescCreate, st) &&
                    bind(h, "cublasLtMatmulDescDestroy", lib.MatmulDescDestroy, st) &&
                    bind(h, "cublasLtMatmulDescSetAttribute", lib.MatmulDescSetAttribute, st) &&
                    bind(h, "cublasLtMatrixLayoutCreate", lib.MatrixLayoutCreate, st) &&
                    bind(h, "cublasLtMatrixLayoutDestroy", lib.MatrixLayoutDestroy, st) &&
                    bind(h, "cublasLtMatmulPreferenceCreate", lib.MatmulPreferenceCreate, st) &&
                    bind(h, "cublasLtMatmulPreferenceDestroy", lib.MatmulPreferenceDestroy, st) &&
                    bind(h, "cublasLtMatmulPreferenceSetAttribute", lib.MatmulPreferenceSetAttribute, st) &&
                    bind(h, "cublasLtMatmulAlgoGetHeuristic", lib.MatmulAlgoGetHeuristic, st) && bind(h, "cublasLtMatmul", lib.Matmul, st);
    if (!ok) return;
    st.version = (long)lib.GetVersion();
    st.available = true;
  });
  if (out) *out = st;
  return st.available ? &lib : nullptr;
}

const Nccl* nccl(LibraryStatus* out) {
  static LibraryStatus st;
  static Nccl lib{};
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = openFirst("TRTLLM_NCCL_PATH", {"libnccl.so.2", "libnccl.so"}, st);
    if (!h) return;
    const bool ok = bind(h, "ncclGetVersion", lib.GetVersion, st) && bind(h, "ncclGetErrorString", lib.GetErrorString, st) &&
                    bind(h, "ncclGetUniqueId", lib.GetUniqueId, st) && bind(h, "ncclCommInitRank", lib.CommInitRank, st) &&
                    bind(h, "ncclCommDestroy", lib.CommDestroy, st) && bind(h, "ncclAllReduce", lib.AllReduce, st) &&
                    bind(h, "ncclAllGather", lib.AllGather, st) && bind(h, "ncclCommAbort", lib.CommAbort, st) &&
                    bind(h, "ncclCommGetAsyncError", lib.CommGetAsyncError, st);
    if (!ok) return;
    int v = 0;
    if (lib.GetVersion(&v) != 0) {
      st.reason = "ncclGetVersion failed";
      return;
    }
    st.version = v;
    st.available = true;
  });
  if (out) *out = st;
  return st.available ? &lib : nullptr;
}

}  // namespace trt::dyn
