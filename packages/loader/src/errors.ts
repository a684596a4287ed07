/**
 * Typed loader errors: every one names the file, and the tensor or key where there is one, says
 * what was expected and what was found, and how to fix it.
 */
export type LoaderErrorKind = 'io' | 'format' | 'missing' | 'dtype' | 'shape';

export interface LoaderErrorData {
  readonly file: string;
  /** The tensor, config key or token concerned, when there is one. */
  readonly item?: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;
}

export class LoaderError extends Error implements LoaderErrorData {
  readonly kind: LoaderErrorKind;
  readonly file: string;
  readonly item?: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;

  constructor(kind: LoaderErrorKind, d: LoaderErrorData) {
    super(`${d.file}${d.item ? `: ${d.item}` : ''}: expected ${d.expected}, got ${d.got}${d.hint ? ` (${d.hint})` : ''}`);
    this.name = 'LoaderError';
    this.kind = kind;
    this.file = d.file;
    if (d.item !== undefined) this.item = d.item;
    this.expected = d.expected;
    this.got = d.got;
    if (d.hint !== undefined) this.hint = d.hint;
  }
}
