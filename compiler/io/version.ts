// The compiler's own version, read from modelc's package.json at run time (works from compiler/ and
// from the built dist/compiler/). Neighbours: index.ts re-exports it; cli/main.ts prints it for --version.

import { readFileSync } from "node:fs";

let cached: string | undefined;

/**
 * `version` of the package.json named "modelc" found by walking up (at most 5 levels) from this
 * file; "0.0.0" when none is found (e.g. a bundled copy). Cached after the first call.
 */
export function compilerVersion(): string {
  if (cached !== undefined) return cached;
  let dir = new URL(".", import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "modelc" && typeof pkg.version === "string") return (cached = pkg.version);
    } catch {
      // no package.json here: go up
    }
    dir = new URL("..", dir);
  }
  return (cached = "0.0.0");
}
