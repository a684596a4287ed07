// Tensor-core building blocks shared by the decode GEMMs (gemm-decode.cu, int8-gemm-decode.cu) and
// flash attention (attention.cu): mma.sync m16n8k16 with fp32 accumulation (f16 or bf16 inputs),
// m16n8k32 with int32 accumulation (int8 inputs), and ldmatrix loads of 8×8 b16
// matrices from shared memory. Fragment layouts (PTX ISA, "mma.m16n8k16"): with g = lane / 4 and
// t = lane % 4, A regs {a0, a1, a2, a3} hold rows {g, g + 8, g, g + 8} × columns {2t, 2t + 1} (a0, a1)
// and {2t + 8, 2t + 9} (a2, a3); B regs {b0, b1} hold rows (k) {2t, 2t + 1} and {2t + 8, 2t + 9} of
// column (n) g; C holds rows {g, g, g + 8, g + 8} × columns {2t, 2t + 1, 2t, 2t + 1}.
#pragma once
#include <cstdint>

#include "common.h"

namespace trt {

/** 16 bytes of read-once data (the decode GEMMs' weights): no L1 allocation. */
__device__ __forceinline__ uint4 ldStream(const void* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}

/** c += a · b on tensor cores (m16n8k16, row.col, fp32 accumulation), f16 or bf16 inputs. */
template <DType D>
__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (D == DType::BF16) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

/**
 * c += a · b on tensor cores (m16n8k32, row.col, s8 × s8 → s32; no .satfinite, so the int32 sum wraps
 * like the oracle's). Layout (PTX ISA, "mma.m16n8k32", 8-bit types): A regs {a0, a1, a2, a3} hold rows
 * {g, g + 8, g, g + 8} × columns (k) 4t … 4t + 3 (a0, a1) and 16 + 4t … 16 + 4t + 3 (a2, a3), four
 * bytes each, k ascending within a register; B regs {b0, b1} hold rows (k) 4t … 4t + 3 and 16 + 4t …
 * of column g; C as in m16n8k16.
 */
__device__ __forceinline__ void mma16832s8(int32_t (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/** Four 8×8 b16 matrices; lane l gives the row address of matrix l / 8. */
__device__ __forceinline__ void ldmatrixX4(uint32_t (&a)[4], uint32_t at) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3]) : "r"(at));
}
/** The same, each matrix transposed. */
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&a)[4], uint32_t at) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3]) : "r"(at));
}
/** Two 8×8 b16 matrices (lanes 0–15 give the row addresses). */
__device__ __forceinline__ void ldmatrixX2(uint32_t& b0, uint32_t& b1, uint32_t at) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];" : "=r"(b0), "=r"(b1) : "r"(at));
}

}  // namespace trt
