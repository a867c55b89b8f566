// `check`: the front half of the pipeline (parse + lower, and the train section) on source text, for the
// CLI's `modelc check` and for tests. Neighbours: frontend/parse.ts (syntax), frontend/lower.ts and
// frontend/lower-train.ts (semantics), compiler/index.ts.

import type { Graph } from "./ir/types.js";
import { hasErrors, sortDiagnostics, type Diagnostic, type DiagnosticCode } from "./diagnostics.js";
import type { ModelDecl, ModelFile } from "./frontend/ast.js";
import { parseModelFile, type ParseResult } from "./frontend/parse.js";
import { syntaxDamage } from "./frontend/recovery.js";
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
 * Parse `source` (named `file` in diagnostics) and lower the chosen model (`options.model`, default the
 * first) to a Graph and its train section, if any, to a TrainSpec.
 * Never throws on user errors: they come back as diagnostics (E01xx-E02xx from parsing, E03xx-E07xx from
 * lowering, E08xx from the train section), sorted by source position. A train section with errors withholds
 * `train`, not `graph`.
 * With syntax errors there is no graph, but the rest of the file is still checked (checkDespiteSyntax).
 */
export function checkSource(source: string, file: string, options: LowerOptions = {}): CheckResult {
  const parsed = parseModelFile(source, file);
  if (hasErrors(parsed.diagnostics)) return { diagnostics: sortDiagnostics(dropInExtraArguments(checkDespiteSyntax(source, parsed, options))) };
  const lowered = lowerModel(parsed.ast, options);
  const model = chosenModel(parsed.ast, options);
  const trained = model ? lowerTrain(model, lowered.graph, lowered.bindings) : { diagnostics: [] };
  const diagnostics = sortDiagnostics(dropInExtraArguments([...parsed.diagnostics, ...lowered.diagnostics, ...trained.diagnostics]));
  if (!lowered.graph) return { diagnostics };
  return trained.spec ? { graph: lowered.graph, train: trained.spec, diagnostics } : { graph: lowered.graph, diagnostics };
}

function chosenModel(ast: ModelFile, options: LowerOptions): ModelDecl | undefined {
  return options.model === undefined ? ast.models[0] : ast.models.find((m) => m.name.text === options.model);
}

/**
 * Drop an unknown name or op (E0302, E0301) inside an argument that should not be there (E0405, too many
 * arguments: `relu(zz)`): the argument goes whatever it names, so the E0405 is the root and the one reported.
 */
function dropInExtraArguments(ds: Diagnostic[]): Diagnostic[] {
  const extra = ds.filter((d) => d.code === "E0405" && d.loc?.offset !== undefined && d.loc.endOffset !== undefined);
  if (extra.length === 0) return ds;
  return ds.filter((d) => {
    if (d.code !== "E0302" && d.code !== "E0301") return true;
    const at = d.loc?.offset;
    return at === undefined || !extra.some((e) => at >= e.loc!.offset! && at < e.loc!.endOffset!);
  });
}

/** Model-level diagnostics a dropped or broken statement or declaration can cause: never reported with syntax errors. */
const STRUCTURE_CODES: ReadonlySet<DiagnosticCode> = new Set(["E0701", "E0702", "E0703", "W0701"]);

/**
 * The name, argument and shape errors of a file with syntax errors, in the parts those errors do not touch
 * (frontend/recovery.ts): broken statements and blocks are skipped and bind unknown values, a broken train
 * section is skipped, and errors that a dropped declaration could explain (an unknown name declared somewhere
 * in the file, no outputs, ...) are left out, and so is a parse-stage E0802 (a second train section) that
 * involves a broken part. A file nested too deep (E0203) is not checked further. Returns the parse
 * diagnostics too.
 */
function checkDespiteSyntax(source: string, parsed: ParseResult, options: LowerOptions): Diagnostic[] {
  if (parsed.diagnostics.some((d) => d.code === "E0203")) return parsed.diagnostics;
  const isSyntax = (d: Diagnostic): boolean => d.code.startsWith("E01") || d.code.startsWith("E02");
  const damage = syntaxDamage(source, parsed.diagnostics.filter((d) => isSyntax(d) && d.severity === "error"));
  const touched = (d: Diagnostic): boolean => damage.broken(d.loc) || (d.related ?? []).some((r) => damage.broken(r.loc));
  const parseDiags = parsed.diagnostics.filter((d) => isSyntax(d) || !touched(d));
  let found: Diagnostic[];
  try {
    const lowered = lowerModel(parsed.ast, { ...options, broken: (loc) => damage.broken(loc) });
    const model = chosenModel(parsed.ast, options);
    const train = model?.train && !damage.trainTouched && !damage.broken(model.train.loc) ? lowerTrain(model, undefined, lowered.bindings).diagnostics : [];
    found = [...lowered.diagnostics, ...train];
  } catch {
    // A recovered AST the lowering did not expect: the syntax errors alone are reported.
    return parseDiags;
  }
  return [...parseDiags, ...found.filter((d) => {
    if (STRUCTURE_CODES.has(d.code) || damage.broken(d.loc)) return false;
    if (d.code !== "E0301" && d.code !== "E0302" && d.code !== "E0808") return true;
    const at = d.loc?.offset;
    const end = d.loc?.endOffset;
    return at === undefined || end === undefined || !damage.suspect(source.slice(at, end));
  })];
}
