// Reference interpreter tests: whole graphs from .model source with hand-set weights, batching,
// and the errors for missing inputs/weights. Neighbours: compiler/interp/reference.ts; per-op values
// in test/ops.test.ts, PyTorch comparisons in test/golden.test.ts.

import { describe, expect, it } from "vitest";
import { checkSource } from "../compiler/check.js";
import { runReference } from "../compiler/interp/reference.js";
import type { Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";

function lower(src: string): Graph {
  const r = checkSource(src, "t.model");
  if (!r.graph) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.graph;
}

const w = (shape: number[], data: number[]) => ({ shape, data: Float32Array.from(data) });
const t = (shape: number[], data: number[]): RefTensor => ({ shape, data: Float64Array.from(data) });

const MLP = `
model mlp {
  input x: f32[2]
  let h = x -> fc1: dense(3) -> relu -> dropout(0.5)
  output y = h -> fc2: dense(1, bias=false)
  output s = h * 2 + x -> fc3: dense(3, bias=false) -> softmax
}`;

function mlpWeights(): WeightMap {
  return new Map([
    ["fc1.weight", w([3, 2], [1, 0, 0, 1, 1, -1])],
    ["fc1.bias", w([3], [0, 0, 0.5])],
    ["fc2.weight", w([1, 3], [1, 2, 3])],
    ["fc3.weight", w([3, 3], [0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ]);
}

describe("runReference", () => {
  it("runs a graph with named weights, batched", () => {
    const g = lower(MLP.replace("output s = h * 2 + x -> fc3: dense(3, bias=false) -> softmax", ""));
    const out = runReference(g, mlpWeights(), { x: t([2, 2], [1, 2, 3, -1]) });
    // sample 0: fc1 = [1, 2, -0.5] -> relu [1, 2, 0] -> fc2 = 1 + 4 + 0 = 5
    // sample 1: fc1 = [3, -1, 4.5] -> relu [3, 0, 4.5] -> fc2 = 3 + 0 + 13.5 = 16.5
    expect(out["y"]!.shape).toEqual([2, 1]);
    expect([...out["y"]!.data]).toEqual([5, 16.5]);
  });

  it("uses scalar constants and broadcasting; '->' binds tighter than '+'", () => {
    const g = lower(MLP.replace("input x: f32[2]", "input x: f32[3]"));
    const weights = mlpWeights();
    weights.set("fc1.weight", w([3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]));
    const out = runReference(g, weights, { x: t([1, 3], [1, -2, 3]) }, { batch: 1 });
    expect([...out["y"]!.data]).toEqual([1 + 0 + 3 * 3.5]);
    // s = h * 2 + softmax(fc3(x)) with fc3 all zeros: relu(fc1) = [1, 0, 3.5], softmax = 1/3 each.
    const s = [...out["s"]!.data];
    [2 + 1 / 3, 1 / 3, 7 + 1 / 3].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 14));
  });

  it("throws naming a missing weight or a wrong input shape", () => {
    const g = lower(MLP);
    const weights = mlpWeights();
    weights.delete("fc2.weight");
    expect(() => runReference(g, weights, { x: t([1, 2], [0, 0]) })).toThrow("missing weight 'fc2.weight' [1, 3]");
    expect(() => runReference(g, mlpWeights(), { x: t([1, 3], [0, 0, 0]) })).toThrow(
      "input 'x' has shape [1, 3], expected [1, 2]",
    );
    expect(() => runReference(g, mlpWeights(), {})).toThrow("missing input 'x'");
    const bad = mlpWeights();
    bad.set("fc1.bias", w([4], [0, 0, 0, 0]));
    expect(() => runReference(g, bad, { x: t([1, 2], [0, 0]) })).toThrow("weight 'fc1.bias' has shape [4], expected [3]");
  });
});
