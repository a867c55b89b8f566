// Tests of the modelc CLI (cli/*.ts) and the public compile() API (index.ts). Commands are called as
// functions (main(argv, io) -> exit code); one block spawns the built dist/ binary when it exists.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main, exitCodeFor } from "../compiler/cli/main.js";
import { bufferIo, UserError } from "../compiler/cli/common.js";
import { cli } from "./cli-fixture.js";
import { npyToInput, parseInputPairs } from "../compiler/cli/run.js";
import { compile, check, flopsPerSample } from "../compiler/index.js";
import { readNpy, writeNpy } from "../compiler/data/npy.js";
import { writeSafetensors } from "../compiler/weights/safetensors.js";
import { initWeights } from "../compiler/weights/init.js";
import { runReference } from "../compiler/interp/reference.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const MLP = join(ROOT, "dsl-examples/mnist-mlp.model");
const CNN = join(ROOT, "dsl-examples/mnist-cnn.model");
const tmp = mkdtempSync(join(tmpdir(), "modelc-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The rows of the first text table in `lines` (header, dashes, rows until a blank line) as column -> cell. */
function tableRows(lines: string[]): Record<string, string>[] {
  const d = lines.findIndex((l) => /^-+(\s+-+)+$/.test(l));
  const spans = [...lines[d]!.matchAll(/-+/g)].map((m) => [m.index!, m.index! + m[0].length] as const);
  const cells = (l: string) => spans.map(([a, b], i) => (i === spans.length - 1 ? l.slice(a) : l.slice(a, b)).trim());
  const names = cells(lines[d - 1]!);
  const end = lines.findIndex((l, i) => i > d && l.trim() === "");
  return lines.slice(d + 1, end === -1 ? undefined : end).map((l) => Object.fromEntries(cells(l).map((c, i) => [names[i]!, c])));
}

/** A tiny model for the tests that run the backend (fast to emit). */
const TINY = `model tiny {
  input x: f32[6]
  let h = x -> fc1: dense(5) -> relu
  output logits = h -> fc2: dense(3)
  output probs = softmax(logits, axis=1)
}
`;

const BAD = `model m {
  input x: f32[4]
  let h = x -> desne(3)
  output h
}
`;

describe("modelc check", () => {
  it("prints ops and trainable parameter count", async () => {
    const r = await cli("check", MLP);
    expect(r).toMatchObject({ code: 0, out: "ok: 7 ops as written (7 as compiled), 235,146 parameters", err: "" });
    // 784*256+256 + 256*128+128 + 128*10+10 = 235146
  });

  it("says which graph it counts: as written, and as compiled (the artifact's ops, as inspect shows)", async () => {
    const r = await cli("check", CNN);
    expect(r).toMatchObject({ code: 0, out: "ok: 14 ops as written (11 as compiled), 207,018 parameters", err: "" });
    const { cost } = (await compile(readFileSync(CNN, "utf8"), { file: CNN, simd: "scalar" })).artifact!.manifest;
    expect(cost.ops).toBe(11);
  });

  it("prints diagnostics with carets and exits 1", async () => {
    const f = join(tmp, "bad.model");
    writeFileSync(f, BAD);
    const r = await cli("check", f);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(`${f}:3:16: error[E0301]`);
    expect(r.err).toContain("3 |   let h = x -> desne(3)");
    expect(r.err).toMatch(/\|\s{16}\^{5}/);
  });

  it("a missing file is a user error", async () => {
    const r = await cli("check", join(tmp, "nope.model"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: cannot read model file '.*nope\.model': no such file$/);
  });
});

describe("usage", () => {
  it("--help lists every command and exits 0; bad usage exits 1", async () => {
    const h = await cli("--help");
    expect(h.code).toBe(0);
    for (const c of ["check", "compile", "run", "inspect"]) expect(h.out).toContain(c);
    const ch = await cli("compile", "--help");
    expect(ch.code).toBe(0);
    for (const o of ["--weights", "--out", "--no-simd", "--no-relaxed", "--separate-weights", "--model", "--seed"]) expect(ch.out).toContain(o);
    expect((await cli("inspect", "--help")).out).toContain("--svg");
    expect((await cli("run", "--help")).out).toContain("--input");
    expect((await cli("frobnicate")).code).toBe(1);
    expect((await cli("check")).code).toBe(1);
    const seed = await cli("compile", MLP, "--seed", "-3");
    expect(seed.code).toBe(1);
    expect(seed.err).toContain("expected an integer");
  });

  it("maps errors to exit codes: UserError 1, anything else 2 with 'internal error'", () => {
    const io = bufferIo();
    expect(exitCodeFor(new UserError("bad input"), io)).toBe(1);
    expect(io.stderr).toEqual(["error: bad input"]);
    const io2 = bufferIo();
    expect(exitCodeFor(new TypeError("x is undefined\n" + "line\n".repeat(50)), io2)).toBe(2);
    expect(io2.stderr[0]).toMatch(/^internal error: x is undefined/);
    expect(io2.stderr[0]).toContain("more characters");
    expect(io2.stderr.join("\n")).toMatch(/at /);
  });
});

describe("modelc inspect", () => {
  it("tabulates ops with layers, shapes, params, FLOPs and the memory plan", async () => {
    const r = await cli("inspect", CNN);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("model mnist_cnn (graph as compiled: after the inference passes and batchnorm folding, as the artifact runs it; --no-opt shows it as written)");
    expect(lines).toContain("  input  image: f32[N, 1, 28, 28]");
    const rows = tableRows(lines);
    expect(rows[0]).toEqual({ "#": "0", op: "conv2d", layer: "stage1.conv", output: "f32[N, 16, 28, 28]", params: "160", FLOPs: "238,336", kernel: "implicit GEMM: conv2d+relu" });
    expect(rows[7]).toEqual({ "#": "7", op: "dense", layer: "fc1", output: "f32[N, 128]", params: "200,832", FLOPs: "401,536", kernel: "packed GEMM: dense+relu" });
    expect(lines.some((l) => l.includes("dropout"))).toBe(false); // removed for inference
    expect(lines.some((l) => /^\s*\d+\s+batchnorm\s/.test(l))).toBe(false); // folded into the convs, as compiled
    // the same ops and FLOPs as the compiled artifact's manifest (and so as `inspect NAME.wasm`)
    const { cost } = (await compile(readFileSync(CNN, "utf8"), { file: CNN, simd: "scalar" })).artifact!.manifest;
    expect(cost.ops).toBe(11);
    expect(r.out).toContain(`ops: ${cost.ops} (14 as written)   parameters: 206,922 as compiled (207,018 as written, + 96 state)   weights: 827.7 kB`);
    // the header's as-compiled count is what the params column sums (the folded weights)
    expect(rows.reduce((s, r) => s + Number(r["params"]!.replace(/,/g, "")), 0)).toBe(206_922);
    expect(r.out).toContain(`FLOPs per sample: ${cost.flopsPerSample.toLocaleString("en-US")}`);
    expect(r.out).toMatch(/memory per sample: [\d,]+ bytes planned/);
  });

  it("gives one parameter count when compiling changes no weights (mnist-mlp)", async () => {
    for (const args of [[], ["--no-opt"]]) {
      const r = await cli("inspect", MLP, ...args);
      expect(r.out).toContain("   parameters: 235,146   weights: 940.6 kB (f32)");
    }
  });

  it("--no-opt shows the graph as written, says so, and counts the compiled ops beside it", async () => {
    const r = await cli("inspect", CNN, "--no-opt");
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("model mnist_cnn (graph as written: lowered from the source, before the inference passes and batchnorm folding)");
    expect(lines.filter((l) => /^\s*\d+\s+batchnorm\s/.test(l))).toHaveLength(2);
    expect(lines.some((l) => l.includes("dropout"))).toBe(true);
    const g = check(readFileSync(CNN, "utf8"), CNN).graph!;
    expect(r.out).toContain(
      `ops: 14 (11 as compiled)   parameters: 207,018 as written (+ 96 state, e.g. running statistics; the params column counts both; 206,922 as compiled)`,
    );
    expect(r.out).toContain(`FLOPs per sample: ${flopsPerSample(g).toLocaleString("en-US")}`);
    expect(flopsPerSample(optimizeGraph(g, { mode: "infer" }))).toBeGreaterThan(2_492_860); // the batchnorms' FLOPs
  });

  it("--ir prints the graph JSON; --no-opt keeps dropout", async () => {
    const r = await cli("inspect", CNN, "--ir");
    const g = JSON.parse(r.out);
    expect(g.irVersion).toBe(1);
    expect(g.name).toBe("mnist_cnn");
    expect(g.nodes.map((n: { op: string }) => n.op)).not.toContain("dropout");
    const raw = JSON.parse((await cli("inspect", CNN, "--ir", "--no-opt")).out);
    expect(raw.nodes.map((n: { op: string }) => n.op)).toContain("dropout");
  });

  it("--svg writes a drawing with one box per input, op and output", async () => {
    const svg = join(tmp, "cnn.svg");
    const r = await cli("inspect", CNN, "--svg", svg);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${svg}`);
    const text = readFileSync(svg, "utf8");
    expect(text.startsWith("<svg ")).toBe(true);
    expect(text.trimEnd().endsWith("</svg>")).toBe(true);
    expect(text.match(/<g id="node-/g)).toHaveLength(11); // the graph as compiled: batchnorms folded
    expect(text).toContain(`<g id="input-image">`);
    expect(text).toContain(`<g id="output-probs">`);
    expect(text).toContain("stage1.conv: conv2d");
    expect(text.match(/<path d="M[^"]*" fill="none"/g)!.length).toBe(13); // 10 op->op edges + input + 2 outputs
  });

  it("rejects --ir on artifacts and unreadable files", async () => {
    expect((await cli("inspect", join(tmp, "x.wasm"))).code).toBe(1);
    const f = join(tmp, "y.manifest.json");
    writeFileSync(f, "{}");
    expect((await cli("inspect", f, "--ir")).err).toContain("--ir needs a .model file");
    const bad = await cli("inspect", f);
    expect(bad.code).toBe(1);
  });
});

describe("modelc compile: weight errors stop before the backend", () => {
  it("reports mis-shaped weights as E0601 and exits 1", async () => {
    const w = join(tmp, "bad.safetensors");
    const weights = initWeights(check(readFileSync(MLP, "utf8"), MLP).graph!, 0);
    weights.delete("fc3.bias");
    weights.set("fc2.weight", { shape: [256, 128], data: new Float32Array(256 * 128) });
    writeFileSync(w, writeSafetensors(weights));
    const r = await cli("compile", MLP, "--weights", w, "-o", join(tmp, "never"));
    expect(r.code).toBe(1);
    expect(r.err).toContain("error[E0601]: weights do not match the model (2 problems):");
    expect(r.err).toMatch(/shape\s+fc2\.weight\s+expected \[128, 256\], got \[256, 128\]/);
    expect(r.err).toMatch(/missing\s+fc3\.bias\s+expected \[10\]/);
    expect(existsSync(join(tmp, "never"))).toBe(false);
  });

  it("unreadable or corrupt weights files are user errors", async () => {
    expect((await cli("compile", MLP, "--weights", join(tmp, "none.safetensors"))).err).toMatch(/cannot read weights file/);
    const junk = join(tmp, "junk.safetensors");
    writeFileSync(junk, "hello");
    const r = await cli("compile", MLP, "--weights", junk);
    expect(r.code).toBe(1);
    expect(r.err).toContain("error[E0601]: cannot read the weights: safetensors: file is truncated");
  });

  it("compile() returns diagnostics without an artifact on source errors", async () => {
    const r = await compile(BAD, { file: "bad.model" });
    expect(r.artifact).toBeUndefined();
    expect(r.graph).toBeUndefined();
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E0301"]);
  });
});

describe("modelc run helpers", () => {
  const spec = { name: "image", dtype: "f32" as const, shape: ["N" as const, 1, 2, 2], elementsPerSample: 4, offsetPerSample: 0 };
  it("accepts [B, ...] or one sample, converts dtypes, rejects wrong shapes", () => {
    expect(npyToInput(spec, { dtype: "f4", shape: [3, 1, 2, 2], data: new Float32Array(12) }, "a.npy").batch).toBe(3);
    const one = npyToInput(spec, { dtype: "f8", shape: [1, 2, 2], data: new Float64Array([1, 2, 3, 0.1]) }, "a.npy");
    expect(one).toEqual({ batch: 1, data: new Float32Array([1, 2, 3, 0.1]), converted: { from: "float64", to: "f32" } });
    expect(() => npyToInput(spec, { dtype: "f4", shape: [3, 4], data: new Float32Array(12) }, "a.npy")).toThrow(
      "input 'image' (a.npy) has shape [3, 4], the model expects [N, 1, 2, 2]",
    );
    const ispec = { ...spec, dtype: "i32" as const, shape: ["N" as const, 2], elementsPerSample: 2 };
    expect(npyToInput(ispec, { dtype: "i8", shape: [1, 2], data: new BigInt64Array([5n, -7n]) }, "t.npy").data).toEqual(new Int32Array([5, -7]));
    expect(() => npyToInput(ispec, { dtype: "i8", shape: [2], data: new BigInt64Array([2n ** 40n, 0n]) }, "t.npy")).toThrow(/does not fit in i32/);
    expect(() => npyToInput(ispec, { dtype: "f4", shape: [2], data: new Float32Array(2) }, "t.npy")).toThrow(/holds floats/);
  });
  it("parses NAME=FILE pairs", () => {
    expect([...parseInputPairs(["image=a.npy", "mask=dir/b=c.npy"])]).toEqual([["image", "a.npy"], ["mask", "dir/b=c.npy"]]);
    expect(() => parseInputPairs(["image"])).toThrow(/NAME=FILE\.npy/);
    expect([...parseInputPairs(["x.npy"], "image")]).toEqual([["image", "x.npy"]]);
    // the input's name alone (the NAME of NAME=FILE) used to be read as a file: "cannot read input 'image' 'image': no such file"
    expect(() => parseInputPairs(["image"], "image")).toThrow(
      "--input expects NAME=FILE.npy (or just FILE.npy for a one-input model), got 'image', the input's name without a file; give --input image=FILE.npy");
    expect(() => parseInputPairs(["a=x", "a=y"])).toThrow(/given twice/);
  });
});

/** compile() on TINY: false while the backend is being written (then compile+run tests are skipped). */
const backendOk = await compile(TINY, { simd: "scalar" }).then(
  (r) => r.artifact !== undefined,
  () => false,
);

describe.skipIf(!backendOk)("modelc compile + run end to end", () => {
  it("compiles, runs on .npy input and matches the float64 reference", async () => {
    const out = join(tmp, "art");
    const file = join(tmp, "tiny.model");
    writeFileSync(file, TINY);
    const c = await cli("compile", file, "-o", out, "--seed", "5");
    expect(c.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["tiny.d.ts", "tiny.js", "tiny.manifest.json", "tiny.nosimd.wasm", "tiny.relaxed.wasm", "tiny.wasm"]);
    expect(c.out).toMatch(/wrote .*tiny\.wasm\s+[\d.]+ k?B/);
    const plainOut = join(tmp, "art-plain");
    expect((await cli("compile", file, "-o", plainOut, "--seed", "5", "--no-relaxed")).code).toBe(0);
    expect(readdirSync(plainOut).sort()).toEqual(["tiny.d.ts", "tiny.js", "tiny.manifest.json", "tiny.nosimd.wasm", "tiny.wasm"]);
    expect(c.out).toMatch(/compiled tiny in [\d.]+ s \(4 ops, weights initialized with seed 5\)/);
    const x = new Float32Array(2 * 6).map((_, i) => Math.sin(i) * 0.5 + 0.5);
    const inp = join(tmp, "x.npy");
    writeFileSync(inp, writeNpy({ shape: [2, 6], data: x }));
    const res = join(tmp, "res");
    for (const simd of ["auto", "off"]) {
      const r = await cli("run", join(out, "tiny.wasm"), "--input", `x=${inp}`, "--out", res, "--simd", simd);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`logits: [2, 3] f32 -> ${join(res, "logits.npy")}`);
      const logits = readNpy(new Uint8Array(readFileSync(join(res, "logits.npy"))));
      expect(logits.shape).toEqual([2, 3]);
      const g = optimizeGraph(check(TINY).graph!, { mode: "infer" });
      const ref = runReference(g, initWeights(g, 5), { x: { shape: [2, 6], data: Float64Array.from(x) } });
      const want = ref["logits"]!.data;
      for (let i = 0; i < 6; i++) expect(Math.abs((logits.data as Float32Array)[i]! - want[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!)));
      const probs = readNpy(new Uint8Array(readFileSync(join(res, "probs.npy")))).data as Float32Array;
      expect(probs[0]! + probs[1]! + probs[2]!).toBeCloseTo(1, 5);
      expect(probs[3]! + probs[4]! + probs[5]!).toBeCloseTo(1, 5);
    }
    // a NaN in the input is refused (naming --allow-nan) unless --allow-nan; then it propagates into the outputs
    const nanInp = join(tmp, "xnan.npy");
    writeFileSync(nanInp, writeNpy({ shape: [2, 6], data: x.map((v, i) => (i === 8 ? NaN : v)) }));
    const refused = await cli("run", join(out, "tiny.wasm"), "--input", nanInp, "--out", join(tmp, "res-nan"));
    expect([refused.code, refused.err.trim()]).toEqual([1, "error: run failed: input 'x': NaN at flat index 8 ([1, 2]); pass --allow-nan to let NaN through"]);
    expect(existsSync(join(tmp, "res-nan"))).toBe(false);
    const allowed = await cli("run", join(out, "tiny.wasm"), "--input", nanInp, "--out", join(tmp, "res-nan"), "--allow-nan");
    expect(allowed.code, allowed.err).toBe(0);
    const nanLogits = readNpy(new Uint8Array(readFileSync(join(tmp, "res-nan", "logits.npy")))).data as Float32Array;
    expect(Array.from(nanLogits, Number.isNaN)).toEqual([false, false, false, true, true, true]);
    const bad = await cli("run", join(out, "tiny.wasm"), "--input", `pixels=${inp}`);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("unknown input 'pixels'; the model's inputs are: x");
    const nameOnly = await cli("run", join(out, "tiny.wasm"), "--input", "x");
    expect([nameOnly.code, nameOnly.err.trim()]).toEqual([1,
      "error: --input expects NAME=FILE.npy (or just FILE.npy for a one-input model), got 'x', the input's name without a file; give --input x=FILE.npy"]);
    const missing = await cli("run", join(out, "tiny.wasm"));
    expect(missing.err).toContain("missing --input for 'x' [N, 6]");
  });

  it("a PyTorch state_dict (safetensors) compiles and runs to PyTorch's outputs", async () => {
    const fx = join(ROOT, "test/fixtures/weights");
    const want = readNpy(new Uint8Array(readFileSync(join(fx, "small_cnn.logits.npy"))));
    expect(want.shape).toEqual([3, 3]);
    for (const extra of [[], ["--separate-weights"]]) {
      const out = join(tmp, `cnn${extra.length}`);
      const c = await cli("compile", join(fx, "small_cnn.model"), "--weights", join(fx, "small_cnn.safetensors"), "-o", out, ...extra);
      expect(c.code, c.err).toBe(0);
      expect(existsSync(join(out, "small_cnn.weights.bin"))).toBe(extra.length > 0);
      for (const simd of ["auto", "off"]) {
        const res = join(out, `res-${simd}`);
        const r = await cli("run", join(out, "small_cnn.manifest.json"), "-i", join(fx, "small_cnn.image.npy"), "--out", res, "--simd", simd);
        expect(r.code, r.err).toBe(0);
        const got = readNpy(new Uint8Array(readFileSync(join(res, "logits.npy"))));
        expect(got.shape).toEqual([3, 3]);
        for (let i = 0; i < 9; i++) expect(Math.abs(got.data[i] as number - (want.data[i] as number))).toBeLessThan(1e-5);
      }
    }
    const insp = await cli("inspect", join(tmp, "cnn0", "small_cnn.wasm"));
    // the batchnorm is folded into the conv (passes/fold-batchnorm.ts): 2 folded tensors replace the conv's 2 and bn's 4
    expect(insp.out).toContain("weights: 4 tensors");
    expect(insp.out).toMatch(/conv1\.weight~bn\s+\[4, 1, 3, 3\]/);
    expect(insp.out).not.toMatch(/running_var/);
  });

  it("compile() is deterministic, --separate-weights writes NAME.weights.bin, --no-simd only scalar", async () => {
    const src = TINY;
    const a = await compile(src, { seed: 1, simd: "scalar" });
    const b = await compile(src, { seed: 1, simd: "scalar" });
    expect(a.artifact!.files.get("tiny.nosimd.wasm")).toEqual(b.artifact!.files.get("tiny.nosimd.wasm"));
    expect(a.artifact!.manifest.modules).toEqual({ scalar: "tiny.nosimd.wasm" });
    expect(a.artifact!.manifest.cost.flopsPerSample).toBe(flopsPerSample(a.graph!));
    const sep = await compile(src, { embedWeights: false, simd: "scalar" });
    expect(sep.artifact!.manifest.weights.embedded).toBe(false);
    expect(sep.artifact!.files.has("tiny.weights.bin")).toBe(true);
    // weights given as a WeightMap are compiled in as given
    const w = initWeights(a.graph!, 9);
    const c = await compile(src, { weights: w, simd: "scalar" });
    expect(c.weights!.get("fc1.weight")!.data).toEqual(w.get("fc1.weight")!.data);
  });
});

const DIST = join(ROOT, "dist/compiler/cli/main.js");
describe.skipIf(!existsSync(DIST))("the built modelc binary", () => {
  it("check exits 0/1 with the same output as the function", () => {
    const ok = spawnSync(process.execPath, [DIST, "check", MLP], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe("ok: 7 ops as written (7 as compiled), 235,146 parameters\n");
    const f = join(tmp, "bad2.model");
    writeFileSync(f, BAD);
    const bad = spawnSync(process.execPath, [DIST, "check", f], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("error[E0301]");
    expect(spawnSync(process.execPath, [DIST, "--version"], { encoding: "utf8" }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("import graph", () => {
  /** Static (non-dynamic) relative imports of a .ts file, resolved to .ts paths. */
  function staticImports(file: string): string[] {
    const text = readFileSync(file, "utf8");
    const out: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
      if (/^(?:import|export)\s+type\s/.test(m[0])) continue;
      out.push(m[1]!.startsWith(".") ? resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")) : m[1]!);
    }
    return out;
  }
  function reach(entry: string): Set<string> {
    const seen = new Set<string>();
    const todo = [join(ROOT, entry)];
    while (todo.length) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      if (f.endsWith(".ts") && existsSync(f)) todo.push(...staticImports(f));
    }
    return new Set([...seen].map((f) => (f.startsWith(ROOT) ? f.slice(ROOT.length + 1) : f)));
  }
  it("--help/--version load no command; check/inspect never load binaryen or ajv", () => {
    const main = reach("compiler/cli/main.ts");
    expect([...main].filter((f) => f.startsWith("compiler/")).sort()).toEqual(
      ["compiler/cli/common.ts", "compiler/cli/main.ts", "compiler/diagnostics.ts", "compiler/io/version.ts"],
    );
    for (const cmd of ["compiler/cli/check.ts", "compiler/cli/inspect.ts"]) {
      const r = reach(cmd);
      expect(r.has("binaryen"), cmd).toBe(false);
      expect(r.has("ajv"), cmd).toBe(false);
      // inspect shows the backend's memory plan and kernels (fusion): pure modules, no binaryen
      expect([...r].filter((f) => f.includes("backend/wasm/")).sort(), cmd).toEqual(
        cmd.endsWith("inspect.ts") ? ["compiler/backend/wasm/kernel-plan.ts", "compiler/backend/wasm/plan.ts"] : [],
      );
    }
    // compile() reaches the backend only through a dynamic import
    expect(reach("compiler/index.ts").has("binaryen")).toBe(false);
  });
});
