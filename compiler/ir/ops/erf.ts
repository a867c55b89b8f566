// Float64 error function erf/erfc for the exact GELU reference (accurate to ~1e-16 absolute).
// Neighbours: ops/activation.ts (gelu) is the only user; test/ops.test.ts checks it against libm values.

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/sqrt(pi)
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/sqrt(pi)
/** Below this, erfc = 1 - erf(x); from here on the continued fraction (converges in < 5000 terms). */
const ERFC_CF_MIN = 1;

/**
 * erf(x) for |x| < 2.5 by the all-positive series (Abramowitz & Stegun 7.1.6):
 * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)). No cancellation.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x >= 2.5 by the continued fraction (A&S 7.1.14), evaluated with the modified
 * Lentz algorithm: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))).
 */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

/** The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, float64, odd. NaN → NaN. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const r = a < 2.5 ? erfSeries(a) : a === Infinity ? 1 : 1 - erfcFraction(a);
  return x < 0 ? -r : r;
}

/** The complementary error function erfc(x) = 1 - erf(x), accurate in relative terms for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 0;
  if (x === -Infinity) return 2;
  if (x >= ERFC_CF_MIN) return erfcFraction(x);
  if (x <= -ERFC_CF_MIN) return 2 - erfcFraction(-x);
  return 1 - erf(x);
}
