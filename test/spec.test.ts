// The op reference in spec/language.md is generated from the op table; this keeps the two in sync.
// Neighbours: compiler/ir/ops/docs.ts, scripts/gen-spec.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fillOpReference, renderOpReference } from "../compiler/ir/ops/docs.js";
import { OPS } from "../compiler/ir/ops/index.js";

describe("spec/language.md op reference", () => {
  it("documents every language op with its arguments and defaults", () => {
    const text = renderOpReference();
    for (const d of Object.values(OPS)) {
      expect(text).toContain(`### \`${d.name}\``);
      for (const a of d.args) expect(text).toContain(`| \`${a.name}\` |`);
    }
    expect(text).toContain('`"valid"`'); // conv2d padding default shown
  });
  it("is up to date (run `npm run build && node dist/scripts/gen-spec.js`)", () => {
    const md = readFileSync("spec/language.md", "utf8");
    expect(fillOpReference(md)).toBe(md);
  });
});
