// Normalization and regularization ops: batchnorm (inference form), softmax (stable), dropout
// (identity at inference, trainOnly). Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts.

import type { OpDef } from "./def.js";
import { OpArgError, OpTypeError } from "./def.js";
import type { RefTensor } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, elementwiseCost, normAxis, requireFloat, staticDim } from "./common.js";

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

/**
 * softmax(axis=-1): exp(x - max) / sum(exp(x - max)) along `axis` (never the batch axis), stable
 * (PyTorch torch.softmax). Any rank >= 2 -> same. Attrs { axis } normalized to >= 1.
 */
export const softmax: OpDef = {
  name: "softmax",
  doc: "Softmax along an axis (max-subtracted, numerically stable)",
  semantics: "PyTorch torch.nn.Softmax(dim)",
  arity: 1,
  args: [{ name: "axis", kind: "int", default: -1, doc: "axis to normalize (>= 1; negative counts from the end)" }],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    return { axis: normAxis("softmax", "axis", a["axis"] as number, x.shape.length, x.shape) };
  },
  infer: (inputs, attrs) => {
    const x = inputs[0]!;
    requireFloat("softmax", x);
    const axis = attrs["axis"] as number;
    if (axis < 1 || axis >= x.shape.length) throw new OpTypeError(`softmax: axis ${axis} is out of range for ${showShape(x.shape)}`);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const x = inputs[0]!;
    const axis = attrs["axis"] as number;
    const n = x.shape[axis]!;
    let inner = 1;
    for (const d of x.shape.slice(axis + 1)) inner *= d;
    const outer = x.data.length / (n * inner);
    const out = new Float64Array(x.data.length);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let m = -Infinity;
        for (let k = 0; k < n; k++) m = Math.max(m, x.data[base + k * inner]!);
        let s = 0;
        for (let k = 0; k < n; k++) {
          const e = Math.exp(x.data[base + k * inner]! - m);
          out[base + k * inner] = e;
          s += e;
        }
        for (let k = 0; k < n; k++) out[base + k * inner]! /= s;
      }
    return [{ shape: [...x.shape], data: out }];
  },
  cost: (inputs, _outputs, _attrs, batch) => elementwiseCost(inputs[0]!, batch, 5),
};

/**
 * dropout(p=0.5): identity at inference; in training zeroes with probability p and scales by 1/(1-p)
 * (PyTorch nn.Dropout). trainOnly: passes/remove-dropout deletes it from inference graphs.
 * Attrs { p }. Errors: p outside [0, 1] → OpArgError.
 */
export const dropout: OpDef = {
  name: "dropout",
  doc: "Dropout (identity at inference)",
  semantics: "PyTorch torch.nn.Dropout",
  arity: 1,
  args: [{ name: "p", kind: "float", default: 0.5, doc: "drop probability in [0, 1]" }],
  normalize: (a) => {
    const p = a["p"] as number;
    if (!(p >= 0 && p <= 1)) throw new OpArgError(`dropout: p must be in [0, 1], got ${p}`, "p");
    return { p };
  },
  infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: [...inputs[0]!.shape] }],
  reference: (inputs: RefTensor[]) => [{ shape: [...inputs[0]!.shape], data: inputs[0]!.data.slice() }],
  cost: (inputs, _outputs, _attrs, batch) => ({ flops: 0, bytes: 8 * countAt(inputs[0]!, batch) }),
  trainOnly: true,
};

/** Normalization/regularization ops. */
export const NORM_OPS: OpDef[] = [batchnorm, softmax, dropout];
