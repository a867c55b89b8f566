// Elementwise activations: relu, sigmoid, tanh, leaky_relu, gelu. Neighbours: ops/def.ts, ops/index.ts.

import type { OpDef } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { elementsPerSample } from "../graph.js";

function unary(name: string, doc: string, semantics: string, f: (x: number) => number, flopsPerElem: number): OpDef {
  return {
    name,
    doc,
    semantics,
    arity: 1,
    args: [],
    infer: (inputs: TensorType[]) => [{ dtype: inputs[0]!.dtype, shape: [...inputs[0]!.shape] }],
    reference: (inputs: RefTensor[]) => [{ shape: [...inputs[0]!.shape], data: inputs[0]!.data.map(f) }],
    cost: (inputs, _outputs, _attrs, batch) => {
      const n = elementsPerSample(inputs[0]!) * batch;
      return { flops: n * flopsPerElem, bytes: n * 8 };
    },
  };
}

/** relu(x) = max(x, 0); gradient at exactly 0 is 0 (PyTorch torch.relu). Shapes: any -> same. */
export const relu = unary("relu", "Rectified linear unit, max(x, 0)", "PyTorch torch.nn.ReLU", (x) => (x > 0 ? x : 0), 1);
