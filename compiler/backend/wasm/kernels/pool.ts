// Pooling over NCHW planes: maxpool2d (dilation, -inf padding), avgpool2d (PyTorch ceil_mode window
// clipping and count_include_pad), global_avgpool2d (lane-group sum). Neighbours: module.ts, context.ts.

import type { Expr, Local } from "../module.js";
import { sampleDims, type Kernel } from "./context.js";
import { geom, planeLoops, type Pixel } from "./window.js";

/**
 * maxpool2d (PyTorch nn.MaxPool2d): max over the dilated window; padded taps are skipped (-inf).
 * On SIMD modules interior output columns are computed 4 at a time (strided tap loads).
 */
export const maxpoolKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const q = geom(ctx);
  const [ky, kx, iy, ix, row] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const acc = f.local(f.s.type);
  const vacc = f.local(f.v.type);
  const rowOf = (xs: Local, oy: Local): Expr[] => [
    f.set(iy, f.add(f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pad[0])), f.mulk(f.get(ky), q.dh))),
  ];
  const setRow = (xs: Local): Expr => f.set(row, f.add(f.get(xs), f.mulk(f.get(iy), q.W * 4)));
  const colOf = (ox: Local): Expr =>
    f.set(ix, f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pad[1])), f.mulk(f.get(kx), q.dw)));
  const scalar: Pixel = (xs, oy, ox, dst) => [
    f.set(acc, f.s.c(-Infinity)),
    f.forRange(ky, f.i(0), f.i(q.kh), [
      ...rowOf(xs, oy),
      f.if(f.inRange(f.get(iy), q.H), [
        setRow(xs),
        f.forRange(kx, f.i(0), f.i(q.kw), [
          colOf(ox),
          f.if(f.inRange(f.get(ix), q.W), [f.set(acc, f.s.max(f.get(acc), f.s.load(f.at(f.get(row), f.get(ix)))))]),
        ]),
      ]),
    ]),
    f.s.store(dst, f.get(acc)),
  ];
  // Interior columns: 4 outputs at once, taps loaded with the column stride, no column checks.
  const vector: Pixel = (xs, oy, ox, dst) => [
    f.set(vacc, f.v.c(-Infinity)),
    f.forRange(ky, f.i(0), f.i(q.kh), [
      ...rowOf(xs, oy),
      f.if(f.inRange(f.get(iy), q.H), [
        setRow(xs),
        f.forRange(kx, f.i(0), f.i(q.kw), [
          colOf(ox),
          f.set(vacc, f.v.max(f.get(vacc), f.loadStrided(f.v, () => f.at(f.get(row), f.get(ix)), q.sw))),
        ]),
      ]),
    ]),
    f.v.store(dst, f.get(vacc)),
  ];
  return planeLoops(ctx, q, scalar, vector);
};

/**
 * avgpool2d (PyTorch nn.AvgPool2d): window [hs, he) with he = min(hs + kh, H + pad_bottom) (the
 * ceil_mode clipping rule), divisor = its size when count_include_pad, else the in-image count.
 * On SIMD modules interior output columns are computed 4 at a time (strided tap loads).
 */
export const avgpoolKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const q = geom(ctx);
  const include = (ctx.node.attrs["count_include_pad"] as boolean | undefined) ?? true;
  const [hs, he, ws, we, div, iy, ix, row] = Array.from({ length: 8 }, () => f.local());
  const acc = f.local(f.s.type);
  const vacc = f.local(f.v.type);
  const kx = f.local();
  // Interior columns: the horizontal window is whole (kw taps) in both counting modes.
  const vector: Pixel = (xs, oy, ox, dst) => [
    f.set(hs, f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pad[0]))),
    f.set(he, f.minS(() => f.addk(f.get(hs), q.kh), () => f.i(q.H + (q.pad[2] ?? q.pad[0])))),
    f.set(div, f.sub(f.get(he), f.get(hs))),
    f.set(hs, f.maxS(() => f.get(hs), () => f.i(0))),
    f.set(he, f.minS(() => f.get(he), () => f.i(q.H))),
    ...(include ? [] : [f.set(div, f.sub(f.get(he), f.get(hs)))]),
    f.set(div, f.maxS(() => f.mulk(f.get(div), q.kw), () => f.i(1))),
    f.set(vacc, f.v.c(0)),
    f.forRange(iy, f.get(hs), f.get(he), [
      f.set(row, f.add(f.get(xs), f.mulk(f.get(iy), q.W * 4))),
      f.forRange(kx, f.i(0), f.i(q.kw), [
        f.set(ix, f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pad[1])), f.get(kx))),
        f.set(vacc, f.v.add(f.get(vacc), f.loadStrided(f.v, () => f.at(f.get(row), f.get(ix)), q.sw))),
      ]),
    ]),
    f.v.store(dst, f.v.div(f.get(vacc), f.v.splat(f.m.f32.convert_s.i32(f.get(div))))),
  ];
  const scalar: Pixel = (xs, oy, ox, dst) => [
    f.set(hs, f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pad[0]))),
    f.set(ws, f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pad[1]))),
    f.set(he, f.minS(() => f.addk(f.get(hs), q.kh), () => f.i(q.H + (q.pad[2] ?? q.pad[0])))),
    f.set(we, f.minS(() => f.addk(f.get(ws), q.kw), () => f.i(q.W + (q.pad[3] ?? q.pad[1])))),
    f.set(div, f.mul(f.sub(f.get(he), f.get(hs)), f.sub(f.get(we), f.get(ws)))),
    f.set(hs, f.maxS(() => f.get(hs), () => f.i(0))),
    f.set(ws, f.maxS(() => f.get(ws), () => f.i(0))),
    f.set(he, f.minS(() => f.get(he), () => f.i(q.H))),
    f.set(we, f.minS(() => f.get(we), () => f.i(q.W))),
    ...(include ? [] : [f.set(div, f.mul(f.sub(f.get(he), f.get(hs)), f.sub(f.get(we), f.get(ws))))]),
    f.set(acc, f.s.c(0)),
    f.forRange(iy, f.get(hs), f.get(he), [
      f.set(row, f.add(f.get(xs), f.mulk(f.get(iy), q.W * 4))),
      f.forRange(ix, f.get(ws), f.get(we), [f.set(acc, f.s.add(f.get(acc), f.s.load(f.at(f.get(row), f.get(ix)))))]),
    ]),
    // An empty window (impossible with PyTorch's pad <= kernel/2) gives 0, as the reference does.
    f.s.store(dst, f.m.select(f.m.i32.gt_s(f.get(div), f.i(0)), f.s.div(f.get(acc), f.m.f32.convert_s.i32(f.get(div))), f.s.c(0))),
  ];
  return planeLoops(ctx, q, scalar, vector);
};

/** global_avgpool2d (ONNX GlobalAveragePool): mean over each H*W plane, lane-group sums. */
export const globalAvgpoolKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const [C, H, W] = sampleDims(ctx, ctx.node.inputs[0]!) as [number, number, number];
  const [p, xs, ys] = [f.local(), f.local(), f.local()];
  const vs = f.local(f.v.type);
  const ss = f.local(f.s.type);
  const simd = f.v.lanes > 1;
  return [
    f.set(xs, ctx.ptr(ctx.node.inputs[0]!)),
    f.set(ys, ctx.ptr(ctx.node.outputs[0]!)),
    f.forRange(p, f.i(0), f.mulk(ctx.batch(), C), [
      f.set(vs, f.v.c(0)),
      f.set(ss, f.s.c(0)),
      f.forLanes(() => f.i(H * W), (o, idx) => {
        const acc = o.lanes === 1 ? ss : vs;
        return [f.set(acc, o.add(f.get(acc), o.load(f.at(f.get(xs), idx()))))];
      }),
      f.s.store(
        f.at(f.get(ys), f.get(p)),
        f.s.mul(simd ? f.s.add(f.v.hsum(() => f.get(vs)), f.get(ss)) : f.get(ss), f.s.c(1 / (H * W))),
      ),
      f.set(xs, f.addk(f.get(xs), H * W * 4)),
    ]),
  ];
};
