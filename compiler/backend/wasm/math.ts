// Transcendentals computed in wasm (no JS imports), written once against FOps so the same code is
// f32x4 on SIMD modules and f32 on scalar ones. Neighbours: module.ts (FOps), kernels/unary.ts.

import type { Expr, FOps, Fn, Local } from "./module.js";

const LOG2E = 1.4426950408889634;
/** ln 2 split for Cody–Waite reduction: HI has few mantissa bits, so k * HI is exact for |k| < 256. */
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.4286067653301870e-6;

/** Horner evaluation of c[0] + c[1] x + c[2] x^2 + ... ; `x` must be a cheap expression (local.get). */
export function horner(o: FOps, x: () => Expr, c: readonly number[]): Expr {
  let acc = o.c(c[c.length - 1]!);
  for (let i = c.length - 2; i >= 0; i--) acc = o.add(o.mul(acc, x()), o.c(c[i]!));
  return acc;
}

function tmp(f: Fn, o: FOps): Local {
  return f.local(o.type);
}

/**
 * e^x, lane-wise. Range reduction x = k ln2 + r (|r| <= ln2/2, Cody–Waite), degree-7 Taylor
 * polynomial for e^r (truncation < 6e-9 relative), then scaling by 2^k as two exact powers of two so
 * that k in [-150, 128] covers denormal results and overflow to +inf. Relative error ~1-2 ulp.
 * Inputs are clamped to [-104, 88.8] (results 0 and +inf beyond); NaN stays NaN.
 */
export function exp(f: Fn, o: FOps, x: Expr): Expr {
  const xl = tmp(f, o);
  const k = tmp(f, o);
  const r = tmp(f, o);
  const k1 = tmp(f, o);
  const g = (l: Local) => () => f.get(l);
  const poly = horner(o, g(r), [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040]);
  return f.seq(
    [
      f.set(xl, o.min(o.max(x, o.c(-104)), o.c(88.8))),
      f.set(k, o.nearest(o.mul(f.get(xl), o.c(LOG2E)))),
      f.set(r, o.sub(o.sub(f.get(xl), o.mul(f.get(k), o.c(LN2_HI))), o.mul(f.get(k), o.c(LN2_LO)))),
      f.set(k1, o.nearest(o.mul(f.get(k), o.c(0.5)))),
    ],
    o.mul(o.mul(poly, o.pow2i(f.get(k1))), o.pow2i(o.sub(f.get(k), f.get(k1)))),
    o.type,
  );
}

/**
 * Logistic sigmoid 1 / (1 + e^-x) without overflow: with t = e^-|x| (in (0, 1]),
 * x >= 0 -> 1 / (1 + t), x < 0 -> t / (1 + t). Exact limits 0 and 1 for |x| up to 1e4 and beyond.
 */
export function sigmoid(f: Fn, o: FOps, x: Expr): Expr {
  const xl = tmp(f, o);
  const t = tmp(f, o);
  const d = tmp(f, o);
  return f.seq(
    [f.set(xl, x), f.set(t, exp(f, o, o.neg(o.abs(f.get(xl))))), f.set(d, o.add(o.c(1), f.get(t)))],
    o.select(o.lt(f.get(xl), o.c(0)), o.div(f.get(t), f.get(d)), o.div(o.c(1), f.get(d))),
    o.type,
  );
}

/**
 * tanh x = sign(x) (1 - t) / (1 + t) with t = e^(-2|x|) (no overflow for any |x|); for |x| < 0.125
 * the odd Taylor polynomial to x^7 (error < 1e-10) avoids the cancellation in 1 - t.
 */
export function tanh(f: Fn, o: FOps, x: Expr): Expr {
  const xl = tmp(f, o);
  const a = tmp(f, o);
  const a2 = tmp(f, o);
  const t = tmp(f, o);
  const small = o.mul(f.get(a), horner(o, () => f.get(a2), [1, -1 / 3, 2 / 15, -17 / 315]));
  const big = o.div(o.sub(o.c(1), f.get(t)), o.add(o.c(1), f.get(t)));
  return f.seq(
    [
      f.set(xl, x),
      f.set(a, o.abs(f.get(xl))),
      f.set(a2, o.mul(f.get(a), f.get(a))),
      f.set(t, exp(f, o, o.mul(f.get(a), o.c(-2)))),
    ],
    o.withSignOf(o.select(o.lt(f.get(a), o.c(0.125)), small, big), f.get(xl)),
    o.type,
  );
}

/**
 * erf(x) = x + x * P(x^2) on |x| < 1: P is a weighted least-squares fit of erf(x)/x - 1 in x^2
 * (degree 7, fit error < 2e-11; Chebyshev nodes, computed with numpy). Writing it as x + x*P keeps
 * the f32 rounding of the large term to one addition (max abs error 7.6e-8 simulated in f32).
 */
const ERF_SMALL = [
  0.12837916689511264, -0.37612637799057397, 0.11283775027444992, -0.026865068359944677, 0.005220135215394162,
  -0.0008472243833605175, 0.00011186559312394151, -9.454311818479777e-6,
];

/** Numerical Recipes `erfcc` Chebyshev fit: erfc(z) = t exp(-z^2 + P(t)), t = 1/(1 + z/2), rel. error < 1.2e-7. */
const ERFC_CHEB = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

/**
 * erf x: |x| < 1 -> x + x P(x^2) (ERF_SMALL); otherwise 1 - erfc(|x|) with the Numerical Recipes
 * fit (absolute error < erfc(1) * 1.2e-7 = 2e-8 there), sign restored. Measured max absolute error
 * in f32 arithmetic: < 1e-7 (test/backend.test.ts).
 */
export function erf(f: Fn, o: FOps, x: Expr): Expr {
  const xl = tmp(f, o);
  const a = tmp(f, o);
  const a2 = tmp(f, o);
  const t = tmp(f, o);
  const small = o.add(f.get(a), o.mul(f.get(a), horner(o, () => f.get(a2), ERF_SMALL)));
  const expo = o.sub(horner(o, () => f.get(t), ERFC_CHEB), f.get(a2));
  const big = o.sub(o.c(1), o.mul(f.get(t), exp(f, o, expo)));
  return f.seq(
    [
      f.set(xl, x),
      f.set(a, o.abs(f.get(xl))),
      f.set(a2, o.mul(f.get(a), f.get(a))),
      f.set(t, o.div(o.c(1), o.add(o.c(1), o.mul(f.get(a), o.c(0.5))))),
    ],
    o.withSignOf(o.select(o.lt(f.get(a), o.c(1)), small, big), f.get(xl)),
    o.type,
  );
}

/**
 * GELU (PyTorch nn.GELU). "none": x/2 (1 + erf(x / sqrt 2)). "tanh": x/2 (1 + tanh(u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3), computed as x * sigmoid(2u) (same value, no cancellation).
 */
export function gelu(f: Fn, o: FOps, x: Expr, approximate: "none" | "tanh"): Expr {
  const xl = tmp(f, o);
  if (approximate === "none") {
    const e = erf(f, o, o.mul(f.get(xl), o.c(Math.SQRT1_2)));
    return f.seq([f.set(xl, x)], o.mul(o.mul(f.get(xl), o.c(0.5)), o.add(o.c(1), e)), o.type);
  }
  const c2 = 2 * Math.sqrt(2 / Math.PI);
  const x3 = o.mul(o.mul(f.get(xl), f.get(xl)), f.get(xl));
  const u2 = o.mul(o.add(f.get(xl), o.mul(x3, o.c(0.044715))), o.c(c2));
  return f.seq([f.set(xl, x)], o.mul(f.get(xl), sigmoid(f, o, u2)), o.type);
}
