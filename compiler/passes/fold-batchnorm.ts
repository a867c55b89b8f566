// Pass (needs the weights): an inference batchnorm right after a conv2d or dense is folded into that layer's
// weight and bias, so the batchnorm node, its four tensors and one activation buffer disappear.
// Neighbours: passes/pipeline.ts (optimizeWithWeights runs it once the weights are bound), passes/dce.ts,
// ir/ops/norm.ts (batchnorm semantics), compiler/index.ts (compile calls it), cli/export.ts (artifact export).

import type { Graph, Node, ValueInfo, WeightMap } from "../ir/types.js";
import { numel } from "../ir/graph.js";
import { cloneGraph } from "./clone.js";
import { eliminateDeadCode } from "./dce.js";

/** Joins a folded tensor's source name and the batchnorm layer: "stage1.conv.weight~stage1.bn". */
export const FOLD_SEPARATOR = "~";

/** One conv2d/dense + batchnorm pair folded by foldBatchnormGraph: where each tensor of the fold comes from. */
export interface BatchnormFold {
  /** The conv2d/dense node kept (now with the folded tensors). */
  layer: string;
  /** The batchnorm node removed. */
  batchnorm: string;
  /** Value ids of the layer's weight and bias (undefined: the layer had no bias, b = 0). */
  weight: string;
  bias?: string;
  /** Value ids of the batchnorm's weight (gamma), bias (beta), running_mean, running_var. */
  gamma: string;
  beta: string;
  mean: string;
  variance: string;
  eps: number;
  /** Value ids of the new (folded) weight [O, ...] and bias [O]; their `name`s are the tensor names. */
  foldedWeight: string;
  foldedBias: string;
}

/**
 * The structural half of the fold (no tensor values needed): every `batchnorm(y)` (not mode "train") whose input
 * y is produced by a conv2d, or by a dense with a rank-2 output [N, units] (batchnorm's channel axis 1 must be the
 * layer's output channels), where y has no other consumer and is not a graph output, and whose weight, bias
 * (if any) and the batchnorm's four tensors are params/state or consts with data, all f32 without quantization.
 * The layer takes the batchnorm's output value and two new param values, the folded weight and bias, named
 * `<weight name>~<batchnorm layer>` and `<bias or weight name without ".weight" + ".bias">~<batchnorm layer>`
 * (e.g. "stage1.conv.weight~stage1.bn", "stage1.conv.bias~stage1.bn"); attrs.bias becomes true. The batchnorm
 * node and the now unused values go (dce). Returns a new graph (`g` when nothing folds) and the folds made.
 */
export function foldBatchnormGraph(g: Graph): { graph: Graph; folds: BatchnormFold[] } {
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  const outputs = new Set(g.outputs.map((o) => o.value));
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const hasValues = (id: string | undefined): boolean => {
    const v = id === undefined ? undefined : g.values[id];
    if (!v || v.type.dtype !== "f32" || v.type.quant || v.type.shape.some((d) => d === "N")) return false;
    return v.kind === "param" || v.kind === "state" || (v.kind === "const" && v.data !== undefined);
  };
  const pairs: { layer: Node; bn: Node }[] = [];
  for (const bn of g.nodes) {
    if (bn.op !== "batchnorm" || bn.mode === "train") continue;
    const y = bn.inputs[0]!;
    const p = producer.get(y);
    if (!p || p.mode === "train" || uses.get(y) !== 1 || outputs.has(y)) continue;
    const yShape = g.values[y]!.type.shape;
    if (!(p.op === "conv2d" || (p.op === "dense" && yShape.length === 2))) continue;
    if (p.attrs["relu"] !== undefined) continue; // a backend-fused epilogue would run before the batchnorm
    const hasBias = p.attrs["bias"] === true;
    if (!hasValues(p.inputs[1]) || (hasBias && !hasValues(p.inputs[2]))) continue;
    if (!bn.inputs.slice(1, 5).every(hasValues)) continue;
    pairs.push({ layer: p, bn });
  }
  if (pairs.length === 0) return { graph: g, folds: [] };

  const out = cloneGraph(g);
  const byId = new Map(out.nodes.map((n) => [n.id, n]));
  const removed = new Set<string>();
  const folds: BatchnormFold[] = [];
  for (const { layer: p0, bn: bn0 } of pairs) {
    const p = byId.get(p0.id)!;
    const bn = byId.get(bn0.id)!;
    const [, gamma, beta, mean, variance] = bn.inputs as [string, string, string, string, string];
    const wv = out.values[p.inputs[1]!]!;
    const hasBias = p.attrs["bias"] === true;
    const bnName = bn.layer ?? out.values[gamma]!.name?.replace(/\.weight$/, "") ?? bn.id;
    const wName = wv.name ?? wv.id;
    const bName = hasBias ? (out.values[p.inputs[2]!]!.name ?? p.inputs[2]!) : `${wName.replace(/\.weight$/, "")}.bias`;
    const O = out.values[gamma]!.type.shape[0] as number;
    const fresh = (base: string): string => {
      let id = `${base}${FOLD_SEPARATOR}${bn.id}`;
      while (out.values[id]) id += "'";
      return id;
    };
    const fw: ValueInfo = { id: fresh(wv.id), kind: "param", name: `${wName}${FOLD_SEPARATOR}${bnName}`, type: { dtype: "f32", shape: [...wv.type.shape] } };
    const fb: ValueInfo = { id: fresh(hasBias ? p.inputs[2]! : `${wv.id}.bias`), kind: "param", name: `${bName}${FOLD_SEPARATOR}${bnName}`, type: { dtype: "f32", shape: [O] } };
    out.values[fw.id] = fw;
    out.values[fb.id] = fb;
    folds.push({
      layer: p.id,
      batchnorm: bn.id,
      weight: p.inputs[1]!,
      ...(hasBias ? { bias: p.inputs[2]! } : {}),
      gamma,
      beta,
      mean,
      variance,
      eps: (bn.attrs["eps"] as number | undefined) ?? 1e-5,
      foldedWeight: fw.id,
      foldedBias: fb.id,
    });
    delete out.values[p.outputs[0]!];
    p.outputs = [bn.outputs[0]!];
    p.inputs = [p.inputs[0]!, fw.id, fb.id];
    p.attrs = { ...p.attrs, bias: true };
    removed.add(bn.id);
  }
  out.nodes = out.nodes.filter((n) => !removed.has(n.id));
  return { graph: eliminateDeadCode(out), folds };
}

/**
 * Fold batchnorms into the preceding conv2d/dense (foldBatchnormGraph) and compute the folded tensors from
 * `weights` (state_dict names; consts from their data): per output channel o, s = gamma / sqrt(var + eps),
 * W'[o, ...] = W[o, ...] * s, b'[o] = (b[o] - mean) * s + beta (b = 0 without a bias), in float64 from the f32
 * inputs, each result rounded once to f32. This equals PyTorch's eval-mode batchnorm applied to the layer's
 * output up to that rounding. Returns the new graph and a weight map holding exactly the graph's params/state
 * (the folded tensors under their new names; the batchnorm's tensors and any weight used only by a folded layer
 * are gone). `g` and `weights` are not modified. Throws Error naming a tensor missing from `weights`.
 */
export function foldBatchnorm(g: Graph, weights: WeightMap): { graph: Graph; weights: WeightMap } {
  const { graph, folds } = foldBatchnormGraph(g);
  if (folds.length === 0) return { graph: g, weights };
  const data = (id: string): Float32Array => {
    const v = g.values[id]!;
    if (v.kind === "const") return Float32Array.from(v.data!);
    const w = weights.get(v.name ?? v.id);
    if (!w) throw new Error(`fold-batchnorm: missing weight ${v.name ?? v.id}`);
    return w.data;
  };
  const derived: WeightMap = new Map();
  for (const f of folds) {
    const w = data(f.weight);
    const [gamma, beta, mean, variance] = [data(f.gamma), data(f.beta), data(f.mean), data(f.variance)];
    const O = gamma.length;
    const b = f.bias !== undefined ? data(f.bias) : new Float32Array(O);
    const per = w.length / O;
    const fw = new Float32Array(w.length);
    const fb = new Float32Array(O);
    for (let o = 0; o < O; o++) {
      const s = gamma[o]! / Math.sqrt(variance[o]! + f.eps);
      for (let k = o * per; k < (o + 1) * per; k++) fw[k] = w[k]! * s;
      fb[o] = (b[o]! - mean[o]!) * s + beta[o]!;
    }
    const fwv = graph.values[f.foldedWeight]!;
    const fbv = graph.values[f.foldedBias]!;
    derived.set(fwv.name!, { shape: fwv.type.shape as number[], data: fw });
    derived.set(fbv.name!, { shape: [O], data: fb });
    if (numel(fwv.type.shape as number[]) !== w.length) throw new Error(`fold-batchnorm: weight ${fwv.name} has ${w.length} elements`);
  }
  const out: WeightMap = new Map();
  for (const v of Object.values(graph.values)) {
    if (v.kind !== "param" && v.kind !== "state") continue;
    const name = v.name ?? v.id;
    const t = derived.get(name) ?? weights.get(name);
    if (!t) throw new Error(`fold-batchnorm: missing weight ${name}`);
    out.set(name, t);
  }
  return { graph, weights: out };
}
