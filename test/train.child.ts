// Child process of the SIGKILL test (test/checkpoint.test.ts): trains the lowered graph in GRAPH.json into DIR for
// EPOCHS epochs, resuming from DIR/checkpoint.safetensors when it exists; prints "ready" at the first step, "done"
// at the end. No front end is loaded, so it starts fast. Usage: node --import tsx test/train.child.ts GRAPH.json DIR EPOCHS.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Graph } from "../compiler/ir/types.js";
import { initWeights } from "../compiler/weights/init.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { ReferenceTrainBackend } from "../compiler/train/backend.js";
import { train } from "../compiler/train/driver.js";
import { mlpSpec, synthetic } from "./train.fixtures.js";

const [graphFile, dir, epochs] = process.argv.slice(2) as [string, string, string];
const graph = JSON.parse(readFileSync(graphFile, "utf8")) as Graph;
const spec = mlpSpec({ epochs: Number(epochs) });
const tg = buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] } });
const backend = new ReferenceTrainBackend(tg, initWeights(graph, spec.seed));
let said = false;
const r = await train({
  graph: tg, spec, backend, data: synthetic(), outDir: dir, resume: existsSync(join(dir, "checkpoint.safetensors")),
  onProgress: (e) => {
    if (e.kind === "step" && !said) {
      said = true;
      process.stdout.write("ready\n");
    }
  },
});
process.stdout.write(`done ${r.status} ${r.epochs}\n`);
