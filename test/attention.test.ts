// multihead_attention end to end: float64 reference and fused gradient vs PyTorch golden vectors
// (test/golden/gen_attention.py), the autodiff rule vs finite differences, padding_mask, language errors.
// Wasm kernels: test/attention-wasm.test.ts; transformer block example: test/transformer-block.test.ts.

import { describe, expect, it } from "vitest";
import type { RefTensor } from "../compiler/ir/types.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { mhaForward } from "../compiler/ir/ops/attention.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { check } from "../compiler/index.js";
import { checkFiniteDifferences, lowerSource, randomWeights, rng, uniform, withLoss } from "./autodiff.helpers.js";
import { ATTN_CASES, MHA_PARAMS, dec, nodeInputs, relErr } from "./attention.helpers.js";

const REF_TOL = 1e-9;

describe("multihead_attention float64 reference vs PyTorch", () => {
  for (const c of ATTN_CASES)
    it(`forward + weights: ${c.name}`, () => {
      const attrs = { num_heads: c.num_heads, causal: c.causal };
      const ins = nodeInputs(c);
      const [y] = getOp("multihead_attention")!.reference(ins, attrs);
      expect(relErr(y!.data, dec(c.expect.y).data)).toBeLessThanOrEqual(REF_TOL);
      expect(relErr(mhaForward(ins, attrs).weights, dec(c.expect.weights).data)).toBeLessThanOrEqual(REF_TOL);
    });
  for (const c of ATTN_CASES)
    it(`multihead_attention_grad: ${c.name}`, () => {
      const attrs = { num_heads: c.num_heads, causal: c.causal };
      const ins = nodeInputs(c);
      const out = getOp("multihead_attention_grad")!.reference([dec(c.g), ...ins], attrs);
      const [dq, dkv] = [out[0]!, out[1]!];
      // Self-attention: PyTorch's x.grad is the sum of both paths (autodiff adds them the same way).
      const dx = c.self ? dq.data.map((v, i) => v + dkv.data[i]!) : dq.data;
      expect(relErr(dx, dec(c.expect.dquery).data)).toBeLessThanOrEqual(REF_TOL);
      if (c.expect.dkey_value) expect(relErr(dkv.data, dec(c.expect.dkey_value).data)).toBeLessThanOrEqual(REF_TOL);
      MHA_PARAMS.forEach((p, k) => expect(relErr(out[2 + k]!.data, dec(c.expect.grads[p]!).data), p).toBeLessThanOrEqual(REF_TOL));
    });
  it("a fully masked sample: weights 0, output = out_proj.bias, no input gradient (not NaN)", () => {
    const c = ATTN_CASES.find((x) => x.name.includes("fully masked"))!;
    const attrs = { num_heads: c.num_heads, causal: c.causal };
    const ins = nodeInputs(c);
    const f = mhaForward(ins, attrs);
    const [N, L, E] = c.query.shape as [number, number, number];
    const S = c.key_value!.shape[1]!;
    const bo = dec(c.params["out_proj.bias"]!).data;
    expect(N).toBe(3);
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < S; j++) expect(f.weights[(1 * L + i) * S + j]).toBe(0);
      for (let o = 0; o < E; o++) expect(f.y[(1 * L + i) * E + o]).toBeCloseTo(bo[o]!, 12);
    }
    const out = getOp("multihead_attention_grad")!.reference([dec(c.g), ...ins], attrs);
    for (let k = 1 * L * E; k < 2 * L * E; k++) expect(out[0]!.data[k]).toBe(0);
    for (const t of out) expect(t.data.every(Number.isFinite)).toBe(true);
  });
});

describe("multihead_attention in the language", () => {
  const model = (body: string, inputs = "input x: f32[5, 8]"): string => `model m {\n  ${inputs}\n  ${body}\n}\n`;
  it("self-attention: key_value defaults to the query (the same value twice), PyTorch param names", () => {
    const g = lowerSource(model("output y = x -> attn: multihead_attention(num_heads=2)"));
    const n = g.nodes.find((x) => x.op === "multihead_attention")!;
    expect(n.inputs[0]).toBe(n.inputs[1]);
    expect(n.inputs.slice(2).map((id) => g.values[id]!.name)).toEqual(["attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias"]);
    const w = g.values[n.inputs[2]!]!;
    expect(w.type.shape).toEqual([24, 8]);
    expect(w.init).toEqual({ kind: "uniform", low: -Math.sqrt(6 / 32), high: Math.sqrt(6 / 32) });
    expect(g.values[n.inputs[3]!]!.init).toEqual({ kind: "zeros" });
  });
  it("cross-attention with a keyword key_padding_mask; self-attention with a keyword mask; causal", () => {
    const g = lowerSource(
      model("output y = multihead_attention(x, kv, key_padding_mask=m, num_heads=4)", "input x: f32[5, 8]\n  input kv: f32[7, 8]\n  input m: f32[7]"),
    );
    expect(g.nodes.find((x) => x.op === "multihead_attention")!.inputs.length).toBe(7);
    const s = lowerSource(model("output y = x -> multihead_attention(key_padding_mask=m, num_heads=2)", "input x: f32[5, 8]\n  input m: i32[5]"));
    const sn = s.nodes.find((x) => x.op === "multihead_attention")!;
    expect(sn.inputs[0]).toBe(sn.inputs[1]);
    expect(s.values[sn.inputs[2]!]!.type).toEqual({ dtype: "i32", shape: ["N", 5] });
    const c = lowerSource(model("output y = x -> multihead_attention(num_heads=1, causal=true)"));
    expect(c.nodes[0]!.attrs).toEqual({ num_heads: 1, causal: true });
  });
  it("errors: num_heads not dividing E, causal with L != S, mask shape", () => {
    const r1 = check(model("output y = x -> multihead_attention(num_heads=3)"), "a.model");
    expect(r1.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n")).toMatch(/E0404 multihead_attention: embedding size 8 is not divisible by num_heads 3/);
    const r2 = check(model("output y = multihead_attention(x, kv, num_heads=2, causal=true)", "input x: f32[5, 8]\n  input kv: f32[7, 8]"), "a.model");
    expect(r2.diagnostics.map((d) => d.message).join("\n")).toMatch(/causal needs as many queries as keys, got L = 5 and S = 7/);
    const r3 = check(model("output y = multihead_attention(x, x, m, num_heads=2)", "input x: f32[5, 8]\n  input m: f32[6]"), "a.model");
    expect(r3.diagnostics.map((d) => d.message).join("\n")).toMatch(/key_padding_mask \[N, 6\] does not match key_value \[N, 5, 8\]/);
  });
});

describe("multihead_attention gradient rule vs finite differences", () => {
  for (const [label, body, decl] of [
    ["self (x used twice)", "output y = x -> attn: multihead_attention(num_heads=2)", "input x: f32[4, 6]"],
    ["cross + f32 mask + causal-free", "output y = attn: multihead_attention(x, kv, m, num_heads=3)", "input x: f32[3, 6]\n  input kv: f32[5, 6]\n  input m: f32[5]"],
    ["self causal", "output y = x -> attn: multihead_attention(num_heads=1, causal=true)", "input x: f32[4, 6]"],
  ] as [string, string, string][])
    it(label, () => {
      const src = `model m {\n  ${decl}\n  ${body}\n}\n`;
      const lowered = lowerSource(src);
      const L = lowered.values[lowered.inputs[0]!.value]!.type.shape[1] as number;
      const { graph, loss } = withLoss(lowered, "y", { op: "mse", attrs: { reduction: "sum" }, target: { dtype: "f32", shape: [L, 6] } });
      const params = Object.values(graph.values).filter((v) => v.kind === "param").map((v) => v.id);
      const acts = graph.inputs.filter((i) => i.name === "x" || i.name === "kv").map((i) => i.value);
      const res = gradGraph(graph, { loss, wrt: [...params, ...acts] });
      expect(validateGraph(res.graph)).toEqual([]);
      expect(res.graph.nodes.some((n) => n.op === "multihead_attention_grad")).toBe(true);
      const r = rng(5);
      const weights = randomWeights(graph, r);
      const inputs: Record<string, RefTensor> = {};
      for (const gi of res.graph.inputs) {
        const t = res.graph.values[gi.value]!.type;
        const shape = t.shape.map((d) => (d === "N" ? 2 : d));
        inputs[gi.name] = gi.name === "m" ? { shape, data: Float64Array.from({ length: 10 }, (_, k) => (k % 4 === 3 ? 1 : 0)) } : uniform(r, shape, -1.5, 1.5);
      }
      const names = [...params.map((id) => graph.values[id]!.name!), ...graph.inputs.filter((i) => i.name !== "m" && i.name !== "target").map((i) => i.name)];
      expect(checkFiniteDifferences(res.graph, weights, inputs, names)).toBeGreaterThan(0);
    });
});

describe("padding_mask", () => {
  it("1 where ids == pad_id (reference), i32 in and out", () => {
    const op = getOp("padding_mask")!;
    expect(op.infer([{ dtype: "i32", shape: ["N", 4] }], { pad_id: 0 })).toEqual([{ dtype: "i32", shape: ["N", 4] }]);
    const [m] = op.reference([{ shape: [2, 4], data: Float64Array.from([3, 0, 7, 0, 2, 2, 9, 1]) }], { pad_id: 2 });
    expect(Array.from(m!.data)).toEqual([0, 0, 0, 0, 1, 1, 0, 0]);
    expect(() => op.infer([{ dtype: "f32", shape: ["N", 4] }], { pad_id: 0 })).toThrow(/expected i32 token ids, got f32/);
  });
});
