// `check`: the front half of the pipeline (parse + lower) on source text, for the CLI's `modelc check`
// and for tests. Neighbours: frontend/parse.ts (syntax), frontend/lower.ts (semantics), compiler/index.ts.

import type { Graph } from "./ir/types.js";
import { hasErrors, type Diagnostic } from "./diagnostics.js";
import { parseModelFile } from "./frontend/parse.js";
import { lowerModel, type LowerOptions } from "./frontend/lower.js";

/** Result of `checkSource`: the graph when the source is free of errors, and every diagnostic. */
export interface CheckResult {
  graph?: Graph;
  diagnostics: Diagnostic[];
}

/**
 * Parse `source` (named `file` in diagnostics) and, when there are no syntax errors, lower the chosen
 * model (`options.model`, default the first) to a Graph. Never throws on user errors: they come back
 * as diagnostics (E01xx-E02xx from parsing, E03xx-E07xx from lowering).
 */
export function checkSource(source: string, file: string, options: LowerOptions = {}): CheckResult {
  const parsed = parseModelFile(source, file);
  if (hasErrors(parsed.diagnostics)) return { diagnostics: parsed.diagnostics };
  const lowered = lowerModel(parsed.ast, options);
  const diagnostics = [...parsed.diagnostics, ...lowered.diagnostics];
  return lowered.graph ? { graph: lowered.graph, diagnostics } : { diagnostics };
}
