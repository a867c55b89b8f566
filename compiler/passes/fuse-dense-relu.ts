// Pass (wasm backend lowering): a dense (or implicit-GEMM conv2d) whose only consumer is a relu absorbs it into its
// GEMM epilogue.
// Neighbours: backend/wasm/emit.ts runs it on the graph it emits; kernels/dense.ts reads attrs.relu; clone.ts.

import type { Graph, Node } from "../ir/types.js";
import { cloneGraph } from "./clone.js";
import { convImplicit } from "../backend/wasm/plan.js";

/**
 * Fuse `y = relu(dense(x))` into one dense node with `attrs.relu = true` (the GEMM stores max(acc, 0): the same
 * f32 values as a separate relu kernel, bit for bit) when the dense output feeds only that relu and is not a
 * graph output. Same for a conv2d run by kernels/conv-implicit.ts (plan.ts convImplicit). The relu's output becomes the dense's output; the intermediate value leaves `values`.
 * `attrs.relu` is a backend attribute, not part of dense's IR contract, so this runs inside emitWasm only:
 * optimizeGraph's graphs (reference interpreter, validation, ONNX export) never carry it. Returns a new graph
 * (the same object when nothing fuses); `g` is not modified.
 */
export function fuseDenseRelu(g: Graph): Graph {
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of g.outputs) uses.set(o.value, (uses.get(o.value) ?? 0) + 1);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const fuse = new Map<string, string>(); // dense node id -> relu node id
  for (const n of g.nodes) {
    if (n.op !== "relu" || n.mode === "train") continue;
    const d = producer.get(n.inputs[0]!);
    if (!d || !(d.op === "dense" || (d.op === "conv2d" && convImplicit(g, d))) || d.mode === "train" || d.attrs["relu"] === true || uses.get(n.inputs[0]!) !== 1) continue;
    fuse.set(d.id, n.id);
  }
  if (fuse.size === 0) return g;
  const out = cloneGraph(g);
  const relus = new Map(out.nodes.filter((n) => n.op === "relu").map((n) => [n.id, n]));
  const dropped = new Set(fuse.values());
  for (const n of out.nodes) {
    const r = fuse.get(n.id);
    if (r === undefined) continue;
    const relu = relus.get(r)!;
    delete out.values[n.outputs[0]!];
    n.outputs = [relu.outputs[0]!];
    n.attrs = { ...n.attrs, relu: true };
  }
  out.nodes = out.nodes.filter((n) => !dropped.has(n.id));
  return out;
}
