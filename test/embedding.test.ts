// embedding + positional_encoding end to end: PyTorch golden vectors (test/golden/gen_embedding.py) for the
// float64 references, the wasm forward (emitWasm SIMD + scalar) and grad kernels (harness, SIMD + scalar);
// i32 inputs (`i32[6]`, `i32[]`) through compile + runtime, the training module vs ReferenceTrainBackend,
// out-of-range ids (runtime error, kernel trap, driver data check).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../compiler/index.js";
import { loadModel, ModelcRuntimeError, type Model } from "../runtime/index.js";
import { runReference } from "../compiler/interp/reference.js";
import { createWasmTrainBackend } from "../compiler/backend/wasm/train.js";
import { ReferenceTrainBackend, type BatchFields, type TrainBackend } from "../compiler/train/backend.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { initWeights } from "../compiler/weights/init.js";
import type { Attrs, Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { sinusoidalTable } from "../compiler/ir/ops/embedding.js";
import { emitWasm, type EmitResult } from "../compiler/backend/wasm/emit.js";
import { Model as RuntimeModel } from "../runtime/model.js";
import { parseManifest } from "../runtime/sections.js";
import { manifestReport } from "../compiler/cli/inspect.js";
import { loaderDts } from "../compiler/artifact/loader.js";
import { makeDataset } from "../compiler/data/dataset.js";
import { prepareData, train as trainDriver, TrainDataError } from "../compiler/train/driver.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { buildKernel, type KernelCase } from "./kernel-harness.js";
import { lower, mlpSpec } from "./train.helpers.js";

interface EmbCase {
  name: string;
  kind: "embedding";
  num_embeddings: number;
  embedding_dim: number;
  padding_idx: number | null;
  ids_shape: number[];
  ids: number[];
  weight: number[];
  g: number[];
  y: number[];
  dweight: number[];
}
interface PeCase {
  name: string;
  kind: "positional_encoding";
  pe_kind: "sinusoidal" | "learned";
  shape: [number, number, number];
  max_len: number;
  x: number[];
  g: number[];
  y: number[];
  dx: number[];
  weight?: number[];
  dweight?: number[];
}

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "golden", "embedding", "cases.json");
const CASES = (JSON.parse(readFileSync(GOLDEN, "utf8")) as { cases: (EmbCase | PeCase)[] }).cases;
const EMB = CASES.filter((c): c is EmbCase => c.kind === "embedding");
const PE = CASES.filter((c): c is PeCase => c.kind === "positional_encoding");
const t64 = (shape: number[], data: ArrayLike<number>): RefTensor => ({ shape, data: Float64Array.from(data) });
const embAttrs = (c: EmbCase): Attrs => ({
  num_embeddings: c.num_embeddings,
  embedding_dim: c.embedding_dim,
  ...(c.padding_idx !== null ? { padding_idx: c.padding_idx } : {}),
});
const peAttrs = (c: PeCase): Attrs => ({ kind: c.pe_kind, max_len: c.max_len });

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

  it("the manifest's range pair [0, 20] is half-open everywhere: id 19 runs, 20 is refused, inspect and NAME.d.ts write [0, 20)", async () => {
    const { model } = await compiled(TEXT_SOURCE, "simd");
    expect(model.manifest.inputs[0]!.range).toEqual([0, 20]);
    expect(model.run({ tokens: [19, 19, 19, 19, 19, 19], bias_id: [3] })["logits"]!.length).toBe(3);
    expect(() => model.run({ tokens: [20, 0, 0, 0, 0, 0], bias_id: [0] })).toThrow("value 20 at [0, 0] is outside [0, 20)");
    expect(manifestReport(model.manifest)).toContain("  input  tokens: i32[N, 6], ids in [0, 20) (rows of emb.weight)");
    expect(loaderDts(model.manifest)).toContain("/** i32, shape [N]: 1 elements per sample, batch-major; ids in [0, 4) (rows of cls_bias.weight). */");
    // the runtime's manifest check refuses pairs that are not a non-empty half-open id range
    const json = (range: unknown) => JSON.stringify({ ...model.manifest, inputs: [{ ...model.manifest.inputs[0], range }, model.manifest.inputs[1]] });
    expect(parseManifest(json([0, 20]), "m.json").inputs[0]!.range).toEqual([0, 20]);
    for (const bad of [[20, 0], [5, 5], [-1, 3], [0, 2.5], [0], "0..20"])
      expect(() => parseManifest(json(bad), "m.json")).toThrow(`bad manifest in m.json: inputs[0].range must be [lo, hi] with integers 0 <= lo < hi (ids in [lo, hi), hi exclusive), got ${JSON.stringify(bad)}`);
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
    expect(e3.message).toContain("input 'tokens': expected Int32Array (dtype i32)");
  });
});

describe("id ranges through flatten / reshape / concat", () => {
  it("inputs reaching an embedding through flatten + concat get a manifest range; outputs match the reference", async () => {
    const src = `model qa {
  input q: i32[2, 3]
  input a: i32[4]
  input x: f32[4]
  output y = concat(q -> flatten, a, axis=1) -> e: embedding(9, 4) -> flatten -> dense(2)
  output z = x -> dense(2)
}
`;
    for (const simd of ["simd", "scalar"] as const) {
      const { model, graph, weights } = await compiled(src, simd);
      expect(model.inputs.map((s) => [s.name, s.range ?? null, s.rangeOf ?? null])).toEqual([
        ["q", [0, 9], "e.weight"],
        ["a", [0, 9], "e.weight"],
        ["x", null, null],
      ]);
      const q = Int32Array.from([0, 1, 2, 3, 4, 5, 8, 7, 6, 5, 4, 3]);
      const a = Int32Array.from([8, 0, 8, 1, 2, 2, 2, 2]);
      const x = Float32Array.from({ length: 8 }, (_, i) => i / 8);
      const out = model.run({ q, a, x });
      const ref = runReference(graph, weights, { q: { shape: [2, 2, 3], data: Float64Array.from(q) }, a: { shape: [2, 4], data: Float64Array.from(a) }, x: { shape: [2, 4], data: Float64Array.from(x) } });
      expect(rel(out["y"]!, ref["y"]!.data)).toBeLessThanOrEqual(1e-5);
      expect(() => model.run({ q: q.map((v, i) => (i === 10 ? 9 : v)), a, x })).toThrow("input 'q': value 9 at [1, 1, 1] is outside [0, 9) (embedding 'e.weight' has 9 rows)");
    }
  });
  it("sinusoidal table for an odd D: the last column is a sine (no cosine partner)", () => {
    const t = sinusoidalTable(3, 5);
    const div = Math.exp(4 * (-Math.log(10000) / 5));
    expect(t[2 * 5 + 4]).toBe(Math.sin(2 * div));
    expect(t[2 * 5 + 1]).toBe(Math.cos(2));
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

describe("embedding / positional_encoding float64 references vs PyTorch (1e-9)", () => {
  for (const c of EMB)
    it(`embedding ${c.name}`, () => {
      const V = c.num_embeddings;
      const D = c.embedding_dim;
      const [y] = getOp("embedding")!.reference([t64(c.ids_shape, c.ids), t64([V, D], c.weight)], embAttrs(c));
      expect(rel(y!.data, c.y)).toBeLessThanOrEqual(1e-9);
      const [dw] = getOp("embedding_grad")!.reference([t64([...c.ids_shape, D], c.g), t64(c.ids_shape, c.ids)], embAttrs(c));
      expect(rel(dw!.data, c.dweight)).toBeLessThanOrEqual(1e-9);
    });
  for (const c of PE)
    it(`positional_encoding ${c.name}`, () => {
      const [, , D] = c.shape;
      const ins = [t64(c.shape, c.x), ...(c.weight ? [t64([c.max_len, D], c.weight)] : [])];
      const [y] = getOp("positional_encoding")!.reference(ins, peAttrs(c));
      expect(rel(y!.data, c.y)).toBeLessThanOrEqual(1e-9);
      expect(rel(c.dx, c.g)).toBe(0); // dx = g
      if (c.dweight) {
        const [dw] = getOp("positional_encoding_grad")!.reference([t64(c.shape, c.g)], { max_len: c.max_len });
        expect(rel(dw!.data, c.dweight)).toBeLessThanOrEqual(1e-9);
      }
    });
  it("an id outside the table throws in the reference", () => {
    expect(() => getOp("embedding")!.reference([t64([1, 2], [0, 4]), t64([4, 2], new Array(8).fill(1))], { num_embeddings: 4, embedding_dim: 2 })).toThrow(
      "embedding: id 4 at flat index 1 is outside [0, 4)",
    );
  });
});

/** Instantiate an emitWasm result, write typed inputs (i32 or f32 per the IoSpec), run, read the outputs. */
async function runEmitted(res: EmitResult, embedded: boolean, inputs: Record<string, ArrayLike<number>>, batch: number): Promise<Record<string, Float32Array>> {
  const { instance } = await WebAssembly.instantiate(res.wasm as Uint8Array<ArrayBuffer>, {});
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  if (!embedded) new Uint8Array(memory.buffer).set(res.weights.blob, res.weights.offset);
  const need = res.memory.activationBase + res.memory.bytesPerSample * batch;
  if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  const base = res.memory.activationBase;
  for (const io of res.inputs) {
    const View = io.dtype === "i32" ? Int32Array : Float32Array;
    new View(memory.buffer, base + io.offsetPerSample * batch, io.elementsPerSample * batch).set(inputs[io.name]!);
  }
  (instance.exports["run"] as (b: number) => void)(batch);
  const out: Record<string, Float32Array> = {};
  for (const io of res.outputs) out[io.name] = new Float32Array(memory.buffer, base + io.offsetPerSample * batch, io.elementsPerSample * batch).slice();
  return out;
}

/** One-node inference graph: embedding over ids i32 [N, ...] or positional_encoding over x [N, L, D]. */
function oneNode(c: EmbCase | PeCase): { g: Graph; w: WeightMap; inputs: Record<string, ArrayLike<number>>; batch: number; want: number[] } {
  const b = new GraphBuilder(c.kind);
  if (c.kind === "embedding") {
    const [V, D] = [c.num_embeddings, c.embedding_dim];
    const ids = b.input("ids", "i32", c.ids_shape.slice(1));
    const w = b.param("emb.weight", [V, D], { kind: "normal", mean: 0, std: 1 }, "param");
    b.output("y", b.node("embedding", [ids, w], embAttrs(c))[0]!);
    return { g: b.build(), w: new Map([["emb.weight", { shape: [V, D], data: Float32Array.from(c.weight) }]]), inputs: { ids: c.ids }, batch: c.ids_shape[0]!, want: c.y };
  }
  const [N, L, D] = c.shape;
  const x = b.input("x", "f32", [L, D]);
  const w: WeightMap = new Map();
  const ins = [x];
  if (c.weight) {
    ins.push(b.param("pe.weight", [c.max_len, D], { kind: "normal", mean: 0, std: 0.02 }, "param"));
    w.set("pe.weight", { shape: [c.max_len, D], data: Float32Array.from(c.weight) });
  }
  b.output("y", b.node("positional_encoding", ins, peAttrs(c))[0]!);
  return { g: b.build(), w, inputs: { x: c.x }, batch: N, want: c.y };
}

describe("wasm kernels vs PyTorch (1e-5)", () => {
  const worst: Record<string, number> = {};
  const note = (k: string, e: number): void => void (worst[k] = Math.max(worst[k] ?? 0, e));
  for (const c of CASES)
    it(`forward ${c.kind} ${c.name} (emitWasm SIMD embedded + scalar blob)`, async () => {
      const t = oneNode(c);
      for (const simd of [true, false]) {
        const out = await runEmitted(emitWasm(t.g, t.w, { simd, embedWeights: simd, optimize: true }), simd, t.inputs, t.batch);
        const e = rel(out["y"]!, t.want);
        note(`${c.kind} forward`, e);
        expect(e).toBeLessThanOrEqual(1e-5);
      }
    });
  for (const c of EMB)
    it(`embedding_grad kernel ${c.name} (SIMD + scalar)`, async () => {
      const D = c.embedding_dim;
      const rest = c.ids_shape.slice(1);
      const kc: KernelCase = {
        op: "embedding_grad",
        attrs: embAttrs(c),
        inputs: [
          { shape: ["N", ...rest, D], data: () => Float32Array.from(c.g) },
          { dtype: "i32", shape: ["N", ...rest], data: () => Int32Array.from(c.ids) },
        ],
      };
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, c.ids_shape[0]!);
        const [dw] = km.run(kc.inputs.map((i) => i.data(c.ids_shape[0]!)), c.ids_shape[0]!);
        note("embedding_grad", rel(dw!, c.dweight));
        expect(rel(dw!, c.dweight)).toBeLessThanOrEqual(1e-5);
      }
    });
  for (const c of PE.filter((p) => p.dweight))
    it(`positional_encoding_grad kernel ${c.name} (SIMD + scalar)`, async () => {
      const [N, L, D] = c.shape;
      const kc: KernelCase = { op: "positional_encoding_grad", attrs: { max_len: c.max_len }, inputs: [{ shape: ["N", L, D], data: () => Float32Array.from(c.g) }] };
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, N);
        const [dw] = km.run([Float32Array.from(c.g)], N);
        note("positional_encoding_grad", rel(dw!, c.dweight!));
        expect(rel(dw!, c.dweight!)).toBeLessThanOrEqual(1e-5);
      }
    });
  it("report worst errors", () => {
    console.log(`embedding wasm worst rel error vs PyTorch: ${JSON.stringify(worst)}`);
  });
});

describe("out-of-range ids: kernel trap and training data check", () => {
  it("the embedding kernel traps (unreachable) on an id outside the table; Model.run names it a trap", async () => {
    const c = EMB[0]!;
    const t = oneNode(c);
    const res = emitWasm(t.g, t.w, { simd: true, embedWeights: true, optimize: true });
    const bad = Array.from(c.ids);
    bad[4] = c.num_embeddings;
    await expect(runEmitted(res, true, { ids: bad }, c.ids_shape[0]!)).rejects.toThrow(/unreachable/);
    bad[4] = -1;
    await expect(runEmitted(res, true, { ids: bad }, c.ids_shape[0]!)).rejects.toThrow(/unreachable/);
    // A manifest without `range` (no run-time check): the trap surfaces as a ModelcRuntimeError.
    const { instance } = await WebAssembly.instantiate(res.wasm as Uint8Array<ArrayBuffer>, {});
    const manifest = {
      format: "modelc-artifact", formatVersion: 1, name: "emb", compilerVersion: "test", inputs: res.inputs.map(({ range: _r, rangeOf: _o, ...s }) => s), outputs: res.outputs,
      memory: res.memory, weights: { embedded: true, offset: res.weights.offset, bytes: res.weights.bytes, sha256: "", tensors: res.weights.tensors }, modules: {}, cost: { flopsPerSample: 0, ops: 1 },
    } as const;
    const m = new RuntimeModel(manifest as never, instance.exports["memory"] as WebAssembly.Memory, instance.exports["run"] as (b: number) => void, true);
    const withRange = new RuntimeModel({ ...manifest, inputs: res.inputs } as never, instance.exports["memory"] as WebAssembly.Memory, instance.exports["run"] as (b: number) => void, true);
    expect(() => m.run({ ids: Int32Array.from(bad) })).toThrow(/model 'emb' trapped while running batch 3: unreachable/);
    expect(() => withRange.run({ ids: Int32Array.from(bad) })).toThrow("input 'ids': value -1 at [0, 4] is outside [0, 7) (embedding 'emb.weight' has 7 rows)");
  });

  it("the training driver refuses a data field with an id outside the table before training", () => {
    const graph = lower(TEXT_SOURCE);
    const tg = buildTrainingGraph(graph, mlpSpec(), { label: { dtype: "i32", shape: [] } });
    const b = textBatch(10, 1);
    const ok = makeDataset({
      tokens: { dtype: "i32", shape: [6], data: b["tokens"]! },
      bias_id: { dtype: "i32", shape: [], data: b["bias_id"]! },
      label: { dtype: "i32", shape: [], data: b["label"]! },
    });
    expect(prepareData(tg, ok).count).toBe(10);
    const tokens = Int32Array.from(b["tokens"]!);
    tokens[7 * 6 + 2] = 20;
    const bad = makeDataset({ ...ok.fields, tokens: { dtype: "i32", shape: [6], data: tokens } });
    expect(() => prepareData(tg, bad)).toThrow(TrainDataError);
    expect(() => prepareData(tg, bad)).toThrow("data field 'tokens' for input 'tokens': value 20 at [7, 2] is outside [0, 20) (embedding 'emb.weight' has 20 rows)");
  });
});

describe("text classifier .model end to end: train with the driver, compile the trained weights, run", () => {
  it("tokens -> embedding -> positional encodings -> flatten -> dense: loss decreases over 6 epochs; the artifact matches eval", async () => {
    const graph = lower(TEXT_SOURCE);
    const spec = mlpSpec({
      split: { train: 160, validation: 20, test: 20, unit: "count" },
      optimizer: { kind: "adam", lr: 0.02 },
      schedule: { kind: "constant" },
      batch_size: 16,
      epochs: 6,
    });
    const tg = buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] } });
    const backend = createWasmTrainBackend(tg, initWeights(graph, spec.seed), { simd: true, optimize: true });
    const b = textBatch(200, 77);
    const data = makeDataset({
      tokens: { dtype: "i32", shape: [6], data: b["tokens"]! },
      bias_id: { dtype: "i32", shape: [], data: b["bias_id"]! },
      label: { dtype: "i32", shape: [], data: b["label"]! },
    });
    const outDir = mkdtempSync(join(tmpdir(), "modelc-emb-"));
    try {
      const result = await trainDriver({ graph: tg, spec, backend, data, outDir });
      const losses = result.history.epochs.map((e) => e.train.loss);
      console.log(`text classifier train loss per epoch: ${losses.map((l) => l.toFixed(4)).join(" ")}`);
      expect(result.status).toBe("completed");
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]!).toBeLessThan(0.8 * losses[0]!);
      const { model } = await compiled(TEXT_SOURCE, "simd", result.weights);
      const probe = textBatch(9, 4242);
      const got = model.run({ tokens: probe["tokens"]!, bias_id: probe["bias_id"]! })["logits"]!;
      const want = backend.evalStep(9, probe).outputs["logits"]!;
      expect(rel(got, want)).toBeLessThanOrEqual(1e-5);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe("wasm training modules vs PyTorch gradients (1e-5)", () => {
  // loss = sum((y - t)^2) with t = y_torch - g / 2 has dL/dy = g at the golden weights, so one SGD step with
  // lr = 1 moves each param by exactly PyTorch's gradient of sum(y * g): dweight = w - w_new.
  const sgdSpec = mlpSpec({
    losses: [{ name: "loss", op: "mse", input: "y", target: "t", attrs: { reduction: "sum" }, weight: 1 }],
    optimizer: { kind: "sgd", lr: 1 },
    schedule: { kind: "constant" },
    clip_grad_norm: undefined as unknown as number,
    metrics: [],
  });
  const worst: Record<string, number> = {};
  for (const c of CASES.filter((k) => k.kind === "embedding" || k.dweight))
    for (const simd of [true, false])
      it(`${c.kind} ${c.name} (${simd ? "SIMD" : "scalar"} training module)`, () => {
        const t = oneNode(c);
        const [name, w0] = [...t.w][0]!;
        const yShape = t.g.values[t.g.outputs[0]!.value]!.type.shape.slice(1) as number[];
        const tg = buildTrainingGraph(t.g, sgdSpec, { t: { dtype: "f32", shape: yShape } });
        const b = createWasmTrainBackend(tg, t.w, { simd, optimize: simd });
        const target = Float32Array.from(t.want, (y, i) => y - c.g[i]! / 2);
        const fields: BatchFields = c.kind === "embedding" ? { ids: Int32Array.from(c.ids), t: target } : { x: Float32Array.from(c.x), t: target };
        const loss = b.trainStep(t.batch, fields, { lr: 1, step: 1, seed: 0 })["loss"]!;
        expect(Math.abs(loss - c.g.reduce((s, v) => s + v * v, 0) / 4)).toBeLessThan(1e-4);
        const w1 = b.readTensors().get(name)!.data;
        const dw = Float32Array.from(w0.data, (v, i) => v - w1[i]!);
        const want = c.kind === "embedding" ? c.dweight : c.dweight!;
        const e = rel(dw, want);
        worst[c.kind] = Math.max(worst[c.kind] ?? 0, e);
        expect(e).toBeLessThanOrEqual(1e-5);
      });
  it("report worst errors", () => {
    console.log(`training-module gradient worst rel error vs PyTorch: ${JSON.stringify(worst)}`);
  });
});
