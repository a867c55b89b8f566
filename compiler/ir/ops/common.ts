// Shared checks and small helpers of the op table (rank/dtype checks, int pairs, cost of
// elementwise ops). Neighbours: ops/def.ts (errors), ops/*.ts (each op family uses these).

import type { AttrValue, Dim, RefTensor, TensorType } from "../types.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import { elementsPerSample, showShape } from "../graph.js";

/** Throw OpDTypeError unless input `i` is f32 (all v1 float ops). */
export function requireFloat(op: string, t: TensorType, i = 0): void {
  if (t.dtype !== "f32") throw new OpDTypeError(`${op}: expected an f32 input, got ${t.dtype}`, undefined, i);
}

/** Throw OpTypeError unless `t` has exactly `rank` dims; `what` describes the layout ("[N, C, H, W]"). */
export function requireRank(op: string, t: TensorType, rank: number, what: string, i = 0): void {
  if (t.shape.length !== rank)
    throw new OpTypeError(`${op}: expected a rank-${rank} input ${what}, got ${showShape(t.shape)}`, undefined, i);
}

/** A dim that must be static (not the batch dim). */
export function staticDim(op: string, t: TensorType, axis: number, i = 0): number {
  const d = t.shape[axis];
  if (typeof d !== "number")
    throw new OpTypeError(`${op}: axis ${axis} of ${showShape(t.shape)} must be static, not the batch dim`, undefined, i);
  return d;
}

/** Integer or [a, b] argument → [a, b]; checks each is an integer >= `min`. Errors: OpArgError. */
export function intPair(op: string, arg: string, v: AttrValue | undefined, min: number): [number, number] {
  let pair: number[];
  if (typeof v === "number") pair = [v, v];
  else if (Array.isArray(v) && v.length === 2) pair = v;
  else throw new OpArgError(`${op}: ${arg} must be an int or a list of 2 ints, got ${JSON.stringify(v)}`, arg);
  for (const x of pair)
    if (!Number.isInteger(x) || x < min)
      throw new OpArgError(`${op}: ${arg} must be ${min === 0 ? "non-negative" : `>= ${min}`}, got ${JSON.stringify(v)}`, arg);
  return [pair[0]!, pair[1]!];
}

/** Normalize an axis against `rank` (negative counts from the end); the batch axis 0 is refused. */
export function normAxis(op: string, arg: string, axis: number, rank: number, shape: readonly Dim[]): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank)
    throw new OpArgError(`${op}: ${arg} ${axis} is out of range for ${showShape(shape)}`, arg);
  if (a === 0) throw new OpArgError(`${op}: ${arg} ${axis} is the batch axis`, arg, "use an axis >= 1");
  return a;
}

/** Strides of a row-major concrete shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** A fresh zero tensor. */
export function zeros(shape: number[]): RefTensor {
  let n = 1;
  for (const d of shape) n *= d;
  return { shape, data: new Float64Array(n) };
}

/** Cost of an op that touches each of `reads` inputs and one output once per element. */
export function elementwiseCost(t: TensorType, batch: number, flopsPerElem: number, reads = 1): { flops: number; bytes: number } {
  const n = elementsPerSample(t) * batch;
  return { flops: n * flopsPerElem, bytes: n * 4 * (reads + 1) };
}

/** Elements of a type at a concrete batch (params have no "N"). */
export function countAt(t: TensorType, batch: number): number {
  let n = 1;
  for (const d of t.shape) n *= d === "N" ? batch : d;
  return n;
}
