// Front-end entry point: source text → tokens → CST → AST, with every lexical and syntax problem
// collected as a Diagnostic. Neighbours: tokens.ts, parser.ts, visitor.ts; frontend/lower.ts consumes the AST.

import { EOF, tokenMatcher, type IRecognitionException, type IToken } from "./chevrotain.js";
import { diag, type Diagnostic } from "../diagnostics.js";
import type { SourceLoc } from "../ir/types.js";
import type { ModelFile } from "./ast.js";
import { ModelParser } from "./parser.js";
import { isKeyword } from "./messages.js";
import { Equals, Identifier, LBrace, LBracket, Let, LParen, RBrace, RBracket, RParen, tokenize, UnterminatedString, type InvalidRun } from "./tokens.js";
import { AstBuilder, tokenLoc } from "./visitor.js";

/**
 * Deepest bracket nesting accepted. The parser is recursive descent, so the limit keeps absurd
 * input (e.g. 10,000 '(') from overflowing the stack; real models nest a handful of levels.
 */
export const MAX_NESTING = 64;

/** Result of `parseModelFile`. */
export interface ParseResult {
  /**
   * The file's AST. When `diagnostics` has errors it is partial: constructs the parser could not
   * complete (a `let` without a value, a call without a callee) are left out, so later stages
   * must not trust it as is: checkSource lowers it only with frontend/recovery.ts marking the broken parts.
   */
  ast: ModelFile;
  /** Lexical (E01xx) and syntax (E02xx) diagnostics, in source order; every one has a SourceLoc. */
  diagnostics: Diagnostic[];
}

let sharedParser: ModelParser | undefined;

/** The parser is built once (grammar analysis is the expensive part) and reused; it is reset per input. */
function getParser(): ModelParser {
  sharedParser ??= new ModelParser();
  return sharedParser;
}

/**
 * Parse one `.model` file. Never throws and never stops at the first problem: unexpected
 * characters (E0101), unterminated strings (E0102), bad escapes (E0103), syntax errors (E0201),
 * missing closing brackets (E0202, with a note at the opening one), nesting deeper than
 * MAX_NESTING (E0203; the file is then not parsed further) and unknown block parameter types
 * (E0204) are all collected. Locations are 1-based; `endCol`/`endOffset` are exclusive.
 */
export function parseModelFile(source: string, file: string): ParseResult {
  const { tokens, invalid } = tokenize(source);
  const diagnostics: Diagnostic[] = [...lexicalDiagnostics(source, file, tokens, invalid)];
  const emptyAst = (): ModelFile => new AstBuilder(file, source).file({ name: "file", children: {} });

  const tooDeep = findTooDeep(tokens);
  if (tooDeep) {
    diagnostics.push(
      diag("E0203", `brackets nested more than ${MAX_NESTING} levels deep`, tokenLoc(file, tooDeep), {
        hint: "split the expression with 'let' bindings; the rest of the file was not parsed",
      }),
    );
    return { ast: emptyAst(), diagnostics: sortDiagnostics(diagnostics) };
  }

  const parser = getParser();
  parser.sites.clear();
  parser.input = reservedNamesAsNames(file, tokens, diagnostics);
  const cst = parser.file();
  const afterInvalid = new Set(invalid.map((r) => nextTokenOffset(tokens, r.offset)));
  for (const err of parser.errors) {
    const d = syntaxDiagnostic(parser, err, file, tokens);
    // A syntax error right after a stray character is usually that character's fault: report it once.
    if (d.loc?.offset !== undefined && afterInvalid.has(d.loc.offset)) continue;
    diagnostics.push(d);
  }
  const builder = new AstBuilder(file, source);
  const ast = builder.file(cst);
  // Skipped tokens the parser already complained about (e.g. ': x' after 'let y') are reported once.
  const parserAt = new Set(diagnostics.filter((d) => d.code.startsWith("E02")).map((d) => d.loc?.offset));
  for (const d of builder.diagnostics) {
    const at = d.loc?.offset;
    if (d.code === "E0201" && at !== undefined && (afterInvalid.has(at) || parserAt.has(at))) continue;
    diagnostics.push(d);
  }
  parser.input = [];
  const kept = diagnostics.filter((d) => !closerSwallowed(d, tokens));
  return { ast, diagnostics: onePerLine(sortDiagnostics(dedupe(kept))) };
}

/**
 * `let model = ...`, `let output = ...`: a reserved word on the line of a `let`, right before its '=', was meant
 * as the name. Report it (E0201, as the parser would) and hand the parser a name in its place, so recovery does
 * not read the keyword as the start of a declaration (`model = x ...` as a second model swallowing the rest of
 * the file). Returns the tokens for the parser; `tokens` is left as is.
 */
function reservedNamesAsNames(file: string, tokens: IToken[], diagnostics: Diagnostic[]): IToken[] {
  return tokens.map((t, i) => {
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    if (!prev || !next || !tokenMatcher(prev, Let) || !tokenMatcher(next, Equals) || !isKeyword(t) || t.startLine !== prev.endLine) return t;
    diagnostics.push(
      diag("E0201", `expected a name after 'let', found keyword '${t.image}'`, tokenLoc(file, t), {
        hint: `'${t.image}' is a reserved word; choose another name`,
      }),
    );
    return { ...t, tokenType: Identifier, tokenTypeIdx: Identifier.tokenTypeIdx! };
  });
}

/**
 * True for a missing closer (E0202) whose closer an unterminated string between the opener and the error took
 * with it (`conv2d(3, padding="sam)`): the E0102 at the string already says so, and is the one reported.
 */
function closerSwallowed(d: Diagnostic, tokens: IToken[]): boolean {
  const closer = d.code === "E0202" ? /^expected '(.)'/.exec(d.message)?.[1] : undefined;
  const from = d.related?.[0]?.loc.offset;
  const to = d.loc?.offset;
  if (closer === undefined || from === undefined || to === undefined) return false;
  return tokens.some((t) => tokenMatcher(t, UnterminatedString) && t.startOffset > from && t.startOffset < to && t.image.includes(closer));
}

/** E0101 for each run of characters that are not tokens, E0102 for each unterminated string. */
function lexicalDiagnostics(source: string, file: string, tokens: IToken[], invalid: InvalidRun[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const run of invalid) {
    const text = source.slice(run.offset, run.offset + run.length);
    const loc: SourceLoc = {
      file,
      line: run.line,
      col: run.column,
      endLine: run.line,
      endCol: run.column + run.length,
      offset: run.offset,
      endOffset: run.offset + run.length,
    };
    const hint = invalidCharHint(text, source[run.offset + run.length]);
    const what = text.length === 1 ? `unexpected character '${text}'` : `unexpected characters '${text}'`;
    out.push(diag("E0101", what, loc, hint ? { hint } : {}));
  }
  for (const t of tokens) {
    if (!tokenMatcher(t, UnterminatedString)) continue;
    const swallowed = [...new Set(t.image.slice(1).match(/[)\]}]/g) ?? [])].map((c) => `'${c}'`).join(" ");
    const hint = swallowed
      ? `the string runs to the end of the line and takes ${swallowed} with it; close it with '"'`
      : "strings cannot span lines; close it with '\"'";
    out.push(diag("E0102", "unterminated string: missing closing '\"' before the end of the line", tokenLoc(file, t), { hint }));
  }
  return out;
}

function invalidCharHint(text: string, next: string | undefined): string | undefined {
  const c = text[0];
  if (c === "'") return "strings use double quotes: \"same\"";
  if (c === ".") return next !== undefined && /\d/.test(next) ? "write a digit before the '.': 0.5" : "there is no '.' operator; pipelines use '->'";
  if (c === ">" || c === "|") return "pipelines use '->'";
  if (c === "/") return "division is not supported; comments start with '#' or '//'";
  if (c === "@") return "matrix products are written dense(...) layers; there is no '@' operator";
  return undefined;
}

/** The first opening bracket past MAX_NESTING levels, if any. */
function findTooDeep(tokens: IToken[]): IToken | undefined {
  let depth = 0;
  for (const t of tokens) {
    if (tokenMatcher(t, LParen) || tokenMatcher(t, LBracket) || tokenMatcher(t, LBrace)) {
      depth++;
      if (depth > MAX_NESTING) return t;
    } else if (tokenMatcher(t, RParen) || tokenMatcher(t, RBracket) || tokenMatcher(t, RBrace)) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

/** Turn one chevrotain recognition error into a diagnostic, using the site recorded by the parser. */
function syntaxDiagnostic(parser: ModelParser, err: IRecognitionException, file: string, tokens: IToken[]): Diagnostic {
  const site = parser.sites.get(err.message);
  const code = site?.code ?? "E0201";
  let loc: SourceLoc;
  const t = err.token;
  if (site?.after) {
    loc = pointAfter(file, site.after);
  } else if (t.tokenType !== EOF && !Number.isNaN(t.startOffset)) {
    loc = tokenLoc(file, t);
  } else {
    const last = tokens[tokens.length - 1];
    loc = last ? pointAfter(file, last) : { file, line: 1, col: 1, endLine: 1, endCol: 2, offset: 0, endOffset: 0 };
  }
  const related = site?.related ? [{ loc: tokenLoc(file, site.related.token), message: site.related.message }] : undefined;
  return diag(code, err.message, loc, {
    ...(site?.hint !== undefined ? { hint: site.hint } : {}),
    ...(related ? { related } : {}),
  });
}

/** A one-column loc just past the end of token `t` (where a missing token belongs). */
function pointAfter(file: string, t: IToken): SourceLoc {
  const line = t.endLine ?? t.startLine ?? 1;
  const col = (t.endColumn ?? t.startColumn ?? 0) + 1;
  const offset = (t.endOffset ?? t.startOffset) + 1;
  return { file, line, col, endLine: line, endCol: col + 1, offset, endOffset: offset + 1 };
}

/** Offset of the first token starting at or after `offset` (or -1 at the end). */
function nextTokenOffset(tokens: IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return tokens[lo]?.startOffset ?? -1;
}

/**
 * Drop a syntax error (E0201) on a line that already has an earlier diagnostic: after the first
 * mistake, recovery often trips over the rest of the same line (`let output = x` reports the
 * keyword, then re-reads `output = x` as an output statement). Missing closers (E0202) are kept.
 */
function onePerLine(ds: Diagnostic[]): Diagnostic[] {
  const lines = new Set<number>();
  return ds.filter((d) => {
    const line = d.loc?.line;
    if (line === undefined) return true;
    const drop = d.code === "E0201" && lines.has(line);
    lines.add(line);
    return !drop;
  });
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.code}:${d.loc?.offset}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.loc?.offset ?? 0) - (b.d.loc?.offset ?? 0) || a.i - b.i)
    .map((x) => x.d);
}
