// Shared host-side declarations: dtypes, the CUDA error type, and the check macros.
// Every CUDA failure becomes a trt::CudaError carrying the call, the error name and file:line;
// the N-API layer turns it into a JS exception. Nothing in this addon calls abort().
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace trt {

// Same order and names as @trtllm/ref-math's dtype table.
enum class DType : int32_t { F32 = 0, F16 = 1, BF16 = 2, FP8E4M3 = 3, I8 = 4, I32 = 5 };

inline size_t dtypeBytes(DType d) {
  switch (d) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: return 2;
    default: return 1;
  }
}

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) {
    throw CudaError(std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") at " + file + ":" +
                    std::to_string(line));
  }
}

}  // namespace trt

#define TRT_CUDA(call) ::trt::check((call), #call, __FILE__, __LINE__)
