// Direct depthwise conv2d (groups = C = O): one kh x kw filter per plane, no im2col. Interior output
// columns 4 at a time on SIMD (strided tap loads, weight splat). Neighbours: kernels/window.ts, conv.ts.

import type { Expr, Local } from "../module.js";
import type { Kernel } from "./context.js";
import { geom, planeLoops, type Pixel } from "./window.js";

/**
 * Kernel for conv2d with groups == in_channels == out_channels (see plan.ts isDepthwise): inputs
 * [x [N, C, H, W], weight [C, 1, kh, kw], bias? [C]]; stride, dilation, asymmetric padding (zeros).
 */
export const depthwiseKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const q = geom(ctx);
  const [, w, b] = node.inputs as [string, string, string | undefined];
  const [pw, pwc, pbias, bias, ky, kx, iy, ix, row, tap] = Array.from({ length: 10 }, () => f.local());
  const bval = f.local(f.s.type);
  const acc = f.local(f.s.type);
  const vacc = f.local(f.v.type);
  const perPlane = (p: Local): Expr[] => {
    const c = (): Expr => f.m.i32.rem_u(f.get(p), f.i(q.C));
    return [
      f.set(pwc, f.add(f.get(pw), f.mulk(c(), q.kh * q.kw * 4))),
      f.set(bval, b ? f.s.load(f.at(f.get(pbias), c())) : f.s.c(0)),
    ];
  };
  const rowStart = (oy: Local): Expr =>
    f.set(iy, f.add(f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pad[0])), f.mulk(f.get(ky), q.dh)));
  const colStart = (ox: Local): Expr =>
    f.set(ix, f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pad[1])), f.mulk(f.get(kx), q.dw)));
  const tapPtr = (): Expr => f.at(f.get(pwc), f.add(f.mulk(f.get(ky), q.kw), f.get(kx)));
  const scalar: Pixel = (xs, oy, ox, dst) => [
    f.set(acc, f.get(bval)),
    f.forRange(ky, f.i(0), f.i(q.kh), [
      rowStart(oy),
      f.if(f.inRange(f.get(iy), q.H), [
        f.set(row, f.add(f.get(xs), f.mulk(f.get(iy), q.W * 4))),
        f.forRange(kx, f.i(0), f.i(q.kw), [
          colStart(ox),
          f.if(f.inRange(f.get(ix), q.W), [
            f.set(acc, f.s.add(f.get(acc), f.s.mul(f.s.load(tapPtr()), f.s.load(f.at(f.get(row), f.get(ix)))))),
          ]),
        ]),
      ]),
    ]),
    f.s.store(dst, f.get(acc)),
  ];
  const vector: Pixel = (xs, oy, ox, dst) => [
    f.set(vacc, f.v.splat(f.get(bval))),
    f.forRange(ky, f.i(0), f.i(q.kh), [
      rowStart(oy),
      f.if(f.inRange(f.get(iy), q.H), [
        f.set(row, f.add(f.get(xs), f.mulk(f.get(iy), q.W * 4))),
        f.forRange(kx, f.i(0), f.i(q.kw), [
          colStart(ox),
          f.set(tap, tapPtr()),
          f.set(
            vacc,
            f.v.add(f.get(vacc), f.v.mul(f.v.splat(f.s.load(f.get(tap))), f.loadStrided(f.v, () => f.at(f.get(row), f.get(ix)), q.sw))),
          ),
        ]),
      ]),
    ]),
    f.v.store(dst, f.get(vacc)),
  ];
  return [
    f.set(pw, ctx.ptr(w)),
    f.set(pbias, b ? ctx.ptr(b) : f.i(0)),
    ...planeLoops(ctx, q, scalar, vector, perPlane),
  ];
};
