// Broadcasting binary elementwise ops (add, mul) with NumPy rules ("N" broadcasts against "N" or 1).
// Loops: outer dims as nested loops with per-input strides (0 = broadcast), the innermost run of dims
// with one access pattern as a lane-group loop. Neighbours: module.ts, kernels/context.ts.

import type { Expr, FOps, Local } from "../module.js";
import { typeOf, type Kernel, type KernelCtx } from "./context.js";

type BinOp = (o: FOps, a: Expr, b: Expr) => Expr;

interface Dim {
  /** Static size, or "N" (the run-time batch). */
  size: number | "N";
  /** Element strides of the output and each input (0 = broadcast along this dim). */
  so: number;
  sa: number;
  sb: number;
}

/** Aligned broadcast dims of out = a (op) b, with size-1 output dims dropped. */
function broadcastDims(ctx: KernelCtx, a: string, b: string, y: string): Dim[] {
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
  const sa = strides(a);
  const sb = strides(b);
  const dims: Dim[] = [];
  let so = 1;
  const soAt = new Array<number>(r);
  for (let d = r - 1; d >= 0; d--) {
    soAt[d] = so;
    const yd = ys[d]!;
    if (typeof yd === "number") so *= yd;
  }
  for (let d = 0; d < r; d++) if (ys[d] !== 1) dims.push({ size: ys[d]!, so: soAt[d]!, sa: sa[d]!, sb: sb[d]! });
  return dims;
}

function binaryKernel(op: BinOp): Kernel {
  return (ctx) => {
    const { f, node } = ctx;
    const [a, b] = node.inputs as [string, string];
    const y = node.outputs[0]!;
    const dims = broadcastDims(ctx, a, b, y);
    // Innermost run: trailing static dims whose (a broadcast?, b broadcast?) pattern matches the last one.
    const pat = (d: Dim): string => `${d.sa === 0}${d.sb === 0}`;
    let split = dims.length;
    while (split > 0 && dims[split - 1]!.size !== "N" && (split === dims.length || pat(dims[split - 1]!) === pat(dims[dims.length - 1]!)))
      split--;
    const innerDims = dims.slice(split);
    const inner = innerDims.reduce((s, d) => s * (d.size as number), 1);
    const aBcast = innerDims.length > 0 && innerDims[innerDims.length - 1]!.sa === 0;
    const bBcast = innerDims.length > 0 && innerDims[innerDims.length - 1]!.sb === 0;
    const outer = dims.slice(0, split);

    const leaf = (pa: Local, pb: Local, po: Local): Expr =>
      f.forLanes(() => f.i(inner), (o, idx) => {
        const va = aBcast ? o.splat(f.s.load(f.get(pa))) : o.load(f.at(f.get(pa), idx()));
        const vb = bBcast ? o.splat(f.s.load(f.get(pb))) : o.load(f.at(f.get(pb), idx()));
        return [o.store(f.at(f.get(po), idx()), op(o, va, vb))];
      });
    const gen = (level: number, pa: Local, pb: Local, po: Local): Expr => {
      if (level === outer.length) return leaf(pa, pb, po);
      const d = outer[level]!;
      const [la, lb, lo, cnt] = [f.local(), f.local(), f.local(), f.local()];
      return f.block([
        f.set(la, f.get(pa)),
        f.set(lb, f.get(pb)),
        f.set(lo, f.get(po)),
        f.forRange(cnt, f.i(0), d.size === "N" ? ctx.batch() : f.i(d.size), [
          gen(level + 1, la, lb, lo),
          f.set(la, f.addk(f.get(la), d.sa * 4)),
          f.set(lb, f.addk(f.get(lb), d.sb * 4)),
          f.set(lo, f.addk(f.get(lo), d.so * 4)),
        ]),
      ]);
    };
    const [pa, pb, po] = [f.local(), f.local(), f.local()];
    return [f.set(pa, ctx.ptr(a)), f.set(pb, ctx.ptr(b)), f.set(po, ctx.ptr(y)), gen(0, pa, pb, po)];
  };
}

/** add: y = a + b with NumPy broadcasting. */
export const addKernel = binaryKernel((o, a, b) => o.add(a, b));
/** mul: y = a * b with NumPy broadcasting. */
export const mulKernel = binaryKernel((o, a, b) => o.mul(a, b));
