// The seed's flag rules: implied settings, forbidden combinations (each naming the flags and the
// fix), the --no_bias and --dtype defects fixed.
import { describe, expect, it } from 'vitest';
import { gptConfig } from '@trtllm/ref-math';
import { resolveBuildConfig } from './build-config.js';
import { EngineError } from './errors.js';

describe('resolveBuildConfig', () => {
  it('the seed defaults: float16, 24 × 1024, vocab 51200, batch 256, 200 / 200, contiguous KV', () => {
    const c = resolveBuildConfig({});
    expect([c.model.dtype, c.model.nLayer, c.model.nEmbd, c.model.vocabSize, c.model.bias]).toEqual(['f16', 24, 1024, 51200, true]);
    expect([c.maxBatchSize, c.maxInputLen, c.maxOutputLen, c.maxNumTokens, c.kvCache.kind, c.plugins.gptAttention]).toEqual([256, 200, 200, 51200, 'contiguous', false]);
  });
  it('--no_bias means no bias (the seed inverted it); -mq gives one KV head', () => {
    expect(resolveBuildConfig({ no_bias: true }).model.bias).toBe(false);
    expect(resolveBuildConfig({ multi_query_mode: true }).model.nKvHead).toBe(1);
  });
  it('--use_inflight_batching turns on the attention plugin, paging and packed input, and says so', () => {
    const c = resolveBuildConfig({ use_inflight_batching: true, dtype: 'bfloat16' });
    expect([c.plugins.gptAttention, c.kvCache, c.removeInputPadding, c.inflightBatching]).toEqual(['bf16', { kind: 'paged', tokensPerBlock: 64 }, true, true]);
    expect(c.notes.join()).toMatch(/turns on --use_gpt_attention_plugin, --paged_kv_cache, --remove_input_padding/);
  });
  it('a bare plugin flag takes --dtype; a value is kept', () => {
    const c = resolveBuildConfig({ dtype: 'float32', use_gpt_attention_plugin: true, use_gemm_plugin: 'float16' });
    expect([c.plugins.gptAttention, c.plugins.gemm]).toEqual(['f32', 'f16']);
  });
  it('refuses forbidden combinations, naming the flags and the fix', () => {
    const err = (f: Parameters<typeof resolveBuildConfig>[0]): string => {
      try {
        resolveBuildConfig(f);
      } catch (e) {
        expect(e).toBeInstanceOf(EngineError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err({ paged_kv_cache: true })).toMatch(/--paged_kv_cache: expected the GPT attention plugin, got no --use_gpt_attention_plugin \(add --use_gpt_attention_plugin/);
    expect(err({ rotary_pct: 0.5 })).toMatch(/--rotary_pct > 0 \(RoPE\): expected the GPT attention plugin/);
    expect(err({ use_gpt_attention_plugin: true, enable_context_fmha: true, enable_context_fmha_fp32_acc: true })).toMatch(/at most one of them, got both/);
    expect(err({ use_inflight_batching: true, tokens_per_block: 48 })).toMatch(/--tokens_per_block: expected a power of two, got 48/);
    expect(err({ n_positions: 256, max_input_len: 200, max_output_len: 100 })).toMatch(/--max_input_len \+ --max_output_len: expected ≤ n_positions \(256\), got 200 \+ 100/);
    expect(err({ n_head: 16, world_size: 3 })).toMatch(/--world_size: expected a divisor of n_head \(16\)/);
    expect(err({ use_smooth_quant: true })).toMatch(/--use_smooth_quant: expected a checkpoint with INT8 weights .*got random weights .*convert -sq/);
    expect(err({ per_token: true })).toMatch(/--per_token: expected with --use_smooth_quant/);
    expect(err({ per_channel: true })).toMatch(/--per_channel: expected with --use_smooth_quant/);
    expect(err({ int8_kv_cache: true, fp8_kv_cache: true })).toMatch(/--int8_kv_cache \/ --fp8_kv_cache: expected at most one of them/);
    expect(err({ fp8_kv_cache: true })).toMatch(/--fp8_kv_cache: expected the GPT attention plugin/);
    expect(err({ enable_fp8: true })).toMatch(/--enable_fp8: expected a checkpoint with FP8 calibration .*got random weights .*convert --qformat fp8/);
    expect(err({ enable_fp8: true, use_smooth_quant: true })).toMatch(/--enable_fp8 \/ --use_smooth_quant: expected one weight quantization/);
    expect(resolveBuildConfig({ int8_kv_cache: true, use_smooth_quant: true, per_token: true, max_input_len: 32, max_output_len: 32 }, { config: gptConfig({ vocabSize: 50, nPositions: 64, nEmbd: 16, nHead: 2, nLayer: 1 }), storage: 'float16', file: 'x/config.ini' }).quant)
      .toEqual({ weights: { kind: 'smoothquant', perToken: true, perChannel: false }, kv: 'int8' });
    expect(resolveBuildConfig({ use_inflight_batching: true, fp8_kv_cache: true }).quant).toEqual({ weights: { kind: 'none' }, kv: 'fp8' });
    expect(err({ hidden_act: 'relu' })).toMatch(/--hidden_act: expected gelu \| gelu_new \| gelu_fast \| swiglu, got relu/);
    expect(err({ max_batch_size: 0 })).toMatch(/--max_batch_size: expected a positive integer, got 0/);
  });
  it('a checkpoint gives the shape; an explicit --dtype converts its weights and says how, never silently', () => {
    const ck = { config: gptConfig({ vocabSize: 50, nPositions: 64, nEmbd: 16, nHead: 2, nLayer: 1 }), storage: 'float32' as const, file: 'x/config.ini' };
    expect(resolveBuildConfig({ n_positions: 64, max_input_len: 32, max_output_len: 32 }, ck).model.dtype).toBe('f32');
    const c = resolveBuildConfig({ dtype: 'float16', n_layer: 7, max_input_len: 32, max_output_len: 32 }, ck);
    expect([c.model.dtype, c.model.nLayer]).toEqual(['f16', 1]);
    expect(c.notes).toEqual(['converting the float32 weights of x/config.ini to --dtype float16 (round to nearest even)', '--n_layer ignored: the shape comes from x/config.ini']);
  });
});
