// Which params train and which losses are active: `freeze` / `trainable` name matching and `heads`
// selection (spec/training.md §1). Neighbours: frontend/lower-train.ts (diagnostics), train/build.ts (uses them).

import type { Graph } from "../ir/types.js";
import type { TrainSpec } from "./spec.js";

/** A freeze/trainable/heads selection that does not fit the model (unknown name, conflicting entries). */
export class TrainSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainSelectionError";
  }
}

/** state_dict names of the trainable params (value kind "param") of `graph`, in graph value order. */
export function paramNames(graph: Graph): string[] {
  return Object.values(graph.values)
    .filter((v) => v.kind === "param")
    .map((v) => v.name ?? v.id);
}

/**
 * Whether `pattern` selects param `name`: the exact name, a layer prefix at a `.` boundary (`stage1`
 * selects `stage1.conv.weight`, not `stage10.x`), or a plain prefix when it ends with `*` (`stage*`).
 */
export function matchesParam(pattern: string, name: string): boolean {
  if (pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1));
  return name === pattern || name.startsWith(pattern + ".");
}

/** Every layer path of `names` (`stage1`, `stage1.conv`, and the names themselves), for "did you mean". */
export function layerPaths(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const n of names) {
    const parts = n.split(".");
    for (let k = 1; k <= parts.length; k++) out.add(parts.slice(0, k).join("."));
  }
  return [...out];
}

/**
 * The frozen params of `graph` under `spec.freeze` / `spec.trainable` (empty set when neither is given).
 * Errors (TrainSelectionError): both given; a pattern that selects no param (message lists the layers);
 * a selection that leaves nothing to train.
 */
export function frozenParams(graph: Graph, spec: Pick<TrainSpec, "freeze" | "trainable">): Set<string> {
  const names = paramNames(graph);
  if (spec.freeze && spec.trainable) throw new TrainSelectionError("freeze and trainable exclude each other; give one of them");
  const list = spec.freeze ?? spec.trainable;
  if (!list) return new Set();
  const what = spec.freeze ? "freeze" : "trainable";
  for (const p of list)
    if (!names.some((n) => matchesParam(p, n)))
      throw new TrainSelectionError(`${what}: '${p}' names no layer or parameter of model '${graph.name}' (layers: ${topLayers(names).join(", ")})`);
  const selected = new Set(names.filter((n) => list.some((p) => matchesParam(p, n))));
  const frozen = new Set(spec.freeze ? selected : names.filter((n) => !selected.has(n)));
  if (names.length > 0 && frozen.size === names.length) throw new TrainSelectionError(`${what} = [${list.join(", ")}] leaves no parameter to train`);
  return frozen;
}

/** First path components of the param names (`stage1`, `fc1`, ...), in order. */
export function topLayers(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.split(".")[0]!))];
}

/**
 * `spec` with only the losses named in `spec.heads` (all when absent), in spec order.
 * Errors (TrainSelectionError): an unknown loss name (message lists the losses), an empty list.
 */
export function activeLosses(spec: TrainSpec): TrainSpec["losses"] {
  if (!spec.heads) return spec.losses;
  if (spec.heads.length === 0) throw new TrainSelectionError("heads: the list is empty; name at least one loss");
  const names = spec.losses.map((l) => l.name);
  for (const h of spec.heads) if (!names.includes(h)) throw new TrainSelectionError(`heads: no loss named '${h}' (losses: ${names.join(", ")})`);
  return spec.losses.filter((l) => spec.heads!.includes(l.name));
}
