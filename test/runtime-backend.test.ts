// End to end with the real backend: GraphBuilder graph -> emitWasm (SIMD and scalar, embedded and file
// weights) -> buildArtifact -> loadModel. Neighbours: backend/wasm/emit.ts, test/backend.helpers.ts, runtime/*.

import { describe, expect, it } from "vitest";
import { buildArtifact } from "../compiler/artifact/build.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { loadModel } from "../runtime/index.js";
import { load, randomInputs, randomWeights } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -1, high: 1 };

/** x [N, 6] -> dense 5 -> relu -> dense 3 = logits -> softmax = probs. */
function mlp() {
  const b = new GraphBuilder("mlp");
  const x = b.input("x", "f32", [6]);
  const [h] = b.node("dense", [x, b.param("fc1.weight", [5, 6], U), b.param("fc1.bias", [5], U)], { units: 5, bias: true });
  const [r] = b.node("relu", [h!], {});
  const [l] = b.node("dense", [r!, b.param("fc2.weight", [3, 5], U), b.param("fc2.bias", [3], U)], { units: 3, bias: true });
  const [p] = b.node("softmax", [l!], { axis: 1 });
  b.output("logits", l!);
  b.output("probs", p!);
  return b.build();
}

describe("runtime on emitWasm output", () => {
  it("embedded and file weights, SIMD and scalar: same numbers as the bare ABI, batches 1 -> 1024 -> 1", async () => {
    const g = mlp();
    const w = randomWeights(g, 3);
    const art = (embed: boolean) =>
      buildArtifact({
        name: "mlp",
        graph: g,
        simd: emitWasm(g, w, { simd: true, embedWeights: embed, optimize: false }),
        scalar: emitWasm(g, w, { simd: false, embedWeights: embed, optimize: false }),
        compilerVersion: "test",
        flopsPerSample: 0,
        ops: g.nodes.length,
        weights: embed ? "embedded" : "file",
      }).files;
    const embedded = art(true);
    const external = art(false);
    const bare = await load(emitWasm(g, w, { simd: true, embedWeights: true, optimize: false }));
    const models = [
      await loadModel(embedded.get("mlp.wasm") as Uint8Array),
      await loadModel(embedded.get("mlp.nosimd.wasm") as Uint8Array),
      await loadModel(external.get("mlp.wasm") as Uint8Array, { weights: external.get("mlp.weights.bin") as Uint8Array }),
      await loadModel(external.get("mlp.nosimd.wasm") as Uint8Array, { weights: external.get("mlp.weights.bin") as Uint8Array, simd: "off" }),
    ];
    expect(models.map((m) => m.simd)).toEqual([true, false, true, false]);
    for (const batch of [1, 1024, 1, 37]) {
      const inputs = randomInputs(g, batch, batch);
      const want = bare.run(inputs, batch);
      for (const m of models) {
        const got = m.run(inputs);
        for (const name of ["logits", "probs"]) {
          expect(got[name]!.length).toBe(want[name]!.length);
          const maxDiff = Math.max(...Array.from(got[name]!, (v, i) => Math.abs(v - want[name]![i]!)));
          expect(maxDiff).toBeLessThanOrEqual(m.simd ? 0 : 1e-6);
        }
        const p = got["probs"]!;
        for (let n = 0; n < batch; n++) expect(p[3 * n]! + p[3 * n + 1]! + p[3 * n + 2]!).toBeCloseTo(1, 5);
      }
    }
  });
});
