// Dataset sources: .npz, .npy files, safetensors and CSV read into a Dataset (f32/i32 fields).
// Neighbours: data/npy.ts and weights/safetensors.ts parse the bytes, data/dataset.ts checks counts; data/mnist.ts is the built-in set.

import { readFileSync } from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { unzipSync } from "fflate";
import { type NpyArray, readNpy } from "./npy.js";
import { type SafetensorsTensor, readSafetensors } from "../weights/safetensors.js";
import { type Dataset, type Field, makeDataset, shapeText } from "./dataset.js";

/**
 * Which arrays of a multi-array file become fields.
 * - `fields`: exactly these arrays (in this order); each must exist and have a leading dim.
 * - `count`: every array whose first dim equals `count`; others (e.g. a class-name table) are skipped.
 * - neither: every array with at least one dim; 0-d arrays (scalars such as `num_classes`) are skipped.
 * In every case the chosen arrays must agree on the sample count (first dim), else one error lists
 * each array with its first dim.
 */
export interface ArraySelection {
  fields?: readonly string[];
  count?: number;
}

/** An array as read from a file, before it becomes a field: full shape (sample dim first). */
interface RawArray {
  shape: number[];
  /** Converts to a field's data; called only for selected arrays (conversion errors name the array). */
  convert: () => { dtype: Field["dtype"]; data: Field["data"] };
}

/**
 * Read a NumPy .npz archive (`np.savez` / `np.savez_compressed`: a zip of NAME.npy members) as a
 * dataset: each selected array (see ArraySelection) becomes the field NAME with per-sample shape
 * `shape.slice(1)`. Conversions: f4 as is, f8 rounds to f32, i4 as is, i8 to i32 (range checked),
 * u1/i1/b1 widen to i32 (use toF32(field, 1 / 255) for byte images). Members not ending in .npy
 * are ignored. Errors (message starting "npz:"): not a zip, a bad member (the .npy error, with the
 * member name), an i8 value outside the i32 range (array, flat index, value), a missing `fields`
 * entry, arrays disagreeing on the sample count.
 */
export function readNpzDataset(bytes: Uint8Array, select: ArraySelection = {}): Dataset {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (e) {
    throw new Error(`npz: not a readable zip archive (${(e as Error).message})`);
  }
  const arrays = new Map<string, RawArray>();
  for (const [member, data] of Object.entries(members)) {
    if (!member.endsWith(".npy")) continue;
    const name = member.slice(0, -4);
    let arr: NpyArray;
    try {
      arr = readNpy(data);
    } catch (e) {
      throw new Error(`npz: member '${member}': ${(e as Error).message}`);
    }
    arrays.set(name, fromNpy(arr, `npz: array '${name}'`));
  }
  return selectArrays(arrays, select, "npz");
}

/**
 * Read one .npy file per field: `{ image: "x.npy", label: "y.npy" }` (a path, read with
 * readFileSync, or the file's bytes). The first dim of each array is the sample count and the rest
 * the per-sample shape; dtype conversions as readNpzDataset. Errors (message starting "npy:"): an
 * unreadable file or bad .npy (with the field name and path), a 0-d array, arrays disagreeing on
 * the sample count (each field with its count).
 */
export function readNpyFields(files: Record<string, string | Uint8Array>): Dataset {
  const arrays = new Map<string, RawArray>();
  for (const [name, src] of Object.entries(files)) {
    const where = typeof src === "string" ? `field '${name}' (${src})` : `field '${name}'`;
    let arr: NpyArray;
    try {
      arr = readNpy(typeof src === "string" ? readFileSync(src) : src);
    } catch (e) {
      throw new Error(`npy: ${where}: ${(e as Error).message}`);
    }
    arrays.set(name, fromNpy(arr, `npy: ${where}`));
  }
  return selectArrays(arrays, { fields: Object.keys(files) }, "npy");
}

/**
 * Read a safetensors file as a dataset: each selected tensor (see ArraySelection) becomes a field
 * named like the tensor with per-sample shape `shape.slice(1)`. Float dtypes arrive as f32; integer
 * and BOOL dtypes become i32 (I64/U64/U32 range checked). Errors: the safetensors parse errors, a
 * value outside the i32 range (tensor, flat index, value), a missing `fields` entry, tensors
 * disagreeing on the sample count (message starting "safetensors:").
 */
export function readSafetensorsDataset(bytes: Uint8Array, select: ArraySelection = {}): Dataset {
  const arrays = new Map<string, RawArray>();
  for (const [name, t] of readSafetensors(bytes)) arrays.set(name, fromSafetensors(t, `safetensors: tensor '${name}'`));
  return selectArrays(arrays, select, "safetensors");
}

/** Options of readCsvDataset. */
export interface CsvOptions {
  /** First row holds the column names. When false, columns are named "0", "1", ... */
  header: boolean;
  /** Columns packed, in this order, into the f32 field `features` [k]. Default: every column not used by `label` or `scalars`. */
  columns?: readonly string[];
  /** A column of integer class ids, read into an i32 field of per-sample shape [] named like the column. */
  label?: string;
  /** Columns read into their own f32 fields of per-sample shape [] (e.g. regression targets), named like the column. */
  scalars?: readonly string[];
  /** Field delimiter; default ",". */
  delimiter?: string;
}

/**
 * Read CSV text (RFC 4180 quoting, parsed by csv-parse; blank lines skipped; cells trimmed) as a
 * dataset with an f32 `features` field [k] (see CsvOptions.columns; omitted when k = 0), an i32
 * field for `label` and f32 fields for `scalars`. Numbers are parsed with JS `Number` (decimal,
 * exponent, hex); the result must be finite. Errors (message starting "csv:"): a malformed file
 * or ragged row (csv-parse's message, with its line), an unknown or duplicate column name (with the
 * available ones), a column used twice, an empty or non-numeric cell (data row number counted from
 * 1, file line, column name, cell text), a non-integer label.
 */
export function readCsvDataset(text: string, options: CsvOptions): Dataset {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(text, {
      info: true,
      skip_empty_lines: true,
      trim: true,
      delimiter: options.delimiter ?? ",",
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    throw new Error(`csv: ${(e as Error).message}`);
  }
  let names: string[];
  if (options.header) {
    const head = rows.shift();
    if (head === undefined) throw new Error("csv: the file is empty (no header row)");
    names = head.record;
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw new Error(`csv: duplicate column name '${n}' in the header`);
      seen.add(n);
    }
  } else names = (rows[0]?.record ?? []).map((_, i) => String(i));
  const colIndex = (name: string, role: string): number => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`csv: ${role} column '${name}' not found; columns: ${names.join(", ")}`);
    return i;
  };
  const used = new Map<string, string>();
  const claim = (name: string, role: string): number => {
    const prev = used.get(name);
    if (prev !== undefined) throw new Error(`csv: column '${name}' is used twice (${prev} and ${role})`);
    used.set(name, role);
    return colIndex(name, role);
  };
  const labelCol = options.label === undefined ? -1 : claim(options.label, "label");
  const scalarCols = (options.scalars ?? []).map((n) => claim(n, "scalar"));
  const featureNames = options.columns ?? names.filter((n) => !used.has(n));
  const featureCols = featureNames.map((n) => claim(n, "feature"));

  const n = rows.length;
  const k = featureCols.length;
  const features = new Float32Array(n * k);
  const label = new Int32Array(labelCol >= 0 ? n : 0);
  const scalars = scalarCols.map(() => new Float32Array(n));
  for (let r = 0; r < n; r++) {
    const { record, info } = rows[r]!;
    const cell = (c: number): number => {
      const s = record[c] ?? "";
      const v = s === "" ? NaN : Number(s);
      if (!Number.isFinite(v))
        throw new Error(`csv: row ${r + 1} (line ${info.lines}), column '${names[c]}': ${s === "" ? "empty cell" : `'${s}' is not a number`}`);
      return v;
    };
    for (let j = 0; j < k; j++) features[r * k + j] = cell(featureCols[j]!);
    for (let j = 0; j < scalarCols.length; j++) scalars[j]![r] = cell(scalarCols[j]!);
    if (labelCol >= 0) {
      const v = cell(labelCol);
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
        throw new Error(`csv: row ${r + 1} (line ${info.lines}), column '${names[labelCol]}': label ${v} is not an integer class id`);
      label[r] = v;
    }
  }
  const fields: Record<string, Field> = {};
  if (k > 0) fields.features = { dtype: "f32", shape: [k], data: features };
  if (labelCol >= 0) fields[options.label!] = { dtype: "i32", shape: [], data: label };
  (options.scalars ?? []).forEach((name, j) => (fields[name] = { dtype: "f32", shape: [], data: scalars[j]! }));
  return makeDataset(fields, n, "csv");
}

function selectArrays(arrays: Map<string, RawArray>, select: ArraySelection, source: string): Dataset {
  let names: string[];
  if (select.fields !== undefined) {
    for (const n of select.fields) {
      const a = arrays.get(n);
      if (a === undefined) throw new Error(`${source}: no array '${n}'; available: ${[...arrays.keys()].join(", ") || "(none)"}`);
      if (a.shape.length === 0) throw new Error(`${source}: array '${n}' is 0-d; a field needs a leading sample dimension`);
    }
    names = [...select.fields];
  } else if (select.count !== undefined) {
    names = [...arrays].filter(([, a]) => a.shape.length > 0 && a.shape[0] === select.count).map(([n]) => n);
  } else {
    names = [...arrays].filter(([, a]) => a.shape.length > 0).map(([n]) => n);
  }
  const counts = names.map((n) => arrays.get(n)!.shape[0]!);
  if (counts.some((c) => c !== counts[0])) {
    const list = names.map((n, i) => `${n} ${counts[i]} ${shapeText(arrays.get(n)!.shape)}`).join(", ");
    throw new Error(`${source}: arrays disagree on the sample count (first dim): ${list}; choose arrays with { fields } or { count }`);
  }
  const fields: Record<string, Field> = {};
  for (const n of names) {
    const a = arrays.get(n)!;
    const { dtype, data } = a.convert();
    fields[n] = { dtype, shape: a.shape.slice(1), data };
  }
  return makeDataset(fields, select.count ?? counts[0] ?? 0, source);
}

function fromNpy(arr: NpyArray, where: string): RawArray {
  return {
    shape: arr.shape,
    convert: () => {
      const d = arr.data;
      if (d instanceof Float32Array) return { dtype: "f32", data: d };
      if (d instanceof Float64Array) return { dtype: "f32", data: Float32Array.from(d) };
      if (d instanceof Int32Array) return { dtype: "i32", data: d };
      if (d instanceof BigInt64Array) return { dtype: "i32", data: bigToI32(d, where) };
      return { dtype: "i32", data: Int32Array.from(d) };
    },
  };
}

function fromSafetensors(t: SafetensorsTensor, where: string): RawArray {
  return {
    shape: t.shape,
    convert: () => {
      const d = t.data;
      if (d instanceof Float32Array) return { dtype: "f32", data: d };
      if (d instanceof Int32Array) return { dtype: "i32", data: d };
      if (d instanceof BigInt64Array || d instanceof BigUint64Array) return { dtype: "i32", data: bigToI32(d, where) };
      if (d instanceof Uint32Array) {
        const i = d.findIndex((v) => v > 2147483647);
        if (i >= 0) throw new Error(`${where}: element ${i} is ${d[i]}, outside the i32 range`);
      }
      return { dtype: "i32", data: Int32Array.from(d) };
    },
  };
}

function bigToI32(d: BigInt64Array | BigUint64Array, where: string): Int32Array {
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < -2147483648n || v > 2147483647n) throw new Error(`${where}: element ${i} is ${v}, outside the i32 range`);
    out[i] = Number(v);
  }
  return out;
}
