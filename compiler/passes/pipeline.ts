// The optimization pipeline: a commented, declarative list of passes with the modes they run in.
// Neighbours: passes/*.ts (one pass per file); compiler/index.ts calls optimizeGraph before emitting.

import type { Graph, WeightMap } from "../ir/types.js";
import { removeDropout } from "./remove-dropout.js";
import { eliminateDeadCode } from "./dce.js";
import { foldConstants } from "./fold-constants.js";
import { eliminateCommonSubexpressions } from "./cse.js";
import { foldBatchnorm, foldBatchnormGraph } from "./fold-batchnorm.js";

/** Graph mode: "infer" for deployment artifacts, "train" when gradients will be added (issue 3). */
export type PassMode = "infer" | "train";

/** One pipeline entry. */
export interface PassEntry {
  name: string;
  run: (g: Graph) => Graph;
  /** Modes the pass runs in. */
  modes: readonly PassMode[];
  /** Re-run until the graph stops changing (compared as JSON), at most 10 times. */
  fixedPoint?: boolean;
}

/** The pipeline, in order. Add new passes here, each in its own file. */
export const PASSES: readonly PassEntry[] = [
  // infer, once. Dropout (and any node with mode "train") is the identity at inference: rewire its consumers.
  { name: "remove-dropout", run: removeDropout, modes: ["infer"] },
  // infer + train, once (folds chain within one run). Pure nodes whose inputs are all consts become consts
  // (never params/state, never RNG or training-only nodes, so gradients are unaffected in train).
  { name: "fold-constants", run: foldConstants, modes: ["infer", "train"] },
  // infer + train, once (rewired inputs merge whole chains in one run). Pure duplicate nodes become one;
  // RNG ops are never merged, and autodiff accumulates gradients of the shared value, so train is safe.
  { name: "cse", run: eliminateCommonSubexpressions, modes: ["infer", "train"] },
  // infer + train, fixed point. Drop nodes that reach no output, then values nothing uses (unused params
  // vanish from the weights; so do consts and duplicates left behind by the two passes above).
  { name: "dce", run: eliminateDeadCode, modes: ["infer", "train"], fixedPoint: true },
];

/**
 * Run every pass of PASSES whose `modes` include `options.mode`, in order. Pure: returns a new graph,
 * `graph` is not modified. Passes assume a valid graph (ir/validate.ts) and keep it valid.
 */
export function optimizeGraph(graph: Graph, options: { mode: PassMode }): Graph {
  let g = graph;
  for (const p of PASSES) {
    if (!p.modes.includes(options.mode)) continue;
    if (!p.fixedPoint) {
      g = p.run(g);
      continue;
    }
    for (let k = 0; k < 10; k++) {
      const next = p.run(g);
      const same = JSON.stringify(next) === JSON.stringify(g);
      g = next;
      if (same) break;
    }
  }
  return g === graph ? structuredClone(graph) : g;
}

/** One entry of WEIGHT_PASSES: a pass that also rewrites tensor values (so it needs them bound). */
export interface WeightPassEntry {
  name: string;
  run: (g: Graph, weights: WeightMap) => { graph: Graph; weights: WeightMap };
  /** The graph `run` makes, without computing any tensor value (what `modelc inspect` shows as compiled). */
  graphOnly: (g: Graph) => Graph;
  /** Modes the pass runs in. */
  modes: readonly PassMode[];
}

/**
 * Passes that change tensor values. The graph carries no param values (they are bound after optimizeGraph, by
 * state_dict name, from a weights file or the seeded initializers), so these run later, on the optimized graph
 * and its bound weights (compile(), after --heads selection). A new tensor gets a new name, never an old name
 * with new values: the artifact's manifest lists the tensors the kernels read, under names saying what they are.
 */
export const WEIGHT_PASSES: readonly WeightPassEntry[] = [
  // infer only (training updates the running statistics and the weights, so nothing can be folded there).
  // batchnorm(conv2d|dense(x)) whose conv/dense output has no other use -> conv2d|dense(x) with the folded weight
  // and bias "stage1.conv.weight~stage1.bn", "stage1.conv.bias~stage1.bn"; the batchnorm's tensors vanish.
  { name: "fold-batchnorm", run: foldBatchnorm, graphOnly: (g) => foldBatchnormGraph(g).graph, modes: ["infer"] },
];

/**
 * Run every pass of WEIGHT_PASSES whose `modes` include `options.mode` (`skip`: names to leave out), in order, on
 * an optimized graph and its bound weights (every param/state name of `graph` in `weights`). Pure: returns a new
 * graph and weight map (the inputs when nothing changed) holding exactly the graph's params/state when a pass ran.
 * Throws Error naming a tensor missing from `weights`.
 */
export function optimizeWithWeights(
  graph: Graph,
  weights: WeightMap,
  options: { mode: PassMode; skip?: readonly string[] },
): { graph: Graph; weights: WeightMap } {
  let r = { graph, weights };
  for (const p of WEIGHT_PASSES) {
    if (!p.modes.includes(options.mode) || options.skip?.includes(p.name)) continue;
    r = p.run(r.graph, r.weights);
  }
  return r;
}

/**
 * The graph optimizeWithWeights would give, without weights: each WEIGHT_PASSES entry's `graphOnly` rewrite, so
 * ops, shapes and FLOPs are those of the compiled artifact (its manifest `cost`). Params of rewritten ops carry
 * their new names (e.g. "stage1.conv.weight~stage1.bn") but no values. Pure; `graph` when nothing changes.
 */
export function optimizeWithoutWeights(graph: Graph, options: { mode: PassMode; skip?: readonly string[] }): Graph {
  let g = graph;
  for (const p of WEIGHT_PASSES) if (p.modes.includes(options.mode) && !options.skip?.includes(p.name)) g = p.graphOnly(g);
  return g;
}
