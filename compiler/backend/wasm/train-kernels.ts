// Run-time variants of the inference kernels that pack weights at compile time (dense W^T, folded batchnorm):
// in a training module the params change every step, so these read them from memory on each call.
// Neighbours: train.ts (uses them instead of kernels/dense.ts and kernels/norm.ts), kernels/gemm.ts.

import { emitGemm } from "./kernels/gemm.js";
import { prod, sampleDims, type Kernel } from "./kernels/context.js";

/**
 * `dense` reading W [out, in] at run time: W^T [in, out] is written into the scratch region
 * (plan-train.ts sizes it), then the shared GEMM computes y[M, out] = x[M, in] W^T + b as kernels/dense.ts.
 */
export const denseRuntimeKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const rows = prod(xd.slice(0, -1));
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
  const [px, py, pb] = [f.local(), f.local(), f.local()];
  const bias = b && node.attrs["bias"] !== false;
  return [
    f.set(pw, ctx.ptr(w)),
    f.set(pt, ctx.scratch()),
    transpose,
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    ...(bias ? [f.set(pb, ctx.ptr(b))] : []),
    emitGemm(f, {
      M: f.mulk(ctx.batch(), rows),
      N: out,
      K: inF,
      a: f.get(px),
      lda: inF,
      b: f.get(pt),
      ldb: out,
      c: f.get(py),
      ldc: out,
      ...(bias ? { bias: { ptr: f.get(pb), along: "col" as const } } : {}),
    }),
  ];
};

/**
 * `batchnorm` (inference form, PyTorch eval mode) reading its params and running statistics at run time:
 * scale[c] = w / sqrt(running_var + eps) and shift[c] = b - running_mean * scale (f32) into scratch, then
 * y = x * scale[c] + shift[c] with the loops of kernels/norm.ts.
 */
export const batchnormRuntimeKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w, b, mean, vr] = node.inputs as [string, string, string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const xd = sampleDims(ctx, x);
  const C = xd[0]!;
  const inner = prod(xd.slice(1));
  const [ps, pt, c, px, py, n] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const [sc, sh, s1] = [f.local(f.v.type), f.local(f.v.type), f.local(f.s.type)];
  const at = (id: string): ReturnType<typeof f.at> => f.at(ctx.ptr(id), f.get(c));
  const fold = f.forRange(c, f.i(0), f.i(C), [
    f.set(s1, f.s.div(f.s.load(at(w)), f.s.sqrt(f.s.add(f.s.load(at(vr)), f.s.c(eps))))),
    f.s.store(f.at(f.get(ps), f.get(c)), f.get(s1)),
    f.s.store(f.at(f.get(pt), f.get(c)), f.s.sub(f.s.load(at(b)), f.s.mul(f.s.load(at(mean)), f.get(s1)))),
  ]);
  const setup = [
    f.set(ps, ctx.scratch()),
    f.set(pt, f.addk(ctx.scratch(), C * 4)),
    fold,
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
  ];
  if (inner === 1)
    return [
      ...setup,
      f.forRange(n, f.i(0), ctx.batch(), [
        f.forLanes(() => f.i(C), (o, idx) => [
          o.store(f.at(f.get(py), idx()), o.add(o.mul(o.load(f.at(f.get(px), idx())), o.load(f.at(f.get(ps), idx()))), o.load(f.at(f.get(pt), idx())))),
        ]),
        f.set(px, f.addk(f.get(px), C * 4)),
        f.set(py, f.addk(f.get(py), C * 4)),
      ]),
    ];
  return [
    ...setup,
    f.forRange(n, f.i(0), ctx.batch(), [
      f.forRange(c, f.i(0), f.i(C), [
        f.set(sc, f.v.splat(f.s.load(f.at(f.get(ps), f.get(c))))),
        f.set(sh, f.v.splat(f.s.load(f.at(f.get(pt), f.get(c))))),
        f.forLanes(() => f.i(inner), (o, idx) => {
          const s = o.lanes === f.v.lanes ? f.get(sc) : f.s.load(f.at(f.get(ps), f.get(c)));
          const t = o.lanes === f.v.lanes ? f.get(sh) : f.s.load(f.at(f.get(pt), f.get(c)));
          return [o.store(f.at(f.get(py), idx()), o.add(o.mul(o.load(f.at(f.get(px), idx())), s), t))];
        }),
        f.set(px, f.addk(f.get(px), inner * 4)),
        f.set(py, f.addk(f.get(py), inner * 4)),
      ]),
    ]),
  ];
};
