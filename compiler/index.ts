// The public compiler API ("modelc"): compile() runs the whole pipeline, check() the front end; the
// stage functions are re-exported. Neighbours: check.ts, passes/pipeline.ts, weights/*, backend/wasm/emit.ts
// (imported lazily: it loads binaryen), artifact/build.ts; cli/* is the command-line face of this file.

import { checkSource } from "./check.js";
import { diag, hasErrors, type Diagnostic } from "./diagnostics.js";
import type { Graph, WeightMap } from "./ir/types.js";
import { getOp } from "./ir/ops/index.js";
import { optimizeGraph, optimizeWithWeights } from "./passes/pipeline.js";
import { HeadSelectionError, selectHeads } from "./passes/select-heads.js";
import { bindWeights } from "./weights/bind.js";
import { initWeights } from "./weights/init.js";
import { parseWeightsFile, withoutUnusedParams } from "./weights/load.js";
import { compilerVersion } from "./io/version.js";
import { opList } from "./artifact/op-list.js";
import { checkCheckArgs, checkCompileArgs, type CheckOptions } from "./api-options.js";
import type { Manifest } from "../runtime/manifest.js";

export { checkSource } from "./check.js";
export { optimizeGraph } from "./passes/pipeline.js";
export { planMemory, type MemoryPlan } from "./backend/wasm/plan.js";
export { buildArtifact, type Artifact } from "./artifact/build.js";
export { writeArtifactFiles } from "./artifact/write.js";
export { formatDiagnostic, hasErrors, DIAGNOSTIC_CODES, type Diagnostic, type DiagnosticCode } from "./diagnostics.js";
export { readSafetensors, writeSafetensors, parseSafetensors, type SafetensorsTensor } from "./weights/safetensors.js";
export { bindWeights, checkWeights, type WeightProblem } from "./weights/bind.js";
export { initWeights } from "./weights/init.js";
export { readNpy, writeNpy, type NpyArray, type NpyDType } from "./data/npy.js";
export { writeFileAtomic } from "./io/atomic.js";
export { compilerVersion } from "./io/version.js";
export type { Graph, WeightMap, WeightTensor, TensorType, ValueInfo, Node } from "./ir/types.js";
export type { Manifest } from "../runtime/manifest.js";
export type { CheckOptions } from "./api-options.js";

/**
 * Options of compile(). Checked before any work: an unknown key (with "did you mean"), a value of the wrong type or
 * a weights path instead of bytes is a thrown TypeError "compile(source, options): options.KEY must be ..., got ...".
 */
export interface CompileOptions {
  /** File name used in diagnostics. Default "<input>". */
  file?: string;
  /** Which `model` of the file to compile (a file may hold several). Default: the only/first one. */
  model?: string;
  /**
   * Weights: safetensors bytes (a PyTorch state_dict saved with safetensors, e.g. `readFileSync(path)`) or a ready
   * WeightMap. Not a path: compile() reads no files (it runs wherever the bundle does), so a string is a TypeError.
   * Checked against the model's params (E0601 lists every mismatch). Default: seeded PyTorch-style init.
   */
  weights?: Uint8Array | WeightMap;
  /** Seed of the initializer when no weights are given: an integer in [0, 2^32). Default 0. */
  seed?: number;
  /** Which builds to emit: "both" (default; SIMD NAME.wasm + scalar NAME.nosimd.wasm), "simd" or "scalar". */
  simd?: "both" | "simd" | "scalar";
  /**
   * With a SIMD build: also emit the relaxed-SIMD build NAME.relaxed.wasm (f32x4.relaxed_madd fused multiply-add
   * in the GEMM kernels; the runtime picks it on hosts that validate relaxed SIMD). Written only when it differs
   * from NAME.wasm, i.e. the graph has a GEMM-using op (dense, conv, ...). Costs a rewrite of the SIMD module's
   * bytes (backend/wasm/relaxed-bytes.ts: each madd's f32x4.mul, f32x4.add becomes f32x4.relaxed_madd), not a
   * second kernel run; binaryen emits a second binary only as the fallback when that byte search is ambiguous.
   * Default true.
   */
  relaxed?: boolean;
  /** True (default): weights are data segments of the modules. False: a separate NAME.weights.bin file. */
  embedWeights?: boolean;
  /** Artifact name (file stem). Default: the model's name. */
  name?: string;
  /**
   * Keep only these outputs (passes/select-heads.ts): the other heads' branches, params and the inputs only
   * they read are removed. Weights (given or initialized) are those of the full model, so the kept outputs
   * equal the full module's bit for bit. An unknown name is an E0810 diagnostic. An array even for one head
   * (`["probs"]`; the CLI's `--heads a,b` is `["a", "b"]`): a string is a TypeError. Default: all outputs.
   */
  heads?: string[];
  /**
   * Names of passes/pipeline.ts WEIGHT_PASSES to leave out (e.g. ["fold-batchnorm"], for A/B tests and benchmarks);
   * an unknown name is a TypeError. Default: none (all run).
   */
  skipPasses?: string[];
}

/** Result of compile(): diagnostics always; graph when the front end succeeded; artifact on full success. */
export interface CompileResult {
  diagnostics: Diagnostic[];
  /** The optimized inference graph (after the weight passes too when the artifact was built). */
  graph?: Graph;
  /** The weights that were compiled in (loaded or initialized; folded tensors under their new names). */
  weights?: WeightMap;
  artifact?: { manifest: Manifest; files: Map<string, Uint8Array | string> };
}

/** Result of check(): the lowered (not yet optimized) graph when there are no errors. */
export interface CheckResult {
  /**
   * Every diagnostic (all independent errors, not only the first; no cap), sorted by source position:
   * `diagnostics[0]` is the first in the file. Errors caused by an earlier one are not reported.
   */
  diagnostics: Diagnostic[];
  graph?: Graph;
}

/**
 * Parse, resolve and shape-check a `.model` source (no code generation, no binaryen).
 * Primary form, as compile(): `check(source, { file, model })`; `file` (name in diagnostics) defaults to "<input>",
 * `model` to the only/first model of the file. The positional form `check(source, file?, { model }?)` is kept.
 * Errors in the source come back as diagnostics (never thrown); API misuse (a non-string source or file, an
 * unknown option key, `file` given twice) is a thrown TypeError "check(source, options): ...".
 */
export function check(source: string, options?: CheckOptions): CheckResult;
export function check(source: string, file?: string, options?: { model?: string }): CheckResult;
export function check(source: string, fileOrOptions?: string | CheckOptions, options?: { model?: string }): CheckResult {
  const { file, model } = checkCheckArgs(source, fileOrOptions, options);
  const r = checkSource(source, file, model !== undefined ? { model } : {});
  return { diagnostics: r.diagnostics, ...(r.graph && !hasErrors(r.diagnostics) ? { graph: r.graph } : {}) };
}

/** Floating point operations per sample (batch 1) from the op table's cost rules; unknown ops count 0. */
export function flopsPerSample(graph: Graph): number {
  let flops = 0;
  for (const n of graph.nodes) {
    const def = getOp(n.op);
    if (!def) continue;
    const ins = n.inputs.map((i) => graph.values[i]!.type);
    const outs = n.outputs.map((o) => graph.values[o]!.type);
    flops += def.cost(ins, outs, n.attrs, 1).flops;
  }
  return flops;
}

/**
 * Compile a `.model` source to an artifact: checkSource -> optimizeGraph(infer) -> weights (bind
 * the given ones, or initWeights(seed)) -> optimizeWithWeights(infer: batchnorm folding) -> emitWasm (SIMD, relaxed SIMD
 * and/or scalar) -> buildArtifact.
 * User errors (syntax, names, shapes, weights that do not fit) are diagnostics, and stop the
 * pipeline; `artifact` is then absent. Weights bytes that are not valid safetensors give E0601 too.
 * Internal failures of later stages (backend bugs) are thrown. API misuse (a non-string source, options that are
 * not an object, an unknown key, a value of the wrong type; see CompileOptions) is a TypeError (the returned
 * promise rejects) before any work. The backend is imported lazily.
 */
export async function compile(source: string, options: CompileOptions = {}): Promise<CompileResult> {
  checkCompileArgs(source, options);
  const file = options.file ?? "<input>";
  const checked = checkSource(source, file, options.model !== undefined ? { model: options.model } : {});
  const diagnostics = [...checked.diagnostics];
  if (!checked.graph || hasErrors(diagnostics)) return { diagnostics };
  const full = optimizeGraph(checked.graph, { mode: "infer" });
  let graph = full;
  if (options.heads !== undefined) {
    try {
      graph = optimizeGraph(selectHeads(checked.graph, options.heads), { mode: "infer" });
    } catch (e) {
      if (!(e instanceof HeadSelectionError)) throw e;
      diagnostics.push(diag("E0810", e.message, undefined, e.hint ? { hint: e.hint } : {}));
      return { diagnostics, graph: full };
    }
  }

  let weights: WeightMap;
  if (options.weights instanceof Uint8Array) {
    let loaded;
    try {
      // a training checkpoint's optimizer state (`optim.*`) is left out
      loaded = parseWeightsFile(options.weights);
    } catch (e) {
      diagnostics.push(diag("E0601", `cannot read the weights: ${(e as Error).message}`));
      return { diagnostics, graph };
    }
    const bound = bindWeights(full, withoutUnusedParams(loaded, checked.graph, full));
    diagnostics.push(...bound.diagnostics);
    if (!bound.weights) return { diagnostics, graph };
    weights = bound.weights;
  } else if (options.weights instanceof Map) {
    const bound = bindWeights(full, withoutUnusedParams(options.weights, checked.graph, full));
    diagnostics.push(...bound.diagnostics);
    if (!bound.weights) return { diagnostics, graph };
    weights = bound.weights;
  } else weights = initWeights(full, options.seed ?? 0);
  if (graph !== full) {
    // The kept heads' params: the full model's tensors (same values as without --heads).
    const keep = new Set(Object.values(graph.values).filter((v) => v.kind === "param" || v.kind === "state").map((v) => v.name ?? v.id));
    weights = new Map([...weights].filter(([name]) => keep.has(name)));
  }
  // Passes that rewrite tensor values (batchnorm folded into conv/dense) need the bound weights.
  ({ graph, weights } = optimizeWithWeights(graph, weights, { mode: "infer", ...(options.skipPasses ? { skip: options.skipPasses } : {}) }));

  const simd = options.simd ?? "both";
  const embedWeights = options.embedWeights ?? true;
  // The graph the backend sees must be valid IR; a failure here is a compiler bug, not a user error.
  const { validateGraph } = await import("./ir/validate.js");
  const problems = validateGraph(graph, { schema: false });
  if (problems.length) throw new Error(`internal: invalid IR after optimization:\n  ${problems.slice(0, 10).join("\n  ")}`);
  const { prepareWasm, emitPrepared, emitSimdAndRelaxed, planKernels } = await import("./backend/wasm/emit.js");
  const { buildArtifact } = await import("./artifact/build.js");
  // Lowering, memory plan and packed weights are the same for every build: made once, and the relaxed build is
  // the SIMD build's IR with its madds rewritten (byte-identical to one emitWasm per build, test/emit-prep.test.ts).
  const prep = prepareWasm(graph, weights);
  const pair = simd !== "scalar" && options.relaxed !== false ? emitSimdAndRelaxed(prep, { embedWeights }) : undefined;
  const simdBuild = pair ? pair.simd : simd !== "scalar" ? emitPrepared(prep, { simd: true, embedWeights }) : undefined;
  const scalarBuild = simd !== "simd" ? emitPrepared(prep, { simd: false, embedWeights }) : undefined;
  let relaxedBuild = pair?.relaxed;
  // identical bytes: no kernel uses fused multiply-add, so a relaxed file would only duplicate NAME.wasm
  if (relaxedBuild && Buffer.compare(relaxedBuild.wasm, simdBuild!.wasm) === 0) relaxedBuild = undefined;
  const artifact = buildArtifact({
    name: options.name ?? graph.name,
    graph,
    ...(simdBuild ? { simd: simdBuild } : {}),
    ...(relaxedBuild ? { relaxed: relaxedBuild } : {}),
    ...(scalarBuild ? { scalar: scalarBuild } : {}),
    compilerVersion: compilerVersion(),
    flopsPerSample: flopsPerSample(graph),
    ops: graph.nodes.length,
    opList: opList(graph, planKernels(graph, prep.graph, prep.plan)),
    weights: embedWeights ? "embedded" : "file",
    check: "runtime",
  });
  return { diagnostics, graph, weights, artifact };
}
