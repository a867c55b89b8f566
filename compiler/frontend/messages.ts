// Syntax error messages per site: a chevrotain failure (rule, expected, actual token) → code, message, hint.
// Neighbours: parser.ts calls it from its error message provider; parse.ts turns a SyntaxSite into a Diagnostic.

import { EOF, tokenLabel, tokenMatcher, type IToken, type TokenType } from "./chevrotain.js";
import type { DiagnosticCode } from "../diagnostics.js";
import {
  Arrow,
  Block,
  Colon,
  Comma,
  Equals,
  Identifier,
  Input,
  KEYWORDS,
  LBrace,
  LBracket,
  Let,
  LParen,
  Minus,
  Model,
  NumberTok,
  Output,
  RBrace,
  RBracket,
  Return,
  RParen,
  StringLiteral,
  Train,
} from "./tokens.js";

/** What the parser knows when it fails; `mismatch` = a CONSUME failed, `noAlt` = no alternative fits. */
export type SyntaxFailure =
  | { kind: "mismatch"; expected: TokenType; actual: IToken; previous: IToken; ruleName: string }
  | { kind: "noAlt"; actual: IToken; previous: IToken; ruleName: string }
  | { kind: "redundant"; actual: IToken; ruleName: string };

/**
 * A described syntax error. The diagnostic points at the offending token, or, when `after` is set
 * (the file ended), just past `after`. `related` points at the bracket a missing closer belongs to.
 */
export interface SyntaxSite {
  code: DiagnosticCode;
  message: string;
  hint?: string;
  after?: IToken;
  related?: { token: IToken; message: string };
}

/** The parser state a message needs: the token vector and lookahead. */
export interface ParserView {
  readonly input: IToken[];
  peek(n: number): IToken;
}

const CLOSER_OF = new Map<TokenType, TokenType>([
  [RParen, LParen],
  [RBracket, LBracket],
  [RBrace, LBrace],
]);

/** Build the message for one parser failure. Never throws. */
export function describeSyntaxError(p: ParserView, f: SyntaxFailure): SyntaxSite {
  const atEOF = f.actual.tokenType === EOF;
  const found = describeToken(f.actual);
  const eofAnchor = atEOF && "previous" in f ? realToken(f.previous) : undefined;
  const withAnchor = (s: SyntaxSite): SyntaxSite => (eofAnchor ? { ...s, after: eofAnchor } : s);
  const syntax = (message: string, hint?: string): SyntaxSite =>
    withAnchor({ code: "E0201", message, ...(hint !== undefined ? { hint } : {}) });

  if (f.kind === "redundant") return { code: "E0201", message: `unexpected ${found}` };

  if (f.kind === "noAlt") {
    const after = f.previous.image ? ` after '${f.previous.image}'` : "";
    let hint: string | undefined;
    if (tokenMatcher(f.actual, Minus)) hint = "'-' is only allowed directly before a number literal (write mul(x, -1) to negate)";
    else if (isKeyword(f.actual)) hint = `'${f.actual.image}' is a reserved word and cannot start an expression`;
    else if (tokenMatcher(f.actual, Equals) && tokenMatcher(f.previous, Equals)) hint = "'==' is not an operator; use a single '='";
    return syntax(`expected an expression${after}, found ${found}`, hint);
  }

  const { expected, actual, previous, ruleName } = f;
  const opener = CLOSER_OF.get(expected);
  if (opener) return withAnchor(describeMissingCloser(p, expected, opener, actual, ruleName));

  if (expected === Identifier) {
    const what = nameRole(ruleName, previous);
    // A keyword on the same line was probably meant as a name (`let input = ...`); on a later
    // line it starts the next statement and the name is simply missing.
    if (isKeyword(actual) && actual.startLine === previous.endLine)
      return syntax(
        `expected ${what}, found keyword '${actual.image}'`,
        `'${actual.image}' is a reserved word; choose another name`,
      );
    return syntax(`expected ${what}, found ${found}`);
  }
  if (expected === Equals && ruleName === "letStmt") {
    const hint = tokenMatcher(actual, Colon)
      ? "a binding uses '=' (let h = x -> relu); ':' names a layer or declares an input type"
      : undefined;
    return syntax(`expected '=' after 'let ${previous.image}', found ${found}`, hint);
  }
  if (expected === Equals && ruleName === "trainEntry") {
    const hint = tokenMatcher(actual, Colon)
      ? "train entries use '=': epochs = 10"
      : "train entries are 'key = value' or 'loss NAME = value'";
    return syntax(`expected '=' after train entry '${previous.image}', found ${found}`, hint);
  }
  if (expected === Colon && ruleName === "inputDecl") {
    return syntax(
      `expected ':' and a type after 'input ${previous.image}', found ${found}`,
      "inputs declare a dtype and a per-sample shape: input image: f32[1, 28, 28]",
    );
  }
  if (expected === LBracket && ruleName === "inputDecl") {
    return syntax(
      `expected '[' and the per-sample shape after dtype '${previous.image}', found ${found}`,
      "the batch dimension is not written: input image: f32[1, 28, 28]",
    );
  }
  if (expected === NumberTok && tokenMatcher(previous, Minus)) {
    return syntax(
      `expected a number after '-', found ${found}`,
      "'-' is only allowed directly before a number literal (write mul(x, -1) to negate)",
    );
  }
  if (expected === NumberTok && ruleName === "dim") {
    return syntax(
      `expected an integer dimension, found ${found}`,
      "input shapes are integer literals: f32[1, 28, 28]",
    );
  }
  if (expected === Return) {
    const hint =
      tokenMatcher(actual, Output) || tokenMatcher(actual, Input)
        ? "a block holds only 'let' statements and ends with 'return <expr>'"
        : "a block body ends with 'return <expr>'";
    return syntax(`expected 'return' at the end of ${blockName(p, actual)}, found ${found}`, hint);
  }
  if (expected === LBrace && ruleName === "trainDecl") {
    return syntax(`expected '{' after 'train', found ${found}`, "the train section is a block of entries: train { epochs = 10 }");
  }
  if (expected === LBrace) {
    return syntax(
      `expected '{' to open the body of ${ruleName === "modelDecl" ? "the model" : "the block"}, found ${found}`,
    );
  }
  if (expected === LParen && ruleName === "blockDecl") {
    return syntax(
      `expected '(' and the parameter list after 'block ${previous.image}', found ${found}`,
      "blocks declare parameters even when empty: block head() { ... }",
    );
  }
  return syntax(`expected ${tokenLabel(expected)}, found ${found}`);
}

function describeMissingCloser(p: ParserView, closer: TokenType, opener: TokenType, actual: IToken, ruleName: string): SyntaxSite {
  const close = tokenLabel(closer);
  const idx = indexOf(p.input, actual);
  const open = findOpener(p.input, idx, opener, closer);
  const what = open ? describeOpener(p.input, open.index) : "the bracket";
  const where = open ? ` opened at ${open.token.startLine}:${open.token.startColumn}` : "";
  const related = open ? { token: open.token, message: `${tokenLabel(opener)} opened here` } : undefined;
  const base = { ...(related ? { related } : {}) };
  if (actual.tokenType === EOF) {
    return { code: "E0202", message: `expected ${close} to close ${what}${where}, but the file ended`, ...base };
  }
  if (tokenMatcher(actual, Comma)) {
    const item = what.startsWith("the argument list") ? "an argument" : what.startsWith("the parameter list") ? "a parameter" : "an item";
    return { code: "E0201", message: `expected ${item} before ',' in ${what}${where}`, ...base };
  }
  const endsConstruct =
    isKeyword(actual) || tokenMatcher(actual, RBrace) || tokenMatcher(actual, RParen) || tokenMatcher(actual, RBracket);
  if (endsConstruct) {
    return { code: "E0202", message: `expected ${close} to close ${what}${where}, found ${describeToken(actual)}`, ...base };
  }
  const sep = closer === RBrace ? "" : `',' or `;
  const hint =
    ruleName === "call" || ruleName === "stage"
      ? "separate arguments with ','"
      : tokenMatcher(actual, Arrow)
        ? "wrap the pipeline in '( )' or end the list first"
        : undefined;
  return {
    code: "E0201",
    message: `expected ${sep}${close} in ${what}${where}, found ${describeToken(actual)}`,
    ...base,
    ...(hint && closer !== RBrace ? { hint } : {}),
  };
}

/** What a name is expected for, from the rule and the previous token. */
function nameRole(ruleName: string, previous: IToken): string {
  switch (ruleName) {
    case "modelDecl":
      return "a model name after 'model'";
    case "blockDecl":
      return "a block name after 'block'";
    case "letStmt":
      return "a name after 'let'";
    case "outputStmt":
      return "an output name after 'output'";
    case "inputDecl":
      return tokenMatcher(previous, Colon) ? "a dtype (f32 or i32) after ':'" : "an input name after 'input'";
    case "param":
      return tokenMatcher(previous, Colon) ? "a parameter type (tensor, int, float, bool, string or ints) after ':'" : "a parameter name";
    case "stage":
      return tokenMatcher(previous, Colon) ? `an op or block name after layer name '${previous.image}:'` : "an op or block name after '->'";
    case "call":
      return "an op or block name after the layer name";
    case "trainEntry":
      return "a train entry key (data, loss, optimizer, ...)";
    default:
      return "a name";
  }
}

function blockName(p: ParserView, at: IToken): string {
  const idx = indexOf(p.input, at);
  for (let i = Math.min(idx, p.input.length) - 1; i >= 0; i--) {
    const t = p.input[i]!;
    if (tokenMatcher(t, Block)) {
      const name = p.input[i + 1];
      return name && tokenMatcher(name, Identifier) ? `block '${name.image}'` : "the block";
    }
  }
  return "the block";
}

/** Index of `t` in `tokens` (by offset; EOF and tokens inserted by recovery map to the end). */
function indexOf(tokens: IToken[], t: IToken): number {
  if (t.tokenType === EOF || Number.isNaN(t.startOffset)) return tokens.length;
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < t.startOffset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The innermost unmatched `opener` before index `idx`. */
function findOpener(tokens: IToken[], idx: number, opener: TokenType, closer: TokenType): { token: IToken; index: number } | undefined {
  let depth = 0;
  for (let i = idx - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (tokenMatcher(t, closer)) depth++;
    else if (tokenMatcher(t, opener)) {
      if (depth === 0) return { token: t, index: i };
      depth--;
    }
  }
  return undefined;
}

/** "the argument list of 'conv2d'", "model 'mnist'", "the shape of input 'x'", ... */
function describeOpener(tokens: IToken[], i: number): string {
  const t = tokens[i]!;
  const before = (k: number): IToken | undefined => tokens[i - k];
  const is = (k: number, ty: TokenType): boolean => {
    const b = before(k);
    return b !== undefined && tokenMatcher(b, ty);
  };
  if (tokenMatcher(t, LParen)) {
    if (is(1, Identifier) && is(2, Block)) return `the parameter list of block '${before(1)!.image}'`;
    if (is(1, Identifier)) return `the argument list of '${before(1)!.image}'`;
    return "the parenthesized expression";
  }
  if (tokenMatcher(t, LBracket)) {
    if (is(1, Identifier) && is(2, Colon) && is(4, Input)) return `the shape of input '${before(3)!.image}'`;
    return "the list";
  }
  if (is(1, Train)) return "the train section";
  for (let k = i - 1; k >= 0; k--) {
    const b = tokens[k]!;
    if (tokenMatcher(b, Model) || tokenMatcher(b, Block)) {
      const name = tokens[k + 1];
      const kind = tokenMatcher(b, Model) ? "model" : "block";
      return name && tokenMatcher(name, Identifier) ? `${kind} '${name.image}'` : `the ${kind}`;
    }
    if (tokenMatcher(b, RBrace) || tokenMatcher(b, Let) || tokenMatcher(b, Output)) break;
  }
  return "the braces";
}

/** A real (lexed) token or undefined for tokens invented by recovery. */
function realToken(t: IToken | undefined): IToken | undefined {
  return t && !t.isInsertedInRecovery && !Number.isNaN(t.startOffset) && t.tokenType !== EOF ? t : undefined;
}

/** True when `t` is one of the reserved words. */
export function isKeyword(t: IToken): boolean {
  return t.tokenType !== Identifier && t.tokenType !== EOF && KEYWORDS.includes(t.image) && !tokenMatcher(t, StringLiteral);
}

/** "'foo'", "keyword 'let'", "the end of the file", "a string". */
export function describeToken(t: IToken): string {
  if (t.tokenType === EOF) return "the end of the file";
  if (isKeyword(t)) return `keyword '${t.image}'`;
  if (tokenMatcher(t, StringLiteral)) return `string ${t.image.length > 20 ? t.image.slice(0, 20) + "…" : t.image}`;
  return `'${t.image}'`;
}
