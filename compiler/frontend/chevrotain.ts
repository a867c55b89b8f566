// The chevrotain API the front end uses, loaded from the package's single-file ESM build. Neighbours:
// tokens.ts, parser.ts, parse.ts, messages.ts, visitor.ts import chevrotain only through this file.
//
// Why: the package's entry ("chevrotain" -> lib/src/api.js) is ~100 ES modules plus lodash-es (~600 more);
// Node 20 takes 0.6-0.8 s of CPU just to resolve and link them, which was most of a first compile in a fresh
// process. The package ships the same version as one bundled file (lib/chevrotain.mjs, built by its release
// from the same sources, lodash inlined): importing it costs ~20 ms. The package's `exports` map does not
// expose that file, so it is found next to the resolved entry; if it is missing (another layout), the
// regular entry is used. Only one copy is ever loaded: every chevrotain value (EOF, token types, CstParser)
// the front end uses comes from here, so identity checks (tokenMatcher, EOF) agree.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

type Chevrotain = typeof import("chevrotain");

async function loadChevrotain(): Promise<Chevrotain> {
  try {
    const entry = createRequire(import.meta.url).resolve("chevrotain"); // .../chevrotain/lib/src/api.js
    const bundle = join(dirname(entry), "..", "chevrotain.mjs");
    if (existsSync(bundle)) return (await import(pathToFileURL(bundle).href)) as Chevrotain;
  } catch {
    // fall through to the package entry
  }
  return import("chevrotain");
}

const chevrotain = await loadChevrotain();

export const { CstParser, EOF, LLkLookaheadStrategy, Lexer, createToken, getLookaheadPaths, tokenLabel, tokenMatcher } = chevrotain;
export type {
  CstElement,
  CstNode,
  ILookaheadStrategy,
  IRecognitionException,
  IToken,
  LookaheadProductionType,
  TokenType,
} from "chevrotain";
/** Instance types of the classes above (a destructured const carries no type of its own). */
export type Lexer = import("chevrotain").Lexer;
export type CstParser = import("chevrotain").CstParser;
