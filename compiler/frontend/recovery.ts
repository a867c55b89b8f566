// What syntax errors make unreliable, so names, arguments and shapes can still be checked in the rest of
// the file. Neighbours: frontend/parse.ts (the syntax diagnostics), frontend/tokens.ts, compiler/check.ts (uses it).

import { tokenMatcher, type IToken, type TokenType } from "./chevrotain.js";
import type { Diagnostic } from "../diagnostics.js";
import type { SourceLoc } from "../ir/types.js";
import { isKeyword } from "./messages.js";
import { Block, Equals, Identifier, Input, LBrace, Let, Model, NumberTok, Output, RBrace, Return, Semicolon, StringLiteral, tokenize, Train } from "./tokens.js";

/** Tokens where a statement, declaration or body may start or end: the bounds of a broken region. */
const BOUNDARIES: readonly TokenType[] = [Let, Input, Output, Return, Block, Model, RBrace, Semicolon];

/**
 * Keywords whose next identifier is a declared name (a binding, input, block or model). `output NAME`
 * declares NAME only when '=' follows (`output y = ...`); `output y` refers to a name bound elsewhere.
 */
const DECLARERS: readonly TokenType[] = [Let, Input, Block, Model];

const isDeclarer = (t: IToken): boolean => DECLARERS.some((k) => tokenMatcher(t, k));

/**
 * A reserved word or a number written where a declarer wants its name, on the same line (`let output =`,
 * `let 3y =`): the name the user meant cannot be referred to either, so it hides no "unknown name" error.
 */
function isBadName(declarer: IToken, t: IToken | undefined): boolean {
  return t !== undefined && t.startLine === declarer.startLine && (isKeyword(t) || tokenMatcher(t, NumberTok));
}

/**
 * The parts of a file its syntax errors touch. `broken(loc)` is true for a statement, block or train section
 * overlapping a broken region: it must not be checked (recovery may have dropped or changed tokens in it), and
 * a name it binds is unknown (poison). `suspect(name)` is true for a name whose declaration may have been
 * lost, so "unknown name" (E0302) and "unknown op or block" (E0301) errors about it are not reported: every
 * declared name (`let NAME`, `block NAME`, ...: a declaration the recovery dropped leaves no trace in the
 * AST), every identifier in a broken region, names near a name declared in a broken region (`block head(x`
 * without its '(' declares `headx`), and any name at all when a declaration has lost its name (`let = ...`).
 */
export interface SyntaxDamage {
  broken(loc: SourceLoc | undefined): boolean;
  /** True when an "unknown name" or "unknown op or block" error about `name` may be caused by the syntax errors. */
  suspect(name: string): boolean;
  /**
   * True when a broken region holds `train` or '{' (a train section, or a body it might be, may have been
   * lost or misread): the train section is then not checked.
   */
  trainTouched: boolean;
}

/**
 * Damage of the E01xx/E02xx diagnostics `syntax` on `source`. A region runs from the last boundary token
 * (let, input, output, return, block, model, '}', ';' or a train section's `train`) strictly before the
 * error, or before the bracket it names as opened there, to the first boundary strictly after the error.
 * When that boundary is '}', ';' or the token right before the error, it may be the stray token that cut a
 * statement short, and the region starts one boundary earlier. Regions are generous: a statement next to
 * the mistake may be skipped too, but nothing a recovered token changed is checked.
 */
export function syntaxDamage(source: string, syntax: readonly Diagnostic[]): SyntaxDamage {
  const { tokens } = tokenize(source);
  const bounds: number[] = [];
  tokens.forEach((t, i) => {
    if (BOUNDARIES.some((b) => tokenMatcher(t, b)) || isTrainStart(tokens, i)) bounds.push(i);
  });
  const regions: [number, number][] = [];
  for (const d of syntax) {
    const at = d.loc?.offset;
    if (at === undefined) {
      regions.push([0, Number.POSITIVE_INFINITY]);
      continue;
    }
    const from = Math.min(at, ...(d.related ?? []).map((r) => r.loc.offset ?? at));
    let k = lastIndex(bounds, (b) => tokens[b]!.startOffset < from);
    // A boundary right before the mistake, or a '}' / ';', may be the stray token itself (`let h = x let -> relu`,
    // a '}' closing the model early): the statement it cut short is broken too.
    // Not so for a declarer whose name is the mistake (`let output = ...`, a bare `output`): it starts its own statement.
    const b = k >= 0 ? bounds[k]! : -1;
    const badName = b >= 0 && tokens[b + 1]?.startOffset === from && (isDeclarer(tokens[b]!) || tokenMatcher(tokens[b]!, Output)) && (isKeyword(tokens[b + 1]!) || tokenMatcher(tokens[b + 1]!, NumberTok));
    if (b >= 0 && !badName && (tokenMatcher(tokens[b]!, RBrace) || tokenMatcher(tokens[b]!, Semicolon) || (tokens[b + 1]?.startOffset ?? at) >= from)) k--;
    const start = k >= 0 ? tokens[bounds[k]!]!.startOffset : 0;
    const next = bounds.find((i) => tokens[i]!.startOffset > at);
    regions.push([start, next === undefined ? Number.POSITIVE_INFINITY : tokens[next]!.startOffset]);
  }
  const inRegion = (offset: number): boolean => regions.some(([s, e]) => offset >= s && offset < e);
  const declared = new Set<string>();
  const damaged = new Set<string>();
  /** Names declared in a broken region: perhaps merged with a neighbour (`head(x` lost its '(': `headx`). */
  const damagedDecls = new Set<string>();
  let nameless = false;
  let trainTouched = false;
  const declare = (name: IToken): void => {
    declared.add(name.image);
    if (inRegion(name.startOffset)) damagedDecls.add(name.image);
  };
  tokens.forEach((t, i) => {
    const next = tokens[i + 1];
    const prev = tokens[i - 1];
    // `let input = ...`: this `input` is a (reserved) name, not a declarer of its own
    const isName = prev !== undefined && isDeclarer(prev) && isBadName(prev, t);
    if (isDeclarer(t) && !isName) {
      if (next && tokenMatcher(next, Identifier)) declare(next);
      else if (isBadName(t, next)) {
        // `let 3y`: the number may be a stray in front of the name
        const after = tokens[i + 2];
        if (tokenMatcher(next!, NumberTok) && after && tokenMatcher(after, Identifier) && after.startOffset === next!.endOffset! + 1) declare(after);
      } else nameless = true;
    }
    if (tokenMatcher(t, Output) && !isName && next) {
      // `output y = ...` binds y; `output = ...` binds a name that was lost; a bare `output` binds nothing
      if (tokenMatcher(next, Identifier) && tokens[i + 2] && tokenMatcher(tokens[i + 2]!, Equals)) declare(next);
      else if (tokenMatcher(next, Equals)) nameless = true;
    }
    if (tokenMatcher(t, Identifier) && inRegion(t.startOffset)) damaged.add(t.image);
    // an unterminated string swallows the rest of its line, declarations included
    if (tokenMatcher(t, StringLiteral) && inRegion(t.startOffset)) for (const w of t.image.match(/[A-Za-z_]\w*/g) ?? []) damaged.add(w);
    if ((tokenMatcher(t, Train) || tokenMatcher(t, LBrace)) && inRegion(t.startOffset)) trainTouched = true;
  });
  return {
    broken(loc) {
      if (loc?.offset === undefined) return true;
      const s = loc.offset;
      const e = loc.endOffset ?? s + 1;
      return regions.some(([rs, re]) => s < re && e > rs);
    },
    suspect(name) {
      if (nameless || declared.has(name) || damaged.has(name)) return true;
      for (const d of damagedDecls) if (d.includes(name)) return true;
      return false;
    },
    trainTouched,
  };
}

/** `train` followed by '{' (the soft keyword starting a train section; elsewhere it is a name). */
function isTrainStart(tokens: IToken[], i: number): boolean {
  if (!tokenMatcher(tokens[i]!, Train)) return false;
  const next = tokens[i + 1];
  return next !== undefined && tokenMatcher(next, LBrace);
}

function lastIndex<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i;
  return -1;
}
