// Run-time variants of the inference kernels that pack weights at compile time (dense W^T, folded batchnorm):
// in a training module the params change every step, so these read them from memory on each call.
// Only the packing differs: the GEMM / scale-shift loops are kernels/dense.ts's denseGemm and
// kernels/norm.ts's scaleShiftLoops. Neighbours: train.ts (uses these kernels instead), kernels/gemm.ts.

import type { Expr } from "./module.js";
import { prod, sampleDims, type Kernel } from "./kernels/context.js";
import { denseGemm } from "./kernels/dense.js";
import { scaleShiftLoops } from "./kernels/norm.js";

/**
 * `dense` reading W [out, in] at run time: W^T [in, out] is written into the scratch region
 * (plan-train.ts sizes it), then kernels/dense.ts's denseGemm computes y[M, out] = x[M, in] W^T + b.
 */
export const denseRuntimeKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w] = node.inputs as [string, string];
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const out = node.attrs["units"] as number;
  const [pw, pt, o, i, src, dst] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  // Transpose: rows of W (contiguous loads) scattered into columns of W^T (stride out*4).
  const transpose = f.forRange(o, f.i(0), f.i(out), [
    f.set(src, f.add(f.get(pw), f.mulk(f.get(o), inF * 4))),
    f.set(dst, f.at(f.get(pt), f.get(o))),
    f.forRange(i, f.i(0), f.i(inF), [
      f.s.store(f.get(dst), f.s.load(f.at(f.get(src), f.get(i)))),
      f.set(dst, f.addk(f.get(dst), out * 4)),
    ]),
  ]);
  return [f.set(pw, ctx.ptr(w)), f.set(pt, ctx.scratch()), transpose, ...denseGemm(ctx, f.get(pt))];
};

/**
 * `batchnorm` (inference form, PyTorch eval mode) reading its params and running statistics at run time:
 * scale[c] = w / sqrt(running_var + eps) and shift[c] = b - running_mean * scale (f32) into scratch, then
 * y = x * scale[c] + shift[c] with kernels/norm.ts's scaleShiftLoops.
 */
export const batchnormRuntimeKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w, b, mean, vr] = node.inputs as [string, string, string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const xd = sampleDims(ctx, x);
  const C = xd[0]!;
  const inner = prod(xd.slice(1));
  const [ps, pt, c, s1] = [f.local(), f.local(), f.local(), f.local(f.s.type)];
  const at = (id: string): Expr => f.at(ctx.ptr(id), f.get(c));
  const fold = f.forRange(c, f.i(0), f.i(C), [
    f.set(s1, f.s.div(f.s.load(at(w)), f.s.sqrt(f.s.add(f.s.load(at(vr)), f.s.c(eps))))),
    f.s.store(f.at(f.get(ps), f.get(c)), f.get(s1)),
    f.s.store(f.at(f.get(pt), f.get(c)), f.s.sub(f.s.load(at(b)), f.s.mul(f.s.load(at(mean)), f.get(s1)))),
  ]);
  return [
    f.set(ps, ctx.scratch()),
    f.set(pt, f.addk(ctx.scratch(), C * 4)),
    fold,
    ...scaleShiftLoops(ctx, C, inner, () => f.get(ps), () => f.get(pt)),
  ];
};
