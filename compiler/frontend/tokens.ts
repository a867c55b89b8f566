// Lexical structure of `.model` files: the chevrotain token types and the lexer (stage 1 of the front end).
// Neighbours: parser.ts consumes these tokens; parse.ts turns lexer problems into E01xx diagnostics.

import { createToken, Lexer, type IToken, type TokenType } from "./chevrotain.js";

/**
 * Category shared by every token the parser can see. Used by the parser's recovery rules, which
 * skip "any token" up to the next statement (see parser.ts `junk`). Never produced by the lexer.
 */
export const AnyToken = createToken({ name: "AnyToken", pattern: Lexer.NA });

/** Category of string literals: terminated and unterminated ones parse alike (parse.ts reports E0102). */
export const StringLiteral = createToken({ name: "StringLiteral", pattern: Lexer.NA, categories: [AnyToken] });

/** Spaces, tabs, newlines (newlines are not significant) and a byte-order mark. Skipped. */
export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v\uFEFF]+/,
  start_chars_hint: [" ", "\t", "\r", "\n", "\f", "\v", "\uFEFF"],
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** `# ...` or `// ...` up to the end of the line. Skipped. */
export const Comment = createToken({
  name: "Comment",
  pattern: /(?:#|\/\/)[^\n\r]*/,
  start_chars_hint: ["#", "/"],
  line_breaks: false,
  group: Lexer.SKIPPED,
});

/** `[A-Za-z_][A-Za-z0-9_]*`: names of values, ops, blocks, layers, dtypes and argument keywords. */
export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  start_chars_hint: [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"],
  line_breaks: false,
  categories: [AnyToken],
});

function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    label: `'${word}'`,
    pattern: new RegExp(word),
    start_chars_hint: [word[0]!],
    line_breaks: false,
    longer_alt: Identifier,
    categories: [AnyToken],
  });
}

/** The reserved words; each also matches as a prefix of a longer identifier (`models` is a name). */
export const Model = keyword("model");
export const Block = keyword("block");
export const Input = keyword("input");
export const Let = keyword("let");
export const Output = keyword("output");
export const Return = keyword("return");
export const True = keyword("true");
export const False = keyword("false");

/**
 * `train`: a soft keyword. It starts the train section of a model body (`train { ... }`) but is also an
 * Identifier (token category), so `let train = ...` and an op argument named `train` keep working; a
 * longer name (`trainer`) is an ordinary identifier. `loss` needs no token: inside a train section an
 * entry `loss NAME = expr` is an identifier key followed by a name (parser.ts `trainEntry`).
 */
export const Train = createToken({
  name: "Train",
  label: "'train'",
  pattern: /train/,
  start_chars_hint: ["t"],
  line_breaks: false,
  longer_alt: Identifier,
  categories: [Identifier, AnyToken],
});

/** All reserved words, in the order they are listed in spec/language.md (`train` is not reserved). */
export const KEYWORDS: readonly string[] = ["model", "block", "input", "let", "output", "return", "true", "false"];

/**
 * Unsigned number: `16`, `0.25`, `1e-5`, `3.5E+2`. A leading minus is a separate token (the parser
 * accepts `-` directly before a number literal only). Integers are the ones without '.' or exponent.
 */
export const NumberTok = createToken({
  name: "Number",
  label: "a number",
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
  start_chars_hint: [..."0123456789"],
  line_breaks: false,
  categories: [AnyToken],
});

/** `"same"`: double-quoted, on one line, with `\"`, `\\`, `\n` and `\t` escapes. */
export const StringTok = createToken({
  name: "String",
  label: "a string",
  pattern: /"(?:[^"\\\r\n]|\\.)*"/,
  start_chars_hint: ['"'],
  line_breaks: false,
  categories: [StringLiteral, AnyToken],
});

/** A string missing its closing quote (runs to the end of the line). Parsed as a string; reported as E0102. */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  label: "a string",
  pattern: /"(?:[^"\\\r\n]|\\.)*\\?/,
  start_chars_hint: ['"'],
  line_breaks: false,
  categories: [StringLiteral, AnyToken],
});

function punct(name: string, text: string): TokenType {
  const escaped = text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  return createToken({ name, label: `'${text}'`, pattern: new RegExp(escaped), start_chars_hint: [text[0]!], line_breaks: false, categories: [AnyToken] });
}

/** Punctuation and operators. `->` must be tried before `-`. */
export const Arrow = punct("Arrow", "->");
export const Minus = punct("Minus", "-");
export const Plus = punct("Plus", "+");
export const Star = punct("Star", "*");
export const Equals = punct("Equals", "=");
export const Colon = punct("Colon", ":");
export const Comma = punct("Comma", ",");
export const Semicolon = punct("Semicolon", ";");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const LBrace = punct("LBrace", "{");
export const RBrace = punct("RBrace", "}");

/** Every token type in lexer priority order (first match wins; keywords before Identifier). */
export const ALL_TOKENS: TokenType[] = [
  WhiteSpace,
  Comment,
  Model,
  Block,
  Input,
  Let,
  Output,
  Return,
  True,
  False,
  Train,
  Identifier,
  NumberTok,
  StringTok,
  UnterminatedString,
  Arrow,
  Minus,
  Plus,
  Star,
  Equals,
  Colon,
  Comma,
  Semicolon,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  StringLiteral,
  AnyToken,
];

/**
 * Build the lexer for ALL_TOKENS. `validate: true` runs chevrotain's definition checks (unreachable or
 * conflicting patterns, patterns that defeat first-character dispatch: `ensureOptimizations`) and throws
 * on a bad token table; test/frontend.test.ts builds it that way, so a grammar mistake fails CI. The
 * compiler builds it with `validate: false` (chevrotain's `skipValidations`): the table is fixed, and the
 * checks are most of the lexer's construction time in a fresh process. Every token type states its
 * `start_chars_hint` and `line_breaks`, which spares the construction chevrotain's regexp analysis (~7 ms in a
 * fresh process); test/frontend.test.ts checks they give the dispatch tables chevrotain derives from the patterns.
 */
export function createModelLexer(options: { validate?: boolean } = {}): Lexer {
  const validate = options.validate ?? false;
  return new Lexer(ALL_TOKENS, { positionTracking: "full", ensureOptimizations: validate, skipValidations: !validate });
}

/** The lexer; built on first use and shared, since chevrotain lexers are stateless between `tokenize` calls. */
let modelLexer: Lexer | undefined;

/** A run of characters no token matches (1-based line/column, like chevrotain's ILexingError). */
export interface InvalidRun {
  offset: number;
  length: number;
  line: number;
  column: number;
}

/** Result of `tokenize`: the parser's tokens and the runs of characters that are not tokens. */
export interface TokenizeResult {
  tokens: IToken[];
  invalid: InvalidRun[];
}

/**
 * Split `source` into tokens. Never throws: chevrotain skips characters no token matches (a run
 * ends at the next character that starts a token, so runs never cross whitespace) and reports them.
 */
export function tokenize(source: string): TokenizeResult {
  modelLexer ??= createModelLexer();
  const res = modelLexer.tokenize(source);
  const invalid = res.errors.map((e) => ({ offset: e.offset, length: e.length, line: e.line ?? 1, column: e.column ?? 1 }));
  return { tokens: res.tokens, invalid };
}
