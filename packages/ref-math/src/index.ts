/**
 * @trtllm/ref-math — the oracle. Dtypes and typed tensors, exact numerics, every GPT op as naive
 * loops with its accumulation order and rounding stated in its file header, and the GPT forward
 * pass composed from them. Pure TypeScript, no dependencies, any machine.
 */
export * from './dtype.js';
export * from './errors.js';
export * from './tensor.js';
export * from './check.js';
export * from './op-specs.js';

// numerics — the conformance entry points (toF16Bits, fromF16Bits, toBf16Bits, fromBf16Bits,
// toFp8E4m3Bits, fromFp8E4m3Bits, quantizeInt8, expF32, tanhF32, geluF32) are stable API.
export { f32, rni, pow2, scaleByPow2F32, f32ToBits, f32FromBits, ulpDistanceF32 } from './numerics/f32.js';
export {
  type MiniFloatFormat,
  F16,
  BF16,
  FP8_E4M3,
  encodeMiniFloat,
  decodeMiniFloat,
  toF16Bits,
  fromF16Bits,
  toBf16Bits,
  fromBf16Bits,
  toFp8E4m3Bits,
  fromFp8E4m3Bits,
} from './numerics/minifloat.js';
export { satS8, quantizeInt8, dequantizeInt8 } from './numerics/int8.js';
export { expF32, tanhF32, sinF32, cosF32, geluF32, siluF32, TRANSCENDENTAL_CONSTANTS } from './numerics/transcendental.js';

// ops
export * from './ops/gemm.js';
export * from './ops/int8-gemm.js';
export * from './ops/quantize.js';
export * from './ops/fp8.js';
export * from './ops/layernorm.js';
export * from './ops/activation.js';
export * from './ops/softmax.js';
export * from './ops/residual.js';
export * from './ops/rope.js';
export * from './ops/kv-cache.js';
export * from './ops/attention.js';
export * from './ops/embedding.js';
export * from './ops/collectives.js';
export * from './ops/argmax.js';
export * from './ops/sampling.js';

// model
export * from './model/config.js';
export * from './model/weights.js';
export * from './model/gpt.js';

// conformance
export * from './conformance.js';
