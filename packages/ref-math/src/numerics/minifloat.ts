/**
 * Conversions between real numbers and the small binary floating-point formats: fp16 (IEEE binary16),
 * bf16 (bfloat16) and fp8-e4m3fn (the OCP / NVIDIA `__nv_fp8_e4m3` format).
 *
 * One algorithm serves every format, parameterised by exponent bits E, significand bits M and bias:
 *   1. NaN → the format's canonical NaN; ±Infinity → ±Infinity, or ±max finite for formats
 *      without infinities (e4m3fn saturates, as `__NV_SATFINITE` does).
 *   2. Find the binade of |x| (clamped below at the smallest normal binade, which is where
 *      subnormals live) and its quantum q = 2^(e − M).
 *   3. m = round-half-to-even(|x| / q): one rounding of the exact input, never a double rounding
 *      through binary32. A carry to 2^(M+1) moves to the next binade by itself.
 *   4. A result above the largest finite value overflows: to ±Infinity (fp16, bf16: IEEE) or to
 *      ±max finite (e4m3fn: saturating).
 * Decoding is exact: every value of these formats is a binary32 (and binary64) number.
 *
 * Canonical NaNs written by this oracle (CUDA kernels write the same): fp16 0x7E00, bf16 0x7FC0,
 * e4m3fn 0x7F. Signs of zero are kept.
 */
import { pow2, rni } from './f32.js';

export interface MiniFloatFormat {
  readonly name: 'f16' | 'bf16' | 'fp8e4m3';
  /** Exponent field width in bits. */
  readonly expBits: number;
  /** Stored significand (mantissa) width in bits, without the implicit leading 1. */
  readonly manBits: number;
  readonly bias: number;
  /** IEEE-style: an all-ones exponent field encodes ±Infinity (mantissa 0) and NaN. */
  readonly hasInfinity: boolean;
  /** Bit pattern this oracle writes for NaN. */
  readonly nanBits: number;
  /** Largest finite value. */
  readonly maxFinite: number;
  /** Bit pattern of +maxFinite. */
  readonly maxBits: number;
  /** Unbiased exponent of the smallest normal binade (subnormals share its quantum). */
  readonly minNormalExp: number;
  /** What a too-large magnitude becomes: +Infinity (IEEE) or +maxFinite (saturating). */
  readonly overflowBits: number;
}

function format(
  name: MiniFloatFormat['name'],
  expBits: number,
  manBits: number,
  hasInfinity: boolean,
  nanBits: number,
): MiniFloatFormat {
  const bias = 2 ** (expBits - 1) - 1;
  const allOnesExp = 2 ** expBits - 1;
  // IEEE formats: the largest exponent field below all-ones with a full mantissa. e4m3fn: the
  // all-ones exponent is finite too, except mantissa all-ones (NaN), so its max mantissa is 110b.
  const maxExpField = hasInfinity ? allOnesExp - 1 : allOnesExp;
  const maxMan = hasInfinity ? 2 ** manBits - 1 : 2 ** manBits - 2;
  const maxFinite = (1 + maxMan / 2 ** manBits) * pow2(maxExpField - bias);
  const maxBits = (maxExpField << manBits) | maxMan;
  const overflowBits = hasInfinity ? allOnesExp << manBits : maxBits;
  return { name, expBits, manBits, bias, hasInfinity, nanBits, maxFinite, maxBits, minNormalExp: 1 - bias, overflowBits };
}

/** IEEE-754 binary16: 1 sign, 5 exponent, 10 mantissa bits; max 65504. */
export const F16 = format('f16', 5, 10, true, 0x7e00);
/** bfloat16: 1 sign, 8 exponent, 7 mantissa bits; the top half of a binary32. */
export const BF16 = format('bf16', 8, 7, true, 0x7fc0);
/** fp8 e4m3fn: 1 sign, 4 exponent, 3 mantissa bits, no infinities, NaN = S.1111.111; max 448. */
export const FP8_E4M3 = format('fp8e4m3', 4, 3, false, 0x7f);

/** floor(log2(a)) for a finite a > 0, exactly (Math.log2 may be off by one near powers of two). */
function floorLog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (pow2(e) > a) e -= 1;
  else if (pow2(e + 1) <= a) e += 1;
  return e;
}

/** Encode a real number (any binary64) into `fmt`, rounding to nearest, ties to even. */
export function encodeMiniFloat(fmt: MiniFloatFormat, x: number): number {
  if (Number.isNaN(x)) return fmt.nanBits;
  const signBit = x < 0 || Object.is(x, -0) ? 1 << (fmt.expBits + fmt.manBits) : 0;
  const overflowBits = fmt.overflowBits;
  const a = Math.abs(x);
  if (a === Infinity) return signBit | overflowBits;

  const minNormalExp = fmt.minNormalExp;
  let e = a < pow2(minNormalExp) ? minNormalExp : floorLog2(a);
  let m = rni(a / pow2(e - fmt.manBits)); // a / q is exact: q is a power of two
  if (m === 0) return signBit;
  if (m * pow2(e - fmt.manBits) > fmt.maxFinite) return signBit | overflowBits;

  const implicitOne = 2 ** fmt.manBits;
  if (m < implicitOne) return signBit | m; // subnormal: exponent field 0 (only when e is the min)
  if (m === 2 * implicitOne) {
    // Rounding carried into the next binade.
    m = implicitOne;
    e += 1;
  }
  return signBit | ((e + fmt.bias) << fmt.manBits) | (m - implicitOne);
}

/** Decode a bit pattern of `fmt` to its exact value. */
export function decodeMiniFloat(fmt: MiniFloatFormat, bits: number): number {
  const { expBits, manBits, bias } = fmt;
  const sign = (bits >> (expBits + manBits)) & 1 ? -1 : 1;
  const expField = (bits >> manBits) & (2 ** expBits - 1);
  const man = bits & (2 ** manBits - 1);
  const allOnesExp = 2 ** expBits - 1;
  if (fmt.hasInfinity && expField === allOnesExp) return man === 0 ? sign * Infinity : Number.NaN;
  if (!fmt.hasInfinity && expField === allOnesExp && man === 2 ** manBits - 1) return Number.NaN;
  if (expField === 0) return sign * man * pow2(1 - bias - manBits);
  return sign * (2 ** manBits + man) * pow2(expField - bias - manBits);
}

// ---- Fast paths on binary32 bit patterns ----
// Rounding on a binary32 bit pattern gives the same result as the generic algorithm above (tested
// on every binade, ties included) at a fraction of the cost. Binary32 inputs take it directly;
// other doubles after a round-to-odd step to binary32; only NaN and huge values stay generic.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * x rounded to binary32 with round-to-odd, as a bit pattern; −1 for NaN and for |x| beyond the
 * binary32 range. Round-to-odd (Boldo & Melquiond): when x is not a binary32, take the neighbour
 * whose last significand bit is 1. Rounding that to nearest-even in any format with at least two
 * fewer significand bits (fp16 11, bf16 8, fp8 4 vs binary32's 24) equals rounding x itself
 * once, so every input can take the integer paths below.
 */
function binary32RoundToOddBits(x: number): number {
  scratchF32[0] = x;
  const r = scratchF32[0]!;
  let b = scratchU32[0]!;
  if (r === x) return b; // exact (±0 keeps its sign bit)
  if (!Number.isFinite(r) || Number.isNaN(x)) return -1;
  if ((b & 1) === 0) b = Math.abs(r) < Math.abs(x) ? b + 1 : b - 1; // step the magnitude toward x
  return b >>> 0;
}

/**
 * The same rounding on a binary32 bit pattern b (not NaN), in integer arithmetic: the binade comes
 * from the exponent field, the significand's low bits below the target quantum are dropped with
 * round-half-to-even. The magnitude encoding (exponent field, mantissa) is monotone in the value,
 * so a carry into the next binade is a plain +1 and overflow is `magnitude > maxBits`.
 * For formats whose exponent range lies inside binary32's (fp16, fp8; also correct for bf16).
 */
export function fromBinary32Bits(fmt: MiniFloatFormat, b: number): number {
  const m = fmt.manBits;
  const signBit = (b >>> 31) << (fmt.expBits + m);
  const exp = (b >>> 23) & 0xff;
  if (exp === 0xff) return signBit | fmt.overflowBits; // ±Infinity
  const unbiased = exp === 0 ? -126 : exp - 127; // value = sig · 2^(unbiased − 23)
  const sig = exp === 0 ? b & 0x7fffff : (b & 0x7fffff) | 0x800000;
  const e = unbiased > fmt.minNormalExp ? unbiased : fmt.minNormalExp;
  const shift = e - m - unbiased + 23; // ≥ 23 − m ≥ 1
  if (shift > 25) return signBit; // below half the smallest subnormal
  const half = 1 << (shift - 1);
  const rem = sig & ((half << 1) - 1);
  let q = sig >>> shift; // quanta of 2^(e − m)
  if (rem > half || (rem === half && (q & 1) === 1)) q += 1;
  const magnitude = q < 1 << m ? q : ((e + fmt.bias) << m) + q - (1 << m);
  return signBit | (magnitude > fmt.maxBits ? fmt.overflowBits : magnitude);
}

/** bf16 bits from binary32 bits b (non-NaN): round to nearest even on the low 16 bits. */
export function bf16FromBinary32Bits(b: number): number {
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---- Named conversions (stable public API, used by the external conformance suite) ----

/** fp16 bits (0..0xFFFF) of x rounded to nearest even; overflow → ±Infinity. */
export function toF16Bits(x: number): number {
  const b = binary32RoundToOddBits(x);
  return b >= 0 ? fromBinary32Bits(F16, b) : encodeMiniFloat(F16, x);
}

let f16Table: Float32Array | undefined;

/** The value of every fp16 bit pattern, indexed by the bits (decodeMiniFloat's, exact), made once. */
export function f16Values(): Float32Array {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = decodeMiniFloat(F16, b);
  }
  return f16Table;
}

/** The value of fp16 bits (exact). Table-driven: this sits in every oracle loop over fp16 data. */
export function fromF16Bits(bits: number): number {
  return (f16Table ?? f16Values())[bits & 0xffff]!;
}

/** bf16 bits of x rounded to nearest even; overflow → ±Infinity. */
export function toBf16Bits(x: number): number {
  const b = binary32RoundToOddBits(x);
  return b >= 0 ? bf16FromBinary32Bits(b) : encodeMiniFloat(BF16, x);
}

const bf16View = new DataView(new ArrayBuffer(4));

/** The value of bf16 bits (exact): they are the upper half of a binary32. */
export function fromBf16Bits(bits: number): number {
  bf16View.setUint32(0, (bits & 0xffff) << 16);
  return bf16View.getFloat32(0);
}

/** fp8-e4m3fn bits of x rounded to nearest even; saturating: |x| past 448 (and ±Infinity) → ±448; NaN → 0x7F. */
export function toFp8E4m3Bits(x: number): number {
  const b = binary32RoundToOddBits(x);
  return b >= 0 ? fromBinary32Bits(FP8_E4M3, b) : encodeMiniFloat(FP8_E4M3, x);
}

/** The value of fp8-e4m3fn bits (exact); 0x7F and 0xFF are NaN. */
export function fromFp8E4m3Bits(bits: number): number {
  return decodeMiniFloat(FP8_E4M3, bits & 0xff);
}
