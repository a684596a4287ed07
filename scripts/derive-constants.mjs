// Derives every constant of ref-math/src/numerics/transcendental.ts and prints it as
// `value  // 0xBITS  (source)`. The values in the source file must equal this output; the test
// transcendental.test.ts re-derives them the same way, so an edited constant fails CI.
// Run: node scripts/derive-constants.mjs
const f32 = Math.fround;
const buf = new DataView(new ArrayBuffer(4));
const bits = (x) => (buf.setFloat32(0, x), '0x' + buf.getUint32(0).toString(16).padStart(8, '0'));

// Exact rationals as [num, den] BigInt pairs.
const gcd = (a, b) => { a = a < 0n ? -a : a; b = b < 0n ? -b : b; while (b) [a, b] = [b, a % b]; return a; };
const norm = ([n, d]) => { if (d < 0n) { n = -n; d = -d; } const g = gcd(n, d) || 1n; return [n / g, d / g]; };
const add = (a, b) => norm([a[0] * b[1] + b[0] * a[1], a[1] * b[1]]);
const mul = (a, b) => norm([a[0] * b[0], a[1] * b[1]]);
const binom = (n, k) => { let r = 1n; for (let i = 1n; i <= k; i++) r = (r * (n - k + i)) / i; return r; };
const fact = (n) => { let r = 1n; for (let i = 2n; i <= n; i++) r *= i; return r; };
/** Correctly rounded fp32 value of an exact rational (via a 60-digit scaled integer: plenty for fp32). */
const ratToF32 = ([n, d]) => f32(Number((n * 10n ** 60n) / d) / 1e60);

// Bernoulli numbers B_0..B_m by the recurrence sum_{k<=m} C(m+1,k) B_k = 0.
function bernoulli(m) {
  const B = [[1n, 1n]];
  for (let j = 1; j <= m; j++) {
    let s = [0n, 1n];
    for (let k = 0; k < j; k++) s = add(s, mul([binom(BigInt(j + 1), BigInt(k)), 1n], B[k]));
    B.push(norm([-s[0], s[1] * BigInt(j + 1)]));
  }
  return B;
}

export function deriveConstants() {
  const out = {};
  // exp: Cody-Waite split of ln 2 (the high part has 15 significant bits, so n*LN2_HI is exact for |n| <= 2^9).
  out.LOG2E = f32(Math.LOG2E);
  out.LN2_HI = 0.693145751953125;
  out.LN2_LO = f32(Math.LN2 - out.LN2_HI);
  out.EXP_C = [2n, 3n, 4n, 5n, 6n, 7n].map((k) => ratToF32([1n, fact(k)])); // 1/k!
  // tanh: Taylor series tanh x = sum_{n>=1} 2^{2n}(2^{2n}-1) B_{2n} / (2n)! x^{2n-1}, terms n = 2..11.
  const B = bernoulli(22);
  out.TANH_C = [];
  for (let n = 2n; n <= 11n; n++) {
    const p = 2n ** (2n * n);
    out.TANH_C.push(ratToF32(mul([p * (p - 1n), fact(2n * n)], B[Number(2n * n)])));
  }
  // sin / cos Taylor coefficients (-1)^k / (2k+1)!, (-1)^k / (2k)!.
  out.SIN_C = [1n, 2n, 3n, 4n].map((k) => ratToF32([(k % 2n ? -1n : 1n), fact(2n * k + 1n)]));
  out.COS_C = [2n, 3n, 4n, 5n].map((k) => ratToF32([(k % 2n ? -1n : 1n), fact(2n * k)]));
  // pi/2 in four pieces; the first three carry 10 significant bits each, so k*PIO2_i is exact for |k| < 2^14.
  const trunc10 = (x) => { const e = Math.floor(Math.log2(Math.abs(x))); const q = 2 ** (e - 9); return Math.trunc(x / q) * q; };
  let rest = Math.PI / 2;
  out.PIO2 = [];
  for (let i = 0; i < 3; i++) { const p = trunc10(rest); out.PIO2.push(p); rest -= p; }
  out.PIO2.push(f32(rest));
  out.TWO_OVER_PI = f32(2 / Math.PI);
  // gelu (tanh form): sqrt(2/pi) and 0.044715 rounded to fp32.
  out.GELU_K0 = f32(Math.sqrt(2 / Math.PI));
  out.GELU_K1 = f32(0.044715);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [k, v] of Object.entries(deriveConstants())) {
    const vs = Array.isArray(v) ? v : [v];
    console.log(`${k}: ${vs.map((x) => `${x} /* ${bits(x)} */`).join(', ')}`);
  }
}
