// dense on a rank-3 input [N, L, E] applies to the last axis like nn.Linear: the float64 reference equals
// the rank-2 dense of the [N*L, E] rows, the wasm kernels (inference SIMD + scalar, training kernels
// dense_grad_input / dense_grad_weight / channel_sum via the kernel harness) match it, and the autodiff rule
// matches finite differences. PyTorch agreement of linear1/linear2 on [N, L, E]: test/transformer-block.test.ts.

import { describe, expect, it } from "vitest";
import type { RefTensor } from "../compiler/ir/types.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { load, randomInputs, randomWeights as randomWeightsF32, reference } from "./backend.helpers.js";
import { buildKernel, uniform as kuniform, type KernelCase } from "./kernel-harness.js";
import { checkFiniteDifferences, lowerSource, randomWeights, rng, uniform, withLoss } from "./autodiff.helpers.js";
import { relErr } from "./attention.helpers.js";

const SRC = "model m {\n  input x: f32[5, 8]\n  output y = x -> fc: dense(3)\n}\n";

describe("dense on [N, L, E]", () => {
  it("reference = nn.Linear on each of the N*L rows", () => {
    const r = rng(1);
    const x = uniform(r, [2, 5, 8]);
    const w = uniform(r, [3, 8]);
    const b = uniform(r, [3]);
    const [y3] = getOp("dense")!.reference([x, w, b], { units: 3, bias: true });
    const [y2] = getOp("dense")!.reference([{ shape: [10, 8], data: x.data }, w, b], { units: 3, bias: true });
    expect(y3!.shape).toEqual([2, 5, 3]);
    expect(Array.from(y3!.data)).toEqual(Array.from(y2!.data));
    expect(getOp("dense")!.infer([{ dtype: "f32", shape: ["N", 5, 8] }, { dtype: "f32", shape: [3, 8] }, { dtype: "f32", shape: [3] }], { units: 3, bias: true })).toEqual([
      { dtype: "f32", shape: ["N", 5, 3] },
    ]);
  });

  it("wasm inference kernel (SIMD + scalar) vs reference, batches 1 and 3", async () => {
    const g = lowerSource(SRC);
    const w = randomWeightsF32(g, 2);
    for (const simd of [true, false]) {
      const m = await load(emitWasm(g, w, { simd, embedWeights: true }), true);
      for (const B of [1, 3]) {
        const ins = randomInputs(g, B, 4);
        expect(relErr(m.run(ins, B)["y"]!, reference(g, w, ins, B)["y"]!)).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it("training kernels dense_grad_input / dense_grad_weight / channel_sum on [N, 5, *] (SIMD + scalar)", async () => {
    const cases: KernelCase[] = [
      { op: "dense_grad_input", attrs: {}, inputs: [{ shape: ["N", 5, 3], data: (B) => kuniform(B * 15, 1) }, { shape: [3, 8], kind: "param", data: () => kuniform(24, 2) }] },
      { op: "dense_grad_weight", attrs: {}, inputs: [{ shape: ["N", 5, 3], data: (B) => kuniform(B * 15, 3) }, { shape: ["N", 5, 8], data: (B) => kuniform(B * 40, 4) }] },
      { op: "channel_sum", attrs: { axis: 2 }, inputs: [{ shape: ["N", 5, 3], data: (B) => kuniform(B * 15, 5) }] },
    ];
    for (const kc of cases)
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, 3);
        const data = kc.inputs.map((i) => i.data(3));
        const [got] = km.run(data, 3);
        const ref = getOp(kc.op)!.reference(
          data.map((d, k): RefTensor => ({ shape: kc.inputs[k]!.shape.map((s) => (s === "N" ? 3 : s)), data: Float64Array.from(d) })),
          kc.attrs,
        );
        expect(relErr(got!, ref[0]!.data), `${kc.op} ${simd ? "SIMD" : "scalar"}`).toBeLessThanOrEqual(1e-6);
      }
  });

  it("gradient rule vs finite differences (x, weight, bias)", () => {
    const { graph, loss } = withLoss(lowerSource(SRC), "y", { op: "mse", attrs: { reduction: "sum" }, target: { dtype: "f32", shape: [5, 3] } });
    const params = Object.values(graph.values).filter((v) => v.kind === "param").map((v) => v.id);
    const res = gradGraph(graph, { loss, wrt: [...params, graph.inputs[0]!.value] });
    const r = rng(7);
    const inputs: Record<string, RefTensor> = { x: uniform(r, [2, 5, 8]), target: uniform(r, [2, 5, 3]) };
    expect(checkFiniteDifferences(res.graph, randomWeights(graph, r), inputs, ["fc.weight", "fc.bias", "x"])).toBe(24 + 3 + 80);
  });
});
