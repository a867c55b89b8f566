// conv2d (PyTorch nn.Conv2d, NCHW): dispatch by shape (backend/wasm/README.md "Kernels") to the depthwise kernel, the
// implicit GEMM (kernels/conv-implicit.ts, plan.ts convImplicit), or here: im2col into the scratch region + one GEMM
// per group and sample, y[g] [Og, Ho*Wo] = W[g] [Og, Cg*kh*kw] col[g] [Cg*kh*kw, Ho*Wo] + b. Neighbours: gemm.ts, plan.ts.

import type { Expr, Local } from "../module.js";
import { emitGemm } from "./gemm.js";
import { sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { convImplicit, convScratchElems, isDepthwise } from "../plan.js";
import { implicitConvKernel } from "./conv-implicit.js";
import { depthwiseKernel } from "./depthwise.js";
import { stride1Cols, windowAttrs, type WindowGeom } from "./window.js";

/**
 * Kernel for `conv2d`: inputs [x [N, C, H, W], weight [O, C/groups, kh, kw], bias? [O]], attrs as
 * ir/attrs.ts (stride, dilation, explicit [top, left, bottom, right] padding, groups). The weight's
 * PyTorch layout is already the GEMM's A [O, Cg*kh*kw], used in place. 1x1/stride-1/unpadded
 * convolutions skip im2col (the input is B); depthwise ones (groups = C = O) use kernels/depthwise.ts; stride-1
 * columns with Wo >= 8 use kernels/conv-implicit.ts.
 * im2col rows are ordered (c, ky, kx); padded taps are 0.
 */
export const conv2dKernel: Kernel = (ctx) => {
  const { f, node, g } = ctx;
  if (isDepthwise(g, node)) return depthwiseKernel(ctx);
  if (convImplicit(g, node)) return implicitConvKernel(ctx);
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const [C, H, W] = sampleDims(ctx, x) as [number, number, number];
  const [O, Ho, Wo] = sampleDims(ctx, node.outputs[0]!) as [number, number, number];
  const wa = windowAttrs(node.attrs);
  const { kh, kw } = wa;
  const groups = (node.attrs["groups"] as number | undefined) ?? 1;
  const P = Ho * Wo;
  const Cg = C / groups;
  const Og = O / groups;
  const Kg = Cg * kh * kw;
  const useCol = convScratchElems(g, node) > 0;

  const n = f.local();
  const xs = f.local();
  const ys = f.local();
  const px = f.local();
  const py = f.local();
  const pw = f.local();
  const pbias = f.local();
  const gi = f.local();
  const pa = f.local();
  const pbb = f.local();
  const pcc = f.local();
  const pbg = f.local();

  const perSample: Expr[] = [
    f.set(xs, f.add(f.get(px), f.mulk(f.get(n), C * H * W * 4))),
    f.set(ys, f.add(f.get(py), f.mulk(f.get(n), O * P * 4))),
  ];
  if (useCol) perSample.push(im2col(ctx, { C, H, W, Ho, Wo, ...wa }, xs));
  const bBase = useCol ? ctx.scratch() : f.get(xs);
  perSample.push(
    f.forRange(gi, f.i(0), f.i(groups), [
      f.set(pa, f.add(f.get(pw), f.mulk(f.get(gi), Og * Kg * 4))),
      f.set(pbb, f.add(bBase, f.mulk(f.get(gi), Kg * P * 4))),
      f.set(pcc, f.add(f.get(ys), f.mulk(f.get(gi), Og * P * 4))),
      f.set(pbg, f.add(f.get(pbias), f.mulk(f.get(gi), Og * 4))),
      emitGemm(f, {
        M: f.i(Og),
        N: P,
        K: Kg,
        a: f.get(pa),
        lda: Kg,
        b: f.get(pbb),
        ldb: P,
        c: f.get(pcc),
        ldc: P,
        ...(b ? { bias: { ptr: f.get(pbg), along: "row" as const } } : {}),
      }),
    ]),
  );
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.set(pw, ctx.ptr(w)),
    f.set(pbias, b ? ctx.ptr(b) : f.i(0)),
    f.forRange(n, f.i(0), ctx.batch(), perSample),
  ];
};

/**
 * Fill the scratch region with col[(c*kh + ky)*kw + kx][oy*Wo + ox] = x[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw]
 * (0 outside the image) for the sample's planes at `xs`. Out-of-image rows are zero-filled. With
 * stride-1 columns each row is a zero / memory.copy / zero triple; otherwise each column uses a
 * branch-free select with a clamped (always valid) load address. Also used by grad-linear.ts.
 */
export function im2col(ctx: KernelCtx, q: WindowGeom, xs: Local): Expr {
  const f = ctx.f;
  const [c, ky, kx, oy, ox, iy, ix, dst, src, ok, lo, hi] = Array.from({ length: 12 }, () => f.local());
  // Stride-1 columns: the in-image taps of a row are one contiguous run [lo, hi) (per kx).
  const contiguous = q.sw === 1;
  const kxSetup: Expr[] = contiguous ? stride1Cols(f, q, kx, lo, hi) : [];
  const rowIn: Expr[] = contiguous
    ? [
        f.zero(f.get(dst), f.mulk(f.get(lo), 4)),
        f.copy(
          f.at(f.get(dst), f.get(lo)),
          f.at(f.get(src), f.add(f.sub(f.get(lo), f.i(q.pl)), f.mulk(f.get(kx), q.dw))),
          f.mulk(f.sub(f.get(hi), f.get(lo)), 4),
        ),
        f.zero(f.at(f.get(dst), f.get(hi)), f.mulk(f.sub(f.i(q.Wo), f.get(hi)), 4)),
      ]
    : [
        f.forRange(ox, f.i(0), f.i(q.Wo), [
          f.set(ix, f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pl)), f.mulk(f.get(kx), q.dw))),
          f.set(ok, f.inRange(f.get(ix), q.W)),
          f.s.store(
            f.at(f.get(dst), f.get(ox)),
            f.m.select(f.get(ok), f.s.load(f.m.select(f.get(ok), f.at(f.get(src), f.get(ix)), f.get(src))), f.s.c(0)),
          ),
        ]),
      ];
  const rowBody: Expr[] = [
    f.set(iy, f.add(f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pt)), f.mulk(f.get(ky), q.dh))),
    f.if(
      f.inRange(f.get(iy), q.H),
      [f.set(src, f.add(f.get(xs), f.mulk(f.add(f.mulk(f.get(c), q.H), f.get(iy)), q.W * 4))), ...rowIn],
      [f.zero(f.get(dst), f.i(q.Wo * 4))],
    ),
    f.set(dst, f.addk(f.get(dst), q.Wo * 4)),
  ];
  return f.block([
    f.set(dst, ctx.scratch()),
    f.forRange(c, f.i(0), f.i(q.C), [
      f.forRange(ky, f.i(0), f.i(q.kh), [f.forRange(kx, f.i(0), f.i(q.kw), [...kxSetup, f.forRange(oy, f.i(0), f.i(q.Ho), rowBody)])]),
    ]),
  ]);
}
