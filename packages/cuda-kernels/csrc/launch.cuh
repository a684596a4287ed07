// The one-dimensional launch every reference kernel uses: ⌈n / threads⌉ blocks of `threads`,
// nothing launched for n = 0, the launch checked at the caller's file:line (configuration errors
// surface here; execution errors at the next synchronization).
#pragma once
#include <string>

#include "ops.h"

namespace trt {

template <typename Params>
void launch1d(const char* op, void (*kernel)(Params), size_t n, unsigned threads, cudaStream_t s, const Params& p, const char* file, int line) {
  if (n == 0) return;
  kernel<<<blocksFor(n, threads), threads, 0, s>>>(p);
  check(cudaGetLastError(), (std::string(op) + " launch").c_str(), file, line);
}

}  // namespace trt

#define TRT_LAUNCH_1D(op, kernel, n, threads, stream, params) ::trt::launch1d(op, kernel, n, threads, stream, params, __FILE__, __LINE__)
