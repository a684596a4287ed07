// spin — a kernel that keeps the GPU busy for a given time (not an op: harness infrastructure). The
// perf mode enqueues one before its timed launches so that the host's launch overhead (N-API, output
// allocation) is hidden behind it and the events measure back-to-back device time.
#include "launch.cuh"

namespace trt {

__global__ void spinKernel(long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
}

void invokeSpin(double microseconds, cudaStream_t s) {
  const int khz = deviceAttribute<cudaDevAttrClockRate>();
  spinKernel<<<1, 1, 0, s>>>((long long)(microseconds * khz / 1000.0));
  check(cudaGetLastError(), "spin launch", __FILE__, __LINE__);
}

}  // namespace trt
