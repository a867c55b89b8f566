// passes/fuse-epilogue.ts: which elementwise nodes after a dense / implicit conv2d join its GEMM epilogue (relu and
// the other activations, one residual add/mul in either operand order, reshapes between), and that the fused
// module computes the unfused graph's float64 reference values (within 1e-5) and the unfused module's f32 values
// bit for bit. Neighbours: backend/wasm/emit.ts (runs the pass), kernels/dense.ts + gemm-packed.ts +
// conv-implicit.ts (the epilogue), kernels/fused.ts (the steps).

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph } from "../compiler/ir/types.js";
import { epilogueOf, fuseEpilogues } from "../compiler/passes/fuse-epilogue.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { load, randomInputs, randomWeights, worstError } from "./backend.helpers.js";
import { expectSameBits } from "./fuse.helpers.js";

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

/**
 * A residual block over x [N, 7, 12] (rows of 12: one full 8-column panel and a 4-column tail): dense(12, bias
 * optional) then `tail` (the ops after it, "res" meaning the residual x), output y.
 */
function block(tail: string[], opts: { bias?: boolean; units?: number } = {}): Graph {
  const b = new GraphBuilder("res");
  const units = opts.units ?? 12;
  const x = b.input("x", "f32", [7, 12]);
  const ins = [x, b.param("fc.weight", [units, 12], U), ...(opts.bias === false ? [] : [b.param("fc.bias", [units], U)])];
  let [v] = b.node("dense", ins, { units, bias: opts.bias !== false });
  for (const t of tail) {
    if (t === "x+") [v] = b.node("add", [x, v!], {});
    else if (t === "+x") [v] = b.node("add", [v!, x], {});
    else if (t === "*x") [v] = b.node("mul", [v!, x], {});
    else if (t === "leaky_relu") [v] = b.node(t, [v!], { alpha: 0.1 });
    else if (t === "gelu_tanh") [v] = b.node("gelu", [v!], { approximate: "tanh" });
    else if (t === "gelu") [v] = b.node("gelu", [v!], { approximate: "none" });
    else [v] = b.node(t, [v!], {});
  }
  b.output("y", v!);
  return b.build();
}

describe("fuseEpilogues", () => {
  it("fuses each dense whose only use is a relu; the relu's output becomes the dense's", () => {
    const g = mlp(false);
    const f = fuseEpilogues(g);
    expect(f.nodes.map((n) => [n.op, epilogueOf(n).steps.map((s) => s.op)])).toEqual([["dense", ["relu"]], ["dense", ["relu"]]]);
    expect(f.nodes[1]!.outputs).toEqual(g.nodes[3]!.outputs);
    expect(Object.keys(f.values)).not.toContain(g.nodes[0]!.outputs[0]);
    expect(g.nodes).toHaveLength(4); // input graph untouched
  });

  it("keeps a dense whose output is also a graph output (or used elsewhere) unfused", () => {
    const f = fuseEpilogues(mlp(true));
    expect(f.nodes.map((n) => n.op)).toEqual(["dense", "dense", "relu"]);
    expect(epilogueOf(f.nodes[0]!).steps).toHaveLength(1);
    expect(f.nodes[1]!.attrs["epilogue"]).toBeUndefined();
    const none = mlp(true);
    none.nodes = none.nodes.filter((n) => n.op !== "relu").slice(0, 1);
    none.outputs = [{ name: "y", value: none.nodes[0]!.outputs[0]! }];
    expect(fuseEpilogues(none)).toBe(none);
  });

  it("records the graph's order: act(xW + b) + r, act(xW + b + r), r + ..., x * ...; the residual is the last input", () => {
    const steps = (tail: string[], bias?: boolean): unknown => {
      const f = fuseEpilogues(block(tail, { ...(bias === false ? { bias } : {}) }));
      expect(f.nodes).toHaveLength(1);
      const e = epilogueOf(f.nodes[0]!);
      expect(e.operands).toEqual(tail.some((t) => t.includes("x")) ? [f.inputs[0]!.value] : []);
      return e.steps.map((s) => [s.op, s.args]);
    };
    expect(steps(["gelu", "x+"])).toEqual([["gelu", [0]], ["add", [1, 2]]]);
    expect(steps(["+x", "gelu"])).toEqual([["add", [0, 1]], ["gelu", [2]]]);
    expect(steps(["sigmoid", "*x", "tanh"], false)).toEqual([["sigmoid", [0]], ["mul", [2, 1]], ["tanh", [3]]]);
    // a second residual add of the same tensor reuses its slot
    expect(steps(["+x", "relu", "x+"])).toEqual([["add", [0, 1]], ["relu", [2]], ["add", [1, 3]]]);
  });

  it("stops at a broadcast operand, a second distinct residual, a shape change, and a train-mode node", () => {
    const b = new GraphBuilder("stop");
    const x = b.input("x", "f32", [7, 12]);
    const z = b.input("z", "f32", [7, 12]);
    const [d] = b.node("dense", [x, b.param("fc.weight", [12, 12], U), b.param("fc.bias", [12], U)], { units: 12, bias: true });
    const [a] = b.node("add", [d!, x], {});
    const [m] = b.node("mul", [a!, z], {}); // second distinct operand: stays
    const [d2] = b.node("dense", [m!, b.param("fc2.weight", [12, 12], U)], { units: 12, bias: false });
    const [s] = b.node("add", [d2!, b.param("row", [12], U)], {}); // broadcast: stays
    b.output("y", s!);
    const f = fuseEpilogues(b.build());
    expect(f.nodes.map((n) => `${n.op}:${epilogueOf(n).steps.map((q) => q.op).join("+")}`)).toEqual(["dense:add", "mul:", "dense:", "add:"]);
  });

  it("two dense outputs added: the add joins the first dense only; a dense may store through a reshape", () => {
    const b = new GraphBuilder("two");
    const x = b.input("x", "f32", [10]);
    const [p] = b.node("dense", [x, b.param("a.weight", [12, 10], U), b.param("a.bias", [12], U)], { units: 12, bias: true });
    const [q] = b.node("dense", [x, b.param("b.weight", [12, 10], U), b.param("b.bias", [12], U)], { units: 12, bias: true });
    const [s] = b.node("add", [p!, q!], {});
    const [r] = b.node("reshape", [s!], { shape: [3, 4] });
    b.output("y", r!);
    const [d3] = b.node("dense", [x, b.param("c.weight", [12, 10], U)], { units: 12, bias: false });
    const [r3] = b.node("reshape", [d3!], { shape: [3, 4] });
    const [t] = b.node("sigmoid", [r3!], {});
    b.output("t", t!);
    const g = b.build();
    const f = fuseEpilogues(g);
    expect(f.nodes.map((n) => `${n.op}:${epilogueOf(n).steps.map((q) => q.op).join("+")}`)).toEqual(["dense:", "dense:add", "reshape:", "dense:sigmoid"]);
    expect(f.nodes[3]!.outputs).toEqual([t]);
    return expectSameBits(g);
  });

  for (const tail of [["gelu", "x+"], ["+x", "gelu_tanh"], ["sigmoid", "*x", "tanh"], ["leaky_relu"], ["+x", "relu", "x+"]])
    for (const bias of [true, false])
      it(`dense -> ${tail.join(" -> ")} (bias ${bias}): bit-identical to unfused, within 1e-5 of the reference`, async () => {
        const g = block(tail, { bias });
        expect(fuseEpilogues(g).nodes).toHaveLength(1);
        await expectSameBits(g);
        expect(await worstError(g, { batches: [1, 3, 64], lo: -2, hi: 2 })).toBeLessThanOrEqual(1e-5);
      });

  it("implicit-GEMM conv2d -> relu -> + residual and -> gelu: fused, bit-identical, within 1e-5", async () => {
    for (const tail of [["relu", "x+"], ["gelu"], ["+x", "sigmoid"]]) {
      const b = new GraphBuilder("conv");
      const x = b.input("x", "f32", [6, 9, 10]);
      const ins = [x, b.param("conv.weight", [6, 6, 3, 3], U), b.param("conv.bias", [6], U)];
      let [v] = b.node("conv2d", ins, { out_channels: 6, kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1, bias: true });
      for (const t of tail) [v] = t === "x+" ? b.node("add", [x, v!], {}) : t === "+x" ? b.node("add", [v!, x], {}) : b.node(t, [v!], t === "gelu" ? { approximate: "none" } : {});
      b.output("y", v!);
      const g = b.build();
      const f = fuseEpilogues(g);
      expect(f.nodes.map((n) => n.op)).toEqual(["conv2d"]);
      expect(epilogueOf(f.nodes[0]!).steps.map((s) => s.op)).toEqual(tail.map((t) => (t.includes("x") ? "add" : t)));
      await expectSameBits(g, [1, 3]);
      expect(await worstError(g, { batches: [1, 3], lo: -2, hi: 2 })).toBeLessThanOrEqual(1e-5);
    }
  });

  it("multihead_attention (query x, a padding mask) -> x + . -> gelu: out_proj's store takes both, bit-identical, within 1e-5", async () => {
    const b = new GraphBuilder("attn");
    const x = b.input("x", "f32", [5, 8]);
    const kv = b.input("kv", "f32", [6, 8]);
    const mask = b.input("mask", "f32", [6]);
    const [a] = b.node(
      "multihead_attention",
      [x, kv, mask, b.param("in_proj_weight", [24, 8], U), b.param("in_proj_bias", [24], U), b.param("out_proj.weight", [8, 8], U), b.param("out_proj.bias", [8], U)],
      { num_heads: 2, causal: false },
    );
    const [h] = b.node("add", [x, a!], {});
    const [y] = b.node("gelu", [h!], { approximate: "none" });
    b.output("y", y!);
    const g = b.build();
    const f = fuseEpilogues(g);
    expect(f.nodes.map((n) => n.op)).toEqual(["multihead_attention"]);
    expect(f.nodes[0]!.inputs).toEqual([...g.nodes[0]!.inputs, x]);
    expect(epilogueOf(f.nodes[0]!).steps.map((q) => [q.op, q.args])).toEqual([["add", [1, 0]], ["gelu", [2]]]);
    await expectSameBits(g, [1, 3]);
    expect(await worstError(g, { batches: [1, 3], lo: -1, hi: 1 })).toBeLessThanOrEqual(1e-5);
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
