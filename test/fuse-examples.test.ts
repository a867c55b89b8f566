// Backend fusion on whole models: every dsl-example emitted with and without passes/fuse-epilogue.ts +
// fuse-elementwise.ts (emitWasm `fuse`), SIMD and scalar, computes bit-identical outputs (each fused element is the
// same f32 operations in the same order), and the fused transformer block / mnist-cvae modules have fewer node
// functions. Neighbours: test/fuse-epilogue.test.ts, test/fuse-elementwise.test.ts (the passes on small graphs).

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import { describe, expect, it } from "vitest";
import { compile } from "../compiler/index.js";
import { emitWasm, lowerForWasm, type EmitResult } from "../compiler/backend/wasm/emit.js";
import type { Graph } from "../compiler/ir/types.js";
import { load, randomWeights, rng } from "./backend.helpers.js";
import { checkSource } from "../compiler/check.js";
import { optimizeGraph, optimizeWithWeights } from "../compiler/passes/pipeline.js";
import { caseWeights, loadGoldenFamilies, runInputsF32 } from "./golden-util.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "dsl-examples");
const EXAMPLES = readdirSync(DIR).filter((f) => f.endsWith(".model")).sort();

async function graphOf(file: string): Promise<Graph> {
  const r = await compile(readFileSync(join(DIR, file), "utf8"), { file, simd: "simd" });
  if (!r.graph) throw new Error(`${file}: ${JSON.stringify(r.diagnostics)}`);
  return r.graph;
}

/** Random inputs: f32 in [-2, 2); i32 ids inside the input's recorded range (as f32 bit patterns for load()). */
function inputsFor(res: EmitResult, batch: number, seed: number): Record<string, Float32Array> {
  const r = rng(seed);
  const out: Record<string, Float32Array> = {};
  for (const io of res.inputs) {
    const n = io.elementsPerSample * batch;
    if (io.dtype === "i32") {
      const [lo, hi] = io.range ?? [0, 1];
      out[io.name] = new Float32Array(Int32Array.from({ length: n }, () => Math.min(hi - 1, Math.floor(r(lo, hi)))).buffer);
    } else out[io.name] = Float32Array.from({ length: n }, () => r(-2, 2));
  }
  return out;
}

/** Node functions of a module: the calls in the body of the exported `run` (one per emitted graph node). */
function nodeFunctions(wasm: Uint8Array): number {
  const m = binaryen.readBinary(wasm);
  const run = m.getFunction(binaryen.getExportInfo(m.getExport("run")).value);
  const body = binaryen.getExpressionInfo(binaryen.getFunctionInfo(run).body) as binaryen.BlockInfo;
  const calls = body.id === binaryen.BlockId ? body.children.filter((c) => binaryen.getExpressionId(c) === binaryen.CallId).length : 1;
  m.dispose();
  return calls;
}

describe("backend fusion on the dsl-examples", () => {
  for (const file of EXAMPLES)
    it(`${file}: fused and unfused modules (SIMD, scalar; batches 1, 3) give bit-identical outputs`, async () => {
      const g = await graphOf(file);
      const w = randomWeights(g, 3);
      for (const simd of [true, false]) {
        const a = await load(emitWasm(g, w, { simd, embedWeights: true }));
        const b = await load(emitWasm(g, w, { simd, embedWeights: true, fuse: false }));
        for (const batch of [1, 3]) {
          const inputs = inputsFor(a.res, batch, 5 + batch);
          const ya = a.run(inputs, batch);
          const yb = b.run(inputs, batch);
          for (const o of a.res.outputs) {
            expect(ya[o.name]!.length).toBe(o.elementsPerSample * batch);
            expect(ya[o.name]!.some((v) => v !== 0)).toBe(true);
            expect(new Uint32Array(ya[o.name]!.buffer)).toEqual(new Uint32Array(yb[o.name]!.buffer));
          }
        }
      }
    });

  it("every golden case that fuses: fused and unfused modules (SIMD, scalar) give bit-identical outputs on its runs", async () => {
    const fused: string[] = [];
    for (const fam of loadGoldenFamilies())
      for (const c of fam.cases) {
        const checked = checkSource(c.source, `${c.name}.model`);
        if (!checked.graph) throw new Error(`${c.name} does not check`);
        const { graph: g, weights: w } = optimizeWithWeights(optimizeGraph(checked.graph, { mode: "infer" }), caseWeights(c), { mode: "infer" });
        if (lowerForWasm(g).nodes.length === g.nodes.length || g.inputs.some((i) => g.values[i.value]!.type.dtype !== "f32")) continue;
        fused.push(c.name);
        for (const simd of [true, false]) {
          const a = await load(emitWasm(g, w, { simd, embedWeights: true }));
          const b = await load(emitWasm(g, w, { simd, embedWeights: true, fuse: false }));
          for (const run of c.runs) {
            const inputs = runInputsF32(run);
            const ya = a.run(inputs, run.batch);
            const yb = b.run(inputs, run.batch);
            for (const o of g.outputs) expect(new Uint32Array(ya[o.name]!.buffer), `${c.name} ${o.name}`).toEqual(new Uint32Array(yb[o.name]!.buffer));
          }
        }
      }
    expect(fused.length).toBeGreaterThanOrEqual(3);
  });

  it("the transformer block loses its GELU and both residual adds; mnist-cvae its sigmoids; mnist-mlp keeps 2 fused relus", async () => {
    const drops: Record<string, number> = {};
    for (const file of ["transformer-block.model", "mnist-cvae.model", "mnist-mlp.model", "mnist-cnn.model"]) {
      const g = await graphOf(file);
      const w = randomWeights(g, 3);
      const fused = nodeFunctions(emitWasm(g, w, { simd: true, embedWeights: false }).wasm);
      const plain = nodeFunctions(emitWasm(g, w, { simd: true, embedWeights: false, fuse: false }).wasm);
      expect(plain).toBe(g.nodes.length);
      expect(fused).toBe(lowerForWasm(g).nodes.length);
      drops[file] = plain - fused;
    }
    expect(drops["transformer-block.model"]).toBe(3); // self_attn + (x + .), linear1 + gelu, linear2 + (h + .)
    expect(drops["mnist-cvae.model"]).toBeGreaterThanOrEqual(1);
    expect(drops["mnist-mlp.model"]).toBeGreaterThanOrEqual(2);
    expect(drops["mnist-cnn.model"]).toBeGreaterThanOrEqual(1);
  });
});
