// Normalization ops: batchnorm (inference form over the channel axis).
// Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts; weights/init.ts fills its params.

import type { OpDef } from "./def.js";
import { OpArgError, OpTypeError } from "./def.js";
import type { RefTensor } from "../types.js";
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

/** Normalization ops. */
export const NORM_OPS: OpDef[] = [batchnorm];
