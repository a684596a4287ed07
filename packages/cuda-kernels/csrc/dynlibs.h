// Our own prototypes for the parts of cuBLASLt and NCCL this addon uses, loaded with dlopen at run
// time: the addon builds where neither library (nor its headers) exists, and uses them where they
// do. Values and layouts follow cublasLt.h (CUDA 12/13) and nccl.h (2.x); only what we call is here.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace trt::dyn {

// ---- cuBLASLt ----
using cublasStatus_t = int;  // 0 = CUBLAS_STATUS_SUCCESS
struct LtContext;
struct LtMatmulDesc;
struct LtMatrixLayout;
struct LtMatmulPreference;
using cublasLtHandle_t = LtContext*;
using cublasLtMatmulDesc_t = LtMatmulDesc*;
using cublasLtMatrixLayout_t = LtMatrixLayout*;
using cublasLtMatmulPreference_t = LtMatmulPreference*;
struct cublasLtMatmulAlgo_t { uint64_t data[8]; };
struct cublasLtMatmulHeuristicResult_t {
  cublasLtMatmulAlgo_t algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
};
constexpr int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32I = 72;
constexpr int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14, CUDA_R_8I = 3, CUDA_R_32I = 10, CUDA_R_8F_E4M3 = 28;
constexpr int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
constexpr int CUBLASLT_MATMUL_DESC_TRANSA = 3, CUBLASLT_MATMUL_DESC_TRANSB = 4;
constexpr int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;
constexpr int CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK = 3;  // 0 = CUBLASLT_REDUCTION_SCHEME_NONE only
constexpr int CUBLASLT_MATMUL_DESC_EPILOGUE = 7, CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8;
constexpr int CUBLASLT_MATMUL_DESC_A_SCALE_POINTER = 17, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER = 18, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26;
constexpr uint32_t CUBLASLT_EPILOGUE_DEFAULT = 1, CUBLASLT_EPILOGUE_BIAS = 4, CUBLASLT_EPILOGUE_GELU = 32, CUBLASLT_EPILOGUE_GELU_BIAS = 36;

struct CublasLt {
  size_t (*GetVersion)();
  cublasStatus_t (*Create)(cublasLtHandle_t*);
  cublasStatus_t (*Destroy)(cublasLtHandle_t);
  cublasStatus_t (*MatmulDescCreate)(cublasLtMatmulDesc_t*, int computeType, int scaleType);
  cublasStatus_t (*MatmulDescDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*MatmulDescSetAttribute)(cublasLtMatmulDesc_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*MatrixLayoutCreate)(cublasLtMatrixLayout_t*, int type, uint64_t rows, uint64_t cols, int64_t ld);
  cublasStatus_t (*MatrixLayoutDestroy)(cublasLtMatrixLayout_t);
  cublasStatus_t (*MatmulPreferenceCreate)(cublasLtMatmulPreference_t*);
  cublasStatus_t (*MatmulPreferenceDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*MatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*MatmulAlgoGetHeuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                           cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatmulPreference_t, int requested,
                                           cublasLtMatmulHeuristicResult_t* results, int* returned);
  cublasStatus_t (*Matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void* alpha, const void* A, cublasLtMatrixLayout_t, const void* B,
                           cublasLtMatrixLayout_t, const void* beta, const void* C, cublasLtMatrixLayout_t, void* D, cublasLtMatrixLayout_t,
                           const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspaceSize, cudaStream_t stream);
};

// ---- NCCL (2.x) ----
using ncclResult_t = int;  // 0 = ncclSuccess
struct ncclComm;
using ncclComm_t = ncclComm*;
struct ncclUniqueId { char internal[128]; };
constexpr int ncclFloat16 = 6, ncclFloat32 = 7, ncclBfloat16 = 9;
constexpr int ncclSum = 0;

struct Nccl {
  ncclResult_t (*GetVersion)(int*);
  const char* (*GetErrorString)(ncclResult_t);
  ncclResult_t (*GetUniqueId)(ncclUniqueId*);
  ncclResult_t (*CommInitRank)(ncclComm_t*, int nranks, ncclUniqueId id, int rank);
  ncclResult_t (*CommDestroy)(ncclComm_t);
  ncclResult_t (*AllReduce)(const void* send, void* recv, size_t count, int dtype, int op, ncclComm_t, cudaStream_t);
  ncclResult_t (*AllGather)(const void* send, void* recv, size_t count, int dtype, ncclComm_t, cudaStream_t);
  ncclResult_t (*CommAbort)(ncclComm_t);  // a collective waiting on a dead or hung rank returns; the communicator is gone
  ncclResult_t (*CommGetAsyncError)(ncclComm_t, ncclResult_t*);
};

/** A library found (or not): its loaded path and version, or why it could not be loaded. */
struct LibraryStatus {
  bool available = false;
  std::string path;
  std::string reason;
  long version = 0;
};

// Load once; later calls return the same result. Search: $TRTLLM_CUBLASLT_PATH / $TRTLLM_NCCL_PATH,
// then the sonames (libcublasLt.so.13, .12; libnccl.so.2) on the loader's path.
const CublasLt* cublasLt(LibraryStatus* status = nullptr);
const Nccl* nccl(LibraryStatus* status = nullptr);

}  // namespace trt::dyn
