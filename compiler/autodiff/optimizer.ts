// Appends optimizer-update nodes (and optional global-norm clipping) after gradGraph's backward graph.
// Neighbours: autodiff/grad.ts (GradResult), ir/ops/optim.ts (the update ops); the JS training driver feeds lr/step.

import type { Attrs, Graph } from "../ir/types.js";
import { cloneGraph } from "../passes/clone.js";
import { GraphEmitter } from "./emit.js";
import type { GradResult } from "./grad.js";

/**
 * Optimizer choice; omitted fields take PyTorch's defaults: sgd { weight_decay 0 }; momentum { momentum
 * (required), dampening 0, nesterov false, weight_decay 0 }; adam { beta1 0.9, beta2 0.999, eps 1e-8,
 * weight_decay 0 }; adamw { the same but weight_decay 0.01 }.
 */
export type OptimizerSpec =
  | { kind: "sgd"; weight_decay?: number }
  | { kind: "momentum"; momentum: number; dampening?: number; nesterov?: boolean; weight_decay?: number }
  | { kind: "adam" | "adamw"; beta1?: number; beta2?: number; eps?: number; weight_decay?: number };

/** Options of `optimGraph`. */
export interface OptimOptions {
  optimizer: OptimizerSpec;
  /** Clip all gradients by their global L2 norm first (torch.nn.utils.clip_grad_norm_). Default: no clipping. */
  clip?: { max_norm: number };
}

/** Result of `optimGraph`. */
export interface OptimResult {
  graph: Graph;
  /** Param or state name -> value id of its new value (written back after the step). */
  updates: Record<string, string>;
  /** Graph input value ids of the runtime scalars: lr always, step for momentum/adam/adamw (f32 [1], from 1). */
  lr: string;
  step?: string;
}

/**
 * Append one update op per gradient of `grad` (ops/optim.ts) to a copy of its graph. Adds graph inputs
 * "lr" and (momentum/adam/adamw) "step", f32 [1]; new state tensors named as PyTorch's optimizer state
 * ("<param>.momentum_buffer", "<param>.exp_avg", "<param>.exp_avg_sq", zero-initialized); graph outputs
 * "new:<name>" for every updated param/state, including gradGraph's batchnorm running statistics.
 */
export function optimGraph(grad: GradResult, options: OptimOptions): OptimResult {
  const g = cloneGraph(grad.graph);
  const emit = new GraphEmitter(g, "o");
  const spec = options.optimizer;
  const lr = emit.input("lr", "f32", [1]);
  const step = spec.kind === "sgd" ? undefined : emit.input("step", "f32", [1]);
  const byName = new Map(Object.values(g.values).filter((v) => v.kind === "param").map((v) => [v.name ?? v.id, v.id]));
  let grads = Object.entries(grad.grads).filter(([name]) => byName.has(name));
  if (options.clip) {
    const [, coef] = emit.node("global_norm", grads.map(([, id]) => id), { max_norm: options.clip.max_norm });
    grads = grads.map(([name, id]) => [name, emit.node1("scale", [id, coef!])]);
  }
  const updates: Record<string, string> = { ...grad.stateUpdates };
  for (const [name, dg] of grads) {
    const p = byName.get(name)!;
    const shape = g.values[p]!.type.shape as number[];
    const wd = spec.weight_decay ?? (spec.kind === "adamw" ? 0.01 : 0);
    if (spec.kind === "sgd") updates[name] = emit.node1("sgd_update", [p, dg, lr], { weight_decay: wd });
    else if (spec.kind === "momentum") {
      const buf = emit.state(`${name}.momentum_buffer`, shape);
      const attrs: Attrs = { momentum: spec.momentum, dampening: spec.dampening ?? 0, weight_decay: wd, nesterov: spec.nesterov ?? false };
      const [np, nb] = emit.node("momentum_update", [p, dg, buf, lr, step!], attrs);
      updates[name] = np!;
      updates[`${name}.momentum_buffer`] = nb!;
    } else {
      const m = emit.state(`${name}.exp_avg`, shape);
      const v = emit.state(`${name}.exp_avg_sq`, shape);
      const attrs: Attrs = { beta1: spec.beta1 ?? 0.9, beta2: spec.beta2 ?? 0.999, eps: spec.eps ?? 1e-8, weight_decay: wd };
      const [np, nm, nv] = emit.node(`${spec.kind}_update`, [p, dg, m, v, lr, step!], attrs);
      updates[name] = np!;
      updates[`${name}.exp_avg`] = nm!;
      updates[`${name}.exp_avg_sq`] = nv!;
    }
  }
  for (const [name, id] of Object.entries(updates)) emit.output(`new:${name}`, id);
  return step === undefined ? { graph: g, updates, lr } : { graph: g, updates, lr, step };
}
