// Throughput of the wasm training module on dsl-examples/mnist-cnn.model: one epoch over 1,000 MNIST digits at
// batch 64 (samples/s and a per-op breakdown printed, not asserted; the loss must fall). MODELC_BENCH=1 measures the
// binaryen -O3 build (what `modelc train` runs; ~8 s to compile), otherwise the unoptimized one. Neighbours: backend-train.test.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkSource } from "../compiler/check.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { initWeights } from "../compiler/weights/init.js";
import { loadMnist, MNIST_PIXELS } from "../compiler/data/mnist.js";
import { createWasmTrainBackend } from "../compiler/backend/wasm/train.js";
import { profileTrainStep, timesByOp, type NodeTime } from "../compiler/backend/wasm/train-profile.js";

describe("MNIST CNN training throughput (wasm SIMD)", () => {
  it("one epoch of 1,000 digits at batch 64: prints samples/s and where the time goes; the loss falls", () => {
    const file = "dsl-examples/mnist-cnn.model";
    const r = checkSource(readFileSync(file, "utf8"), file);
    if (!r.graph || !r.train) throw new Error("mnist-cnn.model does not check");
    const tg = buildTrainingGraph(r.graph, r.train, { label: { dtype: "i32", shape: [] } });
    const t0 = performance.now();
    const optimize = process.env["MODELC_BENCH"] === "1";
    const b = createWasmTrainBackend(tg, initWeights(r.graph, 0), { simd: true, optimize, exportNodes: true });
    const compileMs = performance.now() - t0;
    const m = loadMnist();
    const count = 1000;
    const bs = 64;
    const batches: { n: number; image: Float32Array; label: Int32Array }[] = [];
    for (let s = 0; s < count; s += bs) {
      const n = Math.min(bs, count - s);
      batches.push({ n, image: m.images.slice(s * MNIST_PIXELS, (s + n) * MNIST_PIXELS), label: m.labels.slice(s, s + n) });
    }
    let step = 0;
    const losses: number[] = [];
    const t1 = performance.now();
    for (const x of batches) losses.push(b.trainStep(x.n, { image: x.image, label: x.label }, { lr: 0.001, step: ++step, seed: 0 })["loss"]!);
    const epochMs = performance.now() - t1;
    const times: NodeTime[] = [];
    for (const x of batches) profileTrainStep(b, x.n, { image: x.image, label: x.label }, { lr: 0.001, step: ++step, seed: 0 }, times);
    const lines = timesByOp(times).map(([op, ms, share]) => `  ${op.padEnd(22)} ${(ms).toFixed(1).padStart(8)} ms  ${(100 * share).toFixed(1).padStart(5)}%`);
    console.log(
      `mnist-cnn train (${optimize ? "-O3" : "unoptimized"} SIMD build): compile ${compileMs.toFixed(0)} ms; epoch of ${count} samples ${epochMs.toFixed(0)} ms = ${((count / epochMs) * 1000).toFixed(0)} samples/s\n` +
        `per op (second epoch, node by node):\n${lines.join("\n")}`,
    );
    expect(losses[0]!).toBeGreaterThan(2);
    const tail = losses.slice(-4).reduce((a, c) => a + c, 0) / 4;
    expect(tail).toBeLessThan(losses[0]! - 0.3);
  }, 120_000);
});
