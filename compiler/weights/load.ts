// Weights files as `compile --weights` and `export --weights` read them: a PyTorch state_dict or a modelc training
// checkpoint (its optimizer state left out), and the tensors of params the compiled/exported graph no longer
// has dropped before binding. Neighbours: weights/safetensors.ts (format), weights/bind.ts (checks and binds),
// train/checkpoint.ts (writes the checkpoints, OPTIM_PREFIX); index.ts compile() and cli/export.ts use this.

import type { Graph } from "../ir/types.js";
import { paramValues } from "../ir/graph.js";
import { parseSafetensors, type SafetensorsTensor } from "./safetensors.js";

/** `__metadata__.format` prefix of modelc training checkpoints (train/checkpoint.ts CHECKPOINT_FORMAT). */
const CHECKPOINT_FORMAT_PREFIX = "modelc-checkpoint/";
/** Name prefix of optimizer state in a checkpoint (train/checkpoint.ts OPTIM_PREFIX). */
const OPTIM_PREFIX = "optim.";

/**
 * The tensors of a weights file by name. For a modelc training checkpoint (`__metadata__.format`
 * "modelc-checkpoint/...") the optimizer state (`optim.*`) is left out: it is not weights of the model.
 * Throws Error for bytes that are not valid safetensors.
 */
export function parseWeightsFile(bytes: Uint8Array): Map<string, SafetensorsTensor> {
  const parsed = parseSafetensors(bytes);
  if (!parsed.metadata["format"]?.startsWith(CHECKPOINT_FORMAT_PREFIX)) return parsed.tensors;
  return new Map([...parsed.tensors].filter(([name]) => !name.startsWith(OPTIM_PREFIX)));
}

/**
 * `loaded` without the tensors of params that the declared model has but `used` (its optimized inference graph,
 * its ONNX graph, the graph of the selected heads) does not: a VAE's logvar layer once reparameterize compiles to
 * mu, a head left out. A training checkpoint or a PyTorch state_dict of the whole model then binds without "extra"
 * errors; names that are no param of the model at all are kept (bindWeights reports them).
 */
export function withoutUnusedParams<T>(loaded: ReadonlyMap<string, T>, declared: Graph, used: Graph): Map<string, T> {
  const live = new Set(paramValues(used).map((v) => v.name ?? v.id));
  const dead = new Set(paramValues(declared).map((v) => v.name ?? v.id).filter((n) => !live.has(n)));
  return new Map([...loaded].filter(([name]) => !dead.has(name)));
}
