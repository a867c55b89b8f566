// Pass: keep only some outputs of a model (`modelc compile --heads a,b`); with dead-code elimination the
// other heads' branches, their params and the inputs only they read disappear. Neighbours: passes/dce.ts, index.ts compile().

import type { Graph } from "../ir/types.js";
import { cloneGraph } from "./clone.js";
import { eliminateDeadCode } from "./dce.js";
import { didYouMean } from "../frontend/scope.js";

/** `--heads` naming something that is not an output (message lists the outputs; `hint`: "did you mean 'x'?"). */
export class HeadSelectionError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "HeadSelectionError";
  }
}

/**
 * `g` with only the outputs named in `heads` (in the graph's order), dead code removed (eliminateDeadCode)
 * and then every graph input that no kept node or output reads removed too. Returns a new graph.
 * Errors: HeadSelectionError for an unknown output name (with a "did you mean" hint for a near one, as
 * `train --heads` gives) or an empty list.
 */
export function selectHeads(g: Graph, heads: readonly string[]): Graph {
  if (heads.length === 0) throw new HeadSelectionError("--heads: the list is empty; name at least one output");
  const names = g.outputs.map((o) => o.name);
  for (const h of heads)
    if (!names.includes(h)) throw new HeadSelectionError(`--heads: model '${g.name}' has no output '${h}' (outputs: ${names.join(", ")})`, didYouMean(h, names));
  const out = cloneGraph(g);
  out.outputs = out.outputs.filter((o) => heads.includes(o.name));
  const pruned = eliminateDeadCode(out);
  const read = new Set<string>(pruned.outputs.map((o) => o.value));
  for (const n of pruned.nodes) for (const i of n.inputs) read.add(i);
  const unused = pruned.inputs.filter((i) => !read.has(i.value));
  pruned.inputs = pruned.inputs.filter((i) => read.has(i.value));
  for (const i of unused) delete pruned.values[i.value];
  return pruned;
}
