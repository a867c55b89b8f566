// The wasm backend as a whole: memory plan (reuse, no overlap, aliasing), ABI (memory growth,
// repeated runs, weights blob), SIMD vs scalar builds, math accuracy, errors.

import { describe, expect, it, vi } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph } from "../compiler/ir/types.js";
import { planMemory } from "../compiler/backend/wasm/plan.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { readWeightTensor } from "../runtime/layout.js";
import binaryen from "binaryen";
import { ModuleBuilder, usesSimd, V128, type Expr, type FOps, type Fn } from "../compiler/backend/wasm/module.js";
import * as math from "../compiler/backend/wasm/math.js";
import { erf as erf64 } from "../compiler/ir/ops/erf.js";
import { load, maxAbsDiff, randomInputs, randomWeights, reference, worstError } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -1, high: 1 };
const conv = (C: number, O: number, k: number, stride = 1, pad = 0, groups = 1) => ({
  out_channels: O,
  kernel: [k, k],
  stride: [stride, stride],
  padding: [pad, pad, pad, pad],
  dilation: [1, 1],
  groups,
  bias: true,
});

/** A small CNN touching most kernels: conv-bn-relu-pool-conv(s2)-gelu-gap-flatten-dense-softmax. */
function smallCnn(): Graph {
  const b = new GraphBuilder("cnn");
  const x = b.input("image", "f32", [3, 12, 11]);
  const [c1] = b.node("conv2d", [x, b.param("c1.weight", [8, 3, 3, 3], U), b.param("c1.bias", [8], U)], conv(3, 8, 3, 1, 1));
  const bn = ["weight", "bias", "running_mean", "running_var"].map((s) => b.param(`bn.${s}`, [8], U, s.startsWith("running") ? "state" : "param"));
  const [n1] = b.node("batchnorm", [c1!, ...bn], { eps: 1e-5, momentum: 0.1 });
  const [r1] = b.node("relu", [n1!], {});
  const [p1] = b.node("maxpool2d", [r1!], { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], dilation: [1, 1], ceil_mode: true });
  const [c2] = b.node("conv2d", [p1!, b.param("c2.weight", [12, 8, 3, 3], U), b.param("c2.bias", [12], U)], conv(8, 12, 3, 2, 1));
  const [g2] = b.node("gelu", [c2!], { approximate: "none" });
  const [gp] = b.node("global_avgpool2d", [g2!], {});
  const [fl] = b.node("flatten", [gp!], { start_dim: 1 });
  const [d] = b.node("dense", [fl!, b.param("fc.weight", [10, 12], U), b.param("fc.bias", [10], U)], { units: 10, bias: true });
  const [sm] = b.node("softmax", [d!], { axis: 1 });
  b.output("probs", sm!);
  b.output("logits", d!);
  return b.build();
}

/** A chain of dense/tanh layers, so that buffers can be reused. */
function chain(): Graph {
  const b = new GraphBuilder("chain");
  let v = b.input("x", "f32", [32]);
  for (let i = 0; i < 6; i++) {
    [v] = b.node("dense", [v, b.param(`l${i}.weight`, [32, 32], U)], { units: 32, bias: false }) as [string];
    [v] = b.node("tanh", [v], {}) as [string];
  }
  b.output("y", v);
  return b.build();
}

describe("planMemory", () => {
  it("reuses dead buffers on a chain and never overlaps two live values", () => {
    const g = chain();
    const p = planMemory(g, { inPlace: false }); // in-place execution: test/plan-inplace.test.ts
    const vals = Object.values(p.values);
    expect(vals.length).toBe(13);
    expect(p.unsharedBytesPerSample).toBe(13 * 128);
    expect(p.bytesPerSample).toBeLessThan(p.unsharedBytesPerSample);
    expect(p.bytesPerSample).toBe(4 * 128); // input + output pinned, two ping-pong buffers
    for (const a of vals) {
      expect(a.offsetPerSample % 16).toBe(0);
      for (const b of vals) {
        if (a === b || a.aliasOf === b.value || b.aliasOf === a.value) continue;
        const live = a.start <= b.end && b.start <= a.end;
        const mem = a.offsetPerSample < b.offsetPerSample + b.bytesPerSample && b.offsetPerSample < a.offsetPerSample + a.bytesPerSample;
        expect(live && mem, `${a.value} and ${b.value}`).toBe(false);
      }
    }
    const inp = p.values[g.inputs[0]!.value]!;
    const out = p.values[g.outputs[0]!.value]!;
    expect([inp.pinned, out.pinned, inp.start, out.end]).toEqual([true, true, -1, g.nodes.length]);
  });
  it("aliases flatten to its input and reports im2col scratch", () => {
    const g = smallCnn();
    const p = planMemory(g);
    const fl = g.nodes.find((n) => n.op === "flatten")!;
    expect(p.values[fl.outputs[0]!]!.aliasOf).toBe(fl.inputs[0]);
    expect(p.values[fl.outputs[0]!]!.offsetPerSample).toBe(p.values[fl.inputs[0]!]!.offsetPerSample);
    // the stride-2 conv's im2col is the largest; the first conv is an implicit GEMM: padded planes + tap table
    expect(p.scratchBytes).toBe(Math.max(8 * 9 * 3 * 3, Math.ceil((3 * 14 * 13) / 4) * 4 + 27) * 4);
  });
});

describe("emitWasm", () => {
  it("small CNN: SIMD and scalar builds match the reference (batch 1, 3, 17) and each other", async () => {
    expect(await worstError(smallCnn(), { batches: [1, 3, 17] })).toBeLessThanOrEqual(1e-5);
  });

  it("SIMD and scalar outputs agree to 1e-5 on the CNN (batch 5)", async () => {
    const g = smallCnn();
    const w = randomWeights(g);
    const v = await load(emitWasm(g, w, { simd: true, embedWeights: true }));
    const s = await load(emitWasm(g, w, { simd: false, embedWeights: true }));
    const x = randomInputs(g, 5, 3);
    const a = v.run(x, 5);
    const b = s.run(x, 5);
    expect(maxAbsDiff(a["logits"]!, b["logits"]!)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(a["probs"]!, b["probs"]!)).toBeLessThanOrEqual(1e-5);
  });

  it("scalar build has no SIMD; SIMD build does; both validate", () => {
    const g = smallCnn();
    const w = randomWeights(g);
    const s = emitWasm(g, w, { simd: false, embedWeights: true });
    const v = emitWasm(g, w, { simd: true, embedWeights: true });
    expect(WebAssembly.validate(s.wasm)).toBe(true);
    expect(WebAssembly.validate(v.wasm)).toBe(true);
    expect(usesSimd(s.wasm)).toBe(false);
    expect(usesSimd(v.wasm)).toBe(true);
  });

  it("relaxed: the dense GEMM uses f32x4.relaxed_madd; same layout; within 1e-5 of the plain build where the host runs it", async () => {
    const g = chain();
    const w = randomWeights(g);
    const v = emitWasm(g, w, { simd: true, embedWeights: true });
    const r = emitWasm(g, w, { simd: true, embedWeights: true, relaxed: true });
    expect(r.memory).toEqual(v.memory);
    expect(r.weights.blob).toEqual(v.weights.blob);
    const text = (m: Uint8Array): string => {
      const mod = binaryen.readBinary(m);
      mod.setFeatures(binaryen.Features.All);
      const t = mod.emitText();
      mod.dispose();
      return t;
    };
    expect(text(r.wasm)).toContain("f32x4.relaxed_madd");
    expect(text(v.wasm)).not.toContain("relaxed");
    if (!WebAssembly.validate(r.wasm)) return; // Node 20 without --experimental-wasm-relaxed-simd
    const x = randomInputs(g, 7, 5);
    expect(maxAbsDiff((await load(r)).run(x, 7)["y"]!, (await load(v)).run(x, 7)["y"]!)).toBeLessThanOrEqual(1e-5);
  });

  it("SIMD and scalar builds share one layout (one manifest describes both)", () => {
    const g = smallCnn();
    const w = randomWeights(g);
    const s = emitWasm(g, w, { simd: false, embedWeights: false });
    const v = emitWasm(g, w, { simd: true, embedWeights: false });
    expect(s.inputs).toEqual(v.inputs);
    expect(s.outputs).toEqual(v.outputs);
    expect(s.memory).toEqual(v.memory);
    expect(s.weights.tensors).toEqual(v.weights.tensors);
    expect(Array.from(s.weights.blob)).toEqual(Array.from(v.weights.blob));
  });

  it("layout: weights at 1024 in state_dict order, 16-aligned, each stored once (dense ones packed), unpacked exactly", () => {
    const g = smallCnn();
    const w = randomWeights(g);
    const r = emitWasm(g, w, { simd: true, embedWeights: false });
    expect(r.weights.offset).toBe(1024);
    expect(r.weights.tensors.map((t) => t.name)).toEqual([...w.keys()]);
    let stored = 0;
    for (const t of r.weights.tensors) {
      expect(t.offset % 16).toBe(0);
      expect(Array.from(readWeightTensor(t, r.weights.blob, 1024))).toEqual(Array.from(w.get(t.name)!.data));
      stored += Math.ceil((4 * w.get(t.name)!.data.length) / 16) * 16;
    }
    // dense weights are stored in GEMM panels only; everything else row-major
    const fc = r.weights.tensors.find((t) => t.name === "fc.weight")!;
    expect(fc.layout).toEqual({ kind: "kn_panels", panel: 8 });
    expect(r.weights.tensors.filter((t) => t.layout).map((t) => t.name)).toEqual(["fc.weight"]);
    // no second copy of any tensor (the smallCnn graph has no constants)
    expect(r.weights.bytes).toBe(stored);
    expect(r.weights.bytes).toBe(r.weights.blob.length);
    expect(r.memory.activationBase % 16).toBe(0);
    expect(r.memory.activationBase).toBeGreaterThanOrEqual(1024 + r.weights.bytes + r.plan.scratchBytes);
    expect(r.memory.bytesPerSample).toBe(r.plan.bytesPerSample);
    expect(r.inputs[0]).toMatchObject({ name: "image", dtype: "f32", shape: ["N", 3, 12, 11], elementsPerSample: 396 });
    expect(r.outputs.map((o) => o.name)).toEqual(["probs", "logits"]);
    // not embedded: no data segment, so the module is much smaller than the blob
    const e = emitWasm(g, w, { simd: true, embedWeights: true });
    expect(e.wasm.length - r.wasm.length).toBeGreaterThanOrEqual(r.weights.bytes);
  });

  it("grows memory for batch 1024 and repeated runs are bit-identical", async () => {
    const g = smallCnn();
    const w = randomWeights(g);
    const m = await load(emitWasm(g, w, { simd: true, embedWeights: true }));
    const small = randomInputs(g, 2, 5);
    const first = m.run(small, 2);
    const inputs = randomInputs(g, 1024, 9);
    const out = m.run(inputs, 1024);
    expect(m.memory.buffer.byteLength).toBeGreaterThanOrEqual(m.res.memory.activationBase + m.res.memory.bytesPerSample * 1024);
    const ref = reference(g, w, inputs, 1024);
    expect(maxAbsDiff(out["probs"]!, ref["probs"]!)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(out["logits"]!, ref["logits"]!)).toBeLessThanOrEqual(1e-5);
    const again = m.run(small, 2);
    expect(Array.from(again["logits"]!)).toEqual(Array.from(first["logits"]!));
    expect(Array.from(m.run(inputs, 1024)["probs"]!)).toEqual(Array.from(out["probs"]!));
  });

  it("optimize:false gives the same numbers", async () => {
    const g = chain();
    const w = randomWeights(g);
    const a = await load(emitWasm(g, w, { simd: true, embedWeights: true }));
    const b = await load(emitWasm(g, w, { simd: true, embedWeights: true, optimize: false }));
    const x = randomInputs(g, 5);
    expect(Array.from(b.run(x, 5)["y"]!)).toEqual(Array.from(a.run(x, 5)["y"]!));
  });

  it("errors: op without kernel, missing weight", () => {
    const g = chain();
    g.nodes[1]!.op = "dropout";
    expect(() => emitWasm(g, randomWeights(g), { simd: true, embedWeights: true })).toThrow("wasm backend: no kernel for op dropout");
    const g2 = chain();
    const w = randomWeights(g2);
    w.delete("l3.weight");
    expect(() => emitWasm(g2, w, { simd: true, embedWeights: true })).toThrow("wasm backend: missing weight l3.weight");
  });
});

/** Run one math function over `xs` in a tiny module (SIMD or scalar). */
async function evalMath(simd: boolean, fn: (f: Fn, o: FOps, x: Expr) => Expr, xs: Float32Array): Promise<Float32Array> {
  const mb = new ModuleBuilder(simd);
  const f = mb.fn(1);
  const IN = 0;
  const OUT = xs.length * 4;
  const body = [
    f.forLanes(
      () => f.get(f.param(0)),
      (o, idx) => [o.store(f.at(f.i(OUT), idx()), fn(f, o, o.load(f.at(f.i(IN), idx()))))],
    ),
  ];
  mb.addFunction("run", f, 1, body, "run");
  const wasm = mb.finish({ initialPages: Math.ceil((xs.length * 8) / 65536) + 1, segments: [], optimize: true });
  const { instance } = await WebAssembly.instantiate(wasm, {});
  const mem = instance.exports["memory"] as WebAssembly.Memory;
  new Float32Array(mem.buffer, IN, xs.length).set(xs);
  (instance.exports["run"] as (n: number) => void)(xs.length);
  return new Float32Array(mem.buffer, OUT, xs.length).slice();
}

const grid = (lo: number, hi: number, n: number) => Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

describe("ModuleBuilder.finish validation", () => {
  // A v128 instruction in a scalar module: a SIMD-capable engine would accept it, so the scalar build's "runs
  // without SIMD" rests on guardScalar (module.ts): no SIMD instruction or v128 type can be made in a scalar module.
  const build = (simd: boolean, body: (mb: ModuleBuilder, f: Fn) => number[]): Uint8Array => {
    const mb = new ModuleBuilder(simd);
    const f = mb.fn(1);
    mb.addFunction("run", f, 1, body(mb, f), "run");
    return mb.finish({ initialPages: 1, segments: [], optimize: false });
  };
  const v128Store = (mb: ModuleBuilder, f: Fn): number[] => [mb.mod.v128.store(0, 16, f.i(64), mb.mod.f32x4.splat(mb.mod.f32.const(1)), "mem")]; // module.ts MEM
  const v128Local = (_mb: ModuleBuilder, f: Fn): number[] => {
    f.local(V128);
    return [f.nop()];
  };
  it("a SIMD module with v128 passes; a scalar module cannot make a SIMD instruction, a v128 local or a v128 block", () => {
    expect(usesSimd(build(true, v128Store))).toBe(true);
    expect(usesSimd(build(true, v128Local))).toBe(true);
    expect(() => build(false, v128Store)).toThrow(/SIMD instruction (v128\.store|f32x4\.splat) in a scalar module/);
    expect(() => build(false, v128Local)).toThrow(/a v128 type \(addFunction\) in a scalar module/);
    expect(() => build(false, (mb, f) => [mb.mod.drop(mb.mod.block(null, [mb.mod.unreachable()], V128)), f.nop()])).toThrow(/v128 type \(block\)/);
    expect(() => build(false, (mb, f) => [mb.mod.drop(mb.mod.local.get(0, V128)), f.nop()])).toThrow(/v128 type \(local\.get\)/);
    expect(() => build(false, (mb) => [mb.mod.i8x16.shuffle(0, 0, [])])).toThrow(/SIMD instruction i8x16\.shuffle/);
  });
  it("scalar modules: the engine validates (binaryen's validator only when the engine rejects, with its messages)", () => {
    const validate = vi.spyOn(binaryen as unknown as { _BinaryenModuleValidate(m: number): number }, "_BinaryenModuleValidate");
    const ok = build(false, (mb, f) => [mb.mod.f32.store(0, 4, f.i(64), mb.mod.f32.const(1), "mem")]);
    expect(usesSimd(ok)).toBe(false);
    expect(validate).not.toHaveBeenCalled();
    // an i32 stored as f32: the engine rejects, binaryen decides (and prints why)
    expect(() => build(false, (mb, f) => [mb.mod.f32.store(0, 4, f.i(64), f.i(1), "mem")])).toThrow(/invalid module/);
    expect(validate).toHaveBeenCalledTimes(1);
    validate.mockRestore();
  });
});

describe("math (f32x4 and scalar)", () => {
  for (const simd of [true, false]) {
    it(`exp relative error <= 2e-7 on [-87, 88] (simd=${simd}); limits`, async () => {
      const xs = grid(-87, 88, 20001);
      const ys = await evalMath(simd, math.exp, xs);
      let worst = 0;
      xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(ys[i]! / Math.exp(x) - 1))));
      expect(worst).toBeLessThanOrEqual(2e-7);
      const lim = await evalMath(simd, math.exp, Float32Array.from([-1e4, 0, 89, 1e4, NaN]));
      expect(Array.from(lim)).toEqual([0, 1, Infinity, Infinity, NaN]);
    });
    it(`tanh/sigmoid absolute error <= 2e-7, erf <= 1e-7, no overflow at 1e4 (simd=${simd})`, async () => {
      const xs = Float32Array.from([...grid(-9, 9, 40001), 1e-6, -3e-5, 1e4, -1e4, 0]);
      const cases: [typeof math.exp, (x: number) => number][] = [
        [math.tanh, Math.tanh],
        [math.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
        [math.erf, erf64],
      ];
      for (const [fn, ref] of cases) {
        const ys = await evalMath(simd, fn, xs);
        let worst = 0;
        xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(ys[i]! - ref(x)))));
        expect(worst, fn.name).toBeLessThanOrEqual(fn === math.erf ? 1e-7 : 2e-7);
      }
    });
  }
});
