// `modelc export --onnx FILE -o model.onnx`: a model (a .model file with --weights/--seed, or a compiled artifact
// with --source) as an ONNX file. Neighbours: export/onnx.ts (the conversion), cli/compile.ts (same weight options;
// weights/load.ts reads --weights for both: a state_dict or a training checkpoint).

import { basename, dirname, join } from "node:path";
import { existsSync } from "node:fs";
import { checkSource } from "../check.js";
import { hasErrors } from "../diagnostics.js";
import { bindWeights } from "../weights/bind.js";
import { initWeights } from "../weights/init.js";
import { parseWeightsFile, withoutUnusedParams } from "../weights/load.js";
import { compilerVersion } from "../io/version.js";
import type { Graph, WeightMap } from "../ir/types.js";
import { HeadSelectionError, selectHeads } from "../passes/select-heads.js";
import { FOLD_SEPARATOR, foldBatchnormGraph } from "../passes/fold-batchnorm.js";
import { OnnxExportError, exportOnnx, onnxGraph } from "../export/onnx.js";
import { parseManifest, readArtifactSections } from "../../runtime/sections.js";
import type { Manifest } from "../../runtime/manifest.js";
import { ModelcRuntimeError } from "../../runtime/errors.js";
import { readWeightTensor } from "../../runtime/layout.js";
import { EXIT_OK, EXIT_USER, UserError, cannotRead, writeUserFile, formatBytes, printDiagnostics, readUserFile, readUserText, type CliIo } from "./common.js";

/** Options of `modelc export` (CLI flags in brackets). */
export interface ExportCommandOptions {
  /** [--onnx] write ONNX (the only format so far; required). */
  onnx?: boolean;
  /** [-o FILE] output file. Default: NAME.onnx in the current directory. */
  out?: string;
  /** [--weights W.safetensors] for a .model file: PyTorch state_dict or modelc training checkpoint; default seeded init. */
  weights?: string;
  /** [--seed N] initializer seed for a .model file without --weights. Default 0. */
  seed?: number;
  /** [--model NAME] which model of the file. */
  model?: string;
  /** [--source FILE.model] for an artifact: the .model file it was compiled from (artifacts carry weights, not the graph). */
  source?: string;
  /** [--heads a,b] export only these outputs (passes/select-heads.ts); their branches' params only. */
  heads?: string[];
}

/**
 * The inference graph of a .model file to export (onnxGraph, after selectHeads with --heads) and the declared graph of
 * the whole model, or undefined after printing its diagnostics. Throws UserError for an unknown head.
 */
async function graphOf(file: string, options: ExportCommandOptions, io: CliIo): Promise<{ graph: Graph; declared: Graph } | undefined> {
  const source = await readUserText(file, "model file");
  const r = checkSource(source, file, options.model !== undefined ? { model: options.model } : {});
  if (printDiagnostics(io, r.diagnostics, { [file]: source }) || !r.graph || hasErrors(r.diagnostics)) return undefined;
  try {
    return { graph: onnxGraph(options.heads ? selectHeads(r.graph, options.heads) : r.graph), declared: r.graph };
  } catch (e) {
    if (e instanceof HeadSelectionError) throw new UserError(e.hint ? `${e.message}; ${e.hint}` : e.message);
    throw e;
  }
}

/**
 * The weights of a compiled artifact (NAME.wasm, NAME.nosimd.wasm or NAME.manifest.json), by state_dict name, read
 * from the weights region the manifest describes (unpacked to PyTorch layout): instantiating the module (embedded data
 * segments) or reading NAME.weights.bin next to it. Throws UserError for unreadable or non-modelc files.
 */
async function artifactWeights(file: string): Promise<{ manifest: Manifest; weights: WeightMap }> {
  const bytes = await readUserFile(file, "artifact");
  let manifest: Manifest;
  let wasm: Uint8Array | undefined;
  try {
    if (file.endsWith(".json")) manifest = parseManifest(new TextDecoder().decode(bytes), file);
    else {
      manifest = readArtifactSections(bytes).manifest;
      wasm = bytes;
    }
  } catch (e) {
    if (e instanceof ModelcRuntimeError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
  let region: Uint8Array;
  const w = manifest.weights;
  if (w.embedded) {
    if (!wasm) {
      const name = manifest.modules.simd ?? manifest.modules.scalar;
      if (!name) throw new UserError(`${file}: the manifest names no module`);
      wasm = await readUserFile(join(dirname(file), name), "artifact module");
    }
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), {});
    const memory = instance.exports["memory"] as WebAssembly.Memory;
    region = new Uint8Array(memory.buffer, w.offset, w.bytes).slice();
  } else {
    const path = join(dirname(file), w.file ?? `${manifest.name}.weights.bin`);
    if (!existsSync(path)) throw new UserError(`${file}: its weights file '${path}' is missing`);
    region = await readUserFile(path, "weights file");
    if (region.length !== w.bytes) throw new UserError(`${path}: has ${region.length} bytes, the manifest says ${w.bytes}`);
  }
  const weights: WeightMap = new Map();
  // readWeightTensor undoes the packed layouts (e.g. dense weights as GEMM panels) into PyTorch row-major order
  for (const t of w.tensors) weights.set(t.name, { shape: [...t.shape], data: readWeightTensor(t, region, w.offset) });
  return { manifest, weights };
}

/**
 * Run `modelc export --onnx FILE -o OUT.onnx`. FILE is a .model file (weights from --weights, else initialized with
 * --seed, as `modelc compile` does) or a compiled artifact (.wasm / .manifest.json: its weights, with the graph
 * from --source FILE.model). Writes the ONNX file atomically and prints its size and op count.
 * Returns 0, or 1 on diagnostics. Throws UserError for a missing --onnx, unreadable files, weights that do not fit,
 * or an op without an ONNX mapping (the message names the op).
 */
export async function exportCommand(file: string, options: ExportCommandOptions, io: CliIo): Promise<number> {
  if (!options.onnx) throw new UserError("say which format to export: --onnx (the only one so far)");
  const isArtifact = file.endsWith(".wasm") || file.endsWith(".json");
  let graph: Graph | undefined;
  let weights: WeightMap;
  if (isArtifact) {
    if (options.source === undefined)
      throw new UserError(`${file} is a compiled artifact: it carries the weights but not the graph; pass --source FILE.model (the file it was compiled from)`);
    if (options.weights !== undefined) throw new UserError("--weights is for a .model file; an artifact's own weights are exported");
    const art = await artifactWeights(file);
    const g = await graphOf(options.source, options, io);
    if (!g) return EXIT_USER;
    // An artifact whose batchnorms were folded into conv/dense (passes/fold-batchnorm.ts) stores the folded tensors
    // ("stage1.conv.weight~stage1.bn") instead of the layer's and the batchnorm's: export the same folded graph.
    graph = [...art.weights.keys()].some((k) => k.includes(FOLD_SEPARATOR)) ? foldBatchnormGraph(g.graph).graph : g.graph;
    const bound = bindWeights(graph, withoutUnusedParams(art.weights, g.declared, graph));
    if (printDiagnostics(io, bound.diagnostics, {}) || !bound.weights) throw new UserError(`${file}: its weights do not fit the graph of ${options.source}`);
    weights = bound.weights;
  } else {
    if (options.source !== undefined) throw new UserError("--source is for an artifact; FILE is already a .model file");
    const g = await graphOf(file, options, io);
    if (!g) return EXIT_USER;
    graph = g.graph;
    if (options.weights !== undefined) {
      let loaded;
      try {
        // as `modelc compile`: a training checkpoint's optimizer state (`optim.*`) is left out
        loaded = parseWeightsFile(await readUserFile(options.weights, "weights file"));
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(cannotRead("weights file", options.weights, (e as Error).message));
      }
      const source = await readUserText(file, "model file");
      const bound = bindWeights(graph, withoutUnusedParams(loaded, g.declared, graph));
      if (printDiagnostics(io, bound.diagnostics, { [file]: source }) || !bound.weights) return EXIT_USER;
      weights = bound.weights;
    } else weights = initWeights(graph, options.seed ?? 0);
  }
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(graph, weights, { producerVersion: compilerVersion(), docString: `exported by modelc from ${basename(file)}` });
  } catch (e) {
    if (e instanceof OnnxExportError) throw new UserError(e.message);
    throw e;
  }
  const out = options.out ?? `${graph.name}.onnx`;
  await writeUserFile(out, bytes, "ONNX file");
  io.out(`wrote ${out}  ${formatBytes(bytes.length)}  (ONNX opset 17, ${graph.nodes.length} modelc ops, batch dimension "N")`);
  return EXIT_OK;
}
