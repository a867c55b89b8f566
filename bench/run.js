// Benchmark entry point: `node bench/run.js [suite] [options]` (npm run bench -- SUITE builds modelc first).
// Neighbours: bench/train.js (the `train` suite), bench/infer.js (`infer`), bench/threads.js (`threads`), bench/lib.js; bench/README.md documents the suites.
// @ts-check

import { INFER_USAGE, inferSuite } from "./infer.js";
import { THREADS_USAGE, threadsSuite } from "./threads.js";
import { TRAIN_USAGE, trainSuite } from "./train.js";

/** Suites by name: run(argv) and their usage text. */
const SUITES = {
  infer: { run: inferSuite, usage: INFER_USAGE, about: "inference latency: modelc vs onnxruntime-web/-node and tfjs-wasm; wasm SIMD peak, compile time, sizes" },
  train: { run: trainSuite, usage: TRAIN_USAGE, about: "training samples/s: modelc's wasm trainer vs TensorFlow.js and PyTorch CPU" },
  threads: { run: threadsSuite, usage: THREADS_USAGE, about: "modelc/runtime/threads: 1 thread vs 2 on MLP b64, CNN b64, GEMM 512³ (speedup)" },
};

const [suite = "infer", ...rest] = process.argv.slice(2);
if (suite === "--help" || suite === "-h" || suite === "help") {
  console.log("usage: node bench/run.js [suite] [options]   (default suite: infer)\n\nsuites:");
  for (const [name, s] of Object.entries(SUITES)) console.log(`  ${name.padEnd(8)} ${s.about}`);
  console.log("\n`node bench/run.js SUITE --help` lists a suite's options.");
} else if (!(suite in SUITES)) {
  console.error(`bench: unknown suite '${suite}' (${Object.keys(SUITES).join(", ")})`);
  process.exit(2);
} else {
  try {
    await SUITES[/** @type {keyof typeof SUITES} */ (suite)].run(rest);
  } catch (e) {
    console.error(`bench ${suite}: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
