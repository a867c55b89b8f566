// VAE kernels: random_normal (inference), reparameterize_train and reparameterize_grad (training). The
// normal numbers are computed in f64 scalar code (hash -> Box-Muller with f64 log/cos) so they equal the
// float64 reference of ir/ops/normal-rng.ts to f32 rounding. Neighbours: ir/ops/cvae.ts (references),
// kernels/dropout-train.ts (the same hash), train-util.ts (logF64), math.ts (f32 exp).

import { F64, type Expr, type Fn, type Local } from "../module.js";
import * as math from "../math.js";
import { RANDOM_NORMAL_SALT } from "../../../ir/ops/normal-rng.js";
import type { Kernel } from "./context.js";
import { countOf, logF64 } from "./train-util.js";

/** murmur3 fmix32 of local `h`, in place (i32 statements; equals grad-rng.ts mix32). */
function mix32(f: Fn, h: Local): Expr[] {
  const m = f.m;
  const xs = (k: number): Expr => f.set(h, m.i32.xor(f.get(h), m.i32.shr_u(f.get(h), f.i(k))));
  const mul = (c: number): Expr => f.set(h, m.i32.mul(f.get(h), f.i(c)));
  return [xs(16), mul(0x85ebca6b), xs(13), mul(0xc2b2ae35), xs(16)];
}

/**
 * Statements setting `key` = dropoutKey(seed, step, salt) = mix32(mix32(mix32(salt ^ 0x9e3779b9) ^ seed) ^ step)
 * for i32 expressions seed and step (each used once).
 */
export function rngKey(f: Fn, key: Local, seed: Expr, step: Expr, salt: number): Expr[] {
  const m = f.m;
  return [
    f.set(key, f.i((salt ^ 0x9e3779b9) | 0)),
    ...mix32(f, key),
    f.set(key, m.i32.xor(f.get(key), seed)),
    ...mix32(f, key),
    f.set(key, m.i32.xor(f.get(key), step)),
    ...mix32(f, key),
  ];
}

/** Horner c[0] + c[1] x + ... in f64 of the f64 local x. */
function hornerF64(f: Fn, x: Local, c: readonly number[]): Expr {
  const m = f.m;
  let acc = m.f64.const(c[c.length - 1]!);
  for (let i = c.length - 2; i >= 0; i--) acc = m.f64.add(m.f64.mul(acc, f.get(x)), m.f64.const(c[i]!));
  return acc;
}

/** Taylor coefficients in t = θ^2 of cos θ and sin θ / θ to degree 20/21 (truncation < 2e-17 on [0, π/2)). */
const COS_C: number[] = [];
const SIN_C: number[] = [];
{
  let fact = 1;
  for (let k = 0; k <= 22; k++) {
    if (k > 0) fact *= k;
    if (k % 2 === 0) COS_C.push(((k / 2) % 2 === 0 ? 1 : -1) / fact);
    else SIN_C.push((((k - 1) / 2) % 2 === 0 ? 1 : -1) / fact);
  }
}

/**
 * An f64 expression: the standard normal number at counter `idx` (i32 expression, used twice: keep it a
 * local.get) of stream `key` (i32 local) = ops/normal-rng.ts normalAt(key, idx): draws d1, d2 =
 * mix32(key ^ 2 idx) >>> 8, mix32(key ^ (2 idx + 1)) >>> 8; sqrt(-2 ln((d1 + 1) 2^-24)) cos(2π d2 2^-24),
 * the cosine by quadrant (d2 >>> 22) and Taylor polynomials of cos/sin on [0, π/2).
 */
export function normalF64(f: Fn, key: Local, idx: () => Expr): Expr {
  const m = f.m;
  const [h, q] = [f.local(), f.local()];
  const [r, th, t2, c, s] = [f.local(F64), f.local(F64), f.local(F64), f.local(F64), f.local(F64)];
  const draw = (odd: number): Expr[] => [f.set(h, m.i32.xor(f.get(key), m.i32.add(m.i32.shl(idx(), f.i(1)), f.i(odd)))), ...mix32(f, h), f.set(h, m.i32.shr_u(f.get(h), f.i(8)))];
  const stmts: Expr[] = [
    ...draw(0),
    f.set(r, m.f64.sqrt(m.f64.mul(m.f64.const(-2), logF64(f, m.f64.mul(m.f64.convert_s.i32(m.i32.add(f.get(h), f.i(1))), m.f64.const(2 ** -24)))))),
    ...draw(1),
    f.set(q, m.i32.shr_u(f.get(h), f.i(22))),
    f.set(th, m.f64.mul(m.f64.convert_s.i32(m.i32.and(f.get(h), f.i(0x3fffff))), m.f64.const((2 * Math.PI) / 2 ** 24))),
    f.set(t2, m.f64.mul(f.get(th), f.get(th))),
    f.set(c, hornerF64(f, t2, COS_C)),
    f.set(s, m.f64.mul(f.get(th), hornerF64(f, t2, SIN_C))),
  ];
  // cos(q π/2 + θ): q = 0 cos θ, 1 -sin θ, 2 -cos θ, 3 sin θ.
  stmts.push(f.set(c, m.select(m.i32.and(f.get(q), f.i(1)), f.get(s), f.get(c))));
  const neg = m.i32.or(m.i32.eq(f.get(q), f.i(1)), m.i32.eq(f.get(q), f.i(2)));
  return f.seq(stmts, m.f64.mul(f.get(r), m.select(neg, m.f64.neg(f.get(c)), f.get(c))), F64);
}

/**
 * random_normal(seed i32 [N]) {size} -> f32 [N, size]: per row key = dropoutKey(seed[n], 0,
 * RANDOM_NORMAL_SALT), element j = normalF64(key, j). Scalar f64 loop on SIMD and scalar builds (the op
 * is small: N * size numbers per call).
 */
export const randomNormalKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const size = node.attrs["size"] as number;
  const [ps, po, n, j, key] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  return [
    f.set(ps, ctx.ptr(node.inputs[0]!)),
    f.set(po, ctx.ptr(node.outputs[0]!)),
    f.forRange(n, f.i(0), ctx.batch(), [
      ...rngKey(f, key, m.i32.load(0, 4, f.at(f.get(ps), f.get(n)), "mem"), f.i(0), RANDOM_NORMAL_SALT),
      f.forRange(j, f.i(0), f.i(size), [f.s.store(f.at(f.get(po), f.get(j)), m.f32.demote(normalF64(f, key, () => f.get(j))))]),
      f.set(po, f.addk(f.get(po), size * 4)),
    ]),
  ];
};

/**
 * reparameterize_train(mu, logvar, rng i32 [2] = [seed, step]) {salt} -> [z, eps]: eps[k] = normalF64(
 * dropoutKey(seed, step, salt), k) (scalar f64 loop), then z = mu + exp(0.5 logvar) eps in lane groups
 * (math.exp, f32x4 on SIMD builds).
 */
export const reparameterizeTrainKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [mu, lv, rng] = node.inputs as [string, string, string];
  const [z, eps] = node.outputs as [string, string];
  const [pm, pl, pz, pe, n, k, key] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const pr = (off: number): Expr => m.i32.load(off, 4, ctx.ptr(rng), "mem");
  return [
    f.set(pm, ctx.ptr(mu)),
    f.set(pl, ctx.ptr(lv)),
    f.set(pz, ctx.ptr(z)),
    f.set(pe, ctx.ptr(eps)),
    f.set(n, countOf(ctx, mu)),
    ...rngKey(f, key, pr(0), pr(4), node.attrs["salt"] as number),
    f.forRange(k, f.i(0), f.get(n), [f.s.store(f.at(f.get(pe), f.get(k)), m.f32.demote(normalF64(f, key, () => f.get(k))))]),
    f.forLanes(() => f.get(n), (o, idx) => [
      o.store(
        f.at(f.get(pz), idx()),
        o.add(o.load(f.at(f.get(pm), idx())), o.mul(math.exp(f, o, o.mul(o.c(0.5), o.load(f.at(f.get(pl), idx())))), o.load(f.at(f.get(pe), idx())))),
      ),
    ]),
  ];
};

/** reparameterize_grad(g, logvar, eps) = 0.5 g exp(0.5 logvar) eps, lane groups; in-place safe. */
export const reparameterizeGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [g, lv, eps] = node.inputs as [string, string, string];
  const [pg, pl, pe, po, n] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  return [
    f.set(pg, ctx.ptr(g)),
    f.set(pl, ctx.ptr(lv)),
    f.set(pe, ctx.ptr(eps)),
    f.set(po, ctx.ptr(node.outputs[0]!)),
    f.set(n, countOf(ctx, g)),
    f.forLanes(() => f.get(n), (o, idx) => {
      const gv = f.local(o.type);
      return [
        f.set(gv, o.mul(o.c(0.5), o.load(f.at(f.get(pg), idx())))),
        o.store(
          f.at(f.get(po), idx()),
          o.mul(o.mul(f.get(gv), math.exp(f, o, o.mul(o.c(0.5), o.load(f.at(f.get(pl), idx()))))), o.load(f.at(f.get(pe), idx()))),
        ),
      ];
    }),
  ];
};
