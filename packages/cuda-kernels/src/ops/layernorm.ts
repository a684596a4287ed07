/** layernorm on the device — LayerNorm (+1p) and the fused per-token int8 variant (csrc/layernorm.cu). */
import { checkLayerNorm, DEFAULT_LAYERNORM_EPS, expectDType, type ActDType, type LayerNormAttrs, type LayerNormInputs } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

function run(inputs: OnDevice<LayerNormInputs>, attrs: LayerNormAttrs, fused: boolean, stream?: Stream) {
  const { x, gamma, beta } = inputs;
  const [rows, cols] = checkLayerNorm(inputs);
  const y = DeviceTensor.empty(x.dtype, [rows, cols]);
  const q = fused ? DeviceTensor.empty('i8', [rows, cols]) : undefined;
  const scale = fused ? DeviceTensor.empty('f32', [rows]) : undefined;
  native('layerNorm', () =>
    addon().layerNorm({
      x: x.ptr, gamma: gamma.ptr, beta: beta?.ptr, y: y.ptr, q: q?.ptr, qScale: scale?.ptr, rows, cols,
      eps: attrs.eps ?? DEFAULT_LAYERNORM_EPS, weightPlusOne: attrs.weightPlusOne ?? false,
      xDtype: code(x.dtype), gammaDtype: code(gamma.dtype), betaDtype: code(beta?.dtype ?? 'f32'), stream: stream?.handle,
    }),
  );
  return { y, q, scale };
}

export function layerNorm(inputs: OnDevice<LayerNormInputs>, attrs: LayerNormAttrs = {}, stream?: Stream): DeviceTensor<ActDType> {
  return run(inputs, attrs, false, stream).y;
}

/** LayerNorm fused with per-token quantization; the normalized tensor is freed. */
export function layerNormQuantPerToken(inputs: OnDevice<LayerNormInputs>, attrs: LayerNormAttrs = {}, stream?: Stream): { q: DeviceTensor<'i8'>; scale: DeviceTensor<'f32'> } {
  const { y, q, scale } = run(inputs, attrs, true, stream);
  y.free();
  return { q: q!, scale: scale! };
}

/**
 * The production LayerNorm (tier 3): one block per row, the row in registers, fp32 tree sums and
 * rsqrt — not the oracle's serial order, so within the case table's tolerance. Enqueue only.
 */
export function layerNormFast(inputs: OnDevice<LayerNormInputs>, attrs: LayerNormAttrs = {}, stream?: Stream): DeviceTensor<ActDType> {
  const { x, gamma, beta } = inputs;
  const [rows, cols] = checkLayerNorm(inputs);
  expectDType('layerNormFast', 'inputs.gamma', gamma, [x.dtype]);
  if (beta) expectDType('layerNormFast', 'inputs.beta', beta, [x.dtype]);
  const y = DeviceTensor.empty(x.dtype, [rows, cols]);
  native('layerNormFast', () =>
    addon().layerNormFast({
      x: x.ptr, gamma: gamma.ptr, beta: beta?.ptr, y: y.ptr, rows, cols, eps: attrs.eps ?? DEFAULT_LAYERNORM_EPS,
      weightPlusOne: attrs.weightPlusOne ?? false, dtype: code(x.dtype), stream: stream?.handle,
    }),
  );
  return y;
}
