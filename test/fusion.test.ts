// transpose, mean, gated_sum end to end: float64 references and wasm forward (emitWasm, SIMD + scalar)
// vs PyTorch golden vectors (test/golden/gen_fusion.py); gradients are the gen_grad.py cases transpose_*,
// mean_*, gated_sum* run by autodiff-golden.test.ts (float64) and backend-grad-golden.test.ts (wasm).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RefTensor, WeightMap } from "../compiler/ir/types.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { OpArgError, OpDTypeError, OpTypeError } from "../compiler/ir/ops/def.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { load } from "./backend.helpers.js";
import { checkFiniteDifferences, lowerSource, randomWeights, rng, uniform, withLoss } from "./autodiff.helpers.js";
import { relErr } from "./rel-err.js";

interface T {
  shape: number[];
  data: number[];
}
interface FusionCase {
  name: string;
  op: "transpose" | "mean" | "gated_sum";
  attrs: Record<string, number | boolean>;
  inputs: Record<string, T>;
  params: Record<string, T>;
  y: T;
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), "golden", "fusion", "cases.json");
const CASES = (JSON.parse(readFileSync(FILE, "utf8")) as { cases: FusionCase[] }).cases;

const t64 = (t: T): RefTensor => ({ shape: t.shape, data: Float64Array.from(t.data) });


describe("fusion ops: float64 reference vs PyTorch", () => {
  for (const c of CASES)
    it(c.name, () => {
      const ins = [...Object.values(c.inputs), ...Object.values(c.params)].map(t64);
      const [y] = getOp(c.op)!.reference(ins, c.attrs);
      expect(y!.shape).toEqual(c.y.shape);
      expect(relErr(y!.data, c.y.data)).toBeLessThanOrEqual(1e-12);
    });
});

describe("fusion ops: wasm forward vs PyTorch (tolerance 1e-5 relative)", () => {
  for (const c of CASES)
    it(`${c.name} (SIMD embedded + scalar blob)`, async () => {
      const b = new GraphBuilder("fusion");
      const B = Object.values(c.inputs)[0]!.shape[0]!;
      const ids = Object.entries(c.inputs).map(([n, t]) => b.input(n, "f32", t.shape.slice(1)));
      const pids = Object.entries(c.params).map(([n, t]) => b.param(`fu.${n}`, t.shape, { kind: "zeros" }, "param"));
      const [y] = b.node(c.op, [...ids, ...pids], c.attrs);
      b.output("y", y!);
      const g = b.build();
      const wm: WeightMap = new Map(Object.entries(c.params).map(([n, t]) => [`fu.${n}`, { shape: t.shape, data: Float32Array.from(t.data) }]));
      for (const simd of [true, false]) {
        const m = await load(emitWasm(g, wm, { simd, embedWeights: simd, optimize: true }), simd);
        const feeds = Object.fromEntries(Object.entries(c.inputs).map(([n, t]) => [n, Float32Array.from(t.data)]));
        const out = m.run(feeds, B);
        expect(relErr(out["y"]!, c.y.data)).toBeLessThanOrEqual(1e-5);
      }
    });
});

describe("fusion ops: errors", () => {
  const f32 = (shape: (number | "N")[]) => ({ dtype: "f32" as const, shape });
  it("transpose and mean refuse the batch axis", () => {
    expect(() => getOp("transpose")!.normalize!({ dim0: 0, dim1: 1 }, [f32(["N", 3, 4])])).toThrow(OpArgError);
    expect(() => getOp("mean")!.normalize!({ axis: 0, keepdim: false }, [f32(["N", 3])])).toThrow(/batch axis/);
    expect(() => getOp("mean")!.normalize!({ axis: 3, keepdim: false }, [f32(["N", 3])])).toThrow(/out of range/);
  });
  it("transpose normalizes negative axes and their order", () => {
    expect(getOp("transpose")!.normalize!({ dim0: -1, dim1: 1 }, [f32(["N", 3, 4])])).toEqual({ dim0: 1, dim1: 2 });
  });
  it("mean refuses i32; gated_sum refuses different shapes and i32", () => {
    expect(() => getOp("mean")!.infer([{ dtype: "i32", shape: ["N", 3] }], { axis: 1, keepdim: false })).toThrow(OpDTypeError);
    expect(() => getOp("gated_sum")!.params!([f32(["N", 4]), f32(["N", 5])], {})).toThrow(/same shape/);
    expect(() => getOp("gated_sum")!.params!([f32(["N", 4]), { dtype: "i32", shape: ["N", 4] }], {})).toThrow(OpDTypeError);
    expect(() => getOp("gated_sum")!.infer([f32(["N", 4]), f32(["N", 4]), f32([4, 4]), f32([4])], {})).toThrow(OpTypeError);
  });
  it("gated_sum creates gate.weight [D, 2D] and gate.bias [D]", () => {
    const ps = getOp("gated_sum")!.params!([f32(["N", 4]), f32(["N", 4])], {});
    expect(ps.map((p) => [p.suffix, p.shape])).toEqual([["gate.weight", [4, 8]], ["gate.bias", [4]]]);
  });
});

describe("fusion ops in the language: gradients vs finite differences", () => {
  const cases: [string, string][] = [
    ["transpose + mean", "input x: f32[3, 4]\n  output y = x -> fc: dense(4) -> transpose(1, 2) -> mean(axis=2)"],
    ["gated_sum of two dense branches", "input x: f32[5]\n  let a = x -> fa: dense(3)\n  let b = x -> fb: dense(3)\n  output y = fuse: gated_sum(a, b)"],
  ];
  for (const [name, body] of cases)
    it(name, () => {
      const src = `model m {\n  ${body}\n}\n`;
      const graph0 = lowerSource(src);
      const yT = graph0.values[graph0.outputs[0]!.value]!.type;
      const { graph, loss } = withLoss(graph0, "y", { op: "mse", attrs: { reduction: "sum" }, target: { dtype: "f32", shape: yT.shape.slice(1) as number[] } });
      const params = Object.values(graph.values).filter((v) => v.kind === "param").map((v) => v.id);
      const xId = graph.inputs.find((i) => i.name === "x")!.value;
      const res = gradGraph(graph, { loss, wrt: [...params, xId] });
      expect(validateGraph(res.graph)).toEqual([]);
      const r = rng(5);
      const weights = randomWeights(graph, r);
      const inputs: Record<string, RefTensor> = {};
      for (const gi of res.graph.inputs) {
        const t = res.graph.values[gi.value]!.type;
        inputs[gi.name] = uniform(r, t.shape.map((d) => (d === "N" ? 2 : d)), -2, 2);
      }
      const names = [...params.map((id) => graph.values[id]!.name!), "x"];
      expect(checkFiniteDifferences(res.graph, weights, inputs, names)).toBeGreaterThan(0);
    });
});
