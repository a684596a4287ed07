// collectives — NCCL all-reduce (sum) across ranks, one process per GPU (ref-math/src/ops/collectives.ts
// defines the oracle order: ranks ascending, one rounding to T per step; NCCL's ring reduces in its
// own order, so sums over 3+ ranks are tier 3, while 2 ranks round once either way and match bit for
// bit). NCCL is reached through our dlopen'ed prototypes (dynlibs.h); every failure becomes a
// CudaError naming the call and NCCL's error string.
#include <string>

#include "dynlibs.h"
#include "ops.h"

namespace trt {

static const dyn::Nccl& ncclOrThrow() {
  dyn::LibraryStatus st;
  const dyn::Nccl* n = dyn::nccl(&st);
  if (!n) throw CudaError("NCCL is not available: " + st.reason + " (install libnccl2 or set TRTLLM_NCCL_PATH)");
  return *n;
}

static void ncclCheck(int r, const char* what) {
  if (r != 0) throw CudaError(std::string(what) + ": " + ncclOrThrow().GetErrorString(r) + " (ncclResult " + std::to_string(r) + ")");
}

void ncclUniqueId(char out[128]) {
  dyn::ncclUniqueId id{};
  ncclCheck(ncclOrThrow().GetUniqueId(&id), "ncclGetUniqueId");
  for (int i = 0; i < 128; i++) out[i] = id.internal[i];
}

void* ncclCommInit(int nranks, const char id[128], int rank) {
  dyn::ncclUniqueId u{};
  for (int i = 0; i < 128; i++) u.internal[i] = id[i];
  dyn::ncclComm_t comm = nullptr;
  ncclCheck(ncclOrThrow().CommInitRank(&comm, nranks, u, rank), "ncclCommInitRank");
  return comm;
}

void ncclCommFree(void* comm) { ncclCheck(ncclOrThrow().CommDestroy((dyn::ncclComm_t)comm), "ncclCommDestroy"); }

void ncclCommAbortHandle(void* comm) { ncclCheck(ncclOrThrow().CommAbort((dyn::ncclComm_t)comm), "ncclCommAbort"); }

std::string ncclCommAsyncError(void* comm) {
  int r = 0;
  ncclCheck(ncclOrThrow().CommGetAsyncError((dyn::ncclComm_t)comm, &r), "ncclCommGetAsyncError");
  return r == 0 ? std::string() : std::string(ncclOrThrow().GetErrorString(r)) + " (ncclResult " + std::to_string(r) + ")";
}

void invokeAllReduceSum(const void* send, void* recv, size_t count, DType dtype, void* comm, cudaStream_t s) {
  const int t = dtype == DType::F32 ? dyn::ncclFloat32 : dtype == DType::F16 ? dyn::ncclFloat16 : dtype == DType::BF16 ? dyn::ncclBfloat16 : -1;
  if (t < 0) throw CudaError("allReduceSum: dtype must be f32, f16 or bf16");
  ncclCheck(ncclOrThrow().AllReduce(send, recv, count, t, dyn::ncclSum, (dyn::ncclComm_t)comm, s), "ncclAllReduce");
}

}  // namespace trt
