// Normalization ops: batchnorm (inference form over the channel axis), layernorm (last axis).
// Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts; weights/init.ts fills its params.

import type { OpDef } from "./def.js";
import { OpArgError, OpTypeError } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { elementwiseCost, requireFloat, staticDim } from "./common.js";

/**
 * batchnorm(eps=1e-5, momentum=0.1), inference form: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
 * per channel (axis 1). Inputs [x [N, C, ...], weight [C], bias [C], running_mean [C], running_var [C]].
 * Params "weight" ones, "bias" zeros (param); "running_mean" zeros, "running_var" ones (state)
 * (PyTorch nn.BatchNorm1d/2d; num_batches_tracked is not modelled). Attrs { eps, momentum }.
 * Errors: eps <= 0 or momentum outside [0, 1] → OpArgError; rank < 2 → OpTypeError.
 */
export const batchnorm: OpDef = {
  name: "batchnorm",
  doc: "Batch normalization over the channel axis (inference uses the running statistics)",
  semantics: "PyTorch torch.nn.BatchNorm1d / BatchNorm2d (eval mode)",
  arity: 1,
  args: [
    { name: "eps", kind: "float", default: 1e-5, doc: "added to the variance" },
    { name: "momentum", kind: "float", default: 0.1, doc: "running statistics update factor (training)" },
  ],
  normalize: (a) => {
    const eps = a["eps"] as number;
    const momentum = a["momentum"] as number;
    if (!(eps > 0)) throw new OpArgError(`batchnorm: eps must be > 0, got ${eps}`, "eps");
    if (!(momentum >= 0 && momentum <= 1)) throw new OpArgError(`batchnorm: momentum must be in [0, 1], got ${momentum}`, "momentum");
    return { eps, momentum };
  },
  params: (inputs) => {
    const x = inputs[0]!;
    if (x.shape.length < 2) throw new OpTypeError(`batchnorm: expected an input [N, C, ...], got ${showShape(x.shape)}`);
    const C = staticDim("batchnorm", x, 1);
    return [
      { suffix: "weight", shape: [C], kind: "param", init: { kind: "ones" } },
      { suffix: "bias", shape: [C], kind: "param", init: { kind: "zeros" } },
      { suffix: "running_mean", shape: [C], kind: "state", init: { kind: "zeros" } },
      { suffix: "running_var", shape: [C], kind: "state", init: { kind: "ones" } },
    ];
  },
  infer: (inputs) => {
    const x = inputs[0]!;
    requireFloat("batchnorm", x);
    if (x.shape.length < 2) throw new OpTypeError(`batchnorm: expected an input [N, C, ...], got ${showShape(x.shape)}`);
    const C = staticDim("batchnorm", x, 1);
    for (let i = 1; i <= 4; i++) {
      const p = inputs[i];
      if (!p || p.shape.length !== 1 || p.shape[0] !== C)
        throw new OpTypeError(
          `batchnorm: parameter ${i} ${p ? showShape(p.shape) : "missing"} does not match ${C} channels of ${showShape(x.shape)}`,
          undefined,
          i,
        );
    }
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, w, b, mean, v] = inputs as [RefTensor, RefTensor, RefTensor, RefTensor, RefTensor];
    const eps = attrs["eps"] as number;
    const C = x.shape[1]!;
    let inner = 1;
    for (const d of x.shape.slice(2)) inner *= d;
    const out = new Float64Array(x.data.length);
    for (let k = 0; k < x.data.length; k++) {
      const c = Math.floor(k / inner) % C;
      out[k] = ((x.data[k]! - mean.data[c]!) / Math.sqrt(v.data[c]! + eps)) * w.data[c]! + b.data[c]!;
    }
    return [{ shape: [...x.shape], data: out }];
  },
  cost: (inputs, _outputs, _attrs, batch) => {
    const c = elementwiseCost(inputs[0]!, batch, 2);
    return { flops: c.flops, bytes: c.bytes + 16 * (inputs[1]!.shape[0] as number) };
  },
};

/** Rows of the last axis of an [N, ..., D] tensor: D and the row count. */
export function lastAxisRows(x: RefTensor): { D: number; rows: number } {
  const D = x.shape[x.shape.length - 1]!;
  return { D, rows: D === 0 ? 0 : x.data.length / D };
}

/** Two-pass (mean, then mean of squared deviations) biased statistics of row r of length D. */
export function rowStats(data: ArrayLike<number>, r: number, D: number): { mean: number; v: number } {
  let s = 0;
  for (let j = 0; j < D; j++) s += data[r * D + j]!;
  const mean = s / D;
  let q = 0;
  for (let j = 0; j < D; j++) {
    const d = data[r * D + j]! - mean;
    q += d * d;
  }
  return { mean, v: q / D };
}

/** Last-axis size D of layernorm's input (rank >= 2, D static). */
function layernormInfer(inputs: readonly TensorType[]): number {
  const x = inputs[0]!;
  if (x.shape.length < 2) throw new OpTypeError(`layernorm: expected an input [N, ..., D], got ${showShape(x.shape)}`);
  return staticDim("layernorm", x, x.shape.length - 1);
}

/**
 * layernorm(eps=1e-5): y = (x - mean) / sqrt(var + eps) * weight + bias over the LAST axis (D), with the
 * biased variance computed in two passes. Inputs [x [N, ..., D], weight [D], bias [D]]. Params "weight"
 * ones, "bias" zeros (PyTorch nn.LayerNorm(D), elementwise_affine=True). Attrs { eps }. Same in training
 * and inference. Errors: eps <= 0 → OpArgError; rank < 2 → OpTypeError.
 */
export const layernorm: OpDef = {
  name: "layernorm",
  doc: "Layer normalization over the last axis",
  semantics: "PyTorch torch.nn.LayerNorm(normalized_shape=last dim)",
  arity: 1,
  args: [{ name: "eps", kind: "float", default: 1e-5, doc: "added to the variance" }],
  normalize: (a) => {
    const eps = a["eps"] as number;
    if (!(eps > 0)) throw new OpArgError(`layernorm: eps must be > 0, got ${eps}`, "eps");
    return { eps };
  },
  params: (inputs) => {
    const D = layernormInfer(inputs);
    return [
      { suffix: "weight", shape: [D], kind: "param", init: { kind: "ones" } },
      { suffix: "bias", shape: [D], kind: "param", init: { kind: "zeros" } },
    ];
  },
  infer: (inputs) => {
    const x = inputs[0]!;
    requireFloat("layernorm", x);
    const D = layernormInfer(inputs);
    for (let i = 1; i <= 2; i++) {
      const p = inputs[i];
      if (!p || p.shape.length !== 1 || p.shape[0] !== D)
        throw new OpTypeError(
          `layernorm: parameter ${i} ${p ? showShape(p.shape) : "missing"} does not match the last axis ${D} of ${showShape(x.shape)}`,
          undefined,
          i,
        );
    }
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, w, b] = inputs as [RefTensor, RefTensor, RefTensor];
    const eps = attrs["eps"] as number;
    const { D, rows } = lastAxisRows(x);
    const out = new Float64Array(x.data.length);
    for (let r = 0; r < rows; r++) {
      const { mean, v } = rowStats(x.data, r, D);
      const inv = 1 / Math.sqrt(v + eps);
      for (let j = 0; j < D; j++) out[r * D + j] = (x.data[r * D + j]! - mean) * inv * w.data[j]! + b.data[j]!;
    }
    return [{ shape: [...x.shape], data: out }];
  },
  cost: (inputs, _outputs, _attrs, batch) => {
    const c = elementwiseCost(inputs[0]!, batch, 8);
    return { flops: c.flops, bytes: c.bytes + 8 * (inputs[1]!.shape[0] as number) };
  },
};

/** Normalization ops. */
export const NORM_OPS: OpDef[] = [batchnorm, layernorm];
