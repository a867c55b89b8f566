// buildArtifact: turn the backend's SIMD/relaxed-SIMD/scalar emit results into the artifact files (wasm with the
// manifest inside, manifest JSON, weights blob, JS loader, .d.ts). Neighbours: backend/wasm/emit.ts, runtime/.

import { createHash } from "node:crypto";
import type { Graph } from "../ir/types.js";
import { MANIFEST_SECTION, VARIANT_SECTION, type IoSpec, type Manifest, type ManifestGraph, type WeightEntry } from "../../runtime/manifest.js";
import { customSections, parseManifest, type ModuleVariant } from "../../runtime/sections.js";
import { appendCustomSections } from "./sections.js";
import { loaderDts, loaderJs } from "./loader.js";
import { validateManifest } from "./validate.js";

/** The part of backend/wasm/emit.ts's EmitResult the artifact needs. */
export interface EmitResultLike {
  /** The module binary (ABI: runtime/manifest.ts). */
  wasm: Uint8Array;
  inputs: IoSpec[];
  outputs: IoSpec[];
  memory: Manifest["memory"];
  /** Weights region: `blob` holds exactly `bytes` bytes, laid out as in memory from `offset`. */
  weights: { offset: number; bytes: number; tensors: WeightEntry[]; blob: Uint8Array };
}

/** Input of buildArtifact. At least one of `simd`/`scalar` is required; all builds must share one layout. */
export interface BuildArtifactInput {
  /** Model name and file stem: letters, digits, "_", "." and "-". */
  name: string;
  /** The graph compiled (its input/output names must match the modules'). */
  graph: Graph;
  /** The SIMD build, written as NAME.wasm. */
  simd?: EmitResultLike;
  /**
   * The relaxed-SIMD build (emitWasm `relaxed: true`: f32x4.relaxed_madd in the GEMM kernels), written as
   * NAME.relaxed.wasm. Requires `simd` (the fallback on hosts without relaxed SIMD) with the same layout.
   */
  relaxed?: EmitResultLike;
  /** The scalar build, written as NAME.nosimd.wasm. */
  scalar?: EmitResultLike;
  compilerVersion: string;
  flopsPerSample: number;
  ops: number;
  /** The op list as compiled (artifact/op-list.ts), stored as the manifest's optional `graph`. Absent: none stored. */
  opList?: ManifestGraph;
  /**
   * Where the weights live. `"embedded"` (default): data segments of the modules (as emitted with
   * embedWeights: true). `"file"`: NAME.weights.bin, copied into memory by the runtime.
   */
  weights?: "embedded" | "file";
  /** Module specifier NAME.js imports loadModel from. Default "modelc/runtime". */
  runtimeImport?: string;
  /**
   * "schema" (default): check the manifest against spec/artifact.schema.json (ajv; compiling the schema costs
   * about 0.15 s CPU per process). "runtime": only the runtime's own manifest check (runtime/sections.ts
   * parseManifest), which compile() uses to stay fast; tests check the schema.
   */
  check?: "schema" | "runtime";
}

/** The artifact: its manifest and files by file name (bytes or UTF-8 text). */
export interface Artifact {
  manifest: Manifest;
  files: Map<string, Uint8Array | string>;
}

/**
 * Build the artifact files: NAME.wasm (SIMD), NAME.relaxed.wasm (relaxed SIMD, when given), NAME.nosimd.wasm
 * (scalar), NAME.manifest.json, NAME.js, NAME.d.ts and, with `weights: "file"`, NAME.weights.bin. Every wasm
 * file carries the manifest in a `modelc.manifest` custom section and its flavour in `modelc.variant`.
 * Deterministic: equal input gives byte-identical files. Throws Error on a bad name, no build, a relaxed build
 * without a SIMD one, builds with different layouts, I/O names that differ from the graph's, or a manifest
 * failing spec/artifact.schema.json.
 */
export function buildArtifact(input: BuildArtifactInput): Artifact {
  const { name } = input;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name))
    throw new Error(`buildArtifact: name ${JSON.stringify(name)} is not a valid file stem (letters, digits, "_", ".", "-")`);
  const builds = [input.simd, input.scalar].filter((b): b is EmitResultLike => b !== undefined);
  const first = builds[0];
  if (!first) throw new Error("buildArtifact: neither a SIMD nor a scalar build was given");
  if (input.relaxed && !input.simd) throw new Error("buildArtifact: a relaxed-SIMD build needs the plain SIMD build too (its fallback)");
  if (input.simd && input.scalar) sameLayout(input.simd, input.scalar, "scalar");
  if (input.simd && input.relaxed) sameLayout(input.simd, input.relaxed, "relaxed-SIMD");
  sameNames("input", input.graph.inputs.map((i) => i.name), first.inputs);
  sameNames("output", input.graph.outputs.map((o) => o.name), first.outputs);
  const w = first.weights;
  if (w.blob.length !== w.bytes) throw new Error(`buildArtifact: weights blob has ${w.blob.length} bytes, layout says ${w.bytes}`);
  const external = input.weights === "file";

  const manifest: Manifest = {
    format: "modelc-artifact",
    formatVersion: 1,
    name,
    compilerVersion: input.compilerVersion,
    inputs: first.inputs.map(copyIo),
    outputs: first.outputs.map(copyIo),
    memory: { activationBase: first.memory.activationBase, bytesPerSample: first.memory.bytesPerSample, initialPages: first.memory.initialPages },
    weights: {
      embedded: !external,
      ...(external ? { file: `${name}.weights.bin` } : {}),
      offset: w.offset,
      bytes: w.bytes,
      sha256: createHash("sha256").update(w.blob).digest("hex"),
      tensors: w.tensors.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype, offset: t.offset, ...(t.layout ? { layout: { ...t.layout } } : {}) })),
    },
    modules: {
      ...(input.simd ? { simd: `${name}.wasm` } : {}),
      ...(input.relaxed ? { relaxed: `${name}.relaxed.wasm` } : {}),
      ...(input.scalar ? { scalar: `${name}.nosimd.wasm` } : {}),
    },
    cost: { flopsPerSample: input.flopsPerSample, ops: input.ops },
    ...(input.opList ? { graph: input.opList } : {}),
  };
  if (input.check === "runtime") parseManifest(JSON.stringify(manifest), `${name}.manifest.json`);
  else {
    const problems = validateManifest(manifest);
    if (problems.length > 0) throw new Error(`buildArtifact: manifest fails spec/artifact.schema.json:\n  ${problems.join("\n  ")}`);
  }

  const compact = JSON.stringify(manifest);
  const stamp = (wasm: Uint8Array, variant: ModuleVariant): Uint8Array => {
    if (customSections(wasm).some((s) => s.name === MANIFEST_SECTION || s.name === VARIANT_SECTION))
      throw new Error(`buildArtifact: the ${variant} module already carries modelc custom sections`);
    return appendCustomSections(wasm, [
      [MANIFEST_SECTION, compact],
      [VARIANT_SECTION, variant],
    ]);
  };
  const files = new Map<string, Uint8Array | string>();
  if (input.simd) files.set(`${name}.wasm`, stamp(input.simd.wasm, "simd"));
  if (input.relaxed) files.set(`${name}.relaxed.wasm`, stamp(input.relaxed.wasm, "relaxed"));
  if (input.scalar) files.set(`${name}.nosimd.wasm`, stamp(input.scalar.wasm, "scalar"));
  if (external) files.set(`${name}.weights.bin`, w.blob);
  files.set(`${name}.manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
  const loaderOpts = input.runtimeImport !== undefined ? { runtimeImport: input.runtimeImport } : {};
  files.set(`${name}.js`, loaderJs(manifest, loaderOpts));
  files.set(`${name}.d.ts`, loaderDts(manifest, loaderOpts));
  return { manifest, files };
}

function copyIo(s: IoSpec): IoSpec {
  return {
    name: s.name,
    dtype: s.dtype,
    shape: [...s.shape],
    elementsPerSample: s.elementsPerSample,
    offsetPerSample: s.offsetPerSample,
    ...(s.range ? { range: [s.range[0], s.range[1]] as [number, number] } : {}),
    ...(s.rangeOf !== undefined ? { rangeOf: s.rangeOf } : {}),
  };
}

/** The SIMD build and the `other` one must agree on everything the one manifest describes. */
function sameLayout(a: EmitResultLike, b: EmitResultLike, other: string): void {
  const layout = (r: EmitResultLike): string =>
    JSON.stringify({ inputs: r.inputs, outputs: r.outputs, memory: r.memory, offset: r.weights.offset, bytes: r.weights.bytes, tensors: r.weights.tensors });
  if (layout(a) !== layout(b)) throw new Error(`buildArtifact: the SIMD and ${other} builds have different I/O, memory or weight layouts`);
  const blobA = a.weights.blob;
  const blobB = b.weights.blob;
  // builds of one compile() share one blob array (emit.ts WeightRegion.blob): equal without reading 4 MB twice
  if (blobA !== blobB && (blobA.length !== blobB.length || Buffer.compare(blobA, blobB) !== 0))
    throw new Error(`buildArtifact: the SIMD and ${other} builds have different weight bytes`);
}

function sameNames(what: string, graphNames: string[], specs: IoSpec[]): void {
  const names = specs.map((s) => s.name);
  if (graphNames.join("\u0000") !== names.join("\u0000"))
    throw new Error(`buildArtifact: module ${what}s [${names.join(", ")}] differ from the graph's [${graphNames.join(", ")}]`);
}
