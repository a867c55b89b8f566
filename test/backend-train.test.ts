// The wasm training module (backend/wasm/train.ts) against the float64 ReferenceTrainBackend: a tiny MLP and a
// tiny CNN (conv, batchnorm, maxpool, dropout, dense), SGD/Adam, eval/run, SIMD vs scalar, determinism, tensors.
// Neighbours: test/train.helpers.ts (MLP + spec), compiler/train/backend.ts (the interface and the oracle).

import { describe, expect, it } from "vitest";
import { createWasmTrainBackend, emitTrainingWasm, inPlaceUpdates } from "../compiler/backend/wasm/train.js";
import { ReferenceTrainBackend, type BatchFields, type TrainBackend } from "../compiler/train/backend.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import type { TrainSpec, TrainingGraph } from "../compiler/train/spec.js";
import type { WeightMap } from "../compiler/ir/types.js";
import { initWeights } from "../compiler/weights/init.js";
import { usesSimd } from "../compiler/backend/wasm/module.js";
import { lower, mlpSpec, MLP_SOURCE } from "./train.helpers.js";

/**
 * conv -> batchnorm -> relu -> maxpool -> dense -> relu -> dropout -> dense, on 1x8x8 images, 3 classes. The conv
 * has no bias: before batchnorm its gradient is 0 up to rounding, which Adam would amplify to +-lr per step.
 */
const CNN_SOURCE = `model cnn {
  input image: f32[1, 8, 8]
  let h = image -> c1: conv2d(4, kernel=3, padding="same", bias=false) -> bn: batchnorm -> relu -> maxpool2d(2) -> flatten
  output logits = h -> fc1: dense(16) -> relu -> dropout(0.25) -> fc2: dense(3)
}
`;

/** Seeded xorshift numbers in [lo, hi). */
function rng(seed: number): (lo: number, hi: number) => number {
  let s = seed >>> 0 || 1;
  return (lo, hi) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + (s / 4294967296) * (hi - lo);
  };
}

/**
 * A batch of `n` samples: the model input (per-sample `shape`) uniform in [-1, 1), a learnable label in 0..2
 * (argmax of three fixed sums of the sample's first, middle and last thirds).
 */
function batchOf(input: string, shape: number[], n: number, seed: number): BatchFields {
  const r = rng(seed);
  const per = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * per }, () => r(-1, 1));
  const label = Int32Array.from({ length: n }, (_, i) => {
    const part = (k: number): number => x.slice(i * per + Math.floor((k * per) / 3), i * per + Math.floor(((k + 1) * per) / 3)).reduce((a, b) => a + b, 0);
    const s = [part(0), part(1), part(2)];
    return s.indexOf(Math.max(...s));
  });
  return { [input]: x, label };
}

interface Setup {
  tg: TrainingGraph;
  weights: WeightMap;
  input: string;
  shape: number[];
}

function setup(source: string, spec: TrainSpec, input: string, shape: number[]): Setup {
  const graph = lower(source);
  const tg = buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] } });
  return { tg, weights: initWeights(graph, spec.seed), input, shape };
}

const mlp = (over: Partial<TrainSpec> = {}): Setup => setup(MLP_SOURCE, mlpSpec(over), "x", [4]);
const cnn = (over: Partial<TrainSpec> = {}): Setup => setup(CNN_SOURCE, mlpSpec(over), "image", [1, 8, 8]);

/** Run `steps` train steps (batch sizes cycle through `sizes`), returning the losses per step. */
function train(b: TrainBackend, s: Setup, steps: number, lr: number, sizes = [5, 3, 8]): number[] {
  const out: number[] = [];
  for (let k = 1; k <= steps; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(b.trainStep(n, batchOf(s.input, s.shape, n, 100 + k), { lr, step: k, seed: 11 })["loss"]!);
  }
  return out;
}

/** max |a - b| / max(1, |b|) over two tensor maps. */
function tensorError(a: TrainBackend, b: TrainBackend): number {
  const ta = a.readTensors();
  let err = 0;
  for (const [name, t] of b.readTensors()) {
    const got = ta.get(name)!.data;
    t.data.forEach((v, i) => (err = Math.max(err, Math.abs(got[i]! - v) / Math.max(1, Math.abs(v)))));
  }
  return err;
}

const relErr = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(1e-6, Math.abs(b[i]!))));

describe("wasm training module vs the float64 reference", () => {
  // [name, setup, lr, optimized build]: one binaryen -O3 build (about 3 s); the others skip it to stay fast.
  const cases: [string, () => Setup, number, boolean][] = [
    ["MLP, Adam + clipping", () => mlp(), 0.05, false],
    ["MLP, SGD", () => mlp({ optimizer: { kind: "sgd", lr: 0.5 } }), 0.5, false],
    ["MLP, momentum (nesterov) + weight decay", () => mlp({ optimizer: { kind: "momentum", lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.01 } }), 0.1, false],
    ["CNN, Adam", () => cnn({ clip_grad_norm: undefined as unknown as number }), 0.01, true],
    ["CNN, SGD + clipping", () => cnn({ optimizer: { kind: "sgd", lr: 0.1 } }), 0.1, false],
  ];
  for (const simd of [true, false])
    for (const [name, make, lr, optimize] of cases)
      it(`${name} (${simd ? "SIMD" : "scalar"}): 20 steps, losses and tensors within 1e-4`, () => {
        const s = make();
        const ref = new ReferenceTrainBackend(s.tg, s.weights);
        const wasm = createWasmTrainBackend(s.tg, s.weights, { simd, optimize: optimize && simd });
        const lr0 = train(ref, s, 20, lr);
        const lw = train(wasm, s, 20, lr);
        expect(lw.every(Number.isFinite)).toBe(true);
        expect(relErr(lw, lr0)).toBeLessThan(1e-4);
        expect(tensorError(wasm, ref)).toBeLessThan(1e-4);
        const mean = (a: number[]): number => a.reduce((p, c) => p + c, 0) / a.length;
        if (name.startsWith("MLP")) expect(mean(lw.slice(15))).toBeLessThan(mean(lw.slice(0, 5))); // it learns
      });
});

describe("wasm training module: eval, run, builds, tensors", () => {
  it("eval_step matches the reference (losses and outputs) after training; run() gives the same logits", () => {
    const s = cnn();
    const ref = new ReferenceTrainBackend(s.tg, s.weights);
    const wasm = createWasmTrainBackend(s.tg, s.weights, { simd: true, optimize: false });
    train(ref, s, 5, 0.01);
    train(wasm, s, 5, 0.01);
    const batch = batchOf("image", [1, 8, 8], 6, 999);
    const a = wasm.evalStep(6, batch);
    const b = ref.evalStep(6, batch);
    expect(Math.abs(a.losses["loss"]! - b.losses["loss"]!) / b.losses["loss"]!).toBeLessThan(1e-4);
    expect(Object.keys(a.outputs).sort()).toEqual(Object.keys(b.outputs).sort());
    b.outputs["logits"]!.forEach((v, i) => expect(a.outputs["logits"]![i]!).toBeCloseTo(v, 4));
    expect(Array.from(wasm.run(6, { image: batch["image"]! })["logits"]!)).toEqual(Array.from(a.outputs["logits"]!));
  });

  it("two weighted losses, a target that is the model input (mse reconstruction), AdamW: losses and eval match", () => {
    const src = "model ae {\n  input x: f32[6]\n  let h = x -> enc: dense(3) -> tanh\n  output recon = h -> dec: dense(6)\n  output logits = h -> cls: dense(3)\n}\n";
    const spec = mlpSpec({
      losses: [
        { name: "rec", op: "mse", input: "recon", target: "x", attrs: {}, weight: 1 },
        { name: "ce", op: "cross_entropy", input: "logits", target: "label", attrs: {}, weight: 0.5 },
      ],
      optimizer: { kind: "adamw", lr: 0.01 },
    });
    const s = setup(src, spec, "x", [6]);
    const ref = new ReferenceTrainBackend(s.tg, s.weights);
    const wasm = createWasmTrainBackend(s.tg, s.weights, { simd: true, optimize: false });
    for (let k = 1; k <= 10; k++) {
      const batch = batchOf("x", [6], 4, k);
      const a = ref.trainStep(4, batch, { lr: 0.01, step: k, seed: 1 });
      const b = wasm.trainStep(4, batch, { lr: 0.01, step: k, seed: 1 });
      expect(relErr([b["rec"]!, b["ce"]!], [a["rec"]!, a["ce"]!])).toBeLessThan(1e-5);
    }
    expect(tensorError(wasm, ref)).toBeLessThan(1e-5);
    const batch = batchOf("x", [6], 3, 77);
    const [ea, eb] = [ref.evalStep(3, batch), wasm.evalStep(3, batch)];
    expect(relErr([eb.losses["rec"]!, eb.losses["ce"]!], [ea.losses["rec"]!, ea.losses["ce"]!])).toBeLessThan(1e-5);
    expect(Object.keys(wasm.run(3, { x: batch["x"]! })).sort()).toEqual(["logits", "recon"]);
  });

  it("dropout masks match the reference: with p = 0.9 the first-step losses agree", () => {
    const src = MLP_SOURCE.replace("dropout(0.1)", "dropout(0.9)");
    const s = setup(src, mlpSpec(), "x", [4]);
    const ref = new ReferenceTrainBackend(s.tg, s.weights);
    const wasm = createWasmTrainBackend(s.tg, s.weights, { simd: true, optimize: false });
    const l0 = train(ref, s, 3, 0.05);
    const l1 = train(wasm, s, 3, 0.05);
    expect(relErr(l1, l0)).toBeLessThan(1e-5);
  });

  it("SIMD and scalar builds agree; the scalar build has no v128; two runs are bit-identical", () => {
    const s = cnn();
    const scalar = emitTrainingWasm(s.tg, s.weights, { simd: false, optimize: false });
    expect(usesSimd(scalar.wasm)).toBe(false);
    expect(usesSimd(emitTrainingWasm(s.tg, s.weights, { simd: true, optimize: false }).wasm)).toBe(true);
    const run = (simd: boolean): { losses: number[]; tensors: Map<string, Float32Array> } => {
      const b = createWasmTrainBackend(s.tg, s.weights, { simd, optimize: false });
      const losses = train(b, s, 10, 0.01);
      return { losses, tensors: new Map([...b.readTensors()].map(([k, v]) => [k, v.data])) };
    };
    const [a, b, c] = [run(true), run(true), run(false)];
    expect(b.losses).toEqual(a.losses);
    for (const [k, v] of a.tensors) expect(Array.from(b.tensors.get(k)!)).toEqual(Array.from(v));
    expect(relErr(c.losses, a.losses)).toBeLessThan(1e-5);
  });

  it("readTensors / writeTensors round trip; optimizer state starts at zero; errors name the tensor", () => {
    const s = mlp();
    const wasm = createWasmTrainBackend(s.tg, s.weights, { simd: true, optimize: false });
    const t0 = wasm.readTensors();
    expect([...t0.keys()]).toEqual(s.tg.tensors.map((t) => t.name));
    expect(Array.from(t0.get("fc1.weight")!.data)).toEqual(Array.from(s.weights.get("fc1.weight")!.data));
    expect(t0.get("fc1.weight.exp_avg")!.data.every((v) => v === 0)).toBe(true);
    train(wasm, s, 3, 0.05);
    expect(wasm.readTensors().get("fc1.weight.exp_avg")!.data.some((v) => v !== 0)).toBe(true);
    wasm.writeTensors(t0);
    const again = createWasmTrainBackend(s.tg, s.weights, { simd: true, optimize: false });
    expect(train(wasm, s, 3, 0.05)).toEqual(train(again, s, 3, 0.05));
    expect(() => wasm.writeTensors(new Map([["nope", { shape: [1], data: new Float32Array(1) }]]))).toThrow(/unknown tensor 'nope'/);
    expect(() => wasm.writeTensors(new Map([["fc1.bias", { shape: [3], data: new Float32Array(3) }]]))).toThrow(/fc1.bias/);
  });

  it("batchnorm over a batch of one value per channel is a clear error (as PyTorch), not NaN", () => {
    const source = `model bn1d {
  input x: f32[4]
  output logits = x -> fc1: dense(6) -> bn: batchnorm -> relu -> fc2: dense(3)
}
`;
    const s = setup(source, mlpSpec(), "x", [4]);
    const wasm = createWasmTrainBackend(s.tg, s.weights, { simd: true, optimize: false });
    const one = batchOf("x", [4], 1, 3);
    expect(() => wasm.trainStep(1, one, { lr: 0.01, step: 1, seed: 0 })).toThrow(
      "batchnorm 'bn': expected more than 1 value per channel when training, got input size [1, 6]",
    );
    const two = batchOf("x", [4], 2, 3);
    expect(Number.isFinite(wasm.trainStep(2, two, { lr: 0.01, step: 1, seed: 0 })["loss"]!)).toBe(true);
  });

  it("layout: tensors at fixed 16-aligned offsets in PyTorch shapes, losses as fixed outputs", () => {
    const s = cnn();
    const { layout } = emitTrainingWasm(s.tg, s.weights, { simd: true, optimize: false });
    expect(layout.tensors.map((t) => t.role)).toContain("state");
    expect(layout.tensors.every((t) => t.offset % 16 === 0)).toBe(true);
    expect(layout.tensors.find((t) => t.name === "c1.weight")!.shape).toEqual([4, 1, 3, 3]);
    expect(layout.entries.train_step.fixedOutputs.map((o) => o.name)).toEqual(expect.arrayContaining(["loss:loss", "total_loss"]));
    expect(layout.entries.train_step.fixedInputs.map((o) => o.name).sort()).toEqual(["dropout_rng", "lr", "step"]);
    expect(layout.entries.run.inputs.map((i) => i.name)).toEqual(["image"]);
    expect(layout.memory.activationBase).toBeGreaterThan(layout.memory.fixedBase);
    // Every update (params, exp_avg/exp_avg_sq, batchnorm running stats) is written in place: no fixed buffers for them.
    expect([...inPlaceUpdates(s.tg, s.tg.graph.nodes).values()].sort()).toEqual(Object.keys(s.tg.updates).sort());
    const paramBytes = layout.tensors.filter((t) => t.role === "param").reduce((a, t) => a + 4 * t.shape.reduce((p, d) => p * d, 1), 0);
    expect(layout.memory.fixedBytes).toBeLessThan(2 * paramBytes);
  });
});
