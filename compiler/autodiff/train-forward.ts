// Training form of the forward graph: batchnorm -> batchnorm_train + batchnorm_stats_update (batch
// statistics, running-stat update), dropout -> dropout_train (seeded mask), reparameterize -> _train. Neighbours: autodiff/grad.ts
// runs it first; ir/ops/grad-norm.ts defines the training ops; ir/ops/norm.ts the inference forms.

import type { Graph, Node } from "../ir/types.js";
import { GraphEmitter } from "./emit.js";
import { REPARAM_SALT_BASE } from "../ir/ops/normal-rng.js";

/** Name of the graph input that carries the dropout RNG state, i32 [2] = [seed, step]. */
export const DROPOUT_RNG_INPUT = "dropout_rng";

/** What `lowerTrainForward` changed. */
export interface TrainForwardResult {
  /** State name ("bn.running_mean") -> value id of its value after the step (batchnorm_stats_update output). */
  stateUpdates: Record<string, string>;
  /** Value id of the `dropout_rng` input, when the graph has dropout. */
  dropoutRng?: string;
}

/**
 * Rewrite `emit.graph` IN PLACE into its training form (PyTorch `model.train()` semantics):
 * - `batchnorm(x, w, b, rm, rv)` becomes `batchnorm_train(x, w, b)` (same output id, so consumers are
 *   unchanged) followed by `batchnorm_stats_update(rm, rv, mean, var_unbiased)`, whose outputs are the new
 *   running statistics (returned in `stateUpdates`, not graph outputs: the caller decides).
 * - `dropout(x)` becomes `dropout_train(x, rng)` with attrs { p, salt = ordinal of the dropout node in
 *   graph order (0, 1, ...) }; `rng` is the graph input "dropout_rng", i32 [2] = [seed, step].
 * - `reparameterize(mu, logvar)` becomes `reparameterize_train(mu, logvar, rng)` -> [z, eps] with attrs
 *   { salt = REPARAM_SALT_BASE + ordinal of the reparameterize node } and the same `dropout_rng` input.
 * Rewritten nodes get mode "train". Other nodes are untouched, and so are batchnorms for which
 * `options.keepInference` is true (frozen layers: running statistics, not updated).
 */
export function lowerTrainForward(emit: GraphEmitter, options: { keepInference?: (batchnorm: Node) => boolean } = {}): TrainForwardResult {
  const g: Graph = emit.graph;
  const result: TrainForwardResult = { stateUpdates: {} };
  const nodes: Node[] = [];
  let salt = 0;
  let reparamSalt = 0;
  for (const n of g.nodes) {
    if (n.op === "batchnorm" && !options.keepInference?.(n)) {
      const [x, w, b, rm, rv] = n.inputs as [string, string, string, string, string];
      const attrs = { eps: n.attrs["eps"]!, momentum: n.attrs["momentum"]! };
      const fwd = emit.make("batchnorm_train", [x, w, b], attrs, [n.outputs[0]]);
      if (n.layer !== undefined) fwd.layer = n.layer;
      if (n.loc !== undefined) fwd.loc = n.loc;
      const [, mean, , varU] = fwd.outputs as [string, string, string, string];
      const upd = emit.make("batchnorm_stats_update", [rm, rv, mean, varU], { momentum: attrs.momentum });
      if (n.layer !== undefined) upd.layer = n.layer;
      nodes.push(fwd, upd);
      result.stateUpdates[g.values[rm]!.name ?? rm] = upd.outputs[0]!;
      result.stateUpdates[g.values[rv]!.name ?? rv] = upd.outputs[1]!;
    } else if (n.op === "dropout") {
      result.dropoutRng ??= emit.input(DROPOUT_RNG_INPUT, "i32", [2]);
      const fwd = emit.make("dropout_train", [n.inputs[0]!, result.dropoutRng], { p: n.attrs["p"]!, salt: salt++ }, [n.outputs[0]]);
      if (n.layer !== undefined) fwd.layer = n.layer;
      if (n.loc !== undefined) fwd.loc = n.loc;
      nodes.push(fwd);
    } else if (n.op === "reparameterize") {
      result.dropoutRng ??= emit.input(DROPOUT_RNG_INPUT, "i32", [2]);
      const attrs = { salt: REPARAM_SALT_BASE + reparamSalt++ };
      const fwd = emit.make("reparameterize_train", [n.inputs[0]!, n.inputs[1]!, result.dropoutRng], attrs, [n.outputs[0]]);
      if (n.layer !== undefined) fwd.layer = n.layer;
      if (n.loc !== undefined) fwd.loc = n.loc;
      nodes.push(fwd);
    } else nodes.push(n);
  }
  g.nodes = nodes;
  return result;
}
