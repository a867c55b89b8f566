// Size of the runtime as users ship it: runtime/index.ts bundled and minified by esbuild (ESM), gzip -9. Issue 5
// requires it under 10 KB gzip. Neighbours: runtime/index.ts (the entry), bench/infer.js compileStats() (reports it).

import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ENTRY = fileURLToPath(new URL("../runtime/index.ts", import.meta.url));

describe("runtime bundle", () => {
  it("is under 10 KB gzip minified, and pulls in nothing but runtime/", async () => {
    const out = await build({ entryPoints: [ENTRY], bundle: true, minify: true, format: "esm", platform: "neutral", write: false, metafile: true, logLevel: "silent" });
    const bytes = out.outputFiles[0]!.contents;
    const gz = gzipSync(bytes, { level: 9 }).length;
    expect(gz).toBeLessThan(10_000);
    expect(gz).toBeGreaterThan(1_000); // the bundle really holds the loader
    const inputs = Object.keys(out.metafile!.inputs);
    expect(inputs.filter((p) => !p.startsWith("runtime/"))).toEqual([]);
    expect(inputs).toContain("runtime/load.ts");
  });
});
