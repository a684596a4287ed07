/**
 * Typed engine errors: each names what is wrong (a build flag, an engine file, a request field),
 * what was expected, what was found, and the fix.
 */
export type EngineErrorKind = 'config' | 'format' | 'capacity' | 'request' | 'backend';

export interface EngineErrorData {
  /** The flag, file or field concerned (`--paged_kv_cache`, `…/config.json`, `request 3: maxNewTokens`). */
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;
}

export class EngineError extends Error implements EngineErrorData {
  readonly kind: EngineErrorKind;
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  readonly hint?: string;

  constructor(kind: EngineErrorKind, d: EngineErrorData) {
    super(`${d.what}: expected ${d.expected}, got ${d.got}${d.hint ? ` (${d.hint})` : ''}`);
    this.name = 'EngineError';
    this.kind = kind;
    this.what = d.what;
    this.expected = d.expected;
    this.got = d.got;
    if (d.hint !== undefined) this.hint = d.hint;
  }
}
