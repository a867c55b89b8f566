// Sliding windows over NCHW planes shared by pooling, depthwise conv and their gradients: static
// geometry (also used by conv.ts / grad-linear.ts), interior columns, stride-1 column runs, and the
// plane/row/column loops. Neighbours: kernels/pool.ts, kernels/depthwise.ts, grad-pool.ts, conv.ts.

import type { Expr, Fn, Local } from "../module.js";
import type { Attrs } from "../../../ir/types.js";
import { sampleDims, type KernelCtx } from "./context.js";

/** Window attrs: kernel, stride, top/left padding, dilation. */
export interface WindowAttrs {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  dh: number;
  dw: number;
}

/** Static geometry of a window op: input planes [C, H, W], output planes [Ho, Wo], window attrs. */
export interface WindowGeom extends WindowAttrs {
  C: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
}

/** Static geometry of a sliding-window op over NCHW planes (pools, depthwise conv), with all 4 pads. */
export interface PoolGeom extends WindowGeom {
  pad: [number, number, number, number];
}

/**
 * Window attrs of a node: kernel, stride (default = kernel), padding [t, l, b, r] (default 0),
 * dilation (default 1).
 */
export function windowAttrs(a: Attrs): WindowAttrs {
  const [kh, kw] = a["kernel"] as [number, number];
  const [sh, sw] = (a["stride"] as [number, number] | undefined) ?? [kh, kw];
  const [pt, pl] = (a["padding"] as [number, number, number, number] | undefined) ?? [0, 0, 0, 0];
  const [dh, dw] = (a["dilation"] as [number, number] | undefined) ?? [1, 1];
  return { kh, kw, sh, sw, pt, pl, dh, dw };
}

/** Geometry from the node attrs (windowAttrs) and shapes. */
export function geom(ctx: KernelCtx): PoolGeom {
  const { node } = ctx;
  const [C, H, W] = sampleDims(ctx, node.inputs[0]!) as [number, number, number];
  const [, Ho, Wo] = sampleDims(ctx, node.outputs[0]!) as [number, number, number];
  const pad = (node.attrs["padding"] as [number, number, number, number] | undefined) ?? [0, 0, 0, 0];
  return { C, H, W, Ho, Wo, ...windowAttrs(node.attrs), pad };
}

/** Statements computing output pixel(s) at (oy, ox) of the plane at `xs` into `dst`. */
export type Pixel = (xs: Local, oy: Local, ox: Local, dst: Expr) => Expr[];

/**
 * Output columns whose whole window row is inside the image: [lo, hi) (static; empty when none).
 * Lane groups of 4 such columns need no column checks.
 */
export function interiorCols(q: WindowGeom): [number, number] {
  const lo = Math.ceil(q.pl / q.sw);
  const hi = Math.min(q.Wo, Math.floor((q.W - 1 - (q.kw - 1) * q.dw + q.pl) / q.sw) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Stride-1 columns: sets `lo` / `hi` to the output columns [lo, hi) whose tap ox - pl + kx*dw is
 * inside the image (clamped to [0, Wo], hi >= lo), for the window column in `kx`.
 */
export function stride1Cols(f: Fn, q: WindowGeom, kx: Local, lo: Local, hi: Local): Expr[] {
  const clamp = (v: () => Expr, a: () => Expr, b: () => Expr): Expr => f.minS(() => f.maxS(v, a), b);
  return [
    f.set(lo, clamp(() => f.sub(f.i(q.pl), f.mulk(f.get(kx), q.dw)), () => f.i(0), () => f.i(q.Wo))),
    f.set(hi, clamp(() => f.sub(f.i(q.W + q.pl), f.mulk(f.get(kx), q.dw)), () => f.get(lo), () => f.i(q.Wo))),
  ];
}

/**
 * Loop over planes (batch * C) and output pixels; `pixel` returns the statements for one (oy, ox)
 * with full bounds checks. With `vec` (SIMD modules), interior columns go 4 at a time through it.
 * `perPlane(p)` runs first for each plane p (p = n * C + c).
 */
export function planeLoops(ctx: KernelCtx, q: PoolGeom, pixel: Pixel, vec?: Pixel, perPlane?: (p: Local) => Expr[]): Expr[] {
  const f = ctx.f;
  const [p, xs, ys, oy, ox] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const dst = (): Expr => f.at(f.get(ys), f.add(f.mulk(f.get(oy), q.Wo), f.get(ox)));
  const [lo, hi] = interiorCols(q);
  const cols =
    vec && f.v.lanes === 4 && hi - lo >= 4
      ? [
          f.forRange(ox, f.i(0), f.i(lo), pixel(xs, oy, ox, dst())),
          f.forRange(ox, null, f.i(hi), vec(xs, oy, ox, dst()), 4),
          f.forRange(ox, null, f.i(q.Wo), pixel(xs, oy, ox, dst())),
        ]
      : [f.forRange(ox, f.i(0), f.i(q.Wo), pixel(xs, oy, ox, dst()))];
  return [
    f.set(xs, ctx.ptr(ctx.node.inputs[0]!)),
    f.set(ys, ctx.ptr(ctx.node.outputs[0]!)),
    f.forRange(p, f.i(0), f.mulk(ctx.batch(), q.C), [
      ...(perPlane ? perPlane(p) : []),
      f.forRange(oy, f.i(0), f.i(q.Ho), cols),
      f.set(xs, f.addk(f.get(xs), q.H * q.W * 4)),
      f.set(ys, f.addk(f.get(ys), q.Ho * q.Wo * 4)),
    ]),
  ];
}

