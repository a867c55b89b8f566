// Data-movement ops: flatten/reshape (aliases planned by plan.ts; a copy only when not aliased) and
// concat along a non-batch axis. Neighbours: plan.ts (aliasing), module.ts (memory.copy).

import { prod, sampleDims, type Kernel } from "./context.js";

/**
 * flatten / reshape: same bytes, new shape. When the planner aliased the output to the input
 * (same address) nothing is emitted; otherwise the bytes are copied.
 */
export const reshapeKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const x = node.inputs[0]!;
  const y = node.outputs[0]!;
  if (ctx.aliased(y)) return [];
  const bytes = prod(sampleDims(ctx, x)) * 4;
  const perBatch = ctx.g.values[x]!.type.shape[0] === "N";
  return [f.copy(ctx.ptr(y), ctx.ptr(x), perBatch ? f.mulk(ctx.batch(), bytes) : f.i(bytes))];
};

/**
 * concat (attrs.axis >= 1): out viewed as [outer, sum_i d_i * inner]; each input contributes a
 * contiguous chunk of d_i * inner elements per outer index (memory.copy per chunk).
 */
export const concatKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const axis = node.attrs["axis"] as number;
  const y = node.outputs[0]!;
  const yd = sampleDims(ctx, y);
  const outerPerSample = prod(yd.slice(0, axis - 1));
  const inner = prod(yd.slice(axis));
  const total = yd[axis - 1]! * inner;
  const o = f.local();
  const py = f.local();
  const stmts = [f.set(py, ctx.ptr(y))];
  let off = 0;
  for (const x of node.inputs) {
    const chunk = sampleDims(ctx, x)[axis - 1]! * inner;
    const px = f.local();
    stmts.push(
      f.set(px, ctx.ptr(x)),
      f.forRange(o, f.i(0), f.mulk(ctx.batch(), outerPerSample), [
        f.copy(f.add(f.get(py), f.addk(f.mulk(f.get(o), total * 4), off * 4)), f.add(f.get(px), f.mulk(f.get(o), chunk * 4)), f.i(chunk * 4)),
      ]),
    );
    off += chunk;
  }
  return stmts;
};
