// Kernels of the token / fusion ops (ir/ops/fusion.ts): transpose (strided lane gathers or row copies),
// mean over one axis (lane groups along the inner dims), gated_sum (fused gate + blend, f64 dot products).
// Weights are read at run time, so the same kernels serve training modules. Neighbours: module.ts, math.ts.

import { F64, type Expr, type FOps, type Local } from "../module.js";
import * as math from "../math.js";
import { prod, sampleDims, type Kernel } from "./context.js";
import { sumF64 } from "./train-util.js";
import { transposeAxes, transposeView } from "../../../ir/ops/fusion.js";

/**
 * transpose {dim0 < dim1}: input viewed as [A, D0, B, D1, C] (A includes the batch), output
 * [A, D1, B, D0, C]. Output order loops a, i1, b, then i0: with C = 1 the i0 run is one contiguous output
 * row gathered from input elements B*D1 apart (lane groups via loadStrided), otherwise each i0 copies a
 * contiguous run of C elements (memory.copy).
 */
export const transposeKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const x = node.inputs[0]!;
  const y = node.outputs[0]!;
  const xs = sampleDims(ctx, x);
  const [d0, d1] = transposeAxes(node.attrs, xs.length + 1);
  if (d0 === d1) return [f.copy(ctx.ptr(y), ctx.ptr(x), f.mulk(ctx.batch(), prod(xs) * 4))];
  const v = transposeView([1, ...xs], d0, d1);
  const { D0, B, D1, C } = v;
  const [a, i1, b, src, dst] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const inStride = B * D1 * C; // elements between consecutive i0 in the input
  let inner: Expr;
  if (C === 1) {
    inner = f.forLanes(() => f.i(D0), (o: FOps, idx) => [
      o.store(f.at(f.get(dst), idx()), f.loadStrided(o, () => f.add(f.get(src), f.mulk(idx(), inStride * 4)), inStride)),
    ]);
  } else {
    const i0 = f.local();
    inner = f.forRange(i0, f.i(0), f.i(D0), [
      f.copy(f.add(f.get(dst), f.mulk(f.get(i0), C * 4)), f.add(f.get(src), f.mulk(f.get(i0), inStride * 4)), f.i(C * 4)),
    ]);
  }
  return [
    f.set(dst, ctx.ptr(y)),
    f.forRange(a, f.i(0), f.mulk(ctx.batch(), v.A), [
      f.forRange(i1, f.i(0), f.i(D1), [
        f.forRange(b, f.i(0), f.i(B), [
          // src = x + ((a * D0 * B + b) * D1 + i1) * C elements
          f.set(src, f.add(ctx.ptr(x), f.mulk(f.add(f.add(f.mulk(f.get(a), D0 * B * D1 * C), f.mulk(f.get(b), D1 * C)), f.mulk(f.get(i1), C)), 4))),
          inner,
          f.set(dst, f.addk(f.get(dst), D0 * C * 4)),
        ]),
      ]),
    ]),
  ];
};

/**
 * mean {axis, keepdim}: input viewed as [A, K, C] (A includes the batch); per a, lane groups over c sum
 * the K rows in f32, then divide by K (PyTorch: sum, then divide).
 */
export const meanKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const x = node.inputs[0]!;
  const y = node.outputs[0]!;
  const xs = [1, ...sampleDims(ctx, x)];
  const axis = node.attrs["axis"] as number;
  const K = xs[axis]!;
  const Aper = prod(xs.slice(0, axis));
  const C = prod(xs.slice(axis + 1));
  const [a, px, py] = [f.local(), f.local(), f.local()];
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(y)),
    f.forRange(a, f.i(0), f.mulk(ctx.batch(), Aper), [
      f.forLanes(() => f.i(C), (o, idx) => {
        const acc = f.local(o.type);
        const k = f.local();
        return [
          f.set(acc, o.c(0)),
          f.forRange(k, f.i(0), f.i(K), [f.set(acc, o.add(f.get(acc), o.load(f.at(f.add(f.get(px), f.mulk(f.get(k), C * 4)), idx()))))]),
          o.store(f.at(f.get(py), idx()), o.div(f.get(acc), o.c(K))),
        ];
      }),
      f.set(px, f.addk(f.get(px), K * C * 4)),
      f.set(py, f.addk(f.get(py), C * 4)),
    ]),
  ];
};

/**
 * gated_sum(a, b, W [D, 2D], bias [D]) over rows of D (rows = batch * prod(middle dims)): per row and
 * output j, z = bias[j] + W[j, :D] . a + W[j, D:] . b (f64 lane-group dot products), g = sigmoid(z) in
 * f32, out = g a[j] + (1 - g) b[j]. Not in-place safe (each output reads the whole input rows).
 */
export const gatedSumKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [a, b, w, bias] = node.inputs as [string, string, string, string];
  const y = node.outputs[0]!;
  const as = sampleDims(ctx, a);
  const D = as[as.length - 1]!;
  const R = prod(as.slice(0, -1));
  const [pa, pb, py, pw, r, j] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const acc = f.local(F64);
  const [g, av, bv] = [f.local(f.s.type), f.local(f.s.type), f.local(f.s.type)];
  const s = f.s;
  const ld = (p: Local, off: () => Expr): Expr => s.load(f.at(f.get(p), off()));
  return [
    f.set(pa, ctx.ptr(a)),
    f.set(pb, ctx.ptr(b)),
    f.set(py, ctx.ptr(y)),
    f.forRange(r, f.i(0), f.mulk(ctx.batch(), R), [
      f.set(pw, ctx.ptr(w)),
      f.forRange(j, f.i(0), f.i(D), [
        f.set(acc, m.f64.promote(s.load(f.at(ctx.ptr(bias), f.get(j))))),
        ...sumF64(f, acc, () => f.i(D), [() => f.get(pw), () => f.get(pa)], (wd, [wv, xv]) => wd.mul(wv!(), xv!())),
        ...sumF64(f, acc, () => f.i(D), [() => f.addk(f.get(pw), D * 4), () => f.get(pb)], (wd, [wv, xv]) => wd.mul(wv!(), xv!())),
        f.set(g, math.sigmoid(f, s, m.f32.demote(f.get(acc)))),
        f.set(av, ld(pa, () => f.get(j))),
        f.set(bv, ld(pb, () => f.get(j))),
        s.store(f.at(f.get(py), f.get(j)), s.add(s.mul(f.get(g), f.get(av)), s.mul(s.sub(s.c(1), f.get(g)), f.get(bv)))),
        f.set(pw, f.addk(f.get(pw), 2 * D * 4)),
      ]),
      f.set(pa, f.addk(f.get(pa), D * 4)),
      f.set(pb, f.addk(f.get(pb), D * 4)),
      f.set(py, f.addk(f.get(py), D * 4)),
    ]),
  ];
};
