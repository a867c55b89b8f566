// dsl-examples/transformer-block.model vs PyTorch nn.TransformerEncoderLayer(norm_first, gelu, batch_first):
// the example compiles with PyTorch state_dict names, loads weights from safetensors and matches the
// real-size golden output; its block at d_model=16 matches forward (inference modules, SIMD + scalar) and
// all parameter and input gradients (training modules, SIMD + scalar). Golden: test/golden/gen_attention.py.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Graph, WeightMap } from "../compiler/ir/types.js";
import { compile, writeSafetensors } from "../compiler/index.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { emitTrainingWasm } from "../compiler/backend/wasm/train.js";
import { numel } from "../compiler/ir/graph.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { validateGraph } from "../compiler/ir/validate.js";
import type { TrainDataInput, TrainTensor, TrainingGraph } from "../compiler/train/spec.js";
import { load } from "./backend.helpers.js";
import { lowerSource, withLoss } from "./autodiff.helpers.js";
import { BLOCK_CASES, dec, det, detWeights, relErr, type BlockCase } from "./attention.helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLE = readFileSync(join(ROOT, "dsl-examples", "transformer-block.model"), "utf8");
const BLOCK_SRC = EXAMPLE.slice(EXAMPLE.indexOf("block encoder_layer"), EXAMPLE.indexOf("model transformer_block"));
const TOL = 1e-5;
const worst: Record<string, number> = {};
const note = (k: string, e: number): number => ((worst[k] = Math.max(worst[k] ?? 0, e)), e);

/** The example's block in a model of the small case's size. */
function smallSource(c: BlockCase): string {
  const L = c.x!.shape[1]!;
  return `${BLOCK_SRC}\nmodel small {\n  input x: f32[${L}, ${c.d_model}]\n  output y = x -> layer: encoder_layer(${c.d_model}, ${c.nhead}, ${c.dim_feedforward})\n}\n`;
}

function caseWeights(c: BlockCase): WeightMap {
  return new Map(Object.entries(c.params!).map(([k, t]) => [`layer.${k}`, { shape: [...t.shape], data: Float32Array.from(dec(t).data) }]));
}

describe("transformer-block.model", () => {
  const real = BLOCK_CASES.find((c) => c.seq !== undefined)!;
  const small = BLOCK_CASES.find((c) => c.seq === undefined)!;

  it("compiles; weights are nn.TransformerEncoderLayer's state_dict under 'layer.'", async () => {
    const r = await compile(EXAMPLE, { file: "transformer-block.model", simd: "simd" });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const names = Object.values(r.graph!.values).filter((v) => v.kind === "param").map((v) => v.name!).sort();
    expect(names).toEqual(Object.keys(small.params!).map((k) => `layer.${k}`).sort());
    const io = r.artifact!.manifest.inputs[0]!;
    expect(io.shape).toEqual(["N", 64, 128]);
  });

  it("real size (d_model 128, nhead 4, ff 512, seq 64): safetensors weights, SIMD + scalar forward vs PyTorch", async () => {
    const r0 = await compile(EXAMPLE, { simd: "simd" });
    const tensors = new Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>();
    for (const v of Object.values(r0.graph!.values))
      if (v.kind === "param") tensors.set(v.name!, { dtype: "F32", shape: v.type.shape as number[], data: detWeights(v.name!.slice("layer.".length), v.type.shape as number[]) });
    const bytes = writeSafetensors(tensors);
    const r = await compile(EXAMPLE, { weights: bytes, simd: "simd" });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const x = det("x", 64 * 128, 1);
    const want = dec(real.expect.y).data;
    for (const simd of [true, false]) {
      const m = await load(emitWasm(r.graph!, r.weights!, { simd, embedWeights: true }), true);
      const y = m.run({ x }, 1)["y"]!;
      expect(note(`real forward ${simd ? "simd" : "scalar"}`, relErr(y, want))).toBeLessThanOrEqual(TOL);
    }
  });

  it(`${small.name}: forward, SIMD + scalar`, async () => {
    const r = await compile(smallSource(small), { weights: caseWeights(small), simd: "simd" });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    for (const simd of [true, false]) {
      const m = await load(emitWasm(r.graph!, r.weights!, { simd, embedWeights: true }), true);
      const y = m.run({ x: Float32Array.from(dec(small.x!).data) }, small.x!.shape[0]!)["y"]!;
      expect(note(`small forward ${simd ? "simd" : "scalar"}`, relErr(y, dec(small.expect.y).data))).toBeLessThanOrEqual(TOL);
    }
  });

  it(`${small.name}: training-module gradients of x and every param, SIMD + scalar`, async () => {
    // Loss = sum((y - T)^2) with T = f32(y_wasm - g / 2) (y_wasm of the same build): dL/dy = 2 (y - T) = g
    // up to T's f32 rounding (~6e-8 |y|), so the gradients are PyTorch's for loss = sum(y * g).
    const B = small.x!.shape[0]!;
    const [L, D] = small.x!.shape.slice(1) as [number, number];
    const x = Float32Array.from(dec(small.x!).data);
    const g = dec(small.g!).data;
    const weights = caseWeights(small);
    const inf = await compile(smallSource(small), { weights, simd: "simd" });
    const { graph: fwd, loss } = withLoss(lowerSource(smallSource(small)), "y", { op: "mse", attrs: { reduction: "sum" }, target: { dtype: "f32", shape: [L, D] } });
    const params = Object.values(fwd.values).filter((v) => v.kind === "param");
    const xId = fwd.inputs.find((i) => i.name === "x")!.value;
    const tId = fwd.inputs.find((i) => i.name === "target")!.value;
    const res = gradGraph(fwd, { loss, wrt: [...params.map((p) => p.id), xId] });
    expect(validateGraph(res.graph)).toEqual([]);
    expect(res.graph.nodes.filter((n) => n.op === "multihead_attention_grad").length).toBe(1);
    const graph = res.graph;
    graph.outputs = graph.outputs.map((o) => ({ name: `loss:${o.name}`, value: o.value }));
    const evalGraph: Graph = structuredClone(fwd);
    evalGraph.outputs = [{ name: "loss:loss", value: loss }];
    const dataInputs: TrainDataInput[] = [
      { name: "x", field: "x", value: xId, dtype: "f32", shape: [L, D], kind: "input" },
      { name: "target", field: "target", value: tId, dtype: "f32", shape: [L, D], kind: "target" },
    ];
    const tensors: TrainTensor[] = params.map((p) => ({ name: p.name!, role: "param", shape: p.type.shape as number[] }));
    const tg: TrainingGraph = {
      graph, evalGraph, losses: [{ name: "loss", output: "loss:loss", value: loss, weight: 1 }], totalLoss: loss, updates: {}, lr: "",
      targets: dataInputs.filter((d) => d.kind === "target"), dataInputs, tensors, metrics: [],
    };
    for (const simd of [true, false]) {
      // T from the same build's forward (the training module's forward kernels compute the same y).
      const yW = (await load(emitWasm(inf.graph!, inf.weights!, { simd, embedWeights: true }), true)).run({ x }, B)["y"]!;
      const data: Record<string, Float32Array> = { x, target: Float32Array.from(yW, (v, k) => v - g[k]! / 2) };
      const { wasm, layout } = emitTrainingWasm(tg, weights, { simd, optimize: false, weights: "embed" });
      const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), {});
      const ex = inst.exports as unknown as { memory: WebAssembly.Memory; train_step(b: number): void };
      const e = layout.entries.train_step;
      const need = layout.memory.activationBase + layout.memory.bytesPerSample * B;
      if (ex.memory.buffer.byteLength < need) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / 65536));
      const base = layout.memory.activationBase;
      for (const io of e.inputs) new Float32Array(ex.memory.buffer, base + io.offsetPerSample * B, io.elementsPerSample * B).set(data[io.name]!);
      for (const io of e.outputs) new Float32Array(ex.memory.buffer, base + io.offsetPerSample * B, io.elementsPerSample * B).fill(NaN);
      for (const s of e.fixedOutputs) new Float32Array(ex.memory.buffer, s.offset, numel(s.shape)).fill(NaN);
      ex.train_step(B);
      const out: Record<string, Float32Array> = {};
      for (const io of e.outputs) out[io.name.replace(/^loss:/, "")] = new Float32Array(ex.memory.buffer, base + io.offsetPerSample * B, io.elementsPerSample * B).slice();
      for (const s of e.fixedOutputs) out[s.name.replace(/^loss:/, "")] = new Float32Array(ex.memory.buffer, s.offset, numel(s.shape)).slice();
      const tag = simd ? "simd" : "scalar";
      expect(note(`small grad ${tag}`, relErr(out["grad:x"]!, dec(small.expect.dx!).data)), "grad x").toBeLessThanOrEqual(TOL);
      for (const [k, t] of Object.entries(small.expect.grads!))
        expect(note(`small grad ${tag}`, relErr(out[`grad:layer.${k}`]!, dec(t).data)), `grad ${k} (${tag})`).toBeLessThanOrEqual(TOL);
    }
  });

  it("report worst errors", () => {
    console.log(`transformer block worst rel error vs PyTorch: ${JSON.stringify(worst)}`);
  });
});
