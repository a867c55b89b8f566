// Fused elementwise code: a step list (passes/fuse-steps.ts) evaluated in registers, lane-generically (FOps: f32x4
// or f32). Used by the fused_elementwise kernel here (one broadcast loop, kernels/binary.ts) and by the GEMM
// epilogues of kernels/gemm-packed.ts and conv-implicit.ts. Neighbours: unary.ts (unaryOp), passes/fuse-*.ts.

import type { Expr, FOps, Fn, Local } from "../module.js";
import { decodeSteps, type FusedStep } from "../../../passes/fuse-steps.js";
import { unaryOp } from "./unary.js";
import { broadcastLoop } from "./binary.js";
import type { Kernel } from "./context.js";

/**
 * The value of the last step of `steps` over `operands` (one fresh expression per slot 0 .. n-1, each evaluated
 * once, in order, into a local): per step, add / mul of two slots or an activation (unary.ts unaryOp) of one, the
 * same f32 operations as the separate kernels. No steps: operand 0. Throws on an unknown op (a pass bug).
 */
export function emitSteps(f: Fn, o: FOps, steps: readonly FusedStep[], operands: readonly Expr[]): Expr {
  if (steps.length === 0) return operands[0]!;
  const slots: Local[] = [];
  const stmts: Expr[] = [];
  for (const x of operands) {
    const l = f.local(o.type);
    stmts.push(f.set(l, x));
    slots.push(l);
  }
  const arg = (s: FusedStep, i: number): Expr => f.get(slots[s.args[i]!]!);
  steps.forEach((s, k) => {
    let v: Expr;
    if (s.op === "add") v = o.add(arg(s, 0), arg(s, 1));
    else if (s.op === "mul") v = o.mul(arg(s, 0), arg(s, 1));
    else v = unaryOp(s.op, s.attrs)(f, o, arg(s, 0));
    if (k === steps.length - 1) {
      stmts.push(v);
      return;
    }
    const l = f.local(o.type);
    stmts.push(f.set(l, v));
    slots.push(l);
  });
  const result = stmts.pop()!;
  return f.seq(stmts, result, o.type);
}

/**
 * Kernel of the backend-only op fused_elementwise {steps} (passes/fuse-elementwise.ts): one loop over the output
 * (lane groups then a scalar tail; operands broadcast as in add/mul) loading each operand once per element and
 * storing only the last step's value.
 */
export const fusedElementwiseKernel: Kernel = (ctx) => {
  const steps = decodeSteps(ctx.node, "steps");
  return broadcastLoop(ctx, ctx.node.inputs, ctx.node.outputs[0]!, (o, xs) => emitSteps(ctx.f, o, steps, xs));
};
