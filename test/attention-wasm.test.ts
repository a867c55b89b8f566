// multihead_attention wasm kernels (SIMD + scalar) vs the PyTorch golden vectors: the forward kernel
// (f32 and i32 masks) and the multihead_attention_grad training kernel, through the one-node kernel
// harness (which also checks nothing outside the outputs and scratch is written); padding_mask kernel.

import { describe, expect, it } from "vitest";
import { buildKernel, uniform as kuniform, type CaseInput, type KernelCase } from "./kernel-harness.js";
import { mhaForward } from "../compiler/ir/ops/attention.js";
import { runReference } from "../compiler/interp/reference.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { initWeights } from "../compiler/weights/init.js";
import { lowerSource } from "./autodiff.helpers.js";
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
});

describe("a compiled model: i32 token ids -> padding_mask -> cross-attention after causal self-attention", () => {
  const SRC = `model m {
  input x: f32[6, 8]
  input kv: f32[5, 8]
  input ids: i32[5]
  let h = x -> self: multihead_attention(num_heads=2, causal=true)
  output y = cross: multihead_attention(h, kv, padding_mask(ids, pad_id=0), num_heads=4)
}
`;
  it("emitWasm SIMD + scalar vs the float64 reference (sample 1 fully padded: y = out_proj.bias)", async () => {
    const g = lowerSource(SRC);
    const w = initWeights(g, 3);
    // Non-zero biases so the fully padded sample's output is a visible constant.
    w.set("cross.out_proj.bias", { shape: [8], data: Float32Array.from({ length: 8 }, (_, k) => Math.fround(0.1 * k - 0.3)) });
    w.set("self.in_proj_bias", { shape: [24], data: Float32Array.from({ length: 24 }, (_, k) => Math.fround(0.05 * Math.sin(k))) });
    const B = 3;
    const x = Float32Array.from({ length: B * 48 }, (_, k) => Math.fround(Math.sin(k * 0.9)));
    const kv = Float32Array.from({ length: B * 40 }, (_, k) => Math.fround(Math.cos(k * 0.7)));
    const ids = Int32Array.from([4, 9, 0, 3, 0, 0, 0, 0, 0, 0, 7, 7, 7, 7, 7]);
    const want = runReference(g, w, {
      x: { shape: [B, 6, 8], data: Float64Array.from(x) },
      kv: { shape: [B, 5, 8], data: Float64Array.from(kv) },
      ids: { shape: [B, 5], data: Float64Array.from(ids) },
    })["y"]!.data;
    for (let i = 0; i < 6; i++) for (let o = 0; o < 8; o++) expect(want[(6 + i) * 8 + o]).toBeCloseTo(0.1 * o - 0.3, 6);
    for (const simd of [true, false]) {
      const res = emitWasm(g, w, { simd, embedWeights: true });
      const { instance } = await WebAssembly.instantiate(res.wasm, {});
      const mem = instance.exports["memory"] as WebAssembly.Memory;
      const need = res.memory.activationBase + res.memory.bytesPerSample * B;
      if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
      const at = (name: string): number => res.memory.activationBase + [...res.inputs, ...res.outputs].find((i) => i.name === name)!.offsetPerSample * B;
      new Float32Array(mem.buffer, at("x"), x.length).set(x);
      new Float32Array(mem.buffer, at("kv"), kv.length).set(kv);
      new Int32Array(mem.buffer, at("ids"), ids.length).set(ids);
      (instance.exports["run"] as (b: number) => void)(B);
      const y = new Float32Array(mem.buffer, at("y"), B * 48);
      const e = relErr(y, want);
      note(`pipeline ${simd ? "simd" : "scalar"}`, e);
      expect(e).toBeLessThanOrEqual(TOL);
    }
  });
});

describe("large scores (hundreds): max-subtracted softmax stays finite and matches float64", () => {
  it("SIMD + scalar, f32 mask with one fully masked sample", async () => {
    const [E, L, S, B] = [8, 4, 6, 2];
    const r = (n: number, seed: number, s: number): Float32Array => Float32Array.from(kuniform(n, seed), (v) => Math.fround(v * s));
    const mask = Float32Array.from([0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1]);
    const kc: KernelCase = {
      op: "multihead_attention",
      attrs: { num_heads: 2, causal: false },
      inputs: [
        { shape: ["N", L, E], data: (b) => r(b * L * E, 11, 8) },
        { shape: ["N", S, E], data: (b) => r(b * S * E, 12, 8) },
        { shape: ["N", S], data: (b) => mask.subarray(0, b * S) },
        { shape: [3 * E, E], kind: "param", data: () => r(3 * E * E, 13, 1) },
        { shape: [3 * E], kind: "param", data: () => r(3 * E, 14, 1) },
        { shape: [E, E], kind: "param", data: () => r(E * E, 15, 1) },
        { shape: [E], kind: "param", data: () => r(E, 16, 1) },
      ],
    };
    const data = kc.inputs.map((i) => i.data(B));
    const ins = data.map((d, k) => ({ shape: kc.inputs[k]!.shape.map((s) => (s === "N" ? B : s)) as number[], data: Float64Array.from(d) }));
    const f = mhaForward(ins, kc.attrs);
    let maxScore = 0;
    for (let k = 0; k < f.Q.length / E; k++) for (let j = 0; j < S; j++) {
      let s = 0;
      for (let c = 0; c < E / 2; c++) s += f.Q[k * E + c]! * f.K[(Math.floor(k / L) * S + j) * E + c]!;
      maxScore = Math.max(maxScore, Math.abs(s) / 2);
    }
    expect(maxScore).toBeGreaterThan(100);
    for (const simd of [true, false]) {
      const km = await buildKernel(kc, simd, B);
      const [y] = km.run(data, B);
      expect(y!.every(Number.isFinite)).toBe(true);
      note(`large scores ${simd ? "simd" : "scalar"}`, relErr(y!, f.y));
      expect(relErr(y!, f.y)).toBeLessThanOrEqual(TOL);
    }
  });
});

describe("summary", () => {
  it("report worst errors", () => {
    console.log(`multihead_attention wasm worst rel error (vs PyTorch; pipeline: vs float64 reference): ${JSON.stringify(worst)}`);
  });
});
