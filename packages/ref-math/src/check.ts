/**
 * Input validation used at every op's entry: each failure is a typed error naming op, input,
 * expected and got. The checks take anything with a dtype and a shape, so the CUDA backend
 * validates its device tensors with the same code and messages.
 */
import type { DType } from './dtype.js';
import { AttrError, DTypeError, ShapeError } from './errors.js';

/** What validation needs of a tensor: a host Tensor or a device tensor alike. */
export interface Shaped {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`;

/** Assert `t.dtype` is one of `allowed`. */
export function expectDType<D extends DType, T extends Shaped>(op: string, what: string, t: T, allowed: readonly D[]): asserts t is T & { readonly dtype: D } {
  if (!(allowed as readonly DType[]).includes(t.dtype)) {
    throw new DTypeError({ op, what, expected: allowed.join(' | '), got: t.dtype });
  }
}

/** Assert two tensors share a dtype. */
export function expectSameDType(op: string, what: string, a: Shaped, b: Shaped): void {
  if (a.dtype !== b.dtype) throw new DTypeError({ op, what, expected: a.dtype, got: b.dtype });
}

/**
 * Assert `t.shape` matches `expected`, where a number must match exactly and a string names a
 * dimension from the glossary (B, T, H, …) that may take any size; returns the shape for destructuring.
 */
export function expectShape(op: string, what: string, t: Shaped, expected: readonly (number | string)[]): readonly number[] {
  const ok = t.shape.length === expected.length && expected.every((d, i) => typeof d === 'string' || d === t.shape[i]);
  if (!ok) throw new ShapeError({ op, what, expected: fmt(expected), got: fmt(t.shape) });
  return t.shape;
}

/** Assert an attribute holds; `expected` says what the domain is. */
export function expectAttr(op: string, what: string, ok: boolean, expected: string, got: unknown): void {
  if (!ok) throw new AttrError({ op, what, expected, got: String(got) });
}
