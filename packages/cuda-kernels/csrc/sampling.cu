// sampling — the next token of each row of fp32 logits, as ref-math's ops/sampling.ts specifies it:
// repetition penalty and a banned id, then greedy argmax or temperature / top-k / top-p and the
// request's uint32 draw. The same token as the oracle for the same inputs (tier 2): the penalty and the
// weights are the spec's fp32 steps (__fdiv_rn / __fmul_rn, expF32), every sum is an exact integer sum
// of fixed-point weights, so no order of adding — and no split of the row — can change a bit.
//
// Without a sort: the spec's "first candidate, in order (x descending, id ascending), whose cumulative
// weight exceeds X" is found by a radix descent over a 64-bit key that sorts like that order —
// (x's order-preserving bits) << 32 | (2^32 − 1 − id), larger first — eight bits a pass from the top:
// a histogram of counts and weight sums per bin over the keys still in play, the bin where the
// running sum crosses X, then that bin's keys only. A bin holding one key ends the descent. Top-k is
// the crossing of counts at k − 1, top-p the crossing of weights at ⌈p · S⌉ − 1, the draw the crossing
// of weights at ⌊r · S / 2^32⌋, each among the keys at or after the previous cut-off.
//
// A row is split over a team of C blocks: a thread-block cluster on Hopper (C = 1, 2, 4 or 8, from the
// row count, the vocabulary and the SM count only), one block elsewhere. Each block owns a contiguous slice of the
// vocabulary: it finds its slice's argmax and compacts its slice's candidates (positive weight) into
// its part of the row's workspace; a pass of a descent histograms the block's own keys, and every
// block then adds the team's histograms bin by bin through distributed shared memory — the same
// integer sums in every block, so every block takes the same bin and the team stays in step with no
// leader. After the top-k and the top-p cut each block copies only its survivors on (a second list);
// inside a descent, once the keys in play are at most a quarter of the list, the next pass copies
// them to the free list as it counts them, so the passes after it search a few hundred keys, not the
// vocabulary. A warp with no key in play skips a pass's histogram.
//
// Beam search's reduction (beamCandidatesKernel, one block per row) uses the same pieces: the max, an
// exact sum of fixed-point weights (2^−32), and the count crossing at n − 1 for the first n candidates;
// scoring given tokens (tokenLogProbKernel, one block per row) only the max and the sum.
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>

#include <cstdlib>

#include "cluster.cuh"
#include "numerics.cuh"
#include "launch.cuh"

namespace cg = cooperative_groups;

namespace trt {
namespace {

using u64 = unsigned long long;
constexpr int kSampleBlock = 1024;
constexpr int kMaxSampleTeam = 8;           // the portable cluster size
constexpr int kMinTeamSlice = 2048;         // logits per block below which a row is not split further
constexpr int kBins = 256;
constexpr float kWeightOne = 16777216.f;  // 2^24: ref-math SAMPLING_WEIGHT_ONE
constexpr int kMaxBeamCandidates = 1024;  // kept in shared memory for the final sort

/** x's bits mapped so that unsigned order is float order (−∞ lowest, NaN never asked). */
__device__ __forceinline__ uint32_t orderedBits(float v) {
  const uint32_t u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
// −0 keys as +0 (v + 0 rounds −0 to +0): the oracle and argmax treat them as equal, the id breaks the tie
__device__ __forceinline__ u64 keyOf(float v, int id) { return ((u64)orderedBits(fadd(v, 0.f)) << 32) | (u64)(0xffffffffu - (uint32_t)id); }
__device__ __forceinline__ int idOf(u64 key) { return (int)(0xffffffffu - (uint32_t)key); }

/** ref-math samplingWeight: rni(expF32(v = m ? 0 : fp32(fp32(v − m) / t)) · one), one = 2^24 (sampling) or 2^32 (beams). */
__device__ __forceinline__ u64 weightOf(float v, float m, float t, float one) { return __float2ull_rn(fmul(expF32(v == m ? 0.f : fdiv(fsub(v, m), t)), one)); }

struct Row {
  float t, topP, rho;
  int topK, banned;
  uint32_t draw;
};

/**
 * A block's shared state. What the team's blocks read from each other (`cnt`, `sum`, `xa`, `xb`) is
 * double-buffered by the parity of the team's exchange count: a block writes buffer e % 2 for its
 * exchange e only after the team's barrier of exchange e − 1, which every block passes only after
 * reading buffer e % 2 of exchange e − 2.
 */
struct Shared {
  uint32_t cnt[2][kBins];  // this block's histogram of a pass: counts …
  u64 sum[2][kBins];       // … and weight sums per bin
  u64 xa[2], xb[2];        // this block's scalars for an exchange
  uint32_t mcnt[kBins];    // the team's histogram (every block adds the same integers)
  u64 msum[kBins];
  u64 ra, rb;              // an exchange's result
  uint32_t count;  // entries compacted so far (this block)
  u64 total;       // Σ weights of this block's candidates
  // a descent's step, from warp 0 to the block
  int bin;
  u64 beforeCount, beforeWeight, rest, binCount, binWeight;
  u64 found;
};

/**
 * The blocks working on one row: `size` blocks of a cluster (1: the block alone) and how many
 * exchanges they have made. Every block of a team makes the same calls in the same order (each
 * decision is taken from the team's sums, the same in every block).
 */
struct Team {
  int size;
  int ex = 0;
  __device__ void sync() const {
    if (size > 1) clusterSync();
    else __syncthreads();
  }
  /** Shared-memory address `mine` in the block of rank r. */
  template <typename T>
  __device__ T* at(T* mine, int r) const { return size > 1 ? clusterAt(mine, r) : mine; }
  /**
   * The team's Σ a and Σ b (sum) or max a (max, b unused) of one value per block (thread 0's), in
   * every thread of every block.
   */
  __device__ void exchange(Shared& sh, u64 a, u64 b, bool max, u64& ra, u64& rb) {
    const int buf = ex++ & 1;
    if (threadIdx.x == 0) sh.xa[buf] = a, sh.xb[buf] = b;
    sync();
    if (threadIdx.x == 0) {
      u64 x = 0, y = 0;
      for (int r = 0; r < size; r++) {
        const u64 ar = *at(&sh.xa[buf], r), br = *at(&sh.xb[buf], r);
        x = max ? (x > ar ? x : ar) : x + ar, y += br;
      }
      sh.ra = x, sh.rb = y;
    }
    __syncthreads();
    ra = sh.ra, rb = sh.rb;
    __syncthreads();  // sh.ra / sh.rb are rewritten by the next exchange
  }
};

/**
 * A slot in a block-wide list for each lane that keeps an entry (warp by warp, in any order: one
 * atomic per warp), −1 for the others. Every lane of the warp calls it.
 */
__device__ __forceinline__ int claimSlot(uint32_t* count, bool keep) {
  const uint32_t take = __ballot_sync(0xffffffffu, keep);
  uint32_t at = 0;
  if (threadIdx.x % 32 == 0 && take) at = atomicAdd(count, (uint32_t)__popc(take));
  at = __shfl_sync(0xffffffffu, at, 0) + __popc(take & ((1u << (threadIdx.x % 32)) - 1));
  return keep ? (int)at : -1;
}

/** Block-wide max of a u64 (every thread gets it). */
__device__ u64 blockMaxKey(Shared& sh, u64 v) {
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (threadIdx.x == 0) sh.ra = 0;
  __syncthreads();
  if (threadIdx.x % 32 == 0) atomicMax(&sh.ra, v);
  __syncthreads();
  const u64 best = sh.ra;
  __syncthreads();
  return best;
}

/** The crossing found by a descent: its key, the counts and weights of the keys before it, its weight. */
struct Crossing {
  u64 key, beforeCount, beforeWeight, weight;
};

/** A list of (key, weight) entries in this block's part of a row's workspace; `ws` null when only counting. */
struct List {
  u64* keys;
  uint32_t* ws;
  int n;
};

/**
 * Among the team's compacted candidates with key ≥ lo, the first in key order (descending) whose
 * inclusive running value — 1 per key (byWeight false) or its weight — exceeds `x`. The caller
 * guarantees one exists (x < the total value of those keys). `list` is this block's part, `inTeam`
 * the team's count of keys in the lists; `spare` (keys and weights, room for `list.n`, or keys null)
 * is free for the descent to narrow its list into.
 */
__device__ Crossing crossing(Shared& sh, Team& team, List list, u64 inTeam, List spare, bool byWeight, u64 x, u64 lo) {
  const auto warp = cg::tiled_partition<32>(cg::this_thread_block());
  u64 prefix = 0, mask = 0, beforeCount = 0, beforeWeight = 0;
  bool narrow = false, narrowed = false;
  for (int shift = 56; shift >= 0; shift -= 8) {
    const int buf = team.ex++ & 1;
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) sh.cnt[buf][b] = 0, sh.sum[buf][b] = 0;
    if (threadIdx.x == 0) sh.count = 0;
    __syncthreads();
    for (int base = 0; base < list.n; base += blockDim.x) {  // whole warps each round: the partition needs every lane
      const int i = base + (int)threadIdx.x;
      const u64 k = i < list.n ? list.keys[i] : 0;
      const bool in = i < list.n && k >= lo && (k & mask) == prefix;
      if (__ballot_sync(0xffffffffu, in) == 0) continue;  // no key of this warp in play (uniform: the whole warp skips)
      const uint32_t w0 = in && list.ws ? list.ws[i] : 0u;
      if (narrow) {  // keep the keys in play for the passes after this one
        const int at = claimSlot(&sh.count, in);
        if (in) spare.keys[at] = k, spare.ws[at] = w0;
      }
      const uint32_t bin = in ? (uint32_t)(k >> shift) & 0xffu : kBins;  // kBins: not counted
      const auto group = cg::labeled_partition(warp, bin);
      const uint32_t w = cg::reduce(group, w0, cg::plus<uint32_t>());  // ≤ 32 · 2^24; no weights: counts only
      if (in && group.thread_rank() == 0) {
        atomicAdd(&sh.cnt[buf][bin], group.size());
        atomicAdd(&sh.sum[buf][bin], (u64)w);
      }
    }
    team.sync();  // every block's histogram is complete and visible to the team
    if (narrow) list = {spare.keys, spare.ws, (int)sh.count}, narrowed = true, narrow = false;
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) {  // the team's histogram, added in rank order
      u64 c = 0, s = 0;
      for (int r = 0; r < team.size; r++) c += *team.at(&sh.cnt[buf][b], r), s += *team.at(&sh.sum[buf][b], r);
      sh.mcnt[b] = (uint32_t)c, sh.msum[b] = s;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      // lane l holds bins 255 − 8l … 248 − 8l (the largest keys first); a scan over lanes finds the one
      // whose bins hold the crossing, that lane walks its 8 bins
      const int lane = threadIdx.x;
      u64 c = 0, s = 0;
      for (int j = 0; j < 8; j++) c += sh.mcnt[kBins - 1 - 8 * lane - j], s += sh.msum[kBins - 1 - 8 * lane - j];
      u64 ic = c, is = s;
      for (int o = 1; o < 32; o <<= 1) {
        const u64 pc = __shfl_up_sync(0xffffffffu, ic, o), ps = __shfl_up_sync(0xffffffffu, is, o);
        if (lane >= o) ic += pc, is += ps;
      }
      const uint32_t past = __ballot_sync(0xffffffffu, (byWeight ? is : ic) > x);
      const int at = __ffs(past) - 1;  // ≥ 0: the caller guarantees a crossing
      if (lane == at) {
        u64 bc = ic - c, bs = is - s;  // before this lane's bins
        for (int j = 0; j < 8; j++) {
          const int b = kBins - 1 - 8 * lane - j;
          const u64 v = byWeight ? sh.msum[b] : sh.mcnt[b];
          if ((byWeight ? bs : bc) + v > x) {
            sh.bin = b;
            sh.rest = x - (byWeight ? bs : bc);
            sh.beforeCount = bc, sh.beforeWeight = bs;
            sh.binCount = sh.mcnt[b], sh.binWeight = sh.msum[b];
            break;
          }
          bc += sh.mcnt[b], bs += sh.msum[b];
        }
      }
    }
    __syncthreads();
    prefix |= (u64)sh.bin << shift;
    mask |= (u64)0xff << shift;
    x = sh.rest;
    beforeCount += sh.beforeCount, beforeWeight += sh.beforeWeight;
    const u64 weight = sh.binWeight, inBin = sh.binCount;
    __syncthreads();  // sh's step fields are rewritten by the next pass
    if (inBin == 1) {  // one key left in play: find it (at shift 0 the prefix is the key)
      if (shift > 0) {
        if (threadIdx.x == 0) sh.found = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < list.n; i += blockDim.x) {
          const u64 k = list.keys[i];
          if (k >= lo && (k & mask) == prefix) sh.found = k;  // in one block of the team only
        }
        __syncthreads();
        u64 found, unused;
        team.exchange(sh, sh.found, 0, true, found, unused);
        prefix = found;
      }
      return {prefix, beforeCount, beforeWeight, weight};
    }
    // narrow the next pass's list when the keys in play are at most a quarter of it (once: the spare is one list)
    narrow = !narrowed && spare.keys && inBin * 4 <= inTeam;
  }
  return {prefix, beforeCount, beforeWeight, 0};  // not reached: keys are unique, so the last bin holds one
}

/** Copy the keys ≥ lo of `from` and their weights to `to`, in any order; returns how many (this block's). */
__device__ int keepFrom(Shared& sh, List from, u64 lo, List to) {
  if (threadIdx.x == 0) sh.count = 0;
  __syncthreads();
  for (int base = 0; base < from.n; base += blockDim.x) {
    const int i = base + (int)threadIdx.x;
    const bool keep = i < from.n && from.keys[i] >= lo;
    const int at = claimSlot(&sh.count, keep);
    if (keep) to.keys[at] = from.keys[i], to.ws[at] = from.ws[i];
  }
  __syncthreads();
  const int kept = (int)sh.count;
  __syncthreads();
  return kept;
}

/** grid (team · rows): row r's team is blocks team · r … team · r + team − 1, a cluster when team > 1. */
__global__ void __launch_bounds__(kSampleBlock) sampleKernel(SampleParams p, u64* workKeys, uint32_t* workWeights, int teamSize) {
  extern __shared__ uint32_t seen[];  // a bit per vocabulary id, when the row has a penalty
  __shared__ Shared sh;
  pdlLaunchDependents();
  pdlWait();  // the logits are the previous kernel's output
  Team team{teamSize};
  const int rank = (int)blockIdx.x % teamSize, row = (int)blockIdx.x / teamSize, cols = p.cols;
  const int slice = (cols + team.size - 1) / team.size, from = min(cols, rank * slice), to = min(cols, from + slice);
  const int32_t* s = p.settings + row * 6;
  const Row r{__int_as_float(s[0]), __int_as_float(s[2]), __int_as_float(s[3]), s[1], s[4], (uint32_t)s[5]};
  const float* x = p.x + (size_t)row * cols;
  const bool penal = r.rho != 1.f;
  if (penal) {  // the whole vocabulary's bits: the argmax's logit may lie in another block's slice
    for (int w = threadIdx.x; w < (cols + 31) / 32; w += blockDim.x) seen[w] = 0;
    __syncthreads();
    for (int j = p.seenOffsets[row] + threadIdx.x; j < p.seenOffsets[row + 1]; j += blockDim.x) {
      const int id = p.seen[j];
      if (id >= 0 && id < cols) atomicOr(&seen[id / 32], 1u << (id % 32));
    }
    __syncthreads();
  }
  const auto value = [&](int i) {  // steps 1: the penalty, then the ban
    float v = x[i];
    if (penal && (seen[i / 32] >> (i % 32) & 1u)) v = v > 0.f ? fdiv(v, r.rho) : fmul(v, r.rho);
    return i == r.banned ? -INFINITY : v;
  };
  // argmax (greedy, and the fallback): the largest key of a non-NaN value, −∞ included; 0 if all NaN
  u64 best = 0, unused = 0;
  for (int i = from + threadIdx.x; i < to; i += blockDim.x) {
    const float v = value(i);
    if (!isnan(v)) best = max(best, keyOf(v, i));
  }
  team.exchange(sh, blockMaxKey(sh, best), 0, true, best, unused);
  const float m = best ? value(idOf(best)) : NAN;
  if (r.t == 0.f || best == 0 || m == -INFINITY) {
    if (rank == 0 && threadIdx.x == 0) p.ids[row] = best ? idOf(best) : cols - 1;
    team.sync();  // no block leaves while another may still read its shared memory
    return;
  }
  // step 4: the candidates (weight > 0) of this block's slice, compacted into its part of the row's
  // workspace in any order; two lists of (key, weight) per row: every candidate, then the survivors of
  // each cut (ping-pong)
  const size_t all = (size_t)p.rows * cols, at0 = (size_t)row * cols + from;
  List list{workKeys + at0, workWeights + at0, 0}, other{workKeys + all + at0, workWeights + all + at0, 0};
  if (threadIdx.x == 0) sh.count = 0, sh.total = 0;
  __syncthreads();
  u64 total = 0;
  for (int base = from; base < to; base += blockDim.x) {
    const int i = base + (int)threadIdx.x;
    uint32_t w = 0;
    float v = 0.f;
    if (i < to) {
      v = value(i);
      if (!isnan(v) && v != -INFINITY) w = (uint32_t)weightOf(v, m, r.t, kWeightOne);  // ≤ 2^24
    }
    const int at = claimSlot(&sh.count, w > 0);
    if (w > 0) list.keys[at] = keyOf(v, i), list.ws[at] = w, total += w;
  }
  for (int o = 16; o > 0; o >>= 1) total += __shfl_xor_sync(0xffffffffu, total, o);
  if (threadIdx.x % 32 == 0) atomicAdd(&sh.total, total);
  __syncthreads();
  list.n = (int)sh.count;
  u64 inTeam, sum, lo = 0;
  team.exchange(sh, (u64)list.n, sh.total, false, inTeam, sum);
  // after each cut only its survivors are searched: they move to the other list
  const auto cut = [&](u64 at) {
    other.n = keepFrom(sh, list, at, other);
    const List t = list;
    list = other, other = t;
  };
  if (r.topK > 0 && (u64)r.topK < inTeam) {  // step 5: the first k candidates
    const Crossing c = crossing(sh, team, list, inTeam, other, false, (u64)(r.topK - 1), 0);
    lo = c.key, sum = c.beforeWeight + c.weight, inTeam = c.beforeCount + 1;
    cut(lo);
  }
  if (r.topP < 1.f) {  // step 6: the shortest prefix reaching ⌈p · S⌉ (one float64 product)
    const u64 need = max((u64)ceil((double)r.topP * (double)sum), (u64)1);  // a topP that is 0 in fp32 keeps the first, as the spec's loop does
    const Crossing c = crossing(sh, team, list, inTeam, other, true, need - 1, lo);
    lo = c.key, sum = c.beforeWeight + c.weight, inTeam = c.beforeCount + 1;
    cut(lo);
  }
  // step 7: the target ⌊r · S / 2^32⌋ and the candidate whose running weight passes it
  const u64 target = __umul64hi((u64)r.draw << 32, sum);
  const Crossing c = crossing(sh, team, list, inTeam, other, true, target, lo);
  if (rank == 0 && threadIdx.x == 0) p.ids[row] = idOf(c.key);
  team.sync();  // no block leaves while another may still read its shared memory
}

/**
 * Beam search's reduction of each row (ref-math beamCandidates): the max m, the exact sum
 * S = Σ rni(expF32(fp32(x − m)) · 2^32) over x neither NaN nor −∞, and the first n ids in order
 * (x descending, id ascending; NaN left out) with their logits. out i32 [rows, 2n + 3]: ids (−1 past
 * the non-NaN count), logit bits, m's bits, S low and high halves.
 */
__global__ void __launch_bounds__(kSampleBlock) beamCandidatesKernel(BeamCandidatesParams p, u64* workKeys) {
  __shared__ Shared sh;
  __shared__ u64 chosen[kMaxBeamCandidates];
  pdlLaunchDependents();
  pdlWait();  // the logits are the previous kernel's output
  const int row = blockIdx.x, cols = p.cols, n = p.n;
  const float* x = p.x + (size_t)row * cols;
  int32_t* out = p.out + (size_t)row * (2 * n + 3);
  u64 best = 0;
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    if (!isnan(x[i])) best = max(best, keyOf(x[i], i));
  best = blockMaxKey(sh, best);
  const float m = best ? x[idOf(best)] : NAN;
  u64* keys = workKeys + (size_t)row * cols;
  if (threadIdx.x == 0) sh.count = 0, sh.total = 0;
  __syncthreads();
  u64 total = 0;
  for (int base = 0; base < cols; base += blockDim.x) {  // every non-NaN key, compacted in any order; S exactly
    const int i = base + (int)threadIdx.x;
    const float v = i < cols ? x[i] : NAN;
    const bool keep = !isnan(v);
    const int at = claimSlot(&sh.count, keep);
    if (keep) {
      keys[at] = keyOf(v, i);
      if (v != -INFINITY) total += weightOf(v, m, 1.f, 4294967296.f);  // t 1: fdiv(d, 1) = d
    }
  }
  for (int o = 16; o > 0; o >>= 1) total += __shfl_xor_sync(0xffffffffu, total, o);
  if (threadIdx.x % 32 == 0) atomicAdd(&sh.total, total);
  __syncthreads();
  const int count = (int)sh.count;
  const u64 sum = sh.total;
  __syncthreads();
  const int take = min(n, count);
  Team team{1};  // one block per row
  const u64 lo = take < count ? crossing(sh, team, List{keys, nullptr, count}, (u64)count, List{nullptr, nullptr, 0}, false, (u64)(take - 1), 0).key : 0;
  if (threadIdx.x == 0) sh.count = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < count; i += blockDim.x)
    if (keys[i] >= lo) chosen[atomicAdd(&sh.count, 1u)] = keys[i];
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int a = 1; a < take; a++)  // insertion sort, largest key first (n ≤ kMaxBeamCandidates)
      for (int b = a; b > 0 && chosen[b] > chosen[b - 1]; b--) {
        const u64 t = chosen[b];
        chosen[b] = chosen[b - 1], chosen[b - 1] = t;
      }
  }
  __syncthreads();
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const int id = j < take ? idOf(chosen[j]) : -1;
    out[j] = id;
    out[n + j] = id >= 0 ? __float_as_int(x[id]) : 0;
  }
  if (threadIdx.x == 0) {
    out[2 * n] = best ? __float_as_int(m) : 0x7fc00000;  // NaN as ref-math writes it
    out[2 * n + 1] = (int32_t)(uint32_t)sum, out[2 * n + 2] = (int32_t)(uint32_t)(sum >> 32);
  }
}

/**
 * A given token's log-probability, reduced (ref-math tokenLogProbRows): out i32 [rows, 4] = the bits of
 * x[token] (NaN for a token outside [0, V)), the max m's bits (the first largest non-NaN value; NaN when
 * there is none) and S = Σ rni(expF32(fp32(x − m)) · 2^32) over x neither NaN nor −∞ in two halves —
 * beam search's max and sum, so the float64 the host finishes with is tokenLogProbs' (tier 1).
 */
__global__ void __launch_bounds__(kSampleBlock) tokenLogProbKernel(TokenLogProbParams p) {
  __shared__ Shared sh;
  pdlLaunchDependents();
  pdlWait();  // the logits are the previous kernel's output
  const int row = blockIdx.x, cols = p.cols;
  const float* x = p.x + (size_t)row * cols;
  u64 best = 0;
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    if (!isnan(x[i])) best = max(best, keyOf(x[i], i));
  best = blockMaxKey(sh, best);
  if (threadIdx.x == 0) sh.total = 0;  // the barrier below orders the reset before the adds
  __syncthreads();
  const float m = best ? x[idOf(best)] : NAN;
  u64 total = 0;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) {
    const float v = x[i];
    if (!isnan(v) && v != -INFINITY) total += weightOf(v, m, 1.f, 4294967296.f);  // t 1: fdiv(d, 1) = d
  }
  for (int o = 16; o > 0; o >>= 1) total += __shfl_xor_sync(0xffffffffu, total, o);
  if (threadIdx.x % 32 == 0) atomicAdd(&sh.total, total);
  __syncthreads();
  if (threadIdx.x == 0) {
    const int token = p.tokens[row];
    int32_t* out = p.out + (size_t)row * 4;
    const float v = token >= 0 && token < cols ? x[token] : NAN;
    out[0] = isnan(v) ? 0x7fc00000 : __float_as_int(v);  // every NaN as the one ref-math writes
    out[1] = best ? __float_as_int(m) : 0x7fc00000;  // NaN as ref-math writes it
    out[2] = (int32_t)(uint32_t)sh.total, out[3] = (int32_t)(uint32_t)(sh.total >> 32);
  }
}

}  // namespace

void invokeTokenLogProbs(const TokenLogProbParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  TRT_LAUNCH_PDL("tokenLogProbRows", tokenLogProbKernel, dim3(p.rows), dim3(kSampleBlock), 0, s, p);
}

void invokeBeamCandidates(const BeamCandidatesParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  if (p.n < 1 || p.n > kMaxBeamCandidates) throw CudaError("beamCandidateRows: n must be in [1, " + std::to_string(kMaxBeamCandidates) + "], got " + std::to_string(p.n));
  TRT_LAUNCH_PDL("beamCandidateRows", beamCandidatesKernel, dim3(p.rows), dim3(kSampleBlock), 0, s, p, static_cast<u64*>(p.workspace));
}

/**
 * The blocks that share a row: a cluster of 1, 2, 4 or 8 where the kernel runs as clusters, from the
 * row count, the vocabulary and the SM count only — as many as keep the grid within about two blocks
 * per SM and every block at least kMinTeamSlice logits. The token does not depend on it.
 * TRTLLM_SAMPLE_TEAM=1|2|4|8 sets it (for tests that compare team sizes), within what the device runs.
 */
static int sampleTeam(int rows, int cols, int sms, bool clusters) {
  if (!clusters) return 1;
  if (const char* forced = std::getenv("TRTLLM_SAMPLE_TEAM")) {
    const int t = std::atoi(forced);
    if (t == 1 || t == 2 || t == 4 || t == 8) return t;
  }
  int team = 1;
  while (team < kMaxSampleTeam && (size_t)rows * 2 * team <= 2 * (size_t)sms && cols / (2 * team) >= kMinTeamSlice) team *= 2;
  return team;
}

void invokeSample(const SampleParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  const size_t smem = (size_t)(p.cols + 31) / 32 * sizeof(uint32_t);
  allowDynamicSharedMemory(sampleKernel, smem, "sampleRows");
  u64* keys = static_cast<u64*>(p.workspace);  // two key lists, then two weight lists, [rows, cols] each
  uint32_t* weights = reinterpret_cast<uint32_t*>(keys + 2 * (size_t)p.rows * p.cols);
  const int sms = multiprocessors();
  int team = sampleTeam(p.rows, p.cols, sms, clustersFor(sampleKernel));
  const auto threadsFor = [&](int t) { return (size_t)p.rows * t <= (size_t)sms ? kSampleBlock : kSampleBlock / 2; };  // two blocks an SM past one wave
  while (team > 1 && !clusterFits(sampleKernel, team, threadsFor(team), smem)) team /= 2;  // restricted SMs (MPS, MIG): a smaller team
  const size_t blocks = (size_t)p.rows * team;
  if (blocks > 0x7fffffffu) throw CudaError("sampleRows: " + std::to_string(p.rows) + " rows are more than one launch takes");
  TRT_LAUNCH_PDL_CLUSTER("sampleRows", sampleKernel, dim3((unsigned)blocks), dim3(threadsFor(team)), smem, team > 1 ? team : 0, s, p, keys, weights, team);
}

}  // namespace trt
