// passes/fuse-dense-relu.ts: which dense -> relu pairs fuse, and that the fused wasm module computes the same
// values as the unfused graph's float64 reference (and bit-identical to a separate relu kernel).
// Neighbours: backend/wasm/emit.ts (runs the pass), kernels/dense.ts + gemm-packed.ts (the epilogue).

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph } from "../compiler/ir/types.js";
import { fuseDenseRelu } from "../compiler/passes/fuse-dense-relu.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { load, randomInputs, randomWeights, worstError } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -0.5, high: 0.5 };

/** x -> dense(13) -> relu -> dense(9, no bias) -> relu -> out "y"; plus "h" = the second dense's raw output when `exposeH`. */
function mlp(exposeH: boolean): Graph {
  const b = new GraphBuilder("mlp");
  const x = b.input("x", "f32", [20]);
  const [d1] = b.node("dense", [x, b.param("fc1.weight", [13, 20], U), b.param("fc1.bias", [13], U)], { units: 13, bias: true });
  const [r1] = b.node("relu", [d1!], {});
  const [d2] = b.node("dense", [r1!, b.param("fc2.weight", [9, 13], U)], { units: 9, bias: false });
  const [r2] = b.node("relu", [d2!], {});
  b.output("y", r2!);
  if (exposeH) b.output("h", d2!);
  return b.build();
}

describe("fuseDenseRelu", () => {
  it("fuses each dense whose only use is a relu; the relu's output becomes the dense's", () => {
    const g = mlp(false);
    const f = fuseDenseRelu(g);
    expect(f.nodes.map((n) => [n.op, n.attrs["relu"]])).toEqual([["dense", true], ["dense", true]]);
    expect(f.nodes[1]!.outputs).toEqual(g.nodes[3]!.outputs);
    expect(Object.keys(f.values)).not.toContain(g.nodes[0]!.outputs[0]);
    expect(g.nodes).toHaveLength(4); // input graph untouched
  });

  it("keeps a dense whose output is also a graph output (or used elsewhere) unfused", () => {
    const f = fuseDenseRelu(mlp(true));
    expect(f.nodes.map((n) => n.op)).toEqual(["dense", "dense", "relu"]);
    expect(f.nodes[0]!.attrs["relu"]).toBe(true);
    expect(f.nodes[1]!.attrs["relu"]).toBeUndefined();
    const none = mlp(true);
    none.nodes = none.nodes.filter((n) => n.op !== "relu").slice(0, 1);
    none.outputs = [{ name: "y", value: none.nodes[0]!.outputs[0]! }];
    expect(fuseDenseRelu(none)).toBe(none);
  });

  it("fused wasm (SIMD and scalar, batches 1/3/64) matches the unfused graph's reference within 1e-5", async () => {
    for (const expose of [false, true]) expect(await worstError(mlp(expose), { batches: [1, 3, 64], lo: -2, hi: 2 })).toBeLessThanOrEqual(1e-5);
  });

  it("a module mixing a fused dense (1) and a separate relu kernel (after dense 2): y is exactly max(h, 0)", async () => {
    const g = mlp(true); // "h" keeps dense 2 unfused: its relu runs as a kernel; dense 1 is fused
    const w = randomWeights(g, 4);
    const m = await load(emitWasm(g, w, { simd: true, embedWeights: true }));
    const inputs = randomInputs(g, 5, 9);
    const out = m.run(inputs, 5);
    const relu = Array.from(out["h"]!, (v) => Math.max(v, 0));
    expect(Array.from(out["y"]!)).toEqual(relu);
  });
});
