// Shared checks of the backend fusion tests: a graph's wasm module emitted with and without fusion (emitWasm
// `fuse`), SIMD and scalar, must compute bit-identical outputs. Neighbours: test/fuse-epilogue.test.ts,
// test/fuse-elementwise.test.ts, test/backend.helpers.ts (load, worstError against the float64 reference).

import { expect } from "vitest";
import type { Graph } from "../compiler/ir/types.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { load, randomInputs, randomWeights } from "./backend.helpers.js";

/** Asserts fused == unfused bit for bit on every output (f32 inputs in [-3, 3)), SIMD and scalar, at each batch. */
export async function expectSameBits(g: Graph, batches: number[] = [1, 3, 64]): Promise<void> {
  const w = randomWeights(g, 9);
  for (const simd of [true, false]) {
    const a = await load(emitWasm(g, w, { simd, embedWeights: true }));
    const b = await load(emitWasm(g, w, { simd, embedWeights: true, fuse: false }));
    for (const batch of batches) {
      const inputs = randomInputs(g, batch, 21 + batch, -3, 3);
      const ya = a.run(inputs, batch);
      const yb = b.run(inputs, batch);
      for (const o of g.outputs) expect(new Uint32Array(ya[o.name]!.buffer), `${o.name} simd=${simd} batch=${batch}`).toEqual(new Uint32Array(yb[o.name]!.buffer));
    }
  }
}
