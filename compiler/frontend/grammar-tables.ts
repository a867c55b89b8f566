// The grammar analysis chevrotain does when a parser is built (LL(k) lookahead paths per production, follow
// sets for error recovery), precomputed. Neighbours: parser.ts builds ModelParser with these tables;
// grammar-tables.generated.ts holds them; scripts/gen-grammar-tables.ts writes that file from a parser built
// with `validate: true`, which computes the analysis the regular chevrotain way.
//
// Why: in a fresh process chevrotain's analysis (performSelfAnalysis: lookahead paths, resync follows) runs
// ~45 ms of cold code, most of building the parser. Its results depend only on the grammar, so they are
// stored as token names and the compiler's parser only turns them back into lookahead functions, built the
// way chevrotain builds them (LLkLookaheadStrategy: buildAlternativesLookAheadFunc,
// buildSingleAlternativeLookaheadFunction). test/frontend.test.ts checks the stored tables equal a fresh
// analysis, so a grammar change without regenerating them fails CI.

import { EOF, getLookaheadPaths, LLkLookaheadStrategy, tokenMatcher } from "./chevrotain.js";
import type { ILookaheadStrategy, IToken, LookaheadProductionType, TokenType } from "./chevrotain.js";
import { ALL_TOKENS } from "./tokens.js";

/**
 * A parser's grammar analysis, by token name. Keys of `lookahead` are `rule/ProductionType/occurrence`
 * (`primary/Alternation/0`, `args/Repetition/0`; chevrotain's production types and occurrence indices).
 */
export interface GrammarTables {
  /**
   * For an Alternation: per alternative, its lookahead paths (each a sequence of at most maxLookahead token
   * names). For an optional production (Option, Repetition, ...): one entry, the paths that enter it.
   */
  lookahead: Record<string, string[][][]>;
  /**
   * chevrotain's `resyncFollows`: for each rule call site (`calledRule + occurrence + "_~IN~_" + callingRule`)
   * the token names that may follow it; error recovery resynchronizes on them.
   */
  follows: Record<string, string[]>;
}

type Options<M extends keyof ILookaheadStrategy> = Parameters<NonNullable<ILookaheadStrategy[M]>>[0];
type Rule = Options<"buildLookaheadForAlternation">["rule"];
type AltFunc = ReturnType<ILookaheadStrategy["buildLookaheadForAlternation"]>;
type OptFunc = ReturnType<ILookaheadStrategy["buildLookaheadForOptional"]>;
/** What the lookahead functions are called on: the parser (`LA_FAST(1)` is the next token, no bounds check). */
interface Recognizer {
  LA_FAST(howMuch: number): IToken;
}

const TOKEN_BY_NAME = new Map<string, TokenType>([...ALL_TOKENS, EOF].map((t) => [t.name, t]));

function tokenType(name: string): TokenType {
  const t = TOKEN_BY_NAME.get(name);
  if (!t) throw new Error(`grammar tables name an unknown token type '${name}': run scripts/gen-grammar-tables.ts`);
  return t;
}

/** chevrotain's resync follow sets from stored tables (for `ModelParser`'s `resyncFollows`). */
export function followsFromTables(tables: GrammarTables): Record<string, TokenType[]> {
  const out: Record<string, TokenType[]> = {};
  for (const [key, names] of Object.entries(tables.follows)) out[key] = names.map(tokenType);
  return out;
}

/** `resyncFollows` of a parser that computed them, by token name (for GrammarTables.follows). */
export function followsToTables(follows: Record<string, TokenType[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, types] of Object.entries(follows)) out[key] = types.map((t) => t.name);
  return out;
}

/**
 * chevrotain's LL(k) lookahead strategy, either reading stored paths (`tables` given) or computing them with
 * chevrotain's own analysis (`getLookaheadPaths`, the function LLkLookaheadStrategy uses) and recording them
 * in `computed`. Both build the same lookahead functions from the paths. `validate` is chevrotain's
 * (ambiguity, left recursion, empty alternatives); chevrotain calls it only when validations are on.
 * A production missing from `tables` throws (the tables are out of date).
 */
export class TableLookahead implements ILookaheadStrategy {
  /** The paths this strategy computed (empty when it reads tables). */
  readonly computed: Record<string, string[][][]> = {};

  constructor(
    private readonly maxLookahead: number,
    private readonly tables?: GrammarTables,
  ) {}

  validate(options: Options<"validate">): ReturnType<ILookaheadStrategy["validate"]> {
    return new LLkLookaheadStrategy({ maxLookahead: this.maxLookahead }).validate(options);
  }

  buildLookaheadForAlternation(options: Options<"buildLookaheadForAlternation">): AltFunc {
    const alts = this.paths(options.rule, "Alternation", options.prodOccurrence, options.maxLookahead);
    return alternationLookahead(alts, options.hasPredicates);
  }

  buildLookaheadForOptional(options: Options<"buildLookaheadForOptional">): OptFunc {
    const [inside] = this.paths(options.rule, options.prodType, options.prodOccurrence, options.maxLookahead);
    return optionalLookahead(inside ?? []);
  }

  private paths(rule: Rule, prodType: LookaheadProductionType, occurrence: number, maxLookahead: number): TokenType[][][] {
    const key = `${rule.name}/${prodType}/${occurrence}`;
    if (this.tables) {
      const stored = this.tables.lookahead[key];
      if (!stored) throw new Error(`grammar tables have no lookahead for ${key}: run scripts/gen-grammar-tables.ts`);
      return stored.map((alt) => alt.map((path) => path.map(tokenType)));
    }
    const seqs = getLookaheadPaths({ occurrence, rule, prodType, maxLookahead });
    // Optional productions use only the paths into the production (chevrotain: lookAheadPaths[0]).
    const kept = prodType === "Alternation" ? seqs : seqs.slice(0, 1);
    this.computed[key] = kept.map((alt) => alt.map((path) => path.map((t) => t.name)));
    return kept;
  }
}

/**
 * The function an OR calls to pick an alternative: the index of the first alternative (whose GATE, if any,
 * holds) with a path matching the next tokens, else undefined. As chevrotain's buildAlternativesLookAheadFunc,
 * including its table for one-token paths.
 */
function alternationLookahead(alts: TokenType[][][], hasPredicates: boolean): AltFunc {
  if (!hasPredicates && alts.every((alt) => alt.every((path) => path.length === 1))) {
    const choice: Record<number, number> = {};
    alts.forEach((alt, i) => {
      for (const [t] of alt) {
        for (const idx of [t!.tokenTypeIdx!, ...t!.categoryMatches!]) choice[idx] ??= i;
      }
    });
    return function (this: Recognizer) {
      return choice[this.LA_FAST(1).tokenTypeIdx];
    };
  }
  return function (this: Recognizer, orAlts) {
    for (let a = 0; a < alts.length; a++) {
      if (hasPredicates && orAlts?.[a]?.GATE?.call(this) === false) continue;
      if (matchesAny(this, alts[a]!)) return a;
    }
    return undefined;
  };
}

/** The function an OPTION/MANY/... calls: does a path into the production match the next tokens? */
function optionalLookahead(paths: TokenType[][]): OptFunc {
  if (paths.every((path) => path.length === 1)) {
    const enters: boolean[] = [];
    for (const [t] of paths) for (const idx of [t!.tokenTypeIdx!, ...t!.categoryMatches!]) enters[idx] = true;
    return function (this: Recognizer) {
      return enters[this.LA_FAST(1).tokenTypeIdx] === true;
    };
  }
  return function (this: Recognizer) {
    return matchesAny(this, paths);
  };
}

function matchesAny(parser: Recognizer, paths: TokenType[][]): boolean {
  next: for (const path of paths) {
    for (let i = 0; i < path.length; i++) if (!tokenMatcher(parser.LA_FAST(i + 1), path[i]!)) continue next;
    return true;
  }
  return false;
}
