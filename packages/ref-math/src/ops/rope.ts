/**
 * rope — rotary position embedding, GPT-NeoX "rotate half", on the first rotaryDim dims of each head.
 *
 * Table (built once on the host, uploaded to the GPU as is; kernels never recompute it):
 *   invFreq_i = fp32(base^(−2i / rotaryDim))           i = 0 … rotaryDim/2 − 1, binary64 pow, one rounding
 *   θ_{t,i}   = fp32(t · invFreq_i)
 *   cos_{t,i} = cosF32(θ_{t,i}),  sin_{t,i} = sinF32(θ_{t,i})   (numerics/transcendental.ts)
 * Apply, per token t (at position p_t), per head, with h = rotaryDim / 2 and i < h:
 *   y_i     = cast_T(fp32(fp32(x_i · cos) − fp32(x_{i+h} · sin)))
 *   y_{i+h} = cast_T(fp32(fp32(x_{i+h} · cos) + fp32(x_i · sin)))
 *   y_d     = x_d for d ≥ rotaryDim (copied bit for bit)
 * Shapes: x [T, NH, HS] (queries) or [T, NKV, HS] (keys), positions i32 [T], table rows P.
 * Rounding: each product and the sum rounded to fp32, then one cast to T; no FMA. Exact on every
 * kernel (tier 1), given the same table.
 */
import { expectAttr, expectDType, expectShape, type Shaped } from '../check.js';
import type { ActDType } from '../dtype.js';
import { IndexRangeError } from '../errors.js';
import { f32 } from '../numerics/f32.js';
import { cosF32, sinF32 } from '../numerics/transcendental.js';
import type { RopeInputs, RopeTable } from '../op-specs.js';
import { encodeValue, tensor, toF32, type Tensor } from '../tensor.js';

export const DEFAULT_ROPE_BASE = 10000;

/** Rotated dims for a head size and rotary_pct: floor(HS · pct), which must be even. */
export function rotaryDimOf(headSize: number, rotaryPct: number): number {
  const dim = Math.floor(headSize * rotaryPct);
  expectAttr('rotaryDimOf', 'rotary_pct', rotaryPct > 0 && rotaryPct <= 1 && dim % 2 === 0 && dim > 0,
    `0 < rotary_pct ≤ 1 with floor(head_size · rotary_pct) even and > 0 (head_size ${headSize})`, rotaryPct);
  return dim;
}

/** The cos/sin table for positions 0 … maxPositions − 1. */
export function ropeTable(maxPositions: number, rotaryDim: number, base = DEFAULT_ROPE_BASE): RopeTable {
  expectAttr('ropeTable', 'rotaryDim', Number.isInteger(rotaryDim) && rotaryDim > 0 && rotaryDim % 2 === 0, 'an even integer > 0', rotaryDim);
  expectAttr('ropeTable', 'maxPositions', Number.isInteger(maxPositions) && maxPositions > 0, 'an integer > 0', maxPositions);
  const half = rotaryDim / 2;
  const invFreq = tensor('f32', [half]);
  for (let i = 0; i < half; i++) invFreq.data[i] = f32(Math.pow(base, (-2 * i) / rotaryDim));
  const cos = tensor('f32', [maxPositions, half]);
  const sin = tensor('f32', [maxPositions, half]);
  for (let t = 0; t < maxPositions; t++) {
    for (let i = 0; i < half; i++) {
      const theta = f32(t * invFreq.data[i]!);
      cos.data[t * half + i] = cosF32(theta);
      sin.data[t * half + i] = sinF32(theta);
    }
  }
  return { rotaryDim, base, invFreq, cos, sin };
}

/** The rope op's input checks, shared by every backend: returns [T, heads, HS]. */
export function checkRope(x: Shaped, positions: Shaped, rotaryDim: number): [number, number, number] {
  expectDType('rope', 'inputs.x', x, ['f32', 'f16', 'bf16']);
  const [tokens, heads, hs] = expectShape('rope', 'inputs.x', x, ['T', 'NH', 'HS']) as [number, number, number];
  expectDType('rope', 'inputs.positions', positions, ['i32']);
  expectShape('rope', 'inputs.positions', positions, [tokens]);
  expectAttr('rope', 'table.rotaryDim', rotaryDim <= hs, `≤ head size ${hs}`, rotaryDim);
  return [tokens, heads, hs];
}

export function rope(inputs: RopeInputs): Tensor<ActDType> {
  const { x, positions, table } = inputs;
  const [tokens, heads, hs] = checkRope(x, positions, table.rotaryDim);
  const half = table.rotaryDim / 2;
  const maxPos = table.cos.shape[0]!;
  const xv = toF32(x);
  const out = tensor(x.dtype, x.shape);
  out.data.set(x.data);
  for (let t = 0; t < tokens; t++) {
    const p = positions.data[t]!;
    if (p < 0 || p >= maxPos) {
      throw new IndexRangeError({ op: 'rope', what: `inputs.positions[${t}]`, expected: `0 ≤ position < ${maxPos} (table rows)`, got: `${p}`, hint: 'build the table for more positions' });
    }
    for (let head = 0; head < heads; head++) {
      const base = (t * heads + head) * hs;
      for (let i = 0; i < half; i++) {
        const c = table.cos.data[p * half + i]!;
        const s = table.sin.data[p * half + i]!;
        const x1 = xv[base + i]!;
        const x2 = xv[base + i + half]!;
        out.data[base + i] = encodeValue(x.dtype, f32(f32(x1 * c) - f32(x2 * s)));
        out.data[base + i + half] = encodeValue(x.dtype, f32(f32(x2 * c) + f32(x1 * s)));
      }
    }
  }
  return out;
}
