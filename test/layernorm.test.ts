// layernorm end to end: float64 reference and gradient rule vs PyTorch golden vectors
// (test/golden/gen_layernorm.py) and finite differences; wasm forward (emitWasm, SIMD + scalar) and
// layernorm_grad kernel (kernel harness, SIMD + scalar) vs PyTorch.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RefTensor, WeightMap } from "../compiler/ir/types.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { load } from "./backend.helpers.js";
import { buildKernel, type KernelCase } from "./kernel-harness.js";
import { checkFiniteDifferences, lowerSource, randomWeights, rng, uniform, withLoss } from "./autodiff.helpers.js";
import { relErr } from "./rel-err.js";

interface LnCase {
  name: string;
  shape: number[];
  eps: number;
  x: number[];
  weight: number[];
  bias: number[];
  g: number[];
  y: number[];
  dx: number[];
  dweight: number[];
  dbias: number[];
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), "golden", "layernorm", "cases.json");
const CASES = (JSON.parse(readFileSync(FILE, "utf8")) as { cases: LnCase[] }).cases;

const t64 = (shape: number[], data: number[]): RefTensor => ({ shape, data: Float64Array.from(data) });


describe("layernorm float64 reference vs PyTorch", () => {
  for (const c of CASES)
    it(c.name, () => {
      const D = c.shape[c.shape.length - 1]!;
      const attrs = { eps: c.eps };
      const [y] = getOp("layernorm")!.reference([t64(c.shape, c.x), t64([D], c.weight), t64([D], c.bias)], attrs);
      expect(relErr(y!.data, c.y)).toBeLessThanOrEqual(1e-9);
      const [dx, dw, db] = getOp("layernorm_grad")!.reference([t64(c.shape, c.g), t64(c.shape, c.x), t64([D], c.weight)], attrs);
      expect(relErr(dx!.data, c.dx)).toBeLessThanOrEqual(1e-9);
      expect(relErr(dw!.data, c.dweight)).toBeLessThanOrEqual(1e-9);
      expect(relErr(db!.data, c.dbias)).toBeLessThanOrEqual(1e-9);
    });
  it("constant row gives the bias exactly", () => {
    const [y] = getOp("layernorm")!.reference([t64([1, 4], [7, 7, 7, 7]), t64([4], [1, 2, 3, 4]), t64([4], [0.5, -1, 2, 0])], { eps: 1e-5 });
    expect(Array.from(y!.data)).toEqual([0.5, -1, 2, 0]);
  });
});

describe("layernorm gradient rule vs finite differences", () => {
  for (const [shape, batch] of [[[5], 3], [[3, 4], 2]] as [number[], number][])
    it(`x [N, ${shape.join(", ")}] -> dense -> layernorm`, () => {
      const src = `model m {\n  input x: f32[${shape.join(", ")}]\n  output y = x -> fc: dense(${shape[shape.length - 1]}) -> ln: layernorm(eps=0.001)\n}\n`;
      const { graph, loss } = withLoss(lowerSource(src), "y", { op: "mse", attrs: { reduction: "sum" }, target: { dtype: "f32", shape } });
      const params = Object.values(graph.values).filter((v) => v.kind === "param").map((v) => v.id);
      const xId = graph.inputs.find((i) => i.name === "x")!.value;
      const res = gradGraph(graph, { loss, wrt: [...params, xId] });
      expect(validateGraph(res.graph)).toEqual([]);
      expect(res.graph.nodes.some((n) => n.op === "layernorm_grad")).toBe(true);
      const r = rng(3);
      const weights = randomWeights(graph, r);
      const inputs: Record<string, RefTensor> = {};
      for (const gi of res.graph.inputs) {
        const t = res.graph.values[gi.value]!.type;
        inputs[gi.name] = uniform(r, t.shape.map((d) => (d === "N" ? batch : d)), -2, 2);
      }
      const names = [...params.map((id) => graph.values[id]!.name!), "x"];
      expect(names).toContain("ln.weight");
      expect(checkFiniteDifferences(res.graph, weights, inputs, names)).toBeGreaterThan(0);
    });
});

describe("layernorm wasm vs PyTorch", () => {
  const TOL = 1e-5;
  const worst: Record<string, number> = {};
  for (const c of CASES)
    it(`forward ${c.name} (emitWasm SIMD embedded + scalar blob)`, async () => {
      const D = c.shape[c.shape.length - 1]!;
      const B = c.shape[0]!;
      const b = new GraphBuilder("ln");
      const x = b.input("x", "f32", c.shape.slice(1));
      const w = b.param("ln.weight", [D], { kind: "ones" }, "param");
      const bb = b.param("ln.bias", [D], { kind: "zeros" }, "param");
      const [y] = b.node("layernorm", [x, w, bb], { eps: c.eps });
      b.output("y", y!);
      const g = b.build();
      const wm: WeightMap = new Map([
        ["ln.weight", { shape: [D], data: Float32Array.from(c.weight) }],
        ["ln.bias", { shape: [D], data: Float32Array.from(c.bias) }],
      ]);
      for (const simd of [true, false]) {
        const m = await load(emitWasm(g, wm, { simd, embedWeights: simd, optimize: true }), simd);
        const out = m.run({ x: Float32Array.from(c.x) }, B);
        const e = relErr(out["y"]!, c.y);
        worst["forward"] = Math.max(worst["forward"] ?? 0, e);
        expect(e).toBeLessThanOrEqual(TOL);
      }
    });
  for (const c of CASES)
    it(`layernorm_grad kernel ${c.name} (SIMD + scalar)`, async () => {
      const D = c.shape[c.shape.length - 1]!;
      const B = c.shape[0]!;
      const s: (number | "N")[] = ["N", ...c.shape.slice(1)];
      const kc: KernelCase = {
        op: "layernorm_grad",
        attrs: { eps: c.eps },
        inputs: [
          { shape: s, data: () => Float32Array.from(c.g) },
          { shape: s, data: () => Float32Array.from(c.x) },
          { shape: [D], data: () => Float32Array.from(c.weight) },
        ],
      };
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, B);
        const [dx, dw, db] = km.run(kc.inputs.map((i) => i.data(B)), B);
        const e = Math.max(relErr(dx!, c.dx), relErr(dw!, c.dweight), relErr(db!, c.dbias));
        worst["grad"] = Math.max(worst["grad"] ?? 0, e);
        expect(e).toBeLessThanOrEqual(TOL);
      }
    });
  it("forward kernel on random shapes vs reference", async () => {
    for (const shape of [["N", 7], ["N", 4, 33], ["N", 2, 3, 16]] as (number | "N")[][]) {
      const D = shape[shape.length - 1] as number;
      const kc: KernelCase = {
        op: "layernorm",
        attrs: { eps: 1e-5 },
        inputs: [
          { shape, data: (B) => Float32Array.from({ length: B * (shape.slice(1) as number[]).reduce((a, d) => a * d, 1) }, (_, k) => Math.fround(Math.sin(k * 1.7) * 3 + 1)) },
          { shape: [D], kind: "param", data: () => Float32Array.from({ length: D }, (_, k) => Math.fround(0.5 + k / D)) },
          { shape: [D], kind: "param", data: () => Float32Array.from({ length: D }, (_, k) => Math.fround(k / D - 0.5)) },
        ],
      };
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, 64);
        for (const B of [1, 3, 64]) {
          const data = kc.inputs.map((i) => i.data(B));
          const [got] = km.run(data, B);
          const ref = getOp("layernorm")!.reference(
            data.map((d, k) => ({ shape: kc.inputs[k]!.shape.map((x) => (x === "N" ? B : x)), data: Float64Array.from(d) })),
            kc.attrs,
          );
          expect(relErr(got!, ref[0]!.data)).toBeLessThanOrEqual(TOL);
        }
      }
    }
  });
  it("report worst errors", () => {
    console.log(`layernorm wasm worst rel error vs PyTorch: ${JSON.stringify(worst)}`);
  });
});
