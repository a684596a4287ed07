/** attention on the device — causal attention over packed chunks with a KV cache (csrc/attention.cu). */
import { checkAttention, defaultAttentionScale, expectAttr, fromValues, type ActDType, type AttentionInputs, type AttentionSequence } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, throwIfFlagged, type OnDevice } from '../launch.js';
import { kvView, type DeviceKvCache, type QkvLayout } from './kv-cache.js';

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

/** Positions per split of the production decode attention (csrc/ops.h kDecodeSplit): fixed, so batch-invariant. */
export const DECODE_SPLIT = 64;

/**
 * Production decode attention (tier 3): for each listed row, its query (from the fused qkv rows, after
 * qkvPrepare) against cache positions 0 … positions[row], in splits of DECODE_SPLIT merged in order;
 * a warp per (row, head, split), four heads per block, so heads that share a KV head (MQA / GQA) read
 * its K/V rows from DRAM once (L1/L2 after). Head sizes 64 and 128. `maxSplits`
 * = ⌈longest sequence / DECODE_SPLIT⌉ fixes the grid (CUDA-graph friendly). Enqueue only; writes `out`.
 */
export function attentionDecode(
  cache: DeviceKvCache, layer: number,
  inputs: {
    readonly qkv: DeviceTensor<ActDType>; readonly rows: DeviceTensor<'i32'>; readonly slots: DeviceTensor<'i32'>; readonly positions: DeviceTensor<'i32'>; readonly out: DeviceTensor<ActDType>;
    /** i32 [numRows]: each row's chunk start in this step; with an int8 / fp8 cache positions from there on are read fresh from qkv (default: only the row's own). */
    readonly freshFrom?: DeviceTensor<'i32'>;
  },
  attrs: QkvLayout & { readonly numRows: number; readonly maxSplits: number; readonly scale?: number },
  scratch: { readonly partial: DeviceTensor<'f32'>; readonly error: DeviceTensor<'i32'> }, stream?: Stream,
): void {
  const op = 'attentionDecode';
  const { numHeads: nh, numKvHeads: nkv, headSize: hs } = attrs;
  expectAttr(op, 'attrs.numHeads', nh % nkv === 0, 'NH a multiple of NKV', `${nh}, ${nkv}`);
  expectAttr(op, 'attrs.headSize', CONTEXT_HEAD_SIZES.includes(hs), CONTEXT_HEAD_SIZES.join(' or '), hs);
  expectAttr(op, 'scratch.partial', scratch.partial.bytes >= attrs.numRows * nh * attrs.maxSplits * (hs + 2) * 4, `≥ rows·NH·maxSplits·(HS + 2) floats`, scratch.partial.shape.join('×'));
  native(op, () =>
    addon().attentionDecode({
      qkv: inputs.qkv.ptr, out: inputs.out.ptr, rows: inputs.rows.ptr, numRows: attrs.numRows, slots: inputs.slots.ptr, positions: inputs.positions.ptr,
      numHeads: nh, numKvHeads: nkv, headSize: hs, maxSplits: attrs.maxSplits, cache: kvView(cache, layer), scale: attrs.scale ?? defaultAttentionScale(hs),
      partial: scratch.partial.ptr, error: scratch.error.ptr, dtype: code(inputs.qkv.dtype), freshFrom: inputs.freshFrom?.ptr, stream: stream?.handle,
    }),
  );
}

/** Head sizes the production context (flash) kernel is compiled for. */
export const CONTEXT_HEAD_SIZES: readonly number[] = [64, 128];

/** Query tiles of the production context attention: [first row of the chunk, chunk length, first query] per 32-row tile. */
export function contextTiles(chunks: readonly { readonly row: number; readonly length: number }[]): number[] {
  const tiles: number[] = [];
  for (const c of chunks) for (let q = 0; q < c.length; q += 32) tiles.push(c.row, c.length, q);
  return tiles;
}

/**
 * Production context attention (tier 3, `--enable_context_fmha`): flash attention over chunks that
 * start at position 0, causal, keys and values from the same fused qkv rows; fp32 online softmax and
 * accumulation; with `fp32Acc` false the probabilities are rounded to T before P·V (as fp16 FMHA).
 * Head sizes 64 and 128. Enqueue only; writes `out` rows of the tiles' chunks.
 */
export function attentionContext(
  inputs: { readonly qkv: DeviceTensor<ActDType>; readonly tiles: DeviceTensor<'i32'>; readonly out: DeviceTensor<ActDType> },
  attrs: QkvLayout & { readonly numTiles: number; readonly fp32Acc: boolean; readonly scale?: number },
  stream?: Stream,
): void {
  const op = 'attentionContext';
  const { numHeads: nh, numKvHeads: nkv, headSize: hs } = attrs;
  expectAttr(op, 'attrs.headSize', CONTEXT_HEAD_SIZES.includes(hs), CONTEXT_HEAD_SIZES.join(' or '), hs);
  native(op, () =>
    addon().attentionContext({
      qkv: inputs.qkv.ptr, out: inputs.out.ptr, tiles: inputs.tiles.ptr, numTiles: attrs.numTiles, numHeads: nh, numKvHeads: nkv, headSize: hs,
      scale: attrs.scale ?? defaultAttentionScale(hs), fp32Acc: attrs.fp32Acc, dtype: code(inputs.qkv.dtype), stream: stream?.handle,
    }),
  );
}
