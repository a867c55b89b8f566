// Dataset: named per-sample fields (f32/i32 tensors, sample-major) that every data source produces.
// Neighbours: data/sources.ts and data/mnist.ts build them; labels.ts, split.ts, batches.ts, augment.ts consume them.

/** Element type of a field: f32 for features/targets, i32 for class ids and other integers. */
export type FieldDType = "f32" | "i32";

/** Data array of a field: Float32Array for "f32", Int32Array for "i32". */
export type FieldData = Float32Array | Int32Array;

/**
 * One named tensor with a leading sample dimension. `shape` is the per-sample shape (`[]` for a
 * scalar per sample, `[1, 28, 28]` for an MNIST image); `data` holds `count * prod(shape)`
 * elements, row-major and sample-major (sample i occupies `[i * size, (i + 1) * size)`).
 */
export interface Field {
  dtype: FieldDType;
  shape: number[];
  data: FieldData;
}

/** `count` samples, each with one entry in every field. */
export interface Dataset {
  count: number;
  fields: Record<string, Field>;
}

/** Elements per sample of a field (product of its per-sample shape; 1 for a scalar). */
export function sampleSize(field: Pick<Field, "shape">): number {
  let n = 1;
  for (const d of field.shape) n *= d;
  return n;
}

/** Format a per-sample shape for messages: `[]`, `[1, 28, 28]`. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** The dtype implied by a data array. */
export function dtypeOf(data: FieldData): FieldDType {
  return data instanceof Float32Array ? "f32" : "i32";
}

/**
 * Build a field, checking that `data` matches `dtype` and holds a whole number of samples.
 * Errors: dtype/array mismatch; a negative or non-integer dim; data length not a multiple of the
 * per-sample size (message names the field when `name` is given).
 */
export function makeField(dtype: FieldDType, shape: number[], data: FieldData, name = "field"): Field {
  if (dtypeOf(data) !== dtype) throw new Error(`${name}: dtype ${dtype} disagrees with its data (${data.constructor.name})`);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${name}: bad per-sample shape ${shapeText(shape)}`);
  const size = sampleSize({ shape });
  if (size === 0 ? data.length !== 0 : data.length % size !== 0)
    throw new Error(`${name}: ${data.length} elements are not a whole number of samples of shape ${shapeText(shape)}`);
  return { dtype, shape: [...shape], data };
}

/** Samples held by a field (`data.length / prod(shape)`; 0 for an empty per-sample shape). */
export function fieldCount(field: Field): number {
  const size = sampleSize(field);
  return size === 0 ? 0 : field.data.length / size;
}

/**
 * Make a dataset from fields, checking they all hold the same number of samples. `count` is
 * needed only when there are no fields (otherwise it is taken from them, and checked if given).
 * Errors: one message naming every field with its sample count when they disagree, e.g.
 * "fields disagree on the sample count: image 100, label 99"; `source` prefixes messages.
 */
export function makeDataset(fields: Record<string, Field>, count?: number, source = "dataset"): Dataset {
  const names = Object.keys(fields);
  const counts = names.map((n) => fieldCount(fields[n]!));
  const all = count === undefined ? counts : [count, ...counts];
  if (all.length > 0 && all.some((c) => c !== all[0])) {
    const list = names.map((n, i) => `${n} ${counts[i]}`).join(", ");
    const expect = count === undefined ? "" : ` (expected ${count})`;
    throw new Error(`${source}: fields disagree on the sample count${expect}: ${list}`);
  }
  return { count: all[0] ?? 0, fields: { ...fields } };
}

/**
 * The field called `name`. Errors: no such field, with the list of available fields and their
 * dtypes and shapes, e.g. "no field 'lbl'; available: image f32 [1, 28, 28], label i32 []".
 */
export function fieldOf(ds: Dataset, name: string): Field {
  const f = Object.prototype.hasOwnProperty.call(ds.fields, name) ? ds.fields[name] : undefined;
  if (f === undefined) {
    const avail = Object.entries(ds.fields).map(([n, fl]) => `${n} ${fl.dtype} ${shapeText(fl.shape)}`);
    throw new Error(`no field '${name}'; available: ${avail.length > 0 ? avail.join(", ") : "(none)"}`);
  }
  return f;
}

/**
 * A new dataset with the listed samples (in the given order; repeats allowed), every field copied.
 * `indices` are sample numbers in [0, ds.count). Errors: an index that is not an integer in range
 * (message names its position and value).
 */
export function selectSamples(ds: Dataset, indices: ArrayLike<number>): Dataset {
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.count)
      throw new Error(`selectSamples: indices[${j}] = ${i} is out of range [0, ${ds.count})`);
  }
  const fields: Record<string, Field> = {};
  for (const [name, f] of Object.entries(ds.fields)) {
    const size = sampleSize(f);
    const out = f.dtype === "f32" ? new Float32Array(indices.length * size) : new Int32Array(indices.length * size);
    for (let j = 0; j < indices.length; j++) {
      const base = indices[j]! * size;
      out.set(f.data.subarray(base, base + size), j * size);
    }
    fields[name] = { dtype: f.dtype, shape: [...f.shape], data: out };
  }
  return { count: indices.length, fields };
}

/**
 * A dataset with some fields added or replaced (the others are shared, not copied). Errors: a new
 * field whose sample count differs from the dataset's (same message as makeDataset).
 */
export function withFields(ds: Dataset, fields: Record<string, Field>): Dataset {
  return makeDataset({ ...ds.fields, ...fields }, ds.count);
}

/** A dataset with only the named fields (shared, not copied). Errors: an unknown name (as fieldOf). */
export function pickFields(ds: Dataset, names: readonly string[]): Dataset {
  const fields: Record<string, Field> = {};
  for (const n of names) fields[n] = fieldOf(ds, n);
  return { count: ds.count, fields };
}
