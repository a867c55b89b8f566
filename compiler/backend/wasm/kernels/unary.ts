// Elementwise activations over the whole contiguous tensor (batch * elements per sample): relu,
// leaky_relu, sigmoid, tanh, gelu. Lane groups then a scalar tail. unaryOp is also what fused kernels
// (kernels/fused.ts: GEMM epilogues, fused_elementwise) evaluate, so fused and separate results agree bit for bit.
// Neighbours: math.ts, module.ts, fused.ts.

import type { Expr, FOps, Fn } from "../module.js";
import * as math from "../math.js";
import { prod, sampleDims, type Kernel } from "./context.js";

/** Lane-generic code of one activation: `x` is used once (a fresh expression); returns y = fn(x). */
export type UnaryFn = (f: Fn, o: FOps, x: Expr) => Expr;

/**
 * The code of activation `op` with its attrs: relu max(x, 0); leaky_relu x > 0 ? x : alpha x (attrs.alpha,
 * default 0.01); sigmoid and tanh (math.ts); gelu (attrs.approximate "none" (erf) or "tanh"). Throws
 * "wasm backend: X is not an activation" for other ops.
 */
export function unaryOp(op: string, attrs: Record<string, unknown>): UnaryFn {
  switch (op) {
    case "relu":
      return (_f, o, x) => o.max(x, o.c(0));
    case "leaky_relu": {
      const alpha = (attrs["alpha"] as number | undefined) ?? 0.01;
      return (f, o, x) => {
        const t = f.local(o.type);
        return f.seq([f.set(t, x)], o.select(o.gt(f.get(t), o.c(0)), f.get(t), o.mul(f.get(t), o.c(alpha))), o.type);
      };
    }
    case "sigmoid":
      return math.sigmoid;
    case "tanh":
      return math.tanh;
    case "gelu": {
      const approx = (attrs["approximate"] as "none" | "tanh" | undefined) ?? "none";
      return (f, o, x) => math.gelu(f, o, x, approx);
    }
    default:
      throw new Error(`wasm backend: ${op} is not an activation`);
  }
}

/** Build a kernel y = fn(x) for one-input, one-output elementwise ops (shapes equal). */
function unaryKernel(op: string): Kernel {
  return (ctx) => {
    const { f, node } = ctx;
    const fn = unaryOp(op, node.attrs);
    const px = f.local();
    const py = f.local();
    const n = f.local();
    return [
      f.set(px, ctx.ptr(node.inputs[0]!)),
      f.set(py, ctx.ptr(node.outputs[0]!)),
      f.set(n, f.mulk(ctx.batch(), prod(sampleDims(ctx, node.inputs[0]!)))),
      f.forLanes(() => f.get(n), (o, idx) => [o.store(f.at(f.get(py), idx()), fn(f, o, o.load(f.at(f.get(px), idx()))))]),
    ];
  };
}

/** relu: max(x, 0) (PyTorch nn.ReLU). */
export const reluKernel = unaryKernel("relu");

/** leaky_relu: x > 0 ? x : alpha x (PyTorch nn.LeakyReLU, attrs.alpha). */
export const leakyReluKernel = unaryKernel("leaky_relu");

/** sigmoid: 1 / (1 + e^-x), overflow-free (math.sigmoid). */
export const sigmoidKernel = unaryKernel("sigmoid");

/** tanh (math.tanh). */
export const tanhKernel = unaryKernel("tanh");

/** gelu, attrs.approximate "none" (erf) or "tanh" (math.gelu). */
export const geluKernel = unaryKernel("gelu");
