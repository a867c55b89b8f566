// The relaxed-SIMD build (NAME.relaxed.wasm) and its selection at load time: feature detection false here
// (Node 20 without flags) and true in a child `node --experimental-wasm-relaxed-simd`, the variant picked per
// option and source, errors, and the relaxed build's outputs against the plain SIMD build and PyTorch on the
// golden cases. Neighbours: runtime/load.ts, runtime/sections.ts, compiler/artifact/build.ts, compiler/index.ts,
// test/runtime-relaxed.child.ts (the child).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildArtifact } from "../compiler/artifact/build.js";
import { validateManifest } from "../compiler/artifact/validate.js";
import { writeArtifactFiles } from "../compiler/artifact/write.js";
import { compile } from "../compiler/index.js";
import { hostHasRelaxedSimd, loadModel, ModelcRuntimeError, readArtifactSections } from "../runtime/index.js";
import { affineGraph, affineModule, caughtAsync, expectedY, sampleInputs } from "./runtime-fixture.js";
import { caseWeights, compare, decodeF64, loadGoldenFamilies } from "./golden-util.js";

type Flavour = "simd" | "relaxed" | "scalar";
const build = (flavours: Flavour[], weights: "embedded" | "file" = "embedded") =>
  buildArtifact({
    name: "affine",
    graph: affineGraph(),
    ...Object.fromEntries(flavours.map((f) => [f, affineModule(f, weights === "embedded")])),
    compilerVersion: "0.1.0-test",
    flopsPerSample: 12,
    ops: 2,
    weights,
  });

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "modelc-relaxed-"));
  dirs.push(d);
  return d;
}

describe("artifact with a relaxed-SIMD build", () => {
  it("writes NAME.relaxed.wasm with variant 'relaxed', manifest modules.relaxed, valid against the schema", () => {
    const { manifest, files } = build(["simd", "relaxed", "scalar"]);
    expect([...files.keys()]).toEqual(["affine.wasm", "affine.relaxed.wasm", "affine.nosimd.wasm", "affine.manifest.json", "affine.js", "affine.d.ts"]);
    expect(manifest.modules).toEqual({ simd: "affine.wasm", relaxed: "affine.relaxed.wasm", scalar: "affine.nosimd.wasm" });
    expect(validateManifest(manifest)).toEqual([]);
    const r = readArtifactSections(files.get("affine.relaxed.wasm") as Uint8Array);
    expect(r.variant).toBe("relaxed");
    expect(r.manifest).toEqual(manifest);
    // the loader starts from the manifest, so only the module that runs is fetched
    expect(files.get("affine.js")).toContain('loadModel(new URL("./affine.manifest.json", import.meta.url), options)');
    expect(build(["simd", "scalar"]).files.get("affine.js")).toContain('loadModel(new URL("./affine.wasm", import.meta.url), options)');
  });

  it("the schema wants a relaxed build only beside a SIMD one; buildArtifact checks layout and presence", () => {
    const { manifest } = build(["simd", "relaxed", "scalar"]);
    expect(validateManifest({ ...manifest, modules: { relaxed: "a.relaxed.wasm", scalar: "a.nosimd.wasm" } }).join()).toContain("simd");
    expect(validateManifest({ ...manifest, modules: { relaxed: "a.relaxed.wasm" } })).not.toEqual([]);
    expect(validateManifest({ ...manifest, modules: { simd: "a.wasm", relaxed: 3 } }).join()).toContain("/modules/relaxed");
    expect(() => build(["relaxed", "scalar"])).toThrow("a relaxed-SIMD build needs the plain SIMD build too");
    const other = affineModule("relaxed", true);
    other.memory = { ...other.memory, bytesPerSample: 64 };
    expect(() => buildArtifact({ name: "affine", graph: affineGraph(), simd: affineModule("simd", true), relaxed: other, compilerVersion: "0", flopsPerSample: 0, ops: 0 }))
      .toThrow("the SIMD and relaxed-SIMD builds have different I/O, memory or weight layouts");
  });

  it("compile() emits NAME.relaxed.wasm for graphs with a GEMM, not for others, and not with relaxed: false", async () => {
    const mlp = readFileSync(join(import.meta.dirname, "..", "dsl-examples", "mnist-mlp.model"), "utf8");
    const a = (await compile(mlp)).artifact!;
    expect(a.manifest.modules).toEqual({ simd: "mnist_mlp.wasm", relaxed: "mnist_mlp.relaxed.wasm", scalar: "mnist_mlp.nosimd.wasm" });
    const relaxed = a.files.get("mnist_mlp.relaxed.wasm") as Uint8Array;
    // Node 20 without --experimental-wasm-relaxed-simd rejects the relaxed opcodes; the plain build validates
    expect(WebAssembly.validate(relaxed as Uint8Array<ArrayBuffer>)).toBe(hostHasRelaxedSimd());
    expect(WebAssembly.validate(a.files.get("mnist_mlp.wasm") as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(readArtifactSections(relaxed).variant).toBe("relaxed");
    const off = (await compile(mlp, { relaxed: false })).artifact!;
    expect(off.manifest.modules).toEqual({ simd: "mnist_mlp.wasm", scalar: "mnist_mlp.nosimd.wasm" });
    expect(off.files.has("mnist_mlp.relaxed.wasm")).toBe(false);
    expect(readArtifactSections(off.files.get("mnist_mlp.wasm") as Uint8Array).manifest.modules.relaxed).toBeUndefined();
    expect((await compile(mlp, { simd: "scalar" })).artifact!.manifest.modules).toEqual({ scalar: "mnist_mlp.nosimd.wasm" });
    // no kernel with a multiply-add: the relaxed module would equal NAME.wasm byte for byte, so it is left out
    const elementwise = await compile("model ew {\n  input x: f32[8]\n  output y = x -> relu\n}\n");
    expect(elementwise.artifact!.manifest.modules).toEqual({ simd: "ew.wasm", scalar: "ew.nosimd.wasm" });
  });
});

describe("selection on a host without relaxed SIMD (Node 20 without flags)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    await writeArtifactFiles(dir, build(["simd", "relaxed", "scalar"]).files);
  });

  it("the probe says no exactly when a real relaxed module does not validate", () => {
    const real = WebAssembly.validate(affineModule("relaxed", true).wasm as Uint8Array<ArrayBuffer>);
    expect(hostHasRelaxedSimd()).toBe(real);
    if (process.versions.node.startsWith("20.") && !process.execArgv.some((a) => a.includes("relaxed"))) expect(real).toBe(false);
  });

  it.skipIf(hostHasRelaxedSimd())("auto picks the plain SIMD build from any path, relaxed: force and relaxed bytes fail clearly", async () => {
    for (const f of ["affine.wasm", "affine.manifest.json", "affine.relaxed.wasm"]) {
      const m = await loadModel(join(dir, f));
      expect([m.variant, m.simd]).toEqual(["simd", true]);
      const { x, k } = sampleInputs(3);
      expect(Array.from(m.run({ x, k }).y!)).toEqual(Array.from(expectedY(x)));
    }
    expect((await loadModel(join(dir, "affine.relaxed.wasm"), { simd: "off" })).variant).toBe("scalar");
    const f = await caughtAsync(loadModel(join(dir, "affine.wasm"), { relaxed: "force" }));
    expect([f.code, f.message]).toEqual(["no-relaxed",
      'relaxed: "force" was requested but this host\'s WebAssembly lacks relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)']);
    const b = await caughtAsync(loadModel(new Uint8Array(readFileSync(join(dir, "affine.relaxed.wasm")))));
    expect([b.code, b.message]).toEqual(["no-relaxed",
      "this host's WebAssembly lacks relaxed SIMD but the relaxed-SIMD module's bytes were given; pass the bytes of affine.wasm or load from a path/URL"]);
    const s = await caughtAsync(loadModel(new Uint8Array(readFileSync(join(dir, "affine.relaxed.wasm"))), { simd: "off" }));
    expect([s.code, s.message]).toEqual(["no-simd",
      'simd: "off" was requested but the relaxed-SIMD module\'s bytes were given; pass the bytes of affine.nosimd.wasm or load from a path/URL']);
  });

  it("bad relaxed options are bad-option errors", async () => {
    const a = await caughtAsync(loadModel(join(dir, "affine.wasm"), { relaxed: "yes" as "auto" }));
    expect([a.code, a.message]).toEqual(["bad-option", 'options.relaxed must be "auto", "force" or "off", got "yes"']);
    const b = await caughtAsync(loadModel(join(dir, "affine.wasm"), { relaxed: "force", simd: "off" }));
    expect([b.code, b.message]).toEqual(["bad-option", 'relaxed: "force" contradicts simd: "off"']);
  });
});

/** The golden families whose cases run through dense/conv GEMM kernels (those get a relaxed build). */
const GOLDEN_FAMILIES = new Set(["examples", "dense", "conv2d", "composite"]);

describe("selection on a host with relaxed SIMD (child node --experimental-wasm-relaxed-simd)", () => {
  let out: {
    probe: boolean;
    validatesRelaxedModule: boolean;
    affine: Record<string, { variant?: string; simd?: boolean; yOk?: boolean; code?: string; message?: string }>;
    golden: { case: string; batch: number; output: string; variants: string[]; relaxed: number[]; plain: number[] }[];
  };
  const withRelaxed: string[] = [];
  beforeAll(async () => {
    const dir = tempDir();
    await writeArtifactFiles(join(dir, "affine-all"), build(["simd", "relaxed", "scalar"]).files);
    await writeArtifactFiles(join(dir, "affine-plain"), build(["simd", "scalar"]).files);
    mkdirSync(join(dir, "affine-lone"), { recursive: true }); // NAME.wasm copied alone: its siblings are missing
    writeFileSync(join(dir, "affine-lone", "affine.wasm"), build(["simd", "relaxed", "scalar"]).files.get("affine.wasm") as Uint8Array);
    for (const fam of loadGoldenFamilies())
      if (GOLDEN_FAMILIES.has(fam.family))
        for (const c of fam.cases) {
          const r = await compile(c.source, { weights: caseWeights(c), name: "model" });
          if (!r.artifact) throw new Error(`${c.name}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
          if (!r.artifact.manifest.modules.relaxed) continue;
          withRelaxed.push(c.name);
          await writeArtifactFiles(join(dir, "golden", c.name), r.artifact.files);
        }
    mkdirSync(join(dir, "golden"), { recursive: true });
    writeFileSync(join(dir, "golden", "cases.json"), JSON.stringify(withRelaxed));
    const stdout = execFileSync(process.execPath,
      ["--experimental-wasm-relaxed-simd", "--import", "tsx", join(import.meta.dirname, "runtime-relaxed.child.ts"), dir],
      { encoding: "utf8", maxBuffer: 256 << 20 });
    out = JSON.parse(stdout.trim().split("\n").pop()!);
  });

  it("the probe says yes and a relaxed module validates", () => {
    expect(out.probe).toBe(true);
    expect(out.validatesRelaxedModule).toBe(true);
  });

  it("auto picks the relaxed build from any path; off and simd off pick the others; bytes follow the simd rules", () => {
    const a = out.affine;
    const ok = (variant: string) => ({ variant, simd: variant !== "scalar", yOk: true });
    expect(a.auto).toEqual(ok("relaxed"));
    expect(a.manifest).toEqual(ok("relaxed"));
    expect(a.fromScalarPath).toEqual(ok("relaxed"));
    expect(a.relaxedOff).toEqual(ok("simd"));
    expect(a.simdOff).toEqual(ok("scalar"));
    expect(a.force).toEqual(ok("relaxed"));
    expect(a.simdForce).toEqual(ok("relaxed"));
    expect(a.relaxedBytes).toEqual(ok("relaxed"));
    // bytes of an acceptable lower build run as given (like scalar bytes under simd: "auto")
    expect(a.simdBytes).toEqual(ok("simd"));
    expect(a.simdBytesForce).toEqual({ code: "no-relaxed",
      message: 'relaxed: "force" was requested but the SIMD module\'s bytes were given; pass the bytes of affine.relaxed.wasm or load from a path/URL' });
    expect(a.relaxedBytesOff).toEqual({ code: "no-relaxed",
      message: 'relaxed: "off" was requested but the relaxed-SIMD module\'s bytes were given; pass the bytes of affine.wasm or load from a path/URL' });
    expect(a.relaxedBytesSimdOff!.code).toBe("no-simd");
    // an artifact compiled without the relaxed build: plain SIMD under auto, a clear error under force
    expect(a.noRelaxedBuildAuto).toEqual(ok("simd"));
    expect(a.noRelaxedBuildForce).toEqual({ code: "no-module",
      message: 'relaxed: "force" was requested but artifact \'affine\' has no relaxed-SIMD build (manifest.modules.relaxed)' });
    // a lone NAME.wasm (a complete model) whose relaxed sibling is missing: auto runs it as SIMD; force says what is missing
    expect(a.lone).toEqual(ok("simd"));
    expect(a.loneForce!.code).toBe("bad-source");
    expect(a.loneForce!.message).toContain("affine.relaxed.wasm");
  });

  it("relaxed build vs plain SIMD build: within 1e-5 on every golden case with a GEMM, and both within 1e-5 of PyTorch", () => {
    expect(withRelaxed).toEqual(expect.arrayContaining(["mnist_mlp", "mnist_cnn", "dense_7_to_13", "conv_bn_relu", "mini_resnet"]));
    const runs = new Map<string, Float64Array>();
    for (const fam of loadGoldenFamilies())
      for (const c of fam.cases) for (const r of c.runs) for (const [o, t] of Object.entries(r.outputs)) runs.set(`${c.name}/${r.batch}/${o}`, decodeF64(t));
    expect(new Set(out.golden.map((g) => g.case))).toEqual(new Set(withRelaxed));
    let differ = 0;
    for (const g of out.golden) {
      const where = `${g.case} batch ${g.batch} ${g.output}`;
      expect(g.variants, where).toEqual(["relaxed", "simd"]);
      const plain = Float64Array.from(g.plain);
      const vsPlain = compare(g.relaxed, plain, [g.relaxed.length], 1e-5);
      expect(vsPlain.maxErr, `${where}: relaxed ${vsPlain.got} vs plain ${vsPlain.want}`).toBeLessThanOrEqual(1e-5);
      const want = runs.get(`${g.case}/${g.batch}/${g.output}`)!;
      expect(compare(g.relaxed, want, [want.length], 1e-5).maxErr, `${where} vs PyTorch`).toBeLessThanOrEqual(1e-5);
      if (vsPlain.maxErr > 0) differ++;
    }
    // informative: how many outputs the fused multiply-add changed at all (0 on hosts without FMA)
    console.log(`relaxed vs plain SIMD: ${differ} of ${out.golden.length} golden outputs differ in some bit`);
  });
});
