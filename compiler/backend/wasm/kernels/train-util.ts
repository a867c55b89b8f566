// Small emit helpers shared by the training kernels: element counts of batch-scaled or fixed values,
// lane-generic compares FOps lacks, f64 accumulation of f32 data, f64 log and integer powers.
// Neighbours: kernels/grad-*.ts, loss.ts, norm-train.ts, optim.ts; module.ts (Fn, FOps, F64).

import { F64, type Expr, type FOps, type Fn, type Local } from "../module.js";
import { prod, typeOf, type KernelCtx } from "./context.js";

/** Static element count of `id` per batch row: prod of dims without a leading "N" (all dims otherwise). */
export function staticCount(ctx: KernelCtx, id: string): number {
  const s = typeOf(ctx, id).shape;
  return prod((s[0] === "N" ? s.slice(1) : s) as number[]);
}

/** True when value `id` has the batch dim "N". */
export function hasBatch(ctx: KernelCtx, id: string): boolean {
  return typeOf(ctx, id).shape[0] === "N";
}

/** Run-time element count of `id` (i32): batch * staticCount for "N" values, else the static count. */
export function countOf(ctx: KernelCtx, id: string): Expr {
  const n = staticCount(ctx, id);
  return hasBatch(ctx, id) ? ctx.f.mulk(ctx.batch(), n) : ctx.f.i(n);
}

/** Lane-wise a <= b as a mask for `o.select` (false for NaN), on f32x4 or f32 lanes. */
export function le(f: Fn, o: FOps, a: Expr, b: Expr): Expr {
  return o.lanes === 4 ? f.m.f32x4.le(a, b) : f.m.f32.le(a, b);
}

/** Lane-wise a != a (NaN test) as a mask for `o.select`. */
export function isNan(f: Fn, o: FOps, a: () => Expr): Expr {
  return o.lanes === 4 ? f.m.f32x4.ne(a(), a()) : f.m.f32.ne(a(), a());
}

/** f64 lane group matching an f32 group: f32x4 -> two f64x2 halves, f32 -> one f64. */
export interface Wide {
  /** f64 ops on one half (f64x2 on SIMD, f64 on scalar). */
  add(a: Expr, b: Expr): Expr;
  sub(a: Expr, b: Expr): Expr;
  mul(a: Expr, b: Expr): Expr;
  /** Broadcast an f64 scalar expression. */
  splat(s: Expr): Expr;
  type: number;
}

function wideOps(f: Fn, simd: boolean): Wide {
  const m = f.m;
  return simd
    ? { add: (a, b) => m.f64x2.add(a, b), sub: (a, b) => m.f64x2.sub(a, b), mul: (a, b) => m.f64x2.mul(a, b), splat: (s) => m.f64x2.splat(s), type: f.v.type }
    : { add: (a, b) => m.f64.add(a, b), sub: (a, b) => m.f64.sub(a, b), mul: (a, b) => m.f64.mul(a, b), splat: (s) => s, type: F64 };
}

/** The f64 halves of an f32 lane group `v` (a cheap local.get thunk): [low, high] or [promote(v)]. */
function widen(f: Fn, o: FOps, v: () => Expr): (() => Expr)[] {
  if (o.lanes === 1) return [() => f.m.f64.promote(v())];
  const hi = (): Expr => f.m.i8x16.shuffle(v(), v(), [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  return [() => f.m.f64x2.promote_low_f32x4(v()), () => f.m.f64x2.promote_low_f32x4(hi())];
}

/**
 * Statements adding sum_{i < n} term(x_0[i], x_1[i], ...) in f64 to the f64 local `acc`, where `ptrs`
 * are byte bases of f32 runs (read with lane groups) and `term` combines f64 (halves of) lanes with
 * `w` (each `xs[k]()` builds a fresh expression: call it once per use). The SIMD build keeps two f64x2 accumulators and folds them (fixed order) at the end; the
 * scalar build adds element by element. Deterministic for a given build.
 */
export function sumF64(f: Fn, acc: Local, n: () => Expr, ptrs: (() => Expr)[], term: (w: Wide, xs: (() => Expr)[]) => Expr): Expr[] {
  const simd = f.v.lanes === 4;
  const out: Expr[] = [];
  const body = (o: FOps, idx: () => Expr, accs: Local[]): Expr[] => {
    const w = wideOps(f, o.lanes === 4);
    const tmps = ptrs.map(() => f.local(o.type));
    const stmts: Expr[] = ptrs.map((p, k) => f.set(tmps[k]!, o.load(f.at(p(), idx()))));
    const halves = tmps.map((t) => widen(f, o, () => f.get(t)));
    accs.forEach((a, h) => stmts.push(f.set(a, w.add(f.get(a), term(w, halves.map((hs) => hs[h]!))))));
    return stmts;
  };
  if (!simd) {
    out.push(f.forLanes(n, (o, idx) => body(o, idx, [acc])));
    return out;
  }
  const a0 = f.local(f.v.type);
  const a1 = f.local(f.v.type);
  const zero = f.m.f64x2.splat(f.m.f64.const(0));
  out.push(
    f.set(a0, zero),
    f.set(a1, f.m.f64x2.splat(f.m.f64.const(0))),
    f.forLanes(n, (o, idx) => body(o, idx, o.lanes === 4 ? [a0, a1] : [acc])),
  );
  const lane = (l: Local, k: number): Expr => f.m.f64x2.extract_lane(f.get(l), k as unknown as Expr);
  const vsum = f.m.f64.add(f.m.f64.add(lane(a0, 0), lane(a0, 1)), f.m.f64.add(lane(a1, 0), lane(a1, 1)));
  out.push(f.set(acc, f.m.f64.add(f.get(acc), vsum)));
  return out;
}

const LN2 = Math.LN2;

/**
 * Natural log in f64 of an f64 expression: x = 2^e m, m in [sqrt(1/2), sqrt(2)), s = (m - 1)/(m + 1),
 * log m = 2 s (1 + s^2/3 + ... + s^16/17) (truncation < 1e-15). log 0 = -inf, log of a negative or NaN
 * = NaN, log inf = inf. Subnormal f64 inputs are not handled (never produced from f32 data).
 */
export function logF64(f: Fn, x: Expr): Expr {
  const m = f.m;
  const [xl, mm, s, s2, e] = [f.local(F64), f.local(F64), f.local(F64), f.local(F64), f.local()];
  const bits = (): Expr => m.i64.reinterpret(f.get(xl));
  let poly = m.f64.const(1 / 17);
  for (let k = 7; k >= 0; k--) poly = m.f64.add(m.f64.mul(poly, f.get(s2)), m.f64.const(1 / (2 * k + 1)));
  const core = m.f64.add(m.f64.mul(m.f64.convert_s.i32(f.get(e)), m.f64.const(LN2)), m.f64.mul(m.f64.mul(f.get(s), m.f64.const(2)), poly));
  const stmts = [
    f.set(xl, x),
    f.set(e, m.i32.sub(m.i32.wrap(m.i64.shr_u(bits(), m.i64.const(52n))), f.i(1023))),
    f.set(mm, m.f64.reinterpret(m.i64.or(m.i64.and(bits(), m.i64.const(0x000fffffffffffffn)), m.i64.const(0x3ff0000000000000n)))),
    f.if(m.f64.gt(f.get(mm), m.f64.const(Math.SQRT2)), [
      f.set(mm, m.f64.mul(f.get(mm), m.f64.const(0.5))),
      f.set(e, f.addk(f.get(e), 1)),
    ]),
    f.set(s, m.f64.div(m.f64.sub(f.get(mm), m.f64.const(1)), m.f64.add(f.get(mm), m.f64.const(1)))),
    f.set(s2, m.f64.mul(f.get(s), f.get(s))),
  ];
  // Special cases: x <= 0 (and NaN) and inf.
  const special = m.select(
    m.f64.eq(f.get(xl), m.f64.const(0)),
    m.f64.const(-Infinity),
    m.select(m.f64.eq(f.get(xl), m.f64.const(Infinity)), m.f64.const(Infinity), m.f64.const(NaN)),
  );
  const ok = m.i32.and(m.f64.gt(f.get(xl), m.f64.const(0)), m.f64.lt(f.get(xl), m.f64.const(Infinity)));
  return f.seq(stmts, m.select(ok, core, special), F64);
}

/**
 * Statements setting f64 local `out` = base^k for a static f64 `base` and an i32 exponent k >= 0
 * (binary powering in f64: about log2(k) multiplications, relative error ~1e-15).
 */
export function powiF64(f: Fn, out: Local, base: number, k: Expr): Expr[] {
  const m = f.m;
  const [b, e] = [f.local(F64), f.local()];
  const id = f.local();
  return [
    f.set(out, m.f64.const(1)),
    f.set(b, m.f64.const(base)),
    f.set(e, k),
    f.forRange(id, f.i(0), f.i(32), [
      f.if(m.i32.and(f.get(e), f.i(1)), [f.set(out, m.f64.mul(f.get(out), f.get(b)))]),
      f.set(b, m.f64.mul(f.get(b), f.get(b))),
      f.set(e, m.i32.shr_u(f.get(e), f.i(1))),
    ]),
  ];
}

/** f32 -> f64 of a scalar f32 expression. */
export function toF64(f: Fn, x: Expr): Expr {
  return f.m.f64.promote(x);
}

/** f64 -> f32 of a scalar f64 expression. */
export function toF32(f: Fn, x: Expr): Expr {
  return f.m.f32.demote(x);
}
