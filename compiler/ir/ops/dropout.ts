// dropout: identity at inference, trainOnly (passes/remove-dropout.ts deletes it from inference graphs).
// Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts.

import type { OpDef } from "./def.js";
import { OpArgError } from "./def.js";
import type { RefTensor } from "../types.js";
import { countAt } from "./common.js";

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
