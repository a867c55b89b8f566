// softmax: numerically stable normalized exponential along one (non-batch) axis.
// Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { RefTensor } from "../types.js";
import { showShape } from "../graph.js";
import { elementwiseCost, normAxis, requireFloat } from "./common.js";

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
