// decode-stream.cuh — the weight-streaming skeleton the 8-bit decode GEMMs share (int8-gemm-decode.cu,
// fp8-gemm-decode.cu): a block owns 16 outputs along N (the mma's 16-row A operand: the weights) and a
// range of K in steps of 64 k; lane (g, t) streams 16 bytes of weight rows n0 + g and n0 + 8 + g at
// k = 64s + 16t, with its token's 16 bytes at the same k (m16n8k32: inside a step k is permuted the
// same way on both operands, so the products and their sum are unchanged).
#pragma once
#include <algorithm>
#include <sstream>
#include <string>

#include "mma.cuh"

namespace trt {

constexpr int kStreamStepK = 64;    // k per step: 16 bytes per lane, 4 lanes per weight row
constexpr int kStreamTileN = 16;    // outputs per block along N: one mma A tile
constexpr int kStreamMaxWarps = 8;  // warps per block splitting the block's steps
constexpr int kStreamMaxSplits = 16;

/** How a (N, K) weight is streamed: K steps, warps per block, blocks along z and steps per split. */
struct StreamShape {
  int steps;     // K steps of 64 k
  int warps;     // threads / 32
  int splits;    // blocks along z, each a contiguous range of steps
  int perSplit;  // steps per split
};
// From (N, K) and the device's SM count only: split K until there are about two blocks per SM, each
// split at least four steps; then about two steps per warp.
inline StreamShape streamShape(int n, int k, int sms) {
  const int steps = (k + kStreamStepK - 1) / kStreamStepK;
  const int tiles = (n + kStreamTileN - 1) / kStreamTileN;
  const int perSplit = std::min(steps, std::max({4, (steps * tiles + 2 * sms - 1) / (2 * sms), (steps + kStreamMaxSplits - 1) / kStreamMaxSplits}));
  const int splits = (steps + perSplit - 1) / perSplit;
  const int warps = std::max(1, std::min(kStreamMaxWarps, (perSplit + 1) / 2));
  return {steps, warps, splits, perSplit};
}

/** The launch plan as JSON (the TS plan types read it): grid [n tiles, row passes of 8·tg, splits]. */
inline std::string streamPlanJson(const StreamShape& sh, int n, int m, int tg) {
  std::ostringstream o;
  o << "{\"grid\":[" << (n + kStreamTileN - 1) / kStreamTileN << "," << (m + 8 * tg - 1) / (8 * tg) << "," << sh.splits << "],\"threads\":" << 32 * sh.warps
    << ",\"stepK\":" << kStreamStepK << ",\"steps\":" << sh.steps << ",\"splits\":" << sh.splits << ",\"stepsPerSplit\":" << sh.perSplit << ",\"warps\":" << sh.warps
    << ",\"tileN\":" << kStreamTileN << ",\"tokenGroups\":" << tg << "}";
  return o.str();
}

/**
 * The weights of U steps from `first` (stride `warps`, clamped to the split's last step s1 − 1): lane
 * t's 16 bytes of both weight rows into w[u], its k offset (clamped inside the row) into kc[u].
 */
template <int U>
__device__ __forceinline__ void loadWeightSteps(const void* const (&wRow)[2], int first, int s1, int warps, int K, int t, uint4 (&w)[U][2], int (&kc)[U]) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    kc[u] = min(min(first + u * warps, s1 - 1) * kStreamStepK + 16 * t, K - 16);
#pragma unroll
    for (int h = 0; h < 2; h++) w[u][h] = ldStream(static_cast<const uint8_t*>(wRow[h]) + kc[u]);
  }
}

/** Lane t's 16 k past K (K % 16 = 0: all or none) get zero weights, so zero products. */
template <int U>
__device__ __forceinline__ void zeroWeightTails(int first, int warps, int K, int t, uint4 (&w)[U][2]) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    if ((first + u * warps) * kStreamStepK + 16 * t + 16 > K) w[u][0] = w[u][1] = make_uint4(0, 0, 0, 0);
  }
}

/** A step's weights as the mma's A fragments: bytes 0–7 (lo) and 8–15 (hi) of rows g and g + 8. */
__device__ __forceinline__ void weightFragments(const uint4 (&w)[2], uint32_t (&lo)[4], uint32_t (&hi)[4]) {
  lo[0] = w[0].x, lo[1] = w[1].x, lo[2] = w[0].y, lo[3] = w[1].y;
  hi[0] = w[0].z, hi[1] = w[1].z, hi[2] = w[0].w, hi[3] = w[1].w;
}

}  // namespace trt
