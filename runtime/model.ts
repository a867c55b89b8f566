// A loaded model: input validation, batch inference, memory growth and the call into the module's run().
// Neighbours: runtime/load.ts creates it from an instance; runtime/manifest.ts defines the ABI it drives.

import { ModelcRuntimeError } from "./errors.js";
import type { IoSpec, Manifest } from "./manifest.js";
import type { ModuleVariant } from "./sections.js";
import { describeValue } from "./source.js";

/** Inputs to Model.run by input name: Float32Array for f32 inputs, Int32Array for i32, or plain numbers. */
export type RunInputs = Record<string, Float32Array | Int32Array | number[]>;

/**
 * Outputs of Model.run by output name, batch-major: Float32Array (f32) or Int32Array (i32), a fresh copy of each
 * output, or the caller's own array for an output given in RunOptions.outputs.
 */
export type RunOutputs = Record<string, Float32Array | Int32Array>;

/** Options of Model.run. `O` is the outputs' type (a TypedModel's own output names; by default any name). */
export interface RunOptions<O = RunOutputs> {
  /** Samples in this call (integer >= 1). By default inferred from the input lengths, which must agree. */
  batch?: number;
  /**
   * NaN in an f32 input: `"error"` (default) refuses the run with `bad-value` naming the input and the flat
   * index; `"allow"` runs it (it propagates like any float). ±Infinity always passes (e.g. attention masks).
   * The check runs in the module (its `nan_scan` export, SIMD where the build is: ~0.13 ns per element) over each f32
   * input after it is copied into memory, before the model runs; artifacts without that export are checked by a JS
   * loop (~1.3 ns per element).
   */
  nan?: "error" | "allow";
  /**
   * Arrays to write outputs into, by output name, instead of fresh copies (reuse them across calls to save an
   * allocation per output and call; onnxruntime's pre-allocated `fetches`). Each must be of the output's dtype
   * (Float32Array for f32, Int32Array for i32) and hold at least batch x elementsPerSample elements: the first that
   * many are written, the rest are left as they were (an array sized for the largest batch serves smaller ones;
   * `subarray` views work, SharedArrayBuffer-backed ones too). run() returns these same arrays (`out.probs === mine`);
   * outputs not given here are still returned as fresh copies. They are checked before anything runs (`bad-option`
   * naming the output, what was expected and what was given; an unknown name suggests the closest; two outputs whose
   * arrays overlap in memory are named both). If the run
   * itself fails (`trap`; threads: `worker`), their contents are unspecified.
   */
  outputs?: { [K in keyof O]?: O[K] };
}

/** A Model whose run() is typed with the model's own input and output names (used by generated NAME.d.ts). */
export type TypedModel<I, O> = Omit<Model, "run"> & {
  /** Model.run with typed inputs and outputs. */
  run(inputs: I, options?: RunOptions<O>): O;
};

const PAGE = 65536;
const MAX_BYTES = 65536 * PAGE;

const showShape = (s: IoSpec): string => `[${s.shape.join(", ")}]`;

/**
 * A compiled model, ready to run. Created by loadModel; one wasm instance (and memory) per Model.
 * Memory grows on demand to the largest batch seen and never shrinks.
 */
export class Model {
  /** Model name from the manifest. */
  readonly name: string;
  /** Input specs in the module's order (name, dtype, shape with "N", elementsPerSample). */
  readonly inputs: IoSpec[];
  /** Output specs in the module's order. */
  readonly outputs: IoSpec[];
  /** The artifact manifest. */
  readonly manifest: Manifest;
  /** True when a SIMD build of the model is running (plain or relaxed), false for the scalar fallback. */
  readonly simd: boolean;
  /** The build running: "relaxed" (NAME.relaxed.wasm), "simd" (NAME.wasm) or "scalar" (NAME.nosimd.wasm). */
  readonly variant: ModuleVariant;
  private readonly memory: WebAssembly.Memory;
  private readonly runFn: (batch: number) => void;
  private readonly nanScan: ((ptr: number, n: number) => number) | undefined;

  /**
   * Wrap an instance following the module ABI (exports `memory` and `run`; loadModel checks them). `nanScan` is the
   * optional `nan_scan(ptr, n)` export; without it (older artifacts) NaN is looked for in JS.
   */
  constructor(manifest: Manifest, memory: WebAssembly.Memory, run: (batch: number) => void, simd: boolean, variant?: ModuleVariant,
    nanScan?: (ptr: number, n: number) => number) {
    this.name = manifest.name;
    this.inputs = manifest.inputs;
    this.outputs = manifest.outputs;
    this.manifest = manifest;
    this.simd = simd;
    this.variant = variant ?? (simd ? "simd" : "scalar");
    this.memory = memory;
    this.runFn = run;
    this.nanScan = nanScan;
  }

  /**
   * Run the model on a batch. Inputs are batch-major (sample 0's elements first) in the input's shape.
   * Returns every output: a fresh copy, or the caller's array when `options.outputs` names it (written in place).
   * Errors (ModelcRuntimeError): `bad-inputs` (`inputs` is not an object
   * keyed by input name: null, a number, a typed array, an array), `bad-option` (`options` not a plain object, an
   * unknown key such as `bacth`: the message lists `batch, nan, outputs` and suggests the closest; an
   * `options.outputs` array of the wrong type or too short for the batch, or an unknown output name),
   * `unknown-input`, `missing-input`,
   * `bad-dtype` (Float32Array for f32, Int32Array for i32, or number[]), `bad-length`, `bad-batch`,
   * `bad-value` (an embedding id outside its table, manifest `range`: "input 'tokens': value 57 at [0, 3]
   * is outside [0, 50) (embedding 'emb.weight' has 50 rows)"; or a NaN in an f32 input, naming the input and
   * its flat index, unless `options.nan` is "allow"), `memory`, `trap`. ±Infinity is data and passes through.
   */
  run(inputs: RunInputs, options: RunOptions = {}): RunOutputs {
    const [batch, nan] = this.checkArgs(inputs, options);
    return this.runChecked(inputs, batch, nan, options.outputs);
  }

  /**
   * run() without checking its arguments again (checkArgs did): copy the inputs in (NaN scan when `nan`), run `batch`
   * samples, copy each output into its array in `into` or a fresh one. runtime/threads.ts runs slices of a batch it
   * checked whole with it. @internal
   */
  runChecked(inputs: RunInputs, batch: number, nan: boolean, into: Partial<RunOutputs> = {}): RunOutputs {
    this.ensureMemory(batch);
    const base = this.manifest.memory.activationBase;
    let buf = this.memory.buffer;
    for (const s of this.inputs) {
      const v = view(buf, s, base, batch);
      v.set(inputs[s.name]!);
      if (nan) this.noNaN(s, inputs[s.name]!, v.byteOffset); // before run(): a refused batch leaves memory as any next run overwrites it
    }
    try {
      this.runFn(batch);
    } catch (e) {
      // Embedding kernels trap (unreachable) on an id outside their table (inputs with a range are checked above).
      const msg = (e as Error).message;
      throw new ModelcRuntimeError("trap", `model '${this.name}' trapped while running batch ${batch}: ${msg}${/unreachable/.test(msg) ? " (an embedding id outside its table?)" : ""}`);
    }
    buf = this.memory.buffer; // the module may have grown memory itself: never reuse a stale buffer
    const out: RunOutputs = {};
    for (const s of this.outputs) {
      const v = view(buf, s, base, batch);
      const mine = into[s.name];
      mine?.set(v);
      out[s.name] = mine ?? v.slice();
    }
    return out;
  }

  /**
   * Check inputs as run() does (same errors) without running; returns the batch. With the module's `nan_scan`, each
   * f32 input is copied to the start of the activation region (memory grows to hold the largest) and scanned there.
   */
  check(inputs: RunInputs, options: RunOptions = {}): number {
    const [batch, nan] = this.checkArgs(inputs, options);
    if (nan) this.scanNaN(inputs, batch);
    return batch;
  }

  /** check()'s NaN scan of every f32 input of a `batch`-sample call (checkArgs checked them). @internal */
  scanNaN(inputs: RunInputs, batch: number): void {
    for (const s of this.inputs) this.noNaN(s, inputs[s.name]!, -1, batch);
  }

  /**
   * `bad-value` when f32 input `s` (values `v`) has a NaN: the module's nan_scan looks at its copy at byte `at` in
   * memory (at < 0: copy `v` to the activation base first), JS finds where; without nan_scan JS scans `v`.
   */
  private noNaN(s: IoSpec, v: ArrayLike<number>, at: number, batch = 0): void {
    const scan = this.nanScan;
    if (s.dtype !== "f32") return;
    if (!scan) return checkNaN(s, v);
    if (at < 0) {
      at = this.manifest.memory.activationBase;
      this.ensureMemory(batch, at + v.length * 4);
      new Float32Array(this.memory.buffer, at, v.length).set(v);
    }
    if (scan(at, v.length)) checkNaN(s, v);
  }

  /**
   * check() without the NaN scan (runtime/threads.ts scans once itself); returns the batch and whether f32 inputs
   * must be scanned for NaN. @internal
   */
  checkArgs(inputs: RunInputs, options: RunOptions): [number, boolean] {
    const specs = this.inputs;
    if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs) || ArrayBuffer.isView(inputs))
      throw new ModelcRuntimeError("bad-inputs",
        `run(inputs): expected an object of inputs by name, { ${specs.map((s) => `${s.name}: ${arrayName(s)} of shape ${showShape(s)}`).join(", ")} }, got ${showGot(inputs)}`);
    checkOptions("run(inputs, options)", options, RUN_KEYS, "{ batch: 1 }");
    const names = specs.map((s) => `'${s.name}'`).join(", ") || "(none)";
    for (const key of Object.keys(inputs))
      if (!specs.some((s) => s.name === key))
        throw new ModelcRuntimeError("unknown-input", `unknown input '${key}'${didYouMean(key, specs.map((s) => s.name))}; valid inputs of model '${this.name}': ${names}`);
    for (const s of specs) {
      const v = inputs[s.name];
      if (v === undefined)
        throw new ModelcRuntimeError("missing-input", `missing input '${s.name}' (expected ${arrayName(s)} of shape ${showShape(s)})`);
      checkDType(s, v);
    }
    const { nan = "error" } = options;
    if (nan !== "error" && nan !== "allow")
      throw new ModelcRuntimeError("bad-option", `run(inputs, options): options.nan must be "error" or "allow", got ${JSON.stringify(nan)}`);
    const batch = this.batchOf(inputs, options.batch);
    for (const s of specs) if (s.range) checkRange(s, inputs[s.name]!);
    if (options.outputs !== undefined) this.checkOutputs(options.outputs, batch);
    return [batch, nan === "error"];
  }

  /**
   * Check RunOptions.outputs for a `batch`-sample run: an object whose keys are output names and whose values are
   * arrays of the output's type with room for the batch (or undefined). Errors: `bad-option` naming the output,
   * what it needs and what was given, e.g. "run(inputs, options): options.outputs: output 'probs' needs a
   * Float32Array (dtype f32) of at least 640 elements (batch 64 x 10 per sample, shape [N, 10]), got Int32Array(640)";
   * an unknown name lists the outputs and suggests the closest; two outputs whose arrays overlap (same buffer,
   * overlapping bytes of the batch) are named both.
   */
  private checkOutputs(given: unknown, batch: number): void {
    const where = "run(inputs, options): options.outputs";
    const names = this.outputs.map((s) => s.name);
    if (typeof given !== "object" || given === null || Array.isArray(given) || ArrayBuffer.isView(given))
      throw new ModelcRuntimeError("bad-option", `${where} must be an object of arrays by output name (outputs of model '${this.name}': ${names.join(", ")}), got ${showGot(given)}`);
    for (const [k, a] of Object.entries(given)) {
      const s = this.outputs.find((o) => o.name === k);
      if (!s) throw new ModelcRuntimeError("bad-option", `${where}: unknown output '${k}'${didYouMean(k, names)}; outputs of model '${this.name}': ${names.join(", ")}`);
      const n = batch * s.elementsPerSample;
      if (a !== undefined && (describeValue(a) !== arrayName(s) || (a as ArrayLike<number>).length < n))
        throw new ModelcRuntimeError("bad-option",
          `${where}: output '${k}' needs a ${arrayName(s)} (dtype ${s.dtype}) of at least ${n} elements (batch ${batch} x ${s.elementsPerSample} per sample, shape ${showShape(s)}), got ${showGot(a)}`);
    }
    // one array (or overlapping views of one buffer) for two outputs: the later copy would overwrite the earlier
    const arrays = given as Record<string, Float32Array | undefined>;
    const used = this.outputs.filter((s) => arrays[s.name] !== undefined).map((s) => {
      const v = arrays[s.name]!; // named in the model's order
      return [s.name, v.buffer, v.byteOffset, v.byteOffset + batch * s.elementsPerSample * 4] as const;
    });
    for (const [i, [k, b, lo, hi]] of used.entries())
      for (const [k2, b2, lo2, hi2] of used.slice(i + 1))
        if (b === b2 && lo < hi2 && lo2 < hi)
          throw new ModelcRuntimeError("bad-option", `${where}: outputs '${k}' and '${k2}' share memory (the same array or overlapping views of one buffer); give each output its own array`);
  }

  /** Batch from options or input lengths; checks every input's length against it. */
  private batchOf(inputs: RunInputs, given: number | undefined): number {
    if (given !== undefined) {
      if (typeof given !== "number" || !Number.isInteger(given) || given < 1)
        throw new ModelcRuntimeError("bad-batch", `batch must be an integer >= 1, got ${typeof given === "number" ? given : describeValue(given)}`);
      for (const s of this.inputs) {
        const len = inputs[s.name]!.length;
        if (len !== given * s.elementsPerSample)
          throw new ModelcRuntimeError("bad-length",
            `input '${s.name}': expected ${given * s.elementsPerSample} elements (batch ${given} x ${s.elementsPerSample} per sample, shape ${showShape(s)}), got ${len}`);
      }
      return given;
    }
    let batch: number | undefined;
    let from = "";
    for (const s of this.inputs) {
      const len = inputs[s.name]!.length;
      if (s.elementsPerSample === 0) continue;
      if (len % s.elementsPerSample !== 0)
        throw new ModelcRuntimeError("bad-length",
          `input '${s.name}': expected a multiple of ${s.elementsPerSample} elements per sample (shape ${showShape(s)}), got ${len}`);
      const b = len / s.elementsPerSample;
      if (batch === undefined) {
        batch = b;
        from = s.name;
      } else if (b !== batch)
        throw new ModelcRuntimeError("bad-length",
          `input '${s.name}': expected ${batch * s.elementsPerSample} elements (batch ${batch}, as given by input '${from}'), got ${len} (batch ${b}); all inputs must have the same batch`);
    }
    if (batch === undefined) return 1;
    if (batch < 1)
      throw new ModelcRuntimeError("bad-batch", `batch must be an integer >= 1, got 0 (input '${from}' is empty)`);
    return batch;
  }

  /** Grow memory (never shrink) to `need` bytes, by default what activations for `batch` samples take. */
  private ensureMemory(batch: number, need = this.manifest.memory.activationBase + this.manifest.memory.bytesPerSample * batch): void {
    if (need > MAX_BYTES)
      throw new ModelcRuntimeError("memory", `batch ${batch} needs ${need} bytes of memory, more than wasm32's 4 GiB; use a smaller batch`);
    const have = this.memory.buffer.byteLength;
    if (need <= have) return;
    try {
      this.memory.grow(Math.ceil((need - have) / PAGE));
    } catch (e) {
      throw new ModelcRuntimeError("memory", `cannot grow memory to ${need} bytes for batch ${batch}: ${(e as Error).message}`);
    }
  }
}

/** A value as error messages show it: "null", "number 3", 'string "fast"', "Float32Array(784)", "array(1)". */
function showGot(v: unknown): string {
  const t = describeValue(v);
  const n = (v as { length?: unknown } | null)?.length;
  return typeof v === "number" || typeof v === "boolean" ? `${t} ${v}` : typeof v === "string" ? `${t} ${JSON.stringify(v)}`
    : typeof n === "number" && typeof v === "object" ? `${t}(${n})` : t;
}

/** The keys of RunOptions (the `satisfies` keeps the list complete). */
const RUN_KEYS = Object.keys({ batch: 1, nan: 1, outputs: 1 } satisfies Record<keyof RunOptions, 1>);

/** Levenshtein distance of two short strings (one row). */
function editDistance(a: string, b: string): number {
  const row = [...Array(b.length + 1).keys()];
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * Check an options argument of `where` (e.g. "run(inputs, options)"): it must be a plain object (not null, an
 * array or a primitive; `example` shows one) whose keys are all in `keys`. Values are checked by the caller.
 * Errors: `bad-option` naming the value given, or the unknown key, the valid keys and, for a likely typo
 * (case-insensitive edit distance at most 2 and under half the shorter key), the closest valid key:
 * "run(inputs, options): unknown option 'bacth' (did you mean 'batch'?); valid options: batch, nan".
 * @internal (shared by loadModel, Model.run/check and loadModelThreaded)
 */
export function checkOptions(where: string, options: unknown, keys: string[], example: string): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new ModelcRuntimeError("bad-option", `${where}: options must be an object such as ${example}, got ${showGot(options)}`);
  for (const k of Object.keys(options))
    if (!keys.includes(k)) throw new ModelcRuntimeError("bad-option", `${where}: unknown option '${k}'${didYouMean(k, keys)}; valid options: ${keys.join(", ")}`);
}

/**
 * " (did you mean 'batch'?)" for the key in `keys` closest to `k` when it is a likely typo (case-insensitive edit
 * distance at most 2 and under half the shorter key), else "".
 */
function didYouMean(k: string, keys: string[]): string {
  let near = "";
  let best = 3;
  for (const v of keys) {
    const d = editDistance(k.toLowerCase(), v.toLowerCase());
    if (d < best && d < Math.min(k.length, v.length) / 2) (best = d), (near = v);
  }
  return near ? ` (did you mean '${near}'?)` : "";
}

function arrayName(s: IoSpec): string {
  return s.dtype === "f32" ? "Float32Array" : "Int32Array";
}

/** Check a run() value against its spec's dtype (typed array kind, or a number array with valid values). */
function checkDType(s: IoSpec, v: unknown): void {
  const got = describeValue(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const ok = typeof x === "number" && (s.dtype === "f32" || (Number.isInteger(x) && x >= -2147483648 && x <= 2147483647));
      if (!ok)
        throw new ModelcRuntimeError("bad-dtype",
          `input '${s.name}': expected ${s.dtype === "f32" ? "numbers" : "32-bit integers"} (dtype ${s.dtype}), got ${showElement(x)} at index ${i}`);
    }
    return;
  }
  if (got !== arrayName(s))
    throw new ModelcRuntimeError("bad-dtype", `input '${s.name}': expected ${arrayName(s)} (dtype ${s.dtype}) or number[], got ${got}`);
}

/** An element of a number[] input as checkDType reports it: '"3"' (a string), "array(2)", "5n", "null", "1.5", "NaN". */
function showElement(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (x && typeof x === "object") return showGot(x);
  if (typeof x === "bigint") return `${x}n`;
  return String(x);
}

/**
 * Check every value of an id input against its manifest `range` [lo, hi). Errors: `bad-value` naming the
 * input, the value, its index (batch first) and the embedding table, e.g.
 * "input 'tokens': value 57 at [0, 3] is outside [0, 50) (embedding 'q_embed.weight' has 50 rows)".
 */
function checkRange(s: IoSpec, v: ArrayLike<number>): void {
  const [lo, hi] = s.range!;
  for (let k = 0; k < v.length; k++) {
    const x = v[k]!;
    if (x >= lo && x < hi) continue;
    const table = s.rangeOf ? ` (embedding '${s.rangeOf}' has ${hi} rows)` : "";
    throw new ModelcRuntimeError("bad-value", `input '${s.name}': value ${x} at ${indexOf(s, k)} is outside [${lo}, ${hi})${table}`);
  }
}

/**
 * Refuse a NaN in an f32 input (RunOptions.nan "error"). Errors: `bad-value` naming the input, the flat index
 * and the index (batch first), e.g. "input 'image': NaN at flat index 787 ([1, 0, 0, 3]); ...". The whole scan for
 * artifacts without nan_scan; otherwise it only runs after nan_scan saw a NaN, to find it. Exported for tests.
 * @internal
 */
export function checkNaN(s: IoSpec, v: ArrayLike<number>): void {
  // fast pass: x * 0 is NaN only for NaN and ±Infinity; four sums let the loop pipeline (1.5x a plain scan)
  let a = 0, b = 0, c = 0, d = 0, k = 0;
  const n = v.length, n4 = n - (n % 4);
  for (; k < n4; k += 4) (a += v[k]! * 0), (b += v[k + 1]! * 0), (c += v[k + 2]! * 0), (d += v[k + 3]! * 0);
  for (; k < n; k++) a += v[k]! * 0;
  if (a + b + c + d === 0) return;
  for (k = 0; k < n; k++) {
    if (v[k] === v[k]) continue;
    throw new ModelcRuntimeError("bad-value",
      `input '${s.name}': NaN at flat index ${k} (${indexOf(s, k)}); pass { nan: "allow" } to run() to let NaN through`);
  }
}

/** Index (batch first) of flat element `k` of a batch-major input: "[1, 0, 0, 3]". */
function indexOf(s: IoSpec, k: number): string {
  const at: number[] = [];
  for (const d of (s.shape.slice(1) as number[]).reverse()) at.unshift(k % d), (k = Math.floor(k / d));
  return `[${[k, ...at].join(", ")}]`;
}

/** A typed-array view of one input/output for `batch` samples (see the ABI in runtime/manifest.ts). */
function view(buf: ArrayBuffer, s: IoSpec, base: number, batch: number): Float32Array | Int32Array {
  const off = base + s.offsetPerSample * batch;
  const n = s.elementsPerSample * batch;
  return s.dtype === "f32" ? new Float32Array(buf, off, n) : new Int32Array(buf, off, n);
}
