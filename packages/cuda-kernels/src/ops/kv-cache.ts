/**
 * kv-cache on the device — a KV cache whose pools live on the GPU, the write kernel and the row
 * copy of beam forks (csrc/kv-cache.cu). Layout, storage rules and scales are ref-math's KvCacheSpec exactly, so a
 * pool downloaded from here is byte-identical to the oracle's.
 */
import { checkKvCopyRows, checkKvScales, expectAttr, expectDType, expectShape, fromValues, type KvCache, type KvCacheSpec, type KvCacheWriteInputs, type Tensor } from '@trtllm/ref-math';
import { addon, type NativeParams } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, throwIfFlagged, type OnDevice } from '../launch.js';

export interface DeviceKvCache {
  readonly spec: KvCacheSpec;
  readonly pools: DeviceTensor[];
  readonly blockTable?: DeviceTensor<'i32'>;
}

/** A zeroed device cache for `spec`; a paged cache takes its block table from the host (ref-math assignBlocks). */
export function createDeviceKvCache(spec: KvCacheSpec, blockTable?: Tensor<'i32'>, stream?: Stream): DeviceKvCache {
  const { layout } = spec;
  checkKvScales('createDeviceKvCache', spec);
  const shape = layout.kind === 'contiguous'
    ? [spec.numSlots, 2, spec.numKvHeads, layout.maxSeqLen, spec.headSize]
    : [layout.numBlocks, 2, spec.numKvHeads, layout.tokensPerBlock, spec.headSize];
  if (layout.kind === 'paged') {
    expectAttr('createDeviceKvCache', 'blockTable', blockTable !== undefined, 'the block table of a paged cache', 'none');
    expectShape('createDeviceKvCache', 'blockTable', blockTable!, [spec.numSlots, layout.maxBlocksPerSeq]);
  }
  const pools = Array.from({ length: spec.numLayers }, () => DeviceTensor.zeros(spec.dtype, shape, stream));
  return layout.kind === 'paged' ? { spec, pools, blockTable: DeviceTensor.from(blockTable!, stream) } : { spec, pools };
}

/** A device copy of a host cache (pools and block table byte for byte), e.g. one the oracle filled. */
export function uploadKvCache(cache: KvCache, stream?: Stream): DeviceKvCache {
  const pools = cache.pools.map((p) => DeviceTensor.from(p, stream));
  return cache.blockTable ? { spec: cache.spec, pools, blockTable: DeviceTensor.from(cache.blockTable, stream) } : { spec: cache.spec, pools };
}

/** The native view of one layer's pool (csrc/ops.h KvCacheView). */
export function kvView(cache: DeviceKvCache, layer: number): NativeParams {
  const { spec } = cache;
  const l = spec.layout;
  return {
    pool: cache.pools[layer]!.ptr,
    paged: l.kind === 'paged',
    numSlots: spec.numSlots, numKvHeads: spec.numKvHeads, headSize: spec.headSize,
    maxSeqLen: l.kind === 'contiguous' ? l.maxSeqLen : 0,
    tokensPerBlock: l.kind === 'paged' ? l.tokensPerBlock : 1,
    numBlocks: l.kind === 'paged' ? l.numBlocks : 0,
    maxBlocksPerSeq: l.kind === 'paged' ? l.maxBlocksPerSeq : 0,
    blockTable: cache.blockTable?.ptr,
    kScale: spec.scales?.[layer]?.k ?? 1, vScale: spec.scales?.[layer]?.v ?? 1,
    dtype: code(spec.dtype),
  };
}

export function kvCacheWrite(cache: DeviceKvCache, layer: number, inputs: OnDevice<KvCacheWriteInputs>, stream?: Stream): void {
  const op = 'kvCacheWrite';
  const { numKvHeads: nkv, headSize: hs } = cache.spec;
  expectAttr(op, 'layer', layer >= 0 && layer < cache.pools.length, `0 ≤ layer < ${cache.pools.length}`, layer);
  expectDType(op, 'inputs.k', inputs.k, ['f32', 'f16', 'bf16']);
  expectDType(op, 'inputs.v', inputs.v, [inputs.k.dtype]);
  const [t] = expectShape(op, 'inputs.k', inputs.k, ['T', nkv, hs]) as [number];
  expectShape(op, 'inputs.v', inputs.v, [t, nkv, hs]);
  expectShape(op, 'inputs.slots', inputs.slots, [t]);
  expectShape(op, 'inputs.positions', inputs.positions, [t]);
  const flag = native(op, () =>
    addon().kvCacheWrite({
      cache: kvView(cache, layer), k: inputs.k.ptr, v: inputs.v.ptr, slots: inputs.slots.ptr, positions: inputs.positions.ptr,
      tokens: t, kvDtype: code(inputs.k.dtype), stream: stream?.handle,
    }),
  );
  throwIfFlagged(flag, op, 'inputs.positions', 'a slot and position with storage (assigned block, < maxSeqLen)');
}

/** Shape of the fused QKV rows [T, (NH + 2·NKV)·HS]. */
export interface QkvLayout {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headSize: number;
}

/**
 * After the QKV GEMM (bias in its epilogue): RoPE in place on the q and k parts (when `rope` is given;
 * the reference formula, exact) and k, v written into the cache at (slots[t], positions[t]) — the
 * oracle's rope + kvCacheWrite bit for bit (tier 1). Enqueue only: a token without storage or outside
 * the RoPE table sets `error` (1 + token index), read by the caller once per step.
 */
export function qkvPrepare(
  cache: DeviceKvCache, layer: number,
  inputs: { readonly qkv: DeviceTensor; readonly slots: DeviceTensor<'i32'>; readonly positions: DeviceTensor<'i32'> },
  attrs: QkvLayout & { readonly rope?: { readonly rotaryDim: number; readonly cos: DeviceTensor<'f32'>; readonly sin: DeviceTensor<'f32'> } },
  error: DeviceTensor<'i32'>, stream?: Stream,
): void {
  const op = 'qkvPrepare';
  const { numHeads: nh, numKvHeads: nkv, headSize: hs } = attrs;
  expectAttr(op, 'layer', layer >= 0 && layer < cache.pools.length, `0 ≤ layer < ${cache.pools.length}`, layer);
  expectAttr(op, 'attrs.numKvHeads', nkv === cache.spec.numKvHeads && hs === cache.spec.headSize, `the cache's ${cache.spec.numKvHeads} KV heads of ${cache.spec.headSize}`, `${nkv} of ${hs}`);
  expectDType(op, 'inputs.qkv', inputs.qkv, ['f32', 'f16', 'bf16']);
  const [t] = expectShape(op, 'inputs.qkv', inputs.qkv, ['T', (nh + 2 * nkv) * hs]) as [number];
  expectShape(op, 'inputs.slots', inputs.slots, [t]);
  expectShape(op, 'inputs.positions', inputs.positions, [t]);
  native(op, () =>
    addon().qkvPrepare({
      qkv: inputs.qkv.ptr, slots: inputs.slots.ptr, positions: inputs.positions.ptr, tokens: t, numHeads: nh, numKvHeads: nkv, headSize: hs,
      cos: attrs.rope?.cos.ptr, sin: attrs.rope?.sin.ptr, rotaryDim: attrs.rope?.rotaryDim ?? 0, tablePositions: attrs.rope?.cos.shape[0] ?? 0,
      cache: kvView(cache, layer), error: error.ptr, dtype: code(inputs.qkv.dtype), stream: stream?.handle,
    }),
  );
}

/** Most layers one kvCopyRows launch takes (csrc/ops.h kMaxKvCopyLayers); more are copied in further launches. */
export const KV_COPY_LAYERS_PER_LAUNCH = 128;

/**
 * ref-math kvCopyRows on the device: for each pair [src, dst] row dst of every layer's pool = row src
 * (blocks of a paged cache, slots of a contiguous one), bytes as stored — exact (tier 1). The pairs
 * are checked as the oracle checks them (in range, destinations distinct and never a source), written
 * into `staging` (i32, ≥ 2 · pairs elements, the caller's, reusable: the write waits for its copy and
 * the kernel reads it in stream order), and one launch copies every layer's rows — where a beam step
 * made one copy per fork and layer.
 */
export function kvCopyRows(cache: DeviceKvCache, pairs: readonly (readonly [number, number])[], staging: DeviceTensor, stream?: Stream): void {
  const op = 'kvCopyRows';
  checkKvCopyRows(op, cache.spec, pairs);
  expectDType(op, 'staging', staging, ['i32']);
  const need = 2 * pairs.length;
  expectAttr(op, 'staging', staging.bytes / 4 >= need, `≥ ${need} i32 elements`, staging.bytes / 4);
  if (pairs.length === 0 || cache.pools.length === 0) return;
  const at = staging.view(0, [pairs.length, 2]);
  at.write(fromValues('i32', [pairs.length, 2], pairs.flat()), stream);
  const pool = cache.pools[0]!;
  const rowBytes = pool.bytes / pool.shape[0]!;
  for (let l = 0; l < cache.pools.length; l += KV_COPY_LAYERS_PER_LAUNCH) {
    const pools = cache.pools.slice(l, l + KV_COPY_LAYERS_PER_LAUNCH).map((p) => p.ptr);
    native(op, () => addon().kvCopyRows({ pools, poolBytes: pool.bytes, pairs: at.ptr, numPairs: pairs.length, rowBytes, stream: stream?.handle }));
  }
}
