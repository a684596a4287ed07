/**
 * Calibration text for `trtllm convert -sq / -kv` (the seed reads lambada's `text` field; nothing can
 * be downloaded here, so the user gives a file): JSON lines, one `{"text": "…"}` object per line (other
 * fields ignored), or plain text, one sample per non-empty line. Which one is decided by the first
 * non-empty line: `{` starts JSON lines. The first `samples` are returned, in file order.
 */
import { readFileSync } from 'node:fs';
import { LoaderError } from './errors.js';

export function readCalibrationTexts(file: string, o: { readonly samples?: number } = {}): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LoaderError('missing', { file, expected: 'a calibration file (JSON lines with a "text" field, or plain text, one sample per line)', got: (e as Error).message });
  }
  const want = o.samples ?? Infinity;
  const lines = text.split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined) throw new LoaderError('format', { file, expected: 'calibration samples (JSON lines with a "text" field, or plain text lines)', got: 'an empty file' });
  const jsonl = first.trimStart().startsWith('{');
  const out: string[] = [];
  for (let i = 0; i < lines.length && out.length < want; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (!jsonl) {
      out.push(line);
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new LoaderError('format', { file, item: `line ${i + 1}`, expected: 'a JSON object with a "text" string (JSON lines)', got: (e as Error).message });
    }
    const t = (v as { text?: unknown } | null)?.text;
    if (typeof t !== 'string' || t === '') throw new LoaderError('format', { file, item: `line ${i + 1}`, expected: 'a non-empty "text" string', got: t === undefined ? 'no "text" field' : JSON.stringify(t).slice(0, 40) });
    out.push(t);
  }
  return out;
}
