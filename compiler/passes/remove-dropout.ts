// Pass: remove training-only nodes for inference (dropout is the identity at inference).
// Neighbours: passes/pipeline.ts runs it in "infer" mode; ir/ops/norm.ts marks dropout `trainOnly`.

import type { Graph, Node } from "../ir/types.js";
import { getOp } from "../ir/ops/index.js";
import { cloneGraph } from "./clone.js";

/** True for nodes that do not run in inference graphs: ops marked `trainOnly` and nodes with mode "train". */
function isTrainOnly(n: Node): boolean {
  return n.mode === "train" || getOp(n.op)?.trainOnly === true;
}

/**
 * Remove training-only nodes. Each removed node's outputs are replaced, in every consumer and graph
 * output, by its first input when that has the same type (identity at inference, as PyTorch eval()
 * dropout); otherwise the uses are left for validation to report. Removed outputs leave `values`.
 * Returns a new graph; `g` is not modified.
 */
export function removeDropout(g: Graph): Graph {
  const out = cloneGraph(g);
  const replace = new Map<string, string>();
  const resolve = (id: string): string => {
    let cur = id;
    while (replace.has(cur)) cur = replace.get(cur)!;
    return cur;
  };
  const kept: Node[] = [];
  for (const n of out.nodes) {
    n.inputs = n.inputs.map(resolve);
    if (!isTrainOnly(n)) {
      kept.push(n);
      continue;
    }
    const src = n.inputs[0];
    for (const o of n.outputs) {
      const a = src !== undefined ? out.values[src] : undefined;
      const b = out.values[o];
      if (a && b && a.type.dtype === b.type.dtype && JSON.stringify(a.type.shape) === JSON.stringify(b.type.shape)) {
        replace.set(o, src!);
        delete out.values[o];
      }
    }
  }
  out.nodes = kept;
  out.outputs = out.outputs.map((o) => ({ name: o.name, value: resolve(o.value) }));
  return out;
}
