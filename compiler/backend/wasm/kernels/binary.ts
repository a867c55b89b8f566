// Broadcasting binary elementwise ops (add, mul) with NumPy rules ("N" broadcasts against "N" or 1), and the
// n-input broadcast loop they share with fused_elementwise (kernels/fused.ts). Loops: outer dims as nested loops
// with per-input strides (0 = broadcast), the innermost run of dims with one access pattern as a lane-group loop.
// Neighbours: module.ts, kernels/context.ts, fused.ts.

import type { Expr, FOps, Local } from "../module.js";
import { typeOf, type Kernel, type KernelCtx } from "./context.js";

type BinOp = (o: FOps, a: Expr, b: Expr) => Expr;

interface Dim {
  /** Static size, or "N" (the run-time batch). */
  size: number | "N";
  /** Element stride of the output along this dim. */
  so: number;
  /** Element strides of each input (0 = broadcast along this dim). */
  si: number[];
}

/** Aligned broadcast dims of out = f(inputs...), with size-1 output dims dropped. */
function broadcastDims(ctx: KernelCtx, inputs: readonly string[], y: string): Dim[] {
  const ys = typeOf(ctx, y).shape;
  const r = ys.length;
  const strides = (id: string): number[] => {
    const s = typeOf(ctx, id).shape;
    const pad = r - s.length;
    const out = new Array<number>(r).fill(0);
    let st = 1;
    for (let d = r - 1; d >= 0; d--) {
      const sd = d - pad >= 0 ? s[d - pad]! : 1;
      const yd = ys[d]!;
      out[d] = sd === yd ? st : 0;
      if (typeof sd === "number") st *= sd;
    }
    return out;
  };
  const si = inputs.map(strides);
  const dims: Dim[] = [];
  let so = 1;
  const soAt = new Array<number>(r);
  for (let d = r - 1; d >= 0; d--) {
    soAt[d] = so;
    const yd = ys[d]!;
    if (typeof yd === "number") so *= yd;
  }
  for (let d = 0; d < r; d++) if (ys[d] !== 1) dims.push({ size: ys[d]!, so: soAt[d]!, si: si.map((s) => s[d]!) });
  return dims;
}

/**
 * Statements computing y = body(o, [x0, x1, ...]) elementwise over y's shape, each input broadcast to it (NumPy
 * rules). `body` gets one fresh expression per input (a lane-group load, or a splat of a broadcast scalar) and
 * returns the value to store; it is called once per lane type (SIMD and scalar tail).
 */
export function broadcastLoop(ctx: KernelCtx, inputs: readonly string[], y: string, body: (o: FOps, xs: Expr[]) => Expr): Expr[] {
  const { f } = ctx;
  const dims = broadcastDims(ctx, inputs, y);
  // Innermost run: trailing static dims whose per-input broadcast pattern matches the last one.
  const pat = (d: Dim): string => d.si.map((s) => s === 0).join();
  let split = dims.length;
  while (split > 0 && dims[split - 1]!.size !== "N" && (split === dims.length || pat(dims[split - 1]!) === pat(dims[dims.length - 1]!)))
    split--;
  const innerDims = dims.slice(split);
  const inner = innerDims.reduce((s, d) => s * (d.size as number), 1);
  const bcast = inputs.map((_, k) => innerDims.length > 0 && innerDims[innerDims.length - 1]!.si[k] === 0);
  const outer = dims.slice(0, split);

  const leaf = (pi: Local[], po: Local): Expr =>
    f.forLanes(() => f.i(inner), (o, idx) => {
      const xs = pi.map((p, k) => (bcast[k] ? o.splat(f.s.load(f.get(p))) : o.load(f.at(f.get(p), idx()))));
      return [o.store(f.at(f.get(po), idx()), body(o, xs))];
    });
  const gen = (level: number, pi: Local[], po: Local): Expr => {
    if (level === outer.length) return leaf(pi, po);
    const d = outer[level]!;
    const li = pi.map(() => f.local());
    const [lo, cnt] = [f.local(), f.local()];
    return f.block([
      ...li.map((l, k) => f.set(l, f.get(pi[k]!))),
      f.set(lo, f.get(po)),
      f.forRange(cnt, f.i(0), d.size === "N" ? ctx.batch() : f.i(d.size), [
        gen(level + 1, li, lo),
        ...li.map((l, k) => f.set(l, f.addk(f.get(l), d.si[k]! * 4))),
        f.set(lo, f.addk(f.get(lo), d.so * 4)),
      ]),
    ]);
  };
  const pi = inputs.map(() => f.local());
  const po = f.local();
  return [...pi.map((p, k) => f.set(p, ctx.ptr(inputs[k]!))), f.set(po, ctx.ptr(y)), gen(0, pi, po)];
}

function binaryKernel(op: BinOp): Kernel {
  return (ctx) => {
    const [a, b] = ctx.node.inputs as [string, string];
    return broadcastLoop(ctx, [a, b], ctx.node.outputs[0]!, (o, [va, vb]) => op(o, va!, vb!));
  };
}

/** add: y = a + b with NumPy broadcasting. */
export const addKernel = binaryKernel((o, a, b) => o.add(a, b));
/** mul: y = a * b with NumPy broadcasting. */
export const mulKernel = binaryKernel((o, a, b) => o.mul(a, b));
