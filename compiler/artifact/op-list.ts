// The manifest's op list (Manifest.graph): each op of the graph as compiled with its output, parameters, FLOPs and the
// kernel that runs it. Neighbours: backend/wasm/kernel-plan.ts (fusion map), index.ts compile() (passes it to
// artifact/build.ts), cli/inspect.ts (prints it for a .model and for an artifact alike).

import type { Graph } from "../ir/types.js";
import { numel } from "../ir/graph.js";
import { getOp } from "../ir/ops/index.js";
import type { ManifestGraph, ManifestOp } from "../../runtime/manifest.js";
import type { KernelPlan } from "../backend/wasm/kernel-plan.js";

/**
 * The op list of `graph` (the inference graph compile() hands to the backend) with `kernels` =
 * planKernels(graph, ...) (without it, no fusedInto/kernel fields: for a graph no backend runs as is): per op its name, layer, first output's dtype and shape ("N" = batch), the weight elements
 * it reads (params and state; symbolic dims count 1), FLOPs per sample (the op table's cost rule at batch 1; 0 for
 * ops the table lacks), `fusedInto` (the lead op of its kernel, when that is another op) and `kernel` (the variant,
 * on a kernel's lead op). Pure.
 */
export function opList(graph: Graph, kernels?: KernelPlan): ManifestGraph {
  const ops = graph.nodes.map((n, i): ManifestOp => {
    const ins = n.inputs.map((v) => graph.values[v]!);
    const outs = n.outputs.map((o) => graph.values[o]!.type);
    const params = ins
      .filter((v) => v.kind === "param" || v.kind === "state")
      .reduce((s, v) => s + numel(v.type.shape.map((d) => (typeof d === "number" ? d : 1))), 0);
    const def = getOp(n.op);
    const flops = def ? def.cost(ins.map((v) => v.type), outs, n.attrs, 1).flops : 0;
    const k = kernels?.kernels[kernels.kernelOf[i]!];
    const lead = k?.ops[0] ?? i;
    return {
      op: n.op,
      ...(n.layer !== undefined && n.layer !== "" ? { layer: n.layer } : {}),
      dtype: outs[0]!.dtype,
      shape: [...outs[0]!.shape],
      params,
      flops,
      ...(lead !== i ? { fusedInto: lead } : {}),
      ...(lead === i && k?.impl !== undefined ? { kernel: k.impl } : {}),
    };
  });
  return { version: 1, ops };
}
