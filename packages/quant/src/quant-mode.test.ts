// QuantConfig ↔ TensorRT-LLM's quant_mode: the values TensorRT-LLM's QuantMode gives for the seed's
// build flags, both directions, and typed refusals for modes this engine does not build.
import { describe, expect, it } from 'vitest';
import { QuantError } from './errors.js';
import { NO_QUANT, QUANT_MODE, quantConfigOf, quantModeOf, type QuantConfig } from './quant-mode.js';

describe('quant_mode', () => {
  // QuantMode.use_smooth_quant(per_token, per_channel) = INT8_WEIGHTS | ACTIVATIONS (+ PER_TOKEN 16, PER_CHANNEL 8); KV bits 64 / 128; FP8_QDQ 256
  const table: [string, QuantConfig, number][] = [
    ['none', NO_QUANT, 0],
    ['--use_smooth_quant', { weights: { kind: 'smoothquant', perToken: false, perChannel: false }, kv: 'float' }, 6],
    ['--use_smooth_quant --per_token --per_channel', { weights: { kind: 'smoothquant', perToken: true, perChannel: true }, kv: 'float' }, 30],
    ['--use_smooth_quant --per_channel --int8_kv_cache', { weights: { kind: 'smoothquant', perToken: false, perChannel: true }, kv: 'int8' }, 78],
    ['--int8_kv_cache', { weights: { kind: 'none' }, kv: 'int8' }, 64],
    ['--enable_fp8 --fp8_kv_cache', { weights: { kind: 'fp8' }, kv: 'fp8' }, 384],
  ];
  for (const [flags, config, mode] of table) {
    it(`${flags} → ${mode} → back`, () => {
      expect(quantModeOf(config)).toBe(mode);
      expect(quantConfigOf(mode)).toEqual(config);
    });
  }
  it('every mode this engine builds round-trips; the rest are typed errors naming the field', () => {
    let built = 0;
    for (let mode = 0; mode < 512; mode++) {
      let config: QuantConfig;
      try {
        config = quantConfigOf(mode, 'config.json builder_config.quant_mode');
      } catch (e) {
        expect(e).toBeInstanceOf(QuantError);
        expect((e as Error).message).toMatch(/^config\.json builder_config\.quant_mode: expected .*, got \d+/);
        continue;
      }
      expect(quantModeOf(config)).toBe(mode);
      built++;
    }
    expect(built).toBe(3 * (1 + 4 + 1)); // kv float/int8/fp8 × (none, 4 SmoothQuant variants, fp8)
    expect(() => quantConfigOf(QUANT_MODE.INT8_WEIGHTS)).toThrow(/weight-only INT8 is not built/);
    expect(() => quantConfigOf(1024)).toThrow(/expected a QuantMode bit set/);
  });
});
