// Runtime tests: loadModel from bytes/paths/URLs, SIMD selection, input validation, memory growth,
// using hand-built modules (test/runtime-fixture.ts) packaged by buildArtifact. Neighbours: runtime/*.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildArtifact } from "../compiler/artifact/build.js";
import { writeArtifactFiles } from "../compiler/artifact/write.js";
import { loadModel, type IoSpec, type Model } from "../runtime/index.js";
import { checkNaN } from "../runtime/model.js";
import { affineGraph, affineModule, caught, caughtAsync, expectedY, sampleInputs } from "./runtime-fixture.js";

const build = (weights: "embedded" | "file", builds: ("simd" | "scalar")[] = ["simd", "scalar"]) =>
  buildArtifact({
    name: "affine",
    graph: affineGraph(),
    ...(builds.includes("simd") ? { simd: affineModule("simd", weights === "embedded") } : {}),
    ...(builds.includes("scalar") ? { scalar: affineModule("scalar", weights === "embedded") } : {}),
    compilerVersion: "0.1.0-test",
    flopsPerSample: 12,
    ops: 2,
    weights,
  });

const dirs: string[] = [];
async function writeTo(weights: "embedded" | "file", builds?: ("simd" | "scalar")[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "modelc-rt-"));
  dirs.push(dir);
  await writeArtifactFiles(dir, build(weights, builds).files);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function expectRuns(model: Model, batch: number): void {
  const { x, k } = sampleInputs(batch);
  const out = model.run({ x, k });
  expect(out.y).toBeInstanceOf(Float32Array);
  expect(out.z).toBeInstanceOf(Int32Array);
  expect(Array.from(out.y!)).toEqual(Array.from(expectedY(x)));
  expect(Array.from(out.z!)).toEqual(Array.from(k, (v) => v + 1));
}


describe("loadModel sources", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTo("embedded");
  });

  it("loads the SIMD module from bytes alone (manifest from the custom section)", async () => {
    const bytes = readFileSync(join(dir, "affine.wasm"));
    const model = await loadModel(new Uint8Array(bytes));
    expect(model.simd).toBe(true);
    expect(model.name).toBe("affine");
    expect(model.inputs.map((s) => s.name)).toEqual(["x", "k"]);
    expect(model.outputs.map((s) => [s.name, s.dtype])).toEqual([["y", "f32"], ["z", "i32"]]);
    expect(model.manifest.cost).toEqual({ flopsPerSample: 12, ops: 2 });
    expectRuns(model, 3);
    // ArrayBuffer works too
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expectRuns(await loadModel(ab), 2);
  });

  it("loads from a path to the .wasm, the .manifest.json and a file: URL", async () => {
    for (const src of [join(dir, "affine.wasm"), join(dir, "affine.manifest.json"), pathToFileURL(join(dir, "affine.wasm")), pathToFileURL(join(dir, "affine.manifest.json")).href]) {
      const model = await loadModel(src);
      expect(model.simd).toBe(true);
      expectRuns(model, 5);
    }
  });

  it('simd: "off" picks the scalar module from any path, and scalar bytes run as scalar', async () => {
    for (const src of [join(dir, "affine.wasm"), join(dir, "affine.manifest.json"), join(dir, "affine.nosimd.wasm")]) {
      const model = await loadModel(src, { simd: "off" });
      expect(model.simd).toBe(false);
      expectRuns(model, 4);
    }
    const scalarBytes = new Uint8Array(readFileSync(join(dir, "affine.nosimd.wasm")));
    expect((await loadModel(scalarBytes)).simd).toBe(false);
    const forced = await caughtAsync(loadModel(scalarBytes, { simd: "force" }));
    expect([forced.code, forced.message]).toEqual(["no-simd", 'simd: "force" was requested but the scalar module\'s bytes were given; pass the bytes of affine.wasm or load from a path/URL']);
    // a path to the scalar file with simd auto switches to the SIMD sibling
    expect((await loadModel(join(dir, "affine.nosimd.wasm"))).simd).toBe(true);
  });

  it('simd: "off" with only SIMD bytes names the scalar file it needs', async () => {
    const e = await caughtAsync(loadModel(new Uint8Array(readFileSync(join(dir, "affine.wasm"))), { simd: "off" }));
    expect(e.code).toBe("no-simd");
    expect(e.message).toContain('simd: "off"');
    expect(e.message).toContain("affine.nosimd.wasm");
  });

  it('simd: "off" with SIMD bytes of an artifact that has no scalar build says so (no "bytes of undefined")', async () => {
    const simdOnly = await writeTo("embedded", ["simd"]);
    const e = await caughtAsync(loadModel(new Uint8Array(readFileSync(join(simdOnly, "affine.wasm"))), { simd: "off" }));
    expect([e.code, e.message]).toEqual(["no-simd",
      'simd: "off" was requested but the SIMD module\'s bytes were given; artifact \'affine\' has no scalar build (manifest.modules.scalar)']);
  });

  it("a host without SIMD gets the scalar module (auto) or a clear error (force, SIMD bytes only)", async () => {
    const real = WebAssembly.validate;
    // the runtime's feature probes are hand-written modules of under 64 bytes
    vi.spyOn(WebAssembly, "validate").mockImplementation((b) => (b.byteLength < 64 ? false : real(b)));
    const model = await loadModel(join(dir, "affine.wasm"));
    expect(model.simd).toBe(false);
    expectRuns(model, 2);
    const f = await caughtAsync(loadModel(join(dir, "affine.wasm"), { simd: "force" }));
    expect(f.code).toBe("no-simd");
    expect(f.message).toContain("lacks SIMD (v128)");
    const b = await caughtAsync(loadModel(new Uint8Array(readFileSync(join(dir, "affine.wasm")))));
    expect(b.code).toBe("no-simd");
    expect(b.message).toContain("lacks SIMD (v128) but the SIMD module's bytes were given; pass the bytes of affine.nosimd.wasm");
    expect(b.message).toContain("affine.nosimd.wasm");
  });

  it("artifacts with one build: SIMD-only refuses simd off; scalar-only runs under auto", async () => {
    const simdOnly = await writeTo("embedded", ["simd"]);
    const e = await caughtAsync(loadModel(join(simdOnly, "affine.wasm"), { simd: "off" }));
    expect(e.code).toBe("no-module");
    expect(e.message).toContain("no scalar build");
    const scalarOnly = await writeTo("embedded", ["scalar"]);
    const m = await loadModel(join(scalarOnly, "affine.manifest.json"));
    expect(m.simd).toBe(false);
    expectRuns(m, 3);
    const f = await caughtAsync(loadModel(join(scalarOnly, "affine.nosimd.wasm"), { simd: "force" }));
    expect(f.code).toBe("no-module");
    expect(f.message).toContain("no SIMD build");
  });

  it("rejects non-artifacts, missing files and bad options", async () => {
    const plain = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    const a = await caughtAsync(loadModel(plain));
    expect([a.code, a.message]).toEqual(["not-artifact", "not a modelc artifact: no modelc.manifest section"]);
    const b = await caughtAsync(loadModel(new Uint8Array([1, 2, 3])));
    expect(b.code).toBe("not-artifact");
    expect(b.message).toContain("not a WebAssembly module");
    const c = await caughtAsync(loadModel(join(dir, "missing.wasm")));
    expect([c.code, c.message]).toEqual(["bad-source", `cannot read ${join(dir, "missing.wasm")}: no such file`]);
    expect((c.cause as { code?: string }).code).toBe("ENOENT"); // the system error is kept
    const d = await caughtAsync(loadModel(new Uint8Array(0), { simd: "yes" as "auto" }));
    expect(d.code).toBe("bad-option");
    expect(d.message).toContain('got "yes"');
    const e = await caughtAsync(loadModel(42 as unknown as Uint8Array));
    expect(e.code).toBe("bad-source");
    expect(e.message).toContain("got number");
  });

  it("rejects options that are not an object, and unknown option keys, naming the valid ones and the likely typo", async () => {
    const wasm = join(dir, "affine.wasm");
    const fast = await caughtAsync(loadModel(wasm, "fast" as never));
    expect([fast.code, fast.message]).toEqual(["bad-option", `loadModel(source, options): options must be an object such as { simd: "off" }, got string "fast"`]);
    expect((await caughtAsync(loadModel(wasm, null as never))).message).toContain("got null");
    expect((await caughtAsync(loadModel(wasm, ["off"] as never))).message).toContain("got array(1)");
    // before this check { simdd: "off" } silently ran the SIMD build
    const typo = await caughtAsync(loadModel(wasm, { simdd: "off" } as never));
    expect([typo.code, typo.message]).toEqual(["bad-option", "loadModel(source, options): unknown option 'simdd' (did you mean 'simd'?); valid options: simd, relaxed, weights"]);
    expect((await caughtAsync(loadModel(wasm, { Relaxed: "off" } as never))).message).toContain("unknown option 'Relaxed' (did you mean 'relaxed'?)");
    const far = await caughtAsync(loadModel(wasm, { simd: "off", fast: true } as never));
    expect(far.message).toBe("loadModel(source, options): unknown option 'fast'; valid options: simd, relaxed, weights");
    expect((await loadModel(wasm, { simd: "off", relaxed: "off", weights: undefined })).variant).toBe("scalar");
    expect((await loadModel(wasm, undefined)).name).toBe("affine");
  });
});

describe("weights outside the module", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTo("file");
  });

  it("loads NAME.weights.bin next to a path, or from options.weights with bytes", async () => {
    expectRuns(await loadModel(join(dir, "affine.wasm")), 3);
    expectRuns(await loadModel(join(dir, "affine.manifest.json"), { simd: "off" }), 3);
    const wasm = new Uint8Array(readFileSync(join(dir, "affine.wasm")));
    const weights = new Uint8Array(readFileSync(join(dir, "affine.weights.bin")));
    expectRuns(await loadModel(wasm, { weights }), 2);
    expectRuns(await loadModel(wasm, { weights: join(dir, "affine.weights.bin") }), 2);
  });

  it("errors name the file and expected vs got length / SHA-256", async () => {
    const wasm = new Uint8Array(readFileSync(join(dir, "affine.wasm")));
    const a = await caughtAsync(loadModel(wasm));
    expect(a.code).toBe("weights");
    expect(a.message).toContain("affine.weights.bin");
    expect(a.message).toContain("options.weights");
    const b = await caughtAsync(loadModel(wasm, { weights: new Uint8Array(12) }));
    expect(b.message).toBe("weights file affine.weights.bin: expected 16 bytes, got 12");
    const c = await caughtAsync(loadModel(wasm, { weights: new Uint8Array(16) }));
    const sha = JSON.parse(readFileSync(join(dir, "affine.manifest.json"), "utf8")).weights.sha256;
    expect(c.message).toBe(`weights file affine.weights.bin: expected SHA-256 ${sha}, got 374708fff7719dd5979ec875d56cd2286f6d3cf7ec317a3b25632aab28ec37bb`);
  });
});

describe("loading over HTTP (the browser path: fetch and sibling URLs)", () => {
  let server: Server;
  let base: string;
  const served: string[] = [];
  beforeAll(async () => {
    const dir = await writeTo("file");
    server = createServer((req, res) => {
      served.push(req.url ?? "");
      try {
        const body = readFileSync(join(dir, decodeURIComponent((req.url ?? "/").slice(1))));
        res.writeHead(200, { "content-type": req.url?.endsWith(".wasm") ? "application/wasm" : "application/octet-stream" }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("fetches the manifest, the scalar sibling and the weights file relative to the URL", async () => {
    served.length = 0;
    const model = await loadModel(new URL("affine.manifest.json", base), { simd: "off" });
    expect(model.simd).toBe(false);
    expectRuns(model, 6);
    expect(served).toEqual(["/affine.manifest.json", "/affine.nosimd.wasm", "/affine.weights.bin"]);
    expectRuns(await loadModel(`${base}affine.wasm`), 2);
  });

  it("an HTTP 404 names the URL and status", async () => {
    const e = await caughtAsync(loadModel(`${base}nope.wasm`));
    expect(e.code).toBe("bad-source");
    expect(e.message).toBe(`cannot read ${base}nope.wasm: HTTP 404 Not Found`);
  });
});

describe("Model.run validation", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(new Uint8Array(build("embedded").files.get("affine.wasm") as Uint8Array));
  });
  const x2 = new Float32Array(8);
  const k2 = new Int32Array(2);

  it("inputs that are not an object by name (null, undefined, a number, a bare array) are bad-inputs naming every input", () => {
    const want = "run(inputs): expected an object of inputs by name, { x: Float32Array of shape [N, 4], k: Int32Array of shape [N, 1] }, got ";
    const cases: [unknown, string][] = [
      [null, "null"], [undefined, "undefined"], [3, "number 3"], ["x", `string "x"`],
      [new Float32Array(8), "Float32Array(8)"], [[1, 2, 3, 4], "array(4)"],
    ];
    for (const [inputs, got] of cases) {
      const e = caught(() => model.run(inputs as never));
      expect([e.code, e.message]).toEqual(["bad-inputs", want + got]);
      expect(caught(() => model.check(inputs as never)).code).toBe("bad-inputs");
    }
  });
  it("options that are not an object are bad-option", () => {
    const e = caught(() => model.run({ x: x2, k: k2 }, null as never));
    expect([e.code, e.message]).toEqual(["bad-option", "run(inputs, options): options must be an object such as { batch: 1 }, got null"]);
    expect(caught(() => model.run({ x: x2, k: k2 }, 2 as never)).message).toContain("got number 2");
    const arr = caught(() => model.run({ x: x2, k: k2 }, [4] as never));
    expect([arr.code, arr.message]).toEqual(["bad-option", "run(inputs, options): options must be an object such as { batch: 1 }, got array(1)"]);
  });
  it("unknown option keys are bad-option naming the key, the valid keys and the likely typo", () => {
    const e = caught(() => model.run({ x: x2, k: k2 }, { bacth: 1 } as never));
    expect([e.code, e.message]).toEqual(["bad-option", "run(inputs, options): unknown option 'bacth' (did you mean 'batch'?); valid options: batch, nan, outputs"]);
    expect(caught(() => model.check({ x: x2, k: k2 }, { NaN: "allow" } as never)).message).toBe(
      "run(inputs, options): unknown option 'NaN' (did you mean 'nan'?); valid options: batch, nan, outputs");
    expect(caught(() => model.run({ x: x2, k: k2 }, { threads: 2 } as never)).message).toBe("run(inputs, options): unknown option 'threads'; valid options: batch, nan, outputs");
    expect(caught(() => model.run({ x: x2, k: k2 }, { bat: 1 } as never)).message).toContain("unknown option 'bat';"); // too short to guess
    expect(model.run({ x: x2, k: k2 }, { batch: undefined, nan: "allow" }).z).toEqual(new Int32Array([1, 1]));
  });
  it("unknown input names the input and the valid names", () => {
    const e = caught(() => model.run({ x: x2, k: k2, img: x2 }));
    expect(e.code).toBe("unknown-input");
    expect(e.message).toBe("unknown input 'img'; valid inputs of model 'affine': 'x', 'k'");
  });
  it("an unknown input close to a valid name suggests it", () => {
    const e = caught(() => model.run({ x: x2, K: k2 }));
    expect([e.code, e.message]).toEqual(["unknown-input", "unknown input 'K' (did you mean 'k'?); valid inputs of model 'affine': 'x', 'k'"]);
  });
  it("loadModel weights for an artifact that embeds its weights is bad-option", async () => {
    const e = await caughtAsync(loadModel(new Uint8Array(build("embedded").files.get("affine.wasm") as Uint8Array), { weights: new Uint8Array(16) }));
    expect([e.code, e.message]).toEqual(["bad-option", "options.weights was given but artifact 'affine' embeds its weights; drop options.weights"]);
  });
  it("missing input names it with its dtype and shape", () => {
    const e = caught(() => model.run({ x: x2 }));
    expect(e.code).toBe("missing-input");
    expect(e.message).toBe("missing input 'k' (expected Int32Array of shape [N, 1])");
  });
  it("wrong dtype names the input, expected and given array types", () => {
    const a = caught(() => model.run({ x: new Float64Array(8) as unknown as Float32Array, k: k2 }));
    expect([a.code, a.message]).toEqual(["bad-dtype", "input 'x': expected Float32Array (dtype f32) or number[], got Float64Array"]);
    const b = caught(() => model.run({ x: x2, k: new Float32Array(2) }));
    expect(b.message).toBe("input 'k': expected Int32Array (dtype i32) or number[], got Float32Array");
    const c = caught(() => model.run({ x: x2, k: [1, 2.5] }));
    expect(c.message).toBe("input 'k': expected 32-bit integers (dtype i32), got 2.5 at index 1");
    const d = caught(() => model.run({ x: "abc" as unknown as number[], k: k2 }));
    expect(d.message).toBe("input 'x': expected Float32Array (dtype f32) or number[], got string");
  });
  it("a bad element of a number[] is shown as given (NaN, Infinity, strings), not as JSON (null)", () => {
    const bad = (k: unknown[]) => caught(() => model.run({ x: new Float32Array(4 * k.length), k: k as number[] }));
    const e = bad([1, 2, 3, NaN, 0]);
    expect([e.code, e.message]).toEqual(["bad-dtype", "input 'k': expected 32-bit integers (dtype i32), got NaN at index 3"]);
    expect(bad([Infinity]).message).toBe("input 'k': expected 32-bit integers (dtype i32), got Infinity at index 0");
    expect(bad([0, -Infinity]).message).toContain("got -Infinity at index 1");
    expect(bad([1.5]).message).toContain("got 1.5 at index 0");
    expect(bad([2 ** 31]).message).toContain("got 2147483648 at index 0");
    expect(bad(["3"]).message).toContain('got "3" at index 0');
    expect(bad([null]).message).toContain("got null at index 0");
    expect(bad([undefined]).message).toContain("got undefined at index 0");
    expect(bad([5n]).message).toContain("got 5n at index 0");
    expect(bad([[1]]).message).toContain("got array(1) at index 0");
    expect(bad([{}]).message).toContain("got Object at index 0");
    expect(caught(() => model.run({ x: [0, 0, "1", 0], k: [1] })).message).toBe('input \'x\': expected numbers (dtype f32), got "1" at index 2');
  });
  it("length not a multiple of elementsPerSample", () => {
    const e = caught(() => model.run({ x: new Float32Array(7), k: k2 }));
    expect([e.code, e.message]).toEqual(["bad-length", "input 'x': expected a multiple of 4 elements per sample (shape [N, 4]), got 7"]);
  });
  it("inputs disagreeing on the batch", () => {
    const e = caught(() => model.run({ x: x2, k: new Int32Array(3) }));
    expect(e.code).toBe("bad-length");
    expect(e.message).toBe("input 'k': expected 2 elements (batch 2, as given by input 'x'), got 3 (batch 3); all inputs must have the same batch");
  });
  it("length not matching an explicit batch", () => {
    const e = caught(() => model.run({ x: x2, k: k2 }, { batch: 3 }));
    expect(e.message).toBe("input 'x': expected 12 elements (batch 3 x 4 per sample, shape [N, 4]), got 8");
  });
  it("batch < 1 or not an integer", () => {
    for (const [batch, got] of [[0, "0"], [-1, "-1"], [1.5, "1.5"], [NaN, "NaN"]] as const) {
      const e = caught(() => model.run({ x: x2, k: k2 }, { batch }));
      expect([e.code, e.message]).toEqual(["bad-batch", `batch must be an integer >= 1, got ${got}`]);
    }
    const e = caught(() => model.run({ x: new Float32Array(0), k: new Int32Array(0) }));
    expect(e.message).toBe("batch must be an integer >= 1, got 0 (input 'x' is empty)");
  });
  it("±Infinity is data; number[] inputs work; explicit batch works", () => {
    const out = model.run({ x: [3, Infinity, -Infinity, 1], k: [2147483647] }, { batch: 1 });
    expect(Array.from(out.y!)).toEqual([6.5, Infinity, -Infinity, 12]); // y = 2x + WEIGHT (expectedY)
    expect(Array.from(out.z!)).toEqual([-2147483648]);
  });
  it("a NaN in an f32 input is bad-value naming the input, flat index and index, unless nan: \"allow\"", () => {
    const x = new Float32Array([1, 2, 3, 4, 5, NaN, 7, NaN]);
    const e = caught(() => model.run({ x, k: k2 }));
    expect([e.code, e.message]).toEqual(["bad-value", `input 'x': NaN at flat index 5 ([1, 1]); pass { nan: "allow" } to run() to let NaN through`]);
    expect(caught(() => model.run({ x: [NaN, 0, 0, 0], k: [1] })).message).toContain("NaN at flat index 0 ([0, 0])");
    expect(caught(() => model.check({ x, k: k2 }, { nan: "error" })).code).toBe("bad-value");
    const out = model.run({ x: [NaN, Infinity, -Infinity, 1], k: [2147483647] }, { nan: "allow" });
    expect(Array.from(out.y!)).toEqual([NaN, Infinity, -Infinity, 12]);
    const b = caught(() => model.run({ x, k: k2 }, { nan: "off" as never }));
    expect([b.code, b.message]).toEqual(["bad-option", `run(inputs, options): options.nan must be "error" or "allow", got "off"`]);
  });
  it("options.outputs: run() writes into the caller's arrays and returns them, same values as fresh outputs", () => {
    const { x, k } = sampleInputs(3);
    const want = model.run({ x, k });
    const y = new Float32Array(12).fill(-7);
    const out = model.run({ x, k }, { outputs: { y } });
    expect(out.y).toBe(y); // the caller's array itself
    expect(Array.from(y)).toEqual(Array.from(expectedY(x)));
    expect(Buffer.compare(Buffer.from(y.buffer), Buffer.from(want.y!.buffer))).toBe(0); // bit-identical
    expect(out.z).toBeInstanceOf(Int32Array); // not given: a fresh copy
    expect(Array.from(out.z!)).toEqual([-4, 3, 10]);
    // both outputs, reused across calls; an array sized for a larger batch gets its first batch x 4 elements written
    const big = new Float32Array(20).fill(-7);
    const z = new Int32Array([0, 0, 99]);
    const two = sampleInputs(2);
    const again = model.run({ x: two.x, k: two.k }, { outputs: { y: big, z } });
    expect(again.y).toBe(big);
    expect(again.z).toBe(z);
    expect(Array.from(big)).toEqual([...expectedY(two.x), ...Array(12).fill(-7)]);
    expect(Array.from(z)).toEqual([-4, 3, 99]); // z[2] kept: only batch x 1 elements are written
    // subarray views (an offset into a larger buffer) and SharedArrayBuffer-backed arrays
    const backing = new Float32Array(16).fill(-7);
    model.run({ x: two.x, k: two.k }, { outputs: { y: backing.subarray(4, 12) } });
    expect(Array.from(backing)).toEqual([-7, -7, -7, -7, ...expectedY(two.x), -7, -7, -7, -7]);
    const shared = new Int32Array(new SharedArrayBuffer(8));
    expect(model.run({ x: two.x, k: two.k }, { outputs: { z: shared } }).z).toBe(shared);
    expect(Array.from(shared)).toEqual([-4, 3]);
    // undefined means not given; check() validates outputs as run() does
    expect(model.run({ x: two.x, k: two.k }, { outputs: { y: undefined } }).y).toBeInstanceOf(Float32Array);
    expect(model.check({ x: two.x, k: two.k }, { outputs: { y: new Float32Array(8) } })).toBe(2);
  });
  it("options.outputs of the wrong type, too short, or naming no output is bad-option, checked before anything runs", () => {
    const { x, k } = sampleInputs(2);
    const z = new Int32Array([5, 5]);
    const bad = (outputs: unknown) => {
      const e = caught(() => model.run({ x, k }, { outputs: { z, ...(outputs as object) } }));
      expect(Array.from(z)).toEqual([5, 5]); // nothing was written
      expect(caught(() => model.check({ x, k }, { outputs: outputs as never })).message).toBe(e.message);
      return [e.code, e.message];
    };
    const need = "run(inputs, options): options.outputs: output 'y' needs a Float32Array (dtype f32) of at least 8 elements (batch 2 x 4 per sample, shape [N, 4]), got ";
    expect(bad({ y: new Float32Array(7) })).toEqual(["bad-option", need + "Float32Array(7)"]);
    expect(bad({ y: new Float64Array(8) })).toEqual(["bad-option", need + "Float64Array(8)"]);
    expect(bad({ y: new Int32Array(8) })).toEqual(["bad-option", need + "Int32Array(8)"]);
    expect(bad({ y: Array(8).fill(0) })).toEqual(["bad-option", need + "array(8)"]);
    expect(bad({ y: null })).toEqual(["bad-option", need + "null"]);
    expect(bad({ z: new Float32Array(2) })).toEqual(["bad-option",
      "run(inputs, options): options.outputs: output 'z' needs a Int32Array (dtype i32) of at least 2 elements (batch 2 x 1 per sample, shape [N, 1]), got Float32Array(2)"]);
    expect(bad({ Y: new Float32Array(8) })).toEqual(["bad-option",
      "run(inputs, options): options.outputs: unknown output 'Y' (did you mean 'y'?); outputs of model 'affine': y, z"]);
    expect(bad({ logits: new Float32Array(8) })[1]).toBe("run(inputs, options): options.outputs: unknown output 'logits'; outputs of model 'affine': y, z");
    for (const [v, got] of [[new Float32Array(8), "Float32Array(8)"], [null, "null"], [[], "array(0)"], [3, "number 3"]] as const) {
      const e = caught(() => model.run({ x, k }, { outputs: v as never }));
      expect([e.code, e.message]).toEqual(["bad-option", `run(inputs, options): options.outputs must be an object of arrays by output name (outputs of model 'affine': y, z), got ${got}`]);
    }
    // two outputs over the same bytes: one would silently overwrite the other
    const buf = new ArrayBuffer(64);
    expect(bad({ y: new Float32Array(buf, 0, 8), z: new Int32Array(buf, 28, 2) })).toEqual(["bad-option",
      "run(inputs, options): options.outputs: outputs 'y' and 'z' share memory (the same array or overlapping views of one buffer); give each output its own array"]);
    const y = new Float32Array(buf, 0, 8), z2 = new Int32Array(buf, 32, 2); // adjacent, not overlapping: fine
    const out = model.run({ x, k }, { outputs: { y, z: z2 } });
    expect([out.y === y, out.z === z2]).toEqual([true, true]);
    expect(Array.from(z2)).toEqual(Array.from(model.run({ x, k }).z!));
    // the length is checked against this call's batch
    expect(caught(() => model.run({ x, k }, { batch: 2, outputs: { z: new Int32Array(1) } })).message).toContain("output 'z' needs a Int32Array (dtype i32) of at least 2 elements");
  });
  it("outputs are fresh copies the caller may keep", () => {
    const first = model.run({ x: new Float32Array([1, 1, 1, 1]), k: [0] });
    model.run({ x: new Float32Array([5, 5, 5, 5]), k: [9] });
    expect(Array.from(first.y!)).toEqual([2.5, 1, 4, 12]);
    expect(first.y!.buffer).not.toBe(first.z!.buffer);
  });
});

describe("checkNaN (the f32 input scan of Model.run)", () => {
  const spec: IoSpec = { name: "v", dtype: "f32", shape: ["N", 7], elementsPerSample: 7, offsetPerSample: 0 };
  const nanAt = (data: ArrayLike<number>): string | undefined => {
    try {
      checkNaN(spec, data);
      return undefined;
    } catch (e) {
      return (e as Error).message.split(";")[0];
    }
  };
  it("finds a NaN anywhere, in the 4-wide part and the tail, in typed arrays and number[]", () => {
    for (let at = 0; at < 21; at++) {
      const x = new Float32Array(21).fill(1.5);
      x[at] = NaN;
      const want = `input 'v': NaN at flat index ${at} ([${Math.floor(at / 7)}, ${at % 7}])`;
      expect(nanAt(x)).toBe(want);
      expect(nanAt(Array.from(x))).toBe(want);
    }
  });
  it("passes ±Infinity, huge values and -0 (the slow rescan finds no NaN), and reports the first NaN after an Infinity", () => {
    expect(nanAt([Infinity, -Infinity, 3.4e38, -0, 0, 1, 2])).toBeUndefined();
    expect(nanAt(new Float32Array(7))).toBeUndefined();
    expect(nanAt([])).toBeUndefined();
    expect(nanAt([Infinity, 1, 2, 3, 4, NaN, NaN])).toBe("input 'v': NaN at flat index 5 ([0, 5])");
  });
});

describe("memory", () => {
  it.each(["simd", "scalar"] as const)("%s: batch 1 -> 1024 -> 1 -> 777 grows once and never reads stale views", async (flavour) => {
    const model = await loadModel(new Uint8Array(build("embedded").files.get(flavour === "simd" ? "affine.wasm" : "affine.nosimd.wasm") as Uint8Array));
    const mem = (model as unknown as { memory: WebAssembly.Memory }).memory;
    expect(mem.buffer.byteLength).toBe(65536);
    expectRuns(model, 1);
    expect(mem.buffer.byteLength).toBe(65536);
    expectRuns(model, 1024); // 64 + 48 * 1024 = 49216 bytes: fits in one page
    expectRuns(model, 1);
    expectRuns(model, 4096); // 196672 bytes: grows to 4 pages
    expect(mem.buffer.byteLength).toBe(4 * 65536);
    expectRuns(model, 1);
    expectRuns(model, 777);
    expect(mem.buffer.byteLength).toBe(4 * 65536); // never shrinks
    for (let b = 1; b <= 64; b++) expectRuns(model, b);
  });

  it("100,000 runs of the same batch never grow memory", async () => {
    const model = await loadModel(new Uint8Array(build("embedded").files.get("affine.wasm") as Uint8Array));
    const mem = (model as unknown as { memory: WebAssembly.Memory }).memory;
    const { x, k } = sampleInputs(2);
    model.run({ x, k });
    const before = mem.buffer.byteLength;
    let last: Float32Array | Int32Array | undefined;
    for (let r = 0; r < 100_000; r++) last = model.run({ x, k }).y;
    expect(mem.buffer.byteLength).toBe(before);
    expect(Array.from(last!)).toEqual(Array.from(expectedY(x)));
  });

  it("a batch beyond wasm32's 4 GiB is a memory error, not a crash", async () => {
    const model = await loadModel(new Uint8Array(build("embedded").files.get("affine.wasm") as Uint8Array));
    const e = caught(() => model.run({ x: [], k: [] }, { batch: 1 }));
    expect(e.code).toBe("bad-length");
    const big = caught(() => (model as unknown as { ensureMemory(b: number): void }).ensureMemory(100_000_000));
    expect(big.code).toBe("memory");
    expect(big.message).toContain("batch 100000000 needs 4800000064 bytes");
  });
});
