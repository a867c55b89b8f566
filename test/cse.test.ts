// Tests of common-subexpression elimination: exact nodes after merging on hand-built graphs, RNG ops never
// merged, and the reference interpreter's outputs unchanged on random inputs. Neighbours: compiler/passes/cse.ts.

import { describe, expect, it } from "vitest";
import { eliminateCommonSubexpressions } from "../compiler/passes/cse.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { maxDiff } from "./passes.helpers.js";


describe("cse", () => {
  it("merges equal nodes and whole chains; consumers are rewired", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "f32", [4]);
    const w = b.param("fc.weight", [2, 4], { kind: "ones" });
    const bias = b.param("fc.bias", [2], { kind: "zeros" });
    const [d1] = b.node("dense", [x, w, bias], { units: 2, bias: true });
    const [d2] = b.node("dense", [x, w, bias], { units: 2, bias: true });
    const [t1] = b.node("tanh", [d1!], {});
    const [t2] = b.node("tanh", [d2!], {});
    const [l1] = b.node("leaky_relu", [t1!], { alpha: 0.1 });
    const [l2] = b.node("leaky_relu", [t2!], { alpha: 0.2 }); // other attrs: stays
    const [y] = b.node("add", [t2!, l2!], {});
    const [z] = b.node("mul", [l1!, t1!], {});
    b.output("y", y!);
    b.output("z", z!);
    const g = b.build();
    const before = JSON.stringify(g);
    const r = eliminateCommonSubexpressions(g);
    expect(JSON.stringify(g)).toBe(before); // pure
    expect(r.nodes.map((n) => [n.op, n.inputs, n.outputs])).toEqual([
      ["dense", [x, w, bias], [d1]],
      ["tanh", [d1], [t1]],
      ["leaky_relu", [t1], [l1]],
      ["leaky_relu", [t1], [l2]],
      ["add", [t1, l2], [y]],
      ["mul", [l1, t1], [z]],
    ]);
    expect(r.values[d2!]).toBeUndefined();
    expect(r.values[t2!]).toBeUndefined();
    expect(validateGraph(r)).toEqual([]);
    const weights: WeightMap = new Map([
      ["fc.weight", { shape: [2, 4], data: Float32Array.from([0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8]) }],
      ["fc.bias", { shape: [2], data: Float32Array.from([0.05, -0.05]) }],
    ]);
    expect(maxDiff(g, r, weights)).toBeLessThanOrEqual(1e-12);
    expect(maxDiff(g, optimizeGraph(g, { mode: "infer" }), weights)).toBeLessThanOrEqual(1e-12);
  });

  it("never merges RNG ops, nodes of other modes, or a node producing a graph output", () => {
    const b = new GraphBuilder("t");
    const seed = b.input("seed", "i32", []);
    const x = b.input("x", "f32", [3]);
    const [r1] = b.node("random_normal", [seed], { size: 3 });
    const [r2] = b.node("random_normal", [seed], { size: 3 });
    const [s1] = b.node("sigmoid", [x], {});
    const [s2] = b.node("sigmoid", [x], {}); // a graph output itself: kept
    const [a] = b.node("add", [r1!, r2!], {});
    const [y] = b.node("add", [a!, s1!], {});
    b.output("y", y!);
    b.output("s2", s2!);
    const g = b.build();
    const r = eliminateCommonSubexpressions(g);
    expect(r).toEqual(g);
    expect(maxDiff(g, optimizeGraph(g, { mode: "infer" }))).toBeLessThanOrEqual(1e-12);
  });
});
