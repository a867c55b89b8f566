// softmax along any non-batch axis, max-subtracted (stable): y = e^(x - max) / sum e^(x - max).
// Tensor viewed as [outer, A, inner]; contiguous rows (inner = 1) reduce with lane groups, otherwise
// lane groups run across `inner`. Neighbours: math.ts (exp), module.ts.

import type { Expr, FOps, Local } from "../module.js";
import { exp } from "../math.js";
import { prod, sampleDims, type Kernel } from "./context.js";

/** Kernel for `softmax` (attrs.axis >= 1; PyTorch nn.Softmax(dim=axis)). */
export const softmaxKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const axis = node.attrs["axis"] as number;
  const xd = sampleDims(ctx, node.inputs[0]!);
  const A = xd[axis - 1]!;
  const inner = prod(xd.slice(axis));
  const outerPerSample = prod(xd.slice(0, axis - 1));
  const [px, py, r] = [f.local(), f.local(), f.local()];
  const NEG_INF = -Infinity;
  const body: Expr[] = [];

  if (inner === 1) {
    const vm = f.local(f.v.type);
    const sm = f.local(f.s.type);
    const vs = f.local(f.v.type);
    const ss = f.local(f.s.type);
    const mx = f.local(f.s.type);
    const inv = f.local(f.s.type);
    const pick = (o: FOps, v: Local, s: Local): Local => (o.lanes === 1 ? s : v);
    const simd = f.v.lanes > 1;
    body.push(
      f.set(vm, f.v.c(NEG_INF)),
      f.set(sm, f.s.c(NEG_INF)),
      f.forLanes(() => f.i(A), (o, idx) => {
        const acc = pick(o, vm, sm);
        return [f.set(acc, o.max(f.get(acc), o.load(f.at(f.get(px), idx()))))];
      }),
      f.set(mx, simd ? f.s.max(f.v.hmax(() => f.get(vm)), f.get(sm)) : f.get(sm)),
      f.set(vs, f.v.c(0)),
      f.set(ss, f.s.c(0)),
      f.forLanes(() => f.i(A), (o, idx) => {
        const acc = pick(o, vs, ss);
        const e = f.local(o.type);
        return [
          f.set(e, exp(f, o, o.sub(o.load(f.at(f.get(px), idx())), o.splat(f.get(mx))))),
          o.store(f.at(f.get(py), idx()), f.get(e)),
          f.set(acc, o.add(f.get(acc), f.get(e))),
        ];
      }),
      f.set(inv, f.s.div(f.s.c(1), simd ? f.s.add(f.v.hsum(() => f.get(vs)), f.get(ss)) : f.get(ss))),
      f.forLanes(() => f.i(A), (o, idx) => [o.store(f.at(f.get(py), idx()), o.mul(o.load(f.at(f.get(py), idx())), o.splat(f.get(inv))))]),
    );
  } else {
    body.push(
      f.forLanes(() => f.i(inner), (o, j) => {
        const [a, m, s] = [f.local(), f.local(o.type), f.local(o.type)];
        const px0 = f.local();
        const py0 = f.local();
        const e = f.local(o.type);
        return [
          f.set(px0, f.at(f.get(px), j())),
          f.set(py0, f.at(f.get(py), j())),
          f.set(m, o.c(NEG_INF)),
          f.forRange(a, f.i(0), f.i(A), [f.set(m, o.max(f.get(m), o.load(f.add(f.get(px0), f.mulk(f.get(a), inner * 4)))))]),
          f.set(s, o.c(0)),
          f.forRange(a, f.i(0), f.i(A), [
            f.set(e, exp(f, o, o.sub(o.load(f.add(f.get(px0), f.mulk(f.get(a), inner * 4))), f.get(m)))),
            o.store(f.add(f.get(py0), f.mulk(f.get(a), inner * 4)), f.get(e)),
            f.set(s, o.add(f.get(s), f.get(e))),
          ]),
          f.set(s, o.div(o.c(1), f.get(s))),
          f.forRange(a, f.i(0), f.i(A), [
            o.store(f.add(f.get(py0), f.mulk(f.get(a), inner * 4)), o.mul(o.load(f.add(f.get(py0), f.mulk(f.get(a), inner * 4))), f.get(s))),
          ]),
        ];
      }),
    );
  }
  return [
    f.set(px, ctx.ptr(node.inputs[0]!)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.forRange(r, f.i(0), f.mulk(ctx.batch(), outerPerSample), [
      ...body,
      f.set(px, f.addk(f.get(px), A * inner * 4)),
      f.set(py, f.addk(f.get(py), A * inner * 4)),
    ]),
  ];
};
