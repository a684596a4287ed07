/**
 * Typed errors of the CUDA backend. Argument problems reuse ref-math's ShapeError / DTypeError /
 * IndexRangeError (same messages on both backends); these cover what only a device can get wrong.
 */

/** Kernels cannot run here: the addon is not built, or there is no driver or device. */
export class CudaUnavailableError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`CUDA backend unavailable: ${reason}`);
    this.name = 'CudaUnavailableError';
    this.reason = reason;
  }
}

/** A CUDA runtime failure inside an op (out of memory, launch failure …), with the op and the native file:line. */
export class CudaRuntimeError extends Error {
  readonly op: string;
  constructor(op: string, message: string) {
    super(message.startsWith(`${op}:`) ? message : `${op}: ${message}`);
    this.name = 'CudaRuntimeError';
    this.op = op;
  }
}

/** A device tensor used after free(). */
export class FreedTensorError extends Error {
  constructor(what: string) {
    super(`${what}: the device tensor was freed; allocate a new one`);
    this.name = 'FreedTensorError';
  }
}

/** Run a native call, turning its exceptions into typed errors. */
export function native<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && !(e instanceof CudaUnavailableError) && !(e instanceof FreedTensorError)) {
      throw new CudaRuntimeError(op, e.message);
    }
    throw e;
  }
}
