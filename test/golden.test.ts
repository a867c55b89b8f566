// Golden test: every op variant and both dsl-examples against PyTorch float64 outputs (test/golden/cases,
// made by test/golden/gen_golden.py). Neighbours: test/golden-util.ts (decoding, comparison), compiler/*.
//
// For each case: compile the .model source (checkSource), optimize for inference (optimizeGraph), then
//   (a) float64 reference interpreter (runReference) on the lowered and on the optimized graph: error <= TOL_REF;
//   (b) the wasm module (the optimized graph after optimizeWithWeights, as compile() does: batchnorm folded;
//       emitWasm with simd true and false, weights embedded, packaged by buildArtifact and
//       run through the runtime's loadModel) at every batch of the case: error <= TOL_WASM.
// error = max |got - want| / max(1, |want|): absolute for unit-scale outputs (all cases except the
// deliberately saturating activations, whose large outputs are compared relatively). The large-logit
// softmax cases output probabilities in [0, 1], so the same absolute bound applies to them.
// Stages whose module does not exist yet are skipped; the skip reason is in the test name.

import { afterAll, describe, expect, it } from "vitest";
import type { Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";
import {
  caseWeights,
  compare,
  decodeF64,
  describeMismatch,
  loadGoldenFamilies,
  numel,
  runInputsF32,
  runInputsF64,
  type GoldenCase,
  type GoldenRun,
} from "./golden-util.js";

/** float64 interpreter vs PyTorch float64: only summation order differs. */
const TOL_REF = 1e-9;
/** float32 wasm vs PyTorch float64: float32 rounding through sums of up to ~1600 terms, polynomial exp/erf. */
const TOL_WASM = 1e-5;

/**
 * Families whose modules are emitted as shipped (binaryen -O3). The single-op families skip binaryen's
 * optimizer to keep this file under a minute: the optimizer preserves wasm semantics, and every kernel
 * also runs optimized inside the composite and example models.
 */
const SHIPPED = new Set(["composite", "examples"]);

// ---- stage modules, loaded if present ------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loaded = { mod?: any; why: string };
async function tryLoad(file: string, load: () => Promise<any>): Promise<Loaded> {
  try {
    return { mod: await load(), why: "" };
  } catch (e) {
    return { why: `${file} unavailable: ${String((e as Error).message ?? e).split("\n")[0]!.slice(0, 120)}` };
  }
}

const check = await tryLoad("compiler/check.ts", () => import("../compiler/check.js"));
const passes = await tryLoad("compiler/passes/pipeline.ts", () => import("../compiler/passes/pipeline.js"));
const interp = await tryLoad("compiler/interp/reference.ts", () => import("../compiler/interp/reference.js"));
const emit = await tryLoad("compiler/backend/wasm/emit.ts", () => import("../compiler/backend/wasm/emit.js"));
const artifact = await tryLoad("compiler/artifact/build.ts", () => import("../compiler/artifact/build.js"));
const runtime = await tryLoad("runtime/index.ts", () => import("../runtime/index.js"));

const skipWhy = (...need: Loaded[]): string => need.filter((l) => !l.mod).map((l) => l.why)[0] ?? "";
const label = (what: string, why: string): string => (why ? `${what} [skipped: ${why}]` : what);

// ---- compile, cached per case ------------------------------------------------------------------

interface Compiled {
  lowered: Graph;
  optimized: Graph;
  weights: WeightMap;
  /** What the wasm stages compile: optimized + optimizeWithWeights (graph and weights). */
  emitted: { graph: Graph; weights: WeightMap };
}

const compiled = new Map<string, Promise<Compiled>>();

/** checkSource + optimizeGraph(infer) (+ optimizeWithWeights for the wasm stages); throws with the diagnostics (code, line:col, message) on errors. */
function compileCase(c: GoldenCase): Promise<Compiled> {
  let p = compiled.get(c.name);
  if (!p) {
    p = (async () => {
      const r = await check.mod.checkSource(c.source, `${c.name}.model`);
      const errs = (r.diagnostics ?? []).filter((d: any) => d.severity === "error");
      if (!r.graph || errs.length) {
        const lines = errs.map((d: any) => `  ${d.code} ${d.loc ? `${d.loc.line}:${d.loc.col}` : ""} ${d.message}${d.hint ? ` (hint: ${d.hint})` : ""}`);
        throw new Error(`${c.name}: checkSource failed:\n${lines.join("\n")}\nsource:\n${c.source}`);
      }
      const lowered = r.graph as Graph;
      const copy = JSON.parse(JSON.stringify(lowered)) as Graph; // passes may rewrite in place
      const graph = passes.mod ? ((await passes.mod.optimizeGraph(copy, { mode: "infer" })) as Graph) : copy;
      const weights = caseWeights(c);
      // as compile(), the wasm stages get the weight passes too (batchnorm folded into conv/dense, f32-rounded
      // folded tensors, so not for the 1e-9 reference stages)
      const emitted = passes.mod?.optimizeWithWeights ? passes.mod.optimizeWithWeights(graph, weights, { mode: "infer" }) : { graph, weights };
      return { lowered, optimized: graph, weights, emitted };
    })();
    compiled.set(c.name, p);
  }
  return p;
}

/** An output by name from a Map or a Record. */
function pick<T>(outs: Map<string, T> | Record<string, T>, name: string): T | undefined {
  return outs instanceof Map ? outs.get(name) : outs[name];
}

/** Expected outputs of a run: name -> { shape, data }. */
function expected(r: GoldenRun): [string, { shape: number[]; data: Float64Array }][] {
  return Object.entries(r.outputs).map(([name, t]) => [name, { shape: t.shape, data: decodeF64(t) }]);
}

/** Largest error seen per stage (printed after the run, to show the margin under each tolerance). */
const worst = new Map<string, { err: number; where: string }>();
afterAll(() => {
  for (const [stage, w] of [...worst].sort())
    console.log(`golden: worst ${stage} error ${w.err.toExponential(2)} (${w.where})`);
});

/** Assert every output of `got` against the run's PyTorch outputs (`stage` keys the worst-error summary). */
function assertOutputs(
  what: string,
  stage: string,
  r: GoldenRun,
  get: (name: string) => { shape?: readonly number[]; data: ArrayLike<number> } | undefined,
  tol: number,
): void {
  const problems: string[] = [];
  for (const [name, want] of expected(r)) {
    const got = get(name);
    if (!got) {
      problems.push(`output "${name}" missing`);
      continue;
    }
    if (got.shape && got.shape.join(",") !== want.shape.join(",")) {
      problems.push(`output "${name}": shape [${got.shape.join(", ")}], want [${want.shape.join(", ")}]`);
      continue;
    }
    if (got.data.length !== numel(want.shape)) {
      problems.push(`output "${name}": ${got.data.length} values, want ${numel(want.shape)}`);
      continue;
    }
    const m = compare(got.data, want.data, want.shape, tol);
    const w = worst.get(stage);
    if (!w || m.maxErr > w.err) worst.set(stage, { err: m.maxErr, where: `${what} "${name}" at [${m.at.join(", ")}]` });
    if (m.maxErr > tol) problems.push(`output "${name}": ${describeMismatch(m, want.data.length, tol)}`);
  }
  expect(problems, `${what}:\n  ${problems.join("\n  ")}`).toEqual([]);
}

// ---- reference interpreter ----------------------------------------------------------------------

function runRef(g: Graph, weights: WeightMap, r: GoldenRun): (name: string) => RefTensor | undefined {
  const inputs = runInputsF64(r);
  const outs = interp.mod.runReference(g, weights, inputs, { batch: r.batch });
  return (name) => pick<RefTensor>(outs, name);
}

// ---- wasm: emit, package, load -------------------------------------------------------------------

interface Runner {
  run(inputs: Record<string, Float32Array>, batch: number): Record<string, Float32Array>;
}

const runners = new Map<string, Promise<Runner>>();

/** The case compiled to wasm (SIMD or scalar), loaded through the runtime (or the raw ABI if absent). */
function wasmRunner(family: string, c: GoldenCase, simd: boolean): Promise<Runner> {
  const key = `${c.name}:${simd}`;
  let p = runners.get(key);
  if (!p) {
    p = (async () => {
      const { graph: optimized, weights } = (await compileCase(c)).emitted;
      const emitted = await emit.mod.emitWasm(optimized, weights, { simd, embedWeights: true, optimize: SHIPPED.has(family) });
      if (artifact.mod && runtime.mod) {
        const art = artifact.mod.buildArtifact({
          name: c.name,
          graph: optimized,
          ...(simd ? { simd: emitted } : { scalar: emitted }),
          compilerVersion: "golden-test",
          flopsPerSample: 0,
          ops: optimized.nodes.length,
        });
        const bytes = art.files.get(simd ? `${c.name}.wasm` : `${c.name}.nosimd.wasm`) as Uint8Array;
        const model = await runtime.mod.loadModel(bytes, { simd: simd ? "force" : "off" });
        expect(model.simd).toBe(simd);
        return { run: (inputs, batch) => model.run(inputs, { batch }) as Record<string, Float32Array> };
      }
      return rawAbiRunner(emitted);
    })();
    runners.set(key, p);
  }
  return p;
}

/** Run a module per the ABI in runtime/manifest.ts without the runtime (fallback while it is missing). */
async function rawAbiRunner(e: any): Promise<Runner> {
  const { instance } = await WebAssembly.instantiate(e.wasm as Uint8Array<ArrayBuffer>, {});
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  const run = instance.exports["run"] as (b: number) => void;
  const base: number = e.memory.activationBase;
  return {
    run(inputs, batch) {
      const need = base + e.memory.bytesPerSample * batch;
      if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
      for (const s of e.inputs)
        new Float32Array(memory.buffer, base + s.offsetPerSample * batch, s.elementsPerSample * batch).set(inputs[s.name]!);
      run(batch);
      const out: Record<string, Float32Array> = {};
      for (const s of e.outputs)
        out[s.name] = new Float32Array(memory.buffer, base + s.offsetPerSample * batch, s.elementsPerSample * batch).slice();
      return out;
    },
  };
}

// ---- the tests ------------------------------------------------------------------------------------

const families = loadGoldenFamilies();

describe("golden vectors", () => {
  it("cover every v1 op and both examples", () => {
    const all = families.flatMap((f) => f.cases);
    const sources = all.map((c) => c.source).join("\n");
    for (const op of ["dense", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool2d", "flatten", "reshape", "concat",
      "batchnorm", "sigmoid", "relu", "leaky_relu", "tanh", "softmax", "gelu", "dropout"])
      expect(sources, op).toContain(op);
    expect(sources).toContain(" + ");
    expect(sources).toContain(" * ");
    expect(all.map((c) => c.name)).toEqual(expect.arrayContaining(["mnist_mlp", "mnist_cnn"]));
    for (const ex of ["mnist_mlp", "mnist_cnn"])
      expect(all.find((c) => c.name === ex)!.runs.map((r) => r.batch)).toEqual([1, 3, 64]);
  });
});

for (const fam of families) {
  describe(`golden ${fam.family}`, () => {
    for (const c of fam.cases) {
      describe(c.name, () => {
        const whyCheck = skipWhy(check);
        it.skipIf(!!whyCheck)(label("compiles", whyCheck), async () => {
          const { optimized } = await compileCase(c);
          expect(optimized.outputs.map((o) => o.name).sort()).toEqual(Object.keys(c.runs[0]!.outputs).sort());
        });

        const whyRef = skipWhy(check, interp);
        // the lowered graph at the smallest batch (tells pass bugs from op bugs); the optimized one at every batch
        const r0 = c.runs[0]!;
        it.skipIf(!!whyRef)(label(`batch ${r0.batch}: reference (lowered graph) vs PyTorch, tol ${TOL_REF}`, whyRef), async () => {
          const { lowered, weights } = await compileCase(c);
          assertOutputs(`${c.name} batch ${r0.batch} reference/lowered`, "reference/lowered", r0, runRef(lowered, weights, r0), TOL_REF);
        });
        for (const r of c.runs) {
          const whyOpt = skipWhy(check, interp, passes);
          it.skipIf(!!whyOpt)(label(`batch ${r.batch}: reference (optimized graph) vs PyTorch, tol ${TOL_REF}`, whyOpt), async () => {
            const { optimized, weights } = await compileCase(c);
            assertOutputs(`${c.name} batch ${r.batch} reference/optimized`, "reference/optimized", r, runRef(optimized, weights, r), TOL_REF);
          });
        }

        for (const simd of [true, false]) {
          const variant = simd ? "wasm simd" : "wasm scalar";
          const whyWasm = skipWhy(check, emit);
          // all batches through one loaded model, in order 1, 3, 64, 1: memory growth and reuse
          it.skipIf(!!whyWasm)(label(`${variant} vs PyTorch at batches ${c.runs.map((r) => r.batch).join(", ")}, tol ${TOL_WASM}`, whyWasm), async () => {
            const runner = await wasmRunner(fam.family, c, simd);
            // then the smallest batch again: memory left over from the larger batch must not leak in
            for (const r of [...c.runs, c.runs[0]!]) {
              const outs = runner.run(runInputsF32(r), r.batch);
              assertOutputs(`${c.name} batch ${r.batch} ${variant}`, variant, r, (name) => {
                const d = outs[name];
                return d ? { data: d } : undefined;
              }, TOL_WASM);
            }
          });
        }

        if (fam.family === "examples") {
          // the other weights mode: not embedded, NAME.weights.bin handed to loadModel
          const whyFile = skipWhy(check, emit, artifact, runtime);
          it.skipIf(!!whyFile)(label(`wasm simd with weights in ${c.name}.weights.bin vs PyTorch, tol ${TOL_WASM}`, whyFile), async () => {
            const { optimized, weights } = await compileCase(c);
            const emitted = await emit.mod.emitWasm(optimized, weights, { simd: true, embedWeights: false });
            const art = artifact.mod.buildArtifact({
              name: c.name, graph: optimized, simd: emitted, compilerVersion: "golden-test", flopsPerSample: 0,
              ops: optimized.nodes.length, weights: "file",
            });
            const bytes = art.files.get(`${c.name}.wasm`) as Uint8Array;
            const blob = art.files.get(`${c.name}.weights.bin`) as Uint8Array;
            expect(bytes.length).toBeLessThan(blob.length); // the weights really are outside the module
            const model = await runtime.mod.loadModel(bytes, { simd: "force", weights: blob });
            for (const r of c.runs) {
              const outs = model.run(runInputsF32(r), { batch: r.batch }) as Record<string, Float32Array>;
              assertOutputs(`${c.name} batch ${r.batch} wasm simd (weights file)`, "wasm simd", r, (name) => {
                const d = outs[name];
                return d ? { data: d } : undefined;
              }, TOL_WASM);
            }
          });
        }
      });
    }
  });
}
