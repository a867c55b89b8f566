// passes/fold-batchnorm.ts: which conv2d/dense + batchnorm pairs fold, the folded tensors against a float64 oracle,
// the reference interpreter before/after, and compile() end to end on the batchnorm examples (with and without the
// pass: same outputs, no batchnorm kernel left, the artifact's tensors and `modelc export` from it).
// Neighbours: passes/pipeline.ts (WEIGHT_PASSES, optimizeWithWeights), compiler/index.ts, cli/export.ts.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { foldBatchnorm, foldBatchnormGraph } from "../compiler/passes/fold-batchnorm.js";
import { optimizeWithWeights, optimizeWithoutWeights } from "../compiler/passes/pipeline.js";
import { runReference } from "../compiler/interp/reference.js";
import { compile } from "../compiler/index.js";
import { loadModel } from "../runtime/index.js";
import { main } from "../compiler/cli/main.js";
import { decodeOnnxModel } from "../compiler/export/onnx-schema.js";
import { bufferIo } from "../compiler/cli/common.js";
import { randomWeights } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -0.5, high: 0.5 };

/** bn params of layer `name` with C channels (builder param ids: weight, bias, running_mean, running_var). */
function bnParams(b: GraphBuilder, name: string, C: number): string[] {
  return [
    b.param(`${name}.weight`, [C], U),
    b.param(`${name}.bias`, [C], U),
    b.param(`${name}.running_mean`, [C], U, "state"),
    b.param(`${name}.running_var`, [C], { kind: "ones" }, "state"),
  ];
}

/**
 * x [3, 8, 8] -> conv (4 ch, 3x3 same, bias) -> bn1 -> relu -> conv2 (5 ch, no bias) -> bn2 -> flatten -> dense (6)
 * -> bn3 (batchnorm1d) -> out "y". `exposeConv`: the first conv's raw output is also an output "c".
 */
function net(exposeConv = false): Graph {
  const b = new GraphBuilder("net");
  const x = b.input("x", "f32", [3, 8, 8]);
  const conv = { kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 };
  const [c1] = b.node("conv2d", [x, b.param("conv1.weight", [4, 3, 3, 3], U), b.param("conv1.bias", [4], U)], { ...conv, out_channels: 4, bias: true });
  const [n1] = b.node("batchnorm", [c1!, ...bnParams(b, "bn1", 4)], { eps: 1e-5, momentum: 0.1 }, { layer: "bn1" });
  const [r1] = b.node("relu", [n1!], {});
  const [c2] = b.node("conv2d", [r1!, b.param("conv2.weight", [5, 4, 3, 3], U)], { ...conv, out_channels: 5, bias: false });
  const [n2] = b.node("batchnorm", [c2!, ...bnParams(b, "bn2", 5)], { eps: 1e-3, momentum: 0.1 }, { layer: "bn2" });
  const [f] = b.node("flatten", [n2!], { start_dim: 1 });
  const [d] = b.node("dense", [f!, b.param("fc.weight", [6, 320], U), b.param("fc.bias", [6], U)], { units: 6, bias: true });
  const [n3] = b.node("batchnorm", [d!, ...bnParams(b, "bn3", 6)], { eps: 1e-5, momentum: 0.1 }, { layer: "bn3" });
  b.output("y", n3!);
  if (exposeConv) b.output("c", c1!);
  return b.build();
}

/** Max |a - b| / max(1e-3, |b|) over every output, reference interpreter, batch 3, seeded inputs in [-1, 1). */
function maxRel(a: Graph, wa: WeightMap, b: Graph, wb: WeightMap): number {
  let s = 12345;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const inputs: Record<string, RefTensor> = { x: { shape: [3, 3, 8, 8], data: Float64Array.from({ length: 3 * 192 }, rnd) } };
  const ra = runReference(a, wa, inputs);
  const rb = runReference(b, wb, inputs);
  let m = 0;
  for (const k of Object.keys(ra)) ra[k]!.data.forEach((v, i) => (m = Math.max(m, Math.abs(v - rb[k]!.data[i]!) / Math.max(1e-3, Math.abs(v)))));
  return m;
}

describe("foldBatchnormGraph / foldBatchnorm", () => {
  it("folds conv2d (with and without bias) and a rank-2 dense into their batchnorms; the bn tensors vanish", () => {
    const g = net();
    const w = randomWeights(g, 5);
    const { graph, weights } = foldBatchnorm(g, w);
    expect(validateGraph(graph, { schema: false })).toEqual([]);
    expect(graph.nodes.map((n) => n.op)).toEqual(["conv2d", "relu", "conv2d", "flatten", "dense"]);
    // the layer produces the batchnorm's output value; its inputs are the folded tensors; attrs.bias is on
    const conv2 = graph.nodes[2]!;
    expect(conv2.outputs).toEqual(g.nodes[4]!.outputs);
    expect(conv2.attrs["bias"]).toBe(true);
    expect(conv2.inputs.slice(1).map((id) => graph.values[id]!.name)).toEqual(["conv2.weight~bn2", "conv2.bias~bn2"]);
    expect([...weights.keys()].sort()).toEqual(
      ["conv1.bias~bn1", "conv1.weight~bn1", "conv2.bias~bn2", "conv2.weight~bn2", "fc.bias~bn3", "fc.weight~bn3"].sort(),
    );
    // inputs untouched
    expect(g.nodes).toHaveLength(8);
    expect(w.has("bn1.weight")).toBe(true);
  });

  it("folded tensors equal the float64 formula rounded once to f32", () => {
    const g = net();
    const w = randomWeights(g, 6);
    const { weights } = foldBatchnorm(g, w);
    const at = (n: string): Float32Array => w.get(n)!.data;
    for (const [layer, bn, eps, bias] of [["conv1", "bn1", 1e-5, true], ["conv2", "bn2", 1e-3, false], ["fc", "bn3", 1e-5, true]] as const) {
      const W = at(`${layer}.weight`);
      const O = at(`${bn}.weight`).length;
      const per = W.length / O;
      const wantW: number[] = [];
      const wantB: number[] = [];
      for (let o = 0; o < O; o++) {
        const s = at(`${bn}.weight`)[o]! / Math.sqrt(at(`${bn}.running_var`)[o]! + eps);
        for (let k = 0; k < per; k++) wantW.push(Math.fround(W[o * per + k]! * s));
        wantB.push(Math.fround(((bias ? at(`${layer}.bias`)[o]! : 0) - at(`${bn}.running_mean`)[o]!) * s + at(`${bn}.bias`)[o]!));
      }
      expect(Array.from(weights.get(`${layer}.weight~${bn}`)!.data)).toEqual(wantW);
      expect(Array.from(weights.get(`${layer}.bias~${bn}`)!.data)).toEqual(wantB);
    }
  });

  it("the reference interpreter gives the same outputs before and after (1e-6 relative: f32 rounding of the fold)", () => {
    for (const seed of [1, 2, 3]) {
      const g = net(true);
      const w = randomWeights(g, seed);
      const f = foldBatchnorm(g, w);
      const err = maxRel(g, w, f.graph, f.weights);
      expect(err).toBeLessThan(1e-6);
      expect(err).toBeGreaterThan(0); // the weights really are new (rounded) tensors
    }
  });

  it("no fold when the layer output has another consumer or is a graph output, after a non-layer op, for a rank-3 dense, in train mode", () => {
    // conv1's output is a graph output: bn1 stays, bn2 and bn3 fold
    const exposed = foldBatchnormGraph(net(true)).graph;
    expect(exposed.nodes.map((n) => n.op)).toEqual(["conv2d", "batchnorm", "relu", "conv2d", "flatten", "dense"]);
    // a second consumer of the conv output
    const b = new GraphBuilder("two");
    const x = b.input("x", "f32", [4]);
    const [d] = b.node("dense", [x, b.param("fc.weight", [4, 4], U), b.param("fc.bias", [4], U)], { units: 4, bias: true });
    const [n] = b.node("batchnorm", [d!, ...bnParams(b, "bn", 4)], { eps: 1e-5, momentum: 0.1 });
    const [s] = b.node("add", [n!, d!], {});
    // batchnorm after a relu (not a layer)
    const [r] = b.node("relu", [s!], {});
    const [n2] = b.node("batchnorm", [r!, ...bnParams(b, "bn2", 4)], { eps: 1e-5, momentum: 0.1 });
    b.output("y", n2!);
    const two = b.build();
    expect(foldBatchnormGraph(two).graph).toBe(two);
    // rank-3 dense: batchnorm1d's channel axis is the sequence axis, not the units
    const b3 = new GraphBuilder("seq");
    const x3 = b3.input("x", "f32", [5, 4]);
    const [d3] = b3.node("dense", [x3, b3.param("fc.weight", [5, 4], U)], { units: 5, bias: false });
    const [n3] = b3.node("batchnorm", [d3!, ...bnParams(b3, "bn", 5)], { eps: 1e-5, momentum: 0.1 });
    b3.output("y", n3!);
    const seq = b3.build();
    expect(foldBatchnormGraph(seq).graph).toBe(seq);
    // the pipeline: train mode leaves graph and weights alone
    const g = net();
    const w = randomWeights(g, 1);
    const t = optimizeWithWeights(g, w, { mode: "train" });
    expect(t.graph).toBe(g);
    expect(t.weights).toBe(w);
    expect(optimizeWithWeights(g, w, { mode: "infer", skip: ["fold-batchnorm"] }).graph).toBe(g);
    expect(optimizeWithWeights(g, w, { mode: "infer" }).graph.nodes).toHaveLength(5);
    // without weights (modelc inspect): the same graph, in every mode and with skip
    for (const o of [{ mode: "infer" as const }, { mode: "train" as const }, { mode: "infer" as const, skip: ["fold-batchnorm"] }])
      expect(JSON.stringify(optimizeWithoutWeights(g, o))).toBe(JSON.stringify(optimizeWithWeights(g, w, o).graph));
  });
});

/** Number of functions defined in a wasm binary (its function section's count). */
function definedFunctions(wasm: Uint8Array): number {
  let p = 8;
  const leb = (): number => {
    let r = 0;
    let sh = 0;
    for (;;) {
      const b = wasm[p++]!;
      r |= (b & 0x7f) << sh;
      sh += 7;
      if (!(b & 0x80)) return r >>> 0;
    }
  };
  while (p < wasm.length) {
    const id = wasm[p++]!;
    const size = leb();
    if (id === 3) return leb();
    p += size;
  }
  return 0;
}

describe("compile(): batchnorm folded in the examples", () => {
  for (const example of ["mnist-cnn", "mnist-multitask"]) {
    it(`${example}: same outputs with and without the pass; no batchnorm kernel or tensor left`, async () => {
      const src = readFileSync(`dsl-examples/${example}.model`, "utf8");
      const on = await compile(src, { file: `${example}.model`, seed: 9, simd: "simd" });
      const off = await compile(src, { file: `${example}.model`, seed: 9, simd: "simd", skipPasses: ["fold-batchnorm"] });
      expect(on.graph!.nodes.some((n) => n.op === "batchnorm")).toBe(false);
      expect(off.graph!.nodes.filter((n) => n.op === "batchnorm")).toHaveLength(2);
      const mOn = on.artifact!.manifest;
      const mOff = off.artifact!.manifest;
      const names = mOn.weights.tensors.map((t) => t.name);
      expect(names).toContain("stage1.conv.weight~stage1.bn");
      expect(names.filter((n) => /\.bn\.|^stage\d\.conv\.(weight|bias)$/.test(n))).toEqual([]);
      // 2 batchnorm kernels gone, and the 2 relus after them now fuse into the conv epilogue
      const wOn = on.artifact!.files.get(`${mOn.name}.wasm`) as Uint8Array;
      const wOff = off.artifact!.files.get(`${mOff.name}.wasm`) as Uint8Array;
      expect(definedFunctions(wOff) - definedFunctions(wOn)).toBe(4);
      // (without the fold, in-place execution already puts bn and relu in the conv output's buffer: equal then)
      expect(mOn.memory.bytesPerSample).toBeLessThanOrEqual(mOff.memory.bytesPerSample);
      const a = await loadModel(wOn);
      const b = await loadModel(wOff);
      for (const batch of [1, 5]) {
        const image = Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 7919) % 255) / 255);
        const inputs: Record<string, Float32Array> = { image };
        const ra = a.run(inputs, { batch }) as Record<string, Float32Array>;
        const rb = b.run(inputs, { batch }) as Record<string, Float32Array>;
        for (const k of Object.keys(rb)) {
          let worst = 0;
          rb[k]!.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ra[k]![i]!) / Math.max(1, Math.abs(v)))));
          expect(worst, `${example} ${k} batch ${batch}`).toBeLessThan(1e-5);
          expect(Array.from(ra[k]!).every(Number.isFinite)).toBe(true);
        }
      }
    });
  }

  it("modelc export --onnx of a folded artifact (with --source) exports the folded graph with its tensors", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "modelc-bnfold-"));
    const model = "dsl-examples/mnist-cnn.model";
    const quiet = bufferIo();
    expect(await main(["compile", model, "-o", tmp, "--seed", "2", "--no-simd"], quiet)).toBe(0);
    const out = join(tmp, "cnn.onnx");
    expect(await main(["export", "--onnx", join(tmp, "mnist_cnn.nosimd.wasm"), "--source", model, "-o", out], quiet)).toBe(0);
    const onnx = decodeOnnxModel(readFileSync(out));
    expect(onnx.graph!.node!.map((n) => n.op_type)).not.toContain("BatchNormalization");
    expect(onnx.graph!.initializer!.map((t) => t.name)).toContain("stage2.conv.bias~stage2.bn");
  });
});
