// Pass: dead-code elimination; nodes whose outputs reach no graph output go, and so do values
// nothing uses any more (including unused params/state). Neighbours: passes/pipeline.ts.

import type { Graph } from "../ir/types.js";
import { cloneGraph } from "./clone.js";

/**
 * Keep only nodes from which a graph output is reachable; then drop every value that is neither a
 * graph input, a graph output, nor used or produced by a kept node (so unused params and consts
 * disappear). Graph inputs are part of the interface and always stay. Returns a new graph.
 */
export function eliminateDeadCode(g: Graph): Graph {
  const out = cloneGraph(g);
  const live = new Set(out.outputs.map((o) => o.value));
  const keep = new Array<boolean>(out.nodes.length).fill(false);
  for (let k = out.nodes.length - 1; k >= 0; k--) {
    const n = out.nodes[k]!;
    if (n.outputs.some((o) => live.has(o))) {
      keep[k] = true;
      for (const i of n.inputs) live.add(i);
    }
  }
  out.nodes = out.nodes.filter((_, k) => keep[k]);
  const used = new Set<string>([...out.inputs.map((i) => i.value), ...out.outputs.map((o) => o.value)]);
  for (const n of out.nodes) for (const id of [...n.inputs, ...n.outputs]) used.add(id);
  for (const id of Object.keys(out.values)) if (!used.has(id)) delete out.values[id];
  return out;
}
