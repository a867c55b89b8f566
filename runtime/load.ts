// loadModel: find the module of the right flavour (relaxed SIMD, SIMD or scalar), load weights if not embedded,
// instantiate and wrap it in a Model. Neighbours: runtime/source.ts, sections.ts, model.ts, index.ts.

import { ModelcRuntimeError, type ModelcRuntimeErrorCode } from "./errors.js";
import type { Manifest } from "./manifest.js";
import { checkOptions, Model } from "./model.js";
import { hostHasRelaxedSimd, hostHasSimd, parseManifest, readArtifactSections, type ModuleVariant } from "./sections.js";
import { asBytes, baseName, readLocation, showLocation, sibling, toLocation, type Location } from "./source.js";

/** Options of loadModel. */
export interface LoadOptions {
  /**
   * Which build to run. `"auto"` (default): SIMD when the host supports it, else the scalar module.
   * `"force"`: SIMD or an error (`no-simd`). `"off"`: the scalar module (`NAME.nosimd.wasm`).
   */
  simd?: "auto" | "force" | "off";
  /**
   * The relaxed-SIMD build (`NAME.relaxed.wasm`: the GEMM kernels use f32x4.relaxed_madd, a fused multiply-add
   * whose results may differ from the plain build in the last bits). `"auto"` (default): when the host validates
   * relaxed SIMD (Node 20: `--experimental-wasm-relaxed-simd`; current browsers ship it) and the artifact has
   * that build, unless `simd` is `"off"`; else as `simd` says. `"force"`: that build or an error (`no-relaxed`,
   * `no-module`). `"off"`: never (the plain SIMD build `NAME.wasm` or the scalar one).
   */
  relaxed?: "auto" | "force" | "off";
  /**
   * The weights file when the manifest says `weights.embedded: false`: bytes, or a URL/path. By default
   * the file named in the manifest next to the source; required when the source is bytes. Errors: `bad-option`
   * when given for an artifact that embeds its weights (`weights.embedded: true`).
   */
  weights?: Uint8Array | ArrayBuffer | URL | string;
}

/** The keys of LoadOptions (the `satisfies` keeps the list complete). @internal */
export const LOAD_KEYS = Object.keys({ simd: 1, relaxed: 1, weights: 1 } satisfies Record<keyof LoadOptions, 1>);

const LABEL = { relaxed: "relaxed-SIMD", simd: "SIMD", scalar: "scalar" };
const NO_SIMD = "this host's WebAssembly lacks SIMD (v128)";
function fail(code: ModelcRuntimeErrorCode, message: string): never {
  throw new ModelcRuntimeError(code, message);
}
const modeOf = (v: unknown, name: string): string =>
  v === undefined ? "auto" : v === "auto" || v === "force" || v === "off" ? v
    : fail("bad-option", `options.${name} must be "auto", "force" or "off", got ${JSON.stringify(v)}`);

/**
 * Load a compiled model from its bytes, or a URL/path (Node) of NAME.wasm, NAME.relaxed.wasm, NAME.nosimd.wasm
 * or NAME.manifest.json (siblings: other builds, weights file). Runs the best build host and options allow:
 * relaxed SIMD, SIMD, scalar (Model.variant); bytes of an acceptable build run as given. Errors
 * (ModelcRuntimeError): bad-source, bad-option (a value outside an option's set, an unknown key such as `simdd`:
 * the message lists `simd, relaxed, weights` and suggests the closest; options not a plain object; `weights` for an
 * artifact that embeds them), not-artifact,
 * bad-manifest, no-simd, no-relaxed, no-module, weights, instantiate.
 */
export async function loadModel(source: Uint8Array | ArrayBuffer | URL | string, options: LoadOptions = {}): Promise<Model> {
  return (await loadModelParts(source, options)).model;
}

/** What loadModel compiled and read, for runtime/threads.ts to hand its workers (no second compile or read). */
export interface ModelParts {
  model: Model;
  /** The compiled module of `model.variant` (workers instantiate it: postMessage carries a WebAssembly.Module). */
  module: WebAssembly.Module;
  /** The checked weights file, when the manifest says `weights.embedded: false`. */
  weights?: Uint8Array;
}

/** loadModel, also returning the compiled module and the weights file bytes. Same errors. @internal */
export async function loadModelParts(source: Uint8Array | ArrayBuffer | URL | string, options: LoadOptions = {}): Promise<ModelParts> {
  checkOptions("loadModel(source, options)", options, LOAD_KEYS, `{ simd: "off" }`);
  const mode = modeOf(options.simd, "simd");
  const rmode = modeOf(options.relaxed, "relaxed");
  const hostSimd = hostHasSimd();
  const hostRelaxed = hostSimd && hostHasRelaxedSimd();
  if (mode === "off" && rmode === "force") fail("bad-option", `relaxed: "force" contradicts simd: "off"`);
  if (mode === "force" && !hostSimd) fail("no-simd", `simd: "force" was requested but ${NO_SIMD}`);
  if (rmode === "force" && !hostRelaxed)
    fail("no-relaxed", `relaxed: "force" was requested but this host's WebAssembly lacks relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)`);
  // acceptable builds, best first; why `v` is not one
  const order: ModuleVariant[] = rmode === "force" ? ["relaxed"] : mode === "off" || !hostSimd ? ["scalar"]
    : [...(hostRelaxed && rmode === "auto" ? ["relaxed" as const] : []), "simd", ...(mode === "auto" ? ["scalar" as const] : [])];
  const why = (v?: ModuleVariant): string =>
    rmode === "force" ? `relaxed: "force" was requested` : order[0] === "scalar" ? (mode === "off" ? `simd: "off" was requested` : NO_SIMD)
      : v !== "relaxed" ? `simd: "force" was requested` : rmode === "off" ? `relaxed: "off" was requested` : "this host's WebAssembly lacks relaxed SIMD";
  const best = (m: Manifest): ModuleVariant | undefined => order.find((v) => m.modules[v] !== undefined);
  const pick = (m: Manifest): ModuleVariant => {
    const v = order.at(-1)!;
    return best(m) ?? fail(hostSimd ? "no-module" : "no-simd", `${why()} but artifact '${m.name}' has no ${LABEL[v]} build (manifest.modules.${v})`);
  };

  let loc: Location | undefined;
  let bytes: Uint8Array;
  if (typeof source === "string" || source instanceof URL) {
    loc = toLocation(source);
    if (baseName(loc).endsWith(".json")) {
      const m = parseManifest(new TextDecoder().decode(await readLocation(loc)), showLocation(loc));
      loc = sibling(loc, m.modules[pick(m)]!);
    }
    bytes = await readLocation(loc);
  } else bytes = asBytes(source, "loadModel(source)");

  let { manifest, variant } = readArtifactSections(bytes);
  if (variant === undefined && loc) variant = guessVariant(manifest, baseName(loc));
  if (variant !== undefined && variant !== order[0]) {
    if (loc) {
      const want = pick(manifest);
      if (want !== variant) {
        const next = sibling(loc, manifest.modules[want]!);
        let got: Uint8Array | undefined;
        try {
          got = await readLocation(next);
        } catch (e) {
          if (!order.includes(variant)) throw e; // a better build that is not there: run the acceptable one we have
        }
        if (got) {
          loc = next;
          bytes = got;
          ({ manifest, variant } = readArtifactSections(bytes));
          variant ??= want;
        }
      }
    } else if (!order.includes(variant)) {
      const alt = best(manifest);
      fail(rmode === "force" || (variant === "relaxed" && order[0] !== "scalar") ? "no-relaxed" : "no-simd",
        `${why(variant)} but the ${LABEL[variant]} module's bytes were given; ` +
          (alt ? `pass the bytes of ${manifest.modules[alt]} or load from a path/URL` : `artifact '${manifest.name}' has no ${LABEL[order.at(-1)!]} build (manifest.modules.${order.at(-1)})`));
    }
  }
  variant ??= best(manifest) ?? order[0]!;
  if (manifest.weights.embedded && options.weights !== undefined)
    fail("bad-option", `options.weights was given but artifact '${manifest.name}' embeds its weights; drop options.weights`);

  const weights = manifest.weights.embedded ? undefined : await loadWeights(manifest, options.weights, loc);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    fail("instantiate", `cannot instantiate model '${manifest.name}' (${LABEL[variant]} build): ${(e as Error).message}`);
  }
  return { model: await instantiateModel(module, manifest, variant, weights), module, ...(weights ? { weights } : {}) };
}

/**
 * Instantiate a compiled modelc module (of build `variant`) and wrap it in a Model, copying `weights` (the checked
 * weights file) into memory when given. Errors: `instantiate` when it fails or does not follow the ABI. @internal
 */
export async function instantiateModel(module: WebAssembly.Module, manifest: Manifest, variant: ModuleVariant, weights?: Uint8Array): Promise<Model> {
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, {});
  } catch (e) {
    fail("instantiate", `cannot instantiate model '${manifest.name}' (${LABEL[variant]} build): ${(e as Error).message}`);
  }
  const { memory, run, nan_scan } = instance.exports as { memory?: unknown; run?: unknown; nan_scan?: unknown };
  if (!(memory instanceof WebAssembly.Memory) || typeof run !== "function")
    fail("instantiate", `model '${manifest.name}' does not follow the modelc ABI: expected exports 'memory' (Memory) and 'run' (function)`);
  if (weights) {
    const end = manifest.weights.offset + weights.length;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
    new Uint8Array(memory.buffer, manifest.weights.offset, weights.length).set(weights);
  }
  return new Model(manifest, memory, run as (batch: number) => void, variant !== "scalar", variant, nan_scan as ((ptr: number, n: number) => number) | undefined);
}

/** Which build a file is, from its name, for modules without a `modelc.variant` section (older than relaxed builds). */
function guessVariant(m: Manifest, file: string): ModuleVariant | undefined {
  if (file === m.modules.scalar || file.endsWith(".nosimd.wasm")) return "scalar";
  if (file === m.modules.simd) return "simd";
  return undefined;
}

/** Read and check the external weights file. Errors: `weights` naming expected vs got length/hash. */
async function loadWeights(m: Manifest, given: LoadOptions["weights"], loc: Location | undefined): Promise<Uint8Array> {
  const file = m.weights.file ?? "(unnamed)";
  let bytes: Uint8Array;
  if (typeof given === "string" || given instanceof URL) bytes = await readLocation(toLocation(given));
  else if (given !== undefined) bytes = asBytes(given, "options.weights");
  else if (loc) bytes = await readLocation(sibling(loc, file));
  else
    fail("weights",
      `model '${m.name}' has weights in a separate file (${file}); pass options.weights when loading from bytes`);
  if (bytes.length !== m.weights.bytes)
    fail("weights", `weights file ${file}: expected ${m.weights.bytes} bytes, got ${bytes.length}`);
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle) {
    const digest = new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== m.weights.sha256.toLowerCase())
      fail("weights", `weights file ${file}: expected SHA-256 ${m.weights.sha256}, got ${hex}`);
  }
  return bytes;
}
