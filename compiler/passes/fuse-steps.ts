// What the two backend fusion passes share: which ops are elementwise, and the small step list ("program") a fused
// node carries, built from the nodes it absorbs. Neighbours: fuse-epilogue.ts, fuse-elementwise.ts (the passes),
// backend/wasm/kernels/fused.ts (emits a step list lane-generically).

import type { Attrs, Graph, Node } from "../ir/types.js";

/** One-input elementwise ops a fused kernel can evaluate in registers (kernels/unary.ts unaryOp). */
export const UNARY_STEP_OPS: ReadonlySet<string> = new Set(["relu", "leaky_relu", "sigmoid", "tanh", "gelu"]);
/** Two-input elementwise ops (NumPy broadcasting in the IR; fused only where the operand shapes allow). */
export const BINARY_STEP_OPS: ReadonlySet<string> = new Set(["add", "mul"]);

/**
 * One step of a fused node's program: `op` (a UNARY_STEP_OPS or BINARY_STEP_OPS name) applied to `args`, slot
 * numbers in the order of the original node's inputs. Slots 0 .. n-1 are the fused node's operands (see each
 * pass), slot n + k is step k's result; the last step's result is the node's output. `attrs` are the original
 * node's attrs (leaky_relu alpha, gelu approximate).
 */
export interface FusedStep {
  op: string;
  args: number[];
  attrs: Attrs;
}

/** True for an inference-mode elementwise node whose inputs and output are all f32. */
export function isFusibleElementwise(g: Graph, n: Node): boolean {
  if (n.mode === "train" || n.outputs.length !== 1) return false;
  if (!UNARY_STEP_OPS.has(n.op) && !BINARY_STEP_OPS.has(n.op)) return false;
  return [...n.inputs, n.outputs[0]!].every((v) => g.values[v]?.type.dtype === "f32");
}

/** Same static shape (dims compared one by one; "N" equals "N"). */
export function sameShape(g: Graph, a: string, b: string): boolean {
  const sa = g.values[a]!.type.shape;
  const sb = g.values[b]!.type.shape;
  return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
}

/** Ops that only rename a contiguous buffer (same elements, new shape): plan.ts aliases their output. */
export const ALIAS_STEP_OPS: ReadonlySet<string> = new Set(["flatten", "reshape"]);

/**
 * The step list of `members` (elementwise or ALIAS_STEP_OPS nodes in topological order, each member's output read
 * only by later members or, for the last one, the fused node's consumers) over `operands` (every value members read
 * that no member produces). An alias member adds no step (its output is its input's slot). Throws when a member
 * reads a value that is neither (a pass bug).
 */
export function buildSteps(operands: readonly string[], members: readonly Node[]): FusedStep[] {
  const slot = new Map<string, number>();
  operands.forEach((v, i) => slot.set(v, i));
  const steps: FusedStep[] = [];
  for (const n of members) {
    const args = n.inputs.map((v) => {
      const s = slot.get(v);
      if (s === undefined) throw new Error(`fusion: ${n.id} reads ${v}, which is neither an operand nor an earlier step`);
      return s;
    });
    if (ALIAS_STEP_OPS.has(n.op)) {
      slot.set(n.outputs[0]!, args[0]!);
      continue;
    }
    slot.set(n.outputs[0]!, operands.length + steps.length);
    steps.push({ op: n.op, args, attrs: { ...n.attrs } });
  }
  return steps;
}

/** How many nodes read each value (graph outputs count as one use each). */
export function useCounts(g: Graph): Map<string, number> {
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of g.outputs) uses.set(o.value, (uses.get(o.value) ?? 0) + 1);
  return uses;
}

/** A step list as a node attr (IR attrs are scalars / number arrays, so the list is stored as its JSON text). */
export function encodeSteps(steps: readonly FusedStep[]): string {
  return JSON.stringify(steps);
}

/** The step list of attr `key` of `n` ([] when absent). */
export function decodeSteps(n: Node, key: string): FusedStep[] {
  const s = n.attrs[key];
  return typeof s === "string" ? (JSON.parse(s) as FusedStep[]) : [];
}
