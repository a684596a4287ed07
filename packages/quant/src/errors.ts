/**
 * QuantError: a quantization input or setting that cannot be used, with what was expected, what came
 * and how to fix it (the house error shape: what, expected, got, hint).
 */
export interface QuantErrorData {
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;
}

export class QuantError extends Error {
  override readonly name = 'QuantError';
  readonly data: QuantErrorData;

  constructor(data: QuantErrorData) {
    super(`${data.what}: expected ${data.expected}, got ${data.got}${data.hint ? ` (${data.hint})` : ''}`);
    this.data = data;
  }
}
