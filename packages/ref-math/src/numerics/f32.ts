/**
 * fp32 arithmetic, exactly as IEEE-754 binary32 with round-to-nearest-even.
 *
 * JavaScript computes in binary64; `Math.fround` rounds a binary64 to binary32. For + − × ÷ and sqrt
 * of binary32 operands, computing in binary64 and rounding once to binary32 gives the correctly
 * rounded binary32 result (binary64 has ≥ 2·24+2 significand bits, so double rounding is harmless).
 * Every oracle loop therefore writes each fp32 operation as `f32(a op b)`: one op, one rounding, and
 * no fused multiply-add unless an op's header says so. The matching CUDA code uses
 * `__fadd_rn/__fmul_rn/__fdiv_rn/__fsqrt_rn` (or builds with `-fmad=false`) and keeps denormals.
 */

/** Round a binary64 number to the nearest binary32 (ties to even). */
export const f32 = Math.fround;

/**
 * Round to the nearest integer, ties to even (IEEE `roundTiesToEven`, PTX `cvt.rni`).
 * Exact for every finite binary64 (a zero result is +0); NaN and ±Infinity are returned unchanged.
 */
export function rni(x: number): number {
  if (!Number.isFinite(x)) return x;
  const floor = Math.floor(x);
  const frac = x - floor; // exact: x and floor share an exponent range
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** 2^n as a binary64 (exact for −1074 ≤ n ≤ 1023). */
export function pow2(n: number): number {
  return 2 ** n;
}

/**
 * x · 2^n rounded once to binary32, for a binary32 x and an integer n with 2^n possibly outside the
 * binary32 range. Done as at most two multiplications by powers of two that are binary32 numbers,
 * the first exact, so the result is the correctly rounded binary32 (subnormal results included).
 * CUDA: the same two `__fmul_rn` with `__int_as_float((k + 127) << 23)`.
 */
export function scaleByPow2F32(x: number, n: number): number {
  if (n > 127) return f32(f32(x * pow2(127)) * pow2(n - 127));
  if (n < -126) return f32(f32(x * pow2(n + 64)) * pow2(-64));
  return f32(x * pow2(n));
}

const bitsView = new DataView(new ArrayBuffer(4));

/** The binary32 bit pattern of fround(x), as an unsigned 32-bit integer. */
export function f32ToBits(x: number): number {
  bitsView.setFloat32(0, x);
  return bitsView.getUint32(0);
}

/** The binary32 value of a 32-bit pattern. */
export function f32FromBits(bits: number): number {
  bitsView.setUint32(0, bits >>> 0);
  return bitsView.getFloat32(0);
}

/**
 * Distance in units in the last place between two binary32 values: the number of binary32 numbers
 * between them, counted on the ordered integer line of bit patterns (so it is exact across binades
 * and across zero; +0 and −0 are 0 apart). NaN anywhere gives NaN; equal NaNs are not compared.
 */
export function ulpDistanceF32(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  const ordered = (x: number): number => {
    const bits = f32ToBits(x);
    // Map sign-magnitude to a monotone integer line: negatives below zero.
    return bits & 0x80000000 ? -(bits & 0x7fffffff) : bits;
  };
  return Math.abs(ordered(f32(a)) - ordered(f32(b)));
}
