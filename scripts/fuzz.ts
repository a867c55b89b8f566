// Long fuzz runs of the wasm backend: `node dist/scripts/fuzz.js --count 5000 --seed S [--optimize O3|none] [--ir] [--special]`.
// Neighbours: test/fuzz-graphs.ts (generator, checker, localizer), test/fuzz.test.ts (the 200-seed CI run).
//
// For each seed S, S+1, ...: generate a graph, compile it (SIMD + scalar), compare with the float64
// reference (|err| <= 1e-5 * max(1, |ref|)). Each failure prints its seed, op sequence, worst element,
// the first disagreeing node (run alone too) and, with --ir, the optimized IR as JSON. Exit code 1 on
// any failure. Reproduce one seed with `--count 1 --seed S`. --special adds NaN/Infinity/1e30/-0 to the
// inputs (non-finite semantics; expect legitimate NaN-vs-Inf differences to be reported too).

import { optimizeGraph } from "../compiler/passes/pipeline.js";
import { checkCase, describeCase, generateCase, localize } from "../test/fuzz-graphs.js";

interface Args {
  count: number;
  seed: number;
  optimize: "O3" | "none" | undefined;
  ir: boolean;
  special: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { count: 1000, seed: 1, optimize: undefined, ir: false, special: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === "--count" && v) (a.count = Number(v)), i++;
    else if (k === "--seed" && v) (a.seed = Number(v)), i++;
    else if (k === "--optimize" && (v === "O3" || v === "none")) (a.optimize = v), i++;
    else if (k === "--ir") a.ir = true;
    else if (k === "--special") a.special = true;
    else {
      console.error(`usage: node dist/scripts/fuzz.js [--count N=1000] [--seed S=1] [--optimize O3|none] [--ir] [--special]\nunknown argument ${k}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(a.count) || a.count < 1 || !Number.isInteger(a.seed) || a.seed < 0) {
    console.error("--count must be an integer >= 1 and --seed an integer >= 0");
    process.exit(2);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  let failures = 0;
  for (let seed = args.seed; seed < args.seed + args.count; seed++) {
    const c = generateCase(seed >>> 0);
    if (args.optimize) c.optimize = args.optimize;
    if (args.special) c.inputs = "special";
    let report: string | undefined;
    try {
      const m = await checkCase(c);
      if (m.ratio > 1) report = `FAIL ${describeCase(c, m)}\n${await localize(c, m).catch((e: Error) => `localize failed: ${e.message}`)}`;
    } catch (e) {
      report = `ERROR ${e instanceof Error ? e.message : `(non-Error thrown) ${String(e)}`}\n${describeCase(c)}`;
    }
    if (report) {
      failures++;
      console.log(report);
      if (args.ir) console.log(JSON.stringify(optimizeGraph(c.graph, { mode: "infer" }).nodes));
      console.log();
    }
    if ((seed - args.seed + 1) % 500 === 0) console.error(`${seed - args.seed + 1} cases, ${failures} failures, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  console.log(`${args.count} cases from seed ${args.seed}: ${failures} failures (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  process.exitCode = failures > 0 ? 1 : 0;
}

await main();
