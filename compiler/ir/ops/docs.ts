// Renders the op table as the Markdown op reference of spec/language.md (between the ops markers).
// Neighbours: ir/ops/index.ts (the table); scripts/gen-spec.ts writes it; test/spec.test.ts keeps it in sync.

import type { ArgSpec, OpDef } from "./def.js";
import { OPS } from "./index.js";

const BEGIN = "<!-- ops:begin -->";
const END = "<!-- ops:end -->";

function showDefault(a: ArgSpec): string {
  if (a.default === undefined) return a.optional ? `${a.name}=…` : a.name;
  return `${a.name}=${JSON.stringify(a.default)}`;
}

function signature(d: OpDef): string {
  const tensors = d.inputs
    ? d.inputs.map((i) => (i.ifMissing ? `${i.name}?` : i.name))
    : d.arity === "variadic" ? ["x0", "x1", "..."] : d.arity === 2 ? ["a", "b"] : ["x"];
  return `${d.name}(${[...tensors, ...d.args.map(showDefault)].join(", ")})`;
}

function escape(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/**
 * The op reference as Markdown: one section per op with its signature, summary, semantics source and
 * an argument table (name, kind, default, meaning). Generated, never edited by hand.
 */
export function renderOpReference(ops: Record<string, OpDef> = OPS): string {
  const out: string[] = [
    "_Generated from the op table (`compiler/ir/ops/*`) by `node dist/scripts/gen-spec.js`; do not edit by hand._",
    "",
    "In a pipeline the tensor argument(s) come from the left of `->`: `x -> conv2d(16, kernel=3)` is `conv2d(x, 16, kernel=3)`.",
    "",
  ];
  for (const d of Object.values(ops).sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`### \`${d.name}\``, "", `\`${signature(d)}\` — ${d.doc}. Semantics: ${d.semantics}.`, "");
    if (d.inputs) {
      out.push("| input | meaning |", "|---|---|");
      for (const i of d.inputs) {
        const opt = i.ifMissing === undefined ? "" : i.ifMissing === "drop" ? " Optional." : ` Optional: defaults to \`${i.ifMissing}\`.`;
        out.push(`| \`${i.name}\` | ${escape(i.doc)}.${opt} |`);
      }
      out.push("");
    }
    if (d.args.length) {
      out.push("| argument | kind | default | meaning |", "|---|---|---|---|");
      for (const a of d.args) {
        const def = a.default === undefined ? (a.optional ? "(derived)" : "required") : `\`${JSON.stringify(a.default)}\``;
        const kind = a.choices ? a.choices.map((c) => `"${c}"`).join(" | ") : a.kind;
        out.push(`| \`${a.name}\` | ${escape(kind)} | ${def} | ${escape(a.doc)} |`);
      }
      out.push("");
    }
  }
  return out.join("\n");
}

/**
 * Replace the text between the ops markers of `markdown` with `renderOpReference()`.
 * Throws Error when the markers are missing.
 */
export function fillOpReference(markdown: string, ops: Record<string, OpDef> = OPS): string {
  const b = markdown.indexOf(BEGIN);
  const e = markdown.indexOf(END);
  if (b < 0 || e < b) throw new Error(`spec: markers ${BEGIN} ... ${END} not found`);
  return markdown.slice(0, b + BEGIN.length) + "\n" + renderOpReference(ops) + "\n" + markdown.slice(e);
}
