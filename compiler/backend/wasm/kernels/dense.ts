// dense (PyTorch nn.Linear) as one GEMM over all rows of the batch: y[M, out] = x[M, in] W^T + b.
// Neighbours: kernels/gemm.ts (the loops), kernels/context.ts; weights packed here at compile time
// (train-kernels.ts reuses denseGemm with W^T transposed at run time).

import { emitGemm } from "./gemm.js";
import type { Expr } from "../module.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";

/**
 * Kernel for `dense`: inputs [x [N, ..., in], weight [out, in], bias? [out]].
 * The weight is transposed at compile time to W^T [in, out] (an internal derived tensor in the
 * weights region; the manifest still lists the original PyTorch-layout tensor) so that B rows are
 * contiguous over output features. M = batch * prod(middle dims).
 */
export const denseKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w] = node.inputs as [string, string];
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const out = node.attrs["units"] as number;
  const wd = ctx.weightData(w);
  const wt = new Float32Array(inF * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) wt[i * out + o] = wd[o * inF + i]!;
  const wtOff = ctx.addDerived(`${w}:T`, wt);
  return denseGemm(ctx, f.i(wtOff));
};

/**
 * y[M, out] = x[M, in] W^T (+ b when there is a bias input and attrs.bias is not false) as one GEMM,
 * with W^T [in, out] at address `wt`. Also used by train-kernels.ts (W^T transposed into scratch at run time).
 */
export function denseGemm(ctx: KernelCtx, wt: Expr): Expr[] {
  const { f, node } = ctx;
  const [x, , b] = node.inputs as [string, string, string | undefined];
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const rows = prod(xd.slice(0, -1));
  const out = node.attrs["units"] as number;
  const bias = b && node.attrs["bias"] !== false;
  const [px, py, pb] = [f.local(), f.local(), f.local()];
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    ...(bias ? [f.set(pb, ctx.ptr(b))] : []),
    emitGemm(f, {
      M: f.mulk(ctx.batch(), rows),
      N: out,
      K: inF,
      a: f.get(px),
      lda: inF,
      b: wt,
      ldb: out,
      c: f.get(py),
      ldc: out,
      ...(bias ? { bias: { ptr: f.get(pb), along: "col" as const } } : {}),
    }),
  ];
}
