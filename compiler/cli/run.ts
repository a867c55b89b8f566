// `modelc run ARTIFACT --input NAME=FILE.npy ...`: run a compiled model on .npy inputs, write one
// NAME.npy per output. Neighbours: runtime/index.ts (loadModel), data/npy.ts, io/atomic.ts.

import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { readNpy, writeNpy, type NpyArray } from "../data/npy.js";
import { writeFileAtomic } from "../io/atomic.js";
import { loadModel, ModelcRuntimeError, type IoSpec } from "../../runtime/index.js";
import { EXIT_OK, UserError, readUserFile, type CliIo } from "./common.js";

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

/**
 * Convert one .npy array to a model input: the array's shape must be the input's shape with the batch
 * dim (`[B, ...]`) or the per-sample shape alone (batch 1). Float data (f4/f8) goes to f32 inputs;
 * integer/bool data to i32 inputs (i8 values must fit in i32), or to f32 inputs as numbers.
 * Returns the data and the batch size. Errors: UserError naming the input, expected and got shapes.
 */
export function npyToInput(spec: IoSpec, arr: NpyArray, file: string): { data: Float32Array | Int32Array; batch: number } {
  const sample = spec.shape.slice(1) as number[];
  let batch: number;
  if (arr.shape.length === spec.shape.length && arr.shape.slice(1).every((d, i) => d === sample[i])) batch = arr.shape[0]!;
  else if (arr.shape.length === sample.length && arr.shape.every((d, i) => d === sample[i])) batch = 1;
  else throw new UserError(`input '${spec.name}' (${file}) has shape ${show(arr.shape)}, the model expects ${show(spec.shape)}`);
  if (batch < 1) throw new UserError(`input '${spec.name}' (${file}) has an empty batch (shape ${show(arr.shape)})`);
  const isFloat = arr.dtype === "f4" || arr.dtype === "f8";
  if (spec.dtype === "i32") {
    if (isFloat) throw new UserError(`input '${spec.name}' is i32 but ${file} holds floats (${arr.dtype}); save it with an integer dtype`);
    if (arr.data instanceof Int32Array) return { data: arr.data, batch };
    const out = new Int32Array(arr.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = Number(arr.data[i]!);
      if (v < -2147483648 || v > 2147483647) throw new UserError(`input '${spec.name}' (${file}): value ${v} at index ${i} does not fit in i32`);
      out[i] = v;
    }
    return { data: out, batch };
  }
  if (arr.data instanceof Float32Array) return { data: arr.data, batch };
  const out = new Float32Array(arr.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(arr.data[i]!);
  return { data: out, batch };
}

/**
 * Run `modelc run`: load the artifact (NAME.wasm, NAME.relaxed.wasm, NAME.nosimd.wasm or NAME.manifest.json), read each
 * input from .npy, run one batch, write `OUT/NAME.npy` per output atomically and print the shapes.
 * Returns 0. Throws UserError (exit 1) for missing/extra/mis-shaped inputs, unreadable files and
 * runtime errors that come from the artifact (ModelcRuntimeError), including a NaN in an f32 input unless
 * `allowNan` (the message then names --allow-nan).
 */
export async function runCommand(artifact: string, options: RunCommandOptions, io: CliIo): Promise<number> {
  let model;
  try {
    model = await loadModel(artifact, { simd: options.simd ?? "auto", relaxed: options.relaxed ?? "auto" });
  } catch (e) {
    if (e instanceof ModelcRuntimeError) throw new UserError(`cannot load '${artifact}': ${e.message}`);
    throw e;
  }
  const pairs = parseInputPairs(options.input ?? [], model.inputs.length === 1 ? model.inputs[0]!.name : undefined);
  const names = model.inputs.map((s) => s.name);
  for (const name of pairs.keys())
    if (!names.includes(name)) throw new UserError(`unknown input '${name}'; the model's inputs are: ${names.join(", ")}`);
  const missing = names.filter((n) => !pairs.has(n));
  if (missing.length > 0)
    throw new UserError(`missing --input for ${missing.map((n) => `'${n}' ${show(model.inputs.find((s) => s.name === n)!.shape)}`).join(", ")}`);
  const inputs: Record<string, Float32Array | Int32Array> = {};
  let batch: number | undefined;
  for (const spec of model.inputs) {
    const file = pairs.get(spec.name)!;
    let arr: NpyArray;
    try {
      arr = readNpy(await readUserFile(file, `input '${spec.name}'`));
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`input '${spec.name}': ${file}: ${(e as Error).message}`);
    }
    const r = npyToInput(spec, arr, file);
    if (batch !== undefined && r.batch !== batch) throw new UserError(`inputs disagree on the batch size (${batch} vs ${r.batch} in ${file})`);
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
  await mkdir(dir, { recursive: true });
  for (const spec of model.outputs) {
    const data = outputs[spec.name]!;
    const shape = spec.shape.map((d) => (d === "N" ? batch ?? 1 : d));
    const path = join(dir, `${spec.name}.npy`);
    await writeFileAtomic(path, writeNpy({ shape, data }));
    io.out(`${spec.name}: ${show(shape)} ${spec.dtype} -> ${path}`);
  }
  io.out(`ran ${model.name} (${{ relaxed: "relaxed-SIMD", simd: "SIMD", scalar: "scalar" }[model.variant]} build), batch ${batch ?? 1}`);
  return EXIT_OK;
}
