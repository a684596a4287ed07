/** rope on the device — NeoX rotate-half with the host-built table (csrc/rope.cu). */
import { checkRope, type ActDType, type RopeTable } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, throwIfFlagged } from '../launch.js';

/** The rope table uploaded once: keep it for the model's lifetime. */
export interface DeviceRopeTable {
  readonly rotaryDim: number;
  readonly cos: DeviceTensor<'f32'>;
  readonly sin: DeviceTensor<'f32'>;
}

export function uploadRopeTable(table: RopeTable, stream?: Stream): DeviceRopeTable {
  return { rotaryDim: table.rotaryDim, cos: DeviceTensor.from(table.cos, stream), sin: DeviceTensor.from(table.sin, stream) };
}

export function rope(inputs: { readonly x: DeviceTensor<ActDType>; readonly positions: DeviceTensor<'i32'>; readonly table: DeviceRopeTable }, stream?: Stream): DeviceTensor<ActDType> {
  const { x, positions, table } = inputs;
  const [tokens, heads, hs] = checkRope(x, positions, table.rotaryDim);
  const y = DeviceTensor.empty(x.dtype, x.shape);
  const tablePositions = table.cos.shape[0]!;
  const flag = native('rope', () =>
    addon().rope({
      x: x.ptr, y: y.ptr, positions: positions.ptr, cos: table.cos.ptr, sin: table.sin.ptr, tokens, heads, headSize: hs,
      rotaryDim: table.rotaryDim, tablePositions, dtype: code(x.dtype), stream: stream?.handle,
    }),
  );
  if (flag !== 0) y.free();
  throwIfFlagged(flag, 'rope', 'inputs.positions', `0 ≤ position < ${tablePositions} (table rows)`);
  return y;
}
