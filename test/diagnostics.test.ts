// Diagnostics fixtures: each test/fixtures/diagnostics/*.model lists `# expect: E0201 4:12` lines; the check must match exactly.
// Neighbours: compiler/check.ts (checkSource), compiler/frontend/parse.ts (fallback), test/frontend.test.ts.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { parseModelFile } from "../compiler/frontend/parse.js";

const DIR = join(import.meta.dirname, "fixtures", "diagnostics");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".model"))
  .sort();

/** The full check (parse + lower); parse only while compiler/check.ts does not exist yet. */
type Check = (source: string, file: string) => { diagnostics: Diagnostic[] };
let check: Check = (source, file) => parseModelFile(source, file);
let usingFullCheck = false;

beforeAll(async () => {
  try {
    const mod = (await import("../compiler/check.js")) as { checkSource?: Check };
    if (typeof mod.checkSource === "function") {
      check = mod.checkSource;
      usingFullCheck = true;
    }
  } catch {
    // check.ts not written yet: syntax fixtures still run against the parser alone.
  }
  check("model warmup { input x: f32[1]\n output x }", "warmup.model"); // build the parser once, outside the timings
});

/** `# expect: CODE LINE:COL` header lines, as "CODE LINE:COL" strings. Throws on a malformed one. */
function expectations(source: string, file: string): string[] {
  const out: string[] = [];
  for (const line of source.split(/\r?\n/)) {
    const m = /^\s*(?:#|\/\/)\s*expect\s*:(.*)$/.exec(line);
    if (!m) continue;
    const spec = /^\s*([EW]\d{4})\s+(\d+):(\d+)\s*$/.exec(m[1]!);
    if (!spec) throw new Error(`${file}: malformed expectation '${line.trim()}' (want '# expect: E0201 4:12')`);
    out.push(`${spec[1]} ${Number(spec[2])}:${Number(spec[3])}`);
  }
  return out.sort();
}

describe("diagnostics fixtures", () => {
  it("has the syntax fixtures (at least 16)", () => {
    expect(FILES.filter((f) => f.startsWith("syntax-")).length).toBeGreaterThanOrEqual(16);
  });

  for (const name of FILES) {
    it(name, () => {
      const source = readFileSync(join(DIR, name), "utf8");
      const expected = expectations(source, name);
      if (!usingFullCheck && !name.startsWith("syntax-")) return; // semantic fixtures need checkSource
      const t0 = performance.now();
      const { diagnostics } = check(source, name);
      const ms = performance.now() - t0;
      const actual = diagnostics.map((d) => `${d.code} ${d.loc?.line ?? "?"}:${d.loc?.col ?? "?"}`).sort();
      const detail = diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col} ${d.message}`).join("\n");
      expect(actual, `${name}: got\n${detail}`).toEqual(expected);
      for (const d of diagnostics) expect(d.loc?.file, `${name}: ${d.message}`).toBe(name);
      expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(2000);
    });
  }
});
