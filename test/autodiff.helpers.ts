// Shared helpers of the autodiff tests: lower a .model program, append a target + loss, run graphs in
// float64 with float64 params (as consts), and central finite differences. Neighbours: test/autodiff*.test.ts.

import { expect } from "vitest";
import type { Attrs, DType, Dim, Graph, RefTensor } from "../compiler/ir/types.js";
import { checkSource } from "../compiler/check.js";
import { GraphEmitter } from "../compiler/autodiff/emit.js";
import { runReference } from "../compiler/interp/reference.js";
import { cloneGraph } from "../compiler/passes/clone.js";
import { numel } from "../compiler/ir/graph.js";

/** Lower a .model program (throws with the diagnostics on error). */
export function lowerSource(source: string): Graph {
  const r = checkSource(source, "test.model");
  if (!r.graph) throw new Error(`lowering failed: ${JSON.stringify(r.diagnostics.map((d) => d.message))}`);
  return r.graph;
}

/** A loss to append: op, attrs, and the target's dtype and per-sample shape (batch dim prepended). */
export interface LossSpec {
  op: string;
  attrs: Attrs;
  target: { dtype: DType; shape: number[] };
}

/** Append graph input "target" and a loss node on the output named `output`; the loss becomes output "loss". */
export function withLoss(graph: Graph, output: string, loss: LossSpec): { graph: Graph; loss: string } {
  const g = cloneGraph(graph);
  const emit = new GraphEmitter(g, "t", "both");
  const y = g.outputs.find((o) => o.name === output)!.value;
  const t = emit.input("target", loss.target.dtype, ["N" as Dim, ...loss.target.shape]);
  const l = emit.node1(loss.op, [y, t], loss.attrs);
  emit.output("loss", l);
  return { graph: g, loss: l };
}

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor of uniform values in [lo, hi). */
export function uniform(r: () => number, shape: number[], lo = -1, hi = 1): RefTensor {
  const data = new Float64Array(numel(shape));
  for (let k = 0; k < data.length; k++) data[k] = lo + (hi - lo) * r();
  return { shape, data };
}

/** Random float64 values for every param/state of `g` (variances positive). */
export function randomWeights(g: Graph, r: () => number): Map<string, RefTensor> {
  const m = new Map<string, RefTensor>();
  for (const v of Object.values(g.values))
    if (v.kind === "param" || v.kind === "state") {
      const pos = (v.name ?? "").endsWith("running_var");
      m.set(v.name ?? v.id, uniform(r, v.type.shape as number[], pos ? 0.5 : -1, pos ? 1.5 : 1));
    }
  return m;
}

/** Copy of `g` with params/state turned into float64 consts (runReference reads weights as f32 otherwise). */
export function withConsts(g: Graph, weights: Map<string, RefTensor>): Graph {
  const out = cloneGraph(g);
  for (const v of Object.values(out.values))
    if (v.kind === "param" || v.kind === "state") {
      const w = weights.get(v.name ?? v.id);
      if (!w) throw new Error(`no weight ${v.name}`);
      v.kind = "const";
      v.data = Array.from(w.data);
      delete v.init;
    }
  return out;
}

/** Run in float64 with float64 weights. */
export function run64(g: Graph, weights: Map<string, RefTensor>, inputs: Record<string, RefTensor>): Record<string, RefTensor> {
  return runReference(withConsts(g, weights), new Map(), inputs);
}

/** Options of `checkFiniteDifferences`. */
export interface FdOptions {
  h?: number;
  rtol?: number;
  atol?: number;
  /** Elements to leave out of the comparison (at kinks), by name and flat index. */
  skip?: (name: string, k: number) => boolean;
}

/**
 * Compare the analytic gradients (graph outputs "grad:<name>") of a gradGraph result against central
 * differences of its "loss" output, perturbing each named input (in `inputs`) or weight (in `weights`).
 * Returns the number of elements compared.
 */
export function checkFiniteDifferences(
  g: Graph,
  weights: Map<string, RefTensor>,
  inputs: Record<string, RefTensor>,
  names: string[],
  opts: FdOptions = {},
): number {
  const h = opts.h ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const base = run64(g, weights, inputs);
  // Rounding in L(x +- h) is ~eps |L|, so the difference quotient carries ~1e-10 |L| absolute error.
  const atol = opts.atol ?? Math.max(1e-8, 1e-9 * Math.abs(base["loss"]!.data[0]!));
  let count = 0;
  for (const name of names) {
    const analytic = base[`grad:${name}`];
    if (!analytic) throw new Error(`no gradient output for ${name}`);
    const t = inputs[name] ?? weights.get(name);
    if (!t) throw new Error(`no value ${name}`);
    expect(analytic.shape).toEqual(t.shape);
    for (let k = 0; k < t.data.length; k++) {
      if (opts.skip?.(name, k)) continue;
      const x0 = t.data[k]!;
      t.data[k] = x0 + h;
      const lp = run64(g, weights, inputs)["loss"]!.data[0]!;
      t.data[k] = x0 - h;
      const lm = run64(g, weights, inputs)["loss"]!.data[0]!;
      t.data[k] = x0;
      const fd = (lp - lm) / (2 * h);
      const a = analytic.data[k]!;
      if (!(Math.abs(a - fd) <= rtol * Math.abs(fd) + atol))
        throw new Error(`${name}[${k}]: analytic ${a}, finite difference ${fd} (diff ${Math.abs(a - fd)})`);
      count++;
    }
  }
  return count;
}
