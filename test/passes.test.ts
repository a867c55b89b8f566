// Pass tests: remove-dropout, dead-code elimination and the pipeline; every result must validate
// and compute the same outputs. Neighbours: compiler/passes/*, compiler/ir/validate.ts.

import { describe, expect, it } from "vitest";
import { checkSource } from "../compiler/check.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { removeDropout } from "../compiler/passes/remove-dropout.js";
import { eliminateDeadCode } from "../compiler/passes/dce.js";
import { PASSES, optimizeGraph } from "../compiler/passes/pipeline.js";
import { runReference } from "../compiler/interp/reference.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph, WeightMap } from "../compiler/ir/types.js";

function lower(src: string): Graph {
  const r = checkSource(src, "t.model");
  if (!r.graph) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.graph;
}

const SRC = `
model m {
  input x: f32[4]
  let h = x -> fc1: dense(4) -> dropout(0.5) -> relu
  let unused = x -> fc9: dense(7) -> sigmoid
  output y = h -> dropout(0.2)
  output z = h -> fc2: dense(2)
}`;

function weights(g: Graph): WeightMap {
  const m: WeightMap = new Map();
  let k = 0;
  for (const v of Object.values(g.values))
    if (v.kind === "param" || v.kind === "state") {
      const shape = v.type.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      m.set(v.name!, { shape, data: Float32Array.from({ length: n }, () => Math.sin(++k) / 2) });
    }
  return m;
}

describe("remove-dropout", () => {
  it("rewires consumers and outputs to the dropout input", () => {
    const g = lower(SRC);
    const before = JSON.stringify(g);
    const r = removeDropout(g);
    expect(JSON.stringify(g)).toBe(before); // pure
    expect(r.nodes.map((n) => n.op)).toEqual(["dense", "relu", "dense", "sigmoid", "dense"]);
    const relu = r.nodes.find((n) => n.op === "relu")!;
    expect(r.outputs.find((o) => o.name === "y")!.value).toBe(relu.outputs[0]);
    expect(relu.inputs[0]).toBe(r.nodes[0]!.outputs[0]);
    expect(validateGraph(r)).toEqual([]);
  });

  it("drops nodes marked mode 'train'", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "f32", [3]);
    const [y] = b.node("relu", [x], {}, { mode: "train" });
    const [z] = b.node("tanh", [y!], {});
    b.output("z", z!);
    const r = removeDropout(b.build());
    expect(r.nodes.map((n) => n.op)).toEqual(["tanh"]);
    expect(r.nodes[0]!.inputs).toEqual([x]);
    expect(validateGraph(r)).toEqual([]);
  });
});

describe("dce", () => {
  it("removes nodes that reach no output and their params", () => {
    const g = lower(SRC);
    const r = eliminateDeadCode(g);
    expect(r.nodes.map((n) => n.op)).toEqual(["dense", "dropout", "relu", "dropout", "dense"]);
    const names = Object.values(r.values).filter((v) => v.kind === "param").map((v) => v.name);
    expect(names).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    expect(r.inputs).toEqual(g.inputs);
    expect(validateGraph(r)).toEqual([]);
  });
});

describe("optimizeGraph", () => {
  it("lists its passes with modes", () => {
    expect(PASSES.map((p) => [p.name, p.modes, p.fixedPoint === true])).toEqual([
      ["remove-dropout", ["infer"], false],
      ["fold-constants", ["infer", "train"], false],
      ["cse", ["infer", "train"], false],
      ["dce", ["infer", "train"], true],
    ]);
  });

  it("infer: no dropout, no dead code, same outputs", () => {
    const g = lower(SRC);
    const o = optimizeGraph(g, { mode: "infer" });
    expect(o.nodes.map((n) => n.op)).toEqual(["dense", "relu", "dense"]);
    expect(validateGraph(o)).toEqual([]);
    const w = weights(g);
    const x = { x: { shape: [2, 4], data: Float64Array.from([1, -2, 3, 0.5, -1, 0, 2, 4]) } };
    const a = runReference(g, w, x);
    const b = runReference(o, w, x);
    expect([...b["y"]!.data]).toEqual([...a["y"]!.data]);
    expect([...b["z"]!.data]).toEqual([...a["z"]!.data]);
  });

  it("train: keeps dropout, still removes dead code", () => {
    const o = optimizeGraph(lower(SRC), { mode: "train" });
    expect(o.nodes.map((n) => n.op)).toEqual(["dense", "dropout", "relu", "dropout", "dense"]);
  });
});

describe("validateGraph", () => {
  it("accepts lowered graphs and reports structural errors", () => {
    const g = lower(SRC);
    expect(validateGraph(g)).toEqual([]);
    const broken = structuredClone(g);
    broken.nodes.reverse();
    expect(validateGraph(broken).some((e) => e.includes("before it is defined"))).toBe(true);
    const wrongType = structuredClone(g);
    wrongType.values[wrongType.nodes[0]!.outputs[0]!]!.type.shape = ["N", 5];
    expect(validateGraph(wrongType)).toContain("node " + g.nodes[0]!.id + " (dense): output " + g.nodes[0]!.outputs[0] + " stored as f32[N, 5], rule gives f32[N, 4]");
    const badOp = structuredClone(g);
    badOp.nodes[2]!.op = "frobnicate";
    expect(validateGraph(badOp)).toContain(`node ${g.nodes[2]!.id}: unknown op 'frobnicate'`);
    expect(validateGraph({ irVersion: 2 }).length).toBeGreaterThan(0);
    const arity = structuredClone(g);
    arity.nodes[2]!.inputs.push(arity.nodes[2]!.inputs[0]!);
    expect(validateGraph(arity).some((e) => e.includes("2 activation inputs, op takes 1"))).toBe(true);
  });
});
