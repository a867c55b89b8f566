// In-place execution in the memory plan (backend/wasm/plan.ts INPLACE_OPS): which outputs take an input's buffer,
// that no two simultaneously live values overlap otherwise, and that every example's module computes bit-identical
// outputs with and without it. Neighbours: backend/wasm/plan.ts, emit.ts (EmitOptions.inPlace), test/backend.test.ts.

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph } from "../compiler/ir/types.js";
import { INPLACE_OPS, planMemory, type MemoryPlan } from "../compiler/backend/wasm/plan.js";
import { emitWasm, type EmitResult } from "../compiler/backend/wasm/emit.js";
import { checkSource } from "../compiler/check.js";
import { optimizeGraph, optimizeWithWeights } from "../compiler/passes/pipeline.js";
import { initWeights } from "../compiler/weights/init.js";
import { KERNELS } from "../compiler/backend/wasm/kernels/index.js";
import { rng } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -1, high: 1 };

/**
 * Problems of a plan: two values live at the same node whose buffers overlap, unless one aliases the other (same
 * alias root) or one is computed in place of the other, which dies exactly where it is born (end = start).
 */
function planOverlaps(p: MemoryPlan): string[] {
  const vals = Object.values(p.values);
  const root = (v: string): string => p.values[v]!.aliasOf ?? v;
  const src = (r: string): string | undefined => {
    const s = p.values[r]!.inPlaceOf;
    return s === undefined ? undefined : root(s);
  };
  const problems: string[] = [];
  for (const a of vals)
    for (const b of vals) {
      if (a === b || root(a.value) === root(b.value)) continue;
      const ra = root(a.value);
      const rb = root(b.value);
      if ((src(rb) === ra && a.end === b.start) || (src(ra) === rb && b.end === a.start)) continue;
      const live = a.start <= b.end && b.start <= a.end;
      const mem = a.offsetPerSample < b.offsetPerSample + b.bytesPerSample && b.offsetPerSample < a.offsetPerSample + a.bytesPerSample;
      if (live && mem) problems.push(`${a.value} [${a.start}, ${a.end}] and ${b.value} [${b.start}, ${b.end}] overlap`);
    }
  return problems;
}

/**
 * x [64] -> dense d1 -> tanh t -> layernorm l -> dense d2 -> add(d2, l) s -> gelu q -> dense d3 -> out "y",
 * plus relu(x) -> mul(r, bias-like [64] const) -> dense -> out "z" (the relu reads a graph input: pinned).
 */
function net(): Graph {
  const b = new GraphBuilder("net");
  const x = b.input("x", "f32", [64]);
  const dense = (v: string, name: string, units = 64): string =>
    b.node("dense", [v, b.param(`${name}.weight`, [units, 64], U), b.param(`${name}.bias`, [units], U)], { units, bias: true })[0]!;
  const d1 = dense(x, "fc1");
  const [t] = b.node("tanh", [d1], {});
  const [l] = b.node("layernorm", [t!, b.param("ln.weight", [64], U), b.param("ln.bias", [64], U)], { eps: 1e-5 });
  const d2 = dense(l!, "fc2");
  const [s] = b.node("add", [d2, l!], {});
  const [q] = b.node("gelu", [s!], { approximate: "none" });
  b.output("y", dense(q!, "fc3", 10));
  const [r] = b.node("relu", [x], {});
  const [m] = b.node("mul", [r!, b.constant([64], Array.from({ length: 64 }, (_, i) => i / 64))], {});
  b.output("z", dense(m!, "fc4", 3));
  return b.build();
}

describe("planMemory: in place", () => {
  it("elementwise outputs take the buffer of an input that dies there; never a graph input's; no other overlap", () => {
    const g = net();
    const p = planMemory(g);
    const out = (op: string, k = 0): string => g.nodes.filter((n) => n.op === op)[k]!.outputs[0]!;
    const inp = (op: string, k = 0): string[] => g.nodes.filter((n) => n.op === op)[k]!.inputs;
    expect(p.values[out("tanh")]!.inPlaceOf).toBe(inp("tanh")[0]);
    expect(p.values[out("layernorm")]!.inPlaceOf).toBe(out("tanh"));
    // add(d2, l): both die at the add; the first one is taken
    expect(p.values[out("add")]!.inPlaceOf).toBe(inp("add")[0]);
    expect(p.values[out("gelu")]!.inPlaceOf).toBe(out("add"));
    // relu(x): x is a graph input (pinned); its mul then runs in place of the relu's output
    expect(p.values[out("relu")]!.inPlaceOf).toBeUndefined();
    expect(p.values[out("mul")]!.inPlaceOf).toBe(out("relu"));
    for (const op of ["tanh", "layernorm", "add", "gelu", "mul"])
      expect(p.values[out(op)]!.offsetPerSample).toBe(p.values[p.values[out(op)]!.inPlaceOf!]!.offsetPerSample);
    expect(planOverlaps(p)).toEqual([]);
    const off = planMemory(g, { inPlace: false });
    expect(Object.values(off.values).some((v) => v.inPlaceOf !== undefined)).toBe(false);
    expect(planOverlaps(off)).toEqual([]);
    expect(p.bytesPerSample).toBeLessThan(off.bytesPerSample);
    expect(p.unsharedBytesPerSample).toBe(off.unsharedBytesPerSample);
  });

  it("not in place: an input still used later, a broadcast input, a graph output, an op outside INPLACE_OPS", () => {
    const b = new GraphBuilder("no");
    const x = b.input("x", "f32", [4, 8]);
    const [d] = b.node("dense", [x, b.param("fc.weight", [8, 8], U)], { units: 8, bias: false });
    const [r] = b.node("relu", [d!], {}); // d is used again below
    const [e] = b.node("dense", [x, b.param("fc2.weight", [1, 8], U)], { units: 1, bias: false }); // [N, 4, 1]
    const [s] = b.node("add", [e!, r!], {}); // e broadcasts; r (full shape) dies here -> in place of r
    const [s2] = b.node("add", [d!, s!], {}); // the output is a graph output: pinned
    const [t] = b.node("transpose", [s!], { dim0: 1, dim1: 2 });
    b.output("y", s2!);
    b.output("t", t!);
    const g = b.build();
    const p = planMemory(g);
    expect(p.values[r!]!.inPlaceOf).toBeUndefined();
    expect(p.values[s!]!.inPlaceOf).toBe(r);
    expect(p.values[s2!]!.inPlaceOf).toBeUndefined();
    expect(p.values[t!]!.inPlaceOf).toBeUndefined();
    expect(INPLACE_OPS.has("transpose")).toBe(false);
    expect(planOverlaps(p)).toEqual([]);
  });

  it("every INPLACE_OPS op has an inference kernel", () => {
    for (const op of INPLACE_OPS) if (op !== "fused_elementwise") expect(KERNELS[op], op).toBeDefined();
  });
});

/** Run an emitted module per the ABI (f32 and i32 inputs; ids inside the input's range). */
async function runModule(res: EmitResult, batch: number, seed: number): Promise<Record<string, Float32Array>> {
  const { instance } = await WebAssembly.instantiate(res.wasm, {});
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  new Uint8Array(memory.buffer).set(res.weights.blob, res.weights.offset);
  const need = res.memory.activationBase + res.memory.bytesPerSample * batch;
  if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  const r = rng(seed);
  const base = res.memory.activationBase;
  for (const io of res.inputs) {
    const n = io.elementsPerSample * batch;
    const at = base + io.offsetPerSample * batch;
    if (io.dtype === "i32") {
      const [lo, hi] = io.range ?? [0, 2];
      new Int32Array(memory.buffer, at, n).set(Int32Array.from({ length: n }, () => Math.floor(r(lo, hi))));
    } else new Float32Array(memory.buffer, at, n).set(Float32Array.from({ length: n }, () => r(-1, 1)));
  }
  (instance.exports["run"] as (b: number) => void)(batch);
  const out: Record<string, Float32Array> = {};
  for (const io of res.outputs)
    out[io.name] = new Float32Array(memory.buffer, base + io.offsetPerSample * batch, io.elementsPerSample * batch).slice();
  return out;
}

describe("in place on the examples", () => {
  const files = readdirSync("dsl-examples").filter((f) => f.endsWith(".model"));
  for (const file of files)
    it(`${file}: outputs bit-identical with and without in place (SIMD, batches 1 and 3); plan without overlaps`, async () => {
      const r = checkSource(readFileSync(`dsl-examples/${file}`, "utf8"), file);
      const g0 = optimizeGraph(r.graph!, { mode: "infer" });
      const { graph, weights } = optimizeWithWeights(g0, initWeights(g0, 1), { mode: "infer" });
      const on = emitWasm(graph, weights, { simd: true, embedWeights: false });
      const off = emitWasm(graph, weights, { simd: true, embedWeights: false, inPlace: false });
      expect(planOverlaps(on.plan)).toEqual([]);
      expect(on.plan.bytesPerSample).toBeLessThanOrEqual(off.plan.bytesPerSample);
      for (const batch of [1, 3]) {
        const a = await runModule(on, batch, 40 + batch);
        const b = await runModule(off, batch, 40 + batch);
        for (const k of Object.keys(b)) {
          expect(Array.from(a[k]!), `${file} ${k}`).toEqual(Array.from(b[k]!));
          expect(b[k]!.some((v) => v !== 0), `${file} ${k} not all zero`).toBe(true);
        }
      }
    });
});
