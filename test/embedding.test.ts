// embedding + positional_encoding end to end: i32 inputs (`i32[12]`, `i32[]`) through compile + runtime
// (SIMD and scalar), the wasm training module vs the float64 ReferenceTrainBackend, the runtime's id-range
// error and the kernel trap. Golden vectors from PyTorch: test/embedding-golden.test.ts.

import { describe, expect, it } from "vitest";
import { compile } from "../compiler/index.js";
import { loadModel, ModelcRuntimeError, type Model } from "../runtime/index.js";
import { runReference } from "../compiler/interp/reference.js";
import { createWasmTrainBackend } from "../compiler/backend/wasm/train.js";
import { ReferenceTrainBackend, type BatchFields, type TrainBackend } from "../compiler/train/backend.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { initWeights } from "../compiler/weights/init.js";
import type { Graph, WeightMap } from "../compiler/ir/types.js";
import { lower, mlpSpec } from "./train.helpers.js";

/** Tiny text classifier: 6 tokens from a vocabulary of 20 (0 = padding) -> 3 classes. */
export const TEXT_SOURCE = `model text {
  input tokens: i32[6]
  input bias_id: i32[]
  let h = tokens -> emb: embedding(20, 8, padding_idx=0) -> pe: positional_encoding(kind="learned", max_len=10)
  let s = h -> sin_pe: positional_encoding(max_len=6) -> flatten -> fc: dense(3)
  output logits = s + (bias_id -> cls_bias: embedding(4, 3))
}
`;

/** Seeded xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * A batch of `n` token rows: ids in [0, 20) with some padding zeros; label = (number of ids >= 10) mod 3, a
 * learnable function of the tokens; bias_id in [0, 4).
 */
function textBatch(n: number, seed: number): BatchFields {
  const r = rng(seed);
  const tokens = Int32Array.from({ length: n * 6 }, () => (r() < 0.2 ? 0 : 1 + Math.floor(r() * 19)));
  const label = Int32Array.from({ length: n }, (_, i) => tokens.slice(i * 6, i * 6 + 6).filter((t) => t >= 10).length % 3);
  const bias_id = Int32Array.from({ length: n }, () => Math.floor(r() * 4));
  return { tokens, bias_id, label };
}

const rel = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < got.length; i++) w = Math.max(w, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return w;
};

async function compiled(source: string, simd: "simd" | "scalar", weights?: WeightMap): Promise<{ model: Model; graph: Graph; weights: WeightMap }> {
  const res = await compile(source, { simd, ...(weights ? { weights } : {}) });
  if (!res.artifact) throw new Error(JSON.stringify(res.diagnostics.map((d) => d.message)));
  const file = [...res.artifact.files.keys()].find((k) => k.endsWith(simd === "simd" ? ".wasm" : ".nosimd.wasm") && !(simd === "simd" && k.endsWith(".nosimd.wasm")))!;
  const model = await loadModel(res.artifact.files.get(file) as Uint8Array, { simd: simd === "simd" ? "force" : "off" });
  return { model, graph: res.graph!, weights: res.weights! };
}

describe("i32 inputs and embedding through compile + runtime", () => {
  for (const simd of ["simd", "scalar"] as const)
    it(`text model (${simd}): outputs equal the float64 reference within 1e-5, batches 1, 3, 17`, async () => {
      const { model, graph, weights } = await compiled(TEXT_SOURCE, simd);
      expect(model.simd).toBe(simd === "simd");
      expect(model.inputs.map((s) => [s.name, s.dtype, s.shape, s.range, s.rangeOf])).toEqual([
        ["tokens", "i32", ["N", 6], [0, 20], "emb.weight"],
        ["bias_id", "i32", ["N"], [0, 4], "cls_bias.weight"],
      ]);
      // nn.Embedding(padding_idx=0): row 0 starts at zero.
      expect(Array.from(weights.get("emb.weight")!.data.slice(0, 8))).toEqual(new Array(8).fill(0));
      for (const n of [1, 3, 17]) {
        const b = textBatch(n, 5 + n);
        const out = model.run({ tokens: b["tokens"]!, bias_id: b["bias_id"]! });
        const ref = runReference(graph, weights, {
          tokens: { shape: [n, 6], data: Float64Array.from(b["tokens"]!) },
          bias_id: { shape: [n], data: Float64Array.from(b["bias_id"]!) },
        });
        expect(rel(out["logits"]!, ref["logits"]!.data)).toBeLessThanOrEqual(1e-5);
      }
      // number[] works for i32 inputs too.
      expect(model.run({ tokens: [1, 2, 3, 4, 5, 6], bias_id: [2] })["logits"]!.length).toBe(3);
    });

  it("an id outside the table is a named run-time error; a Float32Array for an i32 input is bad-dtype", async () => {
    const { model } = await compiled(TEXT_SOURCE, "simd");
    const tokens = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    tokens[9] = 57;
    const err = (f: () => unknown): ModelcRuntimeError => {
      try {
        f();
      } catch (e) {
        return e as ModelcRuntimeError;
      }
      throw new Error("no error");
    };
    const e1 = err(() => model.run({ tokens, bias_id: Int32Array.from([0, 1]) }));
    expect(e1).toBeInstanceOf(ModelcRuntimeError);
    expect(e1.code).toBe("bad-value");
    expect(e1.message).toBe("input 'tokens': value 57 at [1, 3] is outside [0, 20) (embedding 'emb.weight' has 20 rows)");
    const e2 = err(() => model.run({ tokens: tokens.map(() => 1), bias_id: Int32Array.from([0, -1]) }));
    expect(e2.message).toBe("input 'bias_id': value -1 at [1] is outside [0, 4) (embedding 'cls_bias.weight' has 4 rows)");
    const e3 = err(() => model.run({ tokens: new Float32Array(12), bias_id: Int32Array.from([0, 1]) }));
    expect(e3.code).toBe("bad-dtype");
    expect(e3.message).toContain('input "tokens": expected Int32Array (dtype i32)');
  });
});

describe("wasm training module with embeddings vs the float64 reference", () => {
  const spec = mlpSpec({ optimizer: { kind: "adam", lr: 0.02 }, clip_grad_norm: undefined as unknown as number });
  const setup = (): { tg: ReturnType<typeof buildTrainingGraph>; weights: WeightMap } => {
    const graph = lower(TEXT_SOURCE);
    return { tg: buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] } }), weights: initWeights(graph, spec.seed) };
  };
  const train = (b: TrainBackend, steps: number): number[] =>
    Array.from({ length: steps }, (_, k) => b.trainStep([5, 3, 8][k % 3]!, textBatch([5, 3, 8][k % 3]!, 100 + k), { lr: 0.02, step: k + 1, seed: 3 })["loss"]!);

  for (const simd of [true, false])
    it(`${simd ? "SIMD" : "scalar"}: 15 Adam steps, losses and tensors within 1e-4 of the reference; padding row stays 0`, () => {
      const s = setup();
      expect(s.tg.graph.nodes.map((n) => n.op)).toEqual(expect.arrayContaining(["embedding_grad", "positional_encoding_grad"]));
      const ref = new ReferenceTrainBackend(s.tg, s.weights);
      const wasm = createWasmTrainBackend(s.tg, s.weights, { simd, optimize: simd });
      const l0 = train(ref, 15);
      const l1 = train(wasm, 15);
      expect(rel(l1, l0)).toBeLessThan(1e-4);
      const tr = ref.readTensors();
      for (const [name, t] of wasm.readTensors()) expect(rel(t.data, tr.get(name)!.data), name).toBeLessThan(1e-4);
      expect(Array.from(wasm.readTensors().get("emb.weight")!.data.slice(0, 8))).toEqual(new Array(8).fill(0));
    });
});
