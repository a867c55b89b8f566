// The main job (README's first command): train dsl-examples/mnist-cnn.model on the real MNIST digits of
// the `mnist` package in wasm, compile the trained inference artifact, evaluate it on the held-out test
// split, then load it with the runtime and measure latency and throughput.
// Neighbours: compiler/cli/train.ts (trainCommand), compiler/cli/eval.ts (evalCommand), runtime/index.ts.

import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { trainCommand } from "../compiler/cli/train.js";
import { evalCommand } from "../compiler/cli/eval.js";
import { processIo } from "../compiler/cli/common.js";
import { loadMnist, MNIST_PIXELS } from "../compiler/data/mnist.js";
import { loadModel } from "../runtime/index.js";

const MODEL = process.argv[2] ?? "dsl-examples/mnist-cnn.model";
const OUT = process.argv[3] ?? "out/demo";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<number> {
  console.log(`== 1. train ${MODEL} (its train { } section) in wasm; checkpoints, curves and artifact in ${OUT}`);
  const t0 = performance.now();
  const trained = await trainCommand(MODEL, { out: OUT }, processIo);
  if (trained !== 0) return trained;
  console.log(`   trained and compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s; learning curves: ${join(OUT, "curves.svg")}`);

  const wasmPath = join(OUT, "mnist_cnn.wasm");
  console.log(`\n== 2. evaluate the compiled artifact ${wasmPath} on the test split`);
  const evaluated = await evalCommand(wasmPath, { data: "mnist" }, processIo);
  if (evaluated !== 0) return evaluated;

  console.log(`\n== 3. run it with the runtime (modelc/runtime) on 1,000 real digits`);
  const model = await loadModel(wasmPath);
  const mnist = loadMnist();
  const n = Math.min(1000, mnist.count);
  const images = mnist.images.subarray(0, n * MNIST_PIXELS);
  const input = model.inputs[0]!.name;
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    model.run({ [input]: images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS) });
    lat.push(performance.now() - s);
  }
  const B = 64;
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const s = performance.now();
    for (let i = 0; i + B <= n; i += B) model.run({ [input]: images.subarray(i * MNIST_PIXELS, (i + B) * MNIST_PIXELS) }, { batch: B });
    rounds.push(performance.now() - s);
  }
  const perRound = Math.floor(n / B) * B;
  console.log(`   ${model.simd ? "SIMD" : "scalar"} module; batch 1: median latency ${(median(lat) * 1000).toFixed(0)} µs`);
  console.log(`   batch ${B}: ${(perRound / (median(rounds) / 1000)).toFixed(0)} samples/s (median of 5 passes)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(2);
  },
);
