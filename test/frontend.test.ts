// Front-end tests: the AST of the language example, precedence, literals, locations, error recovery,
// message wording and robustness on hostile input. Neighbours: compiler/frontend/*, test/diagnostics.test.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../compiler/diagnostics.js";
import type { BinaryExpr, CallExpr, Expr, LetStmt, ListLit, NumberLit, PipeExpr } from "../compiler/frontend/ast.js";
import { MAX_NESTING, parseModelFile } from "../compiler/frontend/parse.js";
import { ModelParser } from "../compiler/frontend/parser.js";
import { Lexer, type TokenType } from "../compiler/frontend/chevrotain.js";
import { ALL_TOKENS, createModelLexer, tokenize } from "../compiler/frontend/tokens.js";
import { GRAMMAR_TABLES } from "../compiler/frontend/grammar-tables.generated.js";
import { renderGrammarTables } from "../scripts/gen-grammar-tables.js";

const EXAMPLE = `# comments start with '#' or '//'
block stage(x, channels: int, k: int = 3) {          # reusable, parameterized block
  let y = x -> conv: conv2d(channels, kernel=k, padding="same") -> relu
  return y -> maxpool2d(2)
}

model mnist_cnn {
  input image: f32[1, 28, 28]                       # per-sample shape; batch is dynamic
  let h = image -> stage1: stage(16) -> stage2: stage(32) -> flatten
  let logits = h -> fc1: dense(128) -> relu -> dropout(0.25) -> fc2: dense(10)
  output logits                                      // output by name
  output probs = softmax(logits, axis=1)             # output with expression
}
`;

/** Parse and require no diagnostics. */
function ok(src: string) {
  const r = parseModelFile(src, "t.model");
  expect(r.diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col} ${d.message}`)).toEqual([]);
  return r.ast;
}

/** The value of `let z = <src>` inside a model. */
function exprOf(src: string): Expr {
  const ast = ok(`model m {\n  let z = ${src}\n}`);
  return (ast.models[0]!.statements[0] as LetStmt).value;
}

/** A compact S-expression of an expression, for precedence checks. */
function sexpr(e: Expr): string {
  switch (e.kind) {
    case "name":
      return e.name;
    case "number":
      return String(e.value);
    case "string":
      return JSON.stringify(e.value);
    case "bool":
      return String(e.value);
    case "list":
      return `[${e.items.map(sexpr).join(" ")}]`;
    case "binary":
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case "call":
      return `(${e.layer ? e.layer.text + ":" : ""}${e.callee.text}${e.args.map((a) => " " + (a.name ? a.name.text + "=" : "") + sexpr(a.value)).join("")})`;
    case "pipe":
      return `(-> ${sexpr(e.head)} ${e.stages.map(sexpr).join(" ")})`;
  }
}

function diagsOf(src: string) {
  return parseModelFile(src, "t.model").diagnostics;
}

describe("grammar and token table checks (the compiler skips them at run time)", () => {
  it("the token table passes chevrotain's lexer validations and first-character optimization", () => {
    // validate: true throws on a bad token table (unreachable patterns, a pattern that defeats the
    // first-character dispatch); the compiler's own lexer (skipValidations) must tokenize identically.
    const lexer = createModelLexer({ validate: true });
    expect(lexer.lexerDefinitionErrors).toEqual([]);
    const src = EXAMPLE + 'let s = "a\\"b" -> f(x=-1.5e3) * [1, 2] + models;\n"open';
    const image = (ts: { image: string; tokenType: { name: string } }[]) => ts.map((t) => `${t.tokenType.name}:${t.image}`);
    expect(image(tokenize(src).tokens)).toEqual(image(lexer.tokenize(src).tokens));
    expect(tokenize(src).tokens.length).toBeGreaterThan(100);
  });

  it("the tokens' start_chars_hint and line_breaks equal what chevrotain derives from their regexps", () => {
    // The hints spare the lexer's construction the regexp analysis; wrong hints would silently stop a token
    // from being tried at some first character. Same token types without the hints: same dispatch tables.
    type Cfg = { tokenType: { name: string }; canLineTerminator: boolean };
    const tables = (lexer: Lexer) => {
      const l = lexer as unknown as { patternIdxToConfig: Record<string, Cfg[]>; charCodeToPatternIdxToConfig: Record<string, (Cfg[] | undefined)[]> };
      return {
        lineTerminators: l.patternIdxToConfig.defaultMode!.map((c) => `${c.tokenType.name}:${c.canLineTerminator}`),
        firstChar: l.charCodeToPatternIdxToConfig.defaultMode!.map((a, i) => (a ? `${i}:${a.map((c) => c.tokenType.name).join(",")}` : "")).filter(Boolean),
      };
    };
    const hinted = ALL_TOKENS.filter((t) => (t as { START_CHARS_HINT?: unknown }).START_CHARS_HINT !== undefined);
    expect(hinted.length).toBeGreaterThan(25);
    const clone = new Map(ALL_TOKENS.map((t) => [t, { ...t } as Record<string, unknown>]));
    const bare = ALL_TOKENS.map((t) => {
      const c = clone.get(t)!;
      delete c.START_CHARS_HINT;
      if (t.name !== "WhiteSpace") delete c.LINE_BREAKS;
      if (c.LONGER_ALT) c.LONGER_ALT = clone.get(c.LONGER_ALT as TokenType);
      return c as unknown as TokenType;
    });
    const derived = new Lexer(bare, { positionTracking: "full", ensureOptimizations: true });
    expect(tables(createModelLexer())).toEqual(tables(derived));
    expect(tables(derived).firstChar.length).toBeGreaterThan(60);
  });

  it("the grammar passes chevrotain's parser validations (ambiguities, left recursion, rule names)", () => {
    const parser = new ModelParser({ validate: true }); // performSelfAnalysis throws on a grammar error
    expect((parser as unknown as { definitionErrors: unknown[] }).definitionErrors).toEqual([]);
    parser.input = tokenize(EXAMPLE).tokens;
    parser.file();
    expect(parser.errors).toEqual([]);
  });

  it("the stored grammar tables equal chevrotain's analysis of the grammar (else run scripts/gen-grammar-tables.ts)", () => {
    // The compiler's parser reads its lookahead paths and recovery follow sets from GRAMMAR_TABLES instead of
    // computing them; a parser built with validate: true computes them the chevrotain way.
    const computed = new ModelParser({ validate: true }).tables;
    expect(computed).toEqual(GRAMMAR_TABLES);
    // The file on disk is what the generator writes for them (no hand edits).
    const onDisk = readFileSync(new URL("../compiler/frontend/grammar-tables.generated.ts", import.meta.url), "utf8");
    expect(onDisk).toBe(renderGrammarTables(computed));
    // Every production of the grammar has an entry: ORs, OPTIONs, MANYs of all 28 rules.
    expect(Object.keys(GRAMMAR_TABLES.lookahead).length).toBeGreaterThan(30);
    expect(GRAMMAR_TABLES.lookahead["primary/Alternation/0"]![0]).toEqual([
      ["Identifier", "Colon"],
      ["Identifier", "LParen"],
    ]);
    expect(Object.keys(GRAMMAR_TABLES.follows).length).toBeGreaterThan(30);
    // The table-built parser recovers with the same follow sets as one that computed them.
    const resync = (p: ModelParser) => (p as unknown as { resyncFollows: Record<string, TokenType[]> }).resyncFollows;
    expect(resync(new ModelParser())).toEqual(resync(new ModelParser({ validate: true })));
  });

  it("a parser built from the stored tables and one that computed them agree on valid and broken inputs", () => {
    const broken = [
      EXAMPLE,
      "model m {\n  let y = f(4 3)\n  output y\n}",
      "model m {\n  let = 3\n  let y = x -> \n  output z\n}",
      "model m {\n  input x: f32[3\n  let y = [1, 2,, 3]\n  output y = g(a=, b)\n}",
      "block b(x: int, y = 2,) {\n  let q = x +\n  return q * (y\n}\nmodel m { train { loss l = mse(a, b)\n  epochs 3\n  bad ) stuff\n } }",
      "}} model { let x = 1 } ; block",
    ];
    const fresh = new ModelParser({ validate: true });
    const stored = new ModelParser();
    const run = (p: ModelParser, src: string) => {
      p.input = tokenize(src).tokens;
      const cst = p.file();
      return { cst: JSON.stringify(cst), errors: p.errors.map((e) => `${e.name} ${e.token.startOffset} ${e.message}`) };
    };
    for (const src of broken) expect(run(stored, src)).toEqual(run(fresh, src));
    expect(run(stored, broken[1]!).errors.length).toBeGreaterThan(0);
  });
});

describe("the language example from ast.ts", () => {
  const ast = ok(EXAMPLE);

  it("has one top-level block and one model", () => {
    expect(ast.kind).toBe("file");
    expect(ast.file).toBe("t.model");
    expect(ast.blocks.map((b) => b.name.text)).toEqual(["stage"]);
    expect(ast.models.map((m) => m.name.text)).toEqual(["mnist_cnn"]);
    expect(ast.models[0]!.blocks).toEqual([]);
  });

  it("parses block parameters with types and defaults", () => {
    const b = ast.blocks[0]!;
    expect(b.params.map((p) => [p.name.text, p.type])).toEqual([
      ["x", "tensor"],
      ["channels", "int"],
      ["k", "int"],
    ]);
    expect(b.params[2]!.default).toMatchObject({ kind: "number", value: 3, isInt: true });
    expect(b.params[0]!.default).toBeUndefined();
    expect(b.params[1]!.loc).toMatchObject({ line: 2, col: 16, endCol: 29 });
  });

  it("parses the block body and its result", () => {
    const b = ast.blocks[0]!;
    expect(b.body).toHaveLength(1);
    expect(b.body[0]!.name.text).toBe("y");
    expect(sexpr(b.body[0]!.value)).toBe('(-> x (conv:conv2d channels kernel=k padding="same") (relu))');
    expect(sexpr(b.result)).toBe("(-> y (maxpool2d 2))");
    expect(b.loc).toMatchObject({ line: 2, col: 1, endLine: 5, endCol: 2 });
  });

  it("parses statements in order with names, dtypes and shapes", () => {
    const st = ast.models[0]!.statements;
    expect(st.map((s) => `${s.kind} ${s.name.text}`)).toEqual(["input image", "let h", "let logits", "output logits", "output probs"]);
    const input = st[0]!;
    if (input.kind !== "input") throw new Error("expected input");
    expect(input.dtype.text).toBe("f32");
    expect(input.shape.map((n) => [n.value, n.isInt])).toEqual([
      [1, true],
      [28, true],
      [28, true],
    ]);
    expect(input.loc).toMatchObject({ line: 8, col: 3, endLine: 8, endCol: 30 });
    expect(input.dtype.loc).toMatchObject({ line: 8, col: 16, endCol: 19 });
    expect(st[3]).toMatchObject({ kind: "output" });
    expect((st[3] as { value?: Expr }).value).toBeUndefined();
  });

  it("parses pipelines into stages with layer names and args", () => {
    const st = ast.models[0]!.statements;
    const h = (st[1] as LetStmt).value as PipeExpr;
    expect(h.kind).toBe("pipe");
    expect(h.head).toMatchObject({ kind: "name", name: "image", loc: { line: 9, col: 11, endCol: 16 } });
    expect(h.stages.map((s) => [s.layer?.text, s.callee.text, s.args.length])).toEqual([
      ["stage1", "stage", 1],
      ["stage2", "stage", 1],
      [undefined, "flatten", 0],
    ]);
    const s1 = h.stages[0]!;
    expect(s1.loc).toMatchObject({ line: 9, col: 20, endLine: 9, endCol: 37 });
    expect(s1.layer!.loc).toMatchObject({ line: 9, col: 20, endCol: 26 });
    expect(s1.callee.loc).toMatchObject({ line: 9, col: 28, endCol: 33 });
    expect(s1.args[0]).toMatchObject({ value: { kind: "number", value: 16, isInt: true, loc: { line: 9, col: 34 } } });
    expect(h.loc).toMatchObject({ line: 9, col: 11, endLine: 9, endCol: 69 });
    const logits = (st[2] as LetStmt).value;
    expect(sexpr(logits)).toBe("(-> h (fc1:dense 128) (relu) (dropout 0.25) (fc2:dense 10))");
    const dropout = (logits as PipeExpr).stages[2]!;
    expect(dropout.args[0]!.value).toMatchObject({ kind: "number", value: 0.25, isInt: false });
  });

  it("parses calls with keyword arguments and their locations", () => {
    const probs = ast.models[0]!.statements[4]!;
    if (probs.kind !== "output" || !probs.value) throw new Error("expected output with value");
    const call = probs.value as CallExpr;
    expect(call.kind).toBe("call");
    expect(call.layer).toBeUndefined();
    expect(call.callee).toMatchObject({ text: "softmax", loc: { line: 12, col: 18 } });
    expect(call.args[0]!.name).toBeUndefined();
    expect(call.args[0]!.value).toMatchObject({ kind: "name", name: "logits", loc: { line: 12, col: 26 } });
    expect(call.args[1]!.name).toMatchObject({ text: "axis", loc: { line: 12, col: 34, endCol: 38 } });
    expect(call.args[1]!.loc).toMatchObject({ line: 12, col: 34, endCol: 40 });
    expect(call.loc).toMatchObject({ line: 12, col: 18, endCol: 41 });
    expect(probs.loc).toMatchObject({ line: 12, col: 3, endCol: 41 });
  });

  it("puts a SourceLoc with a non-empty range on every node", () => {
    let count = 0;
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(visit);
      if (node === null || typeof node !== "object") return;
      const n = node as Record<string, unknown>;
      if ("loc" in n) {
        const loc = n["loc"] as { file: string; line: number; col: number; offset: number; endOffset: number };
        expect(loc.file).toBe("t.model");
        expect(loc.line).toBeGreaterThanOrEqual(1);
        expect(loc.col).toBeGreaterThanOrEqual(1);
        expect(loc.endOffset).toBeGreaterThan(loc.offset);
        count++;
      }
      for (const [k, v] of Object.entries(n)) if (k !== "loc") visit(v);
    };
    visit(ast);
    expect(count).toBeGreaterThan(60);
  });

  it("gives offsets that slice the source to the node's text", () => {
    const call = (ast.models[0]!.statements[4] as { value: CallExpr }).value;
    expect(EXAMPLE.slice(call.loc.offset, call.loc.endOffset)).toBe("softmax(logits, axis=1)");
    const conv = ((ast.blocks[0]!.body[0]!.value as PipeExpr).stages[0]!);
    expect(EXAMPLE.slice(conv.loc.offset, conv.loc.endOffset)).toBe('conv: conv2d(channels, kernel=k, padding="same")');
  });
});

describe("precedence: '->' binds tightest, then '*', then '+'", () => {
  it("folds + and * to the left with * tighter", () => {
    expect(sexpr(exprOf("a + b * c"))).toBe("(+ a (* b c))");
    expect(sexpr(exprOf("a * b + c"))).toBe("(+ (* a b) c)");
    expect(sexpr(exprOf("a + b + c"))).toBe("(+ (+ a b) c)");
    expect(sexpr(exprOf("a * b * c"))).toBe("(* (* a b) c)");
  });

  it("applies pipelines before * and +", () => {
    expect(sexpr(exprOf("a -> f * b -> g + c"))).toBe("(+ (* (-> a (f)) (-> b (g))) c)");
    expect(sexpr(exprOf("x + y -> relu"))).toBe("(+ x (-> y (relu)))");
  });

  it("lets parentheses override precedence", () => {
    expect(sexpr(exprOf("(x + y) -> relu"))).toBe("(-> (+ x y) (relu))");
    expect(sexpr(exprOf("(a + b) * c"))).toBe("(* (+ a b) c)");
  });

  it("spans binary expressions from the left operand to the right one", () => {
    const e = exprOf("a + b * c") as BinaryExpr;
    expect(e.loc).toMatchObject({ line: 2, col: 11, endCol: 20 });
    expect(e.right.loc).toMatchObject({ line: 2, col: 15, endCol: 20 });
  });
});

describe("literals, names and layout", () => {
  it("reads numbers: ints, decimals, exponents, negatives", () => {
    const l = exprOf("[16, 0.25, 1e-5, 3.5E+2, -2, -0.5]") as ListLit;
    expect(l.items.map((i) => [(i as NumberLit).value, (i as NumberLit).isInt])).toEqual([
      [16, true],
      [0.25, false],
      [1e-5, false],
      [350, false],
      [-2, true],
      [-0.5, false],
    ]);
    expect(l.items[4]!.loc).toMatchObject({ col: 36, endCol: 38 });
  });

  it("reads strings with escapes, booleans, nested lists and trailing commas", () => {
    expect(sexpr(exprOf('f("a\\"b\\\\c", true, false, [[1, 2], []],)'))).toBe('(f "a\\"b\\\\c" true false [[1 2] []])');
    const s = (exprOf('"x\\ty\\n"') as { value: string }).value;
    expect(s).toBe("x\ty\n");
  });

  it("treats keywords as prefixes of identifiers and allows ';' and comments", () => {
    const ast = ok(`// top
model models { input letter: f32[4]; let outputs = letter -> relu; output outputs # done
}`);
    expect(ast.models[0]!.name.text).toBe("models");
    expect(ast.models[0]!.statements.map((s) => s.name.text)).toEqual(["letter", "outputs", "outputs"]);
  });

  it("parses blocks nested in a model, bare names, empty arg lists and multi-line calls", () => {
    const ast = ok(`model m {
  block head(x, p: float = 0.5, pad: string = "same", ks: ints = [3, 3], b: bool = true) {
    return x -> dropout(p)
  }
  input x: i32[2]
  let y = x -> head() -> reshape(
    shape=[2],
  )
  output y
}`);
    const b = ast.models[0]!.blocks[0]!;
    expect(b.params.map((p) => p.type)).toEqual(["tensor", "float", "string", "ints", "bool"]);
    expect(b.body).toEqual([]);
    expect(sexpr((ast.models[0]!.statements[1] as LetStmt).value)).toBe("(-> x (head) (reshape shape=[2]))");
  });

  it("accepts an empty file and a file with only comments", () => {
    expect(ok("").models).toEqual([]);
    expect(ok("# nothing\n// here\n").blocks).toEqual([]);
  });
});

describe("diagnostics and recovery", () => {
  it("reports several errors in one file and keeps parsing", () => {
    const src = `model m {
  input x: f32[4]
  h = dense(3)
  let y: x
  let z = dense(4 5)
  let w = x ->
  output z
}`;
    const r = parseModelFile(src, "t.model");
    expect(r.diagnostics.map((d) => `${d.code} ${d.loc!.line}:${d.loc!.col}`)).toEqual(["E0201 3:3", "E0201 4:8", "E0201 5:19", "E0201 7:3"]);
    expect(r.diagnostics[0]!.hint).toContain("missing 'let'");
    expect(r.diagnostics[1]!.hint).toContain("'='");
    expect(r.diagnostics[2]!.message).toBe("expected ',' or ')' in the argument list of 'dense' opened at 5:16, found '5'");
    expect(r.diagnostics[3]!.message).toBe("expected an op or block name after '->', found keyword 'output'");
    // what could be parsed is still in the AST
    expect(r.ast.models[0]!.statements.map((s) => s.name.text)).toEqual(["x", "z", "z"]);
  });

  it("names the unclosed bracket and where it was opened", () => {
    const src = "model m {\n  let y = conv2d(3, kernel=[3, 3)\n  output y\n}";
    const d = diagsOf(src);
    expect(d.map((x) => x.code)).toEqual(["E0202"]);
    expect(d[0]!.message).toBe("expected ']' to close the list opened at 2:28, found ')'");
    expect(d[0]!.related![0]!.loc).toMatchObject({ line: 2, col: 28 });
  });

  it("reports unclosed brackets at the end of the file just past the last token", () => {
    const d = diagsOf("model m {\n  let y = dense(3");
    expect(d.map((x) => `${x.code} ${x.loc!.line}:${x.loc!.col}`)).toEqual(["E0202 2:18"]);
    expect(d[0]!.message).toBe("expected ')' to close the argument list of 'dense' opened at 2:16, but the file ended");
  });

  it("formats a diagnostic with the caret under the offending column", () => {
    const src = "model m {\n  input x: f32[4]\n  let y = x -> dense(3 4)\n}";
    const d = diagsOf(src);
    expect(d).toHaveLength(1);
    const text = formatDiagnostic(d[0]!, { "t.model": src });
    const lines = text.split("\n");
    expect(lines[0]).toBe("t.model:3:24: error[E0201]: expected ',' or ')' in the argument list of 'dense' opened at 3:21, found '4'");
    const srcLine = lines.findIndex((l) => l.startsWith("3 | "));
    expect(lines[srcLine]).toBe("3 |   let y = x -> dense(3 4)");
    const caret = lines[srcLine + 1]!;
    expect(caret.indexOf("^") - caret.indexOf("|") - 2).toBe(23); // column 24, 1-based
    expect(text).toContain("= hint: separate arguments with ','");
  });

  it("reports stray characters once, with a hint, and unterminated strings", () => {
    const d = diagsOf("model m {\n  let y = x @ 2\n  let s = conv2d(padding='same')\n  let t = \"open\n}");
    expect(d.map((x) => `${x.code} ${x.loc!.line}:${x.loc!.col}`)).toEqual(["E0101 2:13", "E0101 3:26", "E0101 3:31", "E0102 4:11"]);
    expect(d[1]!.hint).toContain("double quotes");
  });

  it("says which closer an unterminated string swallowed", () => {
    const d = diagsOf('model m {\n  let y = conv2d(padding="same)\n  output y\n}');
    // the missing ')' is a consequence of the string, whose hint says so: it is not reported again
    expect(d.map((x) => `${x.code} ${x.loc!.line}:${x.loc!.col}`)).toEqual(["E0102 2:26"]);
    expect(d[0]!.hint).toContain("takes ')' with it");
  });

  it("reports unknown parameter types and escapes", () => {
    const d = diagsOf('block b(x, n: integer) { return x -> f("a\\qb") }');
    expect(d.map((x) => `${x.code} ${x.loc!.line}:${x.loc!.col}`)).toEqual(["E0204 1:15", "E0103 1:42"]);
  });

  it("points every diagnostic at a real location", () => {
    const inputs = ["model", "model m {", "block", "model m { let", "}}}", "model m { output }", '"', "model m { input x: f32[", "let x = 1"];
    for (const src of inputs) {
      const d = diagsOf(src);
      expect(d.length, src).toBeGreaterThan(0);
      for (const x of d) {
        expect(x.loc, src).toBeDefined();
        expect(x.loc!.line).toBeGreaterThanOrEqual(1);
        expect(x.loc!.col).toBeGreaterThanOrEqual(1);
        expect(Number.isFinite(x.loc!.offset)).toBe(true);
      }
    }
  });
});

describe("robustness", () => {
  it(`stops at ${MAX_NESTING} levels of nesting instead of overflowing (10,000 '(')`, () => {
    const t0 = performance.now();
    const d = diagsOf("model m { let y = " + "(".repeat(10_000) + "x" + ")".repeat(10_000) + " }");
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(d.map((x) => x.code)).toEqual(["E0203"]);
    expect(d[0]!.loc!.col).toBe(18 + MAX_NESTING); // the model's '{' is the first level
    expect(diagsOf("[".repeat(10_000)).map((x) => x.code)).toEqual(["E0203"]);
  });

  it("accepts nesting up to the limit", () => {
    const n = MAX_NESTING - 1; // the model's '{' is one level
    ok("model m { let y = " + "(".repeat(n) + "x" + ")".repeat(n) + " }");
  });

  it("parses a long file (2,000 statements, 34,000 tokens) without stalling", () => {
    const lines = ["model big {", "  input x: f32[8]"];
    for (let i = 0; i < 2000; i++) lines.push(`  let v${i} = ${i === 0 ? "x" : `v${i - 1}`} -> l${i}: dense(8, bias=true) -> relu`);
    lines.push("  output v1999", "}");
    const t0 = performance.now();
    const ast = ok(lines.join("\n"));
    // ~1 s on an idle machine; the bound only catches hangs and quadratic behaviour on a loaded CI box
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(ast.models[0]!.statements).toHaveLength(2002);
  });

  it("survives a very long line of errors", () => {
    const t0 = performance.now();
    const d = diagsOf("model m { " + "= ) ] , ".repeat(5_000) + "}");
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(d.length).toBeGreaterThan(0);
  });

  it("never throws on random input", () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = ["model", "block", "m", "x", "let", "input", "output", "return", "=", ":", "->", "(", ")", "[", "]", "{", "}", ",", "+", "*", "-", "1", "2.5", '"s"', '"', "@", "\n", " ", "f32", "relu", ";", "#c\n"];
    for (let k = 0; k < 200; k++) {
      let src = "";
      const len = rand(60);
      for (let i = 0; i < len; i++) src += pieces[rand(pieces.length)] + " ";
      const r = parseModelFile(src, "fuzz.model");
      for (const d of r.diagnostics) expect(d.loc, src).toBeDefined();
    }
  });
});
