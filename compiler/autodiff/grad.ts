// The autodiff pass: appends a reverse-mode backward graph (mode "train") for one scalar loss.
// Neighbours: autodiff/rules.ts (per-op rules), train-forward.ts (training forms), emit.ts; optimizer.ts
// consumes the result. Spec: spec/autodiff.md.

import type { Graph } from "../ir/types.js";
import { showShape } from "../ir/graph.js";
import { cloneGraph } from "../passes/clone.js";
import { GraphEmitter } from "./emit.js";
import { GRAD_RULES } from "./rules.js";
import { lowerTrainForward } from "./train-forward.js";

/** Options of `gradGraph`. */
export interface GradOptions {
  /** Value id of the loss: an f32 value of shape [1] (the scalar convention of ir/ops/loss.ts). */
  loss: string;
  /**
   * What to differentiate: "params" (default) = every value of kind "param"; or a list of value ids
   * (params, graph inputs or activations; used by tests for input gradients). State is never differentiated.
   */
  wrt?: "params" | string[];
  /**
   * "train" (default): rewrite batchnorm/dropout into their training forms first (train-forward.ts).
   * "as-is": differentiate the graph as given (dropout = identity; inference batchnorm has no rule).
   */
  forward?: "train" | "as-is";
  /**
   * Frozen params (state_dict names; spec/training.md §1 `freeze`): left out of wrt "params", so they get
   * no gradient (and nothing upstream of them is differentiated for their sake); a batchnorm whose weight
   * and bias are both frozen keeps its inference form (running statistics, not updated: PyTorch's
   * module.eval() on that layer). Default: none.
   */
  frozen?: ReadonlySet<string>;
}

/** Result of `gradGraph`. */
export interface GradResult {
  /** The training graph: forward (training form) + backward nodes; valid for validateGraph. */
  graph: Graph;
  /**
   * Gradient value id per differentiated value, keyed by its name (param state_dict name or input name),
   * or by value id for unnamed values. A value with no path to the loss has no entry (PyTorch: grad None).
   */
  grads: Record<string, string>;
  /** New values of state buffers after the step (batchnorm running statistics), by state name. */
  stateUpdates: Record<string, string>;
  /** The `dropout_rng` input's value id (i32 [2] = [seed, step]) when the graph has dropout. */
  dropoutRng?: string;
}

/**
 * Reverse-mode autodiff as an IR pass (micrograd / Glow style, rules as data):
 * 1. clone the graph and (forward "train") rewrite it to its training form;
 * 2. differentiate only nodes whose outputs are ancestors of `loss` and that have an input descending
 *    from a differentiated value (f32 only; i32 targets and state are never differentiated);
 * 3. seed d loss = 1 (an f32 [1] const) and visit nodes in reverse topological order, calling each op's
 *    rule from GRAD_RULES; a value used by several nodes (or twice by one node) accumulates with `add`;
 * 4. add graph outputs "grad:<name>" for every gradient and "state:<name>" for every state update, so
 *    dead-code elimination keeps them. Backward nodes get mode "train". `graph` is not modified.
 * Errors (thrown Error): unknown or non-scalar loss, an op on the path without a gradient rule (named).
 */
export function gradGraph(graph: Graph, options: GradOptions): GradResult {
  const g = cloneGraph(graph);
  const emit = new GraphEmitter(g);
  const frozen = options.frozen ?? new Set<string>();
  const isFrozen = (id: string): boolean => frozen.has(g.values[id]?.name ?? id);
  const fwd = options.forward === "as-is"
    ? { stateUpdates: {} }
    : lowerTrainForward(emit, frozen.size > 0 ? { keepInference: (n) => isFrozen(n.inputs[1]!) && isFrozen(n.inputs[2]!) } : {});
  const lossInfo = g.values[options.loss];
  if (!lossInfo) throw new Error(`gradGraph: unknown loss value ${options.loss}`);
  if (lossInfo.type.dtype !== "f32" || lossInfo.type.shape.length !== 1 || lossInfo.type.shape[0] !== 1)
    throw new Error(`gradGraph: the loss must be f32 [1], got ${lossInfo.type.dtype}${showShape(lossInfo.type.shape)}`);

  const wrt = options.wrt === undefined || options.wrt === "params"
    ? Object.values(g.values).filter((v) => v.kind === "param" && !isFrozen(v.id)).map((v) => v.id)
    : options.wrt;
  for (const id of wrt) if (!g.values[id]) throw new Error(`gradGraph: unknown value ${id} in wrt`);

  // Forward reach: values depending on a differentiated value (through f32 values only).
  const isFloat = (id: string) => g.values[id]!.type.dtype === "f32" && g.values[id]!.kind !== "state";
  const reach = new Set(wrt.filter(isFloat));
  for (const n of g.nodes) if (n.inputs.some((i) => reach.has(i))) for (const o of n.outputs) if (isFloat(o)) reach.add(o);
  // Backward reach: ancestors of the loss.
  const anc = new Set([options.loss]);
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (n.outputs.some((o) => anc.has(o))) for (const i of n.inputs) anc.add(i);
  }
  const need = (id: string) => reach.has(id) && anc.has(id);

  const forward = [...g.nodes];
  const gradOf = new Map<string, string>();
  const accumulate = (id: string, dg: string): void => {
    const want = g.values[id]!.type;
    const got = g.values[dg]!.type;
    if (got.dtype !== want.dtype || got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i]))
      throw new Error(`gradGraph: gradient of ${id} has type ${got.dtype}${showShape(got.shape)}, expected ${want.dtype}${showShape(want.shape)}`);
    const prev = gradOf.get(id);
    gradOf.set(id, prev === undefined ? dg : emit.node1("add", [prev, dg]));
  };
  if (need(options.loss)) gradOf.set(options.loss, emit.constant([1], [1]));

  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k]!;
    const gys = n.outputs.map((o) => gradOf.get(o) ?? null);
    if (gys.every((x) => x === null)) continue;
    const needs = n.inputs.map(need);
    if (!needs.some((x) => x)) continue;
    const rule = GRAD_RULES[n.op];
    if (!rule) throw new Error(`gradGraph: op '${n.op}' (node ${n.id}${n.layer ? `, layer ${n.layer}` : ""}) has no gradient rule`);
    const gxs = rule({ node: n, emit, needs }, gys);
    n.inputs.forEach((id, i) => {
      const dg = gxs[i];
      if (needs[i] && dg) accumulate(id, dg);
    });
  }

  const grads: Record<string, string> = {};
  for (const id of wrt) {
    const dg = gradOf.get(id);
    if (dg === undefined) continue;
    const name = g.values[id]!.name ?? id;
    grads[name] = dg;
    emit.output(`grad:${name}`, dg);
  }
  for (const [name, id] of Object.entries(fwd.stateUpdates)) emit.output(`state:${name}`, id);
  const result: GradResult = { graph: g, grads, stateUpdates: fwd.stateUpdates };
  if ("dropoutRng" in fwd && fwd.dropoutRng !== undefined) result.dropoutRng = fwd.dropoutRng;
  return result;
}
