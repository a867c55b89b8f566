// Binding call arguments (positional and keyword) to the slots of an op or block, with the E04xx
// checks: unknown, missing, wrong type, out of range, too many, duplicate. Neighbours: frontend/lower.ts
// (calls bindArgs), frontend/scope.ts (Val), ir/ops/def.ts (ArgKind).

import type { AttrValue, SourceLoc } from "../ir/types.js";
import type { ArgKind } from "../ir/ops/def.js";
import { diag, type Diagnostic } from "../diagnostics.js";
import { describeVal, didYouMean, type Val } from "./scope.js";

/** The kind a slot accepts: an op argument kind, a block parameter type, or a tensor input. */
export type SlotKind = ArgKind | "tensor";

/** One argument slot of a callee, in positional order. */
export interface Slot {
  name: string;
  kind: SlotKind;
  /** True when the call may omit it (has a default or is derived by the op). */
  optional: boolean;
  /** For kind "string": allowed values. */
  choices?: string[];
}

/** A positional argument value with the location to blame. */
export interface PosArg {
  val: Val;
  loc: SourceLoc;
}

/** A keyword argument `name=value`. */
export interface KwArg {
  name: string;
  nameLoc: SourceLoc;
  val: Val;
  loc: SourceLoc;
}

/** Result of binding: the given values by slot name (defaults not filled), and whether any was poison. */
export interface Bound {
  values: Map<string, PosArg>;
  /** True when an error was reported or a poison value was passed: the call must not be applied. */
  failed: boolean;
}

const KIND_NAMES: Record<SlotKind, string> = {
  tensor: "tensor",
  int: "int",
  float: "float",
  bool: "bool",
  string: "string",
  ints: "list of ints",
  int_or_ints: "int or list of ints",
  padding: 'padding ("valid", "same", int or list of ints)',
};

/**
 * Check a value against a slot kind. Returns undefined when it fits, else the diagnostic code and
 * message (E0403 wrong type, E0404 a string outside `choices`).
 */
export function checkKind(callee: string, slot: Slot, v: Val): { code: "E0403" | "E0404"; message: string; hint?: string } | undefined {
  const wrong = {
    code: "E0403" as const,
    message: `${callee}: argument '${slot.name}' expects ${KIND_NAMES[slot.kind]}, got ${describeVal(v)}`,
  };
  switch (slot.kind) {
    case "tensor":
      return v.kind === "tensor" ? undefined : wrong;
    case "int":
      return v.kind === "number" && v.isInt ? undefined : wrong;
    case "float":
      return v.kind === "number" ? undefined : wrong;
    case "bool":
      return v.kind === "bool" ? undefined : wrong;
    case "ints":
      return v.kind === "list" && v.isInt ? undefined : wrong;
    case "int_or_ints":
      return (v.kind === "number" && v.isInt) || (v.kind === "list" && v.isInt) ? undefined : wrong;
    case "string":
      if (v.kind !== "string") return wrong;
      if (slot.choices && !slot.choices.includes(v.value)) {
        const hint = didYouMean(v.value, slot.choices);
        return {
          code: "E0404",
          message: `${callee}: argument '${slot.name}' must be one of ${slot.choices.map((c) => `"${c}"`).join(", ")}, got "${v.value}"`,
          ...(hint ? { hint } : {}),
        };
      }
      return undefined;
    case "padding":
      if (v.kind === "string")
        return v.value === "valid" || v.value === "same"
          ? undefined
          : {
              code: "E0404",
              message: `${callee}: padding must be "valid" or "same", got "${v.value}"`,
              hint: didYouMean(v.value, ["valid", "same"]) ?? "or give explicit padding: p, [ph, pw] or [top, left, bottom, right]",
            };
      return (v.kind === "number" && v.isInt) || (v.kind === "list" && v.isInt) ? undefined : wrong;
  }
}

/** A checked value as an IR attribute. Only call on non-tensor, non-poison values. */
export function toAttr(v: Val): AttrValue {
  switch (v.kind) {
    case "number":
    case "bool":
    case "string":
      return v.value;
    case "list":
      return [...v.value];
    default:
      throw new Error(`toAttr: ${v.kind} is not an attribute value`);
  }
}

/** "1 (the tensor input)" / "3 (2 tensor inputs and 1 argument)" for E0405 messages. */
function describeSlots(slots: Slot[]): string {
  const t = slots.filter((s) => s.kind === "tensor").length;
  const o = slots.length - t;
  if (t === 0) return `${o}`;
  const ts = t === 1 ? "the tensor input" : `${t} tensor inputs`;
  return `${slots.length} (${o === 0 ? ts : `${ts} and ${o} argument${o === 1 ? "" : "s"}`})`;
}

/**
 * The E0401 hint when no slot name is near the unknown keyword `name`: the callee's argument names
 * (its non-tensor slots; all slots if it has only tensor ones), e.g. "dense takes 'units', 'bias'".
 * An `activation`-like name also gets the modelc way: activations are ops piped after the layer.
 */
function listArgs(callee: string, name: string, slots: Slot[]): string {
  const args = slots.filter((s) => s.kind !== "tensor");
  const shown = (args.length > 0 ? args : slots).map((s) => `'${s.name}'`).join(", ");
  const list = shown ? `${callee} takes ${shown}` : `${callee} takes no arguments`;
  return /^activ/i.test(name) ? `${list}; activations are ops of their own: x -> ${callee}(...) -> relu` : list;
}

/**
 * Bind arguments to slots. Positional args fill slots in order; keywords by name.
 * Errors (pushed to `diags`): E0405 too many positional, E0401 unknown keyword (with a
 * "did you mean" hint, else the callee's argument names), E0406 a slot given twice, E0403/E0404 from `checkKind`, E0402 a
 * required slot missing (reported at `callLoc`; not when a keyword was unknown, which is likely the
 * misspelled missing one). Poison values are accepted silently but set `failed`; wrongly typed values
 * are bound as poison so their uses stay silent.
 */
export function bindArgs(
  callee: string,
  slots: Slot[],
  positional: PosArg[],
  keywords: KwArg[],
  callLoc: SourceLoc,
  diags: Diagnostic[],
): Bound {
  const values = new Map<string, PosArg>();
  let failed = false;
  const give = (slot: Slot, a: PosArg) => {
    if (a.val.kind === "poison") failed = true;
    else {
      const err = checkKind(callee, slot, a.val);
      if (err) {
        diags.push(diag(err.code, err.message, a.loc, err.hint ? { hint: err.hint } : {}));
        failed = true;
        // A wrong value becomes poison so a block body does not report it a second time.
        values.set(slot.name, { val: { kind: "poison", loc: a.loc }, loc: a.loc });
        return;
      }
    }
    values.set(slot.name, a);
  };
  positional.forEach((a, i) => {
    const slot = slots[i];
    if (!slot) {
      if (i === slots.length)
        diags.push(
          diag("E0405", `${callee}: too many arguments: takes ${describeSlots(slots)}, got ${positional.length}`, a.loc),
        );
      failed = true;
      return;
    }
    give(slot, a);
  });
  let unknownKeyword = false;
  for (const k of keywords) {
    const slot = slots.find((s) => s.name === k.name);
    if (!slot) {
      unknownKeyword = true;
      const hint = didYouMean(k.name, slots.map((s) => s.name)) ?? listArgs(callee, k.name, slots);
      diags.push(diag("E0401", `${callee}: unknown argument '${k.name}'`, k.nameLoc, { hint }));
      failed = true;
      continue;
    }
    if (values.has(slot.name)) {
      diags.push(diag("E0406", `${callee}: argument '${k.name}' given more than once`, k.nameLoc));
      failed = true;
      continue;
    }
    give(slot, { val: k.val, loc: k.loc });
  }
  const missing = slots.filter((s) => !s.optional && !values.has(s.name));
  // A misspelled keyword usually is the missing one: report only the E0401 then.
  if (missing.length > 0 && !unknownKeyword) {
    diags.push(
      diag(
        "E0402",
        `${callee}: missing ${missing.length === 1 ? "argument" : "arguments"} ${missing.map((s) => `'${s.name}'`).join(", ")}`,
        callLoc,
      ),
    );
    failed = true;
  }
  return { values, failed };
}
