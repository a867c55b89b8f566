// Pure fixtures of the training tests (no front end, so the SIGKILL child starts fast): a seeded synthetic
// 3-class data set and the TrainSpec of the test MLP. Neighbours: test/train.helpers.ts, test/train.child.ts.

import { makeDataset, type Dataset } from "../compiler/data/dataset.js";
import type { TrainSpec } from "../compiler/train/spec.js";

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
