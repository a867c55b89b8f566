// Training graphs leave out model inputs no loss or metric needs (a CVAE's generation `seed`), with the
// nodes and outputs that read them. Neighbours: train/build.ts calls it first; train/spec.ts (TrainSpec).

import type { Graph } from "../ir/types.js";
import { cloneGraph } from "../passes/clone.js";
import type { TrainSpec } from "./spec.js";

/**
 * `graph` without the model inputs that no active loss / metric depends on, the nodes that read them
 * (transitively) and the outputs those nodes produce. `refs` are the loss/metric model values (value
 * ids or output names); `targets` are data-field names, which keep a model input of the same name
 * (autoencoder targets). Example: in `output generated = sigmoid(decoder(random_normal(seed, 8), c))`
 * nothing a loss reads depends on `seed`, so training neither feeds `seed` nor computes `generated`
 * (the data need not have a `seed` field); the inference artifact keeps both. Returns `graph` itself
 * when nothing is left out, else a pruned copy.
 */
export function dropUnfedInputs(graph: Graph, refs: readonly string[], targets: readonly string[]): Graph {
  const names = unfedInputs(graph, refs, targets);
  const unfed = graph.inputs.filter((i) => names.has(i.name));
  if (unfed.length === 0) return graph;
  const g = cloneGraph(graph);
  const tainted = new Set(unfed.map((i) => i.value));
  g.nodes = g.nodes.filter((n) => {
    if (!n.inputs.some((i) => tainted.has(i))) return true;
    for (const o of n.outputs) tainted.add(o);
    return false;
  });
  g.inputs = g.inputs.filter((i) => !tainted.has(i.value));
  g.outputs = g.outputs.filter((o) => !tainted.has(o.value));
  for (const id of tainted) delete g.values[id];
  return g;
}

/** Names of the model inputs nothing in `refs` depends on and no target names (see dropUnfedInputs). */
export function unfedInputs(graph: Graph, refs: readonly string[], targets: readonly string[]): Set<string> {
  const idOf = (ref: string): string | undefined => (graph.values[ref] ? ref : graph.outputs.find((o) => o.name === ref)?.value);
  const anc = new Set(refs.map(idOf).filter((id): id is string => id !== undefined));
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (n.outputs.some((o) => anc.has(o))) for (const i of n.inputs) anc.add(i);
  }
  return new Set(graph.inputs.filter((i) => !anc.has(i.value) && !targets.includes(i.name)).map((i) => i.name));
}

/** The model values and target fields the active losses and the metrics of `spec` read. */
export function lossReads(
  losses: readonly Pick<TrainSpec["losses"][number], "input" | "target" | "targetValue">[],
  metrics: readonly Pick<TrainSpec["metrics"][number], "input" | "target">[],
): { refs: string[]; targets: string[] } {
  const refs = [...losses.flatMap((l) => (l.targetValue ? [l.input, l.target] : [l.input])), ...metrics.map((m) => m.input)];
  const targets = [...losses.filter((l) => !l.targetValue).map((l) => l.target), ...metrics.map((m) => m.target)];
  return { refs, targets };
}
