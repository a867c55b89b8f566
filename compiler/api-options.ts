// Argument checks of the public API (index.ts compile() and check()): misuse from plain JS (a wrong type, an
// unknown key, a weights path instead of bytes) is a thrown TypeError naming the option, what it expects and what
// was given, before any work; the style of the runtime's checkOptions (runtime/model.ts). Neighbours: index.ts.

import { nearestNames } from "./diagnostics.js";
import { WEIGHT_PASSES } from "./passes/pipeline.js";

/** Options of check(): the same `file` and `model` as compile()'s. */
export interface CheckOptions {
  /** File name used in diagnostics. Default "<input>". */
  file?: string;
  /** Which `model` of the file to check (a file may hold several). Default: the only/first one. */
  model?: string;
}

/** compile()'s option keys, in CompileOptions order (kept in step by test/api-options.test.ts). */
export const COMPILE_KEYS = ["file", "model", "weights", "seed", "simd", "relaxed", "embedWeights", "name", "heads", "skipPasses"];
const CHECK_KEYS = ["file", "model"];
const SIMD_VALUES = ["both", "simd", "scalar"];

/** A JS value as an error message shows it: 'string "x"', "number 42", "null", "array(2)", "Uint8Array(10)", "object". */
export function showGot(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${(v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

function fail(where: string, msg: string): never {
  throw new TypeError(`${where}: ${msg}`);
}

/** Throw unless `options` is a plain object whose keys are all in `keys` ("did you mean" for a near miss). */
function checkKeys(where: string, options: unknown, keys: string[], example: string): asserts options is Record<string, unknown> {
  if (typeof options !== "object" || options === null || Array.isArray(options) || ArrayBuffer.isView(options) || options instanceof Map)
    fail(where, `options must be an object such as ${example}, got ${showGot(options)}`);
  for (const k of Object.keys(options)) {
    if (keys.includes(k)) continue;
    const near = nearestNames(k, keys, 1)[0];
    fail(where, `unknown option '${k}'${near ? ` (did you mean '${near}'?)` : ""}; valid options: ${keys.join(", ")}`);
  }
}

function checkSourceArg(where: string, source: unknown): asserts source is string {
  if (typeof source !== "string")
    fail(where, `source must be the .model text as a string (e.g. readFileSync(path, "utf8")), got ${showGot(source)}`);
}

function checkString(where: string, o: Record<string, unknown>, key: string): void {
  if (o[key] !== undefined && typeof o[key] !== "string") fail(where, `options.${key} must be a string, got ${showGot(o[key])}`);
}

function checkBoolean(where: string, o: Record<string, unknown>, key: string): void {
  if (o[key] !== undefined && typeof o[key] !== "boolean") fail(where, `options.${key} must be true or false, got ${showGot(o[key])}`);
}

function checkNames(where: string, o: Record<string, unknown>, key: string, what: string, example: string, hint = ""): void {
  const v = o[key];
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    fail(where, `options.${key} must be an array of ${what} such as ${example}, got ${showGot(v)}${hint}`);
}

/**
 * Check compile()'s arguments (thrown TypeError "compile(source, options): ..." on misuse): `source` a string;
 * `options` undefined or an object of CompileOptions keys only; file/model/name strings; weights a Uint8Array
 * (safetensors bytes) or a Map (a path string: the error says to pass the bytes, compile() reads no files);
 * seed an integer in [0, 2^32); simd "both" | "simd" | "scalar"; relaxed/embedWeights booleans; heads and skipPasses
 * arrays of strings (skipPasses names from WEIGHT_PASSES). Values that depend on the model (an unknown head name:
 * E0810, weights that do not fit: E0601) are diagnostics of compile(), not checked here.
 */
export function checkCompileArgs(source: unknown, options: unknown): void {
  const where = "compile(source, options)";
  checkSourceArg(where, source);
  if (options === undefined) return;
  checkKeys(where, options, COMPILE_KEYS, `{ file: "mnist.model", seed: 1 }`);
  checkString(where, options, "file");
  checkString(where, options, "model");
  checkString(where, options, "name");
  const w = options.weights;
  if (typeof w === "string")
    fail(where, `options.weights must be the weights file's bytes, not its path: pass readFileSync(${JSON.stringify(w)}) (compile() reads no files), got ${showGot(w)}`);
  if (w !== undefined && !(w instanceof Uint8Array) && !(w instanceof Map))
    fail(where, `options.weights must be safetensors bytes (a Uint8Array, e.g. readFileSync(path)) or a WeightMap (Map of name -> tensor), got ${showGot(w)}`);
  const seed = options.seed;
  if (seed !== undefined && (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff))
    fail(where, `options.seed must be an integer in [0, 4294967295], got ${showGot(seed)}`);
  if (options.simd !== undefined && !SIMD_VALUES.includes(options.simd as string))
    fail(where, `options.simd must be "both", "simd" or "scalar", got ${showGot(options.simd)}`);
  checkBoolean(where, options, "relaxed");
  checkBoolean(where, options, "embedWeights");
  checkNames(where, options, "heads", "output names", `["probs"]`,
    typeof options.heads === "string" ? ` (the CLI's --heads a,b is heads: ["a", "b"] here)` : "");
  checkNames(where, options, "skipPasses", "pass names", `["fold-batchnorm"]`);
  const passes = WEIGHT_PASSES.map((p) => p.name);
  for (const p of (options.skipPasses as string[] | undefined) ?? [])
    if (!passes.includes(p)) {
      const near = nearestNames(p, passes, 1)[0];
      fail(where, `options.skipPasses: unknown pass '${p}'${near ? ` (did you mean '${near}'?)` : ""}; passes: ${passes.join(", ")}`);
    }
}

/**
 * Resolve check()'s two call forms to { file, model }: check(source, { file, model }) (primary, as compile()) and
 * check(source, file?, { model }?) (positional file). Throws TypeError "check(source, options): ..." on misuse
 * (non-string source or file, unknown key, `file` given twice, a non-object options).
 */
export function checkCheckArgs(source: unknown, fileOrOptions: unknown, options: unknown): { file: string; model?: string } {
  const where = "check(source, options)";
  checkSourceArg(where, source);
  let o: Record<string, unknown> = {};
  let file: unknown = undefined;
  if (typeof fileOrOptions === "string") {
    file = fileOrOptions;
    if (options !== undefined) {
      checkKeys(where, options, CHECK_KEYS, `{ model: "classifier" }`);
      if (options.file !== undefined) fail(where, `file is given twice: as the second argument (${JSON.stringify(fileOrOptions)}) and as options.file (${showGot(options.file)})`);
      o = options;
    }
  } else if (fileOrOptions !== undefined) {
    checkKeys(where, fileOrOptions, CHECK_KEYS, `{ file: "mnist.model", model: "classifier" }`);
    if (options !== undefined) fail(where, `with an options object as the second argument there is no third, got ${showGot(options)}`);
    o = fileOrOptions;
    file = o.file;
  } else if (options !== undefined) {
    checkKeys(where, options, CHECK_KEYS, `{ model: "classifier" }`);
    o = options;
    file = o.file;
  }
  checkString(where, o, "file");
  checkString(where, o, "model");
  return { file: (file as string | undefined) ?? "<input>", ...(o.model !== undefined ? { model: o.model as string } : {}) };
}
