// Reading the PyTorch golden vectors (test/golden/cases/*.json, written by test/golden/gen_golden.py)
// and comparing outputs against them. Neighbours: test/golden.test.ts (the harness), test/golden/README.md.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RefTensor, WeightMap } from "../compiler/ir/types.js";

/** Directory of the golden case files. */
export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), "golden", "cases");

/** A tensor as stored: base64 of little-endian values; "bf16" = upper 16 bits of a float32. */
export interface StoredTensor {
  shape: number[];
  dtype: "f32" | "bf16" | "f64";
  data: string;
}

/** One run of a case at one batch size; inputs/outputs are batch-first ([batch, ...per-sample]). */
export interface GoldenRun {
  batch: number;
  inputs: Record<string, StoredTensor>;
  outputs: Record<string, StoredTensor>;
}

/** One golden case: a tiny .model program, its weights by state_dict name, and runs per batch. */
export interface GoldenCase {
  name: string;
  source: string;
  weights: Record<string, StoredTensor>;
  runs: GoldenRun[];
}

/** One case file (one op family). */
export interface GoldenFamily {
  family: string;
  generator: string;
  torch: string;
  cases: GoldenCase[];
}

/** All case files, sorted by family name. */
export function loadGoldenFamilies(dir = GOLDEN_DIR): GoldenFamily[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as GoldenFamily);
}

function bytesOf(b64: string): Uint8Array {
  const buf = Buffer.from(b64, "base64");
  // copy into a fresh, aligned ArrayBuffer (Buffer views may be unaligned slices of a pool)
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

/** Decode a stored f32 or bf16 tensor to float32 values (exact). Errors on f64 (not float32-exact). */
export function decodeF32(t: StoredTensor): Float32Array {
  const bytes = bytesOf(t.data);
  const dv = new DataView(bytes.buffer);
  if (t.dtype === "f32") {
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
    return out;
  }
  if (t.dtype === "bf16") {
    const bits = new Uint32Array(bytes.length / 2);
    for (let i = 0; i < bits.length; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
    return new Float32Array(bits.buffer);
  }
  throw new Error(`decodeF32: tensor has dtype ${t.dtype}, expected f32 or bf16`);
}

/** Decode any stored tensor to float64 values. */
export function decodeF64(t: StoredTensor): Float64Array {
  if (t.dtype !== "f64") return Float64Array.from(decodeF32(t));
  const bytes = bytesOf(t.data);
  const dv = new DataView(bytes.buffer);
  const out = new Float64Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat64(i * 8, true);
  return out;
}

/** Element count of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A case's weights as the compiler's WeightMap (state_dict name -> f32 tensor in PyTorch layout). */
export function caseWeights(c: GoldenCase): WeightMap {
  const m: WeightMap = new Map();
  for (const [name, t] of Object.entries(c.weights)) {
    const data = decodeF32(t);
    if (data.length !== numel(t.shape)) throw new Error(`${c.name}: weight ${name} has ${data.length} values for shape [${t.shape}]`);
    m.set(name, { shape: [...t.shape], data });
  }
  return m;
}

/** A run's inputs as float64 reference tensors (batch-first shapes). */
export function runInputsF64(r: GoldenRun): Record<string, RefTensor> {
  const out: Record<string, RefTensor> = {};
  for (const [name, t] of Object.entries(r.inputs)) out[name] = { shape: [...t.shape], data: decodeF64(t) };
  return out;
}

/** A run's inputs as float32 arrays (batch-major), for the wasm runtime. */
export function runInputsF32(r: GoldenRun): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(r.inputs)) out[name] = decodeF32(t);
  return out;
}

/** Where two tensors differ most, for failure messages. */
export interface Mismatch {
  /** max over elements of |got - want| / max(1, |want|) (NaN/Inf mismatches count as Infinity). */
  maxErr: number;
  /** Flat index and multi-index of the worst element. */
  index: number;
  at: number[];
  got: number;
  want: number;
  /** Elements whose error exceeds the tolerance. */
  bad: number;
}

/** Multi-index of flat index `i` in a row-major `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    at[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return at;
}

/**
 * Compare `got` to `want` element by element with error |got - want| / max(1, |want|):
 * absolute for unit-scale values, relative for large ones. Length mismatch is an Error.
 */
export function compare(got: ArrayLike<number>, want: Float64Array, shape: readonly number[], tol: number): Mismatch {
  if (got.length !== want.length) throw new Error(`length mismatch: got ${got.length} values, want ${want.length} (shape [${shape}])`);
  let worst: Mismatch = { maxErr: 0, index: -1, at: [], got: NaN, want: NaN, bad: 0 };
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const err = Number.isFinite(g) ? Math.abs(g - w) / Math.max(1, Math.abs(w)) : Infinity;
    if (err > tol) worst.bad++;
    if (err > worst.maxErr || worst.index < 0) worst = { ...worst, maxErr: err, index: i, got: g, want: w };
  }
  worst.at = worst.index >= 0 ? unravel(worst.index, shape) : [];
  return worst;
}

/** One-line description of a mismatch: "max err 3.1e-4 at [0, 2, 1, 1] (got 0.51, want 0.5103), 4 of 96 elements over 1e-5". */
export function describeMismatch(m: Mismatch, total: number, tol: number): string {
  return (
    `max err ${m.maxErr.toExponential(2)} at [${m.at.join(", ")}] (got ${m.got}, want ${m.want}), ` +
    `${m.bad} of ${total} elements over ${tol}`
  );
}
