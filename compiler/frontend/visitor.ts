// CST → AST (stage 3 of the front end): one typed method per grammar rule, tolerant of the partial
// nodes error recovery leaves behind. Neighbours: parser.ts (CST shape, rule and label names), ast.ts.
//
// Dispatch is static (each method knows which rule each child came from) instead of chevrotain's
// name-based `visit`, so every method is typed end to end and receives the node with its location.

import { tokenMatcher, type CstElement, type CstNode, type IToken } from "./chevrotain.js";
import { diag, type Diagnostic } from "../diagnostics.js";
import type { SourceLoc } from "../ir/types.js";
import type {
  Arg,
  BlockDecl,
  BlockParam,
  CallExpr,
  Expr,
  Ident,
  InputDecl,
  LetStmt,
  ModelDecl,
  ModelFile,
  NumberLit,
  OutputStmt,
  Statement,
  StringLit,
  TrainDecl,
  TrainEntry,
} from "./ast.js";
import { describeToken, isKeyword } from "./messages.js";
import { Colon, Equals, Identifier, LBrace, Model, RBrace, Return, Train, UnterminatedString } from "./tokens.js";

/** Parameter types a block may declare (`k: int`); no annotation means "tensor". */
export const PARAM_TYPES: readonly BlockParam["type"][] = ["tensor", "int", "float", "bool", "string", "ints"];

/** SourceLoc of one token: 1-based line/col; `endCol` and `endOffset` are one past the last character. */
export function tokenLoc(file: string, t: IToken): SourceLoc {
  return {
    file,
    line: t.startLine ?? 1,
    col: t.startColumn ?? 1,
    endLine: t.endLine ?? t.startLine ?? 1,
    endCol: (t.endColumn ?? t.startColumn ?? 0) + 1,
    offset: t.startOffset,
    endOffset: (t.endOffset ?? t.startOffset) + 1,
  };
}

/** The loc from the start of `a` to the end of `b`. */
export function spanLoc(a: SourceLoc, b: SourceLoc): SourceLoc {
  return {
    file: a.file,
    line: a.line,
    col: a.col,
    endLine: b.endLine ?? b.line,
    endCol: b.endCol ?? b.col,
    ...(a.offset !== undefined ? { offset: a.offset } : {}),
    ...(b.endOffset !== undefined ? { endOffset: b.endOffset } : {}),
  };
}

function real(t: IToken | undefined): IToken | undefined {
  return t && !t.isInsertedInRecovery && !Number.isNaN(t.startOffset) ? t : undefined;
}

function kids(n: CstNode, name: string): CstElement[] {
  return n.children[name] ?? [];
}

function tok(n: CstNode, name: string, i = 0): IToken | undefined {
  const e = kids(n, name)[i];
  return e && !("children" in e) ? real(e) : undefined;
}

function sub(n: CstNode, name: string, i = 0): CstNode | undefined {
  const e = kids(n, name)[i];
  return e && "children" in e ? e : undefined;
}

function subs(n: CstNode, name: string): CstNode[] {
  return kids(n, name).filter((e): e is CstNode => "children" in e);
}

/** All real tokens under `n`, in source order. */
function tokensOf(n: CstNode): IToken[] {
  const out: IToken[] = [];
  const walk = (m: CstNode): void => {
    for (const list of Object.values(m.children)) for (const e of list) {
      if ("children" in e) walk(e);
      else if (real(e)) out.push(e);
    }
  };
  walk(n);
  return out.sort((a, b) => a.startOffset - b.startOffset);
}

/**
 * Builds the AST of one file from the CST of `ModelParser.file()`. Constructs that recovery left
 * incomplete (a `let` without a value, a call without a name) are left out; stray tokens skipped
 * by the parser's `junk` rules and bad literals are reported into `diagnostics`.
 */
export class AstBuilder {
  /** Diagnostics found while building (E0101-E0204 that the parser itself cannot see). */
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly fileName: string,
    private readonly source: string,
  ) {}

  private loc(n: CstNode): SourceLoc | undefined {
    const l = n.location;
    if (!l || Number.isNaN(l.startOffset) || l.startLine === undefined || Number.isNaN(l.startLine)) return undefined;
    return {
      file: this.fileName,
      line: l.startLine,
      col: l.startColumn ?? 1,
      endLine: l.endLine ?? l.startLine,
      endCol: (l.endColumn ?? l.startColumn ?? 0) + 1,
      offset: l.startOffset,
      endOffset: (l.endOffset ?? l.startOffset) + 1,
    };
  }

  private ident(t: IToken | undefined): Ident | undefined {
    return t && tokenMatcher(t, Identifier) ? { kind: "ident", text: t.image, loc: tokenLoc(this.fileName, t) } : undefined;
  }

  /** `file := topItem*` */
  file(n: CstNode): ModelFile {
    const blocks: BlockDecl[] = [];
    const models: ModelDecl[] = [];
    for (const item of subs(n, "topItem")) {
      const m = sub(item, "modelDecl");
      const b = sub(item, "blockDecl");
      const j = sub(item, "topJunk");
      if (m) {
        const model = this.modelDecl(m);
        if (model) models.push(model);
      } else if (b) {
        const block = this.blockDecl(b);
        if (block) blocks.push(block);
      } else if (j) this.junk(j, "top");
    }
    const end = this.source.length;
    const lines = this.source.split(/\r?\n/);
    const loc: SourceLoc = {
      file: this.fileName,
      line: 1,
      col: 1,
      endLine: lines.length,
      endCol: (lines[lines.length - 1]?.length ?? 0) + 1,
      offset: 0,
      endOffset: end,
    };
    return { kind: "file", file: this.fileName, blocks, models, loc };
  }

  /** `model := 'model' Ident '{' modelItem* '}'` */
  modelDecl(n: CstNode): ModelDecl | undefined {
    const loc = this.loc(n);
    const name = this.ident(tok(n, "name"));
    if (!loc || !name) return undefined;
    const blocks: BlockDecl[] = [];
    const statements: Statement[] = [];
    let train: TrainDecl | undefined;
    for (const item of subs(n, "modelItem")) {
      const t = sub(item, "trainDecl");
      const section = t && this.trainDecl(t);
      if (section && train)
        this.diagnostics.push(
          diag("E0802", `model '${name.text}' has more than one train section`, section.keyword, {
            hint: "merge the entries into one 'train { ... }'",
            related: [{ loc: train.keyword, message: "first train section here" }],
          }),
        );
      else if (section) train = section;
      const b = sub(item, "blockDecl");
      const i = sub(item, "inputDecl");
      const l = sub(item, "letStmt");
      const o = sub(item, "outputStmt");
      const j = sub(item, "bodyJunk");
      const s = i ? this.inputDecl(i) : l ? this.letStmt(l) : o ? this.outputStmt(o) : undefined;
      if (s) statements.push(s);
      if (b) {
        const block = this.blockDecl(b);
        if (block) blocks.push(block);
      }
      if (j) this.junk(j, "model");
    }
    return { kind: "model", name, blocks, statements, ...(train ? { train } : {}), loc };
  }

  /** `train := 'train' '{' (trainEntry | ';' | trainJunk)* '}'` */
  trainDecl(n: CstNode): TrainDecl | undefined {
    const loc = this.loc(n);
    const kw = tok(n, "Train");
    if (!loc || !kw) return undefined;
    const entries: TrainEntry[] = [];
    for (const item of subs(n, "trainItem")) {
      const e = sub(item, "trainEntry");
      const entry = e && this.trainEntry(e);
      if (entry) entries.push(entry);
      const j = sub(item, "trainJunk");
      if (j) this.junk(j, "train");
    }
    return { kind: "train", entries, keyword: tokenLoc(this.fileName, kw), loc };
  }

  /** `trainEntry := Ident Ident? '=' expr` (`loss NAME = expr` has the name). */
  trainEntry(n: CstNode): TrainEntry | undefined {
    const loc = this.loc(n);
    const key = this.ident(tok(n, "key"));
    const v = sub(n, "value");
    const value = v && this.expr(v);
    if (!loc || !key || !value) return undefined;
    const name = this.ident(tok(n, "name"));
    return { key, ...(name ? { name } : {}), value, loc };
  }

  /** `input := 'input' Ident ':' Ident '[' (dim (',' dim)*)? ']'` (`[]`: a scalar per sample) */
  inputDecl(n: CstNode): InputDecl | undefined {
    const loc = this.loc(n);
    const name = this.ident(tok(n, "name"));
    const dtype = this.ident(tok(n, "dtype"));
    if (!loc || !name || !dtype) return undefined;
    const shape: NumberLit[] = [];
    for (const d of subs(n, "dim")) {
      const lit = this.number(d);
      if (lit) shape.push(lit);
    }
    return { kind: "input", name, dtype, shape, loc };
  }

  /** `let := 'let' Ident '=' expr` */
  letStmt(n: CstNode): LetStmt | undefined {
    const loc = this.loc(n);
    const name = this.ident(tok(n, "name"));
    const e = sub(n, "expr");
    const value = e && this.expr(e);
    if (!loc || !name || !value) return undefined;
    return { kind: "let", name, value, loc };
  }

  /** `output := 'output' Ident ('=' expr)?` */
  outputStmt(n: CstNode): OutputStmt | undefined {
    const loc = this.loc(n);
    const name = this.ident(tok(n, "name"));
    if (!loc || !name) return undefined;
    const e = sub(n, "expr");
    if (!e) return kids(n, "Equals").length > 0 ? undefined : { kind: "output", name, loc };
    const value = this.expr(e);
    return value ? { kind: "output", name, value, loc } : undefined;
  }

  /** `block := 'block' Ident '(' params? ')' '{' (let | ';' | junk)* 'return' expr ';'? '}'` */
  blockDecl(n: CstNode): BlockDecl | undefined {
    const loc = this.loc(n);
    const name = this.ident(tok(n, "name"));
    if (!loc || !name) return undefined;
    const params: BlockParam[] = [];
    const ps = sub(n, "params");
    if (ps) for (const p of subs(ps, "param")) {
      const param = this.param(p);
      if (param) params.push(param);
    }
    const body: LetStmt[] = [];
    for (const item of subs(n, "blockItem")) {
      const l = sub(item, "letStmt");
      const j = sub(item, "blockJunk");
      const s = l && this.letStmt(l);
      if (s) body.push(s);
      if (j) this.junk(j, "block");
    }
    const r = sub(n, "result");
    const result = r && this.expr(r);
    if (!result) return undefined;
    return { kind: "block", name, params, body, result, loc };
  }

  /** `param := Ident (':' Ident)? ('=' expr)?` */
  param(n: CstNode): BlockParam | undefined {
    const loc = this.loc(n);
    const name = this.ident(tok(n, "name"));
    if (!loc || !name) return undefined;
    const typeTok = tok(n, "type");
    let type: BlockParam["type"] = "tensor";
    if (typeTok) {
      const found = PARAM_TYPES.find((t) => t === typeTok.image);
      if (found) type = found;
      else
        this.diagnostics.push(
          diag("E0204", `unknown parameter type '${typeTok.image}' for parameter '${name.text}'`, tokenLoc(this.fileName, typeTok), {
            hint: `parameter types are ${PARAM_TYPES.join(", ")} (no annotation means tensor)`,
          }),
        );
    }
    const d = sub(n, "default");
    const def = d && this.expr(d);
    if (d && !def) return undefined;
    return { name, type, ...(def ? { default: def } : {}), loc };
  }

  // ---- expressions ----

  /** `expr := additive` */
  expr(n: CstNode): Expr | undefined {
    const a = sub(n, "additive");
    return a && this.binary(a, "+", "mult");
  }

  /** `additive := mult ('+' mult)*` and `mult := pipe ('*' pipe)*`, folded to the left. */
  private binary(n: CstNode, op: "+" | "*", operandRule: "mult" | "pipe"): Expr | undefined {
    let acc: Expr | undefined;
    for (const o of subs(n, "operands")) {
      const e = operandRule === "mult" ? this.binary(o, "*", "pipe") : this.pipe(o);
      if (!e) return undefined;
      acc = acc === undefined ? e : { kind: "binary", op, left: acc, right: e, loc: spanLoc(acc.loc, e.loc) };
    }
    return acc;
  }

  /** `pipe := primary ('->' stage)*` */
  pipe(n: CstNode): Expr | undefined {
    const h = sub(n, "head");
    const head = h && this.primary(h);
    if (!head) return undefined;
    const stages: CallExpr[] = [];
    for (const s of subs(n, "stages")) {
      const c = this.call(s);
      if (!c) return undefined;
      stages.push(c);
    }
    if (stages.length === 0) return head;
    return { kind: "pipe", head, stages, loc: spanLoc(head.loc, stages[stages.length - 1]!.loc) };
  }

  /** `call := (Ident ':')? Ident '(' args? ')'`, and pipeline stages, where the parentheses are optional. */
  call(n: CstNode): CallExpr | undefined {
    const loc = this.loc(n);
    const callee = this.ident(tok(n, "callee"));
    if (!loc || !callee) return undefined;
    const layer = this.ident(tok(n, "layer"));
    const args: Arg[] = [];
    const a = sub(n, "args");
    if (a) for (const argNode of subs(a, "arg")) {
      const arg = this.arg(argNode);
      if (!arg) return undefined;
      args.push(arg);
    }
    return { kind: "call", callee, ...(layer ? { layer } : {}), args, loc };
  }

  /** `arg := (Ident '=')? expr` */
  arg(n: CstNode): Arg | undefined {
    const loc = this.loc(n);
    const v = sub(n, "value");
    const value = v && this.expr(v);
    if (!loc || !value) return undefined;
    const name = this.ident(tok(n, "name"));
    return { ...(name ? { name } : {}), value, loc };
  }

  /** `primary := call | Ident | '-'? Number | String | 'true' | 'false' | list | '(' expr ')'` */
  primary(n: CstNode): Expr | undefined {
    const c = sub(n, "call");
    if (c) return this.call(c);
    const name = tok(n, "name");
    if (name) return { kind: "name", name: name.image, loc: tokenLoc(this.fileName, name) };
    if (kids(n, "Number").length > 0) return this.number(n);
    const s = tok(n, "StringLiteral");
    if (s) return this.string(s);
    const t = tok(n, "True") ?? tok(n, "False");
    if (t) return { kind: "bool", value: t.image === "true", loc: tokenLoc(this.fileName, t) };
    const l = sub(n, "list");
    if (l) {
      const loc = this.loc(l);
      const items: Expr[] = [];
      for (const i of subs(l, "items")) {
        const e = this.expr(i);
        if (!e) return undefined;
        items.push(e);
      }
      return loc && { kind: "list", items, loc };
    }
    const p = sub(n, "paren");
    const inner = p && sub(p, "inner");
    return inner && this.expr(inner);
  }

  /** A number literal with an optional leading '-' (rule `dim` or the number alternative of `primary`). */
  private number(n: CstNode): NumberLit | undefined {
    const num = tok(n, "Number");
    if (!num) return undefined;
    const minus = tok(n, "Minus");
    const loc = tokenLoc(this.fileName, num);
    const value = Number(num.image) * (minus ? -1 : 1);
    const isInt = /^\d+$/.test(num.image);
    return { kind: "number", value, isInt, loc: minus ? spanLoc(tokenLoc(this.fileName, minus), loc) : loc };
  }

  /** Unescape a string literal; reports unknown escapes (E0103). Unterminated strings are reported by parse.ts. */
  private string(t: IToken): StringLit {
    const loc = tokenLoc(this.fileName, t);
    const closed = !tokenMatcher(t, UnterminatedString);
    const body = t.image.slice(1, closed ? -1 : undefined);
    let value = "";
    for (let i = 0; i < body.length; i++) {
      const ch = body[i]!;
      if (ch !== "\\") {
        value += ch;
        continue;
      }
      const next = body[i + 1];
      i++;
      if (next === '"' || next === "\\") value += next;
      else if (next === "n") value += "\n";
      else if (next === "t") value += "\t";
      else if (next !== undefined) {
        // body[i - 1] is the backslash, at image index i (after the opening quote)
        const col = (t.startColumn ?? 1) + i;
        const off = t.startOffset + i;
        const at: SourceLoc = { file: this.fileName, line: loc.line, col, endLine: loc.line, endCol: col + 2, offset: off, endOffset: off + 2 };
        const hint = "strings support \\\" \\\\ \\n and \\t";
        this.diagnostics.push(diag("E0103", `unknown escape sequence '\\${next}' in string`, at, { hint }));
        value += next;
      }
    }
    return { kind: "string", value, loc };
  }

  // ---- recovery ----

  /** Report tokens the parser skipped: one E0201 per run, underlining the run's first line. */
  private junk(n: CstNode, where: "top" | "model" | "block" | "train"): void {
    const toks = tokensOf(n);
    const first = toks[0];
    if (!first) return;
    const second = toks[1];
    const firstLine = toks.filter((t) => t.startLine === first.startLine);
    const loc = spanLoc(tokenLoc(this.fileName, first), tokenLoc(this.fileName, firstLine[firstLine.length - 1]!));
    const found = describeToken(first);
    let message: string;
    let hint: string | undefined;
    const missingLet = tokenMatcher(first, Identifier) && second !== undefined && tokenMatcher(second, Equals);
    if (where === "top") {
      if (["let", "input", "output"].includes(first.image) && isKeyword(first)) {
        message = `'${first.image}' statements belong inside a model body`;
        hint = "wrap them in 'model NAME { ... }'";
      } else if (tokenMatcher(first, RBrace)) {
        message = "unmatched '}'";
      } else {
        message = `expected 'model' or 'block' at the top level, found ${found}`;
        if (missingLet) hint = "statements belong inside 'model NAME { ... }'";
        else if (tokenMatcher(first, Train)) hint = "a train section goes inside the model body, after its outputs";
      }
    } else if (where === "train") {
      message = `expected a train entry 'key = value', found ${found}`;
      if (tokenMatcher(first, Colon) || tokenMatcher(first, Equals)) hint = "an entry starts with its key: epochs = 10";
      else hint = "entries are 'key = value' or 'loss NAME = value', one per line";
    } else if (where === "model") {
      message = `expected a statement (input, let, output, block or train), found ${found}`;
      if (missingLet) hint = `missing 'let'? write 'let ${first.image} = ...'`;
      else if (tokenMatcher(first, Identifier) && second !== undefined && tokenMatcher(second, Colon))
        hint = `an input is declared as 'input ${first.image}: f32[...]'; a named layer needs 'let NAME = ${first.image}: op(...)'`;
      else if (tokenMatcher(first, Return)) hint = "'return' ends a block body; a model declares 'output NAME'";
      else if (tokenMatcher(first, Model)) hint = "models cannot be nested; is the previous model missing its '}'?";
      else if (tokenMatcher(first, LBrace)) hint = "braces only open model and block bodies";
    } else {
      message = `expected 'let' or 'return' in the block body, found ${found}`;
      if (missingLet) hint = `missing 'let'? write 'let ${first.image} = ...'`;
      else if (isKeyword(first)) hint = "a block holds only 'let' statements and ends with 'return <expr>'";
      else if (tokenMatcher(first, Train)) hint = "a train section belongs in a model body, not in a block";
    }
    this.diagnostics.push(diag("E0201", message, loc, hint !== undefined ? { hint } : {}));
  }
}

