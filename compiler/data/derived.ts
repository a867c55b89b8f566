// Derived i32 data fields of the train section (`field parity = relabel(label, [...])`, `mod`, `greater`),
// computed once on the whole data set before the split. Neighbours: train/spec.ts (TrainDerivedField),
// frontend/train-data.ts (checks them at compile time), cli/train.ts calls addDerivedFields.

import type { TrainDerivedField } from "../train/spec.js";
import { type Dataset, sampleSize, shapeText } from "./dataset.js";

/**
 * `ds` plus one i32 field (per-sample shape []) per derived field, in order (a later one may read an
 * earlier one). The source must be one value per sample (shape [] or [1]) of integers:
 * relabel = table[v] (v must be in [0, table.length)), mod = v mod divisor (Python's %, in [0, divisor)),
 * greater = v > threshold ? 1 : 0. `ds` is not modified (its fields are shared).
 * Errors (Error, naming the field, sample and value): unknown source field, a source with more than one
 * value per sample, a non-integer value, a relabel value outside the table.
 */
export function addDerivedFields(ds: Dataset, derived: readonly TrainDerivedField[] = []): Dataset {
  const fields = { ...ds.fields };
  for (const d of derived) {
    const src = fields[d.source];
    if (!src) throw new Error(`field '${d.name}': no data field '${d.source}' (fields: ${Object.keys(fields).join(", ")})`);
    if (sampleSize(src) !== 1) throw new Error(`field '${d.name}': source '${d.source}' has ${shapeText(src.shape)} values per sample; derived fields read one class index per sample`);
    const out = new Int32Array(ds.count);
    for (let i = 0; i < ds.count; i++) {
      const v = src.data[i]!;
      if (!Number.isInteger(v)) throw new Error(`field '${d.name}': '${d.source}' of sample ${i} is ${v}, not an integer class index`);
      if (d.op === "relabel") {
        if (v < 0 || v >= d.table.length)
          throw new Error(`field '${d.name}': '${d.source}' of sample ${i} is ${v}, outside the relabel table [0, ${d.table.length})`);
        out[i] = d.table[v]!;
      } else if (d.op === "mod") out[i] = ((v % d.divisor) + d.divisor) % d.divisor;
      else out[i] = v > d.threshold ? 1 : 0;
    }
    fields[d.name] = { dtype: "i32", shape: [], data: out };
  }
  return { count: ds.count, fields };
}
