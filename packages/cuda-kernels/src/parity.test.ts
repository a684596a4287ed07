// GPU parity: every case of the table on the oracle and on the device, bit for bit.
// Skipped, with the reason in its title, where no GPU is usable.
import { describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import { isAvailable } from './binding.js';
import { kernelCases } from './cases.js';
import { addon } from './binding.js';
import { CudaEvent, CudaGraph, DeviceTensor, pinnedStorage, Stream } from './device.js';
import { FreedTensorError } from './errors.js';
import { parityVerdict, runParity } from './harness.js';
import { embeddingLookup, gemm, gemmDecode, gemmDecodePlan, gemmLt, int8GemmDecode, layerNorm, layerNormFast, layerNormFastFp8, layerNormFastQuant, qkvPrepare, uploadKvCache } from './ops/index.js';
import { assignBlocks, bitEqual, createKvCache, layerNorm as refLayerNorm, quantizeFp8 as refQuantizeFp8, quantizePerTensor as refQuantizePerTensor, quantizePerToken as refQuantizePerToken, type ActDType, type KvCacheDType } from '@trtllm/ref-math';

const avail = isAvailable();
const title = avail.ok ? `GPU parity on ${avail.device.name}` : `GPU parity (skipped: ${avail.reason})`;

describe.skipIf(!avail.ok)(title, () => {
  for (const c of avail.ok ? kernelCases() : []) { // a skipped suite still runs this body: build cases only on a GPU
    it(`${c.name}: ${c.tolerance.kind}`, () => {
      const [r] = runParity([c]);
      const v = parityVerdict(r!); // tier 1/2: exact; tier 3: exact or within its NMSE bound; FAIL/error never
      expect(v.ok, v.message).toBe(true);
    });
  }
  it('bad input gives typed errors: freed tensor, shape, out-of-range id', () => {
    const a = DeviceTensor.from(fromValues('f32', [2, 3], [1, 2, 3, 4, 5, 6]));
    const b = DeviceTensor.from(fromValues('f32', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
    expect(() => gemm({ a, b })).toThrow(/inner dimension K of b/);
    b.free();
    const bt = DeviceTensor.from(fromValues('f32', [3, 2], [1, 2, 3, 4, 5, 6]));
    bt.free();
    expect(() => gemm({ a, b: bt })).toThrow(FreedTensorError);
    const table = DeviceTensor.from(fromValues('f16', [5, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const ids = DeviceTensor.from(fromValues('i32', [3], [1, 5, 2]));
    expect(() => embeddingLookup({ ids, table })).toThrow(/inputs.ids\[1\]: expected a token id in \[0, 5\)/);
    expect(() => DeviceTensor.empty('f32', [2 ** 38])).toThrow(/cudaMalloc.*cudaErrorMemoryAllocation.*MiB free/);
    [a, table, ids].forEach((t) => t.free());
  });
  it('ops on a non-default stream, timed by events, give the same bits; pinned buffers round-trip', () => {
    const x = fromValues('f16', [64, 768], Float32Array.from({ length: 64 * 768 }, (_, i) => Math.sin(i) * 3));
    const gamma = fromValues('f16', [768], new Float32Array(768).fill(1.25));
    const stream = new Stream();
    const [e0, e1] = [new CudaEvent(), new CudaEvent()];
    const dx = DeviceTensor.from(x, stream);
    const dg = DeviceTensor.from(gamma, stream);
    e0.record(stream);
    const y = layerNorm({ x: dx, gamma: dg }, {}, stream);
    e1.record(stream);
    expect(e1.elapsedSince(e0)).toBeGreaterThan(0);
    expect(bitEqual(y.toHost(stream), refLayerNorm({ x, gamma }))).toBe(true);
    const pinned = pinnedStorage('f16', 64 * 768);
    addon().copy(pinned, y.ptr, y.bytes, 1, stream.handle);
    stream.synchronize();
    expect(Array.from(pinned.subarray(0, 8))).toEqual(Array.from(y.toHost().data.subarray(0, 8)));
    [dx, dg, y].forEach((t) => t.free());
    [e0, e1].forEach((e) => e.destroy());
    stream.destroy();
  });
  it('a CUDA graph replays captured production kernels on new inputs with the eager bits', () => {
    const stream = new Stream();
    const host = (seed: number) => fromValues('f16', [4, 768], Float32Array.from({ length: 4 * 768 }, (_, i) => Math.sin(i * seed) * 2));
    const gamma = DeviceTensor.from(fromValues('f16', [768], new Float32Array(768).fill(1.5)));
    const w = DeviceTensor.from(fromValues('f16', [768, 256], Float32Array.from({ length: 768 * 256 }, (_, i) => Math.cos(i) * 0.05)));
    const x = DeviceTensor.from(host(1));
    const eager = (input: DeviceTensor) => {
      const h = layerNormFast({ x: input as never, gamma }, {}, stream);
      const y = gemmLt({ a: h, b: w as never }, {}, stream);
      h.free();
      return y;
    };
    const warm = eager(x); // first use picks the cuBLASLt algorithm outside the capture
    warm.free();
    const { graph, result: out } = CudaGraph.capture(stream, () => eager(x));
    for (const seed of [2, 3]) {
      const next = DeviceTensor.from(host(seed));
      x.copyFrom(next, stream);
      graph.launch(stream);
      stream.synchronize();
      next.free();
      const want = eager(x);
      stream.synchronize();
      expect(bitEqual(out.toHost(), want.toHost())).toBe(true);
      want.free();
    }
    graph.destroy();
    [gamma, w, x, out].forEach((t) => t.free());
    stream.destroy();
  });
  it('gemmDecode is batch-invariant: a row gives the same bits alone, in any M and through a row list', () => {
    const rows = 100;
    const bytes = (x: ArrayBufferView, at: number, n: number) => Buffer.from(x.buffer, x.byteOffset + at, n);
    const wave = (n: number, f: number, s = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * s);
    for (const [k, n, transB] of [[1600, 4800, false], [6400, 1600, false], [768, 50257, true]] as const) {
      const a = DeviceTensor.from(fromValues('f16', [rows, k], wave(rows * k, 0.37)));
      const b = DeviceTensor.from(fromValues('f16', transB ? [n, k] : [k, n], wave(n * k, 0.011, 0.05)));
      const bias = transB ? undefined : DeviceTensor.from(fromValues('f16', [n], wave(n, 0.3)));
      const attrs = transB ? { transB, outDtype: 'f32' as const } : { activation: 'gelu' as const };
      const all = gemmDecode(bias ? { a, b, bias } : { a, b }, attrs);
      const want = all.toHost().data;
      const w = n * (transB ? 4 : 2); // bytes per output row
      for (const m of [1, 16, 17, 33, 64]) {
        const y = gemmDecode(bias ? { a: a.view(0, [m, k]), b, bias } : { a: a.view(0, [m, k]), b }, attrs);
        expect(Buffer.compare(bytes(y.toHost().data, 0, m * w), bytes(want, 0, m * w)), `M=${m} K=${k} N=${n}`).toBe(0);
        y.free();
      }
      const list = DeviceTensor.from(fromValues('i32', [2], [99, 3]));
      const out = DeviceTensor.zeros(all.dtype, [rows, n]);
      gemmDecode(bias ? { a, b, bias, rows: list, out } : { a, b, rows: list, out }, attrs);
      const got = out.toHost().data;
      for (const r of [99, 3]) expect(Buffer.compare(bytes(got, r * w, w), bytes(want, r * w, w)), `row ${r}`).toBe(0);
      expect(Array.from(got.subarray(0, 4)).every((v) => v === 0)).toBe(true); // row 0 untouched
      [a, b, all, list, out].forEach((t) => t.free());
      bias?.free();
    }
  }, 60_000);
  it("layerNormFastQuant / layerNormFastFp8: y is layerNormFast's, bit for bit, and the int8 and scales are exactly quantizePerToken / quantizePerTensor of that y, the e4m3 quantizeFp8's", () => {
    const wave = (n: number, f: number, s = 1, o = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * s + o);
    for (const [dt, rows, cols, perToken] of [['f16', 9, 768, true], ['bf16', 3, 4096, true], ['f16', 5, 1600, false], ['f32', 4, 300, true]] as const) {
      const x = DeviceTensor.from(fromValues(dt, [rows, cols], wave(rows * cols, 0.37, 2, 0.3)));
      const gamma = DeviceTensor.from(fromValues(dt, [cols], wave(cols, 0.07, 0.2, 1)));
      const beta = DeviceTensor.from(fromValues(dt, [cols], wave(cols, 0.05, 0.1)));
      const quant = perToken ? ({ perToken: true } as const) : ({ perToken: false, scale: 25.5 } as const);
      const r = layerNormFastQuant({ x, gamma, beta }, { quant, keepOutput: true });
      const y = r.y!.toHost();
      expect(bitEqual(y, layerNormFast({ x, gamma, beta }).toHost()), `${dt} ${rows}×${cols} y`).toBe(true);
      if (perToken) {
        const want = refQuantizePerToken({ x: y });
        expect(bitEqual(r.q.toHost(), want.q), `${dt} ${rows}×${cols} q`).toBe(true);
        expect(bitEqual(r.scale!.toHost(), want.scale), `${dt} ${rows}×${cols} scale`).toBe(true);
      } else {
        expect(bitEqual(r.q.toHost(), refQuantizePerTensor({ x: y }, { scale: 25.5 })), `${dt} ${rows}×${cols} q`).toBe(true);
      }
      // FP8 (--enable_fp8 engines): e4m3 of the same y, exactly quantizeFp8's
      const f = layerNormFastFp8({ x, gamma, beta }, { scale: 60, keepOutput: true });
      expect(bitEqual(f.y!.toHost(), y), `${dt} ${rows}×${cols} fp8 y`).toBe(true);
      expect(bitEqual(f.q.toHost(), refQuantizeFp8({ x: y }, { scale: 60 })), `${dt} ${rows}×${cols} fp8 q`).toBe(true);
      f.q.free();
      f.y!.free();
    }
  });
  it("gemmDecode's fused LayerNorm and KV-cache write give the bits of layerNormFast → gemmDecode → qkvPrepare", () => {
    const wave = (n: number, f: number, s = 1, o = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * s + o);
    const bytes = (x: ArrayBufferView) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    // gpt2 MHA with an f16 cache; santacoder MQA (K 2048, the fused way's limit) bf16 with an i8 cache and
    // layernorm1p without β; M 40 takes the ring way, so layerNormFast runs first inside gemmDecode
    const shapes: { dt: ActDType; cache: KvCacheDType; k: number; nh: number; nkv: number; hs: number; ms: number[]; beta: boolean; plusOne: boolean }[] = [
      { dt: 'f16', cache: 'f16', k: 768, nh: 12, nkv: 12, hs: 64, ms: [1, 3, 8, 40], beta: true, plusOne: false },
      { dt: 'bf16', cache: 'i8', k: 2048, nh: 16, nkv: 1, hs: 128, ms: [1, 5], beta: false, plusOne: true },
    ];
    for (const sh of shapes) {
      const n = (sh.nh + 2 * sh.nkv) * sh.hs;
      const x = DeviceTensor.from(fromValues(sh.dt, [40, sh.k], wave(40 * sh.k, 0.37, 2, 0.3)));
      const w = DeviceTensor.from(fromValues(sh.dt, [sh.k, n], wave(sh.k * n, 0.011, 0.05)));
      const bias = DeviceTensor.from(fromValues(sh.dt, [n], wave(n, 0.3)));
      const gamma = DeviceTensor.from(fromValues(sh.dt, [sh.k], wave(sh.k, 0.07, 0.2, sh.plusOne ? 0 : 1)));
      const beta = sh.beta ? DeviceTensor.from(fromValues(sh.dt, [sh.k], wave(sh.k, 0.05, 0.1))) : undefined;
      const norm = beta ? { gamma, beta } : { gamma };
      const lnAttrs = { eps: 1e-5, weightPlusOne: sh.plusOne };
      for (const m of sh.ms) {
        const host = createKvCache({ numLayers: 1, numSlots: m, numKvHeads: sh.nkv, headSize: sh.hs, dtype: sh.cache, layout: { kind: 'paged', tokensPerBlock: 16, numBlocks: 2 * m, maxBlocksPerSeq: 2 }, scales: [{ k: 0.031, v: 0.027 }] });
        for (let s = 0; s < m; s++) assignBlocks(host, s, [2 * m - 1 - 2 * s, 2 * s]); // interleaved, descending
        const [c1, c2] = [uploadKvCache(host), uploadKvCache(host)];
        const slots = DeviceTensor.from(fromValues('i32', [m], Array.from({ length: m }, (_, i) => m - 1 - i)));
        const positions = DeviceTensor.from(fromValues('i32', [m], Array.from({ length: m }, (_, i) => (7 * i + 5) % 32)));
        const [e1, e2] = [DeviceTensor.zeros('i32', [1]), DeviceTensor.zeros('i32', [1])];
        const xm = x.view(0, [m, sh.k]);
        // unfused: the LayerNorm kernel, the decode GEMM, qkvPrepare
        const h = layerNormFast({ x: xm, ...norm }, lnAttrs);
        const want = gemmDecode({ a: h, b: w, bias });
        qkvPrepare(c1, 0, { qkv: want, slots, positions }, { numHeads: sh.nh, numKvHeads: sh.nkv, headSize: sh.hs }, e1);
        // fused
        const got = gemmDecode({ a: xm, b: w, bias, norm, kvWrite: { cache: c2, layer: 0, slots, positions, numHeads: sh.nh, error: e2 } }, lnAttrs);
        const plan = gemmDecodePlan({ n, k: sh.k, m, layerNorm: true });
        const at = `${sh.dt} K ${sh.k} M ${m} (LayerNorm ${plan.layerNorm})`;
        expect(plan.layerNorm, at).toBe(m <= 8 ? 'fused' : 'separate');
        expect(Buffer.compare(bytes(got.toHost().data), bytes(want.toHost().data)), `qkv ${at}`).toBe(0);
        expect(Buffer.compare(bytes(c2.pools[0]!.toHost().data), bytes(c1.pools[0]!.toHost().data)), `cache ${at}`).toBe(0);
        expect([e1.toHost().data[0], e2.toHost().data[0]], at).toEqual([0, 0]);
        [h, want, got, slots, positions, e1, e2, c1.pools[0]!, c2.pools[0]!, c1.blockTable!, c2.blockTable!].forEach((t) => t.free());
      }
      [x, w, bias, gamma].forEach((t) => t.free());
      beta?.free();
    }
    // a row whose position has no block: the fused write flags it as qkvPrepare does (1 + row)
    const host = createKvCache({ numLayers: 1, numSlots: 2, numKvHeads: 12, headSize: 64, dtype: 'f16', layout: { kind: 'paged', tokensPerBlock: 16, numBlocks: 2, maxBlocksPerSeq: 1 } });
    assignBlocks(host, 0, [1]);
    assignBlocks(host, 1, [0]);
    const cache = uploadKvCache(host);
    const a = DeviceTensor.from(fromValues('f16', [2, 768], wave(2 * 768, 0.1)));
    const w = DeviceTensor.from(fromValues('f16', [768, 2304], wave(768 * 2304, 0.01, 0.05)));
    const slots = DeviceTensor.from(fromValues('i32', [2], [0, 1]));
    const positions = DeviceTensor.from(fromValues('i32', [2], [3, 16]));
    const error = DeviceTensor.zeros('i32', [1]);
    const y = gemmDecode({ a, b: w, kvWrite: { cache, layer: 0, slots, positions, numHeads: 12, error } });
    expect(error.toHost().data[0]).toBe(2);
    expect(() => gemmDecode({ a, b: w, kvWrite: { cache, layer: 0, slots, positions, numHeads: 11, error } })).toThrow(/numHeads/);
    [cache.pools[0]!, cache.blockTable!, a, w, slots, positions, error, y].forEach((t) => t.free());
  }, 60_000);
  it("int8GemmDecode's fused LayerNorm gives the bits of layerNormFastQuant → int8GemmDecode, per token and per tensor, for 1 to 8 rows", () => {
    const wave = (n: number, f: number, s = 1, o = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * s + o);
    const ints = (n: number, f: number) => Int8Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * f + 0.3) * 127));
    // gpt2-xl's QKV (split-free) and a split-K shape; santacoder's K 2048 without β and with layernorm1p; f32 at K 784
    const shapes: { dt: ActDType; k: number; n: number; beta: boolean; plusOne: boolean; gelu: boolean; residual: boolean }[] = [
      { dt: 'f16', k: 1600, n: 4800, beta: true, plusOne: false, gelu: false, residual: false },
      { dt: 'bf16', k: 2048, n: 768, beta: false, plusOne: true, gelu: true, residual: true },
      { dt: 'f32', k: 784, n: 40, beta: true, plusOne: false, gelu: true, residual: false },
    ];
    for (const sh of shapes) {
      const x = DeviceTensor.from(fromValues(sh.dt, [16, sh.k], wave(16 * sh.k, 0.37, 2, 0.3)));
      const gamma = DeviceTensor.from(fromValues(sh.dt, [sh.k], wave(sh.k, 0.07, 0.2, sh.plusOne ? 0 : 1)));
      const beta = sh.beta ? DeviceTensor.from(fromValues(sh.dt, [sh.k], wave(sh.k, 0.05, 0.1))) : undefined;
      const b = DeviceTensor.from(fromValues('i8', [sh.n, sh.k], ints(sh.n * sh.k, 0.13)));
      const alphaCol = DeviceTensor.from(fromValues('f32', [sh.n], wave(sh.n, 0.9, 5e-4, 2e-3)));
      const bias = DeviceTensor.from(fromValues(sh.dt, [sh.n], wave(sh.n, 0.3)));
      const residual = DeviceTensor.from(fromValues(sh.dt, [16, sh.n], wave(16 * sh.n, 0.21)));
      const norm = beta ? { gamma, beta } : { gamma };
      const ln = { eps: 1e-5, weightPlusOne: sh.plusOne };
      for (const perToken of [true, false]) {
        const mode = { perToken, perChannel: true };
        const staticAlpha = DeviceTensor.from(fromValues('f32', [1], [Math.fround(1 / 25.5)]));
        for (const m of [1, 3, 5, 8]) {
          const xm = x.view(0, [m, sh.k]);
          const extras = { bias, ...(sh.residual ? { residual: residual.view(0, [m, sh.n]) } : {}) };
          const attrs = { outDtype: sh.dt, mode, gelu: sh.gelu, ...ln, ...(perToken ? {} : { quantScale: 25.5 }) };
          const fused = int8GemmDecode({ a: xm, b, alphaCol, norm, ...extras, ...(perToken ? {} : { alphaRow: staticAlpha }) }, attrs);
          const q = layerNormFastQuant({ x: xm, ...norm }, { ...ln, quant: perToken ? { perToken: true } : { perToken: false, scale: 25.5 } });
          const apart = int8GemmDecode({ a: q.q, b, alphaCol, alphaRow: perToken ? q.scale! : staticAlpha, ...extras }, { outDtype: sh.dt, mode, gelu: sh.gelu });
          expect(bitEqual(fused.toHost(), apart.toHost()), `${sh.dt} K ${sh.k} N ${sh.n} ${perToken ? 'per token' : 'per tensor'} M ${m}`).toBe(true);
          [fused, apart, q.q, ...(q.scale ? [q.scale] : [])].forEach((t) => t.free());
        }
        staticAlpha.free();
      }
      // typed errors: int8 a with a LayerNorm, more rows than one token group, K past the fused way's limit
      expect(() => int8GemmDecode({ a: x.view(0, [9, sh.k]), b, alphaCol, norm }, { outDtype: sh.dt, mode: { perToken: true, perChannel: true } })).toThrow(/at most 8 rows/);
      expect(() => int8GemmDecode({ a: DeviceTensor.empty('i8', [1, sh.k]), b, alphaCol, alphaRow: alphaCol.view(0, [1]), norm }, { outDtype: sh.dt, mode: { perToken: true, perChannel: true } })).toThrow(/inputs\.norm/);
      [x, gamma, b, alphaCol, bias, residual, ...(beta ? [beta] : [])].forEach((t) => t.free());
    }
    const wide = DeviceTensor.empty('f16', [1, 2064]);
    const g = DeviceTensor.empty('f16', [2064]);
    const bw = DeviceTensor.empty('i8', [16, 2064]);
    const ac = DeviceTensor.empty('f32', [16]);
    expect(() => int8GemmDecode({ a: wide, b: bw, alphaCol: ac, norm: { gamma: g } }, { outDtype: 'f16', mode: { perToken: true, perChannel: true } })).toThrow(/at most 8 rows and K ≤ 2048 with the fused LayerNorm/);
    [wide, g, bw, ac].forEach((t) => t.free());
  }, 60_000);
  it('the caching allocator reuses freed blocks of the same size', () => {
    const a = DeviceTensor.empty('f32', [1 << 20]);
    a.free();
    const before = addon().memoryStats();
    const b = DeviceTensor.empty('f32', [1 << 20]);
    const after = addon().memoryStats();
    expect(before.cached - after.cached).toBe(4 << 20);
    expect(after.allocated - before.allocated).toBe(4 << 20);
    b.free();
  });
  it('measures a cuBLASLt matmul through our dlopen binding where the library loads', () => {
    const lt = addon().libraryInfo().cublasLt;
    if (!lt.available) return expect(lt.reason).toMatch(/TRTLLM_CUBLASLT_PATH/);
    const tflops = addon().measureMatmulPeak(1024, 2);
    expect(Number.isFinite(tflops) && tflops > 0).toBe(true);
  });
  it('views share storage (a row block through a kernel) and die with their owner; async copies need pinned memory', () => {
    const x = fromValues('f32', [4, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const w = fromValues('f32', [3, 1], [1, 1, 1]);
    const dx = DeviceTensor.from(x);
    const dw = DeviceTensor.from(w);
    const rows = dx.view(6, [2, 3]); // rows 2 and 3
    expect(Array.from(gemm({ a: rows, b: dw }).toHost().data)).toEqual([24, 33]);
    expect(() => dx.view(7, [2, 3])).toThrow(/within the 12 elements/);
    const stream = new Stream();
    const pinned = pinnedStorage('f32', 12);
    dx.downloadAsync(pinned, stream);
    stream.synchronize();
    expect(Array.from(pinned)).toEqual(Array.from(x.data));
    expect(() => dx.downloadAsync(new Float32Array(12), stream)).toThrow(/page-locked host memory/);
    dx.free();
    expect(() => rows.ptr).toThrow(FreedTensorError);
    dw.free();
    stream.destroy();
  });
});
