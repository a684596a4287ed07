/**
 * ROUGE as Google's rouge_score 0.1.2 computes it (what HF `evaluate`/`datasets` "rouge" and the
 * seed's summarize.py use), with its defaults: no stemmer, rouge1 / rouge2 / rougeL / rougeLsum.
 *
 *   tokens:    lower-case; every run of characters outside [a-z0-9] becomes a space; split on
 *              whitespace; keep tokens matching ^[a-z0-9]+$.
 *   rougeN:    n-gram multisets; overlap = Σ min(count_ref, count_pred);
 *              precision = overlap / max(#pred n-grams, 1), recall = overlap / max(#ref n-grams, 1).
 *   rougeL:    LCS of the two token lists; precision = LCS / |pred|, recall = LCS / |ref| (0 if either is empty).
 *   rougeLsum: summary-level LCS over sentences split on "\n": for each reference sentence, the union
 *              of its LCS positions with every predicted sentence; each union token counts as a hit
 *              while both sides still have that token left; precision = hits / |pred|, recall = hits / |ref|.
 *   F = 2PR / (P + R) (0 when P + R = 0).
 *
 * Aggregation as the seed reports it: rouge_score's BootstrapAggregator (1000 resamples of the
 * examples with replacement, the mean of each; low / mid / high = the 2.5th / 50th / 97.5th
 * percentile, numpy 'linear') with numpy's legacy generator seeded 0 (`np.random.seed(0)`: MT19937
 * init_genrand(0); `randint(0, n)` by masked rejection on 32-bit draws), score types in the order
 * rouge1, rouge2, rougeL, rougeLsum. So `mid.fmeasure × 100` is the number summarize.py prints.
 */

export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

export const ROUGE_TYPES = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const;
export type RougeType = (typeof ROUGE_TYPES)[number];
export type RougeScores = Readonly<Record<RougeType, RougeScore>>;

export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function score(hits: number, predCount: number, refCount: number): RougeScore {
  const precision = hits / predCount;
  const recall = hits / refCount;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function ngrams(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const g = tokens.slice(i, i + n).join(' ');
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

function rougeN(ref: readonly string[], pred: readonly string[], n: number): RougeScore {
  const r = ngrams(ref, n);
  const p = ngrams(pred, n);
  let overlap = 0;
  for (const [g, c] of r) overlap += Math.min(c, p.get(g) ?? 0);
  const count = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  return score(overlap, Math.max(count(p), 1), Math.max(count(r), 1));
}

/** LCS length table, (|ref|+1) × (|pred|+1). */
function lcsTable(ref: readonly string[], pred: readonly string[]): Int32Array[] {
  const t = Array.from({ length: ref.length + 1 }, () => new Int32Array(pred.length + 1));
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= pred.length; j++) t[i]![j] = ref[i - 1] === pred[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
  }
  return t;
}

/** Indices into `ref` of one LCS, found by rouge_score's backtrack (ties step back in ref). */
function lcsIndices(ref: readonly string[], pred: readonly string[]): number[] {
  const t = lcsTable(ref, pred);
  const out: number[] = [];
  let i = ref.length;
  let j = pred.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === pred[j - 1]) {
      out.unshift(i - 1);
      i--;
      j--;
    } else if (t[i]![j - 1]! > t[i - 1]![j]!) j--;
    else i--;
  }
  return out;
}

function rougeL(ref: readonly string[], pred: readonly string[]): RougeScore {
  if (ref.length === 0 || pred.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsTable(ref, pred)[ref.length]![pred.length]!;
  return score(lcs, pred.length, ref.length);
}

function rougeLsum(refText: string, predText: string): RougeScore {
  const sents = (s: string): string[][] => s.split('\n').filter((x) => x.length > 0).map(rougeTokenize);
  const refs = sents(refText);
  const preds = sents(predText);
  const m = refs.reduce((s, x) => s + x.length, 0);
  const n = preds.reduce((s, x) => s + x.length, 0);
  if (refs.length === 0 || preds.length === 0 || m === 0 || n === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const counts = (list: string[][]): Map<string, number> => {
    const c = new Map<string, number>();
    for (const s of list) for (const t of s) c.set(t, (c.get(t) ?? 0) + 1);
    return c;
  };
  const cr = counts(refs);
  const cp = counts(preds);
  let hits = 0;
  for (const r of refs) {
    const union = [...new Set(preds.flatMap((p) => lcsIndices(r, p)))].sort((a, b) => a - b);
    for (const i of union) {
      const t = r[i]!;
      if ((cp.get(t) ?? 0) > 0 && (cr.get(t) ?? 0) > 0) {
        hits++;
        cp.set(t, cp.get(t)! - 1);
        cr.set(t, cr.get(t)! - 1);
      }
    }
  }
  return score(hits, n, m);
}

/** rouge1, rouge2, rougeL, rougeLsum of one prediction against one reference. */
export function rougeScores(reference: string, prediction: string): RougeScores {
  const ref = rougeTokenize(reference);
  const pred = rougeTokenize(prediction);
  return { rouge1: rougeN(ref, pred, 1), rouge2: rougeN(ref, pred, 2), rougeL: rougeL(ref, pred), rougeLsum: rougeLsum(reference, prediction) };
}

/** MT19937 (Matsumoto & Nishimura), seeded as numpy's legacy `np.random.seed(int)` (init_genrand). */
export class Mt19937 {
  readonly #mt = new Uint32Array(624);
  #i = 624;

  constructor(seed: number) {
    this.#mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.#mt[i - 1]! ^ (this.#mt[i - 1]! >>> 30);
      this.#mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** genrand_int32. */
  next(): number {
    const mt = this.#mt;
    if (this.#i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.#i = 0;
    }
    let y = mt[this.#i++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy legacy `randint(0, n)`: masked rejection sampling (n ≤ 2^32). */
  below(n: number): number {
    const rng = n - 1;
    if (rng === 0) return 0;
    let mask = rng;
    for (const s of [1, 2, 4, 8, 16]) mask |= mask >>> s;
    mask >>>= 0;
    for (;;) {
      const v = (this.next() & mask) >>> 0;
      if (v <= rng) return v;
    }
  }
}

/** numpy.percentile, method 'linear', of sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = pos - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t; // numpy's _lerp
}

export interface AggregateScore {
  readonly low: RougeScore;
  readonly mid: RougeScore;
  readonly high: RougeScore;
  /** The plain mean over examples. */
  readonly mean: RougeScore;
}

/** rouge_score's BootstrapAggregator with numpy's legacy generator seeded `seed` (summarize.py: 0). */
export function bootstrapAggregate(scores: readonly RougeScores[], o: { readonly samples?: number; readonly seed?: number } = {}): Record<RougeType, AggregateScore> {
  const samples = o.samples ?? 1000;
  const rng = new Mt19937(o.seed ?? 0);
  const n = scores.length;
  const out = {} as Record<RougeType, AggregateScore>;
  const fields = ['precision', 'recall', 'fmeasure'] as const;
  for (const type of ROUGE_TYPES) {
    const means = fields.map(() => new Float64Array(samples));
    for (let s = 0; s < samples; s++) {
      const sums = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        const x = scores[rng.below(n)]![type];
        fields.forEach((f, k) => (sums[k]! += x[f]));
      }
      fields.forEach((_, k) => (means[k]![s] = sums[k]! / n));
    }
    means.forEach((m) => m.sort());
    const at = (q: number): RougeScore => ({ precision: percentile(means[0]!, q), recall: percentile(means[1]!, q), fmeasure: percentile(means[2]!, q) });
    const mean = (f: (typeof fields)[number]): number => scores.reduce((acc, x) => acc + x[type][f], 0) / Math.max(n, 1);
    out[type] = { low: at(2.5), mid: at(50), high: at(97.5), mean: { precision: mean('precision'), recall: mean('recall'), fmeasure: mean('fmeasure') } };
  }
  return out;
}
