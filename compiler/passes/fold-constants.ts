// Pass: constant folding; a pure node whose inputs are all constants is run with its op's float64
// reference at compile time and its outputs become constants. Neighbours: passes/pipeline.ts, interp/reference.ts.

import type { Graph, Node, RefTensor } from "../ir/types.js";
import { getOp } from "../ir/ops/index.js";
import { numel } from "../ir/graph.js";
import { cloneGraph } from "./clone.js";
import { isPure } from "./side-effects.js";

/** Largest tensor (elements) a fold may create; bigger results stay nodes (consts are stored in the artifact). */
export const MAX_FOLDED_ELEMENTS = 1 << 16;

/**
 * Fold every node that (in graph order) has at least one input, only `const` inputs (ValueInfo.kind
 * "const" with `data`; trainable params and state are never folded: they change with the weights), is
 * pure (side-effects.ts: no RNG, no training-only node), has only f32 outputs of static shape (no "N")
 * of at most MAX_FOLDED_ELEMENTS elements, and none of whose outputs is a graph output. The node goes;
 * its outputs keep their ids and types and become `kind: "const"` with the reference's float64 data,
 * so the reference interpreter computes exactly the same numbers. Folds chain (a folded output feeds
 * later folds). Returns a new graph; `g` is not modified.
 */
export function foldConstants(g: Graph): Graph {
  const out = cloneGraph(g);
  const graphOutputs = new Set(out.outputs.map((o) => o.value));
  const kept: Node[] = [];
  for (const n of out.nodes) {
    const tensors = foldable(out, n, graphOutputs) ? evaluate(out, n) : undefined;
    if (!tensors) {
      kept.push(n);
      continue;
    }
    n.outputs.forEach((id, i) => {
      const v = out.values[id]!;
      const { loc, ...rest } = v;
      out.values[id] = { ...rest, kind: "const", data: Array.from(tensors[i]!.data), ...(loc ? { loc } : {}) };
    });
  }
  out.nodes = kept;
  return out;
}

function foldable(g: Graph, n: Node, graphOutputs: Set<string>): boolean {
  if (n.inputs.length === 0 || !isPure(n)) return false;
  if (!n.inputs.every((id) => g.values[id]?.kind === "const" && g.values[id]!.data !== undefined)) return false;
  return n.outputs.every((id) => {
    const t = g.values[id]?.type;
    if (!t || t.dtype !== "f32" || t.quant || graphOutputs.has(id)) return false;
    return t.shape.every((d) => d !== "N") && numel(t.shape as number[]) <= MAX_FOLDED_ELEMENTS;
  });
}

/** The node's outputs from its reference rule, or undefined when they do not match the declared types. */
function evaluate(g: Graph, n: Node): RefTensor[] | undefined {
  const args = n.inputs.map((id) => {
    const v = g.values[id]!;
    return { shape: v.type.shape as number[], data: Float64Array.from(v.data!) };
  });
  let res: RefTensor[];
  try {
    res = getOp(n.op)!.reference(args, n.attrs);
  } catch {
    return undefined;
  }
  const ok = n.outputs.every((id, i) => {
    const t = res[i];
    const want = g.values[id]!.type.shape as number[];
    return t !== undefined && t.shape.length === want.length && t.shape.every((d, k) => d === want[k]) && t.data.length === numel(want);
  });
  return ok ? res : undefined;
}
