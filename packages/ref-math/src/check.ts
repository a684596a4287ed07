/** Input validation used at every op's entry: each failure is a typed error naming op, input, expected and got. */
import type { DType } from './dtype.js';
import { AttrError, DTypeError, ShapeError } from './errors.js';
import type { Tensor } from './tensor.js';

const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`;

/** Assert `t.dtype` is one of `allowed`. */
export function expectDType<D extends DType>(op: string, what: string, t: Tensor, allowed: readonly D[]): asserts t is Tensor<D> {
  if (!(allowed as readonly DType[]).includes(t.dtype)) {
    throw new DTypeError({ op, what, expected: allowed.join(' | '), got: t.dtype });
  }
}

/** Assert two tensors share a dtype. */
export function expectSameDType(op: string, what: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) throw new DTypeError({ op, what, expected: a.dtype, got: b.dtype });
}

/**
 * Assert `t.shape` matches `expected`, where a number must match exactly and a string names a
 * dimension from the glossary (B, T, H, …) that may take any size; returns the shape for destructuring.
 */
export function expectShape(op: string, what: string, t: Tensor, expected: readonly (number | string)[]): readonly number[] {
  const ok = t.shape.length === expected.length && expected.every((d, i) => typeof d === 'string' || d === t.shape[i]);
  if (!ok) throw new ShapeError({ op, what, expected: fmt(expected), got: fmt(t.shape) });
  return t.shape;
}

/** Assert an attribute holds; `expected` says what the domain is. */
export function expectAttr(op: string, what: string, ok: boolean, expected: string, got: unknown): void {
  if (!ok) throw new AttrError({ op, what, expected, got: String(got) });
}
