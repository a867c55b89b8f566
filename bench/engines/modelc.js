// Training-speed engine for modelc (`node engines/modelc.js CONFIG_JSON`): the .model file's training graph
// (buildTrainingGraph) on the wasm training module (createWasmTrainBackend), from the built dist/.
// Neighbours: bench/train.js spawns it; bench/lib.js (protocol); compiler/cli/train.ts builds a backend the same way.
// @ts-check

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readBenchData, serveEngine } from "../lib.js";

/**
 * @type {{model: "cnn" | "mlp", modelFile: string, batch: number, samples: number, data: string, lr: number,
 *   seed: number, backend?: "wasm" | "reference", simd?: boolean}}
 */
const config = JSON.parse(process.argv[2] ?? "{}");
const dist = (/** @type {string} */ path) => new URL(`../../dist/compiler/${path}`, import.meta.url);

/** Import a dist module, with a reason that names the missing file when it is not built (yet). @param {string} path */
async function load(path) {
  const url = dist(path);
  if (!existsSync(fileURLToPath(url))) throw new Error(`dist/compiler/${path} is missing (not written yet, or run npm run build)`);
  return import(url.href);
}

await serveEngine(async () => {
  const { checkSource } = await load("check.js");
  const { buildTrainingGraph } = await load("train/build.js");
  const { initWeights } = await load("weights/init.js");
  const source = readFileSync(config.modelFile, "utf8");
  const checked = checkSource(source, config.modelFile);
  const errors = checked.diagnostics.filter((/** @type {{severity: string}} */ d) => d.severity === "error");
  if (!checked.graph || errors.length > 0) throw new Error(`${config.modelFile} does not check: ${errors.map((/** @type {{message: string}} */ d) => d.message).join("; ")}`);
  if (!checked.train) throw new Error(`${config.modelFile} has no train section`);
  // the benchmark's settings override the file's: batch size and a constant Adam lr (the schedule does not change the work)
  const spec = { ...checked.train, batch_size: config.batch, optimizer: { ...checked.train.optimizer, kind: "adam", lr: config.lr } };
  const fieldTypes = { image: { dtype: "f32", shape: [1, 28, 28] }, label: { dtype: "i32", shape: [] } };
  const tg = buildTrainingGraph(checked.graph, spec, fieldTypes);
  const weights = initWeights(checked.graph, config.seed);

  const kind = config.backend ?? "wasm";
  /** @type {any} */
  let backend;
  if (kind === "reference") {
    const { ReferenceTrainBackend } = await load("train/backend.js");
    backend = new ReferenceTrainBackend(tg, weights);
  } else {
    const mod = await load("backend/wasm/train.js");
    if (typeof mod.createWasmTrainBackend !== "function") throw new Error("dist/compiler/backend/wasm/train.js exports no createWasmTrainBackend");
    backend = await mod.createWasmTrainBackend(tg, weights, { simd: config.simd !== false });
  }

  const { batch, samples } = config;
  const { images, labels } = readBenchData(config.data);
  const image = tg.dataInputs.find((/** @type {{field: string}} */ d) => d.field === "image");
  const label = tg.dataInputs.find((/** @type {{field: string}} */ d) => d.field === "label");
  if (!image || !label) throw new Error(`the training graph's data inputs are ${tg.dataInputs.map((/** @type {{name: string}} */ d) => d.name).join(", ")}, expected image and label`);
  /** @type {Record<string, Float32Array | Int32Array>[]} */
  const batches = [];
  for (let s = 0; s + batch <= samples; s += batch)
    batches.push({ [image.name]: images.subarray(s * 784, (s + batch) * 784), [label.name]: labels.subarray(s, s + batch) });
  let k = 0;
  const step = () => {
    const fields = batches[k % batches.length];
    k++;
    const losses = backend.trainStep(batch, fields, { lr: config.lr, step: k, seed: config.seed });
    return Object.values(losses).reduce((a, b) => a + b, 0);
  };
  const info = { version: JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version, backend: kind === "wasm" ? (config.simd === false ? "wasm scalar" : "wasm SIMD") : "float64 reference", threads: 1 };
  return { info, step, batch };
});
