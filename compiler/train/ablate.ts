// Input ablation for `modelc train --ablate NAME[,NAME]`: the data fields feeding the named model inputs are
// replaced by zeros (training, validation and test alike), so a model trains and is evaluated without that
// modality. Neighbours: cli/train.ts applies it after loading the data; scripts/vqa-ablation.ts uses it.

import type { Graph } from "../ir/types.js";
import { type Dataset, fieldOf, withFields } from "../data/dataset.js";
import type { TrainSpec } from "./spec.js";

/** An --ablate name that is not a model input. */
export class AblateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AblateError";
  }
}

/**
 * `data` with the field of each model input in `inputs` (the field is `spec.data.fields[name] ?? name`)
 * replaced by zeros of the same dtype and per-sample shape: an f32 image becomes black, i32 token ids become
 * all padding (id 0). Other fields are shared, not copied. Errors: AblateError for a name that is not a model
 * input (lists the inputs); the data set's own error for a missing field.
 */
export function ablateInputs(data: Dataset, graph: Graph, spec: Pick<TrainSpec, "data">, inputs: readonly string[]): Dataset {
  const names = graph.inputs.map((i) => i.name);
  const zeroed: Dataset["fields"] = {};
  for (const name of inputs) {
    if (!names.includes(name)) throw new AblateError(`--ablate: '${name}' is not an input of model '${graph.name}' (inputs: ${names.join(", ")})`);
    const field = spec.data.fields[name] ?? name;
    const f = fieldOf(data, field);
    zeroed[field] = { dtype: f.dtype, shape: [...f.shape], data: f.dtype === "f32" ? new Float32Array(f.data.length) : new Int32Array(f.data.length) };
  }
  return withFields(data, zeroed);
}
