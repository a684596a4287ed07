// Calibration text files: JSON lines and plain text, the sample count, and typed errors naming file and line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCalibrationTexts } from './calibration-text.js';
import { sharedData } from '@trtllm/ref-math/testing';

const work = mkdtempSync(join(tmpdir(), 'trtllm-calib-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
};

describe('readCalibrationTexts', () => {
  it('reads JSON lines ("text", other fields ignored, blank lines skipped) and plain text lines, the first N', () => {
    const j = file('a.jsonl', '{"text": "one", "id": 1}\n\n{"text": "two \\u00e9"}\n{"text": "three"}\n');
    expect(readCalibrationTexts(j)).toEqual(['one', 'two é', 'three']);
    expect(readCalibrationTexts(j, { samples: 2 })).toEqual(['one', 'two é']);
    expect(readCalibrationTexts(file('a.txt', 'first line\r\nsecond {x}\n\n'))).toEqual(['first line', 'second {x}']);
  });
  it('a missing, empty or malformed file is a typed error naming the file and line', () => {
    expect(() => readCalibrationTexts(join(work, 'none.jsonl'))).toThrow(/none\.jsonl.*expected a calibration file/);
    expect(() => readCalibrationTexts(file('e.jsonl', '\n \n'))).toThrow(/e\.jsonl.*got an empty file/);
    expect(() => readCalibrationTexts(file('b.jsonl', '{"text": "ok"}\n{"text": "cut'))).toThrow(/b\.jsonl.*line 2.*expected a JSON object/);
    expect(() => readCalibrationTexts(file('c.jsonl', '{"text": "ok"}\n{"body": "x"}'))).toThrow(/c\.jsonl.*line 2.*got no "text" field/);
    expect(() => readCalibrationTexts(file('d.jsonl', '{"text": ""}'))).toThrow(/line 1.*expected a non-empty "text" string/);
  });
  const calib = sharedData('data/sotu/calib.jsonl');
  it.skipIf(calib.skip)(calib.title("reads shared/data's sotu calib.jsonl: 512 samples"), () => {
    const t = readCalibrationTexts(calib.path);
    expect(t).toHaveLength(512);
    expect(t[0]).toMatch(/^Fellow-Citizens of the Senate/);
  });
});
