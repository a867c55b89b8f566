// Tests of the constant-folding pass: exact nodes and consts after folding on hand-built graphs, and the
// reference interpreter's outputs unchanged on random inputs. Neighbours: compiler/passes/fold-constants.ts.

import { describe, expect, it } from "vitest";
import { foldConstants } from "../compiler/passes/fold-constants.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { maxDiff } from "./passes.helpers.js";


describe("fold-constants", () => {
  it("folds a chain of add/mul/relu of consts into one const; the consumer reads it", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "f32", [3]);
    const c1 = b.constant([3], [1, -2, 3]);
    const c2 = b.constant([3], [0.5, 0.25, -4]);
    const [s] = b.node("add", [c1, c2], {});
    const [m] = b.node("mul", [s!, c1], {});
    const [r] = b.node("relu", [m!], {});
    const [y] = b.node("add", [x, r!], {});
    b.output("y", y!);
    const g = b.build();
    const before = JSON.stringify(g);
    const f = foldConstants(g);
    expect(JSON.stringify(g)).toBe(before); // pure
    expect(f.nodes.map((n) => [n.op, n.inputs, n.outputs])).toEqual([["add", [x, r], [y]]]);
    expect(f.values[s!]).toMatchObject({ kind: "const", data: [1.5, -1.75, -1] });
    expect(f.values[m!]).toMatchObject({ kind: "const", data: [1.5, 3.5, -3] });
    expect(f.values[r!]).toMatchObject({ kind: "const", type: { dtype: "f32", shape: [3] }, data: [1.5, 3.5, 0] });
    expect(validateGraph(f)).toEqual([]);
    expect(maxDiff(g, f)).toBeLessThanOrEqual(1e-12);
    // With DCE in the pipeline the intermediate consts go too.
    const o = optimizeGraph(g, { mode: "infer" });
    expect(o.nodes.map((n) => n.op)).toEqual(["add"]);
    expect(Object.keys(o.values).sort()).toEqual([r, x, y].sort());
    expect(maxDiff(g, o)).toBeLessThanOrEqual(1e-12);
  });

  it("folds reshape/transpose of a const table (sinusoid-like) added to an input", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "f32", [2, 3]);
    const table = b.constant([1, 3, 2], [0, 1, Math.sin(1), Math.cos(1), Math.sin(2), Math.cos(2)]);
    const [t] = b.node("transpose", [table], { dim0: 1, dim1: 2 });
    const [y] = b.node("add", [x, t!], {});
    b.output("y", y!);
    const g = b.build();
    const f = foldConstants(g);
    expect(f.nodes.map((n) => [n.op, n.inputs])).toEqual([["add", [x, t]]]);
    expect(f.values[t!]).toMatchObject({ kind: "const", type: { shape: [1, 2, 3] }, data: [0, Math.sin(1), Math.sin(2), 1, Math.cos(1), Math.cos(2)] });
    expect(validateGraph(f)).toEqual([]);
    expect(maxDiff(g, f)).toBeLessThanOrEqual(1e-12);
  });

  it("leaves params, inputs, RNG ops, graph outputs and batch-shaped values alone", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "f32", [3]);
    const w = b.param("w", [3], { kind: "ones" });
    const c = b.constant([3], [1, 2, 3]);
    const seed = b.constant([2], [7, 8], "i32");
    const [pw] = b.node("mul", [w, c], {}); // param input: not folded
    const [rn] = b.node("random_normal", [seed], { size: 3 }); // RNG: not folded
    const [cc] = b.node("relu", [c], {}); // a graph output: not folded
    const [y] = b.node("add", [x, pw!], {});
    b.output("y", y!);
    b.output("cc", cc!);
    b.output("rn", rn!);
    const g = b.build();
    const f = foldConstants(g);
    expect(f).toEqual(g);
    const weights: WeightMap = new Map([["w", { shape: [3], data: Float32Array.from([0.5, -1, 2]) }]]);
    expect(maxDiff(g, optimizeGraph(g, { mode: "infer" }), weights)).toBeLessThanOrEqual(1e-12);
  });
});
