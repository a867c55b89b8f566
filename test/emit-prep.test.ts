// Shared preparation of the wasm builds (backend/wasm/emit.ts prepareWasm + emitPrepared, what compile() runs):
// every build made from one WasmPrep is byte-identical to emitWasm's own per-build path, for every dsl-example and
// a model with derived weights data (sinusoidal table), and the builds share one weights blob; the relaxed build
// made from the SIMD build's IR (emitSimdAndRelaxed, ModuleBuilder.finishWithRelaxed) is byte-identical too. Neighbours:
// test/compile-artifact.test.ts (the artifact files), test/fuse-examples.test.ts (emitWasm on the examples).

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import { afterEach, describe, expect, it, vi } from "vitest";
import { compile } from "../compiler/index.js";
import { emitPrepared, emitSimdAndRelaxed, emitWasm, prepareWasm, type EmitOptions, type EmitResult } from "../compiler/backend/wasm/emit.js";
import { ModuleBuilder, usesSimd } from "../compiler/backend/wasm/module.js";
import { INFER_KERNELS } from "../compiler/backend/wasm/kernels/infer-index.js";
import { relaxedFromSimdBytes } from "../compiler/backend/wasm/relaxed-bytes.js";
import { KERNELS } from "../compiler/backend/wasm/kernels/index.js";
import { TRAIN_KERNELS } from "../compiler/backend/wasm/kernels/train-index.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "dsl-examples");
const EXAMPLES = readdirSync(DIR).filter((f) => f.endsWith(".model")).sort();

/** The builds compile() emits by default, in its order. */
/** Embeddings and a sinusoidal table (derived data a kernel adds). */
const DERIVED_SOURCE = `model text {
  input tokens: i32[6]
  let h = tokens -> emb: embedding(20, 8, padding_idx=0) -> pe: positional_encoding(kind="learned", max_len=10)
  output logits = h -> sin_pe: positional_encoding(max_len=6) -> flatten -> fc: dense(3)
}
`;

const BUILDS: EmitOptions[] = [
  { simd: true, embedWeights: true },
  { simd: false, embedWeights: true },
  { simd: true, embedWeights: true, relaxed: true },
];

/** Everything but the bytes and the plan object, as JSON. */
const layoutOf = (r: EmitResult): string => JSON.stringify({ inputs: r.inputs, outputs: r.outputs, memory: r.memory, weights: { ...r.weights, blob: r.weights.blob.length } });

async function check(source: string, file: string): Promise<void> {
  const r = await compile(source, { file });
  if (!r.graph || !r.weights || !r.artifact) throw new Error(`${file}: ${JSON.stringify(r.diagnostics)}`);
  const prep = prepareWasm(r.graph, r.weights);
  const shared = BUILDS.map((o) => emitPrepared(prep, o));
  BUILDS.forEach((o, i) => {
    const alone = emitWasm(r.graph!, r.weights!, o);
    expect(Buffer.compare(shared[i]!.wasm, alone.wasm), `${file} ${JSON.stringify(o)}: wasm bytes`).toBe(0);
    expect(Buffer.compare(shared[i]!.weights.blob, alone.weights.blob), `${file}: blob`).toBe(0);
    expect(layoutOf(shared[i]!)).toBe(layoutOf(alone));
    expect(JSON.stringify(shared[i]!.plan)).toBe(JSON.stringify(alone.plan));
  });
  // the relaxed build from the SIMD build (madds rewritten, no fallback): the same bytes as built on its own, and
  // written from the SIMD bytes (relaxed-bytes.ts), not by a second emitBinary
  const spy = vi.spyOn(ModuleBuilder.prototype, "finishWithRelaxed");
  const writes = vi.spyOn(binaryen as unknown as { _BinaryenModuleAllocateAndWrite(...a: number[]): unknown }, "_BinaryenModuleAllocateAndWrite");
  const pair = emitSimdAndRelaxed(prep, { embedWeights: true });
  expect(spy.mock.results[0]!.value.relaxed, `${file}: relaxed made from the SIMD IR`).toBeDefined();
  expect(writes, `${file}: one emitBinary for both`).toHaveBeenCalledTimes(1);
  writes.mockRestore();
  // valid by construction: the same bytes as the relaxed module emitPrepared built and binaryen validated
  expect(Buffer.compare(pair.simd.wasm, shared[0]!.wasm), `${file}: SIMD of the pair`).toBe(0);
  expect(Buffer.compare(pair.relaxed.wasm, shared[2]!.wasm), `${file}: relaxed of the pair`).toBe(0);
  expect(layoutOf(pair.relaxed)).toBe(layoutOf(shared[2]!));
  // the scalar build has no SIMD (module.ts guardScalar; binaryen's validator no longer runs on it)
  expect(usesSimd(shared[1]!.wasm), `${file}: scalar build without SIMD`).toBe(false);
  // one blob for all builds (copied once), and compile()'s files are these modules
  expect(shared[1]!.weights.blob).toBe(shared[0]!.weights.blob);
  expect(shared[2]!.weights.blob).toBe(shared[0]!.weights.blob);
  // (the artifact's files are the modules plus appended custom sections: manifest, variant)
  const name = r.artifact.manifest.name;
  const head = (f: string, n: number): Uint8Array => (r.artifact!.files.get(f) as Uint8Array).subarray(0, n);
  expect(Buffer.compare(head(`${name}.wasm`, shared[0]!.wasm.length), shared[0]!.wasm)).toBe(0);
  expect(Buffer.compare(head(`${name}.nosimd.wasm`, shared[1]!.wasm.length), shared[1]!.wasm)).toBe(0);
  if (r.artifact.files.has(`${name}.relaxed.wasm`)) expect(Buffer.compare(head(`${name}.relaxed.wasm`, shared[2]!.wasm.length), shared[2]!.wasm)).toBe(0);
  else expect(Buffer.compare(shared[2]!.wasm, shared[0]!.wasm)).toBe(0);
}

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A one-function SIMD module: y = x * w + y over 4 lanes, the madd through Fn.set (`viaSet`) or stored directly;
 * c a load, or (`cLocal`) a local.get; `plainToo`: also a mul then add by plain f32x4 ops (not a madd) with the
 * same bytes as a madd's.
 */
function maddModule(relaxed: boolean, viaSet: boolean, cLocal = false, plainToo = false): ModuleBuilder {
  const mb = new ModuleBuilder(true, relaxed);
  const f = mb.fn(1);
  const o = f.v;
  const acc = f.local(o.type);
  const c = (): number => (cLocal ? f.get(acc) : o.load(f.i(32)));
  const madd = (): number => o.madd(o.load(f.i(0)), o.load(f.i(16)), c());
  const body = viaSet ? [f.set(acc, madd()), o.store(f.i(32), f.get(acc))] : [o.store(f.i(32), madd())];
  if (plainToo) body.push(f.set(acc, o.add(o.mul(o.load(f.i(0)), o.load(f.i(16))), f.get(acc))));
  mb.addFunction("k", f, 1, body, "k");
  return mb;
}

describe("ModuleBuilder.finishWithRelaxed", () => {
  const opts = { initialPages: 1, segments: [], optimize: false };
  it("rewrites madds in place: the relaxed bytes are those of a relaxed ModuleBuilder, the SIMD bytes unchanged", () => {
    const pair = maddModule(false, true).finishWithRelaxed(opts);
    expect(Buffer.compare(pair.simd, maddModule(false, true).finish(opts))).toBe(0);
    expect(pair.relaxed).toBeDefined();
    expect(Buffer.compare(pair.relaxed!, maddModule(true, true).finish(opts))).toBe(0);
    expect(Buffer.compare(pair.relaxed!, pair.simd)).not.toBe(0);
    expect(usesSimd(pair.relaxed!)).toBe(true);
  });
  it("the relaxed module is valid by construction when its premises hold (no binaryen validation), else validated", () => {
    const validate = vi.spyOn(binaryen as unknown as { _BinaryenModuleValidate(m: number): number }, "_BinaryenModuleValidate");
    const pair = maddModule(false, true).finishWithRelaxed(opts);
    expect(validate).not.toHaveBeenCalled(); // (the SIMD module: the engine's validator)
    // premises broken (types read as f32): the engine validates when it can, else binaryen
    const types = vi.spyOn(binaryen, "getExpressionType").mockReturnValue(binaryen.f32);
    const again = maddModule(false, true).finishWithRelaxed(opts);
    expect(types).toHaveBeenCalled();
    expect(Buffer.compare(again.relaxed!, pair.relaxed!)).toBe(0);
    expect(validate).toHaveBeenCalledTimes(WebAssembly.validate(pair.relaxed! as Uint8Array<ArrayBuffer>) ? 0 : 1);
  });
  it("madds whose c is a local.get: the relaxed bytes are rewritten from the SIMD bytes, else binaryen writes them", () => {
    const writes = vi.spyOn(binaryen as unknown as { _BinaryenModuleAllocateAndWrite(...a: number[]): unknown }, "_BinaryenModuleAllocateAndWrite");
    for (const [plainToo, emits] of [
      [false, 1], // every match of the byte run is a madd: rewritten in the bytes
      [true, 2], // a plain mul-then-add writes the same run: counts differ, so binaryen writes the rewritten IR
    ] as const) {
      writes.mockClear();
      const pair = maddModule(false, true, true, plainToo).finishWithRelaxed(opts);
      expect(writes).toHaveBeenCalledTimes(emits);
      expect(Buffer.compare(pair.relaxed!, maddModule(true, true, true, plainToo).finish(opts))).toBe(0);
      expect(Buffer.compare(pair.simd, maddModule(false, true, true, plainToo).finish(opts))).toBe(0);
      expect(Buffer.compare(pair.relaxed!, pair.simd)).not.toBe(0);
    }
    const simd = maddModule(false, true, true).finish(opts);
    expect(relaxedFromSimdBytes(simd, [1])).toBeDefined();
    expect(relaxedFromSimdBytes(simd, [2])).toBeUndefined(); // one run found, two madds expected
    expect(relaxedFromSimdBytes(simd, [1, 0])).toBeUndefined(); // the module has one function
    expect(Buffer.compare(relaxedFromSimdBytes(simd, [0])!, simd)).toBe(0); // no madds: the bytes unchanged
  });
  it("a madd that is not the value of an Fn.set: no relaxed bytes (the caller builds that module itself)", () => {
    const pair = maddModule(false, false).finishWithRelaxed(opts);
    expect(pair.relaxed).toBeUndefined();
    expect(Buffer.compare(pair.simd, maddModule(false, false).finish(opts))).toBe(0);
  });
  it("emitSimdAndRelaxed falls back to a relaxed build of its own then, with the same bytes", async () => {
    const r = await compile(readFileSync(join(DIR, "mnist-mlp.model"), "utf8"), { simd: "simd" });
    const prep = prepareWasm(r.graph!, r.weights!);
    vi.spyOn(ModuleBuilder.prototype, "finishWithRelaxed").mockImplementation(function (this: ModuleBuilder, o) {
      return { simd: this.finish(o) };
    });
    const pair = emitSimdAndRelaxed(prep, { embedWeights: true });
    expect(Buffer.compare(pair.relaxed.wasm, emitPrepared(prep, { simd: true, relaxed: true, embedWeights: true }).wasm)).toBe(0);
    expect(Buffer.compare(pair.relaxed.wasm, pair.simd.wasm)).not.toBe(0);
  });
});

/** Source files (.ts) reachable from `file` through static imports (type-only imports excluded). */
function reachable(file: string): Set<string> {
  const seen = new Set<string>();
  const todo = [file];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of readFileSync(f, "utf8").matchAll(/^import (?!type )[^;]*? from "(\.[^"]+)\.js";/gms)) todo.push(join(dirname(f), m[1]! + ".ts"));
  }
  return seen;
}

describe("kernel tables", () => {
  it("the inference emitter does not load the training kernels; KERNELS is both tables", () => {
    const files = [...reachable(join(DIR, "..", "compiler/backend/wasm/emit.ts"))].map((f) => f.split("/compiler/")[1]);
    expect(files).toContain("backend/wasm/kernels/infer-index.ts");
    expect(files).toContain("backend/wasm/kernels/dense.ts");
    expect(files).not.toContain("backend/wasm/kernels/train-index.ts");
    expect(files).not.toContain("backend/wasm/kernels/optim.ts");
    expect(Object.keys(TRAIN_KERNELS).filter((op) => op in INFER_KERNELS)).toEqual([]);
    expect(Object.keys(KERNELS).sort()).toEqual([...Object.keys(INFER_KERNELS), ...Object.keys(TRAIN_KERNELS)].sort());
  });
});

describe("prepareWasm + emitPrepared", () => {
  for (const file of EXAMPLES)
    it(`${file}: every build byte-identical to emitWasm's, one shared blob`, async () => {
      await check(readFileSync(join(DIR, file), "utf8"), file);
    });

  it("a model with derived weights data (sinusoidal table, added by a kernel) too", async () => {
    await check(DERIVED_SOURCE, "text.model");
    const r = await compile(DERIVED_SOURCE, { simd: "simd" });
    const prep = prepareWasm(r.graph!, r.weights!);
    const [a, b] = [emitPrepared(prep, BUILDS[0]!), emitPrepared(prep, BUILDS[1]!)];
    // the table lies after the params: the blob is longer than the prepared region's params and consts
    const paramsEnd = Math.max(...a.weights.tensors.map((t) => t.offset + t.shape.reduce((x: number, y) => x * (y as number), 1) * 4));
    expect(a.weights.offset + a.weights.bytes).toBeGreaterThan(paramsEnd);
    expect(b.weights.blob).toBe(a.weights.blob);
  });
});
