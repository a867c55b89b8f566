// Build step after tsc: bundles the public compiler API (dist/compiler/index.js and every compiler module it
// reaches) into dist/compiler/bundle/ with esbuild, the file package.json's "." export points at. Neighbours:
// package.json "build", compiler/index.ts (the entry), scripts/compile-time.ts (measures what it buys).
//
// Why: a first compile in a fresh Node 20 process spent ~100 ms CPU just loading ~120 small ES modules
// (resolve, read, parse and link each one, ~0.7 ms apiece); one bundled file loads in a fraction of that.
// What stays out of the bundle, loaded as before:
// - npm packages (binaryen, ajv): imported or required at run time. Exception: chevrotain's single-file build
//   (lib/chevrotain.mjs, which compiler/frontend/chevrotain.ts loads) is inlined, see the plugin below.
// - runtime/*.js (manifest, sections, errors): imported from dist/runtime/, so "modelc" and "modelc/runtime"
//   share one copy of each runtime module (same classes, same constants).
// - The backend (backend/wasm/emit.js and what only it imports) is a separate chunk, still imported lazily by
//   compile(): it imports binaryen, which check() must not load.
// `node dist/scripts/bundle.js` (run by `npm run build`).

import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "..");
/** Output directory of the bundle (its entry is modelc.js there). */
export const BUNDLE_DIR = join(DIST, "compiler/bundle");
/** The bundle's entry file: the module package.json's "." export names. */
export const BUNDLE_ENTRY = join(BUNDLE_DIR, "modelc.js");

async function main(): Promise<void> {
  const esbuild = await import("esbuild");
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  const runtimeDir = join(DIST, "runtime");
  const result = await esbuild.build({
    entryPoints: { modelc: join(DIST, "compiler/index.js") },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
    metafile: true,
    plugins: [
      {
        name: "modelc-chevrotain-inline",
        setup(build) {
          // compiler/frontend/chevrotain.ts finds chevrotain's single-file build at run time (a dynamic import
          // esbuild cannot follow); in the bundle that file is inlined instead: one module less to load and
          // compile, ~15 ms CPU in a fresh process. Without the file (another layout) chevrotain.ts stays as is.
          build.onLoad({ filter: /\/compiler\/frontend\/chevrotain\.js$/ }, () => {
            const mjs = join(dirname(createRequire(import.meta.url).resolve("chevrotain")), "..", "chevrotain.mjs");
            if (!existsSync(mjs)) return undefined;
            const names = "CstParser, EOF, LLkLookaheadStrategy, Lexer, createToken, getLookaheadPaths, tokenLabel, tokenMatcher";
            return { contents: `export { ${names} } from ${JSON.stringify(mjs)};`, loader: "js", resolveDir: dirname(mjs) };
          });
        },
      },
      {
        name: "modelc-runtime-external",
        setup(build) {
          // dist/runtime/* stays a module of its own, imported by a path relative to the bundle directory.
          build.onResolve({ filter: /\/runtime\/[^/]+\.js$/ }, (args) => {
            const abs = join(args.resolveDir, args.path);
            if (!abs.startsWith(runtimeDir + "/")) return undefined;
            return { path: "./" + relative(BUNDLE_DIR, abs).split("\\").join("/"), external: true };
          });
        },
      },
    ],
  });
  const files = readdirSync(BUNDLE_DIR).filter((f) => f.endsWith(".js"));
  const kb = files.reduce((s, f) => s + statSync(join(BUNDLE_DIR, f)).size, 0) / 1024;
  const inputs = Object.keys(result.metafile.inputs).length;
  console.log(`bundle: ${inputs} modules -> ${files.length} files in ${relative(process.cwd(), BUNDLE_DIR) || "."} (${kb.toFixed(0)} KB)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
