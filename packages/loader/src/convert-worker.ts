/**
 * Worker-thread entry of `convertHfToFt` (`-p N`): converts the tensors it is dealt and reports
 * bytes written after each; a failure is posted with the LoaderError's data so the parent can
 * rethrow the same typed error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runConvertJob, type ConvertJob } from './convert.js';
import { LoaderError } from './errors.js';

const port = parentPort!;
try {
  runConvertJob(workerData as ConvertJob, (bytes) => port.postMessage({ type: 'progress', bytes }));
  port.postMessage({ type: 'done' });
} catch (e) {
  const err = e as Error;
  const data = e instanceof LoaderError ? { kind: e.kind, file: e.file, item: e.item, expected: e.expected, got: e.got, hint: e.hint } : {};
  port.postMessage({ type: 'error', error: { name: err.name, message: err.message, ...data } });
}
