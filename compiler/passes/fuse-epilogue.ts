// Pass (wasm backend lowering): a dense (or implicit-GEMM conv2d, or multihead_attention's out_proj) absorbs the elementwise ops that follow it into its
// GEMM epilogue: activations (relu, leaky_relu, sigmoid, tanh, gelu) and one add/mul of another tensor of the
// output's shape (a residual), in the order the graph has them: act(xW + b) + r, act(xW + b + r), ...
// Neighbours: backend/wasm/emit.ts runs it; kernels/dense.ts, gemm-packed.ts, conv-implicit.ts read attrs.epilogue;
// fuse-steps.ts (the step list); fuse-elementwise.ts runs after it on what is left.

import type { Graph, Node } from "../ir/types.js";
import { cloneGraph } from "./clone.js";
import { convImplicit } from "../backend/wasm/plan.js";
import { ALIAS_STEP_OPS, BINARY_STEP_OPS, buildSteps, isFusibleElementwise, sameShape, useCounts, decodeSteps, encodeSteps, type FusedStep } from "./fuse-steps.js";

/** Extra tensors (residuals) one epilogue may read besides the accumulator. */
export const MAX_EPILOGUE_OPERANDS = 1;

/**
 * Fuse the chain of elementwise nodes after each inference dense / implicit conv2d / multihead_attention (its last
 * GEMM, out_proj, stores the output) into it. The chain follows the
 * producer's output while that value has exactly one use (not a graph output) and its consumer is
 * - a unary activation (kernels/fused.ts evaluates it with the same math.ts code as the separate kernel),
 * - (dense only) flatten / reshape: the GEMM writes contiguous rows, so it stores straight into the reshaped value;
 *   trailing reshapes are left alone, or
 * - add / mul whose other input is a different f32 tensor of exactly the same shape as the output (including "N":
 *   a residual, never a broadcast), at most MAX_EPILOGUE_OPERANDS distinct such tensors per epilogue.
 * The fused node keeps its op, takes the last absorbed node's output and position (every absorbed node's inputs exist
 * there), appends the residuals to its inputs and records `attrs.epilogue` (fuse-steps.ts FusedStep[] as JSON text: slot 0 is
 * the accumulator with the bias, slots 1.. the appended inputs, `attrs.epilogue_inputs` of them). The arithmetic
 * per element is that of the separate kernels in the same order, so results are bit-identical. Backend-only attrs
 * (like dense's IR contract never has them): runs inside emitWasm only. Returns a new graph (the same object when
 * nothing fuses); `g` is not modified.
 */
export function fuseEpilogues(g: Graph): Graph {
  const uses = useCounts(g);
  const outputs = new Set(g.outputs.map((o) => o.value));
  const consumer = new Map<string, Node>();
  for (const n of g.nodes) for (const i of n.inputs) consumer.set(i, n);
  const plans = new Map<string, { members: Node[]; extras: string[] }>();
  const claimed = new Set<string>(); // an add of two dense outputs joins the first dense's epilogue only
  for (const p of g.nodes) {
    if (p.mode === "train" || p.attrs["epilogue"] !== undefined) continue;
    if (!(p.op === "dense" || p.op === "multihead_attention" || (p.op === "conv2d" && convImplicit(g, p)))) continue;
    if (g.values[p.outputs[0]!]?.type.dtype !== "f32") continue;
    const members: Node[] = [];
    const extras: string[] = [];
    let cur = p.outputs[0]!;
    for (;;) {
      if (uses.get(cur) !== 1 || outputs.has(cur)) break;
      const c = consumer.get(cur)!;
      // dense writes its rows contiguously whatever its output's shape: it may store straight into a reshape's output.
      if (p.op === "dense" && ALIAS_STEP_OPS.has(c.op) && !claimed.has(c.id) && c.mode !== "train") {
        members.push(c);
        cur = c.outputs[0]!;
        continue;
      }
      if (claimed.has(c.id) || !isFusibleElementwise(g, c) || !sameShape(g, c.outputs[0]!, cur)) break;
      if (BINARY_STEP_OPS.has(c.op)) {
        const other = c.inputs[0] === cur ? c.inputs[1]! : c.inputs[0]!;
        if (!sameShape(g, other, cur)) break;
        if (!extras.includes(other)) {
          if (extras.length >= MAX_EPILOGUE_OPERANDS) break;
          extras.push(other);
        }
      }
      members.push(c);
      cur = c.outputs[0]!;
    }
    while (members.length > 0 && ALIAS_STEP_OPS.has(members[members.length - 1]!.op)) members.pop(); // nothing to fuse after them
    for (const m of members) claimed.add(m.id);
    if (members.length > 0) plans.set(p.id, { members, extras });
  }
  if (plans.size === 0) return g;
  const out = cloneGraph(g);
  const byId = new Map(out.nodes.map((n) => [n.id, n]));
  const dropped = new Set<string>();
  const moveTo = new Map<string, Node>(); // last absorbed node id -> the fused node that takes its place
  for (const [pid, plan] of plans) {
    const p = byId.get(pid)!;
    const steps = buildSteps([p.outputs[0]!, ...plan.extras], plan.members);
    for (const m of plan.members) {
      dropped.add(m.id);
      if (m !== plan.members[plan.members.length - 1]) delete out.values[m.outputs[0]!];
    }
    delete out.values[p.outputs[0]!];
    const last = plan.members[plan.members.length - 1]!;
    p.outputs = [last.outputs[0]!];
    p.inputs = [...p.inputs, ...plan.extras];
    p.attrs = { ...p.attrs, epilogue: encodeSteps(steps), epilogue_inputs: plan.extras.length };
    moveTo.set(last.id, p);
  }
  const fused = new Set([...moveTo.values()].map((n) => n.id));
  const nodes: Node[] = [];
  for (const n of out.nodes) {
    const moved = moveTo.get(n.id);
    if (moved) nodes.push(moved);
    else if (!dropped.has(n.id) && !fused.has(n.id)) nodes.push(n);
  }
  out.nodes = nodes;
  return out;
}

/** The epilogue of a fused dense/conv node: its steps and the inputs its slots 1.. read (empty steps: none). */
export function epilogueOf(n: Node): { steps: FusedStep[]; operands: string[] } {
  const steps = decodeSteps(n, "epilogue");
  const k = (n.attrs["epilogue_inputs"] as number | undefined) ?? 0;
  return { steps, operands: k > 0 ? n.inputs.slice(-k) : [] };
}
