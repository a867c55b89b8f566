// dense: the fully connected layer (PyTorch nn.Linear), y = x W^T + b over the last axis.
// Neighbours: ops/def.ts, ops/index.ts; attrs contract in ir/attrs.ts (DenseAttrs).

import type { OpDef } from "./def.js";
import { OpArgError, OpTypeError } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, requireFloat } from "./common.js";

/**
 * dense(units, bias=true). Inputs [x [N, ..., in], weight [units, in], bias? [units]] -> [N, ..., units], f32.
 * Attrs { units, bias }. Params "weight" [units, in], "bias" [units], both U(-1/sqrt(in), 1/sqrt(in))
 * (PyTorch nn.Linear default init). Errors: units < 1 (OpArgError), rank-1 input, mismatched weight.
 */
export const dense: OpDef = {
  name: "dense",
  doc: "Fully connected layer, y = x W^T + b over the last axis",
  semantics: "PyTorch torch.nn.Linear",
  arity: 1,
  args: [
    { name: "units", kind: "int", doc: "output features (PyTorch out_features)" },
    { name: "bias", kind: "bool", default: true, doc: "add a learned bias" },
  ],
  normalize: (a) => {
    const units = a["units"] as number;
    if (!Number.isInteger(units) || units < 1) throw new OpArgError(`dense: units must be >= 1, got ${units}`, "units");
    return { units, bias: a["bias"] as boolean };
  },
  params: (inputs, attrs) => {
    const x = inputs[0]!;
    const inF = x.shape[x.shape.length - 1];
    if (x.shape.length < 2 || typeof inF !== "number")
      throw new OpTypeError(`dense: expected an input [N, ..., features], got ${showShape(x.shape)}`);
    const units = attrs["units"] as number;
    const bound = 1 / Math.sqrt(inF);
    const init = { kind: "uniform" as const, low: -bound, high: bound };
    const ps = [{ suffix: "weight", shape: [units, inF], kind: "param" as const, init }];
    if (attrs["bias"]) ps.push({ suffix: "bias", shape: [units], kind: "param" as const, init });
    return ps;
  },
  infer: (inputs: TensorType[], attrs) => {
    const [x, w, b] = inputs as [TensorType, TensorType | undefined, TensorType | undefined];
    requireFloat("dense", x);
    const inF = x.shape[x.shape.length - 1];
    if (x.shape.length < 2 || typeof inF !== "number")
      throw new OpTypeError(`dense: expected an input [N, ..., features], got ${showShape(x.shape)}`);
    const units = attrs["units"] as number;
    if (!w || w.shape.length !== 2 || w.shape[0] !== units || w.shape[1] !== inF)
      throw new OpTypeError(
        `dense: weight ${w ? showShape(w.shape) : "missing"} does not match input ${showShape(x.shape)} and units ${units} (expected [${units}, ${inF}])`,
        undefined,
        1,
      );
    if (attrs["bias"] && (!b || b.shape.length !== 1 || b.shape[0] !== units))
      throw new OpTypeError(`dense: bias ${b ? showShape(b.shape) : "missing"} does not match units ${units}`, undefined, 2);
    if (!attrs["bias"] && b) throw new OpTypeError("dense: bias given but attrs.bias is false", undefined, 2);
    return [{ dtype: "f32", shape: [...x.shape.slice(0, -1), units] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, w, b] = inputs as [RefTensor, RefTensor, RefTensor | undefined];
    const units = attrs["units"] as number;
    const inF = x.shape[x.shape.length - 1]!;
    const rows = x.data.length / inF;
    const out = new Float64Array(rows * units);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < units; o++) {
        let s = b ? b.data[o]! : 0;
        for (let i = 0; i < inF; i++) s += x.data[r * inF + i]! * w.data[o * inF + i]!;
        out[r * units + o] = s;
      }
    return [{ shape: [...x.shape.slice(0, -1), units], data: out }];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const outN = countAt(outputs[0]!, batch);
    const inF = inputs[0]!.shape[inputs[0]!.shape.length - 1] as number;
    const paramN = inputs.slice(1).reduce((s, t) => s + countAt(t, batch), 0);
    return {
      flops: outN * inF * 2 + (attrs["bias"] ? outN : 0),
      bytes: 4 * (countAt(inputs[0]!, batch) + paramN + outN),
    };
  },
};
