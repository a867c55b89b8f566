// Shared check of the graph-pass tests: a pass must not change what the float64 reference interpreter
// computes. Neighbours: test/cse.test.ts, test/fold-constants.test.ts, compiler/interp/reference.ts.

import { expect } from "vitest";
import { runReference } from "../compiler/interp/reference.js";
import type { Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";

/**
 * Max |a - b| over every output of graphs `a` and `b` run by the reference interpreter on the same seeded
 * random inputs (batch 3; f32 inputs uniform in [-1, 1), i32 inputs in [-1000, 1000)). Asserts equal shapes.
 */
export function maxDiff(a: Graph, b: Graph, weights: WeightMap = new Map(), seed = 777): number {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const inputs: Record<string, RefTensor> = {};
  for (const gi of a.inputs) {
    const v = a.values[gi.value]!;
    const shape = v.type.shape.map((d) => (d === "N" ? 3 : d));
    const n = shape.reduce((p, q) => p * q, 1);
    inputs[gi.name] = { shape, data: Float64Array.from({ length: n }, () => (v.type.dtype === "i32" ? Math.floor(rnd() * 1000) : rnd())) };
  }
  const ra = runReference(a, weights, inputs);
  const rb = runReference(b, weights, inputs);
  let m = 0;
  for (const k of Object.keys(ra)) {
    expect(rb[k]!.shape).toEqual(ra[k]!.shape);
    ra[k]!.data.forEach((v, i) => (m = Math.max(m, Math.abs(v - rb[k]!.data[i]!))));
  }
  return m;
}
