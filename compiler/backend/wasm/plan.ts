// Static memory planning for the activation region: per-sample sizes, liveness over the node order,
// aliasing (flatten/reshape), greedy-by-size placement so dead buffers are reused. Pure (no binaryen);
// read by emit.ts (addresses) and `modelc inspect`. Neighbours: ir/graph.ts, runtime/manifest.ts (ABI).

import type { Graph, Node } from "../../ir/types.js";
import { elementsPerSample } from "../../ir/graph.js";

/** Where one value lives: value `v` of a batch B is at activationBase + offsetPerSample * B. */
export interface ValuePlacement {
  value: string;
  /** Byte offset per sample in the activation region (16-aligned). */
  offsetPerSample: number;
  /** Bytes per sample (elements * 4, rounded up to 16). */
  bytesPerSample: number;
  /** Live interval over node indices, inclusive; graph inputs/outputs span [-1, nodes.length]. */
  start: number;
  end: number;
  /** Set when the value shares its buffer with another value (flatten/reshape output = input). */
  aliasOf?: string;
  /**
   * Set when the value is computed in place: it is the output of an INPLACE_OPS node and takes the buffer of this
   * input of that node, whose live range ends there (`start` of this value = `end` of that one).
   */
  inPlaceOf?: string;
  /** Graph inputs and outputs keep their buffers for the whole run (the runtime reads/writes them). */
  pinned: boolean;
}

/** The plan of a whole graph. Only activations and graph inputs are placed; params live in the weights region. */
export interface MemoryPlan {
  values: Record<string, ValuePlacement>;
  /** Size of the activation region per sample (16-aligned): the peak of the placement. */
  bytesPerSample: number;
  /** Sum of all (non-alias) buffers per sample: what no reuse would cost. */
  unsharedBytesPerSample: number;
  /**
   * Batch-independent scratch bytes (im2col of conv2d, attention's per-sample buffers): one region shared by all nodes, since nodes
   * run one at a time and a conv processes one sample at a time. Lives before the activation region.
   */
  scratchBytes: number;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Ops whose output can share the input's buffer (same bytes, new shape). */
const ALIAS_OPS = new Set(["flatten", "reshape"]);

/**
 * Ops whose kernel is safe with its output buffer = one of its inputs' (out == in), given that input has exactly
 * the output's shape: every element of that input is read before (or in the same lane group as) the store to the
 * same index, and nothing reads it after that store. Checked per kernel:
 * - relu, leaky_relu, sigmoid, tanh, gelu (kernels/unary.ts): one lane loop y[i] = f(x[i]).
 * - add, mul (kernels/binary.ts): y[i] = a[i] op b[j]; an operand with the output's shape has the output's strides,
 *   so it is read at the index being written; a broadcast operand is a different buffer (see planMemory).
 * - batchnorm (kernels/norm.ts): per (sample, channel) plane y[i] = x[i] * scale + shift.
 * - layernorm (kernels/norm.ts): per row, the statistics pass reads the whole row first, then y[i] from x[i].
 * - softmax (kernels/softmax.ts): per row/column, max and exp passes read x[i] (exp stores y[i] after reading
 *   x[i]), the normalizing pass reads only y.
 * - fused_elementwise (passes/fuse-elementwise.ts, when the backend has it): each full-shape input is read at
 *   the index being written, in the same lane group, before the store.
 * Not here: dense/conv2d (every output reads a whole input row or window), pools, concat, transpose, attention.
 */
export const INPLACE_OPS: ReadonlySet<string> = new Set([
  "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "add", "mul", "batchnorm", "layernorm", "softmax", "fused_elementwise",
]);

/** conv2d with groups == in_channels == out_channels: run by the direct kernel (kernels/depthwise.ts). */
export function isDepthwise(g: Graph, n: Node): boolean {
  if (n.op !== "conv2d") return false;
  const C = g.values[n.inputs[0]!]!.type.shape[1];
  const groups = (n.attrs["groups"] as number | undefined) ?? 1;
  return groups > 1 && groups === C && n.attrs["out_channels"] === C;
}

/** conv2d read as a plain GEMM over the input (1x1, stride 1, no padding): no scratch, kernels/gemm.ts. */
export function isDirectConv(n: Node): boolean {
  const [kh, kw] = n.attrs["kernel"] as number[];
  const stride = n.attrs["stride"] as number[];
  const pad = n.attrs["padding"] as number[];
  return kh === 1 && kw === 1 && stride.every((s) => s === 1) && pad.every((p) => p === 0);
}

/**
 * conv2d run as an implicit GEMM (kernels/conv-implicit.ts): not depthwise, not a direct 1x1 GEMM, stride 1 along
 * columns (an output row's 8-column block reads 8 contiguous input floats per tap) and Wo >= 8 (one full block).
 * Shape-only, so SIMD and scalar builds of a graph choose alike.
 */
export function convImplicit(g: Graph, n: Node): boolean {
  if (n.op !== "conv2d" || isDepthwise(g, n) || isDirectConv(n)) return false;
  const y = g.values[n.outputs[0]!]!.type.shape as number[];
  const stride = n.attrs["stride"] as number[];
  return stride[1] === 1 && y[3]! >= 8;
}

/**
 * Scratch elements conv2d needs for one sample: the implicit GEMM's zero-padded input planes C x (H+pt+pb) x
 * (W+pl+pr) (0 when unpadded; rounded up to 4) then its tap table (C/groups*kh*kw i32), im2col's C*kh*kw x Ho*Wo otherwise, 0 for the direct 1x1 GEMM or depthwise.
 */
export function convScratchElems(g: Graph, n: Node): number {
  if (n.op !== "conv2d" || isDepthwise(g, n) || isDirectConv(n)) return 0;
  const x = g.values[n.inputs[0]!]!.type.shape as number[];
  const y = g.values[n.outputs[0]!]!.type.shape as number[];
  const [kh, kw] = n.attrs["kernel"] as number[];
  const [pt, pl, pb, pr] = n.attrs["padding"] as number[];
  if (convImplicit(g, n)) {
    const groups = (n.attrs["groups"] as number | undefined) ?? 1;
    const planes = pt! + pl! + pb! + pr! > 0 ? Math.ceil((x[1]! * (x[2]! + pt! + pb!) * (x[3]! + pl! + pr!)) / 4) * 4 : 0;
    return planes + (x[1]! / groups) * kh! * kw!;
  }
  return x[1]! * kh! * kw! * y[2]! * y[3]!;
}

/**
 * Scratch pieces (f32 elements each, in kernel order) of multihead_attention (W_in^T [E, 3E], W_out^T [E, E],
 * Q [L, E], KV [S, 2E], O [L, E], one score row [S]) or multihead_attention_grad (W_in^T, Q, KV, O, dO, dQ,
 * dKV, the P and dP rows); [] for other ops. kernels/attention*.ts place them with scratchPieces.
 */
export function attentionScratchPieces(g: Graph, n: Node): number[] {
  if (n.op !== "multihead_attention" && n.op !== "multihead_attention_grad") return [];
  const skip = n.op === "multihead_attention_grad" ? 1 : 0;
  const [L, E] = g.values[n.inputs[skip]!]!.type.shape.slice(1) as [number, number];
  const S = g.values[n.inputs[skip + 1]!]!.type.shape[1] as number;
  return n.op === "multihead_attention"
    ? [3 * E * E, E * E, L * E, 2 * S * E, L * E, E * S, L * S]
    : [3 * E * E, L * E, 2 * S * E, L * E, L * E, L * E, 2 * S * E, S, S];
}

/** Scratch elements of an attention node: its pieces, each rounded up to 16 bytes (0 for other ops). */
export function attentionScratchElems(g: Graph, n: Node): number {
  return attentionScratchPieces(g, n).reduce((a, s) => a + Math.ceil(s / 4) * 4, 0);
}

/**
 * Plan the activation memory of `g`.
 * - Each activation/input value gets bytes = elementsPerSample * 4 (16-aligned) per sample.
 * - Liveness: [producer index, last consumer index]; graph inputs and outputs are pinned
 *   (live for the whole run).
 * - flatten/reshape outputs alias their input when it is an activation or input (the alias group's
 *   interval is the union; pinned if any member is).
 * - In place: the output of an INPLACE_OPS node (not pinned, not an alias) takes the buffer of its first input
 *   that has the output's dtype and shape, is not pinned, and whose buffer's live range (with everything already
 *   sharing it) ends at this node; other inputs in that buffer must have the output's shape too. `inPlaceOf`
 *   names that input; `start`/`end` stay each value's own (alias group's) interval.
 * - Placement: buffers sorted by size (largest first), each put at the lowest 16-aligned offset
 *   that does not overlap any placed buffer with an overlapping live interval (greedy by size).
 * `options.inPlace` false turns in-place execution off (default on; for A/B measurements).
 * Errors: none for well-formed graphs; unknown value ids throw.
 */
export function planMemory(g: Graph, options: { inPlace?: boolean } = {}): MemoryPlan {
  const nNodes = g.nodes.length;
  const pinnedIds = new Set<string>([...g.inputs.map((i) => i.value), ...g.outputs.map((o) => o.value)]);
  const isBuf = (id: string): boolean => {
    const v = g.values[id];
    if (!v) throw new Error(`planMemory: unknown value ${id}`);
    return v.kind === "activation" || v.kind === "input";
  };

  // Alias roots (union by pointing an output at its input's root).
  const root = new Map<string, string>();
  const find = (id: string): string => {
    let r = id;
    while (root.has(r)) r = root.get(r)!;
    return r;
  };
  for (const n of g.nodes)
    if (ALIAS_OPS.has(n.op) && isBuf(n.inputs[0]!)) root.set(n.outputs[0]!, find(n.inputs[0]!));

  // Live intervals per root.
  const start = new Map<string, number>();
  const end = new Map<string, number>();
  const touch = (id: string, i: number): void => {
    if (!isBuf(id)) return;
    const r = find(id);
    start.set(r, Math.min(start.get(r) ?? i, i));
    end.set(r, Math.max(end.get(r) ?? i, i));
  };
  for (const inp of g.inputs) touch(inp.value, -1);
  g.nodes.forEach((n, i) => {
    for (const x of n.inputs) touch(x, i);
    for (const y of n.outputs) touch(y, i);
  });
  const pinnedRoots = new Set<string>();
  for (const id of pinnedIds) if (isBuf(id)) pinnedRoots.add(find(id));
  for (const r of pinnedRoots) {
    start.set(r, -1);
    end.set(r, nNodes);
  }

  // Size per root: the largest member (aliases have equal sizes; be safe).
  const size = new Map<string, number>();
  for (const id of Object.keys(g.values)) {
    if (!isBuf(id) || !start.has(find(id))) continue;
    const r = find(id);
    size.set(r, Math.max(size.get(r) ?? 0, align16(elementsPerSample(g.values[id]!.type) * 4)));
  }

  // In place: an INPLACE_OPS node's output root joins the buffer group of an input whose group's live range ends at
  // this node. Groups of roots (a second union-find over alias roots) share one buffer; their interval is the union.
  const group = new Map<string, string>();
  const findGroup = (r: string): string => {
    let q = r;
    while (group.has(q)) q = group.get(q)!;
    return q;
  };
  const gStart = new Map(start);
  const gEnd = new Map(end);
  const inPlaceOf = new Map<string, string>();
  const sameType = (a: string, b: string): boolean => {
    const [ta, tb] = [g.values[a]!.type, g.values[b]!.type];
    return ta.dtype === tb.dtype && ta.shape.length === tb.shape.length && ta.shape.every((d, k) => d === tb.shape[k]);
  };
  g.nodes.forEach((n, i) => {
    if (options.inPlace === false || !INPLACE_OPS.has(n.op) || n.outputs.length !== 1 || n.mode === "train") return;
    const y = n.outputs[0]!;
    if (!isBuf(y) || !start.has(find(y))) return;
    const ry = find(y);
    if (ry !== y || pinnedRoots.has(ry)) return;
    for (const x of n.inputs) {
      if (!isBuf(x) || !sameType(x, y)) continue;
      const gx = findGroup(find(x));
      if (pinnedRoots.has(find(x)) || gEnd.get(gx) !== i || size.get(find(x)) !== size.get(ry)) continue;
      // every input in that buffer is read at the index being written: same shape as the output
      if (!n.inputs.every((o) => !isBuf(o) || findGroup(find(o)) !== gx || sameType(o, y))) continue;
      group.set(ry, gx);
      gStart.set(gx, Math.min(gStart.get(gx)!, start.get(ry)!));
      gEnd.set(gx, Math.max(gEnd.get(gx)!, end.get(ry)!));
      inPlaceOf.set(y, x);
      break;
    }
  });

  // Greedy by size: largest first, lowest non-conflicting offset (one buffer per in-place group).
  const roots = [...size.keys()]
    .filter((r) => !group.has(r))
    .sort((a, b) => size.get(b)! - size.get(a)! || gStart.get(a)! - gStart.get(b)!);
  const placed: { off: number; size: number; s: number; e: number }[] = [];
  const offset = new Map<string, number>();
  let peak = 0;
  let unshared = 0;
  for (const r of roots) {
    const sz = size.get(r)!;
    const s = gStart.get(r)!;
    const e = gEnd.get(r)!;
    const conflicts = placed.filter((p) => p.s <= e && s <= p.e).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of conflicts) {
      if (off + sz <= p.off) break;
      off = Math.max(off, p.off + p.size);
    }
    placed.push({ off, size: sz, s, e });
    offset.set(r, off);
    peak = Math.max(peak, off + sz);
  }

  for (const r of size.keys()) unshared += size.get(r)!;

  const values: Record<string, ValuePlacement> = {};
  for (const id of Object.keys(g.values)) {
    if (!isBuf(id)) continue;
    const r = find(id);
    if (!size.has(r)) continue;
    values[id] = {
      value: id,
      offsetPerSample: offset.get(findGroup(r))!,
      bytesPerSample: align16(elementsPerSample(g.values[id]!.type) * 4),
      start: start.get(r)!,
      end: end.get(r)!,
      pinned: pinnedRoots.has(r),
      ...(r !== id ? { aliasOf: r } : {}),
      ...(inPlaceOf.has(id) ? { inPlaceOf: inPlaceOf.get(id)! } : {}),
    };
  }
  let scratch = 0;
  for (const n of g.nodes) scratch = Math.max(scratch, align16(Math.max(convScratchElems(g, n), attentionScratchElems(g, n)) * 4));
  return { values, bytesPerSample: align16(peak), unsharedBytesPerSample: unshared, scratchBytes: scratch };
}
