// Elementwise activations over the whole contiguous tensor (batch * elements per sample): relu,
// leaky_relu, sigmoid, tanh, gelu. Lane groups then a scalar tail. Neighbours: math.ts, module.ts.

import type { Expr, FOps, Fn } from "../module.js";
import * as math from "../math.js";
import { prod, sampleDims, type Kernel } from "./context.js";

type UnaryFn = (f: Fn, o: FOps, x: Expr) => Expr;

/** Build a kernel y = fn(x) for one-input, one-output elementwise ops (shapes equal). */
function unaryKernel(make: (attrs: Record<string, unknown>) => UnaryFn): Kernel {
  return (ctx) => {
    const { f, node } = ctx;
    const fn = make(node.attrs);
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
export const reluKernel = unaryKernel(() => (_f, o, x) => o.max(x, o.c(0)));

/** leaky_relu: x > 0 ? x : alpha x (PyTorch nn.LeakyReLU, attrs.alpha). */
export const leakyReluKernel = unaryKernel((a) => {
  const alpha = (a["alpha"] as number | undefined) ?? 0.01;
  return (f, o, x) => {
    const t = f.local(o.type);
    return f.seq([f.set(t, x)], o.select(o.gt(f.get(t), o.c(0)), f.get(t), o.mul(f.get(t), o.c(alpha))), o.type);
  };
});

/** sigmoid: 1 / (1 + e^-x), overflow-free (math.sigmoid). */
export const sigmoidKernel = unaryKernel(() => math.sigmoid);

/** tanh (math.tanh). */
export const tanhKernel = unaryKernel(() => math.tanh);

/** gelu, attrs.approximate "none" (erf) or "tanh" (math.gelu). */
export const geluKernel = unaryKernel((a) => {
  const approx = (a["approximate"] as "none" | "tanh" | undefined) ?? "none";
  return (f, o, x) => math.gelu(f, o, x, approx);
});
