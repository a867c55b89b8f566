// Exports what `modelc train` would do with a .model file's train section (split indices, per-epoch sample
// orders, augmentation draws, hyperparameters, initial weights), for scripts/pytorch_mnist.py to replay in PyTorch.
// Neighbours: compiler/train/driver.ts (the order of operations reproduced here), data/split.ts, data/augment.ts (from dist/).
// @ts-check

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "./lib.js";

const USAGE = `usage: node bench/export-run.js MODEL_FILE [-o DIR | --out DIR] [--epochs N] [--seed N]

Writes DIR/run.json and DIR/init.safetensors (default DIR: out/pytorch-compare/<model name>):
  run.json          hyperparameters of the train section (after --epochs/--seed), the split indices into the
                    mnist package's digits in loadMnist order, each epoch's sample order (positions in the train
                    split, compiler/data/split.ts epochOrder) and each epoch's augmentation draws per train sample
                    ([dx, dy, degrees], compiler/data/augment.ts) when the train section augments
  init.safetensors  modelc's initial weights (initWeights(graph, seed)), PyTorch state_dict names and layouts
Needs the built compiler (npm run build). Only data = mnist() is supported.`;

const dist = (/** @type {string} */ path) => new URL(`../dist/compiler/${path}`, import.meta.url);
/** @param {string} path */
async function load(path) {
  const url = dist(path);
  if (!existsSync(fileURLToPath(url))) throw new Error(`dist/compiler/${path} is missing: run npm run build first`);
  return import(url.href);
}

/**
 * Export the run of `modelFile` into `outDir`; returns the paths written.
 * @param {string} modelFile @param {{out?: string, epochs?: number, seed?: number}} options
 */
export async function exportRun(modelFile, options = {}) {
  const { checkSource } = await load("check.js");
  const { initWeights } = await load("weights/init.js");
  const { writeSafetensors } = await load("weights/safetensors.js");
  const { mnistDataset } = await load("data/mnist.js");
  const { splitDataset } = await load("data/split.js");
  const { epochOrder } = await load("data/split.js");
  const { ImageAugmenter } = await load("data/augment.js");

  const source = readFileSync(modelFile, "utf8");
  const checked = checkSource(source, modelFile);
  const errors = checked.diagnostics.filter((/** @type {{severity: string}} */ d) => d.severity === "error");
  if (!checked.graph || errors.length > 0) throw new Error(`${modelFile} does not check: ${errors.map((/** @type {{message: string}} */ d) => d.message).join("; ")}`);
  const spec = checked.train;
  if (!spec) throw new Error(`${modelFile} has no train { ... } section`);
  if (spec.data.source !== "mnist") throw new Error(`${modelFile}: only data = mnist() can be exported (got ${spec.data.source})`);
  if (options.epochs !== undefined) spec.epochs = options.epochs;
  if (options.seed !== undefined) spec.seed = options.seed;

  const data = mnistDataset();
  const split = splitDataset(data, { train: spec.split.train, validation: spec.split.validation, test: spec.split.test }, spec.seed);
  const n = split.train.count;
  const epochOrders = [];
  for (let e = 0; e < spec.epochs; e++) epochOrders.push(Array.from(epochOrder(n, spec.seed, e)));

  let maxShift = 0;
  let maxRotation = 0;
  for (const a of spec.augment) {
    if (a.kind === "shift") maxShift = Math.max(maxShift, a.pixels);
    else maxRotation = Math.max(maxRotation, a.degrees);
  }
  /** @type {number[][][] | null} */
  let augment = null;
  if (spec.augment.length > 0) {
    const aug = new ImageAugmenter([1, 28, 28], { seed: spec.seed, maxShift, maxRotation });
    augment = [];
    for (let e = 0; e < spec.epochs; e++) {
      const perSample = [];
      for (let p = 0; p < n; p++) {
        const d = aug.params(p, e);
        perSample.push([d.dx, d.dy, d.degrees]);
      }
      augment.push(perSample);
    }
  }

  const outDir = resolve(options.out ?? join("out", "pytorch-compare", checked.graph.name));
  mkdirSync(outDir, { recursive: true });
  const run = {
    format: "modelc-run/1",
    model: checked.graph.name,
    modelFile,
    samples: data.count,
    hyper: {
      batch_size: spec.batch_size,
      epochs: spec.epochs,
      seed: spec.seed,
      optimizer: spec.optimizer,
      schedule: spec.schedule,
      clip_grad_norm: spec.clip_grad_norm ?? null,
      augment: { max_shift: maxShift, max_rotation: maxRotation },
      losses: spec.losses.map((/** @type {{op: string, attrs: object}} */ l) => ({ op: l.op, attrs: l.attrs })),
    },
    indices: { train: Array.from(split.indices.train), validation: Array.from(split.indices.validation), test: Array.from(split.indices.test) },
    epochOrders,
    augment,
  };
  const runPath = join(outDir, "run.json");
  writeFileSync(runPath, JSON.stringify(run));
  const weights = initWeights(checked.graph, spec.seed);
  const initPath = join(outDir, "init.safetensors");
  writeFileSync(initPath, writeSafetensors(new Map([...weights].map(([k, w]) => [k, { shape: w.shape, data: w.data }])), { source: "modelc initWeights", seed: String(spec.seed) }));
  return { runPath, initPath };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { options, positional } = parseArgs(process.argv.slice(2).map((a) => (a === "-o" ? "--out" : a)));
  if (options.help || positional.length !== 1) {
    console.error(USAGE);
    process.exit(options.help ? 0 : 2);
  }
  const num = (/** @type {string | true | undefined} */ v) => (typeof v === "string" ? Number(v) : undefined);
  try {
    const out = typeof options.out === "string" ? options.out : undefined;
    const epochs = num(options.epochs);
    const seed = num(options.seed);
    const r = await exportRun(positional[0], { ...(out ? { out } : {}), ...(epochs !== undefined ? { epochs } : {}), ...(seed !== undefined ? { seed } : {}) });
    console.log(`wrote ${r.runPath}\nwrote ${r.initPath}`);
  } catch (e) {
    console.error(`export-run: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
