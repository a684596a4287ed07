// Every device op, re-exported under the same names as @trtllm/ref-math's.
export * from './gemm.js';
export * from './int8-gemm.js';
export * from './quantize.js';
export * from './fp8.js';
export * from './layernorm.js';
export * from './activation.js';
export * from './softmax.js';
export * from './residual.js';
export * from './rope.js';
export * from './kv-cache.js';
export * from './attention.js';
export * from './embedding.js';
export * from './collectives.js';
export * from './argmax.js';
export * from './sampling.js';
