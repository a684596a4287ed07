/**
 * The kernel case table (ggml test-backend-ops style): one row per {op, dtype, shape, attrs}, each
 * with its tier and declared tolerance, deterministic host inputs, the oracle's outputs, and the
 * same op on the device. Parity (harness.ts `runParity`) and perf (`runPerf`) read this one table.
 * Shapes mix odd sizes (5, 7, 11, 13) with model shapes (GPT-2 124M: H 768, NH 12, HS 64;
 * SantaCoder: H 2048, NH 16, NKV 1, HS 128) and the real GPT-2 layer 0 when ../shared is present.
 */
import * as ref from '@trtllm/ref-math';
import {
  assignBlocks, createKvCache, fromValues, kvCacheWrite as refKvCacheWrite, normalSampler, ropeTable, seededRandom,
  type ActDType, type DType, type KvCache, type KvCacheDType, type KvLayout, type OpName, type Tensor,
} from '@trtllm/ref-math';
import { DeviceTensor } from './device.js';
import * as gpu from './ops/index.js';

/** How a case's device output must match the oracle: bit for bit, or within a declared bound with a reason. */
export type Tolerance = { readonly kind: 'exact' } | { readonly kind: 'nmse'; readonly max: number; readonly reason: string };

/** Device-side work of a case: `run` launches on uploaded inputs and returns device outputs. */
export interface DeviceRun {
  readonly run: () => DeviceTensor[];
  readonly dispose: () => void;
}

export interface KernelCase {
  readonly name: string;
  readonly op: OpName;
  readonly dtype: string;
  readonly shape: string;
  /** 1, 2: bit-exact (ARCHITECTURE.md, Numerics); 3: a production kernel within its declared tolerance. */
  readonly tier: 1 | 2 | 3;
  readonly tolerance: Tolerance;
  /** The oracle's outputs for this case's inputs (pure TypeScript). */
  readonly ref: () => Tensor[];
  /** Upload this case's inputs; run() then launches the CUDA op. */
  readonly device: () => DeviceRun;
  /** Bytes read + written and FLOPs of one run (perf mode). */
  readonly bytes: number;
  readonly flops: number;
  /** A production-path kernel (what kernels: 'production' runs; tier 3, or exact where it can be). */
  readonly production?: boolean;
}

const EXACT: Tolerance = { kind: 'exact' };
const bytesOf = (...ts: { dtype: DType; shape: readonly number[] }[]): number => ts.reduce((n, t) => n + ref.numel(t.shape) * ref.DTYPES[t.dtype].bytes, 0);

function rnd<D extends DType>(dtype: D, shape: readonly number[], seed: number, std = 1, mean = 0): Tensor<D> {
  const normal = normalSampler(seededRandom(seed));
  const n = ref.numel(shape);
  const v = Float64Array.from({ length: n }, () => normal(mean, std));
  if (dtype === 'i8') return fromValues(dtype, shape, v.map((x) => Math.max(-128, Math.min(127, Math.round(x * 40)))));
  return fromValues(dtype, shape, v);
}
const ints = (values: number[]): Tensor<'i32'> => fromValues('i32', [values.length], values);

/** Upload a record of host tensors; the returned dispose frees them. */
function upload<T extends Record<string, Tensor | undefined>>(host: T): { d: { [K in keyof T]: T[K] extends Tensor<infer D> ? DeviceTensor<D> : undefined }; free: () => void } {
  const d: Record<string, DeviceTensor | undefined> = {};
  for (const [k, t] of Object.entries(host)) d[k] = t ? DeviceTensor.from(t) : undefined;
  return { d: d as never, free: () => Object.values(d).forEach((t) => t?.free()) };
}

function caseOf(c: Omit<KernelCase, 'device' | 'tolerance'> & { tolerance?: Tolerance; host: Record<string, Tensor | undefined>; launch: (d: Record<string, DeviceTensor>) => DeviceTensor[] }): KernelCase {
  return {
    ...c,
    tolerance: c.tolerance ?? EXACT,
    device: () => {
      const { d, free } = upload(c.host);
      return { run: () => c.launch(d as unknown as Record<string, DeviceTensor>), dispose: free };
    },
  };
}

// ---- gemm ----
function gemmCase(name: string, dt: ActDType, m: number, k: number, n: number, o: { bias?: boolean; transA?: boolean; transB?: boolean; outDtype?: ActDType; a?: Tensor<ActDType>; b?: Tensor<ActDType>; biasT?: Tensor<ActDType> } = {}): KernelCase {
  const a = o.a ?? rnd(dt, o.transA ? [k, m] : [m, k], m * 31 + k);
  const b = o.b ?? rnd(dt, o.transB ? [n, k] : [k, n], n * 17 + k, 0.05);
  const bias = o.biasT ?? (o.bias ? rnd(dt, [n], n) : undefined);
  const attrs = { transA: o.transA ?? false, transB: o.transB ?? false, outDtype: o.outDtype ?? dt };
  return caseOf({
    name, op: 'gemm', dtype: `${dt}→${attrs.outDtype}`, shape: `[${m},${k}]·[${k},${n}]${o.transA ? ' Aᵀ' : ''}${o.transB ? ' Bᵀ' : ''}${bias ? ' +bias' : ''}`, tier: 2,
    host: { a, b, bias },
    ref: () => [ref.gemm(bias ? { a, b, bias } : { a, b }, attrs)],
    launch: (d) => [gpu.gemm({ a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never }, attrs)],
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[attrs.outDtype].bytes, flops: 2 * m * n * k,
  });
}

// ---- int8 ----
function int8Case(name: string, m: number, k: number, n: number, mode: ref.SmoothQuantMode | undefined, outDtype: ActDType = 'f16', transB = false): KernelCase {
  const a = rnd('i8', [m, k], m + k);
  const b = rnd('i8', transB ? [n, k] : [k, n], n + 2 * k);
  if (!mode) {
    return caseOf({
      name, op: 'int8-gemm', dtype: 'i8→i32', shape: `[${m},${k}]·[${k},${n}]${transB ? ' Bᵀ' : ''}`, tier: 1, host: { a, b },
      ref: () => [ref.int8Gemm({ a, b }, { transB })],
      launch: (d) => [gpu.int8Gemm({ a: d['a'] as never, b: d['b'] as never }, { transB })],
      bytes: bytesOf(a, b) + 4 * m * n, flops: 2 * m * n * k,
    });
  }
  const alphaRow = rnd('f32', [mode.perToken ? m : 1], 5, 0.01, 0.02);
  const alphaCol = rnd('f32', [mode.perChannel ? n : 1], 6, 0.01, 0.03);
  const bias = rnd(outDtype, [n], 7);
  const attrs = { outDtype, mode, transB };
  return caseOf({
    name, op: 'int8-gemm', dtype: `i8→${outDtype}`, shape: `[${m},${k}]·[${k},${n}] ${mode.perToken ? 'per-token' : 'per-tensor'}/${mode.perChannel ? 'per-channel' : 'per-tensor'} +bias`, tier: 1,
    host: { a, b, alphaRow, alphaCol, bias },
    ref: () => [ref.smoothQuantGemm({ a, b, alphaRow, alphaCol, bias }, attrs)],
    launch: (d) => [gpu.smoothQuantGemm({ a: d['a'] as never, b: d['b'] as never, alphaRow: d['alphaRow'] as never, alphaCol: d['alphaCol'] as never, bias: d['bias'] as never }, attrs)],
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[outDtype].bytes, flops: 2 * m * n * k,
  });
}

// ---- kv cache / attention helpers ----
interface CacheSetup { cache: KvCache; device: () => gpu.DeviceKvCache }
function filledCache(dtype: KvCacheDType, layout: KvLayout, nkv: number, hs: number, tokens: number, seed: number, actDtype: ActDType = 'f16'): CacheSetup {
  const cache = createKvCache({ numLayers: 1, numSlots: 2, numKvHeads: nkv, headSize: hs, dtype, layout, scales: { k: 0.031, v: 0.027 } });
  if (layout.kind === 'paged') {
    // Every logical block of both slots, interleaved: slot 0 even blocks ascending, slot 1 odd blocks descending.
    const per = layout.maxBlocksPerSeq;
    if (layout.numBlocks < 2 * per) throw new Error(`case layout needs ≥ ${2 * per} blocks`);
    assignBlocks(cache, 0, Array.from({ length: per }, (_, i) => 2 * i));
    assignBlocks(cache, 1, Array.from({ length: per }, (_, i) => 2 * (per - i) - 1));
  }
  const k = rnd(actDtype, [tokens, nkv, hs], seed);
  const v = rnd(actDtype, [tokens, nkv, hs], seed + 1);
  refKvCacheWrite(cache, 0, { k, v, slots: ints(new Array(tokens).fill(1)), positions: ints(Array.from({ length: tokens }, (_, i) => i)) });
  return {
    cache,
    device: () => gpu.uploadKvCache(cache),
  };
}

function kvWriteCase(name: string, dtype: KvCacheDType, layout: KvLayout, nkv: number, hs: number, tokens: number, act: ActDType): KernelCase {
  const setup = filledCache(dtype, layout, nkv, hs, 0, 1, act);
  const k = rnd(act, [tokens, nkv, hs], 90);
  const v = rnd(act, [tokens, nkv, hs], 91);
  const slots = ints(Array.from({ length: tokens }, (_, i) => (i % 2 === 0 ? 1 : 0)));
  const positions = ints(Array.from({ length: tokens }, (_, i) => Math.floor(i / 2)));
  return {
    name, op: 'kv-cache', dtype: `${act}→${dtype}`, shape: `[${tokens},${nkv},${hs}] ${layout.kind}`, tier: 1, tolerance: EXACT,
    ref: () => {
      const c = createKvCache(setup.cache.spec);
      if (setup.cache.blockTable) c.blockTable!.data.set(setup.cache.blockTable.data);
      refKvCacheWrite(c, 0, { k, v, slots, positions });
      return [c.pools[0]!];
    },
    device: () => {
      const cache = setup.device();
      const { d, free } = upload({ k, v, slots, positions });
      return {
        run: () => {
          gpu.kvCacheWrite(cache, 0, { k: d.k, v: d.v, slots: d.slots, positions: d.positions });
          return [cache.pools[0]!.clone()]; // outputs belong to the caller; the pool stays with the cache
        },
        dispose: () => {
          free();
          cache.pools.forEach((p) => p.free());
          cache.blockTable?.free();
        },
      };
    },
    bytes: bytesOf(k, v) + 2 * tokens * nkv * hs * ref.DTYPES[dtype].bytes, flops: 0,
  };
}

function attentionCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, seqs: { start: number; length: number }[], cacheDtype?: KvCacheDType, layout?: KvLayout): KernelCase {
  const t = seqs.reduce((n, s) => n + s.length, 0);
  const q = rnd(dt, [t, nh, hs], 71);
  const k = rnd(dt, [t, nkv, hs], 72);
  const v = rnd(dt, [t, nkv, hs], 73);
  const maxStart = Math.max(...seqs.map((s) => s.start));
  const setup = cacheDtype ? filledCache(cacheDtype, layout!, nkv, hs, maxStart, 74, dt) : undefined;
  // With a cache, the prefix lives in slot 1 (filledCache writes it there).
  const sequences = seqs.map((s, i) => ({ slot: setup ? 1 : i, start: s.start, length: s.length }));
  const attrs = { sequences, ...(setup ? { cache: { cache: setup.cache, layer: 0 } } : {}) };
  const ctx = seqs.reduce((n, s) => n + s.length * (s.start + (s.length + 1) / 2), 0);
  return {
    name, op: 'attention', dtype: cacheDtype ? `${dt}, cache ${cacheDtype}` : dt,
    shape: `NH ${nh} NKV ${nkv} HS ${hs}; ${seqs.map((s) => `${s.start}+${s.length}`).join(', ')}${layout ? ` ${layout.kind}` : ''}`, tier: 2, tolerance: EXACT,
    ref: () => [ref.attention({ q, k, v }, attrs)],
    device: () => {
      const cache = setup?.device();
      const { d, free } = upload({ q, k, v });
      return {
        run: () => [gpu.attention({ q: d.q, k: d.k, v: d.v }, { sequences, ...(cache ? { cache: { cache, layer: 0 } } : {}) })],
        dispose: () => {
          free();
          cache?.pools.forEach((p) => p.free());
          cache?.blockTable?.free();
        },
      };
    },
    bytes: bytesOf(q, k, v, q), flops: 4 * nh * hs * ctx,
  };
}

// ---- production kernels (tier 3 unless exact) ----
const nmse = (max: number, reason: string): Tolerance => ({ kind: 'nmse', max, reason });

interface EpilogueGemm {
  bias?: boolean;
  gelu?: boolean;
  residual?: boolean;
  transB?: boolean;
  outDtype?: ActDType;
  /** Decode GEMM only: compute these rows into a zeroed output (the others stay zero). */
  rows?: number[];
  /** Decode GEMM only: LayerNorm of `a` first (fused into the GEMM), with or without β, NeMo's 1p. */
  norm?: { beta: boolean; plusOne?: boolean };
  b?: Tensor<ActDType>;
  tol: Tolerance;
}

/**
 * A production GEMM with the fused epilogue — cuBLASLt (gemmLt) or the decode GEMM — against the
 * oracle's gemm → gelu → residualAdd. The two kernels' cases draw different random inputs (seeds).
 */
function epilogueGemmCase(kernel: 'cuBLASLt' | 'decode', name: string, dt: ActDType, m: number, k: number, n: number, o: EpilogueGemm): KernelCase {
  const [sa, sb, sBias, sRes] = kernel === 'cuBLASLt' ? [37, 19, 1, 0] : [41, 23, 3, 1];
  const a = rnd(dt, [m, k], m * sa + k);
  const b = o.b ?? rnd(dt, o.transB ? [n, k] : [k, n], n * sb + k, 0.05);
  const bias = o.bias ? rnd(dt, [n], n + sBias) : undefined;
  const residual = o.residual ? rnd(dt, [m, n], m + n + sRes) : undefined;
  const outDtype = o.outDtype ?? dt;
  const rows = o.rows ? ints(o.rows) : undefined;
  const attrs = { transB: o.transB ?? false, outDtype, ...(o.gelu ? { activation: 'gelu' as const } : {}) };
  const gamma = o.norm ? rnd(dt, [k], k + 5, 0.2, o.norm.plusOne ? 0 : 1) : undefined;
  const beta = o.norm?.beta ? rnd(dt, [k], k + 6, 0.1) : undefined;
  const lnAttrs = { weightPlusOne: o.norm?.plusOne ?? false };
  const epi = `${bias ? ' +bias' : ''}${o.gelu ? ' gelu' : ''}${residual ? ' +residual' : ''}${rows ? ` rows [${o.rows!.join(',')}]` : ''}`;
  const pre = o.norm ? `LayerNorm${o.norm.plusOne ? '1p' : ''}${o.norm.beta ? '' : ' (no β)'} → ` : '';
  return caseOf({
    name, op: 'gemm', dtype: `${dt}→${outDtype} ${kernel === 'cuBLASLt' ? 'cuBLASLt' : 'decode (mma.sync)'}`, shape: `${pre}[${m},${k}]·[${k},${n}]${o.transB ? ' Bᵀ' : ''}${epi}`, tier: 3, tolerance: o.tol,
    host: { a, b, bias, residual, rows, gamma, beta },
    ref: () => {
      const x = gamma ? ref.layerNorm(beta ? { x: a, gamma, beta } : { x: a, gamma }, lnAttrs) : a;
      let y = ref.gemm(bias ? { a: x, b, bias } : { a: x, b }, { transB: attrs.transB, outDtype });
      if (o.gelu) y = ref.gelu({ x: y });
      if (residual) y = ref.residualAdd({ a: residual, b: y });
      if (o.rows) {
        const keep = new Set(o.rows);
        for (let r = 0; r < m; r++) if (!keep.has(r)) y.data.fill(0, r * n, (r + 1) * n);
      }
      return [y];
    },
    launch: (d) => {
      const inputs = { a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never, residual: d['residual'] as never };
      if (kernel === 'cuBLASLt') return [gpu.gemmLt(inputs, attrs)];
      const out = o.rows ? DeviceTensor.zeros(outDtype, [m, n]) : undefined;
      const norm = gamma ? { norm: { gamma: d['gamma'] as never, beta: d['beta'] as never } } : {};
      return [gpu.gemmDecode({ ...inputs, rows: d['rows'] as never, out, ...norm }, gamma ? { ...attrs, ...lnAttrs } : attrs)];
    },
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[outDtype].bytes * (residual ? 2 : 1), flops: 2 * (o.rows?.length ?? m) * n * k,
  });
}
const gemmLtCase = (name: string, dt: ActDType, m: number, k: number, n: number, o: EpilogueGemm): KernelCase => epilogueGemmCase('cuBLASLt', name, dt, m, k, n, o);
const gemmDecodeCase = (name: string, dt: ActDType, m: number, k: number, n: number, o: EpilogueGemm): KernelCase => epilogueGemmCase('decode', name, dt, m, k, n, o);

/** A paged f16/bf16 cache with slots 0 and 1 filled at positions 0 … n−1 (K and V returned for the oracle). */
function pagedCache(dt: ActDType, nkv: number, hs: number, n: number, seed: number, cacheDtype: KvCacheDType = dt) {
  const tpb = 16;
  const per = Math.ceil(n / tpb);
  const layout: KvLayout = { kind: 'paged', tokensPerBlock: tpb, numBlocks: 2 * per + 1, maxBlocksPerSeq: per };
  const scales = cacheDtype === 'i8' || cacheDtype === 'fp8e4m3' ? { scales: { k: 0.031, v: 0.027 } } : {};
  const cache = createKvCache({ numLayers: 1, numSlots: 2, numKvHeads: nkv, headSize: hs, dtype: cacheDtype, layout, ...scales });
  assignBlocks(cache, 0, Array.from({ length: per }, (_, i) => 2 * i + 1));
  assignBlocks(cache, 1, Array.from({ length: per }, (_, i) => 2 * (per - i)));
  const kv = [0, 1].map((slot) => {
    const k = rnd(dt, [n, nkv, hs], seed + 2 * slot);
    const v = rnd(dt, [n, nkv, hs], seed + 2 * slot + 1);
    refKvCacheWrite(cache, 0, { k, v, slots: ints(new Array(n).fill(slot)), positions: ints(Array.from({ length: n }, (_, i) => i)) });
    return { k, v };
  });
  return { cache, kv };
}

function decodeCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, rows: { slot: number; pos: number }[]): KernelCase {
  const n = Math.max(...rows.map((r) => r.pos)) + 1;
  const { cache, kv } = pagedCache(dt, nkv, hs, n, 300);
  const w = (nh + 2 * nkv) * hs;
  const qkv = rnd(dt, [rows.length, w], 310);
  const maxSplits = Math.ceil(n / gpu.DECODE_SPLIT);
  return {
    name, op: 'attention', dtype: `${dt} decode`, shape: `NH ${nh} NKV ${nkv} HS ${hs}; positions ${rows.map((r) => r.pos).join(', ')}`, tier: 3,
    tolerance: nmse(dt === 'bf16' ? 1e-4 : 1e-5, 'split softmax with fmaf and expf: fp32 rounding differs from the serial oracle; output rounded to T'),
    ref: () => {
      const outs = rows.map((r, i) => {
        const qh = fromValues(dt, [1, nh, hs], ref.toF32(qkv).subarray(i * w, i * w + nh * hs));
        const k = fromValues(dt, [1, nkv, hs], ref.toF32(kv[r.slot]!.k).subarray(r.pos * nkv * hs, (r.pos + 1) * nkv * hs));
        const v = fromValues(dt, [1, nkv, hs], ref.toF32(kv[r.slot]!.v).subarray(r.pos * nkv * hs, (r.pos + 1) * nkv * hs));
        return ref.toF32(ref.attention({ q: qh, k, v }, { sequences: [{ slot: r.slot, start: r.pos, length: 1 }], cache: { cache, layer: 0 } }));
      });
      const all = new Float32Array(rows.length * nh * hs);
      outs.forEach((o, i) => all.set(o, i * nh * hs));
      return [fromValues(dt, [rows.length, nh * hs], all)];
    },
    device: () => {
      const dc = gpu.uploadKvCache(cache);
      const { d, free } = upload({ qkv, rowsT: ints(rows.map((_, i) => i)), slots: ints(rows.map((r) => r.slot)), positions: ints(rows.map((r) => r.pos)) });
      const partial = DeviceTensor.empty('f32', [rows.length * nh * maxSplits * (hs + 2)]);
      const error = DeviceTensor.zeros('i32', [1]);
      return {
        run: () => {
          const out = DeviceTensor.empty(dt, [rows.length, nh * hs]);
          gpu.attentionDecode(dc, 0, { qkv: d.qkv as never, rows: d.rowsT, slots: d.slots, positions: d.positions, out }, { numHeads: nh, numKvHeads: nkv, headSize: hs, numRows: rows.length, maxSplits }, { partial, error });
          const flag = error.toHost().data[0]!;
          if (flag !== 0) throw new Error(`attentionDecode flagged row ${flag - 1}`);
          return [out];
        },
        dispose: () => {
          free();
          partial.free();
          error.free();
          dc.pools.forEach((p) => p.free());
          dc.blockTable?.free();
        },
      };
    },
    bytes: rows.reduce((b, r) => b + 2 * (r.pos + 1) * nkv * hs * ref.DTYPES[dt].bytes, 0), flops: rows.reduce((f, r) => f + 4 * nh * hs * (r.pos + 1), 0),
  };
}

/** Columns [lo, lo + heads·hs) of every row of qkv [T, W] as [T, heads, hs] (the q, k or v part). */
function qkvPart<D extends ActDType>(qkv: Tensor<D>, lo: number, heads: number, hs: number): Tensor<D> {
  const [t, w] = qkv.shape as [number, number];
  const f = ref.toF32(qkv);
  const width = heads * hs;
  return fromValues(qkv.dtype, [t, heads, hs], Float32Array.from({ length: t * width }, (_, i) => f[Math.floor(i / width) * w + lo + (i % width)]!));
}

function contextCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, lengths: number[], fp32Acc: boolean): KernelCase {
  const t = lengths.reduce((a, b) => a + b, 0);
  const w = (nh + 2 * nkv) * hs;
  const qkv = rnd(dt, [t, w], 320 + t);
  const q = qkvPart(qkv, 0, nh, hs);
  const k = qkvPart(qkv, nh * hs, nkv, hs);
  const v = qkvPart(qkv, (nh + nkv) * hs, nkv, hs);
  const chunks: { row: number; length: number }[] = [];
  lengths.reduce((row, length) => (chunks.push({ row, length }), row + length), 0);
  const tiles = gpu.contextTiles(chunks);
  return {
    name, op: 'attention', dtype: `${dt} context${fp32Acc ? ' fp32 acc' : ''}`, shape: `NH ${nh} NKV ${nkv} HS ${hs}; chunks ${lengths.join(', ')}`, tier: 3,
    tolerance: nmse(fp32Acc ? 1e-5 : dt === 'bf16' ? 1e-3 : 1e-4, fp32Acc ? 'flash attention (SIMT): online softmax with fmaf and expf, fp32; output rounded to T' : 'flash attention on tensor cores: probabilities rounded to T before P·V (as fp16 FMHA), fp32 accumulation'),
    ref: () => [ref.reshape(ref.attention({ q, k, v }, { sequences: chunks.map((c, i) => ({ slot: i, start: 0, length: c.length })) }), [t, nh * hs])],
    device: () => {
      const { d, free } = upload({ qkv, tilesT: ints(tiles) });
      return {
        run: () => {
          const out = DeviceTensor.empty(dt, [t, nh * hs]);
          gpu.attentionContext({ qkv: d.qkv as never, tiles: d.tilesT, out }, { numHeads: nh, numKvHeads: nkv, headSize: hs, numTiles: tiles.length / 3, fp32Acc });
          return [out];
        },
        dispose: free,
      };
    },
    bytes: bytesOf(qkv), flops: lengths.reduce((s, l) => s + 4 * nh * hs * (l * (l + 1)) / 2, 0),
  };
}

function qkvPrepareCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, t: number, rotaryPct: number, cacheDtype: KvCacheDType = dt): KernelCase {
  const w = (nh + 2 * nkv) * hs;
  const qkv = rnd(dt, [t, w], 330);
  const slots = ints(Array.from({ length: t }, (_, i) => i % 2));
  const positions = ints(Array.from({ length: t }, (_, i) => 3 + Math.floor(i / 2)));
  const n = 3 + Math.ceil(t / 2);
  const rot = rotaryPct > 0 ? ref.ropeTable(64, Math.round(hs * rotaryPct), 10000) : undefined;
  return {
    name, op: 'kv-cache', dtype: `${dt} fused qkv${cacheDtype !== dt ? `, cache ${cacheDtype}` : ''}`, shape: `[${t},${w}] NH ${nh} NKV ${nkv}${rot ? ` RoPE ${rot.rotaryDim}` : ''}`, tier: 1, tolerance: EXACT,
    ref: () => {
      const { cache } = pagedCache(dt, nkv, hs, n, 340, cacheDtype);
      const rope = (x: Tensor<ActDType>) => (rot ? ref.rope({ x, positions, table: rot }) : x);
      const q = rope(qkvPart(qkv, 0, nh, hs));
      const k = rope(qkvPart(qkv, nh * hs, nkv, hs));
      const v = qkvPart(qkv, (nh + nkv) * hs, nkv, hs);
      refKvCacheWrite(cache, 0, { k, v, slots, positions });
      const out = new Float32Array(t * w);
      const [qf, kf, vf] = [q, k, v].map((x) => ref.toF32(x));
      for (let r = 0; r < t; r++) {
        out.set(qf!.subarray(r * nh * hs, (r + 1) * nh * hs), r * w);
        out.set(kf!.subarray(r * nkv * hs, (r + 1) * nkv * hs), r * w + nh * hs);
        out.set(vf!.subarray(r * nkv * hs, (r + 1) * nkv * hs), r * w + (nh + nkv) * hs);
      }
      return [fromValues(dt, [t, w], out), cache.pools[0]!];
    },
    device: () => {
      const { cache } = pagedCache(dt, nkv, hs, n, 340, cacheDtype);
      const dc = gpu.uploadKvCache(cache);
      const table = rot ? gpu.uploadRopeTable(rot) : undefined;
      const { d, free } = upload({ slots, positions });
      const error = DeviceTensor.zeros('i32', [1]);
      return {
        run: () => {
          const x = DeviceTensor.from(qkv);
          gpu.qkvPrepare(dc, 0, { qkv: x, slots: d.slots, positions: d.positions }, { numHeads: nh, numKvHeads: nkv, headSize: hs, ...(table ? { rope: table } : {}) }, error);
          const flag = error.toHost().data[0]!;
          if (flag !== 0) throw new Error(`qkvPrepare flagged token ${flag - 1}`);
          return [x, dc.pools[0]!.clone()];
        },
        dispose: () => {
          free();
          error.free();
          table?.cos.free();
          table?.sin.free();
          dc.pools.forEach((p) => p.free());
          dc.blockTable?.free();
        },
      };
    },
    bytes: 2 * bytesOf(qkv), flops: 0,
  };
}

function productionCases(gpt2Wte: Tensor<ActDType>): KernelCase[] {
  const f16 = nmse(1e-5, 'cuBLASLt tensor-core order of the fp32 sums; one rounding to T');
  const epi = nmse(2e-5, 'fused epilogue rounds once where the oracle rounds after the GEMM and again after GELU / the add; cuBLASLt\'s GELU');
  const mma = nmse(1e-5, 'tensor-core (mma.sync) order of the fp32 sums, warp (and split) partials added in a fixed order; one rounding to T');
  const mmaEpi = nmse(2e-5, 'tensor-core order of the fp32 sums; bias, GELU (the oracle\'s formula) and the add in fp32, one rounding where the oracle rounds after each');
  const lnTol = nmse(1e-6, 'tree sums and rsqrt in fp32 instead of the serial order and 1/sqrt; output rounded to T');
  const lnMma = nmse(2e-5, 'the LayerNorm\'s tree sums and rsqrt (layerNormFast\'s bits), then the tensor-core order of the GEMM\'s sums; bias, GELU in fp32, one rounding');
  const ln = (name: string, dt: ActDType, rows: number, cols: number) => {
    const x = rnd(dt, [rows, cols], rows + cols, 2, 0.5);
    const gamma = rnd(dt, [cols], cols + 1, 0.2, 1);
    const beta = rnd(dt, [cols], cols + 2, 0.1);
    return caseOf({ name, op: 'layernorm', dtype: `${dt} fast`, shape: `[${rows},${cols}]`, tier: 3, tolerance: lnTol, host: { x, gamma, beta },
      ref: () => [ref.layerNorm({ x, gamma, beta })], launch: (d) => [gpu.layerNormFast({ x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never })], bytes: 2 * bytesOf(x), flops: 8 * rows * cols });
  };
  const logits = rnd('f32', [4, 50257], 350, 3);
  const ld = logits.data as Float32Array;
  ld[7] = 1e9; ld[8] = 1e9;                 // row 0: a tie → the first
  ld.fill(NaN, 50257, 50257 + 20);          // row 1: leading NaNs skipped
  ld.fill(NaN, 2 * 50257, 3 * 50257);       // row 2: all NaN → V − 1
  return [
    gemmLtCase('gemmLt f32 odd', 'f32', 5, 13, 7, { tol: nmse(1e-10, 'fp32 sums in cuBLASLt order') }),
    gemmLtCase('gemmLt f16 gpt2 qkv +bias (M 1)', 'f16', 1, 768, 2304, { bias: true, tol: f16 }),
    gemmLtCase('gemmLt f16 gpt2 qkv +bias (M 100)', 'f16', 100, 768, 2304, { bias: true, tol: f16 }),
    gemmLtCase('gemmLt f16 gpt2 fc +bias gelu', 'f16', 16, 768, 3072, { bias: true, gelu: true, tol: epi }),
    gemmLtCase('gemmLt bf16 gpt2 proj +bias +residual', 'bf16', 16, 3072, 768, { bias: true, residual: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmLtCase('gemmLt f16 santacoder qkv (MQA width) +bias', 'f16', 8, 2048, 2304, { bias: true, tol: f16 }),
    gemmLtCase('gemmLt f16 gpt2-xl fc proj +bias +residual (M 1)', 'f16', 1, 6400, 1600, { bias: true, residual: true, tol: epi }),
    caseOf({ name: 'gemmLt gpt2 lm_head (tied wte) f16→f32 logits', op: 'gemm', dtype: 'f16→f32 cuBLASLt', shape: '[2,768]·[50257,768]ᵀ', tier: 3, tolerance: f16,
      host: { a: rnd('f16', [2, 768], 360), b: gpt2Wte },
      ref: () => [ref.gemm({ a: rnd('f16', [2, 768], 360), b: gpt2Wte }, { transB: true, outDtype: 'f32' })],
      launch: (d) => [gpu.gemmLt({ a: d['a'] as never, b: d['b'] as never }, { transB: true, outDtype: 'f32' })], bytes: 50257 * 768 * 2, flops: 2 * 2 * 768 * 50257 }),
    gemmDecodeCase('gemmDecode f16 gpt2 qkv +bias (M 1)', 'f16', 1, 768, 2304, { bias: true, tol: mma }),
    gemmDecodeCase('gemmDecode f16 gpt2 qkv +bias (M 64)', 'f16', 64, 768, 2304, { bias: true, tol: mma }),
    gemmDecodeCase('gemmDecode f16 gpt2 fc +bias gelu (M 20)', 'f16', 20, 768, 3072, { bias: true, gelu: true, tol: mmaEpi }),
    gemmDecodeCase('gemmDecode bf16 gpt2 proj +bias +residual (M 100)', 'bf16', 100, 3072, 768, { bias: true, residual: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 K, N tails (K 776, N 2312) rows [5,0,3]', 'f16', 6, 776, 2312, { bias: true, rows: [5, 0, 3], tol: mma }),
    gemmDecodeCase('gemmDecode f16 gpt2-xl fc proj +bias +residual (M 1)', 'f16', 1, 6400, 1600, { bias: true, residual: true, tol: mmaEpi }),
    gemmDecodeCase('gemmDecode f16 gpt2 qkv +bias (M 8)', 'f16', 8, 768, 2304, { bias: true, tol: mma }),
    gemmDecodeCase('gemmDecode bf16 K 64 (fewer steps than warps) +bias gelu (M 5)', 'bf16', 5, 64, 512, { bias: true, gelu: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 gpt2 lm_head (tied wte) f16→f32 logits', 'f16', 3, 768, 50257, { transB: true, outDtype: 'f32', b: gpt2Wte, tol: mma }),
    gemmDecodeCase('gemmDecode bf16 Bᵀ K tail (K 776) +residual (M 40)', 'bf16', 40, 776, 1000, { transB: true, residual: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 LayerNorm → gpt2 qkv +bias (M 1, fused)', 'f16', 1, 768, 2304, { norm: { beta: true }, bias: true, tol: lnMma }),
    gemmDecodeCase('gemmDecode f16 LayerNorm → gpt2-xl fc +bias gelu (M 3, fused)', 'f16', 3, 1600, 6400, { norm: { beta: true }, bias: true, gelu: true, tol: lnMma }),
    gemmDecodeCase('gemmDecode bf16 LayerNorm1p (no β) → santacoder qkv (M 8, fused)', 'bf16', 8, 2048, 2304, { norm: { beta: false, plusOne: true }, tol: nmse(1e-4, 'bf16: LayerNorm tree sums, tensor-core order, one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 LayerNorm → gpt2 fc rows [39,2] (M 40: LayerNorm kernel first)', 'f16', 40, 768, 3072, { norm: { beta: true }, bias: true, gelu: true, rows: [39, 2], tol: lnMma }),
    ln('layerNormFast f16 gpt2', 'f16', 7, 768),
    ln('layerNormFast bf16 santacoder', 'bf16', 3, 2048),
    ln('layerNormFast f32 odd', 'f32', 5, 1601),
    qkvPrepareCase('qkvPrepare f16 gpt2 (no RoPE)', 'f16', 12, 12, 64, 6, 0),
    qkvPrepareCase('qkvPrepare bf16 MQA RoPE 25%', 'bf16', 16, 1, 128, 5, 0.25),
    qkvPrepareCase('qkvPrepare f32 RoPE full', 'f32', 4, 2, 16, 4, 1),
    qkvPrepareCase('qkvPrepare bf16 santacoder MQA (no RoPE, 8 per thread)', 'bf16', 16, 1, 128, 7, 0),
    qkvPrepareCase('qkvPrepare f16 gpt2 (no RoPE) into an int8 cache', 'f16', 12, 12, 64, 5, 0, 'i8'),
    qkvPrepareCase('qkvPrepare f32 GQA (no RoPE) into an fp8 cache', 'f32', 4, 2, 16, 6, 0, 'fp8e4m3'),
    decodeCase('attentionDecode f16 gpt2 (MHA)', 'f16', 12, 12, 64, [{ slot: 0, pos: 0 }, { slot: 1, pos: 100 }, { slot: 0, pos: 300 }, { slot: 1, pos: 599 }]),
    decodeCase('attentionDecode f16 santacoder (MQA)', 'f16', 16, 1, 128, [{ slot: 1, pos: 5 }, { slot: 0, pos: 513 }]),
    decodeCase('attentionDecode bf16 GQA odd', 'bf16', 6, 2, 64, [{ slot: 0, pos: 256 }, { slot: 1, pos: 257 }]),
    contextCase('attentionContext f16 gpt2 fp32 acc', 'f16', 12, 12, 64, [1, 37, 100], true),
    contextCase('attentionContext tensor cores f16 gpt2 fp16 P', 'f16', 12, 12, 64, [70], false),
    contextCase('attentionContext bf16 santacoder MQA', 'bf16', 16, 1, 128, [33, 64], true),
    contextCase('attentionContext tensor cores f16 gpt2 (P in T)', 'f16', 12, 12, 64, [5, 64, 150], false),
    contextCase('attentionContext tensor cores bf16 MQA HS 128 (P in T)', 'bf16', 16, 1, 128, [97, 1, 40], false),
    caseOf({ name: 'argmax f32 gpt2 logits (ties, NaN rows)', op: 'argmax', dtype: 'f32→i32', shape: '[4,50257]', tier: 1, host: { logits },
      ref: () => [ref.argmaxRows(logits)], launch: (d) => [gpu.argmaxRows(d['logits'] as never)], bytes: bytesOf(logits), flops: 0 }),
  ];
}

/** Options for the table: where the real GPT-2 layer 0 lives (optional). */
export interface CaseOptions {
  readonly gpt2Layer0?: { readonly x: Tensor<'f32'>; readonly gamma: Tensor<'f32'>; readonly beta: Tensor<'f32'>; readonly wq: Tensor<'f32'>; readonly bq: Tensor<'f32'> };
}

export function kernelCases(o: CaseOptions = {}): KernelCase[] {
  // GPT-2's token embedding, shared by the lookup case and the tied lm_head case.
  const gpt2Wte = rnd('f16', [50257, 768], 51, 0.02);
  const cases: KernelCase[] = [
    gemmCase('gemm f32 odd', 'f32', 5, 13, 7),
    gemmCase('gemm f16 odd +bias Bᵀ', 'f16', 7, 11, 13, { bias: true, transB: true }),
    gemmCase('gemm bf16 Aᵀ', 'bf16', 13, 5, 11, { transA: true }),
    gemmCase('gemm f16→f32', 'f16', 3, 64, 5, { outDtype: 'f32' }),
    gemmCase('gemm gpt2 qkv f16', 'f16', 16, 768, 2304, { bias: true }),
    gemmCase('gemm santacoder qkv bf16 (MQA width)', 'bf16', 8, 2048, 2304, { bias: true }),
    gemmCase('gemm gpt2 lm_head (tied wte) f16→f32 logits', 'f16', 2, 768, 50257, { transB: true, outDtype: 'f32', b: gpt2Wte }),
    int8Case('int8 gemm odd', 7, 13, 11, undefined),
    int8Case('int8 gemm Bᵀ', 5, 64, 3, undefined, 'f16', true),
    int8Case('smoothquant per-tensor', 7, 13, 11, { perToken: false, perChannel: false }),
    int8Case('smoothquant per-token', 7, 13, 11, { perToken: true, perChannel: false }, 'bf16'),
    int8Case('smoothquant per-channel', 7, 13, 11, { perToken: false, perChannel: true }, 'f32'),
    int8Case('smoothquant both, gpt2 dense', 16, 768, 768, { perToken: true, perChannel: true }),
  ];
  // quantize
  {
    const x = rnd('f16', [7, 13], 21, 3);
    const xt = rnd('bf16', [11, 768], 22, 2);
    cases.push(
      caseOf({ name: 'quantize per-tensor f16', op: 'quantize', dtype: 'f16→i8', shape: '[7,13]', tier: 1, host: { x },
        ref: () => [ref.quantizePerTensor({ x }, { scale: 21.7 })], launch: (d) => [gpu.quantizePerTensor({ x: d['x'] as never }, { scale: 21.7 })], bytes: bytesOf(x) * 1.5, flops: 0 }),
      caseOf({ name: 'quantize per-token bf16', op: 'quantize', dtype: 'bf16→i8', shape: '[11,768]', tier: 1, host: { x: xt },
        ref: () => { const r = ref.quantizePerToken({ x: xt }); return [r.q, r.scale]; },
        launch: (d) => { const r = gpu.quantizePerToken({ x: d['x'] as never }); return [r.q, r.scale]; }, bytes: bytesOf(xt) * 1.5, flops: 0 }),
    );
    const { q, scale } = ref.quantizePerToken({ x: xt });
    cases.push(caseOf({ name: 'dequantize per-token → f32', op: 'quantize', dtype: 'i8→f32', shape: '[11,768]', tier: 1, host: { q, scale },
      ref: () => [ref.dequantize({ q, scale }, { outDtype: 'f32' })], launch: (d) => [gpu.dequantize({ q: d['q'] as never, scale: d['scale'] as never }, { outDtype: 'f32' })], bytes: bytesOf(q) * 5, flops: 0 }));
  }
  // fp8
  {
    const x = rnd('f16', [13, 7], 31, 40);
    const q = ref.quantizeFp8({ x: rnd('f32', [5, 13], 32, 3) }, { scale: 16 });
    const w = ref.quantizeFp8({ x: rnd('f32', [7, 13], 33, 3) }, { scale: 16 });
    const bias = rnd('bf16', [7], 34);
    cases.push(
      caseOf({ name: 'fp8 quantize f16 (saturating)', op: 'fp8', dtype: 'f16→fp8', shape: '[13,7]', tier: 1, host: { x },
        ref: () => [ref.quantizeFp8({ x }, { scale: 11.3 })], launch: (d) => [gpu.quantizeFp8({ x: d['x'] as never }, { scale: 11.3 })], bytes: bytesOf(x) * 1.5, flops: 0 }),
      caseOf({ name: 'fp8 dequantize → bf16', op: 'fp8', dtype: 'fp8→bf16', shape: '[5,13]', tier: 1, host: { q },
        ref: () => [ref.dequantizeFp8({ q }, { scale: 0.0625, outDtype: 'bf16' })], launch: (d) => [gpu.dequantizeFp8({ q: d['q'] as never }, { scale: 0.0625, outDtype: 'bf16' })], bytes: bytesOf(q) * 3, flops: 0 }),
      caseOf({ name: 'fp8 gemm Bᵀ +bias → bf16', op: 'fp8', dtype: 'fp8→bf16', shape: '[5,13]·[13,7] Bᵀ +bias', tier: 1, host: { a: q, b: w, bias },
        ref: () => [ref.fp8Gemm({ a: q, b: w, bias }, { transB: true, scaleA: 0.0625, scaleB: 0.0625, outDtype: 'bf16' })],
        launch: (d) => [gpu.fp8Gemm({ a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never }, { transB: true, scaleA: 0.0625, scaleB: 0.0625, outDtype: 'bf16' })], bytes: bytesOf(q, w), flops: 2 * 5 * 7 * 13 }),
    );
  }
  // layernorm
  for (const [name, dt, rows, cols, beta, plusOne, fused] of [
    ['layernorm f32 odd', 'f32', 5, 13, true, false, false],
    ['layernorm f16 gpt2', 'f16', 16, 768, true, false, false],
    ['layernorm1p bf16 no-bias (gpt-next)', 'bf16', 7, 2048, false, true, false],
    ['layernorm + per-token quant f16', 'f16', 11, 768, true, false, true],
  ] as const) {
    const x = rnd(dt, [rows, cols], rows + cols, 2, 0.3);
    const gamma = rnd(dt, [cols], 3, 0.1, plusOne ? 0 : 1);
    const b = beta ? rnd(dt, [cols], 4, 0.1) : undefined;
    const inputs = b ? { x, gamma, beta: b } : { x, gamma };
    cases.push(caseOf({ name, op: 'layernorm', dtype: fused ? `${dt}→i8` : dt, shape: `[${rows},${cols}]`, tier: 2, host: { x, gamma, beta: b },
      ref: () => fused ? (({ q, scale }) => [q, scale])(ref.layerNormQuantPerToken(inputs)) : [ref.layerNorm(inputs, { weightPlusOne: plusOne })],
      launch: (d) => {
        const di = { x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never };
        if (!fused) return [gpu.layerNorm(di, { weightPlusOne: plusOne })];
        const r = gpu.layerNormQuantPerToken(di);
        return [r.q, r.scale];
      },
      bytes: bytesOf(x) * 2, flops: 8 * rows * cols }));
  }
  // activation, residual
  for (const dt of ['f32', 'f16', 'bf16'] as const) {
    const x = rnd(dt, [7, 3072], 41, 3);
    cases.push(caseOf({ name: `gelu ${dt} (gpt2 MLP width)`, op: 'activation', dtype: dt, shape: '[7,3072]', tier: 1, host: { x },
      ref: () => [ref.gelu({ x })], launch: (d) => [gpu.gelu({ x: d['x'] as never })], bytes: bytesOf(x) * 2, flops: 20 * 7 * 3072 }));
    const a = rnd(dt, [5, 11], 42, 100);
    const b = rnd(dt, [5, 11], 43);
    cases.push(caseOf({ name: `residual ${dt}`, op: 'residual', dtype: dt, shape: '[5,11]', tier: 1, host: { a, b },
      ref: () => [ref.residualAdd({ a, b })], launch: (d) => [gpu.residualAdd({ a: d['a'] as never, b: d['b'] as never })], bytes: bytesOf(a, b, a), flops: 55 }));
  }
  {
    const x = rnd('bf16', [5, 11], 44, 4);
    const gate = rnd('bf16', [5, 11], 45, 2);
    cases.push(caseOf({ name: 'swiglu bf16', op: 'activation', dtype: 'bf16', shape: '[5,11]', tier: 1, host: { x, gate },
      ref: () => [ref.swiglu({ x, gate })], launch: (d) => [gpu.swiglu({ x: d['x'] as never, gate: d['gate'] as never })], bytes: bytesOf(x, gate, x), flops: 20 * 55 }));
  }
  // softmax
  for (const [name, dt, rows, cols, masked] of [['softmax f32 odd', 'f32', 5, 13, false], ['softmax f16 masked', 'f16', 7, 11, true], ['softmax bf16 wide', 'bf16', 3, 1024, false]] as const) {
    const x = rnd(dt, [rows, cols], rows * cols, 3);
    const mask = masked ? fromValues('i8', [rows, cols], Array.from({ length: rows * cols }, (_, i) => (i % 3 === 1 || i % cols === cols - 1 ? 0 : 1))) : undefined;
    cases.push(caseOf({ name, op: 'softmax', dtype: dt, shape: `[${rows},${cols}]${masked ? ' masked' : ''}`, tier: 2, host: { x, mask },
      ref: () => [ref.maskedSoftmax(mask ? { x, mask } : { x }, { scale: 0.37 })], launch: (d) => [gpu.maskedSoftmax({ x: d['x'] as never, mask: d['mask'] as never }, { scale: 0.37 })],
      bytes: bytesOf(x) * 2, flops: 5 * rows * cols }));
  }
  // rope
  for (const [name, dt, heads, hs, rot] of [['rope f16 full (HS 64)', 'f16', 12, 64, 64], ['rope bf16 partial 32 of 64 (gpt-next 0.5)', 'bf16', 4, 64, 32], ['rope f32 odd heads', 'f32', 3, 12, 8]] as const) {
    const table = ropeTable(1024, rot);
    const x = rnd(dt, [7, heads, hs], heads + hs);
    const positions = ints([0, 1, 2, 17, 511, 1000, 1023]);
    cases.push({ name, op: 'rope', dtype: dt, shape: `[7,${heads},${hs}] rot ${rot}`, tier: 1, tolerance: EXACT,
      ref: () => [ref.rope({ x, positions, table })],
      device: () => {
        const t = gpu.uploadRopeTable(table);
        const { d, free } = upload({ x, positions });
        return { run: () => [gpu.rope({ x: d.x, positions: d.positions, table: t })], dispose: () => { free(); t.cos.free(); t.sin.free(); } };
      },
      bytes: bytesOf(x) * 2, flops: 6 * 7 * heads * rot });
  }
  // kv cache
  const paged = (tpb: number, blocks: number, perSeq: number): KvLayout => ({ kind: 'paged', tokensPerBlock: tpb, numBlocks: blocks, maxBlocksPerSeq: perSeq });
  cases.push(
    kvWriteCase('kv write f16 contiguous', 'f16', { kind: 'contiguous', maxSeqLen: 16 }, 2, 64, 9, 'f16'),
    kvWriteCase('kv write bf16 paged', 'bf16', paged(4, 8, 4), 1, 128, 11, 'bf16'),
    kvWriteCase('kv write int8 paged (K/V scales)', 'i8', paged(2, 16, 8), 2, 13, 13, 'f16'),
    kvWriteCase('kv write fp8 paged', 'fp8e4m3', paged(8, 4, 2), 3, 16, 7, 'f32'),
  );
  // attention
  cases.push(
    attentionCase('context MHA f16 packed', 'f16', 12, 12, 64, [{ start: 0, length: 5 }, { start: 0, length: 3 }]),
    attentionCase('context MQA bf16 (santacoder heads)', 'bf16', 16, 1, 128, [{ start: 0, length: 7 }]),
    attentionCase('context GQA f32 odd', 'f32', 6, 2, 13, [{ start: 0, length: 4 }, { start: 0, length: 1 }, { start: 0, length: 6 }]),
    attentionCase('decode MHA f16, paged f16 cache', 'f16', 4, 4, 64, [{ start: 37, length: 1 }], 'f16', paged(8, 12, 6)),
    attentionCase('decode MQA f16, int8 cache', 'f16', 8, 1, 64, [{ start: 20, length: 1 }], 'i8', { kind: 'contiguous', maxSeqLen: 64 }),
    attentionCase('chunk after prefix bf16, fp8 paged cache', 'bf16', 4, 2, 32, [{ start: 9, length: 4 }], 'fp8e4m3', paged(4, 8, 4)),
  );
  // embedding
  {
    const table = gpt2Wte;
    const ids = ints([50256, 0, 15496, 11, 995, 13, 50256, 1, 7]);
    const wpe = rnd('f16', [1024, 768], 52, 0.01);
    const tok = ref.embeddingLookup({ ids, table });
    const positions = ints([0, 1, 2, 3, 4, 5, 6, 7, 1023]);
    cases.push(
      caseOf({ name: 'embedding lookup f16 (gpt2 vocab)', op: 'embedding', dtype: 'f16', shape: '[9] in [50257,768]', tier: 1, host: { ids, table },
        ref: () => [ref.embeddingLookup({ ids, table })], launch: (d) => [gpu.embeddingLookup({ ids: d['ids'] as never, table: d['table'] as never })], bytes: 2 * 9 * 768 * 2, flops: 0 }),
      caseOf({ name: 'position add f16', op: 'embedding', dtype: 'f16', shape: '[9,768]', tier: 1, host: { x: tok, wpe, positions },
        ref: () => [ref.addPositionEmbedding({ x: tok, wpe, positions })], launch: (d) => [gpu.addPositionEmbedding({ x: d['x'] as never, wpe: d['wpe'] as never, positions: d['positions'] as never })], bytes: 3 * 9 * 768 * 2, flops: 9 * 768 }),
    );
    const small = rnd('bf16', [37, 8], 53);
    const sids = ints([0, 36, 18, 19, 9, 10, 27, 28, 5]);
    for (const rank of [0, 3]) {
      const shard = ref.shardRows(small, 4)[rank]!;
      cases.push(caseOf({ name: `vocab-sharded lookup bf16 TP 4 rank ${rank} (V 37)`, op: 'embedding', dtype: 'bf16', shape: '[9] in [10,8]', tier: 1, host: { ids: sids, shard },
        ref: () => [ref.vocabShardedLookup({ ids: sids, shard }, { rank, tpSize: 4, vocabSize: 37 })],
        launch: (d) => [gpu.vocabShardedLookup({ ids: d['ids'] as never, shard: d['shard'] as never }, { rank, tpSize: 4, vocabSize: 37 })], bytes: 2 * 9 * 8 * 2, flops: 0 }));
    }
    const cols = ref.shardCols(small, 2)[1]!;
    const promptTable = rnd('bf16', [2, 3, 8], 54);
    const pids = ints([37, 39, 5, 38]);
    const tasks = ints([1, 0, 1, 1]);
    cases.push(
      caseOf({ name: 'hidden-sharded lookup bf16 TP 2 rank 1', op: 'embedding', dtype: 'bf16', shape: '[9] in [37,4]', tier: 1, host: { ids: sids, shard: cols },
        ref: () => [ref.hiddenShardedLookup({ ids: sids, shard: cols }, { rank: 1, tpSize: 2 })],
        launch: (d) => [gpu.hiddenShardedLookup({ ids: d['ids'] as never, shard: d['shard'] as never }, { rank: 1, tpSize: 2 })], bytes: 2 * 9 * 4 * 2, flops: 0 }),
      caseOf({ name: 'prompt-table lookup bf16', op: 'embedding', dtype: 'bf16', shape: '[4]; 2 tasks × 3 tokens', tier: 1, host: { ids: pids, table: small, promptTable, tasks },
        ref: () => [ref.promptEmbeddingLookup({ ids: pids, table: small, promptTable, tasks })],
        launch: (d) => [gpu.promptEmbeddingLookup({ ids: d['ids'] as never, table: d['table'] as never, promptTable: d['promptTable'] as never, tasks: d['tasks'] as never })], bytes: 2 * 4 * 8 * 2, flops: 0 }),
    );
  }
  cases.push(...productionCases(gpt2Wte).map((c) => ({ ...c, production: true })));
  // the real GPT-2 124M layer 0: LN1 and the Q projection on real weights and activations
  if (o.gpt2Layer0) {
    const { x, gamma, beta, wq, bq } = o.gpt2Layer0;
    cases.push(caseOf({ name: 'real gpt2 layer0 LN1 f32', op: 'layernorm', dtype: 'f32', shape: `[${x.shape[0]},768] real`, tier: 2, host: { x, gamma, beta },
      ref: () => [ref.layerNorm({ x, gamma, beta })], launch: (d) => [gpu.layerNorm({ x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never })], bytes: bytesOf(x) * 2, flops: 8 * ref.numel(x.shape) }));
    const ln = ref.layerNorm({ x, gamma, beta });
    cases.push(gemmCase('real gpt2 layer0 Q projection f32', 'f32', x.shape[0]!, 768, 768, { a: ln, b: wq, biasT: bq }));
    const f16 = <D extends DType>(t: Tensor<D>): Tensor<'f16'> => fromValues('f16', t.shape, ref.toF32(t));
    cases.push(gemmCase('real gpt2 layer0 Q projection f16', 'f16', x.shape[0]!, 768, 768, { a: f16(ln), b: f16(wq), biasT: f16(bq) }));
  }
  return cases;
}

/** Ops of ref-math with no CUDA kernel in this table, and why (reported, never silently skipped). */
export const NOT_SUPPORTED: Readonly<Partial<Record<OpName, string>>> = {
  collectives: 'NCCL all-reduce needs one process per GPU: checked by scripts/nccl-check.mjs on a multi-GPU machine, not by this single-process table',
};
