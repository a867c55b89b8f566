// Training driver tests on the reference backend: buildTrainingGraph's graphs, lr schedules, a short run
// that learns, resume (epoch boundary and mid-epoch) bit-identical to an uninterrupted run, early stopping,
// learning-curve files. Neighbours: test/train.helpers.ts, test/checkpoint.test.ts.

import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { validateGraph } from "../compiler/ir/validate.js";
import { buildTrainingGraph, TrainSpecError } from "../compiler/train/build.js";
import { learningRate } from "../compiler/train/schedule.js";
import { train, type TrainResult } from "../compiler/train/driver.js";
import { niceTicks, curvesCsv } from "../compiler/train/curves.js";
import { smooth } from "../compiler/train/history.js";
import { lower, mlpSpec, setup, synthetic } from "./train.helpers.js";
import { makeDataset } from "../compiler/data/dataset.js";
import { initWeights } from "../compiler/weights/init.js";
import { ReferenceTrainBackend } from "../compiler/train/backend.js";
import type { TrainSpec } from "../compiler/train/spec.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "modelc-train-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(spec: TrainSpec, outDir: string, extra: { resume?: boolean; abortAfterSteps?: number } = {}): Promise<{ result: TrainResult; tensors: Map<string, Float32Array> }> {
  const { tg, backend } = setup(spec);
  const ac = new AbortController();
  let steps = 0;
  const result = await train({
    graph: tg, spec, backend, data: synthetic(), outDir, resume: extra.resume ?? false, signal: ac.signal,
    onProgress: (e) => {
      if (e.kind === "step" && ++steps === extra.abortAfterSteps) ac.abort();
    },
  });
  const tensors = new Map([...backend.readTensors()].map(([k, t]) => [k, t.data]));
  return { result, tensors };
}

describe("buildTrainingGraph", () => {
  it("adds the target input, losses, total, fixed inputs and the eval graph; both validate", () => {
    const spec = mlpSpec({
      losses: [
        { name: "ce", op: "cross_entropy", input: "logits", target: "label", attrs: { label_smoothing: 0.1 }, weight: 1 },
        { name: "ce2", op: "cross_entropy", input: "logits", target: "label", attrs: {}, weight: 0.5 },
      ],
    });
    const tg = buildTrainingGraph(lower(), spec);
    expect(validateGraph(tg.graph)).toEqual([]);
    expect(validateGraph(tg.evalGraph)).toEqual([]);
    // several losses: their weights are fixed inputs (set per epoch by the driver)
    expect(tg.graph.inputs.map((i) => i.name)).toEqual(["x", "label", "loss_weight:ce", "loss_weight:ce2", "dropout_rng", "lr", "step"]);
    expect(tg.evalGraph.inputs.map((i) => i.name)).toEqual(["x", "label"]);
    expect(tg.graph.values[tg.graph.inputs.find((i) => i.name === "label")!.value]!.type).toEqual({ dtype: "i32", shape: ["N"] });
    expect(tg.dataInputs.map((d) => [d.name, d.kind, d.dtype, d.shape])).toEqual([["x", "input", "f32", [4]], ["label", "target", "i32", []]]);
    expect(tg.targets.map((d) => d.name)).toEqual(["label"]);
    expect(tg.losses.map((l) => [l.name, l.output, l.weight])).toEqual([["ce", "loss:ce", 1], ["ce2", "loss:ce2", 0.5]]);
    expect(tg.evalGraph.nodes.some((n) => n.op === "dropout" || n.op === "dropout_train")).toBe(false);
    expect(tg.graph.nodes.some((n) => n.op === "dropout_train")).toBe(true);
    expect(tg.graph.nodes.filter((n) => n.op === "adam_update")).toHaveLength(4);
    expect(tg.graph.nodes.some((n) => n.op === "global_norm")).toBe(true);
    expect(tg.tensors.map((t) => `${t.role}:${t.name}`)).toEqual([
      "param:fc1.weight", "param:fc1.bias", "param:fc2.weight", "param:fc2.bias",
      "optim:fc1.weight.exp_avg", "optim:fc1.weight.exp_avg_sq", "optim:fc1.bias.exp_avg", "optim:fc1.bias.exp_avg_sq",
      "optim:fc2.weight.exp_avg", "optim:fc2.weight.exp_avg_sq", "optim:fc2.bias.exp_avg", "optim:fc2.bias.exp_avg_sq",
    ]);
    expect(tg.metrics).toEqual([{ kind: "accuracy", output: "logits", target: "label" }]);
    expect(tg.step).toBeDefined();
    expect(tg.dropoutRng).toBeDefined();
  });

  it("weighted total = ce + 0.5 ce2 in the reference eval", () => {
    const spec = mlpSpec({
      losses: [
        { name: "ce", op: "cross_entropy", input: "logits", target: "label", attrs: {}, weight: 1 },
        { name: "sq", op: "mse", input: "logits", target: "soft", attrs: {}, weight: 0.5 },
      ],
      optimizer: { kind: "sgd", lr: 0.1 },
    });
    const { tg, backend } = setup(spec);
    expect(tg.dataInputs.map((d) => [d.name, d.dtype, d.shape])).toEqual([["x", "f32", [4]], ["label", "i32", []], ["soft", "f32", [3]]]);
    expect(tg.step).toBeUndefined();
    const x = Float32Array.from({ length: 8 }, (_, i) => i / 8 - 0.5);
    const r = backend.evalStep(2, { x, label: Int32Array.of(0, 2), soft: new Float32Array(6) });
    const logits = r.outputs["logits"]!;
    let mse = 0;
    for (const v of logits) mse += v * v;
    expect(r.losses["sq"]).toBeCloseTo(mse / 6, 6);
    const lse = (k: number): number => Math.log([0, 1, 2].reduce((s, c) => s + Math.exp(logits[k * 3 + c]!), 0));
    expect(r.losses["ce"]).toBeCloseTo((lse(0) - logits[0]! + lse(1) - logits[5]!) / 2, 6);
  });

  it("reports spec problems as TrainSpecError", () => {
    const bad = (over: Partial<TrainSpec>): (() => unknown) => () => buildTrainingGraph(lower(), mlpSpec(over));
    expect(bad({ losses: [{ name: "l", op: "mse", input: "nope", target: "t", attrs: {}, weight: 1 }] })).toThrow(/'nope' is not a value of model 'mlp'/);
    expect(bad({ losses: [] })).toThrow(TrainSpecError);
    const twice = mlpSpec().losses[0]!;
    expect(bad({ losses: [twice, twice] })).toThrow(/defined twice/);
    expect(() => buildTrainingGraph(lower(), mlpSpec(), { label: { dtype: "f32", shape: [5] } })).toThrow(/loss 'loss': cross_entropy: targets \[N, 5\] do not match logits \[N, 3\]/);
    expect(() => buildTrainingGraph(lower("model m {\n  input lr: f32[2]\n  output y = lr -> dense(2)\n}\n"), mlpSpec())).toThrow(/clashes/);
  });
});

describe("learningRate", () => {
  const at = (epoch: number, batch: number) => ({ epoch, batch, stepsPerEpoch: 4, epochs: 5 });
  it("constant and StepLR", () => {
    expect(learningRate({ kind: "constant" }, 0.1, at(3, 2))).toBe(0.1);
    const step = { kind: "step", step_size: 2, gamma: 0.5 } as const;
    expect([0, 1, 2, 3, 4].map((e) => learningRate(step, 0.1, at(e, 3)))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });
  it("cosine with linear warm-up reaches base at the end of warm-up and min_lr at the end", () => {
    const cos = { kind: "cosine", warmup_epochs: 1, min_lr: 0.01 } as const;
    [0.025, 0.05, 0.075, 0.1].forEach((v, b) => expect(learningRate(cos, 0.1, at(0, b))).toBeCloseTo(v, 15));
    expect(learningRate(cos, 0.1, at(1, 0))).toBe(0.1);
    // T - W = 16 steps; halfway (s = 12) the cosine gives the midpoint
    expect(learningRate(cos, 0.1, at(3, 0))).toBeCloseTo(0.055, 12);
    expect(learningRate(cos, 0.1, at(4, 3))).toBeCloseTo(0.01 + 0.09 * (1 + Math.cos(Math.PI * 15 / 16)) / 2, 12);
    expect(learningRate(cos, 0.1, at(9, 0))).toBe(0.01);
  });
});

describe("train (reference backend)", () => {
  it("learns, writes checkpoint and curves, evaluates the test split", async () => {
    const out = tmp();
    const events: string[] = [];
    const spec = mlpSpec({ epochs: 8 });
    const { tg, backend } = setup(spec);
    const r = await train({ graph: tg, spec, backend, data: synthetic(), outDir: out, onProgress: (e) => void events.push(e.kind) });
    expect(r.status).toBe("completed");
    expect(r.epochs).toBe(8);
    expect(r.steps).toBe(8 * 5); // 24 samples, batch 5 -> 5 steps (last one 4 samples)
    expect(r.history.steps).toHaveLength(40);
    expect(r.history.steps[4]!.x).toBe(1);
    expect(r.history.epochs.map((e) => e.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    const first = r.history.epochs[0]!;
    const last = r.history.epochs[7]!;
    expect(last.train.loss).toBeLessThan(0.7 * first.train.loss);
    expect(last.validation!.loss).toBeLessThan(first.validation!.loss);
    expect(last.validation!.metrics["accuracy"]).toBeGreaterThanOrEqual(0.75);
    expect(r.test!.samples).toBe(8);
    expect(r.test!.metrics["accuracy"]! * 8).toBe(Math.round(r.test!.metrics["accuracy"]! * 8));
    // the epoch's train loss is the batch-size-weighted mean of its step losses
    const s = r.history.steps.slice(0, 5).map((x) => x.loss);
    expect(first.train.loss).toBeCloseTo((s[0]! * 5 + s[1]! * 5 + s[2]! * 5 + s[3]! * 5 + s[4]! * 4) / 24, 12);
    expect(events[0]).toBe("start");
    expect(events.filter((e) => e === "step")).toHaveLength(40);
    expect(events.at(-1)).toBe("test");
    expect(r.weights.has("fc1.weight") && !r.weights.has("fc1.weight.exp_avg")).toBe(true);
    for (const f of ["checkpoint.safetensors", "curves.csv", "curves.json", "curves.svg"]) expect(existsSync(join(out, f)), f).toBe(true);
    const csv = readFileSync(join(out, "curves.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("epoch,step,lr,train_loss,val_loss,val_accuracy");
    expect(csv).toHaveLength(9);
    expect(Number(csv[8]!.split(",")[3])).toBe(last.train.loss);
    const svg = readFileSync(join(out, "curves.svg"), "utf8");
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain("validation accuracy");
    expect(JSON.parse(readFileSync(join(out, "curves.json"), "utf8")).epochs).toHaveLength(8);
  });

  it("resume at an epoch boundary is bit-identical to an uninterrupted run", async () => {
    const full = await run(mlpSpec({ epochs: 3 }), tmp());
    const out = tmp();
    const part = await run(mlpSpec({ epochs: 1 }), out);
    expect(part.result.epochs).toBe(1);
    const resumed = await run(mlpSpec({ epochs: 3 }), out, { resume: true });
    expect(resumed.result.history).toEqual(full.result.history);
    expect(resumed.result.test).toEqual(full.result.test);
    for (const [k, v] of full.tensors) expect([...resumed.tensors.get(k)!], k).toEqual([...v]);
  });

  it("an abort mid-epoch checkpoints; resume continues bit-for-bit", async () => {
    const spec = mlpSpec({ epochs: 3 });
    const full = await run(spec, tmp());
    const out = tmp();
    const a = await run(spec, out, { abortAfterSteps: 7 });
    expect(a.result.status).toBe("interrupted");
    expect(a.result.steps).toBe(7);
    expect(a.result.test).toBeUndefined();
    const b = await run(spec, out, { resume: true, abortAfterSteps: 3 }); // stops at the epoch-2 boundary (step 10)
    expect(b.result.status).toBe("interrupted");
    expect(b.result.steps).toBe(10);
    const c = await run(spec, out, { resume: true });
    expect(c.result.status).toBe("completed");
    expect(c.result.history).toEqual(full.result.history);
    for (const [k, v] of full.tensors) expect([...c.tensors.get(k)!], k).toEqual([...v]);
  });

  it("resume refuses other settings and a missing checkpoint", async () => {
    const out = tmp();
    await run(mlpSpec({ epochs: 1 }), out);
    await expect(run(mlpSpec({ epochs: 2, batch_size: 4 }), out, { resume: true })).rejects.toThrow(/other settings/);
    await expect(run(mlpSpec(), tmp(), { resume: true })).rejects.toThrow(/no checkpoint/);
  });

  it("early stopping fires after `patience` epochs without improvement", async () => {
    // lr 0: the validation loss never improves after epoch 1
    const spec = mlpSpec({ epochs: 10, optimizer: { kind: "sgd", lr: 0 }, schedule: { kind: "constant" }, early_stopping: { patience: 2, min_delta: 0 } });
    const { result } = await run(spec, tmp());
    expect(result.status).toBe("early_stopped");
    expect(result.epochs).toBe(3);
    const v = result.history.epochs.map((e) => e.validation!.loss);
    expect(v[1]).toBe(v[0]);
  });

  it("augmentation needs an image input", async () => {
    await expect(run(mlpSpec({ augment: [{ kind: "shift", pixels: 1 }] }), tmp())).rejects.toThrow(/needs an image input/);
  });
});

describe("train: images with augmentation and batchnorm state", () => {
  const CNN = "model cnn {\n  input image: f32[1, 6, 6]\n  output logits = image -> c: conv2d(3, kernel=3) -> bn: batchnorm -> relu -> flatten -> fc: dense(2)\n}\n";
  /** 30 images: class 1 = a bright 2x2 blob in the top-left quadrant, class 0 = bottom-right. */
  const images = () => {
    const image = new Float32Array(30 * 36);
    const label = new Int32Array(30);
    for (let n = 0; n < 30; n++) {
      label[n] = n % 2;
      const o = label[n] ? 7 : 21;
      for (const d of [0, 1, 6, 7]) image[n * 36 + o + d] = 1 + (n % 5) / 10;
    }
    return makeDataset({ image: { dtype: "f32", shape: [1, 6, 6], data: image }, label: { dtype: "i32", shape: [], data: label } });
  };
  const spec = (over: Partial<TrainSpec> = {}): TrainSpec => mlpSpec({
    split: { train: 20, validation: 5, test: 5, unit: "count" }, batch_size: 6, epochs: 3, clip_grad_norm: undefined,
    optimizer: { kind: "momentum", lr: 0.05, momentum: 0.9 }, schedule: { kind: "step", step_size: 2, gamma: 0.5 },
    augment: [{ kind: "shift", pixels: 1 }, { kind: "rotate", degrees: 15 }], ...over,
  });
  const runCnn = async (sp: TrainSpec, outDir: string, resume = false) => {
    const graph = lower(CNN);
    const tg = buildTrainingGraph(graph, sp, { label: { dtype: "i32", shape: [] } });
    const backend = new ReferenceTrainBackend(tg, initWeights(graph, sp.seed));
    const result = await train({ graph: tg, spec: sp, backend, data: images(), outDir, resume });
    return { tg, result, tensors: backend.readTensors() };
  };

  it("running statistics are state, momentum buffers optim; resume with augmentation is bit-identical", async () => {
    const full = await runCnn(spec(), tmp());
    expect(full.tg.tensors.filter((t) => t.role === "state").map((t) => t.name)).toEqual(["bn.running_mean", "bn.running_var"]);
    expect(full.tg.tensors.filter((t) => t.role === "optim").map((t) => t.name)).toContain("c.weight.momentum_buffer");
    expect([...full.tensors.get("bn.running_mean")!.data].some((v) => v !== 0)).toBe(true);
    expect(full.result.history.epochs.map((e) => e.lr)).toEqual([0.05, 0.05, 0.025]);
    const out = tmp();
    await runCnn(spec({ epochs: 2 }), out);
    const resumed = await runCnn(spec(), out, true);
    expect(resumed.result.history).toEqual(full.result.history);
    for (const [k, t] of full.tensors) expect([...resumed.tensors.get(k)!.data], k).toEqual([...t.data]);
    // augmentation changes what the model sees (and so the losses); the split and init do not change
    const plain = await runCnn(spec({ augment: [] }), tmp());
    expect(plain.result.history.steps[0]!.loss).not.toBe(full.result.history.steps[0]!.loss);
  });
});

describe("curves helpers", () => {
  it("niceTicks, smoothing, CSV", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 2.4, 5)).toEqual([0.5, 1, 1.5, 2]);
    expect(smooth([1, 1, 1])).toEqual([1, 1, 1].map(() => expect.closeTo(1, 12)));
    expect(smooth([0, 10])[1]).toBeCloseTo(10 * 0.1 / (1 - 0.81), 12);
    expect(curvesCsv({ steps: [], epochs: [] })).toBe("epoch,step,lr,train_loss,val_loss\n");
    const m = (l: number) => ({ loss: l, losses: { ce: l / 2, sq: l / 4 }, metrics: { accuracy: 0.5 }, samples: 4 });
    expect(curvesCsv({ steps: [], epochs: [{ epoch: 1, step: 3, lr: 0.1, train: m(2), validation: m(4) }] })).toBe(
      "epoch,step,lr,train_loss,train_ce,train_sq,val_loss,val_ce,val_sq,val_accuracy\n1,3,0.1,2,1,0.5,4,2,1,0.5\n");
  });
});
