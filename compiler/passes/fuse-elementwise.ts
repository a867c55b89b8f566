// Pass (wasm backend lowering): regions of elementwise ops become one "fused_elementwise" node, lowered to one loop
// that keeps every intermediate in registers. Neighbours: backend/wasm/emit.ts runs it after fuse-epilogue.ts;
// kernels/fused.ts is the kernel; fuse-steps.ts (the step list).

import type { Graph, Node } from "../ir/types.js";
import { cloneGraph } from "./clone.js";
import { buildSteps, encodeSteps, isFusibleElementwise, sameShape, useCounts } from "./fuse-steps.js";

/** The backend-only op of a fused elementwise region (kernels/fused.ts). */
export const FUSED_ELEMENTWISE = "fused_elementwise";

/**
 * Fuse elementwise regions (relu, leaky_relu, sigmoid, tanh, gelu, add, mul; f32, inference mode) into one node
 * `fused_elementwise` {steps: FusedStep[] as JSON text} whose inputs are the region's operands (distinct values, in order of
 * first use) and whose output is the region's root. A region is a tree: a member's output has exactly one use (the
 * next member), is not a graph output, and has exactly the root's output shape; only operands may broadcast (NumPy
 * rules, as the add/mul kernels). Regions of one node stay as they are. The fused node sits at the root's position
 * (every operand exists there). Each element is computed by the same f32 operations in the same order as the
 * separate kernels, so results are bit-identical. Runs inside emitWasm only. Returns a new graph (the same object
 * when nothing fuses); `g` is not modified.
 */
export function fuseElementwise(g: Graph): Graph {
  const uses = useCounts(g);
  const outputs = new Set(g.outputs.map((o) => o.value));
  const order = new Map(g.nodes.map((n, i) => [n.id, i]));
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  // Region of each elementwise node, keyed by its root's id (members in topological order).
  const regionOf = new Map<string, Node[]>();
  for (const n of g.nodes) {
    if (!isFusibleElementwise(g, n)) continue;
    let members: Node[] = [];
    const seen = new Set<string>();
    for (const v of n.inputs) {
      const p = producer.get(v);
      if (!p || seen.has(p.id) || !regionOf.has(p.id)) continue;
      if (uses.get(v) !== 1 || outputs.has(v) || !sameShape(g, v, n.outputs[0]!)) continue;
      seen.add(p.id);
      members = [...members, ...regionOf.get(p.id)!];
      regionOf.delete(p.id);
    }
    members.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    regionOf.set(n.id, [...members, n]);
  }
  const regions = [...regionOf.entries()].filter(([, m]) => m.length > 1);
  if (regions.length === 0) return g;
  const out = cloneGraph(g);
  const replace = new Map<string, Node>(); // root id -> fused node
  const dropped = new Set<string>();
  for (const [rootId, members] of regions) {
    const inside = new Set(members.map((m) => m.outputs[0]!));
    const operands: string[] = [];
    for (const m of members) for (const v of m.inputs) if (!inside.has(v) && !operands.includes(v)) operands.push(v);
    const root = members[members.length - 1]!;
    for (const m of members) {
      dropped.add(m.id);
      if (m !== root) delete out.values[m.outputs[0]!];
    }
    replace.set(rootId, {
      id: `${rootId}_fused`,
      op: FUSED_ELEMENTWISE,
      inputs: operands,
      outputs: [root.outputs[0]!],
      attrs: { steps: encodeSteps(buildSteps(operands, members)) },
      ...(root.layer !== undefined ? { layer: root.layer } : {}),
    });
  }
  out.nodes = out.nodes.flatMap((n) => (replace.has(n.id) ? [replace.get(n.id)!] : dropped.has(n.id) ? [] : [n]));
  return out;
}
