// `check`: the front half of the pipeline (parse + lower, and the train section) on source text, for the
// CLI's `modelc check` and for tests. Neighbours: frontend/parse.ts (syntax), frontend/lower.ts and
// frontend/lower-train.ts (semantics), compiler/index.ts.

import type { Graph } from "./ir/types.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { parseModelFile } from "./frontend/parse.js";
import { lowerModel, type LowerOptions } from "./frontend/lower.js";
import { lowerTrain } from "./frontend/lower-train.js";
import type { TrainSpec } from "./train/spec.js";

/** Result of `checkSource`: the graph when the source is free of errors, and every diagnostic. */
export interface CheckResult {
  graph?: Graph;
  /** The checked `train { ... }` section, when the model has one and it (and the graph) are free of errors. */
  train?: TrainSpec;
  /** Every diagnostic, sorted by source position (`loc.offset`; ties in the order reported). */
  diagnostics: Diagnostic[];
}

/**
 * Parse `source` (named `file` in diagnostics) and, when there are no syntax errors, lower the chosen
 * model (`options.model`, default the first) to a Graph and its train section, if any, to a TrainSpec.
 * Never throws on user errors: they come back as diagnostics (E01xx-E02xx from parsing, E03xx-E07xx from
 * lowering, E08xx from the train section). A train section with errors withholds `train`, not `graph`.
 */
export function checkSource(source: string, file: string, options: LowerOptions = {}): CheckResult {
  const parsed = parseModelFile(source, file);
  if (hasErrors(parsed.diagnostics)) return { diagnostics: parsed.diagnostics };
  const lowered = lowerModel(parsed.ast, options);
  const model = options.model === undefined ? parsed.ast.models[0] : parsed.ast.models.find((m) => m.name.text === options.model);
  const trained = model ? lowerTrain(model, lowered.graph, lowered.bindings) : { diagnostics: [] };
  const diagnostics = sortDiagnostics([...parsed.diagnostics, ...lowered.diagnostics, ...trained.diagnostics]);
  if (!lowered.graph) return { diagnostics };
  return trained.spec ? { graph: lowered.graph, train: trained.spec, diagnostics } : { graph: lowered.graph, diagnostics };
}
