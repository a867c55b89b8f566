// dense (PyTorch nn.Linear) as one GEMM over all rows of the batch: y[M, out] = x[M, in] W^T + b.
// Neighbours: kernels/gemm.ts (the loops), kernels/context.ts; weights packed here at compile time.

import { emitGemm } from "./gemm.js";
import { prod, sampleDims, type Kernel } from "./context.js";

/**
 * Kernel for `dense`: inputs [x [N, ..., in], weight [out, in], bias? [out]].
 * The weight is transposed at compile time to W^T [in, out] (an internal derived tensor in the
 * weights region; the manifest still lists the original PyTorch-layout tensor) so that B rows are
 * contiguous over output features. M = batch * prod(middle dims).
 */
export const denseKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const rows = prod(xd.slice(0, -1));
  const out = node.attrs["units"] as number;
  const wd = ctx.weightData(w);
  const wt = new Float32Array(inF * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) wt[i * out + o] = wd[o * inF + i]!;
  const wtOff = ctx.addDerived(`${w}:T`, wt);
  const pb = ctx.f.local();
  const px = ctx.f.local();
  const py = ctx.f.local();
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    ...(b ? [f.set(pb, ctx.ptr(b))] : []),
    emitGemm(f, {
      M: f.mulk(ctx.batch(), rows),
      N: out,
      K: inF,
      a: f.get(px),
      lda: inF,
      b: f.i(wtOff),
      ldb: out,
      c: f.get(py),
      ldc: out,
      ...(b && node.attrs["bias"] !== false ? { bias: { ptr: f.get(pb), along: "col" as const } } : {}),
    }),
  ];
};
