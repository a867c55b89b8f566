// `modelc run ARTIFACT --input NAME=FILE.npy ...`: run a compiled model on .npy inputs, write one
// NAME.npy per output. Neighbours: runtime/index.ts (loadModel), data/npy.ts, io/atomic.ts.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { readNpy, writeNpy, type NpyArray, type NpyDType } from "../data/npy.js";
import { ModelcRuntimeError, type IoSpec } from "../../runtime/index.js";
import { loadArtifact } from "./load.js";
import { EXIT_OK, UserError, cannotRead, makeUserDir, readUserFile, writeUserFile, type CliIo } from "./common.js";

/** Options of `modelc run`. */
export interface RunCommandOptions {
  /** [--input NAME=FILE.npy] one per model input (repeatable); just FILE.npy for a one-input model. */
  input?: string[];
  /** [--out DIR] where NAME.npy outputs go (created if missing). Default ".". */
  out?: string;
  /** [--simd auto|force|off] which build to run. Default "auto". */
  simd?: "auto" | "force" | "off";
  /** [--relaxed auto|force|off] whether to run the relaxed-SIMD build NAME.relaxed.wasm. Default "auto". */
  relaxed?: "auto" | "force" | "off";
  /** [--allow-nan] run inputs holding NaN (Model.run `{ nan: "allow" }`) instead of refusing them. Default false. */
  allowNan?: boolean;
}

/**
 * Parse `NAME=PATH` pairs. A bare `PATH` (no "=") names `soleInput`, the model's only input, when
 * given. Errors (UserError): a missing "=" otherwise, an empty name or path, a repeated name, and a bare
 * `soleInput` itself when no such file exists (`--input image`: the NAME without its `=FILE`).
 */
export function parseInputPairs(pairs: readonly string[], soleInput?: string): Map<string, string> {
  const out = new Map<string, string>();
  for (let p of pairs) {
    if (!p.includes("=") && soleInput !== undefined) {
      if (p === soleInput && !existsSync(p))
        throw new UserError(`--input expects NAME=FILE.npy (or just FILE.npy for a one-input model), got '${p}', the input's name without a file; give --input ${p}=FILE.npy`);
      p = `${soleInput}=${p}`;
    }
    const eq = p.indexOf("=");
    if (eq <= 0 || eq === p.length - 1) throw new UserError(`--input expects NAME=FILE.npy, got '${p}'`);
    const name = p.slice(0, eq);
    if (out.has(name)) throw new UserError(`--input '${name}' is given twice`);
    out.set(name, p.slice(eq + 1));
  }
  return out;
}

const show = (shape: readonly (number | string)[]): string => `[${shape.join(", ")}]`;

/** "([1, 0, 3, 4]) " : the coordinates of flat index `i` in `shape` (C order), as Model.run's NaN error gives them. */
function at(shape: readonly number[], i: number): string {
  if (shape.length < 2) return "";
  const idx: number[] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    idx.unshift(i % shape[k]!);
    i = Math.floor(i / shape[k]!);
  }
  return `(${show(idx)}) `;
}

/** NumPy's name of each .npy dtype, for messages ("float64" for f8). */
const NUMPY_NAME: Record<NpyDType, string> = { f4: "float32", f8: "float64", i4: "int32", i8: "int64", u1: "uint8", i1: "int8", b1: "bool" };

/** npyToInput's result: the input data, its batch, and the dtype change when the file's dtype was not the input's. */
export interface NpyInput {
  data: Float32Array | Int32Array;
  batch: number;
  /** Set when the data was converted, e.g. { from: "float64", to: "f32" }; conversionNotice words it. */
  converted?: { from: string; to: "f32" | "i32" };
}

/**
 * Convert one .npy array to a model input: the array's shape must be the input's shape with the batch
 * dim (`[B, ...]`) or the per-sample shape alone (batch 1). Float data (float32/float64) goes to f32 inputs;
 * integer/bool data to i32 inputs, or to f32 inputs as numbers. Any dtype other than the input's own (float32 for
 * f32, int32 for i32) is converted value by value and reported in `converted`.
 * Errors (UserError naming the input, the file and, for values, the value and its flat index): a shape that is
 * neither, an empty batch, floats for an i32 input, an integer that does not fit in i32, and a finite float64
 * value outside f32's range (it would become ±Infinity; ±Infinity and NaN pass through as they are: NaN is then
 * Model.run's to refuse or allow).
 */
export function npyToInput(spec: IoSpec, arr: NpyArray, file: string): NpyInput {
  const sample = spec.shape.slice(1) as number[];
  let batch: number;
  if (arr.shape.length === spec.shape.length && arr.shape.slice(1).every((d, i) => d === sample[i])) batch = arr.shape[0]!;
  else if (arr.shape.length === sample.length && arr.shape.every((d, i) => d === sample[i])) batch = 1;
  else {
    // the right elements in another shape (a flat [B, 784] for [N, 1, 28, 28], [28, 28] for one sample): say how to fix it
    const per = sample.reduce((a, b) => a * b, 1);
    const total = arr.shape.reduce((a, b) => a * b, 1);
    const b = arr.shape.length > 1 && arr.shape.slice(1).reduce((a, c) => a * c, 1) === per ? arr.shape[0]! : total === per ? 1 : undefined;
    const hint = b !== undefined && b > 0 ? `; it holds ${b} sample${b === 1 ? "" : "s"} of ${per} elements: reshape it to ${show([b, ...sample])}` : "";
    throw new UserError(`input '${spec.name}' (${file}) has shape ${show(arr.shape)}, the model expects ${show(spec.shape)}${hint}`);
  }
  if (batch < 1) throw new UserError(`input '${spec.name}' (${file}) has an empty batch (shape ${show(arr.shape)})`);
  const isFloat = arr.dtype === "f4" || arr.dtype === "f8";
  const converted = { from: NUMPY_NAME[arr.dtype], to: spec.dtype };
  if (spec.dtype === "i32") {
    if (isFloat) throw new UserError(`input '${spec.name}' is i32 but ${file} holds floats (${NUMPY_NAME[arr.dtype]}); save it with an integer dtype`);
    if (arr.data instanceof Int32Array) return { data: arr.data, batch };
    const out = new Int32Array(arr.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = arr.data[i]!;
      if (v < -2147483648 || v > 2147483647)
        throw new UserError(`input '${spec.name}' (${file}): value ${v} at flat index ${i} ${at(arr.shape, i)}does not fit in i32 (the ${NUMPY_NAME[arr.dtype]} data is converted to i32)`);
      out[i] = Number(v);
    }
    return { data: out, batch, converted };
  }
  if (arr.data instanceof Float32Array) return { data: arr.data, batch };
  const out = new Float32Array(arr.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(arr.data[i]!);
    out[i] = v;
    if (!Number.isFinite(out[i]!) && Number.isFinite(v))
      throw new UserError(`input '${spec.name}' (${file}): value ${v} at flat index ${i} ${at(arr.shape, i)}is out of f32 range (the ${NUMPY_NAME[arr.dtype]} data is converted to f32, where it would be ${out[i]})`);
  }
  return { data: out, batch, converted };
}

/** The one-line stderr notice of a converted input: `note: input 'x' (x.npy): float64 data converted to f32`. */
export function conversionNotice(input: string, file: string, converted: NonNullable<NpyInput["converted"]>): string {
  return `note: input '${input}' (${file}): ${converted.from} data converted to ${converted.to}`;
}

/**
 * Read and parse one .npy input file. Errors: UserError `cannot read input file 'PATH' (for input 'NAME'): WHY`, WHY
 * being the read failure (no such file, ...) or what is wrong with the .npy data.
 */
export async function readNpyInput(path: string, input: string): Promise<NpyArray> {
  const bytes = await readUserFile(path, "input file", `for input '${input}'`);
  try {
    return readNpy(bytes);
  } catch (e) {
    throw new UserError(cannotRead("input file", path, (e as Error).message.replace(/^npy: /, ""), `for input '${input}'`));
  }
}

/**
 * Run `modelc run`: load the artifact (NAME.wasm, NAME.relaxed.wasm, NAME.nosimd.wasm or NAME.manifest.json), read each
 * input from .npy, run one batch, write `OUT/NAME.npy` per output atomically and print the shapes.
 * Returns 0. Throws UserError (exit 1) for missing/extra/mis-shaped inputs, unreadable files and
 * runtime errors that come from the artifact (ModelcRuntimeError), including a NaN in an f32 input unless
 * `allowNan` (the message then names --allow-nan).
 */
export async function runCommand(artifact: string, options: RunCommandOptions, io: CliIo): Promise<number> {
  const model = await loadArtifact(artifact, { simd: options.simd ?? "auto", relaxed: options.relaxed ?? "auto" });
  const pairs = parseInputPairs(options.input ?? [], model.inputs.length === 1 ? model.inputs[0]!.name : undefined);
  const names = model.inputs.map((s) => s.name);
  for (const name of pairs.keys())
    if (!names.includes(name)) throw new UserError(`unknown input '${name}'; the model's inputs are: ${names.join(", ")}`);
  const missing = names.filter((n) => !pairs.has(n));
  if (missing.length > 0)
    throw new UserError(`missing --input for ${missing.map((n) => `'${n}' ${show(model.inputs.find((s) => s.name === n)!.shape)}`).join(", ")}`);
  const inputs: Record<string, Float32Array | Int32Array> = {};
  let batch: number | undefined;
  let first: { name: string; file: string } | undefined; // the input that set `batch`
  for (const spec of model.inputs) {
    const file = pairs.get(spec.name)!;
    const r = npyToInput(spec, await readNpyInput(file, spec.name), file);
    if (r.converted) io.err(conversionNotice(spec.name, file, r.converted));
    if (batch !== undefined && r.batch !== batch)
      throw new UserError(`inputs disagree on the batch size: '${first!.name}' has ${batch} (${first!.file}), '${spec.name}' has ${r.batch} (${file})`);
    if (batch === undefined) first = { name: spec.name, file: file };
    batch = r.batch;
    inputs[spec.name] = r.data;
  }
  let outputs;
  try {
    outputs = model.run(inputs, { batch: batch ?? 1, nan: options.allowNan ? "allow" : "error" });
  } catch (e) {
    if (e instanceof ModelcRuntimeError)
      throw new UserError(`run failed: ${e.code === "bad-value" && /: NaN at /.test(e.message) ? `${e.message.split(";")[0]}; pass --allow-nan to let NaN through` : e.message}`);
    throw e;
  }
  const dir = options.out ?? ".";
  await makeUserDir(dir, "output directory");
  for (const spec of model.outputs) {
    const data = outputs[spec.name]!;
    const shape = spec.shape.map((d) => (d === "N" ? batch ?? 1 : d));
    const path = join(dir, `${spec.name}.npy`);
    await writeUserFile(path, writeNpy({ shape, data }), `output '${spec.name}' to`);
    io.out(`${spec.name}: ${show(shape)} ${spec.dtype} -> ${path}`);
  }
  io.out(`ran ${model.name} (${{ relaxed: "relaxed-SIMD", simd: "SIMD", scalar: "scalar" }[model.variant]} build), batch ${batch ?? 1}`);
  return EXIT_OK;
}
