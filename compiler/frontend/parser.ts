// The `.model` grammar as a chevrotain CST parser with error recovery (stage 2 of the front end).
// Neighbours: tokens.ts supplies the tokens; visitor.ts turns the CST into the AST; parse.ts drives both;
// grammar-tables.ts holds the grammar's precomputed lookahead and recovery tables (regenerate after editing rules).

import { CstParser, EOF, tokenMatcher, type CstNode, type IToken, type TokenType } from "./chevrotain.js";
import {
  ALL_TOKENS,
  AnyToken,
  Arrow,
  Block,
  Colon,
  Comma,
  Equals,
  False,
  Identifier,
  Input,
  LBrace,
  LBracket,
  Let,
  LParen,
  Minus,
  Model,
  NumberTok,
  Output,
  Plus,
  RBrace,
  RBracket,
  Return,
  RParen,
  Semicolon,
  Star,
  StringLiteral,
  Train,
  True,
} from "./tokens.js";
import { describeSyntaxError, isKeyword, type SyntaxSite } from "./messages.js";
import { followsFromTables, followsToTables, TableLookahead, type GrammarTables } from "./grammar-tables.js";
import { GRAMMAR_TABLES } from "./grammar-tables.generated.js";

/** The parser's default and largest lookahead (tokens); some ORs ask for less (MAX_LOOKAHEAD). */
const MAX_LOOKAHEAD = 2;

/** The chevrotain internals ModelParser sets when it builds from stored tables (chevrotain 11.2 Recoverable). */
interface RecoveryState {
  recoveryEnabled: boolean;
  resyncFollows: Record<string, TokenType[]>;
}

/**
 * The grammar (spec/language.md has the user-facing version):
 * ```
 * file       := topItem*                     topItem := block | model | ';' | junk
 * model      := 'model' Ident '{' modelItem* '}'
 * modelItem  := block | input | let | output | train | ';' | junk
 * train      := 'train' '{' (trainEntry | ';' | trainJunk)* '}'     trainEntry := Ident Ident? '=' expr
 * input      := 'input' Ident ':' Ident '[' dim (',' dim)* ']'        dim := '-'? Number
 * let        := 'let' Ident '=' expr           output := 'output' Ident ('=' expr)?
 * block      := 'block' Ident '(' params? ')' '{' (let | ';' | junk)* 'return' expr ';'? '}'
 * param      := Ident (':' Ident)? ('=' expr)?
 * expr       := additive;  additive := mult ('+' mult)*;  mult := pipe ('*' pipe)*
 * pipe       := primary ('->' stage)*;        stage := (Ident ':')? Ident ('(' args? ')')?
 * primary    := call | Ident | '-'? Number | String | 'true' | 'false' | list | '(' expr ')'
 * call       := (Ident ':')? Ident '(' args? ')'      list := '[' (expr (',' expr)* ','?)? ']'
 * args       := arg (',' arg)* ','?           arg := (Ident '=')? expr
 * ```
 * `junk` rules swallow tokens that cannot start an item up to the next item (or the closing brace),
 * so one stray line yields one diagnostic and parsing goes on; the visitor reports them. In a train
 * section, junk stops at the next line that starts with a name (entries are one per line in practice).
 * Lists, argument lists and parameter lists accept one trailing comma.
 */
export class ModelParser extends CstParser {
  /** Extra detail (code, hint, opener) for each chevrotain error message, filled by the message provider. */
  readonly sites = new Map<string, SyntaxSite>();

  /**
   * The grammar analysis this parser was built with: computed by chevrotain when `validate` is true,
   * else the stored GRAMMAR_TABLES (grammar-tables.ts). scripts/gen-grammar-tables.ts writes it out.
   */
  readonly tables: GrammarTables;

  /**
   * `validate: true` runs chevrotain's grammar checks in performSelfAnalysis (ambiguous alternatives,
   * left recursion, duplicate or invalid rule names) and throws on a bad grammar, and computes the
   * grammar analysis (lookahead paths, recovery follow sets) the chevrotain way; test/frontend.test.ts
   * builds the parser that way so grammar mistakes and stale tables fail CI. Default false (chevrotain's
   * `skipValidations`, analysis read from GRAMMAR_TABLES): the grammar is fixed, and the checks and the
   * analysis are most of building the parser in a fresh process. Parsing and error recovery are the
   * same either way.
   */
  constructor(options: { validate?: boolean } = {}) {
    const validate = options.validate ?? false;
    const provider = new ErrorMessages();
    const lookahead = new TableLookahead(MAX_LOOKAHEAD, validate ? undefined : GRAMMAR_TABLES);
    super(ALL_TOKENS, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      maxLookahead: MAX_LOOKAHEAD,
      lookaheadStrategy: lookahead,
      errorMessageProvider: provider,
      skipValidations: !validate,
    });
    provider.parser = this;
    const recovery = this as unknown as RecoveryState;
    if (validate) {
      this.performSelfAnalysis();
      this.tables = { lookahead: lookahead.computed, follows: followsToTables(recovery.resyncFollows) };
    } else {
      // performSelfAnalysis computes the follow sets only for a parser with recovery on; they come from
      // the tables instead. Recovery is on again before any parsing (the rest of the analysis, grammar
      // recording, does not depend on it; the CST builder chose its recovery mode in the constructor).
      recovery.recoveryEnabled = false;
      this.performSelfAnalysis();
      recovery.recoveryEnabled = true;
      recovery.resyncFollows = followsFromTables(GRAMMAR_TABLES);
      this.tables = GRAMMAR_TABLES;
    }
  }

  /**
   * Single-token recovery: chevrotain tries inserting the expected token before deleting the
   * unexpected one. Because the junk rules make every token a possible follower, insertion would
   * always win and `f(4 3)` would become `f(4)` followed by junk `3)`. Prefer deletion whenever the
   * token after the unexpected one is the expected one.
   */
  protected override canTokenTypeBeInsertedInRecovery(tokType: TokenType): boolean {
    return !(tokenMatcher(this.LA(2), tokType) && this.canTokenTypeBeDeletedInRecovery(tokType));
  }

  /** Never delete a token that starts a statement or a body: `x ->` + newline + `output z` must keep the output. */
  protected override canTokenTypeBeDeletedInRecovery(_tokType: TokenType): boolean {
    const t = this.LA(1);
    return !isKeyword(t) && !tokenMatcher(t, Train) && !tokenMatcher(t, LBrace) && !tokenMatcher(t, RBrace);
  }

  /** Token `n` positions ahead of the current one (1 = next). For the message provider's hints. */
  peek(n: number): IToken {
    return this.LA(n);
  }

  // ---- declarations ----

  file = this.RULE("file", () => {
    this.MANY({ GATE: () => !isEOF(this.LA(1)), DEF: () => this.SUBRULE(this.topItem) });
  });

  topItem = this.RULE("topItem", () => {
    this.OR({
      MAX_LOOKAHEAD: 1,
      DEF: [
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.blockDecl) },
        { ALT: () => this.CONSUME(Semicolon) },
        { GATE: () => !startsAny(this.LA(1), TOP_STARTS), ALT: () => this.SUBRULE(this.topJunk) },
      ],
    });
  });

  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(Model);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(LBrace);
    this.MANY({ GATE: () => !startsAny(this.LA(1), [RBrace, EOF]), DEF: () => this.SUBRULE(this.modelItem) });
    this.CONSUME(RBrace);
  });

  modelItem = this.RULE("modelItem", () => {
    this.OR({
      MAX_LOOKAHEAD: 1,
      DEF: [
        { ALT: () => this.SUBRULE(this.blockDecl) },
        { ALT: () => this.SUBRULE(this.inputDecl) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.outputStmt) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
        { ALT: () => this.CONSUME(Semicolon) },
        { GATE: () => !startsAny(this.LA(1), BODY_STARTS), ALT: () => this.SUBRULE(this.bodyJunk) },
      ],
    });
  });

  trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(Train);
    this.CONSUME(LBrace);
    this.MANY({ GATE: () => !startsAny(this.LA(1), TRAIN_ENDS), DEF: () => this.SUBRULE(this.trainItem) });
    this.CONSUME(RBrace);
  });

  trainItem = this.RULE("trainItem", () => {
    this.OR({
      MAX_LOOKAHEAD: 1,
      DEF: [
        { ALT: () => this.SUBRULE(this.trainEntry) },
        { ALT: () => this.CONSUME(Semicolon) },
        { GATE: () => !startsAny(this.LA(1), TRAIN_STARTS), ALT: () => this.SUBRULE(this.trainJunk) },
      ],
    });
  });

  trainEntry = this.RULE("trainEntry", () => {
    this.CONSUME(Identifier, { LABEL: "key" });
    this.OPTION(() => this.CONSUME2(Identifier, { LABEL: "name" }));
    this.CONSUME(Equals);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  inputDecl = this.RULE("inputDecl", () => {
    this.CONSUME(Input);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Colon);
    this.CONSUME2(Identifier, { LABEL: "dtype" });
    this.CONSUME(LBracket);
    // `i32[]`: one value per sample (e.g. a class label).
    this.OPTION(() => {
      this.SUBRULE(this.dim);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.dim);
      });
    });
    this.CONSUME(RBracket);
  });

  dim = this.RULE("dim", () => {
    this.OPTION(() => this.CONSUME(Minus));
    this.CONSUME(NumberTok);
  });

  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(Let);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(Output);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr);
    });
  });

  blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(Block);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(LParen);
    this.OPTION(() => this.SUBRULE(this.params));
    this.CONSUME(RParen);
    this.CONSUME(LBrace);
    this.MANY({
      GATE: () => !startsAny(this.LA(1), [Return, RBrace, EOF]),
      DEF: () => this.SUBRULE(this.blockItem),
    });
    this.CONSUME(Return);
    this.SUBRULE(this.expr, { LABEL: "result" });
    this.OPTION2(() => this.CONSUME(Semicolon));
    this.CONSUME(RBrace);
  });

  blockItem = this.RULE("blockItem", () => {
    this.OR({
      MAX_LOOKAHEAD: 1,
      DEF: [
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.CONSUME(Semicolon) },
        { GATE: () => !startsAny(this.LA(1), BLOCK_STARTS), ALT: () => this.SUBRULE(this.blockJunk) },
      ],
    });
  });

  params = this.RULE("params", () => {
    this.SUBRULE(this.param);
    this.MANY({
      GATE: () => !tokenMatcher(this.LA(2), RParen),
      DEF: () => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.param);
      },
    });
    this.OPTION(() => this.CONSUME2(Comma, { LABEL: "trailing" }));
  });

  param = this.RULE("param", () => {
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.CONSUME2(Identifier, { LABEL: "type" });
    });
    this.OPTION2(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr, { LABEL: "default" });
    });
  });

  // ---- expressions, loosest first ----

  expr = this.RULE("expr", () => {
    this.SUBRULE(this.additive);
  });

  additive = this.RULE("additive", () => {
    this.SUBRULE(this.mult, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(Plus);
      this.SUBRULE2(this.mult, { LABEL: "operands" });
    });
  });

  mult = this.RULE("mult", () => {
    this.SUBRULE(this.pipe, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(Star);
      this.SUBRULE2(this.pipe, { LABEL: "operands" });
    });
  });

  pipe = this.RULE("pipe", () => {
    this.SUBRULE(this.primary, { LABEL: "head" });
    this.MANY(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.stage, { LABEL: "stages" });
    });
  });

  stage = this.RULE("stage", () => {
    this.OPTION(() => {
      this.CONSUME(Identifier, { LABEL: "layer" });
      this.CONSUME(Colon);
    });
    this.CONSUME2(Identifier, { LABEL: "callee" });
    this.OPTION2(() => {
      this.CONSUME(LParen);
      this.OPTION3(() => this.SUBRULE(this.args));
      this.CONSUME(RParen);
    });
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.CONSUME(Identifier, { LABEL: "name" }) },
      {
        ALT: () => {
          this.OPTION(() => this.CONSUME(Minus));
          this.CONSUME(NumberTok);
        },
      },
      { ALT: () => this.CONSUME(StringLiteral) },
      { ALT: () => this.CONSUME(True) },
      { ALT: () => this.CONSUME(False) },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.paren) },
    ]);
  });

  call = this.RULE("call", () => {
    this.OPTION(() => {
      this.CONSUME(Identifier, { LABEL: "layer" });
      this.CONSUME(Colon);
    });
    this.CONSUME2(Identifier, { LABEL: "callee" });
    this.CONSUME(LParen);
    this.OPTION2(() => this.SUBRULE(this.args));
    this.CONSUME(RParen);
  });

  args = this.RULE("args", () => {
    this.SUBRULE(this.arg);
    this.MANY({
      GATE: () => !tokenMatcher(this.LA(2), RParen),
      DEF: () => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.arg);
      },
    });
    this.OPTION(() => this.CONSUME2(Comma, { LABEL: "trailing" }));
  });

  arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(Identifier, { LABEL: "name" });
      this.CONSUME(Equals);
    });
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  list = this.RULE("list", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr, { LABEL: "items" });
      this.MANY({
        GATE: () => !tokenMatcher(this.LA(2), RBracket),
        DEF: () => {
          this.CONSUME(Comma);
          this.SUBRULE2(this.expr, { LABEL: "items" });
        },
      });
      this.OPTION2(() => this.CONSUME2(Comma, { LABEL: "trailing" }));
    });
    this.CONSUME(RBracket);
  });

  paren = this.RULE("paren", () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expr, { LABEL: "inner" });
    this.CONSUME(RParen);
  });

  // ---- recovery: skip what cannot start an item, keeping braces balanced ----

  topJunk = this.RULE("topJunk", () => this.skipUntil(TOP_STARTS));
  bodyJunk = this.RULE("bodyJunk", () => this.skipUntil(BODY_STARTS));
  blockJunk = this.RULE("blockJunk", () => this.skipUntil(BLOCK_STARTS));

  /**
   * Skip a broken train entry: at least one token, then up to `}` / `;` / a statement keyword, or a
   * name that starts a new line, outside brackets opened here.
   */
  trainJunk = this.RULE("trainJunk", () => {
    let depth = 0;
    let line = 0;
    const track = (t: IToken): void => {
      if (tokenMatcher(t, LBrace) || tokenMatcher(t, LParen) || tokenMatcher(t, LBracket)) depth++;
      else if (tokenMatcher(t, RBrace) || tokenMatcher(t, RParen) || tokenMatcher(t, RBracket)) depth--;
      line = t.endLine ?? t.startLine ?? line;
    };
    const first = this.CONSUME(AnyToken);
    this.ACTION(() => track(first));
    this.MANY({
      GATE: () => {
        const t = this.LA(1);
        if (isEOF(t)) return false;
        if (depth > 0) return true;
        const newLineName = tokenMatcher(t, Identifier) && (t.startLine ?? 0) > line;
        return !newLineName && !startsAny(t, TRAIN_ENDS) && !tokenMatcher(t, Semicolon);
      },
      DEF: () => {
        const t = this.CONSUME2(AnyToken);
        this.ACTION(() => track(t));
      },
    });
  });

  /** Consume at least one token, then every token up to one of `stops` outside braces opened here. */
  private skipUntil(stops: TokenType[]): void {
    let depth = 0;
    const track = (t: IToken): void => {
      if (tokenMatcher(t, LBrace)) depth++;
      else if (tokenMatcher(t, RBrace)) depth--;
    };
    const first = this.CONSUME(AnyToken);
    this.ACTION(() => track(first));
    this.MANY({
      GATE: () => !isEOF(this.LA(1)) && (depth > 0 || !startsAny(this.LA(1), stops)),
      DEF: () => {
        const t = this.CONSUME2(AnyToken);
        this.ACTION(() => track(t));
      },
    });
  }
}

/** Tokens that start (or end) an item at top level / in a model body / in a block body. */
const TOP_STARTS: TokenType[] = [Model, Block, Semicolon, EOF];
const BODY_STARTS: TokenType[] = [Block, Input, Let, Output, Train, Semicolon, RBrace, EOF];
/** What ends a train section's entries: its `}`, or a statement keyword (then the `}` is missing). */
const TRAIN_ENDS: TokenType[] = [RBrace, Model, Block, Input, Let, Output, EOF];
/** Tokens that start (or end) a train entry. */
const TRAIN_STARTS: TokenType[] = [Identifier, Semicolon, ...TRAIN_ENDS];
const BLOCK_STARTS: TokenType[] = [Let, Return, Semicolon, RBrace, EOF];

function isEOF(t: IToken): boolean {
  return t.tokenType === EOF;
}

function startsAny(t: IToken, types: TokenType[]): boolean {
  return types.some((ty) => (ty === EOF ? isEOF(t) : tokenMatcher(t, ty)));
}

/**
 * Chevrotain's error message provider: delegates to describeSyntaxError, which knows the token
 * vector (to find the bracket a missing closer belongs to) and records code/hint per message.
 */
class ErrorMessages {
  parser!: ModelParser;

  private record(site: SyntaxSite): string {
    this.parser.sites.set(site.message, site);
    return site.message;
  }

  buildMismatchTokenMessage(o: { expected: TokenType; actual: IToken; previous: IToken; ruleName: string }): string {
    return this.record(describeSyntaxError(this.parser, { kind: "mismatch", ...o }));
  }

  buildNotAllInputParsedMessage(o: { firstRedundant: IToken; ruleName: string }): string {
    return this.record(describeSyntaxError(this.parser, { kind: "redundant", actual: o.firstRedundant, ruleName: o.ruleName }));
  }

  buildNoViableAltMessage(o: { actual: IToken[]; previous: IToken; ruleName: string }): string {
    const { previous, ruleName } = o;
    return this.record(describeSyntaxError(this.parser, { kind: "noAlt", actual: o.actual[0]!, previous, ruleName }));
  }

  buildEarlyExitMessage(o: { actual: IToken[]; previous: IToken; ruleName: string }): string {
    return this.buildNoViableAltMessage(o);
  }
}

/** The CST root node type produced by `ModelParser.file()`. */
export type FileCst = CstNode;
