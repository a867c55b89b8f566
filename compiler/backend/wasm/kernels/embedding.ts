// Token-op kernels: embedding (row copies, trap on an out-of-range id), embedding_grad (scatter-add),
// positional_encoding (x + P, P a compile-time sinusoidal table or a learned param) and its grad.
// Neighbours: ir/ops/embedding.ts + grad-embedding.ts (references), module.ts; runtime/model.ts checks ids first.

import type { Expr } from "../module.js";
import { sinusoidalTable } from "../../../ir/ops/embedding.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";

/** Statements: id = ids[r] (i32), trapping (unreachable) unless 0 <= id < V. */
function loadId(ctx: KernelCtx, pIds: Expr, V: number): { load: Expr; check: (id: Expr) => Expr } {
  const { f } = ctx;
  const m = f.m;
  return {
    load: m.i32.reinterpret(f.s.load(pIds)),
    check: (id) => f.if(m.i32.ge_u(id, f.i(V)), [m.unreachable()]),
  };
}

/**
 * embedding(ids i32 [N, ...], weight [V, D]) -> [N, ..., D]: per id one memory.copy of its D-float row.
 * Weights are read at run time (the same kernel serves training modules). An id outside [0, V) traps
 * (`unreachable`); the runtime checks inputs first and reports such a trap by name.
 */
export const embeddingKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [ids, w] = node.inputs as [string, string];
  const V = node.attrs["num_embeddings"] as number;
  const D = node.attrs["embedding_dim"] as number;
  const R = prod(sampleDims(ctx, ids));
  const [pi, py, pw, r, id] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const ld = loadId(ctx, f.get(pi), V);
  return [
    f.set(pi, ctx.ptr(ids)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.set(pw, ctx.ptr(w)),
    f.forRange(r, f.i(0), f.mulk(ctx.batch(), R), [
      f.set(id, ld.load),
      ld.check(f.get(id)),
      f.copy(f.get(py), f.add(f.get(pw), f.mulk(f.get(id), D * 4)), f.i(D * 4)),
      f.set(pi, f.addk(f.get(pi), 4)),
      f.set(py, f.addk(f.get(py), D * 4)),
    ]),
  ];
};

/**
 * embedding_grad(g [N, ..., D], ids i32 [N, ...]) {num_embeddings V, padding_idx?} -> dweight [V, D]:
 * zero, then dweight[id] += g[row] row by row in order (f32 lane groups); padding_idx rows are skipped;
 * an id outside [0, V) traps. Not in-place safe.
 */
export const embeddingGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const [g, ids] = node.inputs as [string, string];
  const V = node.attrs["num_embeddings"] as number;
  const D = node.attrs["embedding_dim"] as number;
  const pad = node.attrs["padding_idx"] as number | undefined;
  const R = prod(sampleDims(ctx, ids));
  const [pi, pg, pw, prow, r, id] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const ld = loadId(ctx, f.get(pi), V);
  const accumulate = [
    f.set(prow, f.add(f.get(pw), f.mulk(f.get(id), D * 4))),
    f.forLanes(() => f.i(D), (o, idx) => [o.store(f.at(f.get(prow), idx()), o.add(o.load(f.at(f.get(prow), idx())), o.load(f.at(f.get(pg), idx()))))]),
  ];
  return [
    f.set(pi, ctx.ptr(ids)),
    f.set(pg, ctx.ptr(g)),
    f.set(pw, ctx.ptr(node.outputs[0]!)),
    f.zero(f.get(pw), f.i(V * D * 4)),
    f.forRange(r, f.i(0), f.mulk(ctx.batch(), R), [
      f.set(id, ld.load),
      ld.check(f.get(id)),
      pad === undefined ? f.block(accumulate) : f.if(m.i32.ne(f.get(id), f.i(pad)), accumulate),
      f.set(pi, f.addk(f.get(pi), 4)),
      f.set(pg, f.addk(f.get(pg), D * 4)),
    ]),
  ];
};

/** Byte address of positional_encoding's table P: the learned weight, or the sinusoidal table as derived f32 data. */
function peTable(ctx: KernelCtx, L: number, D: number): Expr {
  const { f, node } = ctx;
  if (node.attrs["kind"] === "learned") return ctx.ptr(node.inputs[1]!);
  return f.i(ctx.addDerived(`pe:sinusoidal:${L}:${D}`, Float32Array.from(sinusoidalTable(L, D))));
}

/** positional_encoding(x [N, L, D], weight? [max_len, D]) -> x + P[:L], per sample in f32 lane groups. */
export const positionalEncodingKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [L, D] = sampleDims(ctx, node.inputs[0]!) as [number, number];
  const [px, py, pp, n] = [f.local(), f.local(), f.local(), f.local()];
  return [
    f.set(px, ctx.ptr(node.inputs[0]!)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.set(pp, peTable(ctx, L, D)),
    f.forRange(n, f.i(0), ctx.batch(), [
      f.forLanes(() => f.i(L * D), (o, idx) => [o.store(f.at(f.get(py), idx()), o.add(o.load(f.at(f.get(px), idx())), o.load(f.at(f.get(pp), idx()))))]),
      f.set(px, f.addk(f.get(px), L * D * 4)),
      f.set(py, f.addk(f.get(py), L * D * 4)),
    ]),
  ];
};

/** positional_encoding_grad(g [N, L, D]) {max_len} -> dweight [max_len, D]: zero, then rows [0, L) += g[n] for n in order. */
export const positionalEncodingGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [L, D] = sampleDims(ctx, node.inputs[0]!) as [number, number];
  const maxLen = node.attrs["max_len"] as number;
  const [pg, pw, n] = [f.local(), f.local(), f.local()];
  return [
    f.set(pg, ctx.ptr(node.inputs[0]!)),
    f.set(pw, ctx.ptr(node.outputs[0]!)),
    f.zero(f.get(pw), f.i(maxLen * D * 4)),
    f.forRange(n, f.i(0), ctx.batch(), [
      f.forLanes(() => f.i(L * D), (o, idx) => [o.store(f.at(f.get(pw), idx()), o.add(o.load(f.at(f.get(pw), idx())), o.load(f.at(f.get(pg), idx()))))]),
      f.set(pg, f.addk(f.get(pg), L * D * 4)),
    ]),
  ];
};
