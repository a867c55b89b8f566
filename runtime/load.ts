// loadModel: find the module of the right flavour (SIMD or scalar), load weights if not embedded,
// instantiate and wrap it in a Model. Neighbours: runtime/source.ts, sections.ts, model.ts, index.ts.

import { ModelcRuntimeError } from "./errors.js";
import type { Manifest } from "./manifest.js";
import { Model } from "./model.js";
import { hostHasSimd, parseManifest, readArtifactSections, type ModuleVariant } from "./sections.js";
import { asBytes, baseName, readLocation, showLocation, sibling, toLocation, type Location } from "./source.js";

/** Options of loadModel. */
export interface LoadOptions {
  /**
   * Which build to run. `"auto"` (default): SIMD when the host supports it, else the scalar module.
   * `"force"`: SIMD or an error (`no-simd`). `"off"`: the scalar module (`NAME.nosimd.wasm`).
   */
  simd?: "auto" | "force" | "off";
  /**
   * The weights file when the manifest says `weights.embedded: false`: bytes, or a URL/path. By default
   * the file named in the manifest next to the source; required when the source is bytes.
   */
  weights?: Uint8Array | ArrayBuffer | URL | string;
}

/**
 * Load a compiled model. `source` is the module's bytes, or a URL/path (Node) of `NAME.wasm`,
 * `NAME.nosimd.wasm` or `NAME.manifest.json`; siblings (the other build, the weights file) are found
 * next to it. The manifest is read from the module's `modelc.manifest` custom section.
 * Errors (ModelcRuntimeError): `bad-source`, `bad-option`, `not-artifact`, `bad-manifest`, `no-simd`,
 * `no-module`, `weights`, `instantiate`.
 */
export async function loadModel(source: Uint8Array | ArrayBuffer | URL | string, options: LoadOptions = {}): Promise<Model> {
  const mode = options.simd ?? "auto";
  if (mode !== "auto" && mode !== "force" && mode !== "off")
    throw new ModelcRuntimeError("bad-option", `options.simd must be "auto", "force" or "off", got ${JSON.stringify(mode)}`);
  const hostSimd = hostHasSimd();
  if (mode === "force" && !hostSimd)
    throw new ModelcRuntimeError("no-simd", `simd: "force" was requested but this host's WebAssembly lacks SIMD (v128)`);
  const want: ModuleVariant = mode === "off" || !hostSimd ? "scalar" : "simd";

  let loc: Location | undefined;
  let bytes: Uint8Array;
  if (typeof source === "string" || source instanceof URL) {
    loc = toLocation(source);
    if (baseName(loc).endsWith(".json")) {
      const text = new TextDecoder().decode(await readLocation(loc));
      const m = parseManifest(text, showLocation(loc));
      const file = pickFile(m, want, mode, hostSimd, undefined);
      if (file === undefined) throw new ModelcRuntimeError("no-module", `${showLocation(loc)} names no module`);
      loc = sibling(loc, file);
    }
    bytes = await readLocation(loc);
  } else bytes = asBytes(source, "loadModel(source)");

  let { manifest, variant } = readArtifactSections(bytes);
  if (variant === undefined && loc) variant = guessVariant(manifest, baseName(loc));
  if (variant !== undefined && variant !== want) {
    const file = pickFile(manifest, want, mode, hostSimd, variant);
    if (file !== undefined && loc) {
      loc = sibling(loc, file);
      bytes = await readLocation(loc);
      ({ manifest, variant } = readArtifactSections(bytes));
      variant ??= want;
    } else if (file !== undefined && variant === "scalar") {
      if (mode === "force")
        throw new ModelcRuntimeError("no-simd", `simd: "force" was requested but the scalar module's bytes were given; pass the bytes of ${file}`);
      // auto with scalar bytes: run them as given
    } else if (file !== undefined) {
      const why = mode === "off" ? `simd: "off" was requested` : `this host's WebAssembly lacks SIMD (v128)`;
      throw new ModelcRuntimeError("no-simd",
        `${why} but only the SIMD module's bytes were given; pass the bytes of the scalar build ${manifest.modules.scalar} or load from a path/URL`);
    }
  }
  const simd = variant === undefined ? want === "simd" && manifest.modules.simd !== undefined : variant === "simd";

  const weights = manifest.weights.embedded ? undefined : await loadWeights(manifest, options.weights, loc);
  let instance: WebAssembly.Instance;
  try {
    const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    instance = await WebAssembly.instantiate(module, {});
  } catch (e) {
    throw new ModelcRuntimeError("instantiate", `cannot instantiate model '${manifest.name}' (${simd ? "SIMD" : "scalar"} build): ${(e as Error).message}`);
  }
  const { memory, run } = instance.exports as { memory?: unknown; run?: unknown };
  if (!(memory instanceof WebAssembly.Memory) || typeof run !== "function")
    throw new ModelcRuntimeError("instantiate", `model '${manifest.name}' does not follow the modelc ABI: expected exports 'memory' (Memory) and 'run' (function)`);
  if (weights) {
    const end = manifest.weights.offset + weights.length;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
    new Uint8Array(memory.buffer, manifest.weights.offset, weights.length).set(weights);
  }
  return new Model(manifest, memory, run as (batch: number) => void, simd);
}

/**
 * The module file to load for `want`, given the one we have (`have`, undefined when starting from the
 * manifest JSON). Returns undefined when `have` is acceptable. Errors: `no-module`, `no-simd`.
 */
function pickFile(m: Manifest, want: ModuleVariant, mode: string, hostSimd: boolean, have: ModuleVariant | undefined): string | undefined {
  const file = want === "simd" ? m.modules.simd : m.modules.scalar;
  if (file !== undefined) return file;
  if (want === "simd" && mode === "auto") return have === undefined ? m.modules.scalar : undefined; // no SIMD build: scalar is fine
  if (want === "simd")
    throw new ModelcRuntimeError("no-module", `simd: "force" was requested but artifact '${m.name}' has no SIMD build (manifest.modules.simd)`);
  const why = mode === "off" ? `simd: "off" was requested` : `this host's WebAssembly lacks SIMD (v128)`;
  throw new ModelcRuntimeError(hostSimd ? "no-module" : "no-simd", `${why} but artifact '${m.name}' has no scalar build (manifest.modules.scalar)`);
}

/** Which build a file is, from its name, for modules without a `modelc.variant` section. */
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
    throw new ModelcRuntimeError("weights",
      `model '${m.name}' has weights in a separate file (${file}); pass options.weights when loading from bytes`);
  if (bytes.length !== m.weights.bytes)
    throw new ModelcRuntimeError("weights", `weights file ${file}: expected ${m.weights.bytes} bytes, got ${bytes.length}`);
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle) {
    const digest = new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== m.weights.sha256.toLowerCase())
      throw new ModelcRuntimeError("weights", `weights file ${file}: expected SHA-256 ${m.weights.sha256}, got ${hex}`);
  }
  return bytes;
}
