// Mini-batches: gather samples in a given order into preallocated per-field buffers.
// Neighbours: data/split.ts (epochOrder gives the order), data/augment.ts (transforms a batch in place); the wasm train step reads the buffers.

import { type Dataset, type Field, type FieldData, fieldOf, sampleSize, shapeText } from "./dataset.js";

/**
 * One batch. `fields[name]` holds `batch * prod(shape)` elements of that field, sample-major.
 * The object, its `fields` record and the arrays are reused: the next iteration overwrites them,
 * so copy anything that must outlive the loop body.
 */
export interface Batch {
  /** Samples in this batch (batchSize, or fewer for the last one when dropLast is "keep"). */
  batch: number;
  /** Batch number within this pass, from 0. */
  index: number;
  /** Position in `order` of this batch's first sample. */
  start: number;
  /** Dataset indices of this batch's samples (a reused buffer, `batch` long), e.g. for per-sample augmentation seeds. */
  samples: Int32Array;
  fields: Record<string, FieldData>;
}

/** Options of batches. */
export interface BatchOptions {
  /** Drop a final batch smaller than batchSize (PyTorch DataLoader drop_last). Default false. */
  dropLast?: boolean;
  /** Fields to gather, in this order. Default: all fields of the dataset. */
  fields?: readonly string[];
  /** Buffers from an earlier call (same dataset fields and batch size) to reuse across epochs. */
  buffers?: BatchBuffers;
}

/**
 * Preallocated buffers for batches of up to `batchSize` samples: one Float32Array/Int32Array per
 * field, `batchSize * prod(shape)` long. Allocate once and pass to batches() every epoch; they also
 * serve any dataset with the same field dtypes and per-sample shapes (e.g. train and validation
 * parts of one split). Errors: batchSize not a positive integer; an unknown field name (fieldOf's message).
 */
export class BatchBuffers {
  readonly batchSize: number;
  readonly names: readonly string[];
  /** Full-size buffer per field. */
  readonly full: Record<string, FieldData>;
  private readonly layout: Pick<Field, "dtype" | "shape">[];
  private readonly sizes: number[];
  private sources: FieldData[] = [];
  /** Dataset indices of the last filled batch; `batch` long (a view for a short batch). */
  samples: Int32Array;
  private readonly fullSamples: Int32Array;
  private tail: Record<string, FieldData> | undefined;
  private tailSamples: Int32Array | undefined;
  private tailLength = -1;

  constructor(ds: Dataset, batchSize: number, names: readonly string[] = Object.keys(ds.fields)) {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
    this.batchSize = batchSize;
    this.names = [...names];
    this.layout = this.names.map((n) => {
      const f = fieldOf(ds, n);
      return { dtype: f.dtype, shape: [...f.shape] };
    });
    this.sizes = this.layout.map(sampleSize);
    this.full = {};
    this.fullSamples = this.samples = new Int32Array(batchSize);
    this.names.forEach((n, k) => {
      const len = batchSize * this.sizes[k]!;
      this.full[n] = this.layout[k]!.dtype === "f32" ? new Float32Array(len) : new Int32Array(len);
    });
    this.use(ds);
  }

  /**
   * Gather from `ds` from now on. Errors: a missing field (fieldOf's message); a field whose dtype
   * or per-sample shape differs from the buffers' (both named).
   */
  use(ds: Dataset): void {
    this.sources = this.names.map((n, k) => {
      const f = fieldOf(ds, n);
      const want = this.layout[k]!;
      if (f.dtype !== want.dtype || shapeText(f.shape) !== shapeText(want.shape))
        throw new Error(`batches: field '${n}' is ${f.dtype} ${shapeText(f.shape)}, but the buffers hold ${want.dtype} ${shapeText(want.shape)}`);
      return f.data;
    });
  }

  /**
   * Copy samples `order[start .. start + n)` of the dataset (last passed to use()) into the buffers and return the field
   * record to use: the full buffers when n === batchSize, else views of their first n samples
   * (created once per distinct n); `samples` is set to the n indices. Indices are not checked
   * here (batches() checks the whole order once).
   */
  fill(order: ArrayLike<number>, start: number, n: number): Record<string, FieldData> {
    for (let j = 0; j < n; j++) this.fullSamples[j] = order[start + j]!;
    for (let k = 0; k < this.names.length; k++) gather(this.sources[k]!, this.full[this.names[k]!]!, this.sizes[k]!, order, start, n);
    if (n === this.batchSize) {
      this.samples = this.fullSamples;
      return this.full;
    }
    if (this.tailLength !== n || this.tail === undefined || this.tailSamples === undefined) {
      const tail: Record<string, FieldData> = {};
      this.names.forEach((name, k) => (tail[name] = this.full[name]!.subarray(0, n * this.sizes[k]!)));
      this.tail = tail;
      this.tailSamples = this.fullSamples.subarray(0, n);
      this.tailLength = n;
    }
    this.samples = this.tailSamples;
    return this.tail;
  }
}

/**
 * Iterate over `order` (dataset indices, e.g. from epochOrder) in batches of `batchSize`, copying
 * each batch's samples of every chosen field into reused buffers (no allocation per batch in
 * steady state; see Batch for the reuse contract). The last batch is smaller unless `dropLast`.
 * Errors (thrown on the first next()): as BatchBuffers; buffers whose batch size or field names
 * differ from the request, or whose dtypes/shapes differ from ds's; an index in `order` outside
 * [0, ds.count) (the whole order is checked before the first batch).
 */
export function* batches(ds: Dataset, order: Int32Array, batchSize: number, options: BatchOptions = {}): Generator<Batch, void, undefined> {
  const names = options.fields ?? Object.keys(ds.fields);
  const buffers = options.buffers ?? new BatchBuffers(ds, batchSize, names);
  if (buffers.batchSize !== batchSize || buffers.names.join("\0") !== names.join("\0"))
    throw new Error(
      `batches: the given buffers are for batch size ${buffers.batchSize} and fields [${buffers.names.join(", ")}], ` +
        `not ${batchSize} and [${names.join(", ")}]`,
    );
  buffers.use(ds);
  for (let i = 0; i < order.length; i++) {
    const s = order[i]!;
    if (s < 0 || s >= ds.count) throw new Error(`batches: order[${i}] = ${s} is outside the dataset [0, ${ds.count})`);
  }
  const out: Batch = { batch: 0, index: 0, start: 0, samples: buffers.samples, fields: buffers.full };
  let index = 0;
  for (let start = 0; start < order.length; start += batchSize, index++) {
    const n = Math.min(batchSize, order.length - start);
    if (n < batchSize && options.dropLast === true) return;
    out.fields = buffers.fill(order, start, n);
    out.batch = n;
    out.index = index;
    out.start = start;
    out.samples = buffers.samples;
    yield out;
  }
}

/**
 * Copy samples order[start .. start + n) of `src` (sample size `size`) into `dst` from offset 0.
 * A plain loop (no subarray views) keeps it allocation-free.
 */
function gather(src: FieldData, dst: FieldData, size: number, order: ArrayLike<number>, start: number, n: number): void {
  if (size === 1) {
    for (let j = 0; j < n; j++) dst[j] = src[order[start + j]!]!;
    return;
  }
  for (let j = 0; j < n; j++) {
    const from = order[start + j]! * size;
    const to = j * size;
    for (let e = 0; e < size; e++) dst[to + e] = src[from + e]!;
  }
}
