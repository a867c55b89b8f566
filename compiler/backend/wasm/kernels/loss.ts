// Loss kernels (mse, cross_entropy, binary_cross_entropy, kl_divergence, gaussian_kl) and their *_grad kernels, in the
// stable forms of ir/ops/loss.ts. Loss values accumulate in f64 (fixed element order) into an f32 [1];
// gradients are lane-group elementwise. Neighbours: ir/ops/loss.ts (references), math.ts, train-util.ts.

import { F64, type Expr, type FOps, type Fn, type Local } from "../module.js";
import * as math from "../math.js";
import { sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { countOf, hasBatch, logF64, sumF64 } from "./train-util.js";

/**
 * f64 divisor D of a reduction over input `x`: "mean" = element count, "batchmean" = size of axis 0
 * (the run-time batch for "N" values), "sum" = 1.
 */
function divisor(ctx: KernelCtx, x: string): Expr {
  const m = ctx.f.m;
  const r = ctx.node.attrs["reduction"] as string;
  if (r === "mean") return m.f64.convert_s.i32(countOf(ctx, x));
  if (r === "batchmean") return hasBatch(ctx, x) ? m.f64.convert_s.i32(ctx.batch()) : m.f64.const(sampleDims(ctx, x)[0]!);
  return m.f64.const(1);
}

/** Store acc / D (f64) as the f32 [1] loss output. */
function storeLoss(ctx: KernelCtx, acc: Local, d: Expr): Expr {
  const m = ctx.f.m;
  return ctx.f.s.store(ctx.ptr(ctx.node.outputs[0]!), m.f32.demote(m.f64.div(ctx.f.get(acc), d)));
}

/** A scalar element loop over the input's elements: body(i) statements with index local i. */
function elementLoop(ctx: KernelCtx, body: (i: Local) => Expr[]): Expr {
  const f = ctx.f;
  const [i, n] = [f.local(), f.local()];
  return f.block([f.set(n, countOf(ctx, ctx.node.inputs[0]!)), f.forRange(i, f.i(0), f.get(n), body(i))]);
}

/** mse(x, t) {reduction}: sum (x - t)^2 in f64 (SIMD: two f64x2 accumulators), / D. */
export const mseKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, t] = node.inputs as [string, string];
  const [px, pt, n] = [f.local(), f.local(), f.local()];
  const acc = f.local(F64);
  return [
    f.set(px, ctx.ptr(x)),
    f.set(pt, ctx.ptr(t)),
    f.set(n, countOf(ctx, x)),
    f.set(acc, f.m.f64.const(0)),
    ...sumF64(f, acc, () => f.get(n), [() => f.get(px), () => f.get(pt)], (w, [a, b]) => w.mul(w.sub(a!(), b!()), w.sub(a!(), b!()))),
    storeLoss(ctx, acc, divisor(ctx, x)),
  ];
};

/**
 * binary_cross_entropy(x, y) {reduction}: per element max(x, 0) - x y + log1p(e^-|x|) in f64 (e^-|x|
 * by math.exp in f32, then log(1 + u) in f64): finite for any finite x (±100 included).
 */
export const bceKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [x, y] = node.inputs as [string, string];
  const [px, py] = [f.local(), f.local()];
  const [acc, xd, yd] = [f.local(F64), f.local(F64), f.local(F64)];
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(y)),
    f.set(acc, m.f64.const(0)),
    elementLoop(ctx, (i) => [
      f.set(xd, m.f64.promote(f.s.load(f.at(f.get(px), f.get(i))))),
      f.set(yd, m.f64.promote(f.s.load(f.at(f.get(py), f.get(i))))),
      f.set(
        acc,
        m.f64.add(
          f.get(acc),
          m.f64.add(
            m.f64.sub(m.f64.max(f.get(xd), m.f64.const(0)), m.f64.mul(f.get(xd), f.get(yd))),
            logF64(f, m.f64.add(m.f64.const(1), m.f64.promote(math.exp(f, f.s, f.s.neg(f.s.abs(m.f32.demote(f.get(xd)))))))),
          ),
        ),
      ),
    ]),
    storeLoss(ctx, acc, divisor(ctx, x)),
  ];
};

/**
 * kl_divergence(x, t) {reduction, log_target}: per element xlogy(t, t) - t x (0 at t = 0), or with
 * log_target e^t (t - x); f64 accumulation (log in f64, e^t by math.exp in f32).
 */
export const klKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const logTarget = !!node.attrs["log_target"];
  const [x, t] = node.inputs as [string, string];
  const [px, pt] = [f.local(), f.local()];
  const [acc, xd, td] = [f.local(F64), f.local(F64), f.local(F64)];
  const term = logTarget
    ? m.f64.mul(m.f64.promote(math.exp(f, f.s, m.f32.demote(f.get(td)))), m.f64.sub(f.get(td), f.get(xd)))
    : m.f64.sub(
        m.select(m.f64.eq(f.get(td), m.f64.const(0)), m.f64.const(0), m.f64.mul(f.get(td), logF64(f, f.get(td)))),
        m.f64.mul(f.get(td), f.get(xd)),
      );
  return [
    f.set(px, ctx.ptr(x)),
    f.set(pt, ctx.ptr(t)),
    f.set(acc, m.f64.const(0)),
    elementLoop(ctx, (i) => [
      f.set(xd, m.f64.promote(f.s.load(f.at(f.get(px), f.get(i))))),
      f.set(td, m.f64.promote(f.s.load(f.at(f.get(pt), f.get(i))))),
      f.set(acc, m.f64.add(f.get(acc), term)),
    ]),
    storeLoss(ctx, acc, divisor(ctx, x)),
  ];
};

/** Elementwise gradient kernel: out = fn(x, t, c) with c = gl / D (f32 scalar) — in-place safe. */
function lossGrad(fn: (f: Fn, o: FOps, x: () => Expr, t: () => Expr, c: () => Expr) => Expr): Kernel {
  return (ctx) => {
    const { f, node } = ctx;
    const m = f.m;
    const [x, t, gl] = node.inputs as [string, string, string];
    const [px, pt, po, n] = [f.local(), f.local(), f.local(), f.local()];
    const c = f.local(f.s.type);
    return [
      f.set(px, ctx.ptr(x)),
      f.set(pt, ctx.ptr(t)),
      f.set(po, ctx.ptr(node.outputs[0]!)),
      f.set(n, countOf(ctx, x)),
      f.set(c, m.f32.demote(m.f64.div(m.f64.promote(f.s.load(ctx.ptr(gl))), divisor(ctx, x)))),
      f.forLanes(() => f.get(n), (o, idx) => {
        const [xv, tv] = [f.local(o.type), f.local(o.type)];
        return [
          f.set(xv, o.load(f.at(f.get(px), idx()))),
          f.set(tv, o.load(f.at(f.get(pt), idx()))),
          o.store(f.at(f.get(po), idx()), fn(f, o, () => f.get(xv), () => f.get(tv), () => o.splat(f.get(c)))),
        ];
      }),
    ];
  };
}

/** mse_grad(x, t, gl) = (gl / D) 2 (x - t). */
export const mseGradKernel = lossGrad((_f, o, x, t, c) => o.mul(c(), o.mul(o.c(2), o.sub(x(), t()))));

/** binary_cross_entropy_grad(x, y, gl) = (gl / D) (sigmoid(x) - y) (math.sigmoid: no overflow). */
export const bceGradKernel = lossGrad((f, o, x, y, c) => o.mul(c(), o.sub(math.sigmoid(f, o, x()), y())));

/** kl_divergence_grad(x, t, gl) = (gl / D) (-t), or (gl / D) (-e^t) with log_target. */
export function klGradKernel(ctx: KernelCtx): Expr[] {
  const lt = !!ctx.node.attrs["log_target"];
  return lossGrad((f, o, _x, t, c) => o.mul(c(), o.neg(lt ? math.exp(f, o, t()) : t())))(ctx);
}

/** Per-row pieces of cross-entropy: row max m (f32) and s = sum_c e^(x_c - m) (f64, math.exp). */
function rowStats(f: Fn, px: Local, C: number, mx: Local, s: Local): Expr[] {
  const c = f.local();
  return [
    f.set(mx, f.s.c(-Infinity)),
    f.forRange(c, f.i(0), f.i(C), [f.set(mx, f.s.max(f.get(mx), f.s.load(f.at(f.get(px), f.get(c)))))]),
    f.set(s, f.m.f64.const(0)),
    f.forRange(c, f.i(0), f.i(C), [
      f.set(s, f.m.f64.add(f.get(s), f.m.f64.promote(math.exp(f, f.s, f.s.sub(f.s.load(f.at(f.get(px), f.get(c))), f.get(mx)))))),
    ]),
  ];
}

/** Shared geometry of the cross-entropy kernels: rows (i32 expr), C, whether targets are indices. */
function ceGeom(ctx: KernelCtx): { rows: Expr; C: number; index: boolean; eps: number } {
  const [x, t] = ctx.node.inputs as [string, string];
  const d = sampleDims(ctx, x);
  const C = d[d.length - 1]!;
  const rows = hasBatch(ctx, x) ? ctx.batch() : ctx.f.i(d[0]!);
  return { rows, C, index: ctx.g.values[t]!.type.shape.length === 1, eps: (ctx.node.attrs["label_smoothing"] as number | undefined) ?? 0 };
}

/**
 * cross_entropy(x [N, C], target) {reduction, label_smoothing ε}: per row lse = m + log sum e^(x - m)
 * (f64), loss = sum_c t'_c (lse - x_c) with t' = (1 - ε) onehot(y) + ε / C (i32 indices) or
 * (1 - ε) t + ε / C (f32 probabilities; zero t' terms skipped); f64 sum over rows, / N for "mean".
 * A class index outside [0, C) makes the loss NaN (the reference throws).
 */
export const crossEntropyKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const { rows, C, index, eps } = ceGeom(ctx);
  const [px, pt, r, c, y] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const mx = f.local(f.s.type);
  const [s, lse, acc, row, tp] = [f.local(F64), f.local(F64), f.local(F64), f.local(F64), f.local(F64)];
  const xc = (): Expr => m.f64.promote(f.s.load(f.at(f.get(px), f.get(c))));
  const perRow: Expr[] = [...rowStats(f, px, C, mx, s), f.set(lse, m.f64.add(m.f64.promote(f.get(mx)), logF64(f, f.get(s)))), f.set(row, m.f64.const(0))];
  if (index) {
    perRow.push(
      f.set(y, m.i32.reinterpret(f.s.load(f.at(f.get(pt), f.get(r))))),
      f.set(
        row,
        m.select(
          f.inRange(f.get(y), C),
          m.f64.mul(m.f64.const(1 - eps), m.f64.sub(f.get(lse), m.f64.promote(f.s.load(f.at(f.get(px), m.select(f.inRange(f.get(y), C), f.get(y), f.i(0))))))),
          m.f64.const(NaN),
        ),
      ),
    );
    if (eps > 0)
      perRow.push(
        f.forRange(c, f.i(0), f.i(C), [f.set(row, m.f64.add(f.get(row), m.f64.mul(m.f64.const(eps / C), m.f64.sub(f.get(lse), xc()))))]),
      );
  } else {
    perRow.push(
      f.forRange(c, f.i(0), f.i(C), [
        f.set(tp, m.f64.add(m.f64.mul(m.f64.const(1 - eps), m.f64.promote(f.s.load(f.at(f.get(pt), f.get(c))))), m.f64.const(eps / C))),
        f.set(row, m.f64.add(f.get(row), m.select(m.f64.ne(f.get(tp), m.f64.const(0)), m.f64.mul(f.get(tp), m.f64.sub(f.get(lse), xc())), m.f64.const(0)))),
      ]),
      f.set(pt, f.addk(f.get(pt), C * 4)),
    );
  }
  return [
    f.set(px, ctx.ptr(node.inputs[0]!)),
    f.set(pt, ctx.ptr(node.inputs[1]!)),
    f.set(acc, m.f64.const(0)),
    f.forRange(r, f.i(0), rows, [...perRow, f.set(acc, m.f64.add(f.get(acc), f.get(row))), f.set(px, f.addk(f.get(px), C * 4))]),
    storeLoss(ctx, acc, node.attrs["reduction"] === "mean" ? m.f64.convert_s.i32(ceGeom(ctx).rows) : m.f64.const(1)),
  ];
};

/**
 * cross_entropy_grad(x, target, gl): per row (gl / D) (softmax(x)_c S - t'_c), softmax = e^(x - m) / s
 * (s summed in f64), S = sum_c t'_c (1 for indices). Out-of-range indices give the plain softmax row.
 */
export const crossEntropyGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const { rows, C, index, eps } = ceGeom(ctx);
  const [px, pt, po, r, c, y] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const [mx, k, inv, S] = [f.local(f.s.type), f.local(f.s.type), f.local(f.s.type), f.local(f.s.type)];
  const [s, st] = [f.local(F64), f.local(F64)];
  const p = (): Expr => f.s.mul(math.exp(f, f.s, f.s.sub(f.s.load(f.at(f.get(px), f.get(c))), f.get(mx))), f.get(inv));
  const perRow: Expr[] = [...rowStats(f, px, C, mx, s), f.set(inv, m.f32.demote(m.f64.div(m.f64.const(1), f.get(s))))];
  if (index) {
    perRow.push(
      f.set(y, m.i32.reinterpret(f.s.load(f.at(f.get(pt), f.get(r))))),
      f.forRange(c, f.i(0), f.i(C), [
        f.s.store(
          f.at(f.get(po), f.get(c)),
          f.s.mul(f.get(k), f.s.sub(p(), m.select(m.i32.eq(f.get(c), f.get(y)), f.s.c(1 - eps + eps / C), f.s.c(eps / C)))),
        ),
      ]),
    );
  } else {
    const tpc = (): Expr => f.s.add(f.s.mul(f.s.c(1 - eps), f.s.load(f.at(f.get(pt), f.get(c)))), f.s.c(eps / C));
    perRow.push(
      f.set(st, m.f64.const(0)),
      f.forRange(c, f.i(0), f.i(C), [f.set(st, m.f64.add(f.get(st), m.f64.promote(tpc())))]),
      f.set(S, m.f32.demote(f.get(st))),
      f.forRange(c, f.i(0), f.i(C), [f.s.store(f.at(f.get(po), f.get(c)), f.s.mul(f.get(k), f.s.sub(f.s.mul(p(), f.get(S)), tpc())))]),
      f.set(pt, f.addk(f.get(pt), C * 4)),
    );
  }
  const D = node.attrs["reduction"] === "mean" ? m.f64.convert_s.i32(ceGeom(ctx).rows) : m.f64.const(1);
  return [
    f.set(px, ctx.ptr(node.inputs[0]!)),
    f.set(pt, ctx.ptr(node.inputs[1]!)),
    f.set(po, ctx.ptr(node.outputs[0]!)),
    f.set(k, m.f32.demote(m.f64.div(m.f64.promote(f.s.load(ctx.ptr(node.inputs[2]!))), D))),
    f.forRange(r, f.i(0), rows, [...perRow, f.set(px, f.addk(f.get(px), C * 4)), f.set(po, f.addk(f.get(po), C * 4))]),
  ];
};

/** f64 divisor of gaussian_kl(_grad): the batch (axis 0 of mu) for "mean", 1 for "sum". */
function klRows(ctx: KernelCtx): Expr {
  const m = ctx.f.m;
  const mu = ctx.node.inputs[0]!;
  if (ctx.node.attrs["reduction"] !== "mean") return m.f64.const(1);
  return hasBatch(ctx, mu) ? m.f64.convert_s.i32(ctx.batch()) : m.f64.const(ctx.g.values[mu]!.type.shape[0] as number);
}

/**
 * gaussian_kl(mu, logvar) {reduction}: -0.5 sum (1 + lv - mu^2 - e^lv) over all elements in f64 (e^lv by
 * math.exp in f32), divided by the batch for "mean".
 */
export const gaussianKlKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [mu, lv] = node.inputs as [string, string];
  const [pm, pl] = [f.local(), f.local()];
  const [acc, md, ld] = [f.local(F64), f.local(F64), f.local(F64)];
  return [
    f.set(pm, ctx.ptr(mu)),
    f.set(pl, ctx.ptr(lv)),
    f.set(acc, m.f64.const(0)),
    elementLoop(ctx, (i) => [
      f.set(md, m.f64.promote(f.s.load(f.at(f.get(pm), f.get(i))))),
      f.set(ld, m.f64.promote(f.s.load(f.at(f.get(pl), f.get(i))))),
      f.set(
        acc,
        m.f64.add(
          f.get(acc),
          m.f64.sub(
            m.f64.sub(m.f64.add(m.f64.const(1), f.get(ld)), m.f64.mul(f.get(md), f.get(md))),
            m.f64.promote(math.exp(f, f.s, m.f32.demote(f.get(ld)))),
          ),
        ),
      ),
    ]),
    f.set(acc, m.f64.mul(f.get(acc), m.f64.const(-0.5))),
    storeLoss(ctx, acc, klRows(ctx)),
  ];
};

/** gaussian_kl_grad(mu, logvar, gl) -> [c mu, c 0.5 (e^lv - 1)], c = gl / D; lane groups. */
export const gaussianKlGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [mu, lv, gl] = node.inputs as [string, string, string];
  const [dmu, dlv] = node.outputs as [string, string];
  const [pm, pl, pdm, pdl, n] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const c = f.local(f.s.type);
  return [
    f.set(pm, ctx.ptr(mu)),
    f.set(pl, ctx.ptr(lv)),
    f.set(pdm, ctx.ptr(dmu)),
    f.set(pdl, ctx.ptr(dlv)),
    f.set(n, countOf(ctx, mu)),
    f.set(c, m.f32.demote(m.f64.div(m.f64.promote(f.s.load(ctx.ptr(gl))), klRows(ctx)))),
    f.forLanes(() => f.get(n), (o, idx) => {
      const [mv, lvv] = [f.local(o.type), f.local(o.type)];
      return [
        f.set(mv, o.load(f.at(f.get(pm), idx()))),
        f.set(lvv, o.load(f.at(f.get(pl), idx()))),
        o.store(f.at(f.get(pdm), idx()), o.mul(o.splat(f.get(c)), f.get(mv))),
        o.store(f.at(f.get(pdl), idx()), o.mul(o.splat(f.get(c)), o.mul(o.c(0.5), o.sub(math.exp(f, o, f.get(lvv)), o.c(1))))),
      ];
    }),
  ];
};
