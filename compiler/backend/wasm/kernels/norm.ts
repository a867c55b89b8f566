// batchnorm in inference form, y = x * scale[c] + shift[c] with scale = w / sqrt(var + eps),
// shift = b - mean * scale folded per channel at run time in float64 from the stored state_dict tensors.
// layernorm over the last axis: f64 two-pass row statistics, weights read at run time (also serves training).
// Neighbours: kernels/context.ts (derived data), module.ts; train-kernels.ts (run-time fold, same loops).

import { F64, type Expr, type Local } from "../module.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { sumF64 } from "./train-util.js";

/**
 * Kernel for `batchnorm`: inputs [x [N, C, ...], weight [C], bias [C], running_mean [C],
 * running_var [C]], attrs.eps (PyTorch nn.BatchNorm1d/2d, eval mode). The four tensors stay in the weights
 * region as they are (state_dict layout); per channel the kernel folds them in f64, scale = w / sqrt(var + eps),
 * shift = b - mean * scale, rounded to f32 (what a compile-time fold in JS would give, bit for bit), then runs
 * y = x * scale + shift over the channel's planes of every sample (lane groups), or over the channel's column
 * (one element per sample) when there are no spatial dims.
 */
export const batchnormKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [x, w, b, mean, vr] = node.inputs as [string, string, string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const xd = sampleDims(ctx, x);
  const C = xd[0]!;
  const inner = prod(xd.slice(1));
  const [px, py, n, c, off] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const [s64, ss, ts] = [f.local(F64), f.local(f.s.type), f.local(f.s.type)];
  const [sv, tv] = [f.local(f.v.type), f.local(f.v.type)];
  const p64 = (id: string): Expr => m.f64.promote(f.s.load(f.at(ctx.ptr(id), f.get(c))));
  const fold: Expr[] = [
    f.set(s64, m.f64.div(p64(w), m.f64.sqrt(m.f64.add(p64(vr), m.f64.const(eps))))),
    f.set(ss, m.f32.demote(f.get(s64))),
    f.set(ts, m.f32.demote(m.f64.sub(p64(b), m.f64.mul(p64(mean), f.get(s64))))),
    f.set(sv, f.v.splat(f.get(ss))),
    f.set(tv, f.v.splat(f.get(ts))),
  ];
  // off = byte offset of (sample n, channel c)'s plane
  const perSample = f.forRange(n, f.i(0), ctx.batch(), [
    f.set(off, f.mulk(f.add(f.mulk(f.get(n), C), f.get(c)), inner * 4)),
    f.forLanes(() => f.i(inner), (o, idx) => {
      const [sc, sh] = o.lanes === f.v.lanes ? [sv, tv] : [ss, ts];
      const at = (p: Local): Expr => f.at(f.add(f.get(p), f.get(off)), idx());
      return [o.store(at(py), o.add(o.mul(o.load(at(px)), f.get(sc)), f.get(sh)))];
    }),
  ]);
  return [f.set(px, ctx.ptr(x)), f.set(py, ctx.ptr(node.outputs[0]!)), f.forRange(c, f.i(0), f.i(C), [...fold, perSample])];
};

/**
 * y = x * scale[c] + shift[c] for x [N, C, inner] (the node's first input and output), with the C-element
 * f32 tables at the addresses `scale()` / `shift()` (built afresh per use). inner = 1 vectorizes over C;
 * otherwise each (n, c) plane is one lane-group loop. Also used by train-kernels.ts (tables in scratch).
 */
export function scaleShiftLoops(ctx: KernelCtx, C: number, inner: number, scale: () => Expr, shift: () => Expr): Expr[] {
  const { f, node } = ctx;
  const sAt = (i: Expr): Expr => f.at(scale(), i);
  const tAt = (i: Expr): Expr => f.at(shift(), i);
  const [px, py, n, c, sc, sh] = [f.local(), f.local(), f.local(), f.local(), f.local(f.v.type), f.local(f.v.type)];
  const setup = [f.set(px, ctx.ptr(node.inputs[0]!)), f.set(py, ctx.ptr(node.outputs[0]!))];
  if (inner === 1)
    return [
      ...setup,
      f.forRange(n, f.i(0), ctx.batch(), [
        f.forLanes(() => f.i(C), (o, idx) => [
          o.store(f.at(f.get(py), idx()), o.add(o.mul(o.load(f.at(f.get(px), idx())), o.load(sAt(idx()))), o.load(tAt(idx())))),
        ]),
        f.set(px, f.addk(f.get(px), C * 4)),
        f.set(py, f.addk(f.get(py), C * 4)),
      ]),
    ];
  return [
    ...setup,
    f.forRange(n, f.i(0), ctx.batch(), [
      f.forRange(c, f.i(0), f.i(C), [
        f.set(sc, f.v.splat(f.s.load(sAt(f.get(c))))),
        f.set(sh, f.v.splat(f.s.load(tAt(f.get(c))))),
        f.forLanes(() => f.i(inner), (o, idx) => {
          const s = o.lanes === f.v.lanes ? f.get(sc) : f.s.load(sAt(f.get(c)));
          const t = o.lanes === f.v.lanes ? f.get(sh) : f.s.load(tAt(f.get(c)));
          return [o.store(f.at(f.get(py), idx()), o.add(o.mul(o.load(f.at(f.get(px), idx())), s), t))];
        }),
        f.set(px, f.addk(f.get(px), inner * 4)),
        f.set(py, f.addk(f.get(py), inner * 4)),
      ]),
    ]),
  ];
}

/**
 * Per row of an [rows, D] view of value `x` (row base byte offset in local `off`, relative to any tensor
 * with the same [.., D] layout): f64 two-pass statistics into `mean` / `inv` (1 / sqrt(var + eps)), then
 * f32 `meanHi` = f32(mean), `meanLo` = f32(mean - meanHi), so (x - meanHi) - meanLo keeps a large common
 * offset exact. Shared by layernorm and layernorm_grad (kernels/norm-train.ts).
 */
export function layernormRowStats(ctx: KernelCtx, xBase: Local, D: number, eps: number, s: { acc: Local; mean: Local; inv: Local; hi: Local; lo: Local }): Expr[] {
  const { f } = ctx;
  const m = f.m;
  return [
    f.set(s.acc, m.f64.const(0)),
    ...sumF64(f, s.acc, () => f.i(D), [() => f.get(xBase)], (_w, [v]) => v!()),
    f.set(s.mean, m.f64.div(f.get(s.acc), m.f64.const(D))),
    f.set(s.acc, m.f64.const(0)),
    ...sumF64(f, s.acc, () => f.i(D), [() => f.get(xBase)], (wd, [v]) => wd.mul(wd.sub(v!(), wd.splat(f.get(s.mean))), wd.sub(v!(), wd.splat(f.get(s.mean))))),
    f.set(s.inv, m.f64.div(m.f64.const(1), m.f64.sqrt(m.f64.add(m.f64.div(f.get(s.acc), m.f64.const(D)), m.f64.const(eps))))),
    f.set(s.hi, m.f32.demote(f.get(s.mean))),
    f.set(s.lo, m.f32.demote(m.f64.sub(f.get(s.mean), m.f64.promote(f.get(s.hi))))),
  ];
}

/**
 * Kernel for `layernorm`: inputs [x [N, ..., D], weight [D], bias [D]], attrs.eps (PyTorch nn.LayerNorm
 * over the last axis). Weights are read at run time (so the same kernel serves training modules). Per
 * row: f64 two-pass mean / variance, then y = ((x - meanHi) - meanLo) * invstd * w + b in f32 lane groups.
 */
export const layernormKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w, b] = node.inputs as [string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const xd = sampleDims(ctx, x);
  const D = xd[xd.length - 1]!;
  const R = prod(xd.slice(0, -1));
  const [px, py, pw, pb, r] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const st = { acc: f.local(F64), mean: f.local(F64), inv: f.local(F64), hi: f.local(f.s.type), lo: f.local(f.s.type) };
  const invF = f.local(f.s.type);
  const [vh, vl, vi] = [f.local(f.v.type), f.local(f.v.type), f.local(f.v.type)];
  const simd = f.v.lanes > 1;
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.set(pw, ctx.ptr(w)),
    f.set(pb, ctx.ptr(b)),
    f.forRange(r, f.i(0), f.mulk(ctx.batch(), R), [
      ...layernormRowStats(ctx, px, D, eps, st),
      f.set(invF, f.m.f32.demote(f.get(st.inv))),
      ...(simd ? [f.set(vh, f.v.splat(f.get(st.hi))), f.set(vl, f.v.splat(f.get(st.lo))), f.set(vi, f.v.splat(f.get(invF)))] : []),
      f.forLanes(() => f.i(D), (o, idx) => {
        const [h, l, i] = o.lanes === 1 ? [st.hi, st.lo, invF] : [vh, vl, vi];
        const xh = o.mul(o.sub(o.sub(o.load(f.at(f.get(px), idx())), f.get(h)), f.get(l)), f.get(i));
        return [o.store(f.at(f.get(py), idx()), o.add(o.mul(xh, o.load(f.at(f.get(pw), idx()))), o.load(f.at(f.get(pb), idx()))))];
      }),
      f.set(px, f.addk(f.get(px), D * 4)),
      f.set(py, f.addk(f.get(py), D * 4)),
    ]),
  ];
};
