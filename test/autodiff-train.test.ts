// End to end: gradGraph + optimGraph on small models, trained in the float64 reference interpreter; the
// dropout RNG pinned (the wasm kernel must reproduce these values). Neighbours: autodiff.helpers.ts.

import { describe, expect, it } from "vitest";
import type { RefTensor, WeightMap } from "../compiler/ir/types.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { runReference } from "../compiler/interp/reference.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { optimGraph, type OptimizerSpec } from "../compiler/autodiff/optimizer.js";
import { dropoutDraw, dropoutKey, dropoutThreshold } from "../compiler/ir/ops/grad-rng.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { lowerSource, rng, uniform, withLoss } from "./autodiff.helpers.js";

const MLP = "model mlp {\n  input x: f32[4]\n  output y = x -> fc1: dense(8) -> relu -> dropout(0.1) -> fc2: dense(3)\n}\n";

/** 12 points in 3 separable-ish classes (class = argmax of a fixed linear map of x). */
function dataset(): { x: RefTensor; target: RefTensor } {
  const r = rng(42);
  const x = uniform(r, [12, 4], -1, 1);
  const target = { shape: [12], data: new Float64Array(12) };
  for (let n = 0; n < 12; n++) {
    const [a, b, c, d] = [0, 1, 2, 3].map((k) => x.data[n * 4 + k]!) as [number, number, number, number];
    const s = [a + b, c - a, d - b];
    target.data[n] = s.indexOf(Math.max(...s));
  }
  return { x, target };
}

/** Initial f32 weights for every param/state of the graph, seeded (PyTorch-like small uniform). */
function initWeights(values: Record<string, { kind: string; name?: string; type: { shape: (number | "N")[] } }>): WeightMap {
  const r = rng(7);
  const w: WeightMap = new Map();
  for (const v of Object.values(values))
    if (v.kind === "param" || v.kind === "state") {
      const shape = v.type.shape as number[];
      const t = uniform(r, shape, -0.5, 0.5);
      w.set(v.name!, { shape, data: Float32Array.from(v.kind === "state" ? new Float64Array(t.data.length) : t.data) });
    }
  return w;
}

/** Train for `steps` steps, feeding every "new:<name>" output back as the weight; returns the loss per step. */
function train(spec: OptimizerSpec, steps: number, lr: number, clip?: { max_norm: number }): number[] {
  const { graph, loss } = withLoss(lowerSource(MLP), "y", {
    op: "cross_entropy",
    attrs: { reduction: "mean", label_smoothing: 0 },
    target: { dtype: "i32", shape: [] },
  });
  const opt = optimGraph(gradGraph(graph, { loss }), clip ? { optimizer: spec, clip } : { optimizer: spec });
  expect(validateGraph(opt.graph)).toEqual([]);
  const weights = initWeights(opt.graph.values);
  const { x, target } = dataset();
  const losses: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const out = runReference(opt.graph, weights, {
      x,
      target,
      dropout_rng: { shape: [2], data: Float64Array.of(1234, s) },
      lr: { shape: [1], data: Float64Array.of(lr) },
      ...(opt.step ? { step: { shape: [1], data: Float64Array.of(s) } } : {}),
    });
    losses.push(out["loss"]!.data[0]!);
    for (const name of Object.keys(opt.updates)) {
      const t = out[`new:${name}`]!;
      weights.set(name, { shape: t.shape, data: Float32Array.from(t.data) });
    }
  }
  return losses;
}

describe("training in the reference interpreter", () => {
  it("MLP + dropout + cross_entropy: 50 SGD steps decrease the loss", () => {
    const losses = train({ kind: "sgd" }, 50, 0.5);
    expect(losses[0]).toBeGreaterThan(1.0);
    expect(losses[49]!).toBeLessThan(0.6 * losses[0]!);
    const firstTen = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const lastTen = losses.slice(40).reduce((a, b) => a + b) / 10;
    expect(lastTen).toBeLessThan(firstTen);
  });

  it("momentum (nesterov), adam and adamw with clipping also train", () => {
    for (const [spec, lr] of [
      [{ kind: "momentum", momentum: 0.9, nesterov: true }, 0.1],
      [{ kind: "adam" }, 0.05],
      [{ kind: "adamw", weight_decay: 0.01 }, 0.05],
    ] as [OptimizerSpec, number][]) {
      const losses = train(spec, 30, lr, { max_norm: 1 });
      expect(losses[29]!, spec.kind).toBeLessThan(0.7 * losses[0]!);
    }
  });

  it("optimGraph adds lr/step inputs, PyTorch-named optimizer state and new:* outputs", () => {
    const { graph, loss } = withLoss(lowerSource("model m {\n  input x: f32[2]\n  output y = x -> fc: dense(2) -> bn: batchnorm\n}\n"), "y", {
      op: "mse",
      attrs: { reduction: "mean" },
      target: { dtype: "f32", shape: [2] },
    });
    const opt = optimGraph(gradGraph(graph, { loss }), { optimizer: { kind: "adam" } });
    expect(validateGraph(opt.graph)).toEqual([]);
    expect(opt.graph.inputs.map((i) => i.name)).toEqual(["x", "target", "lr", "step"]);
    const states = Object.values(opt.graph.values).filter((v) => v.kind === "state").map((v) => v.name).sort();
    expect(states).toEqual([
      "bn.bias.exp_avg", "bn.bias.exp_avg_sq", "bn.running_mean", "bn.running_var", "bn.weight.exp_avg", "bn.weight.exp_avg_sq",
      "fc.bias.exp_avg", "fc.bias.exp_avg_sq", "fc.weight.exp_avg", "fc.weight.exp_avg_sq",
    ]);
    expect(Object.keys(opt.updates).sort()).toEqual(["bn.bias", "bn.running_mean", "bn.running_var", "bn.weight", "fc.bias", "fc.weight", ...states.filter((s) => s.includes(".exp_"))].sort());
    expect(opt.graph.nodes.filter((n) => n.op === "adam_update")).toHaveLength(4);
  });
});

describe("dropout RNG (pinned: the wasm kernel must produce exactly these)", () => {
  it("key, draws and thresholds", () => {
    const k = dropoutKey(7, 3, 0);
    expect(k).toBe(2967840362);
    expect([0, 1, 2, 3, 1000].map((i) => dropoutDraw(k, i))).toEqual([13147965, 12129720, 7008791, 6078652, 10158402]);
    expect(dropoutKey(0, 0, 0)).toBe(1680814304);
    expect(dropoutKey(1, 0, 0)).toBe(4162723709);
    expect([0, 0.1, 0.5, 1].map(dropoutThreshold)).toEqual([0, 1677722, 8388608, 16777216]);
  });

  it("dropout_train keeps ~1-p, scales by 1/(1-p), depends on seed/step/salt, p=0 and p=1 edge cases", () => {
    const def = getOp("dropout_train")!;
    const x = { shape: [100, 100], data: new Float64Array(10000).fill(2) };
    const run = (p: number, seed: number, step: number, salt = 0) =>
      def.reference([x, { shape: [2], data: Float64Array.of(seed, step) }], { p, salt })[0]!.data;
    const y = run(0.3, 1, 1);
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => v === 2 / 0.7)).toBe(true);
    expect(Math.abs(kept.length / 10000 - 0.7)).toBeLessThan(0.02);
    expect([...run(0.3, 1, 1)]).toEqual([...y]);
    for (const other of [run(0.3, 2, 1), run(0.3, 1, 2), run(0.3, 1, 1, 1)]) {
      const same = other.reduce((s, v, i) => s + (v === y[i] ? 1 : 0), 0);
      expect(same).toBeLessThan(7000); // independent masks agree on ~0.58 of the elements
    }
    expect(run(0, 5, 5).every((v) => v === 2)).toBe(true);
    expect(run(1, 5, 5).every((v) => v === 0)).toBe(true);
  });
});
