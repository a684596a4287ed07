/**
 * @trtllm/quant — quantization as TensorRT-LLM defines it: the QuantMode bits and a typed
 * QuantConfig (SmoothQuant INT8, FP8, INT8/FP8 KV cache), and SmoothQuant's INT8 weights and scales
 * as the seed's converter computes them (`generateInt8`), and SmoothQuant's smoothing (`smoothingScales`,
 * `applySmoothing`). The arithmetic of quantized ops lives in
 * @trtllm/ref-math (quantize, int8-gemm, fp8, kv-cache); this package decides scales.
 */
export { QuantError, type QuantErrorData } from './errors.js';
export { QUANT_MODE, NO_QUANT, quantModeOf, quantConfigOf, kvCacheDTypeOf, type QuantConfig, type WeightQuant, type KvCacheQuant } from './quant-mode.js';
export { generateInt8, generateInt8Weight, columnAbsMax, type ActRange, type Int8Weights } from './int8-weights.js';
export { smoothingScales, applySmoothing } from './smoothing.js';
export { generateFp8, FP8_E4M3_MAX, type Fp8Weights } from './fp8-weights.js';
export { kvCacheScale, kvCacheScales, kvAmaxOfQkv, seedKvScale, type KvAmax, type KvScaleKind } from './kv-scales.js';
