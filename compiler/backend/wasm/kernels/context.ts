// What a kernel sees while emitting one node: the node, its function builder, addresses of its
// values, static shapes, and the weights region (to add compile-time derived data). Built by emit.ts;
// used by every kernels/*.ts.

import type { Graph, Node, TensorType } from "../../../ir/types.js";
import type { Expr, Fn } from "../module.js";
import type { WeightLayout } from "../../../../runtime/manifest.js";

/** Emission context of one node. All pointers are byte addresses (i32 expressions, cheap to repeat). */
export interface KernelCtx {
  g: Graph;
  node: Node;
  f: Fn;
  /** The run-time batch size (the function's i32 parameter). */
  batch(): Expr;
  /** Byte address of value `id` (activation: activationBase + offsetPerSample * batch; param/const: absolute). */
  ptr(id: string): Expr;
  /** Absolute byte offset of a param/state/const value in the weights region. */
  weightOffset(id: string): number;
  /** Original f32 data of a param/state/const value (for compile-time derived data). */
  weightData(id: string): Float32Array;
  /**
   * How param `id` is stored in the weights region when not row-major (inference modules: dense weights in
   * GEMM panels, see kernels/dense.ts denseWeightLayouts); undefined: row-major. Absent in training modules.
   */
  weightLayout?(id: string): WeightLayout | undefined;
  /** Append internal derived f32 data (16-aligned) to the weights region; returns its absolute offset. */
  addDerived(key: string, data: Float32Array): number;
  /** True when value `id` shares its buffer with its producer's input (plan.ts aliasing). */
  aliased(id: string): boolean;
  /** Byte address of the batch-independent scratch region (im2col). */
  scratch(): Expr;
}

/** Type of value `id`. */
export function typeOf(ctx: KernelCtx, id: string): TensorType {
  return ctx.g.values[id]!.type;
}

/** Static per-sample dims of an activation (drops a leading "N"); params: all dims. */
export function sampleDims(ctx: KernelCtx, id: string): number[] {
  const s = typeOf(ctx, id).shape;
  return (s[0] === "N" ? s.slice(1) : s) as number[];
}

/** Product of dims. */
export function prod(d: readonly number[]): number {
  return d.reduce((a, b) => a * b, 1);
}

/** A kernel: statements of the node's function. */
export type Kernel = (ctx: KernelCtx) => Expr[];
