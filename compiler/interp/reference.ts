// The float64 reference interpreter: runs a Graph node by node with each op's `reference` rule.
// The oracle for the wasm backend and the PyTorch golden tests. Neighbours: ir/ops/* (the rules), ir/types.ts.

import type { Graph, RefTensor, WeightMap } from "../ir/types.js";
import { getOp } from "../ir/ops/index.js";
import { concreteShape, numel, showShape } from "../ir/graph.js";

/** Options of `runReference`. */
export interface RunReferenceOptions {
  /** Batch size; default: axis 0 of the first graph input given. */
  batch?: number;
}

/**
 * Run `graph` in float64 and return every graph output by name (shapes concrete, batch = `options.batch`).
 *
 * - `inputs` by graph input name, shape [batch, ...per-sample] exactly as the input's type.
 * - params/state come from `weights` by their value's `name` (state_dict form, "fc1.weight"), f32
 *   widened to f64; consts from `value.data`. Dropout is the identity (inference semantics).
 * Errors (thrown `Error`): a missing input or weight (the message names it), a shape mismatch
 * (shows both shapes), an unknown op.
 */
export function runReference(
  graph: Graph,
  weights: WeightMap,
  inputs: Record<string, RefTensor>,
  options: RunReferenceOptions = {},
): Record<string, RefTensor> {
  const firstIn = graph.inputs[0] && inputs[graph.inputs[0].name];
  const batch = options.batch ?? firstIn?.shape[0] ?? 1;
  const env = new Map<string, RefTensor>();
  for (const gi of graph.inputs) {
    const t = inputs[gi.name];
    if (!t) throw new Error(`runReference: missing input '${gi.name}'`);
    const want = concreteShape(graph.values[gi.value]!.type.shape, batch);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i]))
      throw new Error(`runReference: input '${gi.name}' has shape ${showShape(t.shape)}, expected ${showShape(want)}`);
    if (t.data.length !== numel(want))
      throw new Error(`runReference: input '${gi.name}' has ${t.data.length} elements, expected ${numel(want)}`);
    env.set(gi.value, t);
  }
  for (const v of Object.values(graph.values)) {
    if (v.kind === "param" || v.kind === "state") {
      const name = v.name ?? v.id;
      const w = weights.get(name);
      if (!w) throw new Error(`runReference: missing weight '${name}' ${showShape(v.type.shape)}`);
      const want = v.type.shape as number[];
      if (w.shape.length !== want.length || w.shape.some((d, i) => d !== want[i]))
        throw new Error(`runReference: weight '${name}' has shape ${showShape(w.shape)}, expected ${showShape(want)}`);
      env.set(v.id, { shape: [...w.shape], data: Float64Array.from(w.data) });
    } else if (v.kind === "const") {
      env.set(v.id, { shape: concreteShape(v.type.shape, batch), data: Float64Array.from(v.data ?? []) });
    }
  }
  for (const n of graph.nodes) {
    const def = getOp(n.op);
    if (!def) throw new Error(`runReference: unknown op '${n.op}' (node ${n.id})`);
    const args = n.inputs.map((id) => {
      const t = env.get(id);
      if (!t) throw new Error(`runReference: value ${id} used by node ${n.id} (${n.op}) has no data`);
      return t;
    });
    const outs = def.reference(args, n.attrs);
    n.outputs.forEach((id, i) => {
      const t = outs[i];
      if (!t) throw new Error(`runReference: ${n.op} produced no output ${i}`);
      env.set(id, t);
    });
  }
  const result: Record<string, RefTensor> = {};
  for (const o of graph.outputs) {
    const t = env.get(o.value);
    if (!t) throw new Error(`runReference: output '${o.name}' (${o.value}) was not computed`);
    result[o.name] = t;
  }
  return result;
}
