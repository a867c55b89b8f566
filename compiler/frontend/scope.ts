// Lowering-time values, lexical scopes and layer naming. Neighbours: frontend/lower.ts (the walker),
// frontend/args.ts (argument binding); both use these types.

import type { SourceLoc } from "../ir/types.js";
import { nearestNames } from "../diagnostics.js";

/**
 * What an expression evaluates to during lowering. A `poison` value stands for an expression that
 * already produced an error: every use of it is silent, so one mistake yields one diagnostic.
 */
export type Val =
  | { kind: "tensor"; id: string; loc: SourceLoc }
  | { kind: "number"; value: number; isInt: boolean; loc: SourceLoc }
  | { kind: "bool"; value: boolean; loc: SourceLoc }
  | { kind: "string"; value: string; loc: SourceLoc }
  | { kind: "list"; value: number[]; isInt: boolean; loc: SourceLoc }
  | { kind: "poison"; loc: SourceLoc };

/** Human name of a value's kind for "expected int, got tensor" messages. */
export function describeVal(v: Val): string {
  switch (v.kind) {
    case "number":
      return v.isInt ? "int" : "float";
    case "list":
      return v.isInt ? "list of ints" : "list of floats";
    default:
      return v.kind;
  }
}

/** A lexical scope: name -> value, with the loc of the binding (for E0303 notes). */
export class Scope {
  private readonly names = new Map<string, { val: Val; loc: SourceLoc }>();

  constructor(private readonly parent?: Scope) {}

  /** Look a name up through the parents. */
  lookup(name: string): Val | undefined {
    return this.names.get(name)?.val ?? this.parent?.lookup(name);
  }

  /** Where `name` was bound in this very scope, if it was. */
  boundHere(name: string): SourceLoc | undefined {
    return this.names.get(name)?.loc;
  }

  /** Bind a name in this scope (callers check duplicates with `boundHere` first). */
  bind(name: string, val: Val, loc: SourceLoc): void {
    this.names.set(name, { val, loc });
  }

  /** All visible names (for "did you mean" hints). */
  allNames(): string[] {
    return [...this.names.keys(), ...(this.parent?.allNames() ?? [])];
  }
}

/** "did you mean 'x'?" for the names near `name`, or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const near = nearestNames(name, candidates);
  if (near.length === 0) return undefined;
  if (near.length === 1) return `did you mean '${near[0]}'?`;
  return `did you mean one of ${near.map((n) => `'${n}'`).join(", ")}?`;
}

/**
 * Layer naming inside one naming context (the model, or one block instance). Named layers get
 * `prefix + name`; unnamed ops that create params (and unnamed block instances) get `<op><k>`,
 * k counting from 0 per op name within the context and skipping names already taken, like
 * "dense0", "dense1" (inside instance "s1": "s1.dense0").
 */
export class LayerNamer {
  private readonly counters = new Map<string, number>();

  constructor(
    /** Full layer name of the enclosing block instance ("" at model level). */
    readonly prefix: string,
    /** All full layer names used in the graph so far, shared by every context, with where they were named. */
    readonly taken: Map<string, SourceLoc>,
  ) {}

  /** Full name for a user-given layer name. */
  full(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** A fresh automatic name `<base><k>` (full), reserved at `loc`. */
  auto(base: string, loc: SourceLoc): string {
    let k = this.counters.get(base) ?? 0;
    while (this.taken.has(this.full(`${base}${k}`))) k++;
    this.counters.set(base, k + 1);
    const name = this.full(`${base}${k}`);
    this.taken.set(name, loc);
    return name;
  }
}
