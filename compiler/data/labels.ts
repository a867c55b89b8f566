// Label and dtype transforms on dataset fields: one-hot <-> class index, f32 <-> i32.
// Neighbours: data/dataset.ts (Field); data/sources.ts produces the fields these convert.

import { type Field, fieldCount, sampleSize, shapeText } from "./dataset.js";

/**
 * One-hot encode class ids: an i32 field of per-sample shape `[]` or `[1]` becomes an f32 field of
 * shape `[numClasses]` (1 at the id, 0 elsewhere; PyTorch `F.one_hot(...).float()`).
 * Errors: an f32 or non-scalar field; numClasses not a positive integer; an id outside
 * [0, numClasses) — the message names the first bad sample index and its value.
 */
export function oneHot(field: Field, numClasses: number): Field {
  if (field.dtype !== "i32") throw new Error(`oneHot: class ids must be an i32 field, got ${field.dtype} (convert with toI32)`);
  if (sampleSize(field) !== 1) throw new Error(`oneHot: class ids must be one value per sample, got per-sample shape ${shapeText(field.shape)}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  const ids = field.data;
  const out = new Float32Array(ids.length * numClasses);
  for (let i = 0; i < ids.length; i++) {
    const c = ids[i]!;
    if (c < 0 || c >= numClasses) throw new Error(`oneHot: sample ${i} has class id ${c}, outside [0, ${numClasses})`);
    out[i * numClasses + c] = 1;
  }
  return { dtype: "f32", shape: [numClasses], data: out };
}

/**
 * Class index per sample from scores or one-hot rows: a field of per-sample shape `[k]` (k >= 1,
 * f32 or i32) becomes an i32 field of shape `[]`; ties go to the first maximum (like torch.argmax).
 * NaN never wins. Errors: a per-sample shape that is not 1-D or is empty.
 */
export function argmaxField(field: Field): Field {
  if (field.shape.length !== 1 || field.shape[0]! < 1)
    throw new Error(`argmaxField: expects a per-sample shape [k] with k >= 1, got ${shapeText(field.shape)}`);
  const k = field.shape[0]!;
  const n = fieldCount(field);
  const out = new Int32Array(n);
  const d = field.data;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < k; j++) {
      const v = d[i * k + j]!;
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return { dtype: "i32", shape: [], data: out };
}

/**
 * The field as f32 (each value times `scale`, default 1; e.g. `toF32(u8Pixels, 1 / 255)`).
 * An f32 field with scale 1 is returned as is (not copied). Integers above 2^24 round to the
 * nearest f32.
 */
export function toF32(field: Field, scale = 1): Field {
  if (field.dtype === "f32" && scale === 1) return field;
  const out = new Float32Array(field.data.length);
  const d = field.data;
  for (let i = 0; i < d.length; i++) out[i] = d[i]! * scale;
  return { dtype: "f32", shape: [...field.shape], data: out };
}

/**
 * The field as i32. An i32 field is returned as is. f32 values must be integers within the i32
 * range (no silent truncation). Errors: the first non-integer or out-of-range element, by its
 * sample index, element offset within the sample, and value.
 */
export function toI32(field: Field): Field {
  if (field.dtype === "i32") return field;
  const out = new Int32Array(field.data.length);
  const d = field.data;
  const size = Math.max(1, sampleSize(field));
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      const where = sampleSize(field) === 1 ? `sample ${i}` : `sample ${Math.floor(i / size)}, element ${i % size}`;
      throw new Error(`toI32: ${where} is ${v}, not an integer in the i32 range`);
    }
    out[i] = v;
  }
  return { dtype: "i32", shape: [...field.shape], data: out };
}
