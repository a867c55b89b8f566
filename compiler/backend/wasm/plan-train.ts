// Memory planning for the entries of a training module (train_step, eval_step, run): which nodes an entry
// runs, and where each value lives. Pure (no binaryen). Neighbours: train.ts (emits from these plans), plan.ts (inference).

import type { Graph, Node } from "../../ir/types.js";
import { elementsPerSample, numel } from "../../ir/graph.js";
import { convScratchElems } from "./plan.js";

/**
 * Where a value of a training graph lives:
 * - "tensor": a param/state/optimizer-state tensor or a const, at a fixed absolute offset (placed by train.ts);
 * - "fixed": a transient value without batch dimension (weight gradients, losses, lr/step/dropout_rng),
 *   at `fixed_base + offset`, planned by liveness;
 * - "batch": a batch-scaled value (activations, activation gradients, model inputs, targets), at
 *   `act_base + offset * batch` as for inference (runtime/manifest.ts).
 */
export type ValueClass = "tensor" | "fixed" | "batch";

/** One planned transient value ("fixed" or "batch"). */
export interface TrainPlacement {
  value: string;
  cls: "fixed" | "batch";
  /** "fixed": byte offset from fixed_base; "batch": byte offset per sample from act_base (16-aligned). */
  offset: number;
  /** Bytes ("fixed") or bytes per sample ("batch"), 16-aligned. */
  bytes: number;
  /** Live interval over the entry's node indices (inclusive); pinned values span [-1, nodes.length]. */
  start: number;
  end: number;
  /** Set when the value shares its producer input's buffer (flatten/reshape). */
  aliasOf?: string;
}

/** The plan of one entry (exported wasm function) of a training module. */
export interface EntryPlan {
  /** Nodes the entry runs, in graph order (only those reaching one of its roots). */
  nodes: Node[];
  values: Record<string, TrainPlacement>;
  /** Size of the fixed arena this entry needs (16-aligned). */
  fixedBytes: number;
  /** Activation bytes per sample (16-aligned). */
  bytesPerSample: number;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Ops whose output shares the input's buffer (same bytes, new shape), as plan.ts. */
const ALIAS_OPS = new Set(["flatten", "reshape"]);

/** The class of value `id` of `g` (tensor: param/state/const; batch: leading "N"; else fixed). */
export function valueClass(g: Graph, id: string): ValueClass {
  const v = g.values[id];
  if (!v) throw new Error(`planTrainEntry: unknown value ${id}`);
  if (v.kind === "param" || v.kind === "state" || v.kind === "const") return "tensor";
  return v.type.shape[0] === "N" ? "batch" : "fixed";
}

/** Nodes of `g` that some value of `roots` depends on, in graph order (dead-code pruning of one entry). */
export function nodesFor(g: Graph, roots: readonly string[]): Node[] {
  const need = new Set(roots);
  const keep: boolean[] = new Array<boolean>(g.nodes.length).fill(false);
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (!n.outputs.some((o) => need.has(o))) continue;
    keep[k] = true;
    for (const i of n.inputs) need.add(i);
  }
  return g.nodes.filter((_, k) => keep[k]);
}

interface Item {
  id: string;
  size: number;
  s: number;
  e: number;
}

/** Greedy by size (largest first, lowest non-conflicting 16-aligned offset), as plan.ts. */
function place(items: Item[]): { offset: Map<string, number>; peak: number } {
  const sorted = [...items].sort((a, b) => b.size - a.size || a.s - b.s);
  const placed: { off: number; size: number; s: number; e: number }[] = [];
  const offset = new Map<string, number>();
  let peak = 0;
  for (const it of sorted) {
    const conflicts = placed.filter((p) => p.s <= it.e && it.s <= p.e).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of conflicts) {
      if (off + it.size <= p.off) break;
      off = Math.max(off, p.off + p.size);
    }
    placed.push({ off, size: it.size, s: it.s, e: it.e });
    offset.set(it.id, off);
    peak = Math.max(peak, off + it.size);
  }
  return { offset, peak: align16(peak) };
}

/**
 * Plan one entry: `nodes` (graph order) and `pinned` values (inputs the caller writes, outputs it reads;
 * live over the whole entry). Transient values are split into the fixed and the batch arena, each placed
 * greedily by liveness so dead buffers are reused; flatten/reshape outputs alias inputs of their class.
 * Tensors/consts, and `external` values (written in place onto a tensor by the caller), are not placed here.
 * Errors: unknown value ids throw.
 */
export function planTrainEntry(g: Graph, nodes: Node[], pinned: readonly string[], external: ReadonlySet<string> = new Set()): EntryPlan {
  const cls = (id: string): ValueClass => (external.has(id) ? "tensor" : valueClass(g, id));
  const root = new Map<string, string>();
  const find = (id: string): string => {
    let r = id;
    while (root.has(r)) r = root.get(r)!;
    return r;
  };
  for (const n of nodes) {
    const [x, y] = [n.inputs[0]!, n.outputs[0]!];
    if (ALIAS_OPS.has(n.op) && cls(x) !== "tensor" && cls(x) === cls(y)) root.set(y, find(x));
  }
  const start = new Map<string, number>();
  const end = new Map<string, number>();
  const touch = (id: string, i: number): void => {
    if (cls(id) === "tensor") return;
    const r = find(id);
    start.set(r, Math.min(start.get(r) ?? i, i));
    end.set(r, Math.max(end.get(r) ?? i, i));
  };
  nodes.forEach((n, i) => {
    for (const x of n.inputs) touch(x, i);
    for (const y of n.outputs) touch(y, i);
  });
  for (const id of pinned) {
    if (cls(id) === "tensor") continue;
    const r = find(id);
    start.set(r, -1);
    end.set(r, nodes.length);
  }
  const members = new Map<string, string[]>();
  for (const id of new Set([...nodes.flatMap((n) => [...n.inputs, ...n.outputs]), ...pinned])) {
    if (cls(id) === "tensor") continue;
    const r = find(id);
    members.set(r, [...(members.get(r) ?? []), id]);
  }
  const bytesOf = (id: string): number => {
    const t = g.values[id]!.type;
    return align16((t.shape[0] === "N" ? elementsPerSample(t) : numel(t.shape as number[])) * 4);
  };
  const items = { fixed: [] as Item[], batch: [] as Item[] };
  for (const [r, ids] of members) {
    const size = Math.max(...ids.map(bytesOf));
    items[valueClass(g, r) as "fixed" | "batch"].push({ id: r, size, s: start.get(r)!, e: end.get(r)! });
  }
  const fixed = place(items.fixed);
  const batch = place(items.batch);
  const values: Record<string, TrainPlacement> = {};
  for (const [r, ids] of members) {
    const c = valueClass(g, r) as "fixed" | "batch";
    const offset = (c === "fixed" ? fixed : batch).offset.get(r)!;
    for (const id of ids)
      values[id] = { value: id, cls: c, offset, bytes: bytesOf(id), start: start.get(r)!, end: end.get(r)!, ...(id !== r ? { aliasOf: r } : {}) };
  }
  return { nodes, values, fixedBytes: fixed.peak, bytesPerSample: batch.peak };
}

/**
 * Batch-independent scratch elements a training-module node may need: im2col of conv2d and of its
 * two backward ops (C*kh*kw x Ho*Wo of one sample, both directions), the run-time W^T of dense [in*out],
 * run-time batchnorm scale/shift [2*C]. Ops of other kernels report through `extra` (op -> elements).
 */
export function trainScratchElems(g: Graph, n: Node, extra?: (g: Graph, n: Node) => number): number {
  const shape = (id: string): number[] => g.values[id]!.type.shape.slice(1) as number[];
  let e = extra ? extra(g, n) : 0;
  if (n.op === "conv2d") e = Math.max(e, convScratchElems(g, n));
  if (n.op === "conv2d_grad_weight" || n.op === "conv2d_grad_input") {
    const [kh, kw] = n.attrs["kernel"] as [number, number];
    const gy = shape(n.inputs[0]!);
    const C = n.op === "conv2d_grad_weight" ? shape(n.inputs[1]!)[0]! : (n.attrs["in_channels"] as number);
    e = Math.max(e, C * kh * kw * gy[1]! * gy[2]!);
  }
  if (n.op === "dense") {
    const w = g.values[n.inputs[1]!]!.type.shape as number[];
    e = Math.max(e, w[0]! * w[1]!);
  }
  if (n.op === "batchnorm") e = Math.max(e, 2 * (shape(n.inputs[0]!)[0] ?? 0) + 8);
  return e;
}
