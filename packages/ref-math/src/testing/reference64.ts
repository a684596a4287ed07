/**
 * Test-only: an independent float64 GPT forward, written with plain arrays and Math.* (no ref-math
 * op is called), to catch algebra errors that self-consistency tests cannot (a wrong transpose, a
 * wrong head split, a missed bias). The oracle's fp32 results must lie within a tolerance of it.
 */
import type { GptConfig } from '../model/config.js';
import type { GptWeights, LayerNormWeights, LinearWeights } from '../model/weights.js';
import { toValues, type Tensor } from '../tensor.js';

type Mat = number[][];

const rows = (t: Tensor, r: number, c: number): Mat => {
  const v = toValues(t);
  return Array.from({ length: r }, (_, i) => Array.from(v.subarray(i * c, (i + 1) * c)));
};
const vec = (t: Tensor | undefined, n: number): number[] => (t ? Array.from(toValues(t)) : new Array<number>(n).fill(0));

export function matmul64(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, x, k) => s + x * b[k]![j]!, 0)));
}

export function layerNorm64(x: number[], g: number[], b: number[], eps: number, plusOne = false): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  const r = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * r * (g[i]! + (plusOne ? 1 : 0)) + b[i]!);
}

export const gelu64 = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const silu64 = (x: number): number => x / (1 + Math.exp(-x));

export function softmax64(s: number[]): number[] {
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** NeoX rotate-half on the first rotDim dims of one head vector at position p. */
export function rope64(x: number[], p: number, rotDim: number, base: number): number[] {
  const h = rotDim / 2;
  const y = [...x];
  for (let i = 0; i < h; i++) {
    const th = p * Math.pow(base, (-2 * i) / rotDim);
    y[i] = x[i]! * Math.cos(th) - x[i + h]! * Math.sin(th);
    y[i + h] = x[i + h]! * Math.cos(th) + x[i]! * Math.sin(th);
  }
  return y;
}

/** Logits [tokens.length][V] of a single sequence, all positions, float64 throughout. */
export function gptForward64(c: GptConfig, w: GptWeights, tokens: readonly number[]): Mat {
  const h = c.nEmbd;
  const hs = h / c.nHead;
  const n = tokens.length;
  const wte = rows(w.wte, c.vocabSize, h);
  const wpe = w.wpe ? rows(w.wpe, c.nPositions, h) : undefined;
  let x: Mat = tokens.map((id, p) => wte[id]!.map((v, d) => v + (wpe ? wpe[p]![d]! : 0)));
  const ln = (m: Mat, l: LayerNormWeights): Mat => m.map((r) => layerNorm64(r, vec(l.gamma, h), vec(l.beta, h), c.layernormEps, c.layernorm1p));
  const lin = (m: Mat, l: LinearWeights): Mat => {
    const [i, o] = l.weight.shape as [number, number];
    const b = vec(l.bias, o);
    return matmul64(m, rows(l.weight, i, o)).map((r) => r.map((v, j) => v + b[j]!));
  };
  const rotDim = Math.floor(hs * c.rotaryPct);
  for (const lw of w.layers) {
    const qkv = lin(ln(x, lw.ln1), lw.qkv);
    const head = (r: number[], col: number): number[] => r.slice(col, col + hs);
    const attnOut: Mat = qkv.map(() => []);
    for (let hh = 0; hh < c.nHead; hh++) {
      const g = Math.floor(hh / (c.nHead / c.nKvHead));
      const rot = (v: number[], p: number): number[] => (rotDim > 0 ? rope64(v, p, rotDim, c.rotaryBase) : v);
      const q = qkv.map((r, p) => rot(head(r, hh * hs), p));
      const k = qkv.map((r, p) => rot(head(r, (c.nHead + g) * hs), p));
      const v = qkv.map((r) => head(r, (c.nHead + c.nKvHead + g) * hs));
      for (let i = 0; i < n; i++) {
        const s = k.slice(0, i + 1).map((kj) => kj.reduce((a, kv, d) => a + kv * q[i]![d]!, 0) / Math.sqrt(hs));
        const pr = softmax64(s);
        for (let d = 0; d < hs; d++) attnOut[i]!.push(pr.reduce((a, pj, j) => a + pj * v[j]![d]!, 0));
      }
    }
    const dense = lin(attnOut, lw.attnOut);
    x = x.map((r, i) => r.map((v, d) => v + dense[i]![d]!));
    const m = ln(x, lw.ln2);
    const fc = lin(m, lw.fc);
    const act = c.activation === 'swiglu' ? (() => { const gt = lin(m, lw.gate!); return fc.map((r, i) => r.map((v, j) => silu64(v) * gt[i]![j]!)); })() : fc.map((r) => r.map(gelu64));
    const mlp = lin(act, lw.proj);
    x = x.map((r, i) => r.map((v, d) => v + mlp[i]![d]!));
  }
  const xf = ln(x, w.lnF);
  const head = rows(w.lmHead ?? w.wte, c.vocabSize, h);
  return xf.map((r) => head.map((hr) => hr.reduce((a, v, d) => a + v * r[d]!, 0)));
}

/** Largest |a − b| over two equally shaped matrices. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
