import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ftKvCacheFiles, kvAmaxFile, readFtKvCache, seedKvScaleFile } from './ft-kv.js';
import { writeFtFiles } from './ft.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-ftkv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('KV-cache calibration files (convert -kv)', () => {
  it('writes the seed’s shared scale and our K/V ranges per layer, rank-less fp32, and reads them back as written', () => {
    const files = ftKvCacheFiles(3, { seedScale: 0.0625, amax: { k: 5.5, v: 0.75 } });
    expect([...files.keys()]).toEqual(['model.layers.3.attention.query_key_value.scale_y_quant_orig.bin', 'model.layers.3.attention.query_key_value.kv_cache_amax.bin']);
    const dir = join(work, 'ok');
    mkdirSync(dir);
    writeFtFiles(dir, files);
    expect(readFtKvCache(dir, 3)).toEqual({ amax: { k: 5.5, v: 0.75 }, seedScale: 0.0625 });
    expect(readFtKvCache(dir, 0)).toEqual({}); // nothing for a layer without files
  });
  it('a seed-made checkpoint has only the shared scale', () => {
    const dir = join(work, 'seed');
    mkdirSync(dir);
    writeFtFiles(dir, new Map([...ftKvCacheFiles(0, { seedScale: 0.5, amax: { k: 1, v: 1 } })].filter(([f]) => f === seedKvScaleFile(0))));
    expect(readFtKvCache(dir, 0)).toEqual({ seedScale: 0.5 });
  });
  it('refuses a file of the wrong size, a scale that is not > 0, and a range that is negative or not finite, naming the file', () => {
    const dir = join(work, 'bad');
    mkdirSync(dir);
    writeFtFiles(dir, ftKvCacheFiles(0, { seedScale: 0.5, amax: { k: 1, v: 1 } }));
    writeFileSync(join(dir, kvAmaxFile(0)), Buffer.from(Float32Array.of(1).buffer));
    expect(() => readFtKvCache(dir, 0)).toThrow(/kv_cache_amax\.bin.*expected 8 bytes \(2 fp32\), got 4 bytes/);
    writeFileSync(join(dir, kvAmaxFile(0)), Buffer.from(Float32Array.of(1, Number.NaN).buffer));
    expect(() => readFtKvCache(dir, 0)).toThrow(/layers\.0 V range: expected a finite max \|x\| ≥ 0, got NaN/);
    writeFileSync(join(dir, kvAmaxFile(0)), Buffer.from(Float32Array.of(-2, 1).buffer));
    expect(() => readFtKvCache(dir, 0)).toThrow(/layers\.0 K range: expected a finite max \|x\| ≥ 0, got -2/);
    writeFileSync(join(dir, kvAmaxFile(0)), Buffer.from(Float32Array.of(0, 1).buffer));
    expect(readFtKvCache(dir, 0).amax).toEqual({ k: 0, v: 1 }); // a range of 0 is allowed
    writeFileSync(join(dir, seedKvScaleFile(0)), Buffer.from(Float32Array.of(0).buffer));
    expect(() => readFtKvCache(dir, 0)).toThrow(/scale_y_quant_orig\.bin.*expected a finite scale > 0, got 0/);
  });
});
