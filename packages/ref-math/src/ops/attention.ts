/**
 * attention — causal multi-head attention for packed sequences, MHA / GQA / MQA, with a KV cache.
 *
 * One op covers context (start = 0, no cache needed) and decode (length 1) and chunks in between:
 * sequence s brings `length` new tokens at positions start … start+length−1 (packed into T rows).
 * New token at position p, query head h, attends keys 0 … p of kv head g = ⌊h / (NH / NKV)⌋:
 *   keys/values at j < start come from the cache (dequantized: kv-cache.ts),
 *   keys/values at j ≥ start are this call's fresh k, v (as TensorRT-LLM: the current tokens are
 *   attended unquantized; they are written to the cache separately, by kvCacheWrite).
 * Order, fp32, per (token, head):
 *   score_j = Σ_d fp32(q_d · k_{j,d})                d ascending, rounded each step
 *   p       = softmaxRowF32(score, p + 1, scale)     softmax.ts (scale applied to each score first)
 *   out_d   = cast_T(Σ_j fp32(p_j · v_{j,d}))        j ascending, rounded each step
 * scale defaults to fp32(1 / fp32(sqrt(HS))).
 * Shapes: q [T, NH, HS], k and v [T, NKV, HS], out [T, NH, HS].
 */
import { expectAttr, expectDType, expectSameDType, expectShape, type Shaped } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { fromF32, toF32, type Tensor } from '../tensor.js';
import type { AttentionAttrs, AttentionInputs, AttentionSequence, KvCache } from '../op-specs.js';
import { kvCacheRead } from './kv-cache.js';
import { softmaxRowF32 } from './softmax.js';

export function defaultAttentionScale(headSize: number): number {
  return f32(1 / f32(Math.sqrt(headSize)));
}

/**
 * The attention op's input checks, shared by every backend: returns [T, NH, NKV, HS].
 * `cache` is the spec of the cache earlier positions are read from, if any.
 */
export function checkAttention(
  inputs: { readonly q: Shaped; readonly k: Shaped; readonly v: Shaped },
  sequences: readonly AttentionSequence[],
  cache: { readonly numKvHeads: number; readonly headSize: number } | undefined,
): [number, number, number, number] {
  const op = 'attention';
  const { q, k, v } = inputs;
  expectDType(op, 'inputs.q', q, ['f32', 'f16', 'bf16']);
  expectSameDType(op, 'inputs.k', q, k);
  expectSameDType(op, 'inputs.v', q, v);
  const [t, nh, hs] = expectShape(op, 'inputs.q', q, ['T', 'NH', 'HS']) as [number, number, number];
  const nkv = expectShape(op, 'inputs.k', k, [t, 'NKV', hs])[1]!;
  expectShape(op, 'inputs.v', v, [t, nkv, hs]);
  expectAttr(op, 'NH / NKV', nkv > 0 && nh % nkv === 0, `NH (${nh}) a multiple of NKV`, nkv);
  const total = sequences.reduce((n, s) => n + s.length, 0);
  expectAttr(op, 'attrs.sequences', total === t, `lengths summing to T = ${t}`, total);
  for (const s of sequences) {
    expectAttr(op, 'attrs.sequences[].start', s.start >= 0 && (s.start === 0 || cache !== undefined), 'start = 0, or a cache to read earlier positions from', s.start);
  }
  if (cache) expectAttr(op, 'cache heads', cache.numKvHeads === nkv && cache.headSize === hs, `NKV ${nkv}, HS ${hs}`, `${cache.numKvHeads}, ${cache.headSize}`);
  return [t, nh, nkv, hs];
}

export function attention(inputs: AttentionInputs, attrs: AttentionAttrs): Tensor<ActDType> {
  const { q, k, v } = inputs;
  const cache = attrs.cache;
  const [t, nh, nkv, hs] = checkAttention(inputs, attrs.sequences, cache?.cache.spec);
  const scale = f32(attrs.scale ?? defaultAttentionScale(hs));
  const round = Math.fround; // local: see matmulF32
  const group = nh / nkv;
  const qv = toF32(q);
  const kv = toF32(k);
  const vv = toF32(v);
  const out = new Float32Array(t * nh * hs);
  let row0 = 0;
  for (const s of attrs.sequences) {
    const ctx = s.start + s.length;
    const scores = new Float32Array(ctx);
    for (let g = 0; g < nkv; g++) {
      // K/V vectors for positions 0 … ctx−1 of kv head g: cached prefix, then this call's rows.
      const keys: Float32Array[] = [];
      const vals: Float32Array[] = [];
      for (let j = 0; j < ctx; j++) {
        if (j < s.start) {
          keys.push(kvCacheRead(cache!.cache, cache!.layer, s.slot, 0, g, j));
          vals.push(kvCacheRead(cache!.cache, cache!.layer, s.slot, 1, g, j));
        } else {
          const at = ((row0 + j - s.start) * nkv + g) * hs;
          keys.push(kv.subarray(at, at + hs));
          vals.push(vv.subarray(at, at + hs));
        }
      }
      for (let i = 0; i < s.length; i++) {
        const n = s.start + i + 1;
        for (let h = g * group; h < (g + 1) * group; h++) {
          const qAt = ((row0 + i) * nh + h) * hs;
          for (let j = 0; j < n; j++) {
            const key = keys[j]!;
            let acc = 0;
            for (let d = 0; d < hs; d++) acc = round(acc + round(qv[qAt + d]! * key[d]!));
            scores[j] = acc;
          }
          softmaxRowF32(scores, n, scale);
          for (let d = 0; d < hs; d++) {
            let acc = 0;
            for (let j = 0; j < n; j++) acc = round(acc + round(scores[j]! * vals[j]![d]!));
            out[qAt + d] = acc;
          }
        }
      }
    }
    row0 += s.length;
  }
  return fromF32(q.dtype, [t, nh, hs], out);
}

/** Context (prefill) attention: every sequence starts at position 0; no cache is read. */
export function contextAttention(inputs: AttentionInputs, attrs: { readonly seqLens: readonly number[]; readonly scale?: number }): Tensor<ActDType> {
  const sequences = attrs.seqLens.map((length, slot) => ({ slot, start: 0, length }));
  return attention(inputs, attrs.scale === undefined ? { sequences } : { sequences, scale: attrs.scale });
}

/**
 * Decode attention: one new token per sequence b (cache slot b) at position seqLens[b] − 1, over
 * the cached positions before it and itself.
 */
export function decodeAttention(
  inputs: AttentionInputs,
  attrs: { readonly seqLens: readonly number[]; readonly cache: KvCache; readonly layer: number; readonly scale?: number },
): Tensor<ActDType> {
  const sequences = attrs.seqLens.map((len, slot) => ({ slot, start: len - 1, length: 1 }));
  const cache = { cache: attrs.cache, layer: attrs.layer };
  return attention(inputs, attrs.scale === undefined ? { sequences, cache } : { sequences, cache, scale: attrs.scale });
}

