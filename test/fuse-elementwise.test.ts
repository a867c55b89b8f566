// passes/fuse-elementwise.ts: which elementwise regions become one fused_elementwise node (chains and single-use
// trees of one output shape; operands may broadcast), and that its one loop computes the unfused module's f32
// values bit for bit and the float64 reference within 1e-5 (SIMD and scalar, batches 1/3/64, odd sizes for the
// scalar tails). Neighbours: kernels/fused.ts (the kernel), kernels/binary.ts (the broadcast loop), fuse-steps.ts.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph } from "../compiler/ir/types.js";
import { FUSED_ELEMENTWISE, fuseElementwise } from "../compiler/passes/fuse-elementwise.js";
import { decodeSteps } from "../compiler/passes/fuse-steps.js";
import { worstError } from "./backend.helpers.js";
import { expectSameBits } from "./fuse.helpers.js";

const U = { kind: "uniform" as const, low: -0.5, high: 0.5 };

/** x [N, 5, 7], z [N, 5, 7], row [7] param, col [5, 1] param: sigmoid(x) * z + row -> tanh -> + leaky_relu(col * x). */
function tree(): Graph {
  const b = new GraphBuilder("tree");
  const x = b.input("x", "f32", [5, 7]);
  const z = b.input("z", "f32", [5, 7]);
  const [s] = b.node("sigmoid", [x], {});
  const [m] = b.node("mul", [s!, z], {});
  const [a] = b.node("add", [m!, b.param("row", [7], U)], {});
  const [t] = b.node("tanh", [a!], {});
  const [c] = b.node("mul", [b.param("col", [5, 1], U), x], {});
  const [l] = b.node("leaky_relu", [c!], { alpha: 0.2 });
  const [y] = b.node("add", [t!, l!], {});
  b.output("y", y!);
  return b.build();
}

describe("fuseElementwise", () => {
  it("a single-use tree of one shape becomes one node: operands in order of first use, steps in node order", () => {
    const g = tree();
    const f = fuseElementwise(g);
    expect(f.nodes).toHaveLength(1);
    const n = f.nodes[0]!;
    expect(n.op).toBe(FUSED_ELEMENTWISE);
    const [x, z] = g.inputs.map((i) => i.value);
    const row = g.nodes[2]!.inputs[1]!;
    const col = g.nodes[4]!.inputs[0]!;
    expect(n.inputs).toEqual([x, z, row, col]);
    expect(n.outputs).toEqual(g.outputs.map((o) => o.value));
    // slots 0-3 operands; steps 4.. in node order
    expect(decodeSteps(n, "steps").map((s) => [s.op, s.args])).toEqual([
      ["sigmoid", [0]],
      ["mul", [4, 1]],
      ["add", [5, 2]],
      ["tanh", [6]],
      ["mul", [3, 0]],
      ["leaky_relu", [8]],
      ["add", [7, 9]],
    ]);
    expect(decodeSteps(n, "steps")[5]!.attrs).toEqual({ alpha: 0.2 });
    expect(Object.keys(f.values)).toHaveLength(Object.keys(g.values).length - 6);
  });

  it("splits at a value used twice or exposed as an output, and at a shape change (broadcast intermediate)", () => {
    const b = new GraphBuilder("split");
    const x = b.input("x", "f32", [4, 6]);
    const r = b.param("r", [6], U);
    const [s] = b.node("sigmoid", [r], {}); // [6] ...
    const [a] = b.node("add", [x, s!], {}); // ... broadcast into [N, 4, 6]: s stays its own node
    const [g1] = b.node("gelu", [a!], { approximate: "none" });
    const [t] = b.node("tanh", [g1!], {});
    const [u] = b.node("mul", [t!, t!], {}); // t used twice: region ends at t
    const [v] = b.node("relu", [u!], {});
    b.output("y", v!);
    b.output("t", t!);
    const f = fuseElementwise(b.build());
    expect(f.nodes.map((n) => `${n.op}:${decodeSteps(n, "steps").map((q) => q.op).join("+")}`)).toEqual([
      "sigmoid:",
      "fused_elementwise:add+gelu+tanh",
      "fused_elementwise:mul+relu",
    ]);
    expect(decodeSteps(f.nodes[2]!, "steps")[0]!.args).toEqual([0, 0]);
    expect(fuseElementwise(f)).toBe(f); // nothing left to fuse
  });

  it("one lone elementwise node is left alone", () => {
    const b = new GraphBuilder("one");
    const [y] = b.node("add", [b.input("x", "f32", [3]), b.input("z", "f32", [3])], {});
    b.output("y", y!);
    const g = b.build();
    expect(fuseElementwise(g)).toBe(g);
  });

  it("the fused tree: bit-identical to the unfused module, within 1e-5 of the reference", async () => {
    const g = tree();
    await expectSameBits(g);
    expect(await worstError(g, { batches: [1, 3, 64], lo: -3, hi: 3 })).toBeLessThanOrEqual(1e-5);
  });

  it("broadcast patterns ([N, 4, 6] with [6], [4, 1], [N, 1, 6], [1]; [N, 3] with [N, 1]): bit-identical, within 1e-5", async () => {
    for (const shape of [[6], [4, 1], [1, 6], [1]]) {
      const b = new GraphBuilder("bc");
      const x = b.input("x", "f32", [4, 6]);
      const o = shape.length === 2 && shape[0] === 1 ? b.input("o", "f32", shape) : b.param("o", shape, U);
      const [s] = b.node("gelu", [x], { approximate: "tanh" });
      const [m] = b.node("mul", [o, s!], {});
      const [a] = b.node("add", [m!, x], {});
      b.output("y", a!);
      const g = b.build();
      expect(fuseElementwise(g).nodes.map((n) => n.op)).toEqual([FUSED_ELEMENTWISE]);
      await expectSameBits(g);
      expect(await worstError(g, { batches: [1, 3, 64], lo: -3, hi: 3 })).toBeLessThanOrEqual(1e-5);
    }
    const b = new GraphBuilder("col");
    const x = b.input("x", "f32", [3]);
    const c = b.input("c", "f32", [1]);
    const [r] = b.node("relu", [x], {});
    const [a] = b.node("add", [r!, c], {});
    b.output("y", a!);
    await expectSameBits(b.build());
  });
});
