// transpose2d moves the bits of each element to its transposed place, for every element width, on
// shapes that are not whole blocks (the blocked walk's edges) and on a view that starts inside its buffer.
import { tensor, type DType } from '@trtllm/ref-math';
import { describe, expect, it } from 'vitest';
import { transpose2d } from './layout.js';

/** The element at [i, j] of [r, c] as its bits, read the plain way. */
function bitsAt(t: { data: ArrayLike<number> }, c: number, i: number, j: number): number {
  return t.data[i * c + j]!;
}

describe('transpose2d', () => {
  const shapes: [number, number][] = [[1, 1], [1, 7], [7, 1], [3, 5], [64, 64], [65, 130], [129, 63]];
  const widths: DType[] = ['i8', 'f16', 'bf16', 'fp8e4m3', 'f32', 'i32'];
  for (const dtype of widths) {
    it(`${dtype}: out[j, i] = in[i, j], bit for bit`, () => {
      for (const [r, c] of shapes) {
        const t = tensor(dtype, [r, c]);
        const d = t.data as unknown as { [k: number]: number; length: number };
        for (let k = 0; k < d.length; k++) d[k] = dtype === 'f32' ? k * 0.5 - 7 : dtype === 'i8' ? (k % 255) - 127 : k % 65536;
        const out = transpose2d(t);
        expect(out.shape).toEqual([c, r]);
        expect(out.dtype).toBe(dtype);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if (bitsAt(out, r, j, i) !== bitsAt(t, c, i, j)) expect.fail(`${dtype} [${r}, ${c}]: out[${j}, ${i}] ≠ in[${i}, ${j}]`);
      }
    });
  }
  it('a NaN payload moves unchanged (f32 as its bits), and a tensor over part of a buffer reads its own part', () => {
    const buf = new Float32Array(2 + 6);
    const bits = new Uint32Array(buf.buffer);
    for (let k = 0; k < 6; k++) bits[2 + k] = 0x7fc00001 + k; // six distinct quiet-NaN payloads
    const t = tensor('f32', [2, 3], buf.subarray(2));
    const out = new Uint32Array((transpose2d(t).data as Float32Array).buffer);
    expect(Array.from(out, (b) => b - 0x7fc00001)).toEqual([0, 3, 1, 4, 2, 5]);
  });
});
