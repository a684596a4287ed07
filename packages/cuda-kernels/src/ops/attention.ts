/** attention on the device — causal attention over packed chunks with a KV cache (csrc/attention.cu). */
import { checkAttention, defaultAttentionScale, fromValues, type ActDType, type AttentionInputs, type AttentionSequence } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, throwIfFlagged, type OnDevice } from '../launch.js';
import { kvView, type DeviceKvCache } from './kv-cache.js';

export interface DeviceAttentionAttrs {
  readonly sequences: readonly AttentionSequence[];
  readonly scale?: number;
  readonly cache?: { readonly cache: DeviceKvCache; readonly layer: number };
}

export function attention(inputs: OnDevice<AttentionInputs>, attrs: DeviceAttentionAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'attention';
  const { q, k, v } = inputs;
  const seqs = attrs.sequences;
  const [t, nh, nkv, hs] = checkAttention(inputs, seqs, attrs.cache?.cache.spec);
  const rows: number[] = [];
  seqs.reduce((row, s) => (rows.push(row), row + s.length), 0);
  const meta = [seqs.map((s) => s.slot), seqs.map((s) => s.start), seqs.map((s) => s.length), rows].map((a) => DeviceTensor.from(fromValues('i32', [a.length], a), stream));
  const out = DeviceTensor.empty(q.dtype, [t, nh, hs]);
  try {
    const flag = native(op, () =>
      addon().attention({
        q: q.ptr, k: k.ptr, v: v.ptr, out: out.ptr, tokens: t, numHeads: nh, numKvHeads: nkv, headSize: hs,
        seqSlot: meta[0]!.ptr, seqStart: meta[1]!.ptr, seqLength: meta[2]!.ptr, seqRow: meta[3]!.ptr, numSeqs: seqs.length,
        hasCache: attrs.cache !== undefined, cache: attrs.cache ? kvView(attrs.cache.cache, attrs.cache.layer) : undefined,
        scale: attrs.scale ?? defaultAttentionScale(hs), maxCtx: Math.max(1, ...seqs.map((s) => s.start + s.length)),
        dtype: code(q.dtype), stream: stream?.handle,
      }),
    );
    throwIfFlagged(flag, op, 'attrs.sequences', 'cached positions with storage (assigned blocks)');
  } catch (e) {
    out.free();
    throw e;
  } finally {
    meta.forEach((m) => m.free());
  }
  return out;
}
