// First compile in a fresh process: for each example, spawn `node` processes that import binaryen, then
// time compile() (CPU and wall) of that one example; median over --runs processes per example. Also a
// per-stage breakdown (the stage functions compile() calls, called one by one in a fresh process; of each file
// given, else of the largest and the smallest example) and a
// --cpu-prof split of the same time by package. `node dist/scripts/compile-time.js [--runs 3] [--no-stages]
// [--no-profile] [--eager] [files...]`. The compiler is imported as `import("modelc")` would: the bundle
// (scripts/bundle.ts) when `npm run build` made it, else dist/compiler/index.js. Neighbours: compiler/index.ts (compile), bench/infer.js compileStats()
// (the same fresh-process measurement as a bench column), README.md "Compile time" (the numbers explained).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../..");
const SELF = fileURLToPath(import.meta.url);

/** CPU (user + system of the whole process, all threads) and wall milliseconds of one timed span. */
export interface Span {
  cpuMs: number;
  wallMs: number;
}

/** What one child process measured: binaryen's import, then compile() of one file. */
interface TotalResult {
  importBinaryen: Span;
  /** import of the compiler + compile(). */
  compile: Span;
  /** compile() alone (the compiler's import excluded; it is inside `compile`). */
  compileOnly: Span;
  /** process.hrtime microseconds at the start and end of the compile span (to cut the CPU profile). */
  startUs: number;
  endUs: number;
  ok: boolean;
}

/** One child process of the breakdown: each stage of compile(), called in order, with its own span. */
interface StagesResult {
  importBinaryen: Span;
  stages: [string, Span][];
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

/** Time `fn` (sync or async) as a Span. */
async function span<T>(fn: () => T | Promise<T>): Promise<[T, Span]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [r, { cpuMs: (c.user + c.system) / 1000, wallMs }];
}

const dist = (p: string): string => join(ROOT, "dist", p);

/**
 * The module `import("modelc")` loads: package.json's "." export, the esbuild bundle of the compiler
 * (scripts/bundle.ts, made by `npm run build`); dist/compiler/index.js when only tsc has run.
 */
function compilerEntry(): string {
  const bundle = dist("compiler/bundle/modelc.js");
  return existsSync(bundle) ? bundle : dist("compiler/index.js");
}

/** Child: import binaryen, then time import of the compiler + compile() of `file` (default options, as `modelc compile`). */
async function childTotal(file: string): Promise<TotalResult> {
  const [, importBinaryen] = await span(() => import("binaryen"));
  const startUs = Number(process.hrtime.bigint() / 1000n);
  let compileOnly: Span = { cpuMs: 0, wallMs: 0 };
  const [ok, compileSpan] = await span(async () => {
    const { compile } = (await import(compilerEntry())) as typeof import("../compiler/index.js");
    const source = readFileSync(file, "utf8");
    const [r, s] = await span(() => compile(source, { file }));
    compileOnly = s;
    return r.artifact !== undefined;
  });
  const endUs = Number(process.hrtime.bigint() / 1000n);
  return { importBinaryen, compile: compileSpan, compileOnly, startUs, endUs, ok };
}

/**
 * Child: the stages of compile() one by one (same calls, same order, same options), each timed. binaryen's
 * Module is wrapped so validate() and emitBinary() inside emitWasm are timed apart from building the IR.
 */
async function childStages(file: string): Promise<StagesResult> {
  const [binaryenMod, importBinaryen] = await span(() => import("binaryen"));
  // emitWasm's module builder validates through binaryen only as a fallback (module.ts finish()).
  const binaryen = binaryenMod.default as unknown as Record<string, unknown>;
  const inner: Record<string, Span> = { validate: { cpuMs: 0, wallMs: 0 }, emitBinary: { cpuMs: 0, wallMs: 0 } };
  const Orig = binaryen.Module as new () => Record<string, (...a: unknown[]) => unknown>;
  binaryen.Module = function Module() {
    const m = new Orig();
    for (const k of Object.keys(inner)) {
      const f = m[k]!.bind(m);
      m[k] = (...a: unknown[]) => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const r = f(...a);
        inner[k]!.wallMs += performance.now() - t0;
        const c = process.cpuUsage(c0);
        inner[k]!.cpuMs += (c.user + c.system) / 1000;
        return r;
      };
    }
    return m;
  };
  const stages: [string, Span][] = [];
  const stage = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const [r, s] = await span(fn);
    stages.push([name, s]);
    return r;
  };
  const source = readFileSync(file, "utf8");
  type M = typeof import("../compiler/index.js");
  const index = await stage("import compiler (JS modules, chevrotain)", async () => (await import(compilerEntry())) as M);
  // The front end's stage functions are not exported by the bundle: their own (tsc) modules, imported untimed.
  // Their code is as cold as the bundle's: each stage still runs its functions for the first time.
  const api = {
    index,
    parse: (await import(dist("compiler/frontend/parse.js"))) as typeof import("../compiler/frontend/parse.js"),
    lower: (await import(dist("compiler/frontend/lower.js"))) as typeof import("../compiler/frontend/lower.js"),
    lowerTrain: (await import(dist("compiler/frontend/lower-train.js"))) as typeof import("../compiler/frontend/lower-train.js"),
  };
  const parsed = await stage("parse (lexer + parser construction, tokens, CST, AST)", () => api.parse.parseModelFile(source, file));
  const lowered = await stage("check + lower (names, shapes, graph IR)", () => {
    const l = api.lower.lowerModel(parsed.ast, {});
    const model = parsed.ast.models[0];
    if (model && l.graph) api.lowerTrain.lowerTrain(model, l.graph, l.bindings);
    return l;
  });
  if (!lowered.graph) throw new Error(`${file}: does not lower`);
  const graph = await stage("passes (optimizeGraph infer)", () => api.index.optimizeGraph(lowered.graph!, { mode: "infer" }));
  const weights = await stage("weights (initWeights)", () => api.index.initWeights(graph, 0));
  await stage("IR validation", async () => {
    const { validateGraph } = await import(dist("compiler/ir/validate.js"));
    validateGraph(graph, { schema: false });
  });
  const { prepareWasm, emitPrepared, emitSimdAndRelaxed } = (await import(dist("compiler/backend/wasm/emit.js"))) as typeof import("../compiler/backend/wasm/emit.js");
  const emitted: Record<string, ReturnType<typeof emitPrepared>> = {};
  const prep = await stage("emit: prepare (lowering, memory plan, packed weights)", () => prepareWasm(graph, weights));
  // The builds compile() emits by default, in its order: SIMD with relaxed SIMD (from the SIMD IR; kept when it
  // differs), then scalar.
  for (const variant of ["SIMD + relaxed", "scalar"] as const) {
    const before = { ...inner.validate! };
    const beforeBin = { ...inner.emitBinary! };
    const [, s] = await span(() => {
      if (variant === "scalar") emitted.scalar = emitPrepared(prep, { simd: false, embedWeights: true });
      else ({ simd: emitted.SIMD, relaxed: emitted.relaxed } = emitSimdAndRelaxed(prep, { embedWeights: true }));
    });
    const v = { cpuMs: inner.validate!.cpuMs - before.cpuMs, wallMs: inner.validate!.wallMs - before.wallMs };
    const b = { cpuMs: inner.emitBinary!.cpuMs - beforeBin.cpuMs, wallMs: inner.emitBinary!.wallMs - beforeBin.wallMs };
    stages.push([`emit ${variant}: build binaryen IR (kernels)`, { cpuMs: s.cpuMs - v.cpuMs - b.cpuMs, wallMs: s.wallMs - v.wallMs - b.wallMs }]);
    stages.push([`emit ${variant}: binaryen validate`, v]);
    stages.push([`emit ${variant}: binaryen emitBinary`, b]);
  }
  await stage("artifact (buildArtifact: manifest, sections, loader)", () =>
    api.index.buildArtifact({
      name: graph.name,
      graph,
      simd: emitted.SIMD!,
      ...(Buffer.compare(emitted.relaxed!.wasm, emitted.SIMD!.wasm) !== 0 ? { relaxed: emitted.relaxed! } : {}),
      scalar: emitted.scalar!,
      compilerVersion: api.index.compilerVersion(),
      flopsPerSample: api.index.flopsPerSample(graph),
      ops: graph.nodes.length,
      weights: "embedded",
      check: "runtime",
    }),
  );
  return { importBinaryen, stages };
}

/** The examples: dsl-examples/*.model and bench/models/*.model. */
export function exampleFiles(): string[] {
  const dir = (d: string) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith(".model"))
      .sort()
      .map((f) => join(ROOT, d, f));
  return [...dir("dsl-examples"), ...dir("bench/models")];
}

/**
 * The files that get a per-stage breakdown table, in print order: with files given on the command line (`given`),
 * each of them once, in the order given; without, the largest example (transformer-block) and the smallest
 * (mnist-mlp). (It used to pick "transformer-block if listed, else the first" and "mnist-mlp if listed, else the
 * last", so `a.model transformer-block.model` broke down transformer-block twice.)
 */
export function breakdownFiles(list: string[], given: boolean): string[] {
  if (given) return [...new Set(list)];
  const pick = [list.find((x) => x.endsWith("transformer-block.model")) ?? list[0]!, list.find((x) => x.endsWith("mnist-mlp.model")) ?? list[list.length - 1]!];
  return [...new Set(pick)];
}

/**
 * The label of each file in the tables: its base name, or the path as given where two files share a base name
 * (dsl-examples/x.model and bench/models/x.model; relative to the working directory when under it).
 */
export function fileLabels(files: string[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const f of new Set(files)) count.set(basename(f), (count.get(basename(f)) ?? 0) + 1);
  return new Map(files.map((f) => [f, count.get(basename(f))! > 1 ? shortPath(f) : basename(f)]));
}

/** `f` relative to the working directory when under it, else as is. */
function shortPath(f: string): string {
  const r = relative(process.cwd(), f);
  return r && !r.startsWith("..") && !isAbsolute(r) ? r : f;
}

/** Run one child (`mode` total or stages) in a fresh node process; node flags first. Throws with its stderr. */
function runChild<T>(mode: string, file: string, nodeFlags: string[] = []): T {
  const r = spawnSync(process.execPath, [...nodeFlags, SELF, "--child", mode, file], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`child ${mode} ${file} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split("\n").pop()!;
  return JSON.parse(line) as T;
}

/**
 * First compile in a fresh process per file: median over `runs` processes (interleaved: run k of every file,
 * then run k+1) of the CPU and wall milliseconds of importing the compiler and compile() after `import("binaryen")`
 * has resolved, and of compile() alone (`compileCpuMs`, `compileWallMs`: the compiler's import excluded); `nodeFlags`
 * are passed to every child (e.g. --no-wasm-lazy-compilation).
 */
export function firstCompileTimes(
  files: string[],
  runs: number,
  nodeFlags: string[] = [],
): Map<string, { cpuMs: number; wallMs: number; compileCpuMs: number; compileWallMs: number; importMs: number; ok: boolean }> {
  const acc = new Map<string, TotalResult[]>(files.map((f) => [f, []]));
  for (let k = 0; k < runs; k++) for (const f of files) acc.get(f)!.push(runChild<TotalResult>("total", f, nodeFlags));
  return new Map(
    [...acc].map(([f, rs]) => [
      f,
      {
        cpuMs: median(rs.map((r) => r.compile.cpuMs)),
        wallMs: median(rs.map((r) => r.compile.wallMs)),
        compileCpuMs: median(rs.map((r) => r.compileOnly.cpuMs)),
        compileWallMs: median(rs.map((r) => r.compileOnly.wallMs)),
        importMs: median(rs.map((r) => r.importBinaryen.wallMs)),
        ok: rs.every((r) => r.ok),
      },
    ]),
  );
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Which bucket a profile frame's self time goes to. */
function bucket(url: string, fn: string): string {
  if (url.startsWith("wasm://")) return "binaryen (its wasm code)";
  if (url.includes("/binaryen/")) return "binaryen (its JS glue)";
  if (url.includes("/chevrotain") || url.includes("/@chevrotain/") || url.includes("lodash")) return "chevrotain";
  const m = /\/dist\/(compiler\/[^/]+(?:\/[^/]+)?)\//.exec(url) ?? /\/dist\/(compiler|runtime)\//.exec(url);
  if (m) return `modelc ${m[1]}`;
  if (url.includes("/node_modules/")) return `npm ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]}`;
  if (url.startsWith("node:") || url === "") {
    if (fn === "(garbage collector)") return "GC";
    if (fn === "(program)") return "V8/native (compiling, parsing JS, runtime)";
    if (fn === "(idle)") return "(idle)";
    return url.startsWith("node:") ? "node internals (module loading)" : "V8/native (compiling, parsing JS, runtime)";
  }
  return "other";
}

/** Self time (ms) per bucket of the samples between startUs and endUs of a --cpu-prof profile. */
function profileBuckets(profilePath: string, startUs: number, endUs: number): Map<string, number> {
  const p = JSON.parse(readFileSync(profilePath, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (t < startUs || t > endUs) continue;
    const n = byId.get(p.samples[i]!)!;
    const b = bucket(n.callFrame.url, n.callFrame.functionName);
    out.set(b, (out.get(b) ?? 0) + dt / 1000);
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => "| " + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(" | ") + " |";
  return [line(header), "|" + w.map((n, i) => (i === 0 ? "-".repeat(n + 2) : "-".repeat(n + 1) + ":")).join("|") + "|", ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") {
    const [, mode, file] = args;
    const r = mode === "total" ? await childTotal(file!) : await childStages(file!);
    process.stdout.write(JSON.stringify(r) + "\n");
    return;
  }
  if (args.includes("--help")) {
    console.log("usage: node dist/scripts/compile-time.js [--runs N] [--no-stages] [--no-profile] [--eager] [file.model ...]");
    return;
  }
  let runs = 3;
  const files: string[] = [];
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--runs") {
      runs = Number(args[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a positive integer");
    } else if (a.startsWith("--")) {
      if (!["--no-stages", "--no-profile", "--eager"].includes(a)) {
        console.error(`unknown option ${a}\nusage: node dist/scripts/compile-time.js [--runs N] [--no-stages] [--no-profile] [--eager] [file.model ...]`);
        process.exit(1);
      }
      flags.add(a);
    } else files.push(a);
  }
  const list = files.length ? files : exampleFiles();
  const load0 = loadavg()[0]!;
  console.log(`node ${process.version}; ${runs} fresh processes per example (interleaved), median; load average ${load0.toFixed(2)}`);
  console.log(`compiler entry: ${compilerEntry().slice(ROOT.length + 1)}`);
  console.log("time of import(compiler) + compile(source, {file}) after `await import(\"binaryen\")` resolved, and of compile() alone; CPU = user+system of the process (all threads)\n");
  const lazy = firstCompileTimes(list, runs);
  const eager = flags.has("--eager") ? firstCompileTimes(list, runs, ["--no-wasm-lazy-compilation"]) : undefined;
  const header = ["example", "CPU ms", "wall ms", "compile() alone CPU ms", "compile() alone wall ms", "import binaryen ms"];
  if (eager) header.push("CPU ms (eager wasm)", "wall ms (eager wasm)", "import binaryen ms (eager wasm)");
  const label = fileLabels(list);
  const rows = list.map((f) => {
    const a = lazy.get(f)!;
    const r = [label.get(f)! + (a.ok ? "" : " (no artifact!)"), a.cpuMs.toFixed(0), a.wallMs.toFixed(0), a.compileCpuMs.toFixed(0), a.compileWallMs.toFixed(0), a.importMs.toFixed(0)];
    if (eager) {
      const e = eager.get(f)!;
      r.push(e.cpuMs.toFixed(0), e.wallMs.toFixed(0), e.importMs.toFixed(0));
    }
    return r;
  });
  console.log(table(header, rows));
  if (eager) console.log("\n(eager wasm: node --no-wasm-lazy-compilation, so binaryen's wasm is compiled while importing it, not on first use.)");

  if (!flags.has("--no-stages")) {
    // The breakdown for each file given, else for the largest example and the smallest (median over runs).
    for (const f of breakdownFiles(list, files.length > 0)) {
      const rs = Array.from({ length: runs }, () => runChild<StagesResult>("stages", f));
      const names = rs[0]!.stages.map(([n]) => n);
      const srows = names.map((n, i) => [n, median(rs.map((r) => r.stages[i]![1].cpuMs)).toFixed(1), median(rs.map((r) => r.stages[i]![1].wallMs)).toFixed(1)]);
      const tot = (k: "cpuMs" | "wallMs") => median(rs.map((r) => r.stages.reduce((s, [, x]) => s + x[k], 0))).toFixed(1);
      srows.push(["total", tot("cpuMs"), tot("wallMs")]);
      console.log(`\nstages of compile() in a fresh process, ${label.get(f)!} (median of ${runs}):\n`);
      console.log(table(["stage", "CPU ms", "wall ms"], srows));
    }
  }

  if (!flags.has("--no-profile")) {
    const f = list.find((x) => x.endsWith("transformer-block.model")) ?? list[0]!;
    const dir = mkdtempSync(join(tmpdir(), "modelc-prof-"));
    try {
      const r = runChild<TotalResult>("total", f, ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "250"]);
      const prof = readdirSync(dir).find((x) => x.endsWith(".cpuprofile"))!;
      const b = profileBuckets(join(dir, prof), r.startUs, r.endUs);
      const sum = [...b.values()].reduce((s, x) => s + x, 0);
      const prow = [...b].sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, v.toFixed(1), `${((100 * v) / sum).toFixed(0)} %`]);
      console.log(`\nwhere the main thread's time goes (--cpu-prof self time, ${basename(f)}, one process; compile span ${r.compile.wallMs.toFixed(0)} ms wall under the profiler):\n`);
      console.log(table(["where", "ms", "share"], prow));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\nload average after: ${loadavg()[0]!.toFixed(2)}`);
}

// Run only as a script (bench/infer.js imports firstCompileTimes from this module).
if (process.argv[1] && fileURLToPath(import.meta.url) === (await import("node:fs")).realpathSync(process.argv[1])) await main();
