/**
 * The specified fp32 transcendentals: exp, tanh, sin, cos, and the activations built from them.
 *
 * These define the oracle's arithmetic; they are not libm. Each is a fixed sequence of binary32
 * operations (`f32(a op b)`, no FMA) that a CUDA kernel repeats op for op with `__fadd_rn` /
 * `__fmul_rn` / `__fdiv_rn`, so both produce the same bits. Every constant below is a binary32 value
 * printed exactly (hex pattern alongside) and derived by `scripts/derive-constants.mjs`; the
 * transcendental test re-derives them.
 *
 * Accuracy, measured against Math.* rounded to binary32 (scripts in transcendental.test.ts, which
 * assert these bounds on fresh sweeps):
 *   expF32   ≤ 1 ulp on [−87.3, 88.7]; subnormal results (x < −87.3) within 1 subnormal step.
 *   tanhF32  ≤ 1 ulp on [−12, 12] (and exactly ±1 beyond).
 *   sinF32 / cosF32  ≤ 1 ulp on [−π/4, π/4]; absolute error ≤ 1.11e-7 for |x| ≤ 25735
 *            (= 2^14·π/2, where the Cody–Waite reduction is exact). The rounding of the angle
 *            itself to binary32 is the caller's error, not the function's.
 *   geluF32  absolute error ≤ 1.2e-7·max(1, |x|) (1 + tanh u cancels for x ≪ 0, so ulp is no measure).
 */
import { f32, rni, scaleByPow2F32 } from './f32.js';

// exp
const LOG2E = 1.4426950216293335; // 0x3fb8aa3b
const LN2_HI = 0.693145751953125; // 0x3f317200, 15 significant bits: n·LN2_HI exact for |n| ≤ 2^9
const LN2_LO = 0.000001428606765330187; // 0x35bfbe8e = fp32(ln 2 − LN2_HI)
/** 1/k! for k = 2..7. */
const EXP_C = [
  0.5, // 0x3f000000
  0.1666666716337204, // 0x3e2aaaab
  0.0416666679084301, // 0x3d2aaaab
  0.008333333767950535, // 0x3c088889
  0.0013888889225199819, // 0x3ab60b61
  0.00019841270113829523, // 0x39500d01
] as const;

/**
 * e^x in binary32.
 *   x > 89 → +Infinity; x < −104 → +0 (e^−104 is below half the smallest subnormal); NaN → NaN.
 *   n = rni(fp32(x · log2 e)); r = (x − n·LN2_HI) − n·LN2_LO          (Cody–Waite, |r| ≲ ln2/2)
 *   p = 1 + (r + r²·(c2 + r·(c3 + r·(c4 + r·(c5 + r·(c6 + r·c7))))))  (Horner, Taylor c_k = 1/k!)
 *   e^x = p · 2^n, scaled with at most one rounding (so subnormal results round once).
 */
export function expF32(x: number): number {
  x = f32(x);
  if (Number.isNaN(x)) return Number.NaN;
  if (x > 89) return Infinity;
  if (x < -104) return 0;
  const n = rni(f32(x * LOG2E));
  const r = f32(f32(x - f32(n * LN2_HI)) - f32(n * LN2_LO));
  let p: number = EXP_C[5];
  for (let k = 4; k >= 0; k--) p = f32(f32(p * r) + EXP_C[k]!);
  p = f32(1 + f32(r + f32(f32(r * r) * p)));
  return scaleByPow2F32(p, n);
}

// tanh
/** Taylor coefficients of tanh x = x + x·Σ_{n=2..11} T_n x^{2n−2}: T_n = 2^{2n}(2^{2n}−1)B_{2n}/(2n)!. */
const TANH_C = [
  -0.3333333432674408, // 0xbeaaaaab  −1/3
  0.13333334028720856, // 0x3e088889   2/15
  -0.05396825447678566, // 0xbd5d0dd1 −17/315
  0.021869488060474396, // 0x3cb327a4  62/2835
  -0.0088632358238101, // 0xbc11371b  −1382/155925
  0.0035921279340982437, // 0x3b6b69e8
  -0.0014558343682438135, // 0xbabed1b2
  0.0005900274263694882, // 0x3a1aac12
  -0.0002391291200183332, // 0xb97abebc
  0.0000969153770711273, // 0x38cb3f0c
] as const;
/** Below this |x| the Taylor polynomial is used; above it 1 − 2/(e^{2|x|} + 1) has no cancellation. */
const TANH_POLY_LIMIT = 0.625;

/**
 * tanh x in binary32.
 *   |x| < 0.625: z = x²; t = x + (x·z)·(T2 + z·(T3 + … + z·T11))   (odd Taylor series, Horner in z)
 *   otherwise:   t = sign(x) · (1 − 2 / (e^{2|x|} + 1)), e^ by expF32 (→ exactly ±1 for large |x|)
 * ±0 → ±0; NaN → NaN.
 */
export function tanhF32(x: number): number {
  x = f32(x);
  if (Number.isNaN(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a < TANH_POLY_LIMIT) {
    const z = f32(x * x);
    let p: number = TANH_C[9];
    for (let k = 8; k >= 0; k--) p = f32(f32(p * z) + TANH_C[k]!);
    return f32(x + f32(f32(x * z) * p));
  }
  const e = expF32(f32(2 * a));
  const t = f32(1 - f32(2 / f32(e + 1)));
  return x < 0 ? -t : t;
}

// sin, cos
/** π/2 in four binary32 pieces; the first three have ≤ 10 significant bits (k·PIO2_i exact for |k| < 2^14). */
const PIO2_1 = 1.5703125; // 0x3fc90000
const PIO2_2 = 0.00048351287841796875; // 0x39fd8000
const PIO2_3 = 3.1385570764541626e-7; // 0x34a88000
const PIO2_4 = 6.077094383272197e-11; // 0x2e85a300
const TWO_OVER_PI = 0.6366197466850281; // 0x3f22f983
/** (−1)^k/(2k+1)! for k = 1..4. */
const SIN_C = [
  -0.1666666716337204, // 0xbe2aaaab
  0.008333333767950535, // 0x3c088889
  -0.00019841270113829523, // 0xb9500d01
  0.0000027557318844628753, // 0x3638ef1d
] as const;
/** (−1)^k/(2k)! for k = 2..5. */
const COS_C = [
  0.0416666679084301, // 0x3d2aaaab
  -0.0013888889225199819, // 0xbab60b61
  0.000024801587642286904, // 0x37d00d01
  -2.755731998149713e-7, // 0xb493f27e
] as const;

/** sin on the reduced interval |r| ≤ π/4: r + (r·z)·(S1 + z·(S2 + z·(S3 + z·S4))), z = r². */
function sinPoly(r: number): number {
  const z = f32(r * r);
  let p: number = SIN_C[3];
  for (let k = 2; k >= 0; k--) p = f32(f32(p * z) + SIN_C[k]!);
  return f32(r + f32(f32(r * z) * p));
}

/** cos on the reduced interval: (1 − z/2) + z²·(C2 + z·(C3 + z·(C4 + z·C5))), z = r². */
function cosPoly(r: number): number {
  const z = f32(r * r);
  let p: number = COS_C[3];
  for (let k = 2; k >= 0; k--) p = f32(f32(p * z) + COS_C[k]!);
  return f32(f32(1 - f32(0.5 * z)) + f32(f32(z * z) * p));
}

/** Cody–Waite reduction: x = k·π/2 + r, returns [k mod 4, r]. */
function reduceHalfPi(x: number): [number, number] {
  const k = rni(f32(x * TWO_OVER_PI));
  let r = f32(x - k * PIO2_1);
  r = f32(r - k * PIO2_2);
  r = f32(r - k * PIO2_3);
  r = f32(r - f32(k * PIO2_4));
  return [((k % 4) + 4) % 4, r];
}

/** sin x in binary32 (see the file header for the domain). ±Infinity and NaN → NaN. */
export function sinF32(x: number): number {
  x = f32(x);
  if (!Number.isFinite(x)) return Number.NaN;
  const [q, r] = reduceHalfPi(x);
  if (q === 0) return sinPoly(r);
  if (q === 1) return cosPoly(r);
  if (q === 2) return -sinPoly(r);
  return -cosPoly(r);
}

/** cos x in binary32 (see the file header for the domain). ±Infinity and NaN → NaN. */
export function cosF32(x: number): number {
  x = f32(x);
  if (!Number.isFinite(x)) return Number.NaN;
  const [q, r] = reduceHalfPi(x);
  if (q === 0) return cosPoly(r);
  if (q === 1) return -sinPoly(r);
  if (q === 2) return -cosPoly(r);
  return sinPoly(r);
}

// activations
const GELU_K0 = 0.7978845834732056; // 0x3f4c422a = fp32(√(2/π))
const GELU_K1 = 0.044714998453855515; // 0x3d372713 = fp32(0.044715)

/**
 * GELU, tanh approximation (HF `gelu_new`, FT `gelu`):
 *   gelu(x) = (0.5·x) · (1 + tanh(K0 · (x + K1·((x·x)·x))))
 * in that order, each operation rounded to binary32.
 */
export function geluF32(x: number): number {
  x = f32(x);
  const x3 = f32(f32(x * x) * x);
  const u = f32(GELU_K0 * f32(x + f32(GELU_K1 * x3)));
  return f32(f32(0.5 * x) * f32(1 + tanhF32(u)));
}

/** SiLU (swish): silu(x) = x / (1 + e^{−x}), each operation rounded to binary32. */
export function siluF32(x: number): number {
  x = f32(x);
  return f32(x / f32(1 + expF32(-x)));
}

/** The constants above, for the test that re-derives them from exact arithmetic. */
export const TRANSCENDENTAL_CONSTANTS = {
  LOG2E,
  LN2_HI,
  LN2_LO,
  EXP_C,
  TANH_C,
  SIN_C,
  COS_C,
  PIO2: [PIO2_1, PIO2_2, PIO2_3, PIO2_4],
  TWO_OVER_PI,
  GELU_K0,
  GELU_K1,
} as const;
