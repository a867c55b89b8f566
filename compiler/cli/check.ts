// `modelc check FILE`: parse and shape-check a .model file, print diagnostics with carets.
// Neighbours: cli/main.ts registers it; check.ts (checkSource) does the work: front end and the graph passes, no binaryen.

import { checkSource } from "../check.js";
import { numel } from "../ir/graph.js";
import type { Graph } from "../ir/types.js";
import { optimizeGraph, optimizeWithoutWeights } from "../passes/pipeline.js";
import { EXIT_OK, EXIT_USER, printDiagnostics, readUserText, formatCount, type CliIo } from "./common.js";

/** Options of `modelc check`. */
export interface CheckCommandOptions {
  /** Which model of the file (default: the only/first one). */
  model?: string;
}

/** Trainable parameter count (kind "param"; state buffers such as running_mean are not counted, as in PyTorch's parameters()). */
export function countParameters(graph: Graph): number {
  let n = 0;
  for (const v of Object.values(graph.values))
    if (v.kind === "param") n += numel(v.type.shape.map((d) => (typeof d === "number" ? d : 1)));
  return n;
}

/**
 * The graph as `modelc compile` runs it, without binaryen or weight values: compile()'s optimizeGraph (inference
 * passes: dropout removal, constant folding, CSE, DCE) then the weight passes' graph rewrites (batchnorm folding).
 * `optimized` is the graph between the two, whose params are still the model's own state_dict tensors.
 * A few ms for the examples (mnist-vqa 5.5 ms CPU).
 */
export function asCompiled(graph: Graph): { optimized: Graph; compiled: Graph } {
  const optimized = optimizeGraph(graph, { mode: "infer" });
  return { optimized, compiled: optimizeWithoutWeights(optimized, { mode: "infer" }) };
}

/**
 * Run `modelc check`: prints every diagnostic (stderr) and, without errors,
 * `ok: N ops as written (M as compiled), P parameters` (stdout): N counts the graph lowered from the source,
 * M the graph the artifact runs (after the inference passes and batchnorm folding, as `modelc inspect` shows it). Returns exit code 0, or 1 when the file is unreadable or has errors.
 * Throws UserError for an unreadable file.
 */
export async function checkCommand(file: string, options: CheckCommandOptions, io: CliIo): Promise<number> {
  const source = await readUserText(file, "model file");
  const r = checkSource(source, file, options.model !== undefined ? { model: options.model } : {});
  if (printDiagnostics(io, r.diagnostics, { [file]: source }) || !r.graph) return EXIT_USER;
  const compiledOps = asCompiled(r.graph).compiled.nodes.length;
  io.out(`ok: ${r.graph.nodes.length} ops as written (${compiledOps} as compiled), ${formatCount(countParameters(r.graph))} parameters`);
  return EXIT_OK;
}
