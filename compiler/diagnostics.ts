// Diagnostics: collected (never thrown) by every stage, numbered from one table, printed as
// `file:line:col: error[E0201]: message` with the source line, a caret and a hint.
// Neighbours: frontend/* and frontend/lower.ts produce them; cli/* prints them.

import type { SourceLoc } from "./ir/types.js";

export type Severity = "error" | "warning" | "note";

/** A location with a label, e.g. "shape [N, 32] came from here". */
export interface RelatedLoc {
  loc: SourceLoc;
  message: string;
}

/** One diagnostic. `code` is a key of DIAGNOSTIC_CODES. */
export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  loc?: SourceLoc;
  hint?: string;
  related?: RelatedLoc[];
}

/**
 * The one table of diagnostic codes. Ranges: E01xx lexical, E02xx syntax, E03xx names and scopes,
 * E04xx arguments, E05xx shapes and dtypes, E06xx weights, E07xx model structure, E08xx the train
 * section (frontend/lower-train.ts), W.... warnings.
 * Add new codes here only; tests assert on codes, so never renumber.
 */
export const DIAGNOSTIC_CODES = {
  E0101: "unexpected character",
  E0102: "unterminated string",
  E0103: "unknown escape sequence",
  E0201: "syntax error",
  E0202: "missing closing bracket",
  E0203: "nesting too deep",
  E0204: "unknown parameter type",
  E0301: "unknown op or block",
  E0302: "unknown name",
  E0303: "duplicate name",
  E0304: "duplicate layer name",
  E0305: "recursive block",
  E0401: "unknown argument",
  E0402: "missing argument",
  E0403: "wrong argument type",
  E0404: "argument value out of range",
  E0405: "too many arguments",
  E0406: "duplicate argument",
  E0501: "shape mismatch",
  E0502: "dtype mismatch",
  E0503: "invalid shape",
  E0601: "weights do not match the model",
  E0701: "no model in file",
  E0702: "model has no outputs",
  E0703: "model has no inputs",
  E0704: "unused value",
  E0801: "unknown train entry",
  E0802: "duplicate train entry",
  E0803: "missing train entry",
  E0804: "unknown data source, optimizer, schedule, loss, metric or augmentation",
  E0805: "wrong train value type",
  E0806: "train value out of range",
  E0807: "loss or metric input is not a model value",
  E0808: "unknown data field",
  E0809: "training shape or dtype mismatch",
  E0810: "unknown layer, parameter or loss in freeze, trainable or heads",
  E0811: "conflicting train entries",
  W0701: "unused input",
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** Make a diagnostic. */
export function diag(
  code: DiagnosticCode,
  message: string,
  loc?: SourceLoc,
  extra: { hint?: string; related?: RelatedLoc[]; severity?: Severity } = {},
): Diagnostic {
  return {
    code,
    severity: extra.severity ?? (code.startsWith("W") ? "warning" : "error"),
    message,
    loc,
    ...(extra.hint !== undefined ? { hint: extra.hint } : {}),
    ...(extra.related !== undefined ? { related: extra.related } : {}),
  };
}

/**
 * Diagnostics in source order: by `loc.offset` (diagnostics without a location last), ties kept in
 * the order they were reported. Returns a new array.
 */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  const at = (d: Diagnostic): number => d.loc?.offset ?? Number.POSITIVE_INFINITY;
  return diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => at(a.d) - at(b.d) || a.i - b.i)
    .map((x) => x.d);
}

/** True when any diagnostic is an error. */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === "error");
}

function caretBlock(source: string | undefined, loc: SourceLoc): string[] {
  if (source === undefined) return [];
  const lines = source.split(/\r?\n/);
  const text = lines[loc.line - 1];
  if (text === undefined) return [];
  const width =
    loc.endLine === loc.line && loc.endCol !== undefined && loc.endCol > loc.col ? loc.endCol - loc.col : 1;
  const gutter = String(loc.line).length;
  const pad = " ".repeat(gutter);
  const lead = text.slice(0, loc.col - 1).replace(/[^\t]/g, " ");
  return [`${pad} |`, `${loc.line} | ${text}`, `${pad} | ${lead}${"^".repeat(Math.max(1, width))}`];
}

/**
 * Format one diagnostic for a terminal:
 * ```
 * model.model:3:11: error[E0301]: unknown op 'desne'
 *   |
 * 3 |   let h = desne(128)
 *   |           ^^^^^
 *   = hint: did you mean 'dense'?
 * ```
 * `sources` maps file names to their text, for the caret lines.
 */
export function formatDiagnostic(d: Diagnostic, sources: Record<string, string> = {}): string {
  const where = d.loc ? `${d.loc.file}:${d.loc.line}:${d.loc.col}: ` : "";
  const out = [`${where}${d.severity}[${d.code}]: ${d.message}`];
  if (d.loc) out.push(...caretBlock(sources[d.loc.file], d.loc));
  for (const r of d.related ?? []) {
    out.push(`  note: ${r.message} (${r.loc.file}:${r.loc.line}:${r.loc.col})`);
    out.push(...caretBlock(sources[r.loc.file], r.loc).map((l) => "  " + l));
  }
  if (d.hint) out.push(`  = hint: ${d.hint}`);
  return out.join("\n");
}

/** Names within edit distance 2 of `name` (for "did you mean" hints), closest first. */
export function nearestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: [number, string][] = [];
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= Math.max(2, Math.floor(name.length / 3))) scored.push([d, c]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  return scored.slice(0, max).map((s) => s[1]);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagPrev = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diagPrev + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagPrev = tmp;
    }
  }
  return prev[b.length]!;
}
