// Sliding windows over NCHW planes shared by pooling and depthwise conv: static geometry, interior
// columns, and the plane/row/column loops. Neighbours: kernels/pool.ts, kernels/depthwise.ts.

import type { Expr, Local } from "../module.js";
import { sampleDims, type KernelCtx } from "./context.js";

/** Static geometry of a sliding-window op over NCHW planes (pools, depthwise conv). */
export interface PoolGeom {
  C: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pad: [number, number, number, number];
  dh: number;
  dw: number;
}

/** Geometry from the node attrs (kernel, stride = kernel, padding [t, l, b, r], dilation) and shapes. */
export function geom(ctx: KernelCtx): PoolGeom {
  const { node } = ctx;
  const [C, H, W] = sampleDims(ctx, node.inputs[0]!) as [number, number, number];
  const [, Ho, Wo] = sampleDims(ctx, node.outputs[0]!) as [number, number, number];
  const [kh, kw] = node.attrs["kernel"] as [number, number];
  const [sh, sw] = (node.attrs["stride"] as [number, number] | undefined) ?? [kh, kw];
  const pad = (node.attrs["padding"] as [number, number, number, number] | undefined) ?? [0, 0, 0, 0];
  const [dh, dw] = (node.attrs["dilation"] as [number, number] | undefined) ?? [1, 1];
  return { C, H, W, Ho, Wo, kh, kw, sh, sw, pad, dh, dw };
}

/** Statements computing output pixel(s) at (oy, ox) of the plane at `xs` into `dst`. */
export type Pixel = (xs: Local, oy: Local, ox: Local, dst: Expr) => Expr[];

/**
 * Output columns whose whole window row is inside the image: [lo, hi) (static; empty when none).
 * Lane groups of 4 such columns need no column checks.
 */
function interiorCols(q: PoolGeom): [number, number] {
  const lo = Math.ceil(q.pad[1] / q.sw);
  const hi = Math.min(q.Wo, Math.floor((q.W - 1 - (q.kw - 1) * q.dw + q.pad[1]) / q.sw) + 1);
  return [lo, Math.max(lo, hi)];
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

