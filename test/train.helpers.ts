// Shared fixtures of the training-driver tests: a tiny MLP with dropout, a seeded synthetic 3-class data set,
// a TrainSpec for them, and a reference backend factory. Neighbours: test/train*.test.ts, test/checkpoint*.test.ts,
// test/train.child.ts (the child process of the SIGKILL test).

import { checkSource } from "../compiler/check.js";
import type { Graph } from "../compiler/ir/types.js";
import { initWeights } from "../compiler/weights/init.js";
import { makeDataset, type Dataset } from "../compiler/data/dataset.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { ReferenceTrainBackend } from "../compiler/train/backend.js";
import type { TrainSpec, TrainingGraph } from "../compiler/train/spec.js";

/** A 4 -> 8 -> 3 MLP with dropout (so the dropout RNG is exercised). */
export const MLP_SOURCE = "model mlp {\n  input x: f32[4]\n  output logits = x -> fc1: dense(8) -> relu -> dropout(0.1) -> fc2: dense(3)\n}\n";

/** Lower a .model source (throws with the diagnostics on error). */
export function lower(source = MLP_SOURCE): Graph {
  const r = checkSource(source, "test.model");
  if (!r.graph) throw new Error(`lowering failed: ${JSON.stringify(r.diagnostics.map((d) => d.message))}`);
  return r.graph;
}

/** `count` samples: x uniform in [-1, 1)^4 (mulberry32, seed 42), label = argmax(x0 + x1, x2 - x0, x3 - x1). */
export function synthetic(count = 40): Dataset {
  let a = 42;
  const r = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const x = new Float32Array(count * 4);
  const label = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < 4; k++) x[n * 4 + k] = 2 * r() - 1;
    const [p, q, s, u] = [0, 1, 2, 3].map((k) => x[n * 4 + k]!) as [number, number, number, number];
    const scores = [p + q, s - p, u - q];
    label[n] = scores.indexOf(Math.max(...scores));
  }
  return makeDataset({ x: { dtype: "f32", shape: [4], data: x }, label: { dtype: "i32", shape: [], data: label } });
}

/** The TrainSpec of the tests; `over` replaces top-level entries. */
export function mlpSpec(over: Partial<TrainSpec> = {}): TrainSpec {
  return {
    data: { source: "npz", path: "synthetic.npz", fields: {} },
    split: { train: 24, validation: 8, test: 8, unit: "count" },
    losses: [{ name: "loss", op: "cross_entropy", input: "logits", target: "label", attrs: { reduction: "mean", label_smoothing: 0 }, weight: 1 }],
    optimizer: { kind: "adam", lr: 0.05 },
    schedule: { kind: "cosine", warmup_epochs: 1, min_lr: 0 },
    clip_grad_norm: 1,
    batch_size: 5,
    epochs: 3,
    seed: 7,
    metrics: [{ kind: "accuracy", input: "logits", target: "label" }],
    augment: [],
    ...over,
  };
}

/** The training graph of the MLP for `spec` and a fresh reference backend with seeded init weights. */
export function setup(spec: TrainSpec = mlpSpec(), source = MLP_SOURCE): { tg: TrainingGraph; backend: ReferenceTrainBackend; graph: Graph } {
  const graph = lower(source);
  const tg = buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] } });
  return { graph, tg, backend: new ReferenceTrainBackend(tg, initWeights(graph, spec.seed)) };
}
