// Shared helpers of the training-driver tests: the tiny MLP with dropout, lowering, and a reference backend
// factory (data and spec in train.fixtures.ts). Neighbours: test/train*.test.ts, test/checkpoint*.test.ts,
// test/train.child.ts (the child process of the SIGKILL test).

import { checkSource } from "../compiler/check.js";
import type { Graph } from "../compiler/ir/types.js";
import { initWeights } from "../compiler/weights/init.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { ReferenceTrainBackend } from "../compiler/train/backend.js";
import type { TrainSpec, TrainingGraph } from "../compiler/train/spec.js";
import { mlpSpec } from "./train.fixtures.js";

export { mlpSpec, synthetic } from "./train.fixtures.js";

/** A 4 -> 8 -> 3 MLP with dropout (so the dropout RNG is exercised). */
export const MLP_SOURCE = "model mlp {\n  input x: f32[4]\n  output logits = x -> fc1: dense(8) -> relu -> dropout(0.1) -> fc2: dense(3)\n}\n";

/** Lower a .model source (throws with the diagnostics on error). */
export function lower(source = MLP_SOURCE): Graph {
  const r = checkSource(source, "test.model");
  if (!r.graph) throw new Error(`lowering failed: ${JSON.stringify(r.diagnostics.map((d) => d.message))}`);
  return r.graph;
}

/** The training graph of the MLP for `spec` and a fresh reference backend with seeded init weights. */
export function setup(spec: TrainSpec = mlpSpec(), source = MLP_SOURCE): { tg: TrainingGraph; backend: ReferenceTrainBackend; graph: Graph } {
  const graph = lower(source);
  const tg = buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] } });
  return { graph, tg, backend: new ReferenceTrainBackend(tg, initWeights(graph, spec.seed)) };
}
