// Which kernel runs which op: the backend lowering (fusion passes) and, for the graph before it, the map from each op
// to the kernel that executes it. Pure (no binaryen): emit.ts lowers with it; `modelc inspect` and the manifest's op
// list (artifact/op-list.ts) show it. Neighbours: passes/fuse-epilogue.ts, passes/fuse-elementwise.ts, plan.ts.

import type { Graph, Node } from "../../ir/types.js";
import { fuseEpilogues } from "../../passes/fuse-epilogue.js";
import { FUSED_ELEMENTWISE, fuseElementwise } from "../../passes/fuse-elementwise.js";
import { convImplicit, isDepthwise, isDirectConv, planMemory, type MemoryPlan } from "./plan.js";

/**
 * The backend lowering passes emitWasm runs on its input graph: fuse-epilogue then fuse-elementwise, unless
 * `options.fuse` is false (then the graph is used as given). Pure: `g` is not modified.
 */
export function lowerForWasm(g: Graph, options: { fuse?: boolean } = {}): Graph {
  return options.fuse === false ? g : fuseElementwise(fuseEpilogues(g));
}

/** One kernel of the lowered graph: the ops of the graph before lowering that it executes. */
export interface KernelInfo {
  /** Indices into the unlowered graph's `nodes`, ascending; more than one when the backend fused them. */
  ops: number[];
  /** The lowered node's op: the lead op ("conv2d" with a fused epilogue), or "fused_elementwise". */
  op: string;
  /**
   * How the backend runs it, when the op has several kernels or the kernel does something worth knowing
   * (spec/kernels.md): "packed GEMM" (dense), "implicit GEMM" | "1x1 GEMM" | "im2col + GEMM" | "depthwise" (conv2d),
   * "fused loop" (fused_elementwise), "no copy" (flatten/reshape whose output shares its input's buffer).
   */
  impl?: string;
}

/** planKernels' result: the lowered graph, its kernels in execution order, and each original op's kernel. */
export interface KernelPlan {
  lowered: Graph;
  kernels: KernelInfo[];
  /** For each node of the unlowered graph (same index), the index into `kernels` of the kernel running it. */
  kernelOf: number[];
}

/**
 * Map every op of `graph` (an inference graph as compile() hands it to the backend) to the kernel that runs it in
 * `lowered` (default lowerForWasm(graph)). A lowered node's ops are found from its output back through values it
 * does not read itself (the fused intermediates), so the map follows whatever the passes did. `plan` (default
 * planMemory(lowered)) says which reshapes cost no copy. Throws Error when an op maps to no kernel or to two
 * (a lowering that is not a partition of the graph: a pass bug).
 */
export function planKernels(graph: Graph, lowered: Graph = lowerForWasm(graph), plan?: MemoryPlan): KernelPlan {
  const index = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const kernelOf: number[] = graph.nodes.map(() => -1);
  const kernels: KernelInfo[] = [];
  let memory = plan;
  for (const k of lowered.nodes) {
    const reads = new Set(k.inputs);
    const ops = new Set<number>();
    const stack = k.outputs.map((o) => producer.get(o)).filter((i): i is number => i !== undefined);
    // an unfused node keeps its id and output; a fused one has its lead's id (epilogue) or its root's output
    const own = index.get(k.id);
    if (own !== undefined && stack.length === 0) stack.push(own);
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (ops.has(i)) continue;
      ops.add(i);
      for (const v of graph.nodes[i]!.inputs) {
        const p = producer.get(v);
        if (p !== undefined && !reads.has(v)) stack.push(p);
      }
    }
    const members = [...ops].sort((a, b) => a - b);
    for (const i of members) {
      if (kernelOf[i] !== -1) throw new Error(`planKernels: op ${graph.nodes[i]!.id} runs in two kernels`);
      kernelOf[i] = kernels.length;
    }
    let impl = implOf(lowered, k);
    if (impl === undefined && (k.op === "flatten" || k.op === "reshape")) {
      memory ??= planMemory(lowered);
      if (memory.values[k.outputs[0]!]?.aliasOf !== undefined) impl = "no copy";
    }
    kernels.push({ ops: members, op: k.op, ...(impl !== undefined ? { impl } : {}) });
  }
  const lost = kernelOf.findIndex((k) => k === -1);
  if (lost !== -1) throw new Error(`planKernels: op ${graph.nodes[lost]!.id} runs in no kernel`);
  return { lowered, kernels, kernelOf };
}

/** The kernel variant of a lowered node (plan.ts decides conv2d's; spec/kernels.md), when it is worth naming. */
function implOf(g: Graph, n: Node): string | undefined {
  if (n.op === "dense") return "packed GEMM";
  if (n.op === FUSED_ELEMENTWISE) return "fused loop";
  if (n.op !== "conv2d") return undefined;
  if (isDepthwise(g, n)) return "depthwise";
  if (convImplicit(g, n)) return "implicit GEMM";
  return isDirectConv(n) ? "1x1 GEMM" : "im2col + GEMM";
}
