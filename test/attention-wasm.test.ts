// multihead_attention wasm kernels (SIMD + scalar) vs the PyTorch golden vectors: the forward kernel
// (f32 and i32 masks) and the multihead_attention_grad training kernel, through the one-node kernel
// harness (which also checks nothing outside the outputs and scratch is written); padding_mask kernel.

import { describe, expect, it } from "vitest";
import { buildKernel, type CaseInput, type KernelCase } from "./kernel-harness.js";
import { ATTN_CASES, MHA_PARAMS, dec, relErr, type AttnCase } from "./attention.helpers.js";

const TOL = 1e-5;
const worst: Record<string, number> = {};
const note = (k: string, e: number): void => {
  worst[k] = Math.max(worst[k] ?? 0, e);
};

/** Inputs of the node for case `c`: query, key_value (query's data for self), mask? (as `maskDtype`), params. */
function caseInputs(c: AttnCase, maskDtype: "f32" | "i32"): CaseInput[] {
  const q = dec(c.query);
  const kv = c.key_value ? dec(c.key_value) : q;
  const per = (t: { shape: number[] }): number => t.shape.slice(1).reduce((a, d) => a * d, 1);
  const act = (t: { shape: number[]; data: Float64Array }): CaseInput => ({ shape: ["N", ...t.shape.slice(1)], data: (B) => Float32Array.from(t.data.subarray(0, B * per(t))) });
  const ins: CaseInput[] = [act(q), act(kv)];
  if (c.mask) {
    const m = dec(c.mask);
    ins.push({ dtype: maskDtype, shape: ["N", m.shape[1]!], data: (B) => {
        const d = m.data.subarray(0, B * per(m));
        return maskDtype === "i32" ? Int32Array.from(d) : Float32Array.from(d);
      } });
  }
  for (const p of MHA_PARAMS) {
    const t = dec(c.params[p]!);
    ins.push({ shape: t.shape, kind: "param", data: () => Float32Array.from(t.data) });
  }
  return ins;
}

describe("multihead_attention forward kernel vs PyTorch", () => {
  for (const c of ATTN_CASES)
    for (const maskDtype of c.mask ? (["f32", "i32"] as const) : (["f32"] as const))
      it(`${c.name}${c.mask ? ` (${maskDtype} mask)` : ""} SIMD + scalar`, async () => {
        const kc: KernelCase = { op: "multihead_attention", attrs: { num_heads: c.num_heads, causal: c.causal }, inputs: caseInputs(c, maskDtype) };
        const N = c.query.shape[0]!;
        const want = dec(c.expect.y).data;
        for (const simd of [true, false]) {
          const km = await buildKernel(kc, simd, N);
          for (const B of [N, 1]) {
            const [y] = km.run(kc.inputs.map((i) => i.data(B)), B);
            const e = relErr(y!, want.subarray(0, y!.length));
            note(`forward ${simd ? "simd" : "scalar"}`, e);
            expect(e).toBeLessThanOrEqual(TOL);
          }
        }
      });
});

describe("multihead_attention_grad kernel vs PyTorch autograd", () => {
  for (const c of ATTN_CASES)
    it(`${c.name} SIMD + scalar`, async () => {
      const fwd = caseInputs(c, "i32");
      const g = dec(c.g);
      const kc: KernelCase = {
        op: "multihead_attention_grad",
        attrs: { num_heads: c.num_heads, causal: c.causal },
        inputs: [{ shape: ["N", ...g.shape.slice(1)], data: () => Float32Array.from(g.data) }, ...fwd],
      };
      const N = c.query.shape[0]!;
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, N);
        const out = km.run(kc.inputs.map((i) => i.data(N)), N);
        const [dq, dkv] = [out[0]!, out[1]!];
        const dx = c.self ? dq.map((v, i) => v + dkv[i]!) : dq;
        const errs: [string, number][] = [["dquery", relErr(dx, dec(c.expect.dquery).data)]];
        if (c.expect.dkey_value) errs.push(["dkey_value", relErr(dkv, dec(c.expect.dkey_value).data)]);
        MHA_PARAMS.forEach((p, k) => errs.push([p, relErr(out[2 + k]!, dec(c.expect.grads[p]!).data)]));
        for (const [name, e] of errs) {
          note(`grad ${simd ? "simd" : "scalar"}`, e);
          expect(e, `${name} (${simd ? "SIMD" : "scalar"})`).toBeLessThanOrEqual(TOL);
        }
      }
    });
});

describe("padding_mask kernel", () => {
  it("i32 ids -> i32 (ids == pad_id), SIMD + scalar", async () => {
    const ids = [5, 0, 0, 3, 1, 1, 7, 1];
    const kc: KernelCase = { op: "padding_mask", attrs: { pad_id: 1 }, inputs: [{ dtype: "i32", shape: ["N", 4], data: () => Int32Array.from(ids) }] };
    for (const simd of [true, false]) {
      const km = await buildKernel(kc, simd, 2);
      const [m] = km.run([Int32Array.from(ids)], 2);
      expect(m).toBeInstanceOf(Int32Array);
      expect(Array.from(m!)).toEqual([0, 0, 0, 0, 1, 1, 0, 1]);
    }
  });
  it("report worst errors", () => {
    console.log(`multihead_attention wasm worst rel error vs PyTorch: ${JSON.stringify(worst)}`);
  });
});
