// Pass: common-subexpression elimination; two pure nodes with the same op, attrs, mode and inputs
// become one and the second one's uses are rewired to the first. Neighbours: passes/pipeline.ts, side-effects.ts.

import type { Graph, Node } from "../ir/types.js";
import { cloneGraph } from "./clone.js";
import { isPure } from "./side-effects.js";

/** Attrs as a key independent of property order. */
function attrKey(attrs: Node["attrs"]): string {
  return JSON.stringify(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
}

/**
 * In graph order, a pure node (side-effects.ts: RNG ops such as dropout_train, reparameterize_train and
 * random_normal, and training-only nodes, are never merged) whose op, attrs, mode, inputs (after earlier
 * rewiring, in order) and output count equal those of an earlier kept node is removed; each of its outputs
 * is replaced by the earlier node's output at the same position in every consumer and graph output, and
 * leaves `values`. A node producing a graph output is kept (two outputs never share one value). Chains merge in one run (rewired inputs make later nodes equal). `layer` and `loc` of
 * the kept node stay. Returns a new graph; `g` is not modified.
 */
export function eliminateCommonSubexpressions(g: Graph): Graph {
  const out = cloneGraph(g);
  const replace = new Map<string, string>();
  const resolve = (id: string): string => replace.get(id) ?? id;
  const seen = new Map<string, Node>();
  const graphOutputs = new Set(out.outputs.map((o) => o.value));
  const kept: Node[] = [];
  for (const n of out.nodes) {
    n.inputs = n.inputs.map(resolve);
    if (!isPure(n)) {
      kept.push(n);
      continue;
    }
    const key = JSON.stringify([n.op, attrKey(n.attrs), n.mode ?? "both", n.inputs, n.outputs.length]);
    const first = seen.get(key);
    if (!first || n.outputs.some((id) => graphOutputs.has(id))) {
      if (!first) seen.set(key, n);
      kept.push(n);
      continue;
    }
    n.outputs.forEach((id, i) => {
      replace.set(id, first.outputs[i]!);
      delete out.values[id];
    });
  }
  out.nodes = kept;
  return out;
}
