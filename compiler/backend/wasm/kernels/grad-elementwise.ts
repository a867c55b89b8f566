// Kernels of the elementwise/shape backward ops: relu/leaky_relu/sigmoid/tanh/gelu grads, softmax_grad,
// reduce_sum_to, channel_sum, slice. Neighbours: ir/ops/grad-elementwise.ts (float64 references),
// math.ts, kernels/train-util.ts; registered through kernels/train-index.ts.

import type { Expr, FOps, Fn, Local } from "../module.js";
import { F64 } from "../module.js";
import * as math from "../math.js";
import { prod, sampleDims, typeOf, type Kernel } from "./context.js";
import { countOf, le, sumF64 } from "./train-util.js";

type Pointwise = (f: Fn, o: FOps, v: () => Expr, g: () => Expr) => Expr;

/**
 * y[i] = fn(v[i], g[i]) over the whole tensor, lane groups then a scalar tail. Each element is read
 * before it is written, so the output may alias either input (in-place safe).
 */
function gradKernel(make: (attrs: Record<string, unknown>) => Pointwise): Kernel {
  return (ctx) => {
    const { f, node } = ctx;
    const fn = make(node.attrs);
    const [pv, pg, py, n] = [f.local(), f.local(), f.local(), f.local()];
    return [
      f.set(pv, ctx.ptr(node.inputs[0]!)),
      f.set(pg, ctx.ptr(node.inputs[1]!)),
      f.set(py, ctx.ptr(node.outputs[0]!)),
      f.set(n, countOf(ctx, node.inputs[0]!)),
      f.forLanes(() => f.get(n), (o, idx) => {
        const [v, g] = [f.local(o.type), f.local(o.type)];
        return [
          f.set(v, o.load(f.at(f.get(pv), idx()))),
          f.set(g, o.load(f.at(f.get(pg), idx()))),
          o.store(f.at(f.get(py), idx()), fn(f, o, () => f.get(v), () => f.get(g))),
        ];
      }),
    ];
  };
}

/** relu_grad(x, g): 0 where x <= 0 (also at exactly 0), else g; a NaN x passes g (PyTorch threshold_backward). */
export const reluGradKernel = gradKernel(() => (f, o, x, g) => o.select(le(f, o, x(), o.c(0)), o.c(0), g()));

/** leaky_relu_grad(x, g): g if x > 0 else alpha g (attrs.alpha; a NaN x takes alpha g, as the reference). */
export const leakyReluGradKernel = gradKernel((a) => {
  const alpha = a["alpha"] as number;
  return (_f, o, x, g) => o.select(o.gt(x(), o.c(0)), g(), o.mul(g(), o.c(alpha)));
});

/** sigmoid_grad(y, g) = g y (1 - y), y the forward output. */
export const sigmoidGradKernel = gradKernel(() => (_f, o, y, g) => o.mul(o.mul(g(), y()), o.sub(o.c(1), y())));

/** tanh_grad(y, g) = g (1 - y^2), y the forward output. */
export const tanhGradKernel = gradKernel(() => (_f, o, y, g) => o.mul(g(), o.sub(o.c(1), o.mul(y(), y()))));

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * gelu_grad(x, g), x the forward input. "none": g (Phi(x) + x phi(x)) with Phi = (1 + erf(x/sqrt 2))/2
 * (math.erf, abs error < 1e-7); "tanh": g (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)),
 * t = tanh(sqrt(2/pi) (x + 0.044715 x^3)) (math.tanh). PyTorch gelu_backward.
 */
export const geluGradKernel = gradKernel((a) => {
  const approx = (a["approximate"] as string | undefined) ?? "none";
  return (f, o, x, g) => {
    if (approx === "tanh") {
      const t = f.local(o.type);
      const x2 = o.mul(x(), x());
      const u = o.mul(o.c(SQRT_2_OVER_PI), o.add(x(), o.mul(o.c(0.044715), o.mul(x2, x()))));
      const du = o.mul(o.c(SQRT_2_OVER_PI), o.add(o.c(1), o.mul(o.c(3 * 0.044715), o.mul(x(), x()))));
      const d = o.add(o.mul(o.c(0.5), o.add(o.c(1), f.get(t))), o.mul(o.mul(o.mul(o.c(0.5), x()), o.sub(o.c(1), o.mul(f.get(t), f.get(t)))), du));
      return f.seq([f.set(t, math.tanh(f, o, u))], o.mul(g(), d), o.type);
    }
    const cdf = o.mul(o.c(0.5), o.add(o.c(1), math.erf(f, o, o.mul(x(), o.c(Math.SQRT1_2)))));
    const pdf = o.mul(o.c(INV_SQRT_2PI), math.exp(f, o, o.mul(o.mul(x(), x()), o.c(-0.5))));
    return o.mul(g(), o.add(cdf, o.mul(x(), pdf)));
  };
});

/**
 * softmax_grad(y, g) {axis}: out = y (g - sum_axis g y), y the forward output. Viewed as [outer, A, inner]:
 * contiguous rows (inner = 1) reduce with lane groups; otherwise lane groups run across `inner`.
 * The sum of a row is complete before its outputs are written (in-place safe).
 */
export const softmaxGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const axis = node.attrs["axis"] as number;
  const [y, g] = node.inputs as [string, string];
  const shape = typeOf(ctx, y).shape;
  const dims = sampleDims(ctx, y);
  // Axis index within the per-sample dims (dims drop the leading "N").
  const ax = shape[0] === "N" ? axis - 1 : axis;
  const A = dims[ax]!;
  const inner = prod(dims.slice(ax + 1));
  const outerPer = prod(dims.slice(0, ax));
  const rows = shape[0] === "N" ? f.mulk(ctx.batch(), outerPer) : f.i(outerPer);
  const [py, pg, po, r] = [f.local(), f.local(), f.local(), f.local()];
  const body: Expr[] = [];
  if (inner === 1) {
    const vs = f.local(f.v.type);
    const ss = f.local(f.s.type);
    const s = f.local(f.s.type);
    const simd = f.v.lanes > 1;
    body.push(
      f.set(vs, f.v.c(0)),
      f.set(ss, f.s.c(0)),
      f.forLanes(() => f.i(A), (o, idx) => {
        const acc = o.lanes === 1 ? ss : vs;
        return [f.set(acc, o.add(f.get(acc), o.mul(o.load(f.at(f.get(pg), idx())), o.load(f.at(f.get(py), idx())))))];
      }),
      f.set(s, simd ? f.s.add(f.v.hsum(() => f.get(vs)), f.get(ss)) : f.get(ss)),
      f.forLanes(() => f.i(A), (o, idx) => [
        o.store(
          f.at(f.get(po), idx()),
          o.mul(o.load(f.at(f.get(py), idx())), o.sub(o.load(f.at(f.get(pg), idx())), o.splat(f.get(s)))),
        ),
      ]),
    );
  } else {
    body.push(
      f.forLanes(() => f.i(inner), (o, j) => {
        const [a, s] = [f.local(), f.local(o.type)];
        const at = (base: Local): Expr => f.add(f.at(f.get(base), j()), f.mulk(f.get(a), inner * 4));
        return [
          f.set(s, o.c(0)),
          f.forRange(a, f.i(0), f.i(A), [f.set(s, o.add(f.get(s), o.mul(o.load(at(pg)), o.load(at(py)))))]),
          f.forRange(a, f.i(0), f.i(A), [o.store(at(po), o.mul(o.load(at(py)), o.sub(o.load(at(pg)), f.get(s))))]),
        ];
      }),
    );
  }
  return [
    f.set(py, ctx.ptr(y)),
    f.set(pg, ctx.ptr(g)),
    f.set(po, ctx.ptr(node.outputs[0]!)),
    f.forRange(r, f.i(0), rows, [
      ...body,
      f.set(py, f.addk(f.get(py), A * inner * 4)),
      f.set(pg, f.addk(f.get(pg), A * inner * 4)),
      f.set(po, f.addk(f.get(po), A * inner * 4)),
    ]),
  ];
};

/**
 * channel_sum(g) {axis}: out[c] = sum of g over every axis but `axis`. Viewed as [outer, C, inner]:
 * inner = 1 (dense bias) adds rows into out with lane groups (f32, row order); otherwise each channel
 * sums its planes with f64 accumulation (plane order). Deterministic.
 */
export const channelSumKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const gid = node.inputs[0]!;
  const axis = node.attrs["axis"] as number;
  const shape = typeOf(ctx, gid).shape;
  const dims = sampleDims(ctx, gid);
  const ax = shape[0] === "N" ? axis - 1 : axis;
  const C = dims[ax]!;
  const inner = prod(dims.slice(ax + 1));
  const outerPer = prod(dims.slice(0, ax));
  const outer = shape[0] === "N" ? f.mulk(ctx.batch(), outerPer) : f.i(outerPer);
  const [pg, po, r, c, pp] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  if (inner === 1)
    return [
      f.set(pg, ctx.ptr(gid)),
      f.set(po, ctx.ptr(node.outputs[0]!)),
      f.zero(f.get(po), f.i(C * 4)),
      f.forRange(r, f.i(0), outer, [
        f.forLanes(() => f.i(C), (o, idx) => [
          o.store(f.at(f.get(po), idx()), o.add(o.load(f.at(f.get(po), idx())), o.load(f.at(f.get(pg), idx())))),
        ]),
        f.set(pg, f.addk(f.get(pg), C * 4)),
      ]),
    ];
  const acc = f.local(F64);
  return [
    f.set(po, ctx.ptr(node.outputs[0]!)),
    f.forRange(c, f.i(0), f.i(C), [
      f.set(acc, f.m.f64.const(0)),
      f.set(pp, f.add(ctx.ptr(gid), f.mulk(f.get(c), inner * 4))),
      f.forRange(r, f.i(0), outer, [
        ...sumF64(f, acc, () => f.i(inner), [() => f.get(pp)], (_w, [x]) => x!()),
        f.set(pp, f.addk(f.get(pp), C * inner * 4)),
      ]),
      f.s.store(f.at(f.get(po), f.get(c)), f.m.f32.demote(f.get(acc))),
    ]),
  ];
};

/** One axis of reduce_sum_to: size ("N" = batch), element strides in g and out (0 = summed). */
interface RDim {
  size: number | "N";
  gs: number;
  os: number;
}

/**
 * reduce_sum_to(g) {shape}: sums g over its extra leading axes and the axes where `shape` has 1 (the
 * inverse of broadcasting). Size-1 axes are dropped and contiguous runs merged; the innermost run is
 * either kept (lane-group adds into out) or summed (lane-group sum, then one add). f32 accumulation
 * in g's row-major order after zeroing the output. Deterministic.
 */
export const reduceSumToKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const gid = node.inputs[0]!;
  const gshape = typeOf(ctx, gid).shape;
  const oshape = typeOf(ctx, node.outputs[0]!).shape;
  const off = gshape.length - oshape.length;
  const stridesOf = (s: readonly (number | "N")[]): number[] => {
    const out = new Array<number>(s.length).fill(0);
    let st = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      out[d] = st;
      if (s[d] !== "N") st *= s[d] as number;
    }
    return out;
  };
  const gst = stridesOf(gshape);
  const ost = stridesOf(oshape);
  let dims: RDim[] = [];
  gshape.forEach((d, i) => {
    if (d === 1) return;
    const kept = i >= off && oshape[i - off] === d;
    dims.push({ size: d, gs: gst[i]!, os: kept ? ost[i - off]! : 0 });
  });
  // Merge an axis into the previous one when both strides continue contiguously.
  const merged: RDim[] = [];
  for (const d of dims) {
    const p = merged[merged.length - 1];
    if (p && p.size !== "N" && d.size !== "N" && p.gs === d.gs * d.size && p.os === d.os * d.size) {
      merged[merged.length - 1] = { size: p.size * d.size, gs: d.gs, os: d.os };
    } else merged.push({ ...d });
  }
  dims = merged;
  const ocount = ctx.f.local();
  const leafDim = dims.length > 0 && dims[dims.length - 1]!.size !== "N" ? dims[dims.length - 1]! : undefined;
  const outer = leafDim ? dims.slice(0, -1) : dims;
  const inner = leafDim ? (leafDim.size as number) : 1;
  const keptLeaf = leafDim ? leafDim.os !== 0 : true;
  const leaf = (pg: Local, po: Local): Expr => {
    if (keptLeaf)
      return f.forLanes(() => f.i(inner), (o, idx) => [
        o.store(f.at(f.get(po), idx()), o.add(o.load(f.at(f.get(po), idx())), o.load(f.at(f.get(pg), idx())))),
      ]);
    const vs = f.local(f.v.type);
    const ss = f.local(f.s.type);
    return f.block([
      f.set(vs, f.v.c(0)),
      f.set(ss, f.s.c(0)),
      f.forLanes(() => f.i(inner), (o, idx) => {
        const acc = o.lanes === 1 ? ss : vs;
        return [f.set(acc, o.add(f.get(acc), o.load(f.at(f.get(pg), idx()))))];
      }),
      f.s.store(f.get(po), f.s.add(f.s.load(f.get(po)), f.v.lanes > 1 ? f.s.add(f.v.hsum(() => f.get(vs)), f.get(ss)) : f.get(ss))),
    ]);
  };
  const gen = (level: number, pg: Local, po: Local): Expr => {
    if (level === outer.length) return leaf(pg, po);
    const d = outer[level]!;
    const [lg, lo, k] = [f.local(), f.local(), f.local()];
    return f.block([
      f.set(lg, f.get(pg)),
      f.set(lo, f.get(po)),
      f.forRange(k, f.i(0), d.size === "N" ? ctx.batch() : f.i(d.size), [
        gen(level + 1, lg, lo),
        f.set(lg, f.addk(f.get(lg), d.gs * 4)),
        f.set(lo, f.addk(f.get(lo), d.os * 4)),
      ]),
    ]);
  };
  const [pg, po] = [f.local(), f.local()];
  return [
    f.set(pg, ctx.ptr(gid)),
    f.set(po, ctx.ptr(node.outputs[0]!)),
    f.set(ocount, countOf(ctx, node.outputs[0]!)),
    f.zero(f.get(po), f.mulk(f.get(ocount), 4)),
    gen(0, pg, po),
  ];
};

/**
 * slice(x) {axis, start, end}: x[..., start:end, ...] along axis >= 1, as one memory.copy per outer
 * row (dtype-agnostic: f32 or i32).
 */
export const sliceKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const xid = node.inputs[0]!;
  const [axis, start, end] = [node.attrs["axis"] as number, node.attrs["start"] as number, node.attrs["end"] as number];
  const shape = typeOf(ctx, xid).shape;
  const dims = sampleDims(ctx, xid);
  const ax = shape[0] === "N" ? axis - 1 : axis;
  const n = dims[ax]!;
  const inner = prod(dims.slice(ax + 1));
  const outerPer = prod(dims.slice(0, ax));
  const outer = shape[0] === "N" ? f.mulk(ctx.batch(), outerPer) : f.i(outerPer);
  const w = end - start;
  const [px, py, r] = [f.local(), f.local(), f.local()];
  return [
    f.set(px, f.addk(ctx.ptr(xid), start * inner * 4)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.forRange(r, f.i(0), outer, [
      f.copy(f.get(py), f.get(px), f.i(w * inner * 4)),
      f.set(px, f.addk(f.get(px), n * inner * 4)),
      f.set(py, f.addk(f.get(py), w * inner * 4)),
    ]),
  ];
};
