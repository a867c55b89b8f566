// Pooling backward kernels: maxpool2d_grad (gradient to the window's first argmax, a NaN wins, as
// PyTorch CPU) and avgpool2d_grad (g / forward divisor spread over the clipped window). Per NCHW plane:
// zero dx, then scatter-add in output order (deterministic). Neighbours: ir/ops/grad-pool.ts (references),
// window.ts (geometry).

import type { Expr, Local } from "../module.js";
import { sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { interiorCols, windowAttrs, type WindowGeom } from "./window.js";

/** Static pooling geometry of a *_grad node: dx planes [C, H, W], g planes [Ho, Wo], window attrs. */
function poolGeom(ctx: KernelCtx, gid: string): WindowGeom {
  const [C, Ho, Wo] = sampleDims(ctx, gid) as [number, number, number];
  const [, H, W] = sampleDims(ctx, ctx.node.outputs[0]!) as [number, number, number];
  return { C, H, W, Ho, Wo, ...windowAttrs(ctx.node.attrs) };
}

/**
 * Loop over the batch*C planes: `xs` / `gs` / `ds` hold the plane bases of the first input (x, or g
 * for avgpool), g and dx; dx is zeroed, then `pixel(oy, ox)` runs for every output pixel.
 */
function planeLoop(
  ctx: KernelCtx,
  q: WindowGeom,
  xId: string,
  gId: string,
  pixel: (xs: Local, gs: Local, ds: Local, oy: Local, ox: Local) => Expr[],
  vec?: (xs: Local, gs: Local, ds: Local, oy: Local, ox: Local) => Expr[],
): Expr[] {
  const f = ctx.f;
  const [p, xs, gs, ds, oy, ox] = Array.from({ length: 6 }, () => f.local());
  // Interior output columns (whole window row inside the image), 4 at a time on SIMD modules.
  const [lo, hi] = interiorCols(q);
  const cols =
    vec && f.v.lanes === 4 && hi - lo >= 4
      ? [
          f.forRange(ox, f.i(0), f.i(lo), pixel(xs, gs, ds, oy, ox)),
          f.forRange(ox, null, f.i(hi), vec(xs, gs, ds, oy, ox), 4),
          f.forRange(ox, null, f.i(q.Wo), pixel(xs, gs, ds, oy, ox)),
        ]
      : [f.forRange(ox, f.i(0), f.i(q.Wo), pixel(xs, gs, ds, oy, ox))];
  return [
    f.set(xs, ctx.ptr(xId)),
    f.set(gs, ctx.ptr(gId)),
    f.set(ds, ctx.ptr(ctx.node.outputs[0]!)),
    f.forRange(p, f.i(0), f.mulk(ctx.batch(), q.C), [
      f.zero(f.get(ds), f.i(q.H * q.W * 4)),
      f.forRange(oy, f.i(0), f.i(q.Ho), cols),
      f.set(xs, f.addk(f.get(xs), q.H * q.W * 4)),
      f.set(gs, f.addk(f.get(gs), q.Ho * q.Wo * 4)),
      f.set(ds, f.addk(f.get(ds), q.H * q.W * 4)),
    ]),
  ];
}

/**
 * maxpool2d_grad(x [N, C, H, W], g [N, C, Ho, Wo]) {kernel, stride, padding, dilation, ceil_mode}:
 * per output pixel, the argmax over the in-image taps in row-major window order, updated when
 * `none yet || v > max || v is NaN` (first maximum on ties; a NaN takes it, the last NaN wins, exactly
 * as the reference); dx[argmax] += g.
 */
export const maxpoolGradKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const m = f.m;
  const [x, g] = ctx.node.inputs as [string, string];
  const q = poolGeom(ctx, g);
  const [ky, kx, iy, ix, at, k] = Array.from({ length: 6 }, () => f.local());
  const [mx, v] = [f.local(f.s.type), f.local(f.s.type)];
  const [vm, vv, vat, vk, mask] = [f.local(f.v.type), f.local(f.v.type), f.local(f.v.type), f.local(f.v.type), f.local(f.v.type)];
  const lanesOff = Array.from({ length: 16 }, (_, b) => ((Math.floor(b / 4) * q.sw) >> (8 * (b % 4))) & 0xff);
  // 4 interior outputs at once: per lane the same argmax rule (tap index vector `vat`), then the
  // 4 scatter-adds in lane (= output) order, exactly as the scalar path would do them.
  const vector = (xs: Local, gs: Local, ds: Local, oy: Local, ox: Local): Expr[] => [
    f.set(vat, m.i32x4.splat(f.i(-1))),
    f.set(vm, f.v.c(-Infinity)),
    f.forRange(ky, f.i(0), f.i(q.kh), [
      f.set(iy, f.add(f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pt)), f.mulk(f.get(ky), q.dh))),
      f.if(f.inRange(f.get(iy), q.H), [
        f.forRange(kx, f.i(0), f.i(q.kw), [
          f.set(k, f.add(f.mulk(f.get(iy), q.W), f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pl)), f.mulk(f.get(kx), q.dw)))),
          f.set(vv, f.loadStrided(f.v, () => f.at(f.get(xs), f.get(k)), q.sw)),
          f.set(vk, m.i32x4.add(m.i32x4.splat(f.get(k)), m.v128.const(lanesOff))),
          f.set(
            mask,
            m.v128.or(m.v128.or(m.i32x4.lt_s(f.get(vat), m.i32x4.splat(f.i(0))), m.f32x4.gt(f.get(vv), f.get(vm))), m.f32x4.ne(f.get(vv), f.get(vv))),
          ),
          f.set(vat, m.v128.bitselect(f.get(vk), f.get(vat), f.get(mask))),
          f.set(vm, m.v128.bitselect(f.get(vv), f.get(vm), f.get(mask))),
        ]),
      ]),
    ]),
    ...[0, 1, 2, 3].flatMap((l) => [
      f.set(at, m.i32x4.extract_lane(f.get(vat), l as unknown as Expr)),
      f.if(f.geS(f.get(at), f.i(0)), [
        f.s.store(
          f.at(f.get(ds), f.get(at)),
          f.s.add(f.s.load(f.at(f.get(ds), f.get(at))), f.s.load(f.at(f.get(gs), f.add(f.mulk(f.get(oy), q.Wo), f.get(ox))), l * 4)),
        ),
      ]),
    ]),
  ];
  return planeLoop(ctx, q, x, g, (xs, gs, ds, oy, ox) => [
    f.set(at, f.i(-1)),
    f.set(mx, f.s.c(-Infinity)),
    f.forRange(ky, f.i(0), f.i(q.kh), [
      f.set(iy, f.add(f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pt)), f.mulk(f.get(ky), q.dh))),
      f.if(f.inRange(f.get(iy), q.H), [
        f.forRange(kx, f.i(0), f.i(q.kw), [
          f.set(ix, f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pl)), f.mulk(f.get(kx), q.dw))),
          f.if(f.inRange(f.get(ix), q.W), [
            f.set(k, f.add(f.mulk(f.get(iy), q.W), f.get(ix))),
            f.set(v, f.s.load(f.at(f.get(xs), f.get(k)))),
            f.if(m.i32.or(m.i32.or(m.i32.lt_s(f.get(at), f.i(0)), m.f32.gt(f.get(v), f.get(mx))), m.f32.ne(f.get(v), f.get(v))), [
              f.set(at, f.get(k)),
              f.set(mx, f.get(v)),
            ]),
          ]),
        ]),
      ]),
    ]),
    f.if(f.geS(f.get(at), f.i(0)), [
      f.s.store(
        f.at(f.get(ds), f.get(at)),
        f.s.add(f.s.load(f.at(f.get(ds), f.get(at))), f.s.load(f.at(f.get(gs), f.add(f.mulk(f.get(oy), q.Wo), f.get(ox))))),
      ),
    ]),
  ], vector);
};

/**
 * avgpool2d_grad(g [N, C, Ho, Wo]) {kernel, stride, padding, ceil_mode, count_include_pad, input_size}:
 * window [h0, h1) x [w0, w1) with h1 = min(h0 + kh, H + pad) (ceil_mode clipping, as the reference),
 * divisor = its size (count_include_pad) or the in-image size; g / divisor (f32) is added to each
 * in-image pixel of the window. Empty windows contribute nothing.
 */
export const avgpoolGradKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const m = f.m;
  const g = ctx.node.inputs[0]!;
  const q = poolGeom(ctx, g);
  const include = (ctx.node.attrs["count_include_pad"] as boolean | undefined) ?? true;
  const [h0, h1, w0, w1, div, iy, ix, row] = Array.from({ length: 8 }, () => f.local());
  const val = f.local(f.s.type);
  return planeLoop(ctx, q, g, g, (_xs, gs, ds, oy, ox) => [
    f.set(h0, f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pt))),
    f.set(w0, f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pl))),
    f.set(h1, f.minS(() => f.addk(f.get(h0), q.kh), () => f.i(q.H + q.pt))),
    f.set(w1, f.minS(() => f.addk(f.get(w0), q.kw), () => f.i(q.W + q.pl))),
    f.set(div, f.mul(f.sub(f.get(h1), f.get(h0)), f.sub(f.get(w1), f.get(w0)))),
    f.set(h0, f.maxS(() => f.get(h0), () => f.i(0))),
    f.set(w0, f.maxS(() => f.get(w0), () => f.i(0))),
    f.set(h1, f.minS(() => f.get(h1), () => f.i(q.H))),
    f.set(w1, f.minS(() => f.get(w1), () => f.i(q.W))),
    ...(include ? [] : [f.set(div, f.mul(f.sub(f.get(h1), f.get(h0)), f.sub(f.get(w1), f.get(w0))))]),
    f.if(m.i32.gt_s(f.get(div), f.i(0)), [
      f.set(val, f.s.div(f.s.load(f.at(f.get(gs), f.add(f.mulk(f.get(oy), q.Wo), f.get(ox)))), m.f32.convert_s.i32(f.get(div)))),
      f.forRange(iy, f.get(h0), f.get(h1), [
        f.set(row, f.add(f.get(ds), f.mulk(f.get(iy), q.W * 4))),
        f.forRange(ix, f.get(w0), f.get(w1), [f.s.store(f.at(f.get(row), f.get(ix)), f.s.add(f.s.load(f.at(f.get(row), f.get(ix))), f.get(val)))]),
      ]),
    ]),
  ]);
};
