// Token and fusion ops for multimodal models: transpose (swap two non-batch axes), mean (reduce one
// non-batch axis), gated_sum (learned sigmoid gate between two feature vectors). Neighbours: ops/def.ts,
// ops/common.ts; autodiff/rules-fusion.ts (gradients); backend/wasm/kernels/fusion.ts (kernels).

import type { OpDef } from "./def.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import type { Attrs, Dim, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, normAxis, requireFloat } from "./common.js";

function product(ds: readonly number[]): number {
  let p = 1;
  for (const d of ds) p *= d;
  return p;
}

/**
 * The [A, D0, B, D1, C] view of a transpose of axes d0 < d1 over a concrete shape: A = prod(before d0),
 * B = prod(between), C = prod(after d1). Shared by the reference and the wasm kernel.
 */
export function transposeView(shape: readonly number[], d0: number, d1: number): { A: number; D0: number; B: number; D1: number; C: number } {
  return {
    A: product(shape.slice(0, d0)),
    D0: shape[d0]!,
    B: product(shape.slice(d0 + 1, d1)),
    D1: shape[d1]!,
    C: product(shape.slice(d1 + 1)),
  };
}

/** Shape with axes a and b swapped. */
function swapped<T>(shape: readonly T[], a: number, b: number): T[] {
  const s = [...shape];
  [s[a], s[b]] = [s[b]!, s[a]!];
  return s;
}

/**
 * transpose(dim0, dim1): swap two non-batch axes (PyTorch torch.transpose(x, dim0, dim1); negative
 * axes count from the end). [N, C, HW] with (1, 2) -> [N, HW, C]. Attrs { dim0, dim1 } normalized to
 * 1 <= dim0 <= dim1 (equal axes: the identity). Any dtype. Errors: an axis out of range or the batch
 * axis → OpArgError.
 */
export const transpose: OpDef = {
  name: "transpose",
  doc: "Swap two non-batch axes",
  semantics: "PyTorch torch.transpose(x, dim0, dim1)",
  arity: 1,
  args: [
    { name: "dim0", kind: "int", doc: "first axis (>= 1; negative counts from the end)" },
    { name: "dim1", kind: "int", doc: "second axis (>= 1; negative counts from the end)" },
  ],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    const d0 = normAxis("transpose", "dim0", a["dim0"] as number, x.shape.length, x.shape);
    const d1 = normAxis("transpose", "dim1", a["dim1"] as number, x.shape.length, x.shape);
    return { dim0: Math.min(d0, d1), dim1: Math.max(d0, d1) };
  },
  infer: (inputs, attrs) => {
    const x = inputs[0]!;
    const [d0, d1] = [attrs["dim0"] as number, attrs["dim1"] as number];
    if (!(d0 >= 1 && d0 <= d1 && d1 < x.shape.length))
      throw new OpTypeError(`transpose: axes (${d0}, ${d1}) are out of range for ${showShape(x.shape)}`);
    return [{ dtype: x.dtype, shape: swapped(x.shape, d0, d1) }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const x = inputs[0]!;
    const [d0, d1] = [attrs["dim0"] as number, attrs["dim1"] as number];
    const { A, D0, B, D1, C } = transposeView(x.shape, d0, d1);
    const out = new Float64Array(x.data.length);
    let o = 0;
    for (let a = 0; a < A; a++)
      for (let i1 = 0; i1 < D1; i1++)
        for (let b = 0; b < B; b++)
          for (let i0 = 0; i0 < D0; i0++) {
            const src = (((a * D0 + i0) * B + b) * D1 + i1) * C;
            for (let c = 0; c < C; c++) out[o++] = x.data[src + c]!;
          }
    return [{ shape: swapped(x.shape, d0, d1), data: out }];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: 0, bytes: 8 * countAt(inputs[0]!, batch) }),
};

/** Output shape of mean over `axis`. */
function meanShape<T>(shape: readonly T[], axis: number, keepdim: boolean): T[] {
  const s = [...shape];
  if (keepdim) s[axis] = 1 as T;
  else s.splice(axis, 1);
  return s;
}

/**
 * mean(axis, keepdim=false): arithmetic mean over one non-batch axis (PyTorch torch.mean(x, dim,
 * keepdim)). [N, L, E] with axis 1 -> [N, E] (keepdim: [N, 1, E]). The sum is accumulated, then divided
 * by the axis size. Attrs { axis (>= 1), keepdim }. f32 only. Errors: the batch axis or an axis out of
 * range → OpArgError; an i32 input → OpDTypeError.
 */
export const mean: OpDef = {
  name: "mean",
  doc: "Mean over one non-batch axis",
  semantics: "PyTorch torch.mean(x, dim, keepdim)",
  arity: 1,
  args: [
    { name: "axis", kind: "int", doc: "axis to average over (>= 1; negative counts from the end)" },
    { name: "keepdim", kind: "bool", default: false, doc: "keep the reduced axis with size 1" },
  ],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    return { axis: normAxis("mean", "axis", a["axis"] as number, x.shape.length, x.shape), keepdim: a["keepdim"] === true };
  },
  infer: (inputs, attrs) => {
    const x = inputs[0]!;
    requireFloat("mean", x);
    const axis = attrs["axis"] as number;
    if (!(axis >= 1 && axis < x.shape.length)) throw new OpTypeError(`mean: axis ${axis} is out of range for ${showShape(x.shape)}`);
    if (typeof x.shape[axis] !== "number") throw new OpTypeError(`mean: axis ${axis} of ${showShape(x.shape)} is not static`);
    return [{ dtype: "f32", shape: meanShape<Dim>(x.shape, axis, attrs["keepdim"] === true) }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const x = inputs[0]!;
    const axis = attrs["axis"] as number;
    const K = x.shape[axis]!;
    const A = product(x.shape.slice(0, axis));
    const C = product(x.shape.slice(axis + 1));
    const out = new Float64Array(A * C);
    for (let a = 0; a < A; a++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x.data[(a * K + k) * C + c]!;
        out[a * C + c] = s / K;
      }
    return [{ shape: meanShape(x.shape, axis, attrs["keepdim"] === true), data: out }];
  },
  cost: (inputs, outputs, _a, batch) => ({
    flops: countAt(inputs[0]!, batch),
    bytes: 4 * (countAt(inputs[0]!, batch) + countAt(outputs[0]!, batch)),
  }),
};

/** D of gated_sum's inputs a, b [N, ..., D] (same shape, f32, rank >= 2, D static). */
function gatedSumDim(inputs: readonly TensorType[]): number {
  const [a, b] = [inputs[0]!, inputs[1]!];
  if (a.dtype !== "f32") throw new OpDTypeError(`gated_sum: expected f32 inputs, got ${a.dtype}`, undefined, 0);
  if (b.dtype !== "f32") throw new OpDTypeError(`gated_sum: expected f32 inputs, got ${b.dtype}`, undefined, 1);
  if (a.shape.length < 2) throw new OpTypeError(`gated_sum: expected inputs [N, ..., D], got ${showShape(a.shape)}`);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new OpTypeError(`gated_sum: inputs must have the same shape, got ${showShape(a.shape)} and ${showShape(b.shape)}`, undefined, 1);
  const D = a.shape[a.shape.length - 1];
  if (typeof D !== "number") throw new OpTypeError(`gated_sum: the last axis of ${showShape(a.shape)} must be static`);
  return D;
}

/**
 * gated_sum(a, b): a learned convex combination of two feature vectors (gated multimodal unit, Arevalo
 * et al. 2017, "Gated Multimodal Units for Information Fusion"): g = sigmoid(gate(concat(a, b))),
 * out = g * a + (1 - g) * b, with `gate` a dense layer [D, 2D] + bias (PyTorch nn.Linear(2D, D)).
 * Inputs [a [N, ..., D], b [N, ..., D], gate.weight [D, 2D], gate.bias [D]] -> f32 [N, ..., D].
 * Params "gate.weight", "gate.bias", init U(-1/sqrt(2D), 1/sqrt(2D)) like nn.Linear. No attrs.
 * Errors: OpDTypeError (i32 input), OpTypeError (shapes differ, rank < 2, param shapes).
 */
export const gated_sum: OpDef = {
  name: "gated_sum",
  doc: "Gated fusion g * a + (1 - g) * b with g = sigmoid(gate(concat(a, b)))",
  semantics: "PyTorch: g = torch.sigmoid(nn.Linear(2D, D)(torch.cat([a, b], -1))); g * a + (1 - g) * b",
  arity: 2,
  args: [],
  normalize: () => ({}),
  params: (inputs) => {
    const D = gatedSumDim(inputs);
    const bound = 1 / Math.sqrt(2 * D);
    const init = { kind: "uniform" as const, low: -bound, high: bound };
    return [
      { suffix: "gate.weight", shape: [D, 2 * D], kind: "param", init },
      { suffix: "gate.bias", shape: [D], kind: "param", init },
    ];
  },
  infer: (inputs) => {
    const D = gatedSumDim(inputs);
    const [w, bias] = [inputs[2], inputs[3]];
    if (!w || w.shape.length !== 2 || w.shape[0] !== D || w.shape[1] !== 2 * D)
      throw new OpTypeError(`gated_sum: gate.weight ${w ? showShape(w.shape) : "missing"} is not [${D}, ${2 * D}]`, undefined, 2);
    if (!bias || bias.shape.length !== 1 || bias.shape[0] !== D)
      throw new OpTypeError(`gated_sum: gate.bias ${bias ? showShape(bias.shape) : "missing"} is not [${D}]`, undefined, 3);
    return [{ dtype: "f32", shape: [...inputs[0]!.shape] }];
  },
  reference: (inputs: RefTensor[]) => {
    const [a, b, w, bias] = inputs as [RefTensor, RefTensor, RefTensor, RefTensor];
    const D = a.shape[a.shape.length - 1]!;
    const rows = a.data.length / D;
    const out = new Float64Array(a.data.length);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < D; j++) {
        let z = bias.data[j]!;
        for (let k = 0; k < D; k++) z += w.data[j * 2 * D + k]! * a.data[r * D + k]! + w.data[j * 2 * D + D + k]! * b.data[r * D + k]!;
        const g = 1 / (1 + Math.exp(-z));
        out[r * D + j] = g * a.data[r * D + j]! + (1 - g) * b.data[r * D + j]!;
      }
    return [{ shape: [...a.shape], data: out }];
  },
  cost: (inputs: TensorType[], outputs: TensorType[], _attrs: Attrs, batch: number) => {
    const n = countAt(outputs[0]!, batch);
    const D = inputs[0]!.shape[inputs[0]!.shape.length - 1] as number;
    return { flops: n * (4 * D + 8), bytes: 4 * (3 * n + 2 * D * D + D) };
  },
};

/** Guard used by the kernels: a transpose's attrs checked against a rank. */
export function transposeAxes(attrs: Attrs, rank: number): [number, number] {
  const [d0, d1] = [attrs["dim0"] as number, attrs["dim1"] as number];
  if (!(d0 >= 1 && d0 <= d1 && d1 < rank)) throw new OpArgError(`transpose: bad axes (${d0}, ${d1}) for rank ${rank}`, "dim0");
  return [d0, d1];
}

/** The fusion / token ops. */
export const FUSION_OPS: OpDef[] = [transpose, mean, gated_sum];
