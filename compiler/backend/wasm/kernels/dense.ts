// dense (PyTorch nn.Linear) as one GEMM over all rows of the batch: y[M, out] = x[M, in] W^T + b.
// Neighbours: kernels/gemm-packed.ts (inference: weights prepacked in panels), kernels/gemm.ts (denseGemm:
// train-kernels.ts with W^T transposed at run time), kernels/context.ts, emit.ts (stores weights packed).

import { emitGemm } from "./gemm.js";
import { emitPackedGemm, PANEL } from "./gemm-packed.js";
import type { Expr } from "../module.js";
import type { Graph } from "../../../ir/types.js";
import type { WeightLayout } from "../../../../runtime/manifest.js";
import { packKnPanels } from "../../../../runtime/layout.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { epilogueOf } from "../../../passes/fuse-epilogue.js";

/**
 * Params stored prepacked in an inference module's weights region: a param whose every consumer is a `dense`
 * node reading it as its weight (input 1) is stored only as GEMM panels ("kn_panels", PANEL columns), the layout
 * kernels/gemm-packed.ts reads. Any other param (or a dense weight also read by another op) stays row-major.
 */
export function denseWeightLayouts(g: Graph): Map<string, WeightLayout> {
  const ok = new Map<string, boolean>();
  for (const n of g.nodes)
    n.inputs.forEach((id, i) => {
      if (g.values[id]?.kind !== "param") return;
      ok.set(id, (ok.get(id) ?? true) && n.op === "dense" && i === 1);
    });
  const out = new Map<string, WeightLayout>();
  for (const [id, yes] of ok) if (yes) out.set(id, { kind: "kn_panels", panel: PANEL });
  return out;
}

/**
 * Kernel for `dense`: inputs [x [N, ..., in], weight [out, in], bias? [out], epilogue operands...], attrs { units,
 * bias, epilogue?, epilogue_inputs? } (the epilogue of passes/fuse-epilogue.ts: activations and a residual of y's
 * shape, read at y's element address + (its base - y's base)).
 * The weight is read as the GEMM's B [in, out] in kn_panels layout (runtime/layout.ts): the param itself when
 * the weights region stores it packed (denseWeightLayouts), else a packed derived copy. M = batch * prod(middle
 * dims); one kernels/gemm-packed.ts call, with the bias (and the fused epilogue) in its epilogue.
 */
export const denseKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const d = denseSetup(ctx);
  const w = node.inputs[1]!;
  const layout = ctx.weightLayout?.(w);
  const packed =
    layout?.kind === "kn_panels" && layout.panel === PANEL
      ? ctx.weightOffset(w)
      : ctx.addDerived(`${w}:panels`, packKnPanels(ctx.weightData(w), d.out, d.inF, PANEL));
  const epi = epilogueOf(node);
  const deltas = epi.operands.map((r) => f.sub(ctx.ptr(r), ctx.ptr(node.outputs[0]!)));
  return [
    ...d.prelude,
    emitPackedGemm(f, {
      M: d.M,
      N: d.out,
      K: d.inF,
      a: d.x,
      lda: d.inF,
      b: f.i(packed),
      c: d.y,
      ldc: d.out,
      ...(d.bias ? { bias: d.bias } : {}),
      ...(epi.steps.length > 0 ? { epilogue: { steps: epi.steps, deltas } } : {}),
    }),
  ];
};

/**
 * What both dense GEMM paths need: x [M, in] and y [M, out] pointers in locals (M = batch x the leading
 * sample dims), the bias pointer when there is a bias input and attrs.bias is not false, and the sizes.
 */
function denseSetup(ctx: KernelCtx): { inF: number; out: number; M: Expr; x: Expr; y: Expr; bias?: Expr; prelude: Expr[] } {
  const { f, node } = ctx;
  const [x, , b] = node.inputs.slice(0, node.inputs.length - epilogueOf(node).operands.length) as [string, string, string | undefined];
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const out = node.attrs["units"] as number;
  const hasBias = b !== undefined && node.attrs["bias"] !== false;
  const [px, py, pb] = [f.local(), f.local(), f.local()];
  return {
    inF,
    out,
    M: f.mulk(ctx.batch(), prod(xd.slice(0, -1))),
    x: f.get(px),
    y: f.get(py),
    ...(hasBias ? { bias: f.get(pb) } : {}),
    prelude: [f.set(px, ctx.ptr(x)), f.set(py, ctx.ptr(node.outputs[0]!)), ...(hasBias ? [f.set(pb, ctx.ptr(b))] : [])],
  };
}

/**
 * y[M, out] = x[M, in] W^T (+ b when there is a bias input and attrs.bias is not false) as one GEMM,
 * with W^T [in, out] at address `wt`. Also used by train-kernels.ts (W^T transposed into scratch at run time).
 */
export function denseGemm(ctx: KernelCtx, wt: Expr): Expr[] {
  const d = denseSetup(ctx);
  return [
    ...d.prelude,
    emitGemm(ctx.f, {
      M: d.M,
      N: d.out,
      K: d.inF,
      a: d.x,
      lda: d.inF,
      b: wt,
      ldb: d.out,
      c: d.y,
      ldc: d.out,
      ...(d.bias ? { bias: { ptr: d.bias, along: "col" as const } } : {}),
    }),
  ];
}
