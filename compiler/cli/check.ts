// `modelc check FILE`: parse and shape-check a .model file, print diagnostics with carets.
// Neighbours: cli/main.ts registers it; check.ts (checkSource) does the work: front end only, no binaryen.

import { checkSource } from "../check.js";
import { numel } from "../ir/graph.js";
import type { Graph } from "../ir/types.js";
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
 * Run `modelc check`: prints every diagnostic (stderr) and, without errors, `ok: N ops, P parameters`
 * (stdout). Returns exit code 0, or 1 when the file is unreadable or has errors.
 * Throws UserError for an unreadable file.
 */
export async function checkCommand(file: string, options: CheckCommandOptions, io: CliIo): Promise<number> {
  const source = await readUserText(file, "model file");
  const r = checkSource(source, file, options.model !== undefined ? { model: options.model } : {});
  if (printDiagnostics(io, r.diagnostics, { [file]: source }) || !r.graph) return EXIT_USER;
  io.out(`ok: ${r.graph.nodes.length} ops, ${formatCount(countParameters(r.graph))} parameters`);
  return EXIT_OK;
}
