// Tests of scripts/bundle.ts: the esbuild bundle package.json's "." export points at must be the compiler
// (same exports, same artifacts bit for bit) and keep binaryen lazy and runtime/ shared. Runs on the built
// dist/ (like cli.test.ts's binary block): skipped when `npm run build` has not run.

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import * as api from "../compiler/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SCRIPT = join(ROOT, "dist/scripts/bundle.js");
const BUNDLE = join(ROOT, "dist/compiler/bundle/modelc.js");
const EXAMPLE = join(ROOT, "dsl-examples/transformer-block.model");
/** A file with a stray character, a bad escape and a missing closing bracket. */
const BAD = 'model m {\n  input x: f32[4]\n  let y = x -> dense(units=3 $\n  output y = "a\\q"\n}\n';

/** sha256 of every artifact file, by name. */
function digests(files: Map<string, Uint8Array | string>): Record<string, string> {
  return Object.fromEntries([...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, b]) => [n, createHash("sha256").update(b).digest("hex")]));
}

describe.skipIf(!existsSync(SCRIPT))("the compiler bundle (dist/compiler/bundle)", () => {
  beforeAll(() => {
    execFileSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: "utf8" });
  }, 60_000);

  it("is what package.json exports as the package entry", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };
    expect(resolve(ROOT, pkg.exports["."]!.default)).toBe(BUNDLE);
  });

  it("exports exactly the names of compiler/index.ts, and compile() gives the same artifact bit for bit", async () => {
    const src = readFileSync(EXAMPLE, "utf8");
    // a fresh process, as a user's first compile
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(BUNDLE)});
         const { createHash } = await import("node:crypto");
         const r = await m.compile(${JSON.stringify(src)}, { file: "t.model" });
         const files = Object.fromEntries([...r.artifact.files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, b]) => [n, createHash("sha256").update(b).digest("hex")]));
         const bad = m.check(${JSON.stringify(BAD)}, "bad.model").diagnostics.map((d) => m.formatDiagnostic(d, { "bad.model": ${JSON.stringify(BAD)} }));
         console.log(JSON.stringify({ names: Object.keys(m).sort(), files, diagnostics: r.diagnostics.length, bad }));`,
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(child.stderr).toBe("");
    const got = JSON.parse(child.stdout.trim()) as { names: string[]; files: Record<string, string>; diagnostics: number; bad: string[] };
    // syntax and lexical errors: the same messages, locations, carets and hints as the tsc-built front end
    const wantBad = api.check(BAD, "bad.model").diagnostics.map((d) => api.formatDiagnostic(d, { "bad.model": BAD }));
    expect(wantBad.length).toBeGreaterThanOrEqual(2);
    expect(wantBad.join("\n")).toContain("^");
    expect(got.bad).toEqual(wantBad);
    expect(got.names).toEqual(Object.keys(api).sort());
    const want = await api.compile(src, { file: "t.model" });
    expect(got.diagnostics).toBe(want.diagnostics.length);
    expect(Object.keys(got.files).length).toBeGreaterThanOrEqual(3);
    expect(got.files).toEqual(digests(want.artifact!.files));
  }, 60_000);

  it("loads binaryen only in the lazily imported backend chunk; chevrotain is inlined; runtime/ modules stay shared with modelc/runtime", () => {
    const dir = dirname(BUNDLE);
    /** Static imports of a bundle file (dynamic `import(...)` calls are not followed). */
    const staticImports = (file: string): string[] =>
      [...readFileSync(file, "utf8").matchAll(/^import\s[^;]*?from\s+"([^"]+)"|^import\s+"([^"]+)"/gm)].map((m) => (m[1] ?? m[2])!);
    const seen = new Set<string>();
    const todo = [BUNDLE];
    const external = new Set<string>();
    while (todo.length) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const s of staticImports(f)) {
        const abs = resolve(dirname(f), s);
        if (s.startsWith(".") && abs.startsWith(dir + "/")) todo.push(abs);
        else external.add(s.startsWith(".") ? abs.slice(ROOT.length + 1) : s);
      }
    }
    expect([...external].filter((s) => s.includes("binaryen"))).toEqual([]);
    // chevrotain's single-file build is inlined (not imported at run time)
    expect([...external].filter((s) => s.includes("chevrotain"))).toEqual([]);
    expect(readFileSync(BUNDLE, "utf8")).not.toMatch(/import\(\s*"chevrotain"\s*\)|pathToFileURL\(bundle\)/);
    // the compiler's runtime imports resolve to dist/runtime/*.js, not to copies inside the bundle
    expect([...external].filter((s) => s.startsWith("dist/runtime/")).sort()).toContain("dist/runtime/manifest.js");
    const bundled = readdirSync(dir).filter((f) => f.endsWith(".js"));
    expect(bundled.filter((f) => readFileSync(join(dir, f), "utf8").includes("function parseManifest("))).toEqual([]);
    // and the backend chunk does import binaryen (so the check above looked at the right files)
    const all = spawnSync("grep", ["-l", 'from "binaryen"', "-r", dir], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(all.length).toBe(1);
    expect(seen.has(all[0]!)).toBe(false);
  });
});
