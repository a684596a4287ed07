/**
 * Typed errors of the oracle. Every op validates at its entry and throws one of these, carrying the
 * op name, what it expected, what it got and (where one exists) a hint at the fix, so a caller can
 * branch on `err.kind` and a person can read `err.message`.
 */

export type RefMathErrorKind = 'shape' | 'dtype' | 'attr' | 'range';

export interface RefMathErrorData {
  /** Op or function that rejected its input, e.g. `gemm`. */
  readonly op: string;
  /** Which input or attribute, e.g. `inputs.b` or `attrs.tokensPerBlock`. */
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;
}

export class RefMathError extends Error implements RefMathErrorData {
  readonly kind: RefMathErrorKind;
  readonly op: string;
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;

  constructor(kind: RefMathErrorKind, data: RefMathErrorData) {
    const hint = data.hint ? ` (${data.hint})` : '';
    super(`${data.op}: ${data.what}: expected ${data.expected}, got ${data.got}${hint}`);
    this.name = new.target.name;
    this.kind = kind;
    this.op = data.op;
    this.what = data.what;
    this.expected = data.expected;
    this.got = data.got;
    if (data.hint !== undefined) this.hint = data.hint;
  }
}

/** A tensor's shape does not fit the op. */
export class ShapeError extends RefMathError {
  constructor(data: RefMathErrorData) {
    super('shape', data);
  }
}

/** A tensor's dtype is not one the op accepts. */
export class DTypeError extends RefMathError {
  constructor(data: RefMathErrorData) {
    super('dtype', data);
  }
}

/** An attribute (a non-tensor argument) is out of its domain. */
export class AttrError extends RefMathError {
  constructor(data: RefMathErrorData) {
    super('attr', data);
  }
}

/** An index (a token id, a position, a block id) is out of range. */
export class IndexRangeError extends RefMathError {
  constructor(data: RefMathErrorData) {
    super('range', data);
  }
}
