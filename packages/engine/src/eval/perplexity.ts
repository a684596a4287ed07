/**
 * Perplexity as the sotu reference computes it (../shared/models/sotu-gpt2-16m/train_recipe.py):
 * non-overlapping windows of W tokens, s = 0, W, 2W, … while s < N − W − 1 (inputs ids[s, s+W),
 * targets ids[s+1, s+W]); ppl = exp(Σ NLL / count). `trtllm perplexity` takes each NLL from
 * Engine.tokenLogProbs (reduced on the backend); `nll` below is the plain float64 log-softmax of fp32
 * logits rows, the independent check the tests and scripts/bench/logprob-arith.mjs compare it with.
 */

/** Window starts over `tokens` ids. */
export function perplexityWindows(tokens: number, window: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s < tokens - window - 1; s += window) starts.push(s);
  return starts;
}

/** Σ over rows t of −log softmax(logits[t])[targets[t]] for fp32 logits [T, V]. */
export function nll(logits: Float32Array, v: number, targets: readonly number[]): number {
  let total = 0;
  targets.forEach((y, t) => {
    const row = logits.subarray(t * v, (t + 1) * v);
    let max = -Infinity;
    for (let i = 0; i < v; i++) if (row[i]! > max) max = row[i]!;
    let sum = 0;
    for (let i = 0; i < v; i++) sum += Math.exp(row[i]! - max);
    total += max + Math.log(sum) - row[y]!;
  });
  return total;
}
