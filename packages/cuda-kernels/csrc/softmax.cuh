// The softmax row routine of softmax.cu and attention.cu (ref-math softmaxRowF32), in place on
// fp32 scores: scale kept entries, max, exp of differences, ascending sum, divide; masked → 0.
#pragma once
#include "numerics.cuh"

namespace trt {

__device__ inline void softmaxRow(float* s, int n, float scale, const int8_t* keep) {
  float m = -__int_as_float(0x7f800000);
  for (int j = 0; j < n; j++) {
    if (keep && !keep[j]) continue;
    s[j] = fmul(s[j], scale);
    m = fmaxf(m, s[j]);
  }
  if (m == -__int_as_float(0x7f800000)) {
    for (int j = 0; j < n; j++) s[j] = 0.f;
    return;
  }
  float sum = 0.f;
  for (int j = 0; j < n; j++) {
    const float e = (keep && !keep[j]) ? 0.f : expF32(fsub(s[j], m));
    s[j] = e;
    sum = fadd(sum, e);
  }
  for (int j = 0; j < n; j++) s[j] = fdiv(s[j], sum);
}

}  // namespace trt
