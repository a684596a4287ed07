// SmoothQuant INT8 files of an FT checkpoint: names and splits as the seed's write_int8 writes them,
// read back whole for any TP, and the typed errors a missing, truncated or hand-broken file gets.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gptConfig, tensor, type Tensor } from '@trtllm/ref-math';
import { ftInt8Files, INT8_ARRAYS, int8Shapes, readFtInt8, type Int8Arrays } from './ft-int8.js';
import { writeFtFiles } from './ft.js';
import { LoaderError } from './errors.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-ftint8-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const config = gptConfig({ vocabSize: 10, nPositions: 8, nEmbd: 8, nHead: 2, nLayer: 1, dtype: 'f32' });
const mqa = gptConfig({ vocabSize: 10, nPositions: 8, nEmbd: 8, nHead: 4, nKvHead: 1, nLayer: 1, dtype: 'f32' });

/** Distinct values per array (int8 counting, scales 0.5 + i/64) in the layer's full shapes. */
function arrays(linear: 'qkv' | 'attnOut' | 'fc' | 'proj', c = config): Int8Arrays {
  const shapes = int8Shapes(c, linear);
  const out = {} as Record<string, Tensor>;
  for (const name of INT8_ARRAYS) {
    const n = shapes[name].reduce((a, b) => a * b, 1);
    out[name] = name.startsWith('weight') ? tensor('i8', shapes[name], Int8Array.from({ length: n }, (_, i) => (i % 251) - 125)) : tensor('f32', shapes[name], Float32Array.from({ length: n }, (_, i) => 0.5 + i / 64));
  }
  return out as Int8Arrays;
}

describe('ft-int8', () => {
  it("names the files as write_int8 does: weights per rank, last-axis layers' .col scales per rank, the rest once", () => {
    const names = (l: 'qkv' | 'proj') => [...ftInt8Files(config, 0, l, 2, arrays(l)).keys()].sort();
    expect(names('qkv')).toEqual([
      'model.layers.0.attention.query_key_value.scale_w_quant_orig.bin',
      'model.layers.0.attention.query_key_value.scale_w_quant_orig.col.0.bin',
      'model.layers.0.attention.query_key_value.scale_w_quant_orig.col.1.bin',
      'model.layers.0.attention.query_key_value.scale_x_orig_quant.bin',
      'model.layers.0.attention.query_key_value.scale_y_accum_quant.bin',
      'model.layers.0.attention.query_key_value.scale_y_accum_quant.col.0.bin',
      'model.layers.0.attention.query_key_value.scale_y_accum_quant.col.1.bin',
      'model.layers.0.attention.query_key_value.scale_y_quant_orig.bin',
      'model.layers.0.attention.query_key_value.weight.int8.0.bin',
      'model.layers.0.attention.query_key_value.weight.int8.1.bin',
      'model.layers.0.attention.query_key_value.weight.int8.col.0.bin',
      'model.layers.0.attention.query_key_value.weight.int8.col.1.bin',
    ]);
    expect(names('proj').filter((n) => n.includes('.col'))).toEqual(['model.layers.0.mlp.dense_4h_to_h.scale_w_quant_orig.col.bin', 'model.layers.0.mlp.dense_4h_to_h.scale_y_accum_quant.col.bin', 'model.layers.0.mlp.dense_4h_to_h.weight.int8.col.0.bin', 'model.layers.0.mlp.dense_4h_to_h.weight.int8.col.1.bin']);
  });
  it('splits QKV [H, 3, H] on its last axis (each rank: [H, 3, H/TP]) and proj on its rows', () => {
    const q = ftInt8Files(config, 0, 'qkv', 2, arrays('qkv')).get('model.layers.0.attention.query_key_value.weight.int8.1.bin')!;
    expect(q.shape).toEqual([8, 3, 4]);
    expect(Array.from(q.data.slice(0, 4))).toEqual([-121, -120, -119, -118]); // row 0, Q part, columns 4…7
    const p = ftInt8Files(config, 0, 'proj', 2, arrays('proj')).get('model.layers.0.mlp.dense_4h_to_h.weight.int8.1.bin')!;
    expect(p.shape).toEqual([16, 8]);
    expect(p.data[0]).toBe((16 * 8) % 251 - 125);
  });
  for (const tp of [1, 2, 4]) {
    it(`reads every layer back whole, TP ${tp}`, () => {
      const dir = join(work, `tp${tp}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const l of ['qkv', 'attnOut', 'fc', 'proj'] as const) writeFtFiles(dir, ftInt8Files(config, 0, l, tp, arrays(l)));
      for (const l of ['qkv', 'attnOut', 'fc', 'proj'] as const) {
        const got = readFtInt8(dir, config, tp, 0, l);
        const want = arrays(l);
        for (const name of INT8_ARRAYS) expect([got[name].shape, Array.from(got[name].data)], `${l} ${name}`).toEqual([want[name].shape, Array.from(want[name].data)]);
      }
    });
  }
  it('multi-query QKV [H, H + 2·HS]: each rank its Q columns and a copy of K and V; read back whole; a K/V that differs between ranks is refused', () => {
    const dir = join(work, 'mqa');
    mkdirSync(dir, { recursive: true });
    const a = arrays('qkv', mqa);
    expect(a['weight.int8'].shape).toEqual([8, 12]);
    const files = ftInt8Files(mqa, 0, 'qkv', 2, a);
    const r1 = files.get('model.layers.0.attention.query_key_value.weight.int8.1.bin')!;
    expect(r1.shape).toEqual([8, 8]);
    expect(Array.from(r1.data.slice(0, 8))).toEqual([4, 5, 6, 7, 8, 9, 10, 11].map((j) => j - 125)); // Q columns 4…7, then K, V (8…11)
    expect(files.get('model.layers.0.attention.query_key_value.scale_w_quant_orig.col.1.bin')!.shape).toEqual([8]);
    writeFtFiles(dir, files);
    const got = readFtInt8(dir, mqa, 2, 0, 'qkv');
    for (const name of INT8_ARRAYS) expect(Array.from(got[name].data), name).toEqual(Array.from(a[name].data));
    const bad = files.get('model.layers.0.attention.query_key_value.weight.int8.1.bin')!;
    bad.data[8 + 5] = 0; // row 1, a K column
    writeFtFiles(dir, new Map([['model.layers.0.attention.query_key_value.weight.int8.1.bin', bad]]));
    expect(() => readFtInt8(dir, mqa, 2, 0, 'qkv')).toThrow(/weight\.int8\.1\.bin.*expected the multi-query K\/V columns equal to rank 0, got a difference in row 1/);
  });
  it('reads only the arrays asked for (an engine: its mode’s weight and scales), the same as the whole read', () => {
    const dir = join(work, 'some');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFtFiles(dir, ftInt8Files(config, 0, 'fc', 2, arrays('fc')));
    const names = ['weight.int8.col', 'scale_w_quant_orig.col', 'scale_x_orig_quant'] as const;
    const whole = readFtInt8(dir, config, 2, 0, 'fc');
    for (const r of [0, 1]) rmSync(join(dir, `model.layers.0.mlp.dense_h_to_4h.weight.int8.${r}.bin`)); // the per-tensor weight, not asked for
    const got = readFtInt8(dir, config, 2, 0, 'fc', names);
    expect(Object.keys(got).sort()).toEqual([...names].sort());
    for (const name of names) expect(Array.from(got[name].data), name).toEqual(Array.from(whole[name].data));
    expect(() => readFtInt8(dir, config, 2, 0, 'fc')).toThrow(/weight\.int8\.0\.bin.*convert with -sq/);
  });
  it('a missing file says to convert with -sq; a truncated one, a zero or NaN scale are typed errors naming the file', () => {
    const dir = join(work, 'tp2');
    expect(() => readFtInt8(join(work, 'none'), config, 1, 0, 'fc')).toThrow(/convert with -sq/);
    truncateSync(join(dir, 'model.layers.0.mlp.dense_h_to_4h.weight.int8.1.bin'), 10);
    expect(() => readFtInt8(dir, config, 2, 0, 'fc')).toThrow(/dense_h_to_4h\.weight\.int8\.1\.bin.*expected 128 bytes .*got 10 bytes/);
    writeFileSync(join(dir, 'model.layers.0.attention.dense.scale_x_orig_quant.bin'), Buffer.from(Float32Array.of(0).buffer));
    expect(() => readFtInt8(dir, config, 2, 0, 'attnOut')).toThrow(LoaderError);
    writeFileSync(join(dir, 'model.layers.0.attention.dense.scale_x_orig_quant.bin'), Buffer.from(Float32Array.of(Number.NaN).buffer));
    expect(() => readFtInt8(dir, config, 2, 0, 'attnOut')).toThrow(/scale_x_orig_quant\.bin.*expected finite scales > 0, got NaN/);
  });
});

