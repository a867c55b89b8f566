// The CLI's file errors (each names the file once, its role, and why it cannot be read) and `modelc run`'s .npy
// dtype conversions (a notice on stderr; values that do not fit are refused). Neighbours: cli.test.ts (the rest of
// the CLI), cli/common.ts (readUserFile, readFailure), cli/load.ts (loadArtifact), cli/run.ts (npyToInput).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFailure, writeFailure } from "../compiler/cli/common.js";
import { cli } from "./cli-fixture.js";
import { npyToInput } from "../compiler/cli/run.js";
import { readNpy, writeNpy } from "../compiler/data/npy.js";

const tmp = mkdtempSync(join(tmpdir(), "modelc-files-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = `model tiny {
  input x: f32[6]
  output y = x -> fc: dense(3)
}
`;
const IDS = `model ids {
  input t: i32[4]
  output y = t -> emb: embedding(10, 2) -> flatten
}
`;
const model = join(tmp, "tiny.model");
const art = join(tmp, "art");
const wasm = join(art, "tiny.wasm");
const dir = join(tmp, "a-directory");

beforeAll(async () => {
  writeFileSync(model, TINY);
  mkdirSync(dir);
  const c = await cli("compile", model, "-o", art);
  expect(c.code, c.err).toBe(0);
});

describe("file read errors name the file once, its role and why", () => {
  it("for every command and file role", async () => {
    const missing = join(tmp, "missing");
    const cases: [string[], string][] = [
      [["compile", `${missing}.model`], `cannot read model file '${missing}.model': no such file`],
      [["compile", dir], `cannot read model file '${dir}': is a directory`],
      [["compile", model, "--weights", `${missing}.safetensors`], `cannot read weights file '${missing}.safetensors': no such file`],
      [["check", `${model}/x.model`], `cannot read model file '${model}/x.model': not a directory on the way there`],
      [["inspect", `${missing}.wasm`], `cannot read file '${missing}.wasm': no such file`],
      [["export", "--onnx", model, "--weights", dir], `cannot read weights file '${dir}': is a directory`],
      [["export", "--onnx", `${missing}.wasm`, "--source", model], `cannot read artifact '${missing}.wasm': no such file`],
      [["run", wasm, "--input", `x=${missing}.npy`], `cannot read input file '${missing}.npy' (for input 'x'): no such file`],
      [["run", wasm, "--input", dir], `cannot read input file '${dir}' (for input 'x'): is a directory`],
      [["run", `${missing}.wasm`, "--input", "x.npy"], `cannot read artifact '${missing}.wasm': no such file`],
      [["run", dir], `cannot read artifact '${dir}': is a directory`],
      [["eval", `${missing}.wasm`], `cannot read artifact '${missing}.wasm': no such file`],
      [["sample", dir], `cannot read artifact '${dir}': is a directory`],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect([r.code, r.err], argv.join(" ")).toEqual([1, `error: ${message}`]);
    }
  });

  it("a file the artifact needs (its weights file, the module its manifest names) is named with the artifact", async () => {
    const sep = join(tmp, "sep");
    expect((await cli("compile", model, "-o", sep, "--separate-weights")).code).toBe(0);
    const x = join(tmp, "x6.npy");
    writeFileSync(x, writeNpy({ shape: [1, 6], data: new Float32Array(6) }));
    unlinkSync(join(sep, "tiny.weights.bin"));
    const r = await cli("run", join(sep, "tiny.wasm"), "--input", x);
    expect([r.code, r.err]).toEqual([1, `error: cannot read file '${join(sep, "tiny.weights.bin")}' (needed by artifact '${join(sep, "tiny.wasm")}'): no such file`]);
    unlinkSync(join(sep, "tiny.wasm"));
    const m = await cli("run", join(sep, "tiny.manifest.json"), "--input", x);
    expect(m.err).toMatch(/^error: cannot read file '.*tiny\.(relaxed\.)?wasm' \(needed by artifact '.*tiny\.manifest\.json'\): no such file$/);
  });

  it("write errors name the output once and why, never the temp file (a file where a directory should be, ...)", async () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "x");
    const x = join(tmp, "x6w.npy");
    writeFileSync(x, writeNpy({ shape: [1, 6], data: new Float32Array(6) }));
    const cases: [string[], string][] = [
      [["compile", model, "-o", file], `cannot write the artifact to '${file}': it is a file, not a directory`],
      [["compile", model, "-o", join(file, "sub")], `cannot write the artifact to '${join(file, "sub")}': a part of the path is a file, not a directory`],
      [["run", wasm, "--input", x, "--out", file], `cannot create output directory '${file}': it is a file, not a directory`],
      [["export", "--onnx", model, "-o", join(file, "m.onnx")], `cannot write ONNX file '${join(file, "m.onnx")}': a part of the path is a file, not a directory`],
      [["export", "--onnx", model, "-o", dir], `cannot write ONNX file '${dir}': is a directory`],
      [["inspect", model, "--svg", join(tmp, "no-dir", "g.svg")], `cannot write SVG file '${join(tmp, "no-dir", "g.svg")}': its directory does not exist`],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect([r.code, r.err], argv.join(" ")).toEqual([1, `error: ${message}`]);
    }
    expect(readdirSync(dir)).toEqual([]); // no temp file left behind
  });

  it("readFailure words the errno codes, including those root never sees", () => {
    const err = (code: string) => Object.assign(new Error(`${code}: something`), { code });
    expect(["ENOENT", "EISDIR", "EACCES", "EPERM", "ENOTDIR"].map((c) => readFailure(err(c)))).toEqual([
      "no such file", "is a directory", "permission denied", "permission denied", "not a directory on the way there",
    ]);
    expect(readFailure(err("EIO"))).toBe("EIO: something");
    expect(["ENOENT", "EACCES", "ENOSPC", "EROFS"].map((c) => writeFailure(err(c)))).toEqual([
      "its directory does not exist", "permission denied", "no space left on the device", "read-only file system",
    ]);
  });

  it("inspect on a file that is none of what it takes (.js, .d.ts, other JSON, other text) says so, without parsing it", async () => {
    expect(readdirSync(art)).toEqual(expect.arrayContaining(["tiny.js", "tiny.d.ts", "tiny.manifest.json"]));
    const takes = "is not a .model source, a .wasm artifact or its manifest.json; inspect takes a .model file, NAME.wasm or NAME.manifest.json";
    const pkg = join(tmp, "package.json"), bad = join(tmp, "bad.json"), notes = join(tmp, "notes.txt");
    writeFileSync(pkg, '{ "name": "x" }');
    writeFileSync(bad, "{ nope");
    writeFileSync(notes, "hello\nmodel tiny {}\n");
    for (const [file, what] of [[join(art, "tiny.js"), "this JavaScript file"], [join(art, "tiny.d.ts"), "this TypeScript declaration file"],
      [pkg, "this JSON file"], [bad, "this .json file (not valid JSON)"], [notes, "this text file (it does not start with `model` or `block`)"]]) {
      const r = await cli("inspect", file!);
      expect([r.code, r.out, r.err]).toEqual([1, "", `error: cannot inspect '${file}': ${what} ${takes}`]);
    }
    // a model source under another name is recognised by its start (after comments); a manifest by its name or keys
    const txt = join(tmp, "tiny-model.txt"), m2 = join(tmp, "copy.json");
    writeFileSync(txt, `# a comment\n// another\n\n${TINY}`);
    writeFileSync(m2, readFileSync(join(art, "tiny.manifest.json")));
    const fromTxt = await cli("inspect", txt);
    expect([fromTxt.code, fromTxt.err]).toEqual([0, ""]);
    expect(fromTxt.out).toBe((await cli("inspect", model)).out.replaceAll(model, txt));
    const fromCopy = await cli("inspect", m2);
    expect([fromCopy.code, fromCopy.out]).toEqual([0, (await cli("inspect", join(art, "tiny.manifest.json"))).out]);
  });

  it("a binary file given as a .model source, a bad .npy and a bad artifact say what the file is", async () => {
    const c = await cli("check", wasm);
    expect(c.err).toBe(`error: cannot read model file '${wasm}': it is a compiled WebAssembly module, not text`);
    const npy = join(tmp, "some.npy");
    writeFileSync(npy, writeNpy({ shape: [2], data: new Float32Array(2) }));
    expect((await cli("compile", npy)).err).toBe(`error: cannot read model file '${npy}': it holds binary data, not text`);
    expect((await cli("inspect", npy)).err).toBe(
      `error: cannot inspect '${npy}': it holds binary data; inspect takes a .model file, NAME.wasm or NAME.manifest.json`,
    );
    const junk = join(tmp, "junk.npy");
    writeFileSync(junk, "hello");
    expect((await cli("run", wasm, "--input", junk)).err).toBe(`error: cannot read input file '${junk}' (for input 'x'): not a .npy file (bad magic)`);
    const notWasm = join(tmp, "junk.wasm");
    writeFileSync(notWasm, "hello");
    expect((await cli("run", notWasm)).err).toBe(
      `error: cannot load artifact '${notWasm}': not a modelc artifact: the bytes are not a WebAssembly module (bad magic/version)`,
    );
    expect((await cli("inspect", notWasm)).err).toBe(`error: '${notWasm}': not a modelc artifact: the bytes are not a WebAssembly module (bad magic/version)`);
    const manifest = join(tmp, "junk.manifest.json");
    writeFileSync(manifest, "{}");
    expect((await cli("inspect", manifest)).err).toBe(`error: bad manifest in '${manifest}': format must be "modelc-artifact", got undefined`);
  });
});

describe("modelc run converts .npy dtypes with a notice, and refuses values that do not fit", () => {
  const f32 = { name: "x", dtype: "f32" as const, shape: ["N" as const, 3], elementsPerSample: 3, offsetPerSample: 0 };
  const i32 = { ...f32, name: "t", dtype: "i32" as const };

  it("npyToInput: float64 -> f32 and int64 -> i32 are converted and reported; out-of-range values name input, value and index", () => {
    expect(npyToInput(f32, { dtype: "f8", shape: [2, 3], data: new Float64Array([1, -2, 0.1, Infinity, -Infinity, NaN]) }, "a.npy")).toEqual({
      batch: 2, data: new Float32Array([1, -2, 0.1, Infinity, -Infinity, NaN]), converted: { from: "float64", to: "f32" },
    });
    expect(() => npyToInput(f32, { dtype: "f8", shape: [2, 3], data: new Float64Array([0, 0, 0, 0, -1e39, 0]) }, "a.npy")).toThrow(
      "input 'x' (a.npy): value -1e+39 at flat index 4 ([1, 1]) is out of f32 range (the float64 data is converted to f32, where it would be -Infinity)",
    );
    // the largest float64 that still rounds to a finite f32 passes (3.4028235677973366e38 rounds up to Infinity)
    expect(npyToInput(f32, { dtype: "f8", shape: [3], data: new Float64Array([3.4028234663852886e38, 0, 0]) }, "a.npy").data[0]).toBe(3.4028234663852886e38);
    expect(() => npyToInput(f32, { dtype: "f8", shape: [3], data: new Float64Array([3.4028235677973366e38, 0, 0]) }, "a.npy")).toThrow(/out of f32 range/);
    expect(npyToInput(i32, { dtype: "i8", shape: [3], data: new BigInt64Array([-2147483648n, 2147483647n, 7n]) }, "t.npy")).toEqual({
      batch: 1, data: new Int32Array([-2147483648, 2147483647, 7]), converted: { from: "int64", to: "i32" },
    });
    expect(() => npyToInput(i32, { dtype: "i8", shape: [1, 3], data: new BigInt64Array([0n, 0n, 2147483648n]) }, "t.npy")).toThrow(
      "input 't' (t.npy): value 2147483648 at flat index 2 ([0, 2]) does not fit in i32 (the int64 data is converted to i32)",
    );
    expect(() => npyToInput(i32, { dtype: "i8", shape: [3], data: new BigInt64Array([-(2n ** 40n), 0n, 0n]) }, "t.npy")).toThrow(
      "input 't' (t.npy): value -1099511627776 at flat index 0 does not fit in i32 (the int64 data is converted to i32)",
    );
    // the input's own dtype: no conversion, the file's array itself
    const own = new Float32Array(3);
    expect(npyToInput(f32, { dtype: "f4", shape: [3], data: own }, "a.npy")).toEqual({ batch: 1, data: own });
    expect(npyToInput(f32, { dtype: "u1", shape: [3], data: new Uint8Array([0, 128, 255]) }, "a.npy").converted).toEqual({ from: "uint8", to: "f32" });
  });

  it("end to end: one notice line per converted input on stderr; NaN follows --allow-nan", async () => {
    const x64 = join(tmp, "x64.npy");
    const data = Float64Array.from({ length: 12 }, (_, i) => i / 7);
    writeFileSync(x64, writeNpy({ shape: [2, 6], data }));
    const res = join(tmp, "res64");
    const r = await cli("run", wasm, "--input", x64, "--out", res);
    expect([r.code, r.err]).toEqual([0, `note: input 'x' (${x64}): float64 data converted to f32`]);
    // the same outputs as the float32 file
    const x32 = join(tmp, "x32.npy");
    writeFileSync(x32, writeNpy({ shape: [2, 6], data: Float32Array.from(data) }));
    const r32 = await cli("run", wasm, "--input", x32, "--out", join(tmp, "res32"));
    expect([r32.code, r32.err]).toEqual([0, ""]);
    expect(readFileSync(join(res, "y.npy"))).toEqual(readFileSync(join(tmp, "res32", "y.npy")));
    const big = join(tmp, "big.npy");
    writeFileSync(big, writeNpy({ shape: [2, 6], data: data.map((v, i) => (i === 7 ? 1e300 : v)) }));
    const b = await cli("run", wasm, "--input", big, "--out", join(tmp, "res-big"));
    expect([b.code, b.err]).toEqual([1, `error: input 'x' (${big}): value 1e+300 at flat index 7 ([1, 1]) is out of f32 range (the float64 data is converted to f32, where it would be Infinity)`]);
    expect(existsSync(join(tmp, "res-big"))).toBe(false);
    const nan = join(tmp, "nan64.npy");
    writeFileSync(nan, writeNpy({ shape: [2, 6], data: data.map((v, i) => (i === 3 ? NaN : v)) }));
    const refused = await cli("run", wasm, "--input", nan, "--out", join(tmp, "res-nan"));
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("error: run failed: input 'x': NaN at flat index 3 ([0, 3]); pass --allow-nan to let NaN through");
    const allowed = await cli("run", wasm, "--input", nan, "--out", join(tmp, "res-nan"), "--allow-nan");
    expect([allowed.code, allowed.err]).toEqual([0, `note: input 'x' (${nan}): float64 data converted to f32`]);
  });

  it("a wrong shape holding the right elements per sample says how to reshape it", () => {
    const img = { name: "image", dtype: "f32" as const, shape: ["N" as const, 1, 28, 28], elementsPerSample: 784, offsetPerSample: 0 };
    const arr = (shape: number[]) => ({ dtype: "f4" as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    expect(() => npyToInput(img, arr([5, 784]), "x.npy")).toThrow(
      "input 'image' (x.npy) has shape [5, 784], the model expects [N, 1, 28, 28]; it holds 5 samples of 784 elements: reshape it to [5, 1, 28, 28]",
    );
    expect(() => npyToInput(img, arr([28, 28]), "x.npy")).toThrow("; it holds 1 sample of 784 elements: reshape it to [1, 1, 28, 28]");
    expect(() => npyToInput(img, arr([2, 28, 28, 1]), "x.npy")).toThrow(/^input 'image' \(x\.npy\) has shape \[2, 28, 28, 1\], the model expects \[N, 1, 28, 28\]; it holds 2 samples/);
    expect(() => npyToInput(img, arr([3, 10]), "x.npy")).toThrow(/expects \[N, 1, 28, 28\]$/);
  });

  it("run: inputs of different batch sizes name both inputs and files", async () => {
    const f = join(tmp, "two.model");
    writeFileSync(f, "model two {\n  input x: f32[3]\n  input sc: f32[3]\n  output y = x * sc\n}\n");
    const out = join(tmp, "two");
    expect((await cli("compile", f, "-o", out)).code).toBe(0);
    const [x, sc] = [join(tmp, "two-x.npy"), join(tmp, "two-sc.npy")];
    writeFileSync(x, writeNpy({ shape: [1, 3], data: new Float32Array(3) }));
    writeFileSync(sc, writeNpy({ shape: [2, 3], data: new Float32Array(6) }));
    const r = await cli("run", join(out, "two.wasm"), "--input", `x=${x}`, "--input", `sc=${sc}`);
    expect([r.code, r.err]).toEqual([1, `error: inputs disagree on the batch size: 'x' has 1 (${x}), 'sc' has 2 (${sc})`]);
  });

  it("run takes -o like compile and export", async () => {
    const x = join(tmp, "x6o.npy");
    writeFileSync(x, writeNpy({ shape: [1, 6], data: new Float32Array(6) }));
    const r = await cli("run", wasm, "-i", x, "-o", join(tmp, "res-o"));
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(tmp, "res-o", "y.npy"))).toBe(true);
  });

  it("end to end: int64 ids for an i32 input", async () => {
    const f = join(tmp, "ids.model");
    writeFileSync(f, IDS);
    const out = join(tmp, "ids");
    expect((await cli("compile", f, "-o", out, "--no-simd")).code).toBe(0);
    const t = join(tmp, "t64.npy");
    writeFileSync(t, writeNpy({ shape: [1, 4], data: new BigInt64Array([1n, 2n, 3n, 9n]) }));
    const r = await cli("run", join(out, "ids.nosimd.wasm"), "--input", t, "--out", join(tmp, "ids-res"));
    expect([r.code, r.err]).toEqual([0, `note: input 't' (${t}): int64 data converted to i32`]);
    expect(readNpy(new Uint8Array(readFileSync(join(tmp, "ids-res", "y.npy")))).shape).toEqual([1, 8]);
    const wide = join(tmp, "wide.npy");
    writeFileSync(wide, writeNpy({ shape: [1, 4], data: new BigInt64Array([1n, 2n ** 33n, 3n, 4n]) }));
    const w = await cli("run", join(out, "ids.nosimd.wasm"), "--input", wide);
    expect(w.err).toBe(`error: input 't' (${wide}): value 8589934592 at flat index 1 ([0, 1]) does not fit in i32 (the int64 data is converted to i32)`);
  });
});
