/** gemm on the device — reference order, bit-exact to ref-math gemm (csrc/gemm.cu). */
import { expectDType, expectShape, matmulLayout, type ActDType, type GemmAttrs, type GemmInputs } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

export function gemm(inputs: OnDevice<GemmInputs>, attrs: GemmAttrs = {}, stream?: Stream): DeviceTensor<ActDType> {
  const { a, b, bias } = inputs;
  expectDType('gemm', 'inputs.a', a, ACT);
  expectDType('gemm', 'inputs.b', b, [a.dtype]);
  const l = matmulLayout('gemm', a, b, attrs.transA, attrs.transB);
  if (bias) {
    expectDType('gemm', 'inputs.bias', bias, ACT);
    expectShape('gemm', 'inputs.bias', bias, [l.n]);
  }
  const c = DeviceTensor.empty(attrs.outDtype ?? a.dtype, [l.m, l.n]);
  native('gemm', () =>
    addon().gemm({
      a: a.ptr, b: b.ptr, bias: bias?.ptr, c: c.ptr, m: l.m, n: l.n, k: l.k,
      transA: attrs.transA ?? false, transB: attrs.transB ?? false,
      inDtype: code(a.dtype), biasDtype: code(bias?.dtype ?? 'f32'), outDtype: code(c.dtype), stream: stream?.handle,
    }),
  );
  return c;
}
