/** layernorm on the device — LayerNorm (+1p), the fused per-token int8 variant, the production LayerNorm and its SmoothQuant variant (csrc/layernorm.cu). */
import { checkLayerNorm, DEFAULT_LAYERNORM_EPS, expectAttr, expectDType, type ActDType, type LayerNormAttrs, type LayerNormInputs } from '@trtllm/ref-math';
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

/**
 * SmoothQuant: layerNormFast's output quantized to int8 in the same kernel — per token (`perToken`:
 * each row's rowMax = max(1e-6, max |y|), q = sat(rni(fp32(y · fp32(127/rowMax)))), scale = fp32(rowMax/127),
 * as quantizePerToken) or per tensor with the static multiplier `scale` (as quantizePerTensor) — of the
 * output as rounded to T. `keepOutput` also returns y. Tier 3 like layerNormFast (its sums); the
 * quantization of y is exact.
 */
export function layerNormFastQuant(
  inputs: OnDevice<LayerNormInputs>,
  attrs: LayerNormAttrs & { readonly quant: { readonly perToken: true } | { readonly perToken: false; readonly scale: number }; readonly keepOutput?: boolean },
  stream?: Stream,
): { q: DeviceTensor<'i8'>; scale?: DeviceTensor<'f32'>; y?: DeviceTensor<ActDType> } {
  const op = 'layerNormFastQuant';
  const { x, gamma, beta } = inputs;
  const [rows, cols] = checkLayerNorm(inputs);
  expectDType(op, 'inputs.gamma', gamma, [x.dtype]);
  if (beta) expectDType(op, 'inputs.beta', beta, [x.dtype]);
  const qa = attrs.quant;
  if (!qa.perToken) expectAttr(op, 'attrs.quant.scale', Number.isFinite(qa.scale) && qa.scale > 0, 'a finite scale > 0', qa.scale);
  const q = DeviceTensor.empty('i8', [rows, cols]);
  const scale = qa.perToken ? DeviceTensor.empty('f32', [rows]) : undefined;
  const y = attrs.keepOutput ? DeviceTensor.empty(x.dtype, [rows, cols]) : undefined;
  native(op, () =>
    addon().layerNormFast({
      x: x.ptr, gamma: gamma.ptr, beta: beta?.ptr, y: y?.ptr, rows, cols, eps: attrs.eps ?? DEFAULT_LAYERNORM_EPS,
      weightPlusOne: attrs.weightPlusOne ?? false, dtype: code(x.dtype), q: q.ptr, qScale: scale?.ptr, qStatic: qa.perToken ? 0 : qa.scale, stream: stream?.handle,
    }),
  );
  return { q, ...(scale ? { scale } : {}), ...(y ? { y } : {}) };
}

/**
 * FP8: layerNormFast's output quantized to e4m3 in the same kernel with the static multiplier `scale`
 * — q = e4m3(fp32(y · scale)), as quantizeFp8 — of the output as rounded to T. `keepOutput` also
 * returns y. Tier 3 like layerNormFast (its sums); the quantization of y is exact.
 */
export function layerNormFastFp8(inputs: OnDevice<LayerNormInputs>, attrs: LayerNormAttrs & { readonly scale: number; readonly keepOutput?: boolean }, stream?: Stream): { q: DeviceTensor<'fp8e4m3'>; y?: DeviceTensor<ActDType> } {
  const op = 'layerNormFastFp8';
  const { x, gamma, beta } = inputs;
  const [rows, cols] = checkLayerNorm(inputs);
  expectDType(op, 'inputs.gamma', gamma, [x.dtype]);
  if (beta) expectDType(op, 'inputs.beta', beta, [x.dtype]);
  expectAttr(op, 'attrs.scale', Number.isFinite(attrs.scale) && attrs.scale > 0, 'a finite scale > 0', attrs.scale);
  const q = DeviceTensor.empty('fp8e4m3', [rows, cols]);
  const y = attrs.keepOutput ? DeviceTensor.empty(x.dtype, [rows, cols]) : undefined;
  native(op, () =>
    addon().layerNormFast({
      x: x.ptr, gamma: gamma.ptr, beta: beta?.ptr, y: y?.ptr, rows, cols, eps: attrs.eps ?? DEFAULT_LAYERNORM_EPS,
      weightPlusOne: attrs.weightPlusOne ?? false, dtype: code(x.dtype), qFp8: q.ptr, fp8Scale: attrs.scale, stream: stream?.handle,
    }),
  );
  return { q, ...(y ? { y } : {}) };
}
