// Which kernel runs which op (backend/wasm/kernel-plan.ts), the manifest's op list (artifact/op-list.ts) and how
// `modelc inspect` shows both, for a .model file and for its compiled artifact alike. Neighbours: cli.test.ts
// (the rest of inspect), fuse-examples.test.ts (what fusion does to the outputs: nothing).

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./cli-fixture.js";
import { opTable } from "../compiler/cli/inspect.js";
import { asCompiled } from "../compiler/cli/check.js";
import { compile, check } from "../compiler/index.js";
import { lowerForWasm as emitLowering } from "../compiler/backend/wasm/emit.js";
import { lowerForWasm, planKernels } from "../compiler/backend/wasm/kernel-plan.js";
import { opList } from "../compiler/artifact/op-list.js";
import { parseManifest } from "../runtime/sections.js";
import { loadModel } from "../runtime/index.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "dsl-examples");
const EXAMPLES = readdirSync(DIR).filter((f) => f.endsWith(".model")).sort();
const CNN = join(DIR, "mnist-cnn.model");
const tmp = mkdtempSync(join(tmpdir(), "modelc-kernels-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The lines of the op table ("#  op ..." header through the last row). */
function opTableLines(out: string): string[] {
  const lines = out.split("\n");
  const start = lines.findIndex((l) => /^\s*#\s+op\s/.test(l));
  const end = lines.findIndex((l, i) => i > start && l.trim() === "");
  return lines.slice(start, end);
}

const FE = "model fe {\n  input x: f32[16]\n  input y: f32[16]\n  output z = sigmoid(x * y + x)\n}\n";
const CV = `model cv {
  input x: f32[4, 10, 10]
  let a = x -> c1: conv2d(4, kernel=1) -> relu
  let b = a -> dw: conv2d(4, kernel=3, padding="same", groups=4)
  output c = b -> c2: conv2d(8, kernel=3, stride=2) -> flatten
  output d = x -> c3: conv2d(8, kernel=3, padding="same") -> relu
}
`;

describe("planKernels", () => {
  for (const file of EXAMPLES) {
    it(`${file}: every op runs in exactly one kernel; the kernels are the backend's lowered nodes`, () => {
      const g = asCompiled(check(readFileSync(join(DIR, file), "utf8"), file).graph!).compiled;
      const lowered = emitLowering(g);
      expect(JSON.stringify(lowerForWasm(g))).toBe(JSON.stringify(lowered)); // emit.ts lowers with this very function
      const plan = planKernels(g);
      expect(plan.kernels.map((k) => k.op)).toEqual(lowered.nodes.map((n) => n.op));
      expect(plan.kernels.flatMap((k) => k.ops).sort((a, b) => a - b)).toEqual(g.nodes.map((_, i) => i));
      plan.kernelOf.forEach((k, i) => expect(plan.kernels[k]!.ops).toContain(i));
      // a kernel of several ops is a fused one: an epilogue (the GEMM op leads) or a fused elementwise loop
      for (const k of plan.kernels.filter((k) => k.ops.length > 1))
        expect(k.op === "fused_elementwise" || k.op === g.nodes[k.ops[0]!]!.op, `${file} ${k.op}`).toBe(true);
    });
  }

  it("names the fused elementwise loop and each conv2d kernel variant", () => {
    const fe = planKernels(check(FE).graph!);
    expect(fe.kernels).toEqual([{ ops: [0, 1, 2], op: "fused_elementwise", impl: "fused loop" }]);
    const g = check(CV).graph!;
    expect(planKernels(g).kernels).toEqual([
      { ops: [0], op: "conv2d", impl: "1x1 GEMM" },
      { ops: [1], op: "relu" }, // after a 1x1 GEMM conv: no epilogue there
      { ops: [2], op: "conv2d", impl: "depthwise" },
      { ops: [3], op: "conv2d", impl: "im2col + GEMM" },
      { ops: [4], op: "flatten", impl: "no copy" },
      { ops: [5, 6], op: "conv2d", impl: "implicit GEMM" },
    ]);
    // without fusion every op is its own kernel
    expect(planKernels(g, lowerForWasm(g, { fuse: false })).kernels.map((k) => k.ops)).toEqual(g.nodes.map((_, i) => [i]));
  });
});

describe("the manifest's op list", () => {
  it("is the graph as compiled with its kernels; the runtime loads it and ignores it", async () => {
    const r = await compile(readFileSync(CNN, "utf8"), { file: CNN, simd: "scalar" });
    const m = r.artifact!.manifest;
    expect(m.graph).toEqual(opList(r.graph!, planKernels(r.graph!)));
    expect(m.graph!.ops.length).toBe(m.cost.ops);
    expect(m.graph!.ops.reduce((s, o) => s + o.flops, 0)).toBe(m.cost.flopsPerSample);
    expect(m.graph!.ops.slice(0, 2)).toEqual([
      { op: "conv2d", layer: "stage1.conv", dtype: "f32", shape: ["N", 16, 28, 28], params: 160, flops: 238_336, kernel: "implicit GEMM" },
      { op: "relu", dtype: "f32", shape: ["N", 16, 28, 28], params: 0, flops: 12_544, fusedInto: 0 },
    ]);
    // a later layout of the op list (graph.version 2) still loads: the runtime never reads it
    const later = { ...m, graph: { version: 2, ops: "something else" } };
    expect(parseManifest(JSON.stringify(later), "later").name).toBe("mnist_cnn");
    const dir = join(tmp, "later");
    rmSync(dir, { recursive: true, force: true });
    const { writeArtifactFiles } = await import("../compiler/artifact/write.js");
    const files = new Map(r.artifact!.files);
    files.set("mnist_cnn.manifest.json", JSON.stringify(later));
    await writeArtifactFiles(dir, files);
    const model = await loadModel(join(dir, "mnist_cnn.manifest.json"));
    expect(model.run({ image: new Float32Array(784) }).probs.length).toBe(10);
  });
});

describe("modelc inspect shows the op list and the kernels", () => {
  it("an artifact shows the same op table as its .model file, and the same memory plan", async () => {
    const out = join(tmp, "cnn");
    expect((await cli("compile", CNN, "-o", out, "--no-relaxed")).code).toBe(0);
    const art = await cli("inspect", join(out, "mnist_cnn.wasm"));
    const src = await cli("inspect", CNN);
    expect(art.code).toBe(0);
    const table = opTableLines(art.out);
    expect(table).toEqual(opTableLines(src.out));
    expect(table).toEqual([
      " #  op         layer        output               params      FLOPs  kernel",
      "--  ---------  -----------  ------------------  -------  ---------  --------------------------",
      " 0  conv2d     stage1.conv  f32[N, 16, 28, 28]      160    238,336  implicit GEMM: conv2d+relu",
      " 1  relu                    f32[N, 16, 28, 28]              12,544  fused into #0",
      " 2  maxpool2d               f32[N, 16, 14, 14]              12,544",
      " 3  conv2d     stage2.conv  f32[N, 32, 14, 14]    4,640  1,812,608  implicit GEMM: conv2d+relu",
      " 4  relu                    f32[N, 32, 14, 14]               6,272  fused into #3",
      " 5  maxpool2d               f32[N, 32, 7, 7]                 6,272",
      " 6  flatten                 f32[N, 1568]                         0  no copy",
      " 7  dense      fc1          f32[N, 128]         200,832    401,536  packed GEMM: dense+relu",
      " 8  relu                    f32[N, 128]                        128  fused into #7",
      " 9  dense      fc2          f32[N, 10]            1,290      2,570  packed GEMM",
      "10  softmax                 f32[N, 10]                          50",
    ]);
    for (const r of [art, src]) expect(r.out).toContain("\nkernels: 8 for 11 ops (3 run fused into another op's kernel)\n");
    // the .model's memory plan is the artifact's: planned on the lowered graph, as the backend does
    const m = JSON.parse(readFileSync(join(out, "mnist_cnn.manifest.json"), "utf8"));
    expect(src.out).toContain(`memory per sample: ${m.memory.bytesPerSample.toLocaleString("en-US")} bytes planned`);
    expect(art.out).toContain(`${m.memory.bytesPerSample.toLocaleString("en-US")} bytes per sample`);
    // the manifest JSON and a renamed module are artifacts too
    expect(opTableLines((await cli("inspect", join(out, "mnist_cnn.manifest.json"))).out)).toEqual(table);
    writeFileSync(join(tmp, "renamed.bin"), readFileSync(join(out, "mnist_cnn.nosimd.wasm")));
    const renamed = await cli("inspect", join(tmp, "renamed.bin"));
    expect(renamed.out.split("\n")[0]).toBe("artifact mnist_cnn (modelc 0.1.0, scalar module)");
    expect(opTableLines(renamed.out)).toEqual(table);
  });

  it("for every example, inspect of the .model shows the compiled artifact's op table and memory plan", async () => {
    for (const file of EXAMPLES) {
      const r = await cli("inspect", join(DIR, file));
      const m = (await compile(readFileSync(join(DIR, file), "utf8"), { file, simd: "scalar" })).artifact!.manifest;
      expect(opTableLines(r.out), file).toEqual(opTable(m.graph!, true));
      expect(r.out, file).toContain(`memory per sample: ${m.memory.bytesPerSample.toLocaleString("en-US")} bytes planned`);
    }
  });

  it("a fused elementwise loop and --no-opt (no kernels: the backend never runs the graph as written)", async () => {
    const f = join(tmp, "fe.model");
    writeFileSync(f, FE);
    const r = await cli("inspect", f);
    expect(opTableLines(r.out).slice(2)).toEqual([
      "0  mul             f32[N, 16]             16  fused loop: mul+add+sigmoid",
      "1  add             f32[N, 16]             16  fused into #0",
      "2  sigmoid         f32[N, 16]             64  fused into #0",
    ]);
    expect(r.out).toContain("\nkernels: 1 for 3 ops (2 run fused into another op's kernel)\n");
    const written = await cli("inspect", CNN, "--no-opt");
    expect(opTableLines(written.out)[0]).toBe(" #  op         layer        output               params      FLOPs");
    expect(written.out).not.toContain("kernels:");
  });

  it("an artifact without an op list (an older modelc's) says how to see it", async () => {
    const r = await compile(FE, { simd: "scalar" });
    const old = { ...r.artifact!.manifest };
    delete old.graph;
    const f = join(tmp, "fe.manifest.json");
    writeFileSync(f, JSON.stringify(old));
    const out = (await cli("inspect", f)).out.split("\n");
    expect(out).toContain("ops: 3   FLOPs per sample: 96");
    expect(out).toContain("(this artifact carries no op list: an older modelc compiled it; recompile it, or run `modelc inspect` on its .model file)");
    expect(out.some((l) => /^\s*#\s+op\s/.test(l))).toBe(false);
    // a later layout of the op list is not guessed at
    writeFileSync(f, JSON.stringify({ ...old, graph: { version: 2, ops: { conv: 1 } } }));
    const later = await cli("inspect", f);
    expect(later.code).toBe(0);
    expect(later.out).toContain("(this artifact's op list has layout version 2, newer than this modelc reads; run `modelc inspect` on its .model file)");
  });

  it("options that need a .model file are refused for an artifact, naming them", async () => {
    const r = await compile(FE, { simd: "scalar" });
    const f = join(tmp, "fe2.manifest.json");
    writeFileSync(f, JSON.stringify(r.artifact!.manifest));
    const bad = await cli("inspect", f, "--no-opt", "--model", "fe");
    expect([bad.code, bad.err]).toEqual([1, `error: --no-opt and --model need a .model file; '${f}' is a compiled artifact, shown as compiled`]);
  });
});
