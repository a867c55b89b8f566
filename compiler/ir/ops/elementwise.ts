// Binary elementwise ops with NumPy broadcasting: add, mul (language `a + b`, `a * b`).
// Neighbours: ops/def.ts, ops/index.ts; frontend/lower.ts maps the operators to these ops.

import type { OpDef } from "./def.js";
import { OpDTypeError, OpTypeError } from "./def.js";
import type { Dim, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, strides } from "./common.js";

/**
 * NumPy broadcasting of two shapes (aligned at the right; sizes must be equal or one of them 1).
 * The batch dim "N" broadcasts only against "N" or 1. Errors: OpTypeError showing both shapes.
 */
export function broadcastShapes(op: string, a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else throw new OpTypeError(`${op}: cannot broadcast ${showShape(a)} with ${showShape(b)}`);
  }
  const misplaced = out.lastIndexOf("N");
  if (misplaced > 0)
    throw new OpTypeError(
      `${op}: cannot broadcast ${showShape(a)} with ${showShape(b)}: the batch dimension N would land on axis ${misplaced}`,
      "operands that both have the batch dimension must have the same rank; reshape one of them",
    );
  return out;
}

function binary(name: "add" | "mul", doc: string, f: (x: number, y: number) => number): OpDef {
  return {
    name,
    doc,
    semantics: `PyTorch torch.${name} / ONNX ${name === "add" ? "Add" : "Mul"} (NumPy broadcasting)`,
    arity: 2,
    args: [],
    normalize: () => ({}),
    infer: (inputs: TensorType[]) => {
      const [a, b] = [inputs[0]!, inputs[1]!];
      if (a.dtype !== b.dtype) throw new OpDTypeError(`${name}: dtypes differ, ${a.dtype} and ${b.dtype}`, undefined, 1);
      return [{ dtype: a.dtype, shape: broadcastShapes(name, a.shape, b.shape) }];
    },
    reference: (inputs: RefTensor[]) => {
      const [a, b] = [inputs[0]!, inputs[1]!];
      const shape = broadcastShapes(name, a.shape, b.shape) as number[];
      const rank = shape.length;
      // Strides of each input in output coordinates (0 where broadcast).
      const bstr = (t: RefTensor): number[] => {
        const s = strides(t.shape);
        const off = rank - t.shape.length;
        return shape.map((_, i) => (i < off || t.shape[i - off] === 1 ? 0 : s[i - off]!));
      };
      const sa = bstr(a);
      const sb = bstr(b);
      let n = 1;
      for (const d of shape) n *= d;
      const out = new Float64Array(n);
      const idx = new Array<number>(rank).fill(0);
      let ia = 0;
      let ib = 0;
      for (let k = 0; k < n; k++) {
        out[k] = f(a.data[ia]!, b.data[ib]!);
        for (let d = rank - 1; d >= 0; d--) {
          idx[d]!++;
          ia += sa[d]!;
          ib += sb[d]!;
          if (idx[d]! < shape[d]!) break;
          ia -= sa[d]! * shape[d]!;
          ib -= sb[d]! * shape[d]!;
          idx[d] = 0;
        }
      }
      return [{ shape, data: out }];
    },
    cost: (inputs, outputs, _attrs, batch) => {
      const n = countAt(outputs[0]!, batch);
      return { flops: n, bytes: 4 * (countAt(inputs[0]!, batch) + countAt(inputs[1]!, batch) + n) };
    },
  };
}

/** add(a, b) = a + b elementwise, NumPy broadcasting; dtypes must match. Language `a + b`. */
export const add = binary("add", "Elementwise sum with broadcasting", (x, y) => x + y);

/** mul(a, b) = a * b elementwise, NumPy broadcasting; dtypes must match. Language `a * b`. */
export const mul = binary("mul", "Elementwise product with broadcasting", (x, y) => x * y);

/** All binary elementwise ops. */
export const ELEMENTWISE_OPS: OpDef[] = [add, mul];
