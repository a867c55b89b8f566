// Which nodes a rewriting pass may evaluate early or merge: not the RNG ops, not training-only nodes.
// Neighbours: passes/fold-constants.ts and passes/cse.ts read it; ir/ops/* define the ops named here.

import type { Node } from "../ir/types.js";
import { getOp } from "../ir/ops/index.js";

/** Ops that draw random numbers: two calls with the same inputs differ, so they are never folded or merged. */
export const RNG_OPS: ReadonlySet<string> = new Set(["dropout", "dropout_train", "reparameterize_train", "random_normal"]);

/**
 * True when `n` is a pure function of its inputs and attrs: a known op, not in RNG_OPS, not `trainOnly`
 * (ir/ops/def.ts) and not a node with mode "train". Only such nodes are folded (fold-constants.ts) or merged (cse.ts).
 */
export function isPure(n: Node): boolean {
  const def = getOp(n.op);
  return def !== undefined && !RNG_OPS.has(n.op) && def.trainOnly !== true && n.mode !== "train";
}
