// Shape ops that move no arithmetic: flatten, reshape (per-sample, one -1), concat (variadic).
// Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts. The batch axis is never touched.

import type { OpDef } from "./def.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import type { Attrs, Dim, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, normAxis } from "./common.js";

function copyCost(inputs: TensorType[], _outputs: TensorType[], _attrs: Attrs, batch: number) {
  const n = inputs.reduce((s, t) => s + countAt(t, batch), 0);
  return { flops: 0, bytes: 8 * n };
}

function product(ds: readonly Dim[]): number {
  let p = 1;
  for (const d of ds) p *= d as number;
  return p;
}

/**
 * flatten(start_dim=1): merges axes start_dim..end into one (PyTorch torch.flatten, end_dim = -1;
 * nn.Flatten default). [N, C, H, W] -> [N, C*H*W]. Attrs { start_dim } normalized to >= 1.
 * Errors: start_dim 0 (the batch axis) or out of range → OpArgError.
 */
export const flatten: OpDef = {
  name: "flatten",
  doc: "Merge the axes from start_dim to the last into one",
  semantics: "PyTorch torch.flatten(x, start_dim, -1)",
  arity: 1,
  args: [{ name: "start_dim", kind: "int", default: 1, doc: "first axis to merge (>= 1; negative counts from the end)" }],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    return { start_dim: normAxis("flatten", "start_dim", a["start_dim"] as number, x.shape.length, x.shape) };
  },
  infer: (inputs, attrs) => {
    const x = inputs[0]!;
    const s = attrs["start_dim"] as number;
    if (s < 1 || s >= x.shape.length)
      throw new OpTypeError(`flatten: start_dim ${s} is out of range for ${showShape(x.shape)}`);
    const rest = x.shape.slice(s);
    if (rest.includes("N")) throw new OpTypeError(`flatten: cannot merge the batch dim of ${showShape(x.shape)}`);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, s), product(rest)] }];
  },
  reference: (inputs, attrs) => {
    const x = inputs[0]!;
    const s = attrs["start_dim"] as number;
    return [{ shape: [...x.shape.slice(0, s), product(x.shape.slice(s))], data: x.data.slice() }];
  },
  cost: copyCost,
};

/**
 * reshape(shape): per-sample target shape (batch excluded), one -1 allowed and inferred (PyTorch
 * Tensor.reshape on x.reshape(N, *shape)). [N, ...] -> [N, ...shape]. Attrs { shape } fully resolved.
 * Errors: two -1, 0 or < -1 dims → OpArgError; element count mismatch → OpTypeError.
 */
export const reshape: OpDef = {
  name: "reshape",
  doc: "Reshape each sample (batch dim kept), one -1 inferred",
  semantics: "PyTorch torch.reshape(x, (N, *shape))",
  arity: 1,
  args: [{ name: "shape", kind: "ints", doc: "per-sample shape; one entry may be -1" }],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    const shape = a["shape"] as number[];
    if (!Array.isArray(shape) || shape.length === 0)
      throw new OpArgError(`reshape: shape must be a non-empty list of ints, got ${JSON.stringify(shape)}`, "shape");
    if (shape.some((d) => !Number.isInteger(d) || d === 0 || d < -1))
      throw new OpArgError(`reshape: dims must be >= 1 or -1, got ${JSON.stringify(shape)}`, "shape");
    if (shape.filter((d) => d === -1).length > 1)
      throw new OpArgError(`reshape: at most one -1 is allowed, got ${JSON.stringify(shape)}`, "shape");
    const per = x.shape.slice(1);
    if (per.includes("N") || x.shape[0] !== "N")
      throw new OpTypeError(`reshape: expected an input [N, ...], got ${showShape(x.shape)}`);
    const total = product(per);
    const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    if (shape.includes(-1)) {
      if (total % known !== 0)
        throw new OpTypeError(`reshape: cannot reshape ${showShape(x.shape)} to [N, ${shape.join(", ")}]`);
      return { shape: shape.map((d) => (d === -1 ? total / known : d)) };
    }
    if (known !== total) throw new OpTypeError(`reshape: cannot reshape ${showShape(x.shape)} to [N, ${shape.join(", ")}]`);
    return { shape: [...shape] };
  },
  infer: (inputs, attrs) => {
    const x = inputs[0]!;
    const shape = attrs["shape"] as number[];
    if (product(x.shape.slice(1)) !== product(shape))
      throw new OpTypeError(`reshape: cannot reshape ${showShape(x.shape)} to [N, ${shape.join(", ")}]`);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, ...shape] }];
  },
  reference: (inputs, attrs) => {
    const x = inputs[0]!;
    return [{ shape: [x.shape[0]!, ...(attrs["shape"] as number[])], data: x.data.slice() }];
  },
  cost: copyCost,
};

/**
 * concat(x0, x1, ..., axis=1): join along `axis` (never the batch axis; negative counts from the end),
 * PyTorch torch.cat. All inputs have the same rank, dtype and sizes except along `axis`.
 * Attrs { axis } normalized to >= 1. Errors: OpTypeError naming both shapes, OpDTypeError, OpArgError.
 */
export const concat: OpDef = {
  name: "concat",
  doc: "Concatenate tensors along an axis (not the batch axis)",
  semantics: "PyTorch torch.cat",
  arity: "variadic",
  args: [{ name: "axis", kind: "int", default: 1, doc: "axis to join along (>= 1; negative counts from the end)" }],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    return { axis: normAxis("concat", "axis", a["axis"] as number, x.shape.length, x.shape) };
  },
  infer: (inputs, attrs) => {
    const axis = attrs["axis"] as number;
    const first = inputs[0]!;
    if (axis < 1 || axis >= first.shape.length)
      throw new OpTypeError(`concat: axis ${axis} is out of range for ${showShape(first.shape)}`);
    let total = 0;
    inputs.forEach((t, i) => {
      if (t.dtype !== first.dtype) throw new OpDTypeError(`concat: dtypes differ, ${first.dtype} and ${t.dtype}`, undefined, i);
      const ok = t.shape.length === first.shape.length && t.shape.every((d, k) => k === axis || d === first.shape[k]);
      if (!ok)
        throw new OpTypeError(
          `concat: cannot join ${showShape(first.shape)} with ${showShape(t.shape)} along axis ${axis}`,
          undefined,
          i,
        );
      const d = t.shape[axis];
      if (typeof d !== "number") throw new OpTypeError(`concat: axis ${axis} of ${showShape(t.shape)} is not static`);
      total += d;
    });
    const shape = [...first.shape];
    shape[axis] = total;
    return [{ dtype: first.dtype, shape }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const axis = attrs["axis"] as number;
    const first = inputs[0]!;
    const outer = product(first.shape.slice(0, axis));
    const inner = product(first.shape.slice(axis + 1));
    const total = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
    const shape = [...first.shape];
    shape[axis] = total;
    const out = new Float64Array(outer * total * inner);
    for (let o = 0; o < outer; o++) {
      let off = o * total * inner;
      for (const t of inputs) {
        const chunk = t.shape[axis]! * inner;
        out.set(t.data.subarray(o * chunk, (o + 1) * chunk), off);
        off += chunk;
      }
    }
    return [{ shape, data: out }];
  },
  cost: copyCost,
};

/** All shape ops. */
export const SHAPE_OPS: OpDef[] = [flatten, reshape, concat];
