// Batchnorm in training form: batchnorm_train (batch statistics in f64), batchnorm_grad
// (native_batch_norm_backward), batchnorm_stats_update (running statistics). Weights and statistics are
// read at run time. Also layernorm_grad (native_layer_norm_backward). Neighbours: ir/ops/grad-norm.ts (references), kernels/train-util.ts (f64 sums).

import { F64, type Expr, type FOps, type Local } from "../module.js";
import { layernormRowStats } from "./norm.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { countOf, sumF64 } from "./train-util.js";

/** [N, C, inner] view of x: C, inner (static) and the plane count per channel N (run time). */
function planes(ctx: KernelCtx, x: string): { C: number; inner: number; N: Expr } {
  const d = sampleDims(ctx, x);
  return { C: d[0]!, inner: prod(d.slice(1)), N: ctx.batch() };
}

/**
 * For each channel c (local `c`): `perChannel` statements, with `forPlanes(body)` looping the N planes
 * of channel c (byte offset of the plane in local `off`, relative to any [N, C, ...] tensor).
 */
function channelLoop(ctx: KernelCtx, C: number, inner: number, perChannel: (c: Local, forPlanes: (body: (off: Local) => Expr[]) => Expr) => Expr[]): Expr {
  const f = ctx.f;
  const [c, n, off] = [f.local(), f.local(), f.local()];
  const forPlanes = (body: (off: Local) => Expr[]): Expr =>
    f.block([
      f.set(off, f.mulk(f.get(c), inner * 4)),
      f.forRange(n, f.i(0), ctx.batch(), [...body(off), f.set(off, f.addk(f.get(off), C * inner * 4))]),
    ]);
  return f.forRange(c, f.i(0), f.i(C), perChannel(c, forPlanes));
}

/**
 * batchnorm_train(x [N, C, ...], weight [C], bias [C]) {eps} -> [y, mean, var (biased), var_unbiased]:
 * per channel over M = N * spatial values, two passes with f64 accumulation (sum, then sum of squared
 * deviations from the f64 mean), y = (x - mean) * (weight / sqrt(var + eps)) + bias in f32 lane groups.
 * M = 1 gives var_unbiased = NaN (the reference throws, as PyTorch).
 */
export const batchnormTrainKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [x, w, b] = node.inputs as [string, string, string];
  const [y, mo, vo, vuo] = node.outputs as [string, string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const { C, inner } = planes(ctx, x);
  const [px, py, pp] = [f.local(), f.local(), f.local()];
  const [s1, s2, mean, Mf] = [f.local(F64), f.local(F64), f.local(F64), f.local(F64)];
  const [meanF, scale, bias] = [f.local(f.s.type), f.local(f.s.type), f.local(f.s.type)];
  const [vm, vs, vb] = [f.local(f.v.type), f.local(f.v.type), f.local(f.v.type)];
  const simd = f.v.lanes > 1;
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(y)),
    f.set(Mf, m.f64.convert_s.i32(f.mulk(ctx.batch(), inner))),
    channelLoop(ctx, C, inner, (c, forPlanes) => [
      f.set(s1, m.f64.const(0)),
      forPlanes((off) => [f.set(pp, f.add(f.get(px), f.get(off))), ...sumF64(f, s1, () => f.i(inner), [() => f.get(pp)], (_w, [v]) => v!())]),
      f.set(mean, m.f64.div(f.get(s1), f.get(Mf))),
      f.set(s2, m.f64.const(0)),
      forPlanes((off) => [
        f.set(pp, f.add(f.get(px), f.get(off))),
        ...sumF64(f, s2, () => f.i(inner), [() => f.get(pp)], (wd, [v]) => wd.mul(wd.sub(v!(), wd.splat(f.get(mean))), wd.sub(v!(), wd.splat(f.get(mean))))),
      ]),
      f.s.store(f.at(ctx.ptr(mo), f.get(c)), m.f32.demote(f.get(mean))),
      f.s.store(f.at(ctx.ptr(vo), f.get(c)), m.f32.demote(m.f64.div(f.get(s2), f.get(Mf)))),
      f.s.store(f.at(ctx.ptr(vuo), f.get(c)), m.f32.demote(m.f64.div(f.get(s2), m.f64.sub(f.get(Mf), m.f64.const(1))))),
      f.set(meanF, m.f32.demote(f.get(mean))),
      f.set(
        scale,
        m.f32.demote(
          m.f64.div(m.f64.promote(f.s.load(f.at(ctx.ptr(w), f.get(c)))), m.f64.sqrt(m.f64.add(m.f64.div(f.get(s2), f.get(Mf)), m.f64.const(eps)))),
        ),
      ),
      f.set(bias, f.s.load(f.at(ctx.ptr(b), f.get(c)))),
      ...(simd ? [f.set(vm, f.v.splat(f.get(meanF))), f.set(vs, f.v.splat(f.get(scale))), f.set(vb, f.v.splat(f.get(bias)))] : []),
      forPlanes((off) => [
        f.forLanes(() => f.i(inner), (o, idx) => {
          const [mv, sv, bv] = o.lanes === 1 ? [meanF, scale, bias] : [vm, vs, vb];
          return [
            o.store(
              f.at(f.add(f.get(py), f.get(off)), idx()),
              o.add(o.mul(o.sub(o.load(f.at(f.add(f.get(px), f.get(off)), idx())), f.get(mv)), f.get(sv)), f.get(bv)),
            ),
          ];
        }),
      ]),
    ]),
  ];
};

/**
 * batchnorm_grad(g, x, weight, mean, var) {eps} -> [dx, dweight, dbias] (native_batch_norm_backward):
 * per channel sg = sum g, sgx = sum g (x - mean) in f64, invstd = 1 / sqrt(var + eps);
 * dweight = sgx invstd, dbias = sg, dx = A g + B (x - mean) + K with A = w invstd,
 * B = -w invstd^3 sgx / M, K = -w invstd sg / M (f32 lane groups).
 */
export const batchnormGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [g, x, w, mean, vr] = node.inputs as [string, string, string, string, string];
  const [dx, dw, db] = node.outputs as [string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const { C, inner } = planes(ctx, x);
  const [px, pg, pd, p1, p2] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const [sg, sgx, inv, Mf, md, wc] = [f.local(F64), f.local(F64), f.local(F64), f.local(F64), f.local(F64), f.local(F64)];
  const [A, B, K, meanF] = [f.local(f.s.type), f.local(f.s.type), f.local(f.s.type), f.local(f.s.type)];
  const [vA, vB, vK, vm] = [f.local(f.v.type), f.local(f.v.type), f.local(f.v.type), f.local(f.v.type)];
  const simd = f.v.lanes > 1;
  return [
    f.set(px, ctx.ptr(x)),
    f.set(pg, ctx.ptr(g)),
    f.set(pd, ctx.ptr(dx)),
    f.set(Mf, m.f64.convert_s.i32(f.mulk(ctx.batch(), inner))),
    channelLoop(ctx, C, inner, (c, forPlanes) => [
      f.set(meanF, f.s.load(f.at(ctx.ptr(mean), f.get(c)))),
      f.set(md, m.f64.promote(f.get(meanF))),
      f.set(wc, m.f64.promote(f.s.load(f.at(ctx.ptr(w), f.get(c))))),
      f.set(inv, m.f64.div(m.f64.const(1), m.f64.sqrt(m.f64.add(m.f64.promote(f.s.load(f.at(ctx.ptr(vr), f.get(c)))), m.f64.const(eps))))),
      f.set(sg, m.f64.const(0)),
      f.set(sgx, m.f64.const(0)),
      forPlanes((off) => [
        f.set(p1, f.add(f.get(pg), f.get(off))),
        f.set(p2, f.add(f.get(px), f.get(off))),
        ...sumF64(f, sg, () => f.i(inner), [() => f.get(p1)], (_w, [v]) => v!()),
        ...sumF64(f, sgx, () => f.i(inner), [() => f.get(p1), () => f.get(p2)], (wd, [gv, xv]) => wd.mul(gv!(), wd.sub(xv!(), wd.splat(f.get(md))))),
      ]),
      f.s.store(f.at(ctx.ptr(dw), f.get(c)), m.f32.demote(m.f64.mul(f.get(sgx), f.get(inv)))),
      f.s.store(f.at(ctx.ptr(db), f.get(c)), m.f32.demote(f.get(sg))),
      f.set(A, m.f32.demote(m.f64.mul(f.get(wc), f.get(inv)))),
      f.set(
        B,
        m.f32.demote(m.f64.neg(m.f64.div(m.f64.mul(m.f64.mul(f.get(wc), m.f64.mul(f.get(inv), m.f64.mul(f.get(inv), f.get(inv)))), f.get(sgx)), f.get(Mf)))),
      ),
      f.set(K, m.f32.demote(m.f64.neg(m.f64.div(m.f64.mul(m.f64.mul(f.get(wc), f.get(inv)), f.get(sg)), f.get(Mf))))),
      ...(simd ? [f.set(vA, f.v.splat(f.get(A))), f.set(vB, f.v.splat(f.get(B))), f.set(vK, f.v.splat(f.get(K))), f.set(vm, f.v.splat(f.get(meanF)))] : []),
      forPlanes((off) => [
        f.forLanes(() => f.i(inner), (o, idx) => {
          const [a, b, k, mv] = o.lanes === 1 ? [A, B, K, meanF] : [vA, vB, vK, vm];
          const at = (p: Local): Expr => f.at(f.add(f.get(p), f.get(off)), idx());
          return [o.store(at(pd), o.add(o.add(o.mul(f.get(a), o.load(at(pg))), o.mul(f.get(b), o.sub(o.load(at(px)), f.get(mv)))), f.get(k)))];
        }),
      ]),
    ]),
  ];
};

/**
 * batchnorm_stats_update(running_mean, running_var, mean, var_unbiased) {momentum} ->
 * [(1 - momentum) running_mean + momentum mean, (1 - momentum) running_var + momentum var_unbiased]
 * (lane groups; in-place safe: the outputs may alias the running buffers).
 */
export const batchnormStatsKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const mo = node.attrs["momentum"] as number;
  const ps = [...node.inputs, ...node.outputs].map(() => f.local());
  const n = f.local();
  return [
    ...[...node.inputs, ...node.outputs].map((id, k) => f.set(ps[k]!, ctx.ptr(id))),
    f.set(n, countOf(ctx, node.inputs[0]!)),
    f.forLanes(() => f.get(n), (o, idx) => {
      const ld = (k: number): Expr => o.load(f.at(f.get(ps[k]!), idx()));
      const [a, b] = [f.local(o.type), f.local(o.type)];
      return [
        f.set(a, o.add(o.mul(o.c(1 - mo), ld(0)), o.mul(o.c(mo), ld(2)))),
        f.set(b, o.add(o.mul(o.c(1 - mo), ld(1)), o.mul(o.c(mo), ld(3)))),
        o.store(f.at(f.get(ps[4]!), idx()), f.get(a)),
        o.store(f.at(f.get(ps[5]!), idx()), f.get(b)),
      ];
    }),
  ];
};

/**
 * layernorm_grad(g, x, weight) {eps} -> [dx, dweight, dbias] (native_layer_norm_backward), per row of D:
 * f64 two-pass statistics (layernormRowStats), sgh = sum g w and sghx = sum g w (x - mean) in f64;
 * dx = A g w + B (x - mean) + K with A = invstd, B = -invstd^3 sghx / D, K = -invstd sgh / D;
 * dweight += g (x - mean) invstd and dbias += g accumulate over rows in f32 (zeroed first).
 * Not in-place safe (dweight / dbias are written across rows).
 */
export const layernormGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [g, x, w] = node.inputs as [string, string, string];
  const [dx, dw, db] = node.outputs as [string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const xd = sampleDims(ctx, x);
  const D = xd[xd.length - 1]!;
  const R = prod(xd.slice(0, -1));
  const [px, pg, pd, pw, pdw, pdb, r] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const st = { acc: f.local(F64), mean: f.local(F64), inv: f.local(F64), hi: f.local(f.s.type), lo: f.local(f.s.type) };
  const [sgh, sghx] = [f.local(F64), f.local(F64)];
  const [A, B, K] = [f.local(f.s.type), f.local(f.s.type), f.local(f.s.type)];
  const [vA, vB, vK, vh, vl] = [f.local(f.v.type), f.local(f.v.type), f.local(f.v.type), f.local(f.v.type), f.local(f.v.type)];
  const simd = f.v.lanes > 1;
  const ld = (o: FOps, p: Local, idx: () => Expr): Expr => o.load(f.at(f.get(p), idx()));
  return [
    f.set(px, ctx.ptr(x)),
    f.set(pg, ctx.ptr(g)),
    f.set(pd, ctx.ptr(dx)),
    f.set(pw, ctx.ptr(w)),
    f.set(pdw, ctx.ptr(dw)),
    f.set(pdb, ctx.ptr(db)),
    f.forLanes(() => f.i(D), (o, idx) => [o.store(f.at(f.get(pdw), idx()), o.c(0)), o.store(f.at(f.get(pdb), idx()), o.c(0))]),
    f.forRange(r, f.i(0), f.mulk(ctx.batch(), R), [
      ...layernormRowStats(ctx, px, D, eps, st),
      f.set(sgh, m.f64.const(0)),
      f.set(sghx, m.f64.const(0)),
      ...sumF64(f, sgh, () => f.i(D), [() => f.get(pg), () => f.get(pw)], (wd, [gv, wv]) => wd.mul(gv!(), wv!())),
      ...sumF64(f, sghx, () => f.i(D), [() => f.get(pg), () => f.get(pw), () => f.get(px)], (wd, [gv, wv, xv]) =>
        wd.mul(wd.mul(gv!(), wv!()), wd.sub(xv!(), wd.splat(f.get(st.mean)))),
      ),
      f.set(A, m.f32.demote(f.get(st.inv))),
      f.set(B, m.f32.demote(m.f64.neg(m.f64.div(m.f64.mul(m.f64.mul(f.get(st.inv), m.f64.mul(f.get(st.inv), f.get(st.inv))), f.get(sghx)), m.f64.const(D))))),
      f.set(K, m.f32.demote(m.f64.neg(m.f64.div(m.f64.mul(f.get(st.inv), f.get(sgh)), m.f64.const(D))))),
      ...(simd
        ? [f.set(vA, f.v.splat(f.get(A))), f.set(vB, f.v.splat(f.get(B))), f.set(vK, f.v.splat(f.get(K))), f.set(vh, f.v.splat(f.get(st.hi))), f.set(vl, f.v.splat(f.get(st.lo)))]
        : []),
      f.forLanes(() => f.i(D), (o, idx) => {
        const [a, b, k, h, l] = o.lanes === 1 ? [A, B, K, st.hi, st.lo] : [vA, vB, vK, vh, vl];
        const [c, gv] = [f.local(o.type), f.local(o.type)];
        return [
          f.set(gv, ld(o, pg, idx)),
          f.set(c, o.sub(o.sub(ld(o, px, idx), f.get(h)), f.get(l))),
          o.store(f.at(f.get(pd), idx()), o.add(o.add(o.mul(f.get(a), o.mul(f.get(gv), ld(o, pw, idx))), o.mul(f.get(b), f.get(c))), f.get(k))),
          o.store(f.at(f.get(pdw), idx()), o.add(ld(o, pdw, idx), o.mul(o.mul(f.get(gv), f.get(c)), f.get(a)))),
          o.store(f.at(f.get(pdb), idx()), o.add(ld(o, pdb, idx), f.get(gv))),
        ];
      }),
      f.set(px, f.addk(f.get(px), D * 4)),
      f.set(pg, f.addk(f.get(pg), D * 4)),
      f.set(pd, f.addk(f.get(pd), D * 4)),
    ]),
  ];
};
