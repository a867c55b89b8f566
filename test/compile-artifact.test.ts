// compile() end to end on the examples: the artifact stores each weight once (dense ones as GEMM panels) and
// readWeightTensor recovers the exact state_dict; compile() skips the ajv schema checks, so this test runs them.
// Neighbours: compiler/index.ts, runtime/layout.ts, backend/wasm/emit.ts, artifact/build.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../compiler/index.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { validateManifest } from "../compiler/artifact/validate.js";
import { readWeightTensor, packWeightTensor } from "../runtime/layout.js";
import { packKnPanels, unpackKnPanels, knPanelIndex } from "../runtime/layout.js";
import { packKnPanelsInto } from "../compiler/weights/pack-panels.js";

describe("compiled artifacts: weights stored once, in the kernel's layout", () => {
  for (const example of ["mnist-mlp", "mnist-cnn"]) {
    it(`${example}: schema-valid graph and manifest; every tensor once; readWeightTensor gives the state_dict back`, async () => {
      const src = readFileSync(`dsl-examples/${example}.model`, "utf8");
      const r = await compile(src, { file: `${example}.model`, seed: 3 });
      expect(r.artifact).toBeDefined();
      expect(validateGraph(r.graph)).toEqual([]);
      const m = r.artifact!.manifest;
      expect(validateManifest(m)).toEqual([]);
      const wasm = r.artifact!.files.get(`${m.name}.wasm`) as Uint8Array<ArrayBuffer>;
      const { instance } = await WebAssembly.instantiate(wasm);
      const mem = (instance.exports["memory"] as WebAssembly.Memory).buffer;
      const region = new Uint8Array(mem, m.weights.offset, m.weights.bytes);
      let elems = 0;
      for (const t of m.weights.tensors) {
        const want = r.weights!.get(t.name)!.data;
        expect(Array.from(readWeightTensor(t, region, m.weights.offset)), t.name).toEqual(Array.from(want));
        // stored bytes = what packWeightTensor gives (the runtime/tools' way to write new weights)
        const stored = new Float32Array(region.slice(t.offset - m.weights.offset, t.offset - m.weights.offset + 4 * want.length).buffer);
        expect(Array.from(stored)).toEqual(Array.from(packWeightTensor(t, want)));
        expect(t.layout !== undefined, t.name).toBe(/^fc\d\.weight$/.test(t.name));
        elems += want.length;
      }
      // the region is the tensors (16-aligned) and nothing else: no transposed or folded copies
      expect(m.weights.bytes).toBeLessThan(4 * elems + 16 * m.weights.tensors.length);
    });
  }

  it("kn_panels: index formula, pack/unpack round trip with a narrower last panel", () => {
    const [N, K, P] = [11, 3, 8];
    const w = Float32Array.from({ length: N * K }, (_, i) => i);
    const p = packKnPanels(w, N, K, P);
    // panel 0: columns 0..7, k-major: (k=0: W[0..7][0]), (k=1: ...)
    expect(Array.from(p.slice(0, 8))).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
    // panel 1 has 3 columns (8, 9, 10): starts at 8*K = 24, rows of 3
    expect(Array.from(p.slice(24, 27))).toEqual([24, 27, 30]);
    expect(knPanelIndex(9, 2, N, K, P)).toBe(24 + 2 * 3 + 1);
    expect(Array.from(unpackKnPanels(p, N, K, P))).toEqual(Array.from(w));
    expect(() => packKnPanels(w.slice(1), N, K, P)).toThrow("packKnPanels: expected 33 elements ([11, 3]), got 32");
  });

  it("kn_panels into a given array, and in wasm (weights/pack-panels.ts): the index formula's bytes, every bit kept", () => {
    // [N, K, panel]: a narrow last panel; several ~1 MB calls (256 rows each) with a partial last group; one panel
    // larger than the 1 MB half (memory grows); a single column; no elements
    for (const [N, K, P] of [[11, 3, 8], [300, 1000, 8], [9, 40000, 8], [5, 1, 4], [0, 7, 8]] as const) {
      const bits = Uint32Array.from({ length: N * K }, (_, i) => (i * 2654435761) >>> 0);
      if (N * K > 2) bits[1] = 0x7fa00001; // a signalling NaN (payload 0x200001): moved as a word, never as a float
      const w = new Float32Array(bits.buffer);
      const want = new Uint32Array(N * K);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) want[knPanelIndex(n, k, N, K, P)] = bits[n * K + k]!;
      const out = new Float32Array(N * K + 2).subarray(1, N * K + 1); // a view at an offset, as into the blob
      packKnPanelsInto(w, N, K, P, out);
      expect(Buffer.compare(Buffer.from(out.buffer, out.byteOffset, out.byteLength), Buffer.from(want.buffer)), `${N}x${K}/${P}`).toBe(0);
      const js = packKnPanels(w.map((x) => (Number.isNaN(x) ? 0 : x)), N, K, P, new Float32Array(N * K));
      expect(Array.from(js), `${N}x${K}/${P}`).toEqual(Array.from(out).map((x) => (Number.isNaN(x) ? 0 : x)));
    }
    expect(() => packKnPanelsInto(new Float32Array(6), 2, 3, 8, new Float32Array(5))).toThrow("packKnPanels: output has 5 elements, expected 6 ([2, 3])");
    expect(() => packKnPanels(new Float32Array(6), 2, 3, 8, new Float32Array(7))).toThrow("packKnPanels: output has 7 elements, expected 6 ([2, 3])");
    expect(() => packKnPanelsInto(new Float32Array(5), 2, 3, 8, new Float32Array(6))).toThrow("packKnPanels: expected 6 elements ([2, 3]), got 5");
  });
});
