// Attention weights of a model's multihead_attention layers, computed in float64 (for heatmaps): runs the
// reference interpreter up to each layer's inputs, then ops/attention.ts's mhaForward.
// Neighbours: interp/reference.ts, ir/ops/attention.ts, cli/attention.ts (the `modelc attention` command).

import type { Graph, RefTensor, WeightMap } from "../ir/types.js";
// reference.js first: it loads the op table (ops/index.js) before ops/attention.js is evaluated on its own.
import { runReference } from "./reference.js";
import { mhaForward } from "../ir/ops/attention.js";

/** The attention weights of one layer for a batch. */
export interface LayerAttention {
  /** Layer name ("layer.self_attn"). */
  layer: string;
  N: number;
  /** Queries L, keys S, heads H. */
  L: number;
  S: number;
  H: number;
  /** Head-averaged weights [N, L, S] (PyTorch average_attn_weights=True). */
  mean: Float64Array;
  /** Per-head weights [N, H, L, S]. */
  heads: Float64Array;
}

/** Layer names of the multihead_attention nodes of `graph`, in graph order (unnamed: the node id). */
export function attentionLayers(graph: Graph): string[] {
  return graph.nodes.filter((n) => n.op === "multihead_attention").map((n) => n.layer ?? n.id);
}

/**
 * Float64 attention weights of the multihead_attention layers named in `layers` (default all) for the
 * given inputs (by graph input name, [batch, ...]) and weights. Masked keys and fully masked rows have
 * weight 0. Errors: Error for an unknown layer (naming the available ones) and runReference's errors
 * (missing inputs or weights, shapes).
 */
export function attentionWeights(graph: Graph, weights: WeightMap, inputs: Record<string, RefTensor>, layers?: string[]): LayerAttention[] {
  const all = attentionLayers(graph);
  const want = layers ?? all;
  for (const l of want) if (!all.includes(l)) throw new Error(`no multihead_attention layer '${l}'; the model has: ${all.join(", ") || "none"}`);
  const nodes = graph.nodes.filter((n) => n.op === "multihead_attention" && want.includes(n.layer ?? n.id));
  const probe: Graph = { ...graph, outputs: nodes.flatMap((n) => n.inputs.map((id, k) => ({ name: `${n.id}:${k}`, value: id }))) };
  const values = runReference(probe, weights, inputs);
  return nodes.map((n) => {
    const ins = n.inputs.map((_, k) => values[`${n.id}:${k}`]!);
    const f = mhaForward(ins, n.attrs);
    const [N, L] = ins[0]!.shape as [number, number];
    const S = ins[1]!.shape[1]!;
    return { layer: n.layer ?? n.id, N, L, S, H: n.attrs["num_heads"] as number, mean: f.weights, heads: f.P };
  });
}
