// Argument binding and entry-shape checks shared by the train-section lowerers (calls, numbers, lists), each
// problem an E04xx/E08xx diagnostic. Neighbours: train-functions.ts (the tables), train-data.ts, lower-train.ts.

import type { AttrValue, SourceLoc } from "../ir/types.js";
import { diag, type Diagnostic, type DiagnosticCode, type RelatedLoc } from "../diagnostics.js";
import type { CallExpr, Expr, NameRef, TrainEntry } from "./ast.js";
import { didYouMean } from "./scope.js";
import { FUNCTIONS, KIND_NAMES, describeExpr, literal, showParam, type BoundCall, type ParamKind } from "./train-functions.js";

/** Base of the train-section lowerers: collects diagnostics and binds calls to FUNCTIONS. */
export class TrainCallChecker {
  readonly diags: Diagnostic[] = [];

  protected err(code: DiagnosticCode, message: string, loc: SourceLoc, hint?: string, related?: RelatedLoc[]): void {
    this.diags.push(diag(code, message, loc, { ...(hint !== undefined ? { hint } : {}), ...(related ? { related } : {}) }));
  }

  // ---- calls and arguments ----

  /**
   * `e` as a call of one of `names` (a bare known name counts as a call without arguments): E0805 when it
   * is not a call, E0804 when the function is unknown.
   */
  protected asCall(e: Expr, what: string, names: readonly string[], example: string): CallExpr | undefined {
    if (e.kind === "name" && names.includes(e.name)) return { kind: "call", callee: { kind: "ident", text: e.name, loc: e.loc }, args: [], loc: e.loc };
    if (e.kind !== "call") {
      const got = e.kind === "name" ? `name '${e.name}'` : describeExpr(e);
      this.err("E0805", `expected ${/^[aeiou]/.test(what) ? "an" : "a"} ${what} such as ${example}, got ${got}`, e.loc, `${what}s: ${names.map((n) => `${n}(...)`).join(", ")}`);
      return undefined;
    }
    if (!names.includes(e.callee.text)) {
      const hint = didYouMean(e.callee.text, names) ?? `${what}s: ${names.join(", ")}`;
      this.err("E0804", `unknown ${what} '${e.callee.text}'`, e.callee.loc, hint);
      return undefined;
    }
    if (e.layer) this.err("E0805", `${what} '${e.callee.text}' cannot be given a layer name`, e.layer.loc);
    return e;
  }

  /** Check an argument of kind "expr" (reporting its own diagnostics); subclasses that use such arguments override it. */
  protected checkExprArg(_fn: string, _name: string, _e: Expr): boolean {
    return true;
  }

  /** Bind a call's arguments to FUNCTIONS[callee] with the E04xx checks; undefined after an error. */
  protected bind(call: CallExpr): BoundCall | undefined {
    const fn = call.callee.text;
    const params = FUNCTIONS[fn]!;
    const given = new Map<string, { e: Expr; loc: SourceLoc }>();
    let ok = true;
    let unknownKw = false;
    const positional = call.args.filter((a) => !a.name);
    positional.forEach((a, i) => {
      const p = params[i];
      if (!p) {
        if (i === params.length) this.err("E0405", `${fn}: too many arguments: takes ${params.length}, got ${positional.length}`, a.loc);
        ok = false;
      } else given.set(p.name, { e: a.value, loc: a.value.loc });
    });
    for (const a of call.args) {
      if (!a.name) continue;
      const p = params.find((q) => q.name === a.name!.text);
      if (!p) {
        unknownKw = true;
        ok = false;
        const hint = didYouMean(a.name.text, params.map((q) => q.name)) ?? (params.length ? `arguments: ${params.map((q) => q.name).join(", ")}` : `${fn}() takes no arguments`);
        this.err("E0401", `${fn}: unknown argument '${a.name.text}'`, a.name.loc, hint);
      } else if (given.has(p.name)) {
        ok = false;
        this.err("E0406", `${fn}: argument '${p.name}' given more than once`, a.name.loc);
      } else given.set(p.name, { e: a.value, loc: a.value.loc });
    }
    const missing = params.filter((p) => p.default === undefined && !given.has(p.name));
    if (missing.length > 0 && !unknownKw) {
      const list = missing.map((p) => `'${p.name}'`).join(", ");
      this.err("E0402", `${fn}: missing ${missing.length === 1 ? "argument" : "arguments"} ${list}`, call.loc, `${fn}(${params.map(showParam).join(", ")})`);
      ok = false;
    }
    const values: Record<string, AttrValue> = {};
    const names: Record<string, NameRef> = {};
    const exprs: Record<string, Expr> = {};
    for (const p of params) {
      const g = given.get(p.name);
      if (!g) {
        if (p.default !== undefined) values[p.name] = Array.isArray(p.default) ? [...p.default] : p.default;
        continue;
      }
      if (p.kind === "expr") {
        exprs[p.name] = g.e;
        if (!this.checkExprArg(fn, p.name, g.e)) ok = false;
        continue;
      }
      if (p.kind === "name") {
        if (g.e.kind === "name") names[p.name] = g.e;
        else {
          ok = false;
          const role = p.name === "input" ? "a model value (an output or let binding)" : "a data field name";
          this.err(p.name === "input" ? "E0807" : "E0403", `${fn}: argument '${p.name}' must be ${role}, got ${describeExpr(g.e)}`, g.loc,
            p.name === "input" ? "bind the expression in the model (let y = ...) and name it here" : undefined);
        }
        continue;
      }
      const v = literal(p.kind, g.e);
      if (v === undefined) {
        ok = false;
        const bad = badListItem(p.kind, g.e);
        if (bad) this.err("E0403", `${fn}: argument '${p.name}' expects ${KIND_NAMES[p.kind]}; ${bad.what}`, bad.loc);
        else this.err("E0403", `${fn}: argument '${p.name}' expects ${KIND_NAMES[p.kind]}, got ${describeExpr(g.e)}`, g.loc);
        continue;
      }
      const bad =
        p.choices && !p.choices.includes(v as string)
          ? `must be one of ${p.choices.map((c) => `"${c}"`).join(", ")}`
          : p.range?.(v);
      if (bad) {
        ok = false;
        this.err("E0404", `${fn}: argument '${p.name}' ${bad}, got ${JSON.stringify(v)}`, g.loc);
        continue;
      }
      values[p.name] = v;
    }
    return ok ? { values, names, exprs, callee: fn, loc: call.loc } : undefined;
  }

  // ---- entries ----

  /** A number entry (batch_size, epochs, seed, clip_grad_norm): E0805 for the type, E0806 for the range. */
  protected number(e: TrainEntry, o: { int: boolean; min?: number; minExclusive?: boolean; max?: number }): number | undefined {
    const key = e.key.text;
    const v = e.value;
    if (v.kind !== "number" || (o.int && !v.isInt)) {
      this.err("E0805", `'${key}' expects ${o.int ? "an int" : "a number"}, got ${describeExpr(v)}`, v.loc);
      return undefined;
    }
    const low = o.min !== undefined && (o.minExclusive ? v.value <= o.min : v.value < o.min);
    if (low || (o.max !== undefined && v.value > o.max)) {
      const range = o.max !== undefined ? `in [${o.min}, ${o.max}]` : `${o.minExclusive ? ">" : ">="} ${o.min}`;
      this.err("E0806", `'${key}' must be ${range}, got ${v.value}`, v.loc);
      return undefined;
    }
    return v.value;
  }

  /** A list entry (metrics, augment): each item through `item`; undefined when any failed. */
  protected list<T>(e: TrainEntry, item: (x: Expr) => T | undefined): T[] | undefined {
    const v = e.value;
    const items = v.kind === "list" ? v.items : v.kind === "call" ? [v] : undefined;
    if (!items) {
      this.err("E0805", `'${e.key.text}' expects a list, got ${describeExpr(v)}`, v.loc, `write ${e.key.text} = [...]`);
      return undefined;
    }
    const out = items.map(item);
    return out.every((x) => x !== undefined) ? (out as T[]) : undefined;
  }
}

/**
 * For a list given where a list of ints/numbers is expected: its first wrong element ("element 8 is 1.5,
 * not an int", 1-based) and where it is; undefined when `e` is not such a list.
 */
function badListItem(kind: ParamKind, e: Expr): { what: string; loc: SourceLoc } | undefined {
  if ((kind !== "ints" && kind !== "floats") || e.kind !== "list") return undefined;
  const i = e.items.findIndex((x) => x.kind !== "number" || (kind === "ints" && !x.isInt));
  if (i < 0) return undefined;
  const x = e.items[i]!;
  const got = x.kind === "number" ? `${x.value}` : describeExpr(x);
  return { what: `element ${i + 1} is ${got}, not ${kind === "ints" ? "an int" : "a number"}`, loc: x.loc };
}
