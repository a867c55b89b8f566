// `modelc export --onnx`: the exported bytes decoded back with protobufjs (structure, shapes, weights), a small
// float64 evaluator of the dense/activation node types against the reference interpreter, and the CLI.
// Neighbours: compiler/export/onnx.ts, compiler/cli/export.ts; bench/ compares the same files in onnxruntime.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OnnxExportError, ONNX_OPSET, exportOnnx, onnxGraph } from "../compiler/export/onnx.js";
import { decodeOnnxModel, type OnnxGraphObject, type OnnxNodeObject, type OnnxTensorObject, type OnnxValueInfoObject } from "../compiler/export/onnx-schema.js";
import { checkSource } from "../compiler/check.js";
import { initWeights } from "../compiler/weights/init.js";
import { parseSafetensors, writeSafetensors } from "../compiler/weights/safetensors.js";
import { runReference } from "../compiler/interp/reference.js";
import { erf } from "../compiler/ir/ops/erf.js";
import { main } from "../compiler/cli/main.js";
import { bufferIo } from "../compiler/cli/common.js";
import type { Graph, WeightMap } from "../compiler/ir/types.js";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const tmp = mkdtempSync(join(tmpdir(), "modelc-onnx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function graphOf(path: string): Graph {
  const r = checkSource(readFileSync(path, "utf8"), path);
  if (!r.graph) throw new Error(`${path} does not check`);
  return onnxGraph(r.graph);
}

/** Seeded weights with every tensor random (so running statistics and LayerNorm affine are not trivial). */
function randomWeights(graph: Graph, seed: number): WeightMap {
  const w = initWeights(graph, seed);
  let s = seed + 1;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const [name, t] of w) for (let i = 0; i < t.data.length; i++) t.data[i] = name.endsWith("running_var") ? 0.5 + rnd() : rnd() - 0.5;
  return w;
}

/** A node's attributes as name -> value (ints list, or int, or float); protobufjs decodes absent repeated fields as []. */
const attrs = (n: OnnxNodeObject): Record<string, unknown> =>
  Object.fromEntries(n.attribute!.map((a) => [a.name, a.ints?.length ? a.ints : a.type === 1 ? a.f : a.i]));
const dims = (v: OnnxValueInfoObject): (number | string)[] => (v.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_param ?? d.dim_value!);
/** Bitwise equality of two f32 arrays (a boolean, so a failure never makes vitest diff 200k numbers). */
const sameF32 = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const floats = (t: OnnxTensorObject): Float32Array => {
  const raw = t.raw_data!;
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
};

describe("exportOnnx: decoded structure", () => {
  it("mnist-mlp: opset 17, symbolic batch N, Gemm(transB) per dense, weights byte-equal under state_dict names", () => {
    const g = graphOf(join(ROOT, "dsl-examples/mnist-mlp.model"));
    const w = randomWeights(g, 7);
    const m = decodeOnnxModel(exportOnnx(g, w));
    expect(m.ir_version).toBe(8);
    expect(m.opset_import).toEqual([{ domain: "", version: ONNX_OPSET }]);
    expect(m.producer_name).toBe("modelc");
    const graph = m.graph!;
    expect(graph.input!.map((i) => [i.name, i.type?.tensor_type?.elem_type, dims(i)])).toEqual([["image", 1, ["N", 1, 28, 28]]]);
    expect(graph.output!.map((o) => [o.name, dims(o)])).toEqual([
      ["logits", ["N", 10]],
      ["probs", ["N", 10]],
    ]);
    expect(graph.node!.map((n) => n.op_type)).toEqual(["Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"]);
    const gemm = graph.node![1]!;
    expect(gemm.input).toEqual([graph.node![0]!.output![0]!, "fc1.weight", "fc1.bias"]);
    expect(attrs(gemm)).toEqual({ transB: 1 });
    expect(attrs(graph.node![6]!)).toEqual({ axis: 1 });
    expect(graph.initializer!.map((t) => [t.name, t.dims])).toEqual([
      ["fc1.weight", [256, 784]],
      ["fc1.bias", [256]],
      ["fc2.weight", [128, 256]],
      ["fc2.bias", [128]],
      ["fc3.weight", [10, 128]],
      ["fc3.bias", [10]],
    ]);
    for (const t of graph.initializer!) {
      expect(t.data_type).toBe(1);
      expect(sameF32(floats(t), w.get(t.name!)!.data), t.name).toBe(true);
    }
    // intermediate shapes are recorded
    expect(graph.value_info!.map(dims)).toEqual([["N", 784], ["N", 256], ["N", 256], ["N", 128], ["N", 128]]);
  });

  it("mnist-cnn: Conv pads/strides/dilations/group, MaxPool, BatchNormalization with the running statistics", () => {
    const g = graphOf(join(ROOT, "dsl-examples/mnist-cnn.model"));
    const w = randomWeights(g, 3);
    const graph = decodeOnnxModel(exportOnnx(g, w)).graph!;
    const ops = graph.node!.map((n) => n.op_type);
    expect(ops.filter((o) => o === "Conv")).toHaveLength(2);
    expect(ops.filter((o) => o === "MaxPool")).toHaveLength(2);
    expect(ops.filter((o) => o === "BatchNormalization")).toHaveLength(2);
    expect(ops).not.toContain("Dropout");
    const conv = graph.node!.find((n) => n.op_type === "Conv")!;
    expect(attrs(conv)).toEqual({ kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
    const bn = graph.node!.find((n) => n.op_type === "BatchNormalization")!;
    expect(bn.input!.slice(1)).toEqual(["stage1.bn.weight", "stage1.bn.bias", "stage1.bn.running_mean", "stage1.bn.running_var"].map((n) => n.replace("bn", bnLayer(g))));
    const names = new Set(graph.initializer!.map((t) => t.name));
    for (const [name, t] of w) {
      expect(names.has(name)).toBe(true);
      expect(sameF32(floats(graph.initializer!.find((i) => i.name === name)!), t.data), name).toBe(true);
    }
  });

  it("every inference op of the zoo fixture maps (GELU as Erf / Tanh compositions, LayerNormalization, Concat, ...)", () => {
    const g = graphOf(join(ROOT, "test/fixtures/onnx-zoo.model"));
    const graph = decodeOnnxModel(exportOnnx(g, randomWeights(g, 1))).graph!;
    const ops = new Set(graph.node!.map((n) => n.op_type));
    for (const op of ["Conv", "BatchNormalization", "LeakyRelu", "AveragePool", "MaxPool", "GlobalAveragePool", "Flatten", "Reshape", "MatMul", "Transpose", "LayerNormalization", "Erf", "Tanh", "Sigmoid", "Concat", "Mul", "Add", "Gemm", "Softmax"])
      expect(ops, op).toContain(op);
    expect(graph.input!.map((i) => [i.name, dims(i)])).toEqual([
      ["image", ["N", 2, 8, 8]],
      ["extra", ["N", 5]],
    ]);
    expect(graph.output!.map((o) => [o.name, dims(o)])).toEqual([
      ["logits", ["N", 3]],
      ["probs", ["N", 3]],
      ["raw", ["N", 4, 64]],
    ]);
    const avg = graph.node!.find((n) => n.op_type === "AveragePool")!;
    expect(attrs(avg)).toEqual({ kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 0 });
    // every node input is a graph input, an initializer or an earlier node's output (ONNX topological order)
    const known = new Set([...graph.input!.map((i) => i.name!), ...graph.initializer!.map((t) => t.name!)]);
    for (const n of graph.node!) {
      for (const i of n.input!) expect(known.has(i), `${n.name} reads ${i}`).toBe(true);
      for (const o of n.output!) known.add(o);
    }
  });

  it("sequence ops: Gather for embedding, attention as MatMul/Softmax/Where with the padding and causal masks", () => {
    const g = graphOf(join(ROOT, "test/fixtures/onnx-attention.model"));
    const graph = decodeOnnxModel(exportOnnx(g, randomWeights(g, 2))).graph!;
    const ops = graph.node!.map((n) => n.op_type!);
    for (const op of ["Gather", "Equal", "Not", "Unsqueeze", "Or", "Where", "Softmax", "MatMul", "Slice", "Transpose", "ReduceMean", "Cast"]) expect(ops, op).toContain(op);
    expect(graph.input!.map((i) => [i.name, i.type?.tensor_type?.elem_type, dims(i)])).toEqual([["tokens", 6, ["N", 6]]]);
    const gather = graph.node!.find((n) => n.op_type === "Gather")!;
    expect(gather.input).toEqual(["emb.weight", "tokens"]);
    // the attention params stay single initializers under PyTorch's names; the Q/K/V rows are Slices of them
    expect(graph.initializer!.map((t) => t.name)).toEqual(expect.arrayContaining(["att2.in_proj_weight", "att2.in_proj_bias", "att2.out_proj.weight", "att2.out_proj.bias", "pe.weight"]));
  });

  it("an op without an ONNX mapping is a clear error naming it and its layer", () => {
    const g = graphOf(join(ROOT, "dsl-examples/mnist-mlp.model"));
    const w = initWeights(g, 0);
    g.nodes[1] = { ...g.nodes[1]!, op: "fancy_op" };
    expect(() => exportOnnx(g, w)).toThrow(OnnxExportError);
    expect(() => exportOnnx(g, w)).toThrow(/op 'fancy_op' \(layer fc1\) has no ONNX mapping/);
  });

  it("a missing weight is named", () => {
    const g = graphOf(join(ROOT, "dsl-examples/mnist-mlp.model"));
    const w = initWeights(g, 0);
    w.delete("fc2.bias");
    expect(() => exportOnnx(g, w)).toThrow(/no weights for param 'fc2.bias'/);
  });
});

/** A float64 evaluator of the node types the MLP/GELU exports use (not a general ONNX runtime). */
function evalOnnx(graph: OnnxGraphObject, inputs: Record<string, { shape: number[]; data: Float64Array }>): Map<string, { shape: number[]; data: Float64Array }> {
  const env = new Map<string, { shape: number[]; data: Float64Array }>(Object.entries(inputs));
  for (const t of graph.initializer!) env.set(t.name!, { shape: t.dims ?? [], data: Float64Array.from(floats(t)) });
  const map = (x: { shape: number[]; data: Float64Array }, f: (v: number) => number) => ({ shape: x.shape, data: x.data.map(f) });
  for (const n of graph.node!) {
    const ins = n.input!.map((i) => env.get(i)!);
    const a = ins[0]!;
    let out: { shape: number[]; data: Float64Array };
    const scalarOr = (b: { data: Float64Array }, i: number) => (b.data.length === 1 ? b.data[0]! : b.data[i]!);
    switch (n.op_type) {
      case "Flatten":
        out = { shape: [a.shape[0]!, a.data.length / a.shape[0]!], data: a.data };
        break;
      case "Gemm": {
        const [x, w, b] = ins as [typeof a, typeof a, typeof a | undefined];
        const [M, K] = x.shape as [number, number];
        const N = w.shape[0]!;
        const data = new Float64Array(M * N);
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
          let s = b ? b.data[j]! : 0;
          for (let k = 0; k < K; k++) s += x.data[i * K + k]! * w.data[j * K + k]!;
          data[i * N + j] = s;
        }
        out = { shape: [M, N], data };
        break;
      }
      case "Relu": out = map(a, (v) => Math.max(v, 0)); break;
      case "Tanh": out = map(a, Math.tanh); break;
      case "Erf": out = map(a, erf); break;
      case "Identity": out = a; break;
      case "Mul": out = { shape: a.shape, data: a.data.map((v, i) => v * scalarOr(ins[1]!, i)) }; break;
      case "Add": out = { shape: a.shape, data: a.data.map((v, i) => v + scalarOr(ins[1]!, i)) }; break;
      case "Softmax": {
        const C = a.shape[1]!;
        const data = new Float64Array(a.data.length);
        for (let r = 0; r < a.data.length / C; r++) {
          const row = a.data.subarray(r * C, (r + 1) * C);
          const mx = Math.max(...row);
          const e = row.map((v) => Math.exp(v - mx));
          const s = e.reduce((p, q) => p + q, 0);
          for (let c = 0; c < C; c++) data[r * C + c] = e[c]! / s;
        }
        out = { shape: a.shape, data };
        break;
      }
      default: throw new Error(`evalOnnx: ${n.op_type} not covered`);
    }
    env.set(n.output![0]!, out);
  }
  return env;
}

describe("exportOnnx: semantics (float64 evaluation of the decoded graph vs the reference interpreter)", () => {
  const cases = [
    ["mnist-mlp", readFileSync(join(ROOT, "dsl-examples/mnist-mlp.model"), "utf8")],
    ["gelu", 'model m {\n  input x: f32[6]\n  let h = x -> a: dense(5) -> gelu -> b: dense(4) -> gelu(approximate="tanh")\n  output y = h\n  output z = h -> relu\n}\n'],
  ] as const;
  for (const [name, source] of cases)
    it(`${name}: within 1e-6 of runReference`, () => {
      const r = checkSource(source, `${name}.model`);
      const g = onnxGraph(r.graph!);
      const w = randomWeights(g, 5);
      const inName = g.inputs[0]!.name;
      const per = (g.values[g.inputs[0]!.value]!.type.shape.slice(1) as number[]).reduce((p, d) => p * d, 1);
      const B = 3;
      const x = Float64Array.from({ length: B * per }, (_, i) => Math.sin(i * 0.37) * 2);
      const shape = [B, ...(g.values[g.inputs[0]!.value]!.type.shape.slice(1) as number[])];
      const want = runReference(g, w, { [inName]: { shape, data: x } });
      const got = evalOnnx(decodeOnnxModel(exportOnnx(g, w)).graph!, { [inName]: { shape, data: x } });
      for (const o of g.outputs) {
        const a = want[o.name]!.data;
        const b = got.get(o.name)!.data;
        expect(b.length).toBe(a.length);
        // both compute in float64 from the same f32 weights; the composition's constants (1/sqrt 2, sqrt(2/pi),
        // 0.044715) are f32 in the ONNX file, which moves GELU by ~1e-9 relative: 1e-6 leaves room, and a wrong
        // mapping (transposed weight, wrong constant, missing term) is off by far more.
        for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(a[i]!)));
      }
    });
});

describe("modelc export --onnx (CLI)", () => {
  it("exports a .model file atomically and an artifact (with --source) to the same weights", async () => {
    const model = join(ROOT, "dsl-examples/mnist-mlp.model");
    const io = bufferIo();
    const out = join(tmp, "mlp.onnx");
    expect(await main(["export", "--onnx", model, "-o", out, "--seed", "4"], io)).toBe(0);
    expect(io.stdout.join("\n")).toMatch(/wrote .*mlp\.onnx .*ONNX opset 17/);
    const fromModel = decodeOnnxModel(readFileSync(out));

    const art = join(tmp, "art");
    expect(await main(["compile", model, "-o", art, "--seed", "4", "--no-simd"], bufferIo())).toBe(0);
    const io2 = bufferIo();
    const out2 = join(tmp, "mlp-art.onnx");
    expect(await main(["export", "--onnx", join(art, "mnist_mlp.nosimd.wasm"), "--source", model, "-o", out2], io2)).toBe(0);
    const fromArtifact = decodeOnnxModel(readFileSync(out2));
    expect(fromArtifact.graph!.initializer!.map((t) => t.name)).toEqual(fromModel.graph!.initializer!.map((t) => t.name));
    fromArtifact.graph!.initializer!.forEach((t, i) => expect(sameF32(floats(t), floats(fromModel.graph!.initializer![i]!)), t.name).toBe(true));
    expect(fromArtifact.graph!.node!.map((n) => n.op_type)).toEqual(fromModel.graph!.node!.map((n) => n.op_type));

    // --separate-weights: the manifest names NAME.weights.bin, read from beside it
    const sep = join(tmp, "sep");
    expect(await main(["compile", model, "-o", sep, "--seed", "4", "--no-simd", "--separate-weights"], bufferIo())).toBe(0);
    const out3 = join(tmp, "mlp-sep.onnx");
    expect(await main(["export", "--onnx", join(sep, "mnist_mlp.manifest.json"), "--source", model, "-o", out3], bufferIo())).toBe(0);
    const fromSeparate = decodeOnnxModel(readFileSync(out3));
    fromSeparate.graph!.initializer!.forEach((t, i) => expect(sameF32(floats(t), floats(fromModel.graph!.initializer![i]!)), t.name).toBe(true));

    // an artifact with the wrong --source: the weights do not fit, and the problems are listed
    const io4 = bufferIo();
    expect(await main(["export", "--onnx", join(sep, "mnist_mlp.manifest.json"), "--source", join(ROOT, "dsl-examples/mnist-cnn.model"), "-o", join(tmp, "z.onnx")], io4)).toBe(1);
    expect(io4.stderr.join("\n")).toMatch(/weights do not match the model/);
    expect(existsSync(join(tmp, "z.onnx"))).toBe(false);
  });

  it("--heads exports only those outputs (and the params and inputs they need)", async () => {
    const zoo = join(ROOT, "test/fixtures/onnx-zoo.model");
    const out = join(tmp, "zoo-raw.onnx");
    expect(await main(["export", "--onnx", zoo, "--heads", "raw", "-o", out], bufferIo())).toBe(0);
    const graph = decodeOnnxModel(readFileSync(out)).graph!;
    expect(graph.output!.map((o) => o.name)).toEqual(["raw"]);
    expect(graph.input!.map((i) => i.name)).toEqual(["image"]);
    // the params of the kept branch (other initializers are constants of the lowering, named "layer/op/...")
    expect(graph.initializer!.map((t) => t.name!).filter((n) => !n.includes("/")).sort()).toEqual(["b1.bias", "b1.running_mean", "b1.running_var", "b1.weight", "c1.bias", "c1.weight"]);
    const io = bufferIo();
    expect(await main(["export", "--onnx", zoo, "--heads", "nope", "-o", join(tmp, "n.onnx")], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/has no output 'nope' \(outputs: logits, probs, raw\)/);
  });

  it("--weights may be a training checkpoint: optim.* is not weights, its params are the initializers", { timeout: 120_000 }, async () => {
    const dir = join(tmp, "ck");
    let a = 5;
    const r = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
    const rows = ["a,b,c,d,y"];
    for (let i = 0; i < 40; i++) rows.push(`${[r(), r(), r(), r()].map((v) => (2 * v - 1).toFixed(4)).join(",")},${i % 3}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "d.csv"), rows.join("\n") + "\n");
    const model = join(dir, "m.model");
    writeFileSync(
      model,
      `model mlp {\n  input features: f32[4]\n  output logits = features -> fc1: dense(6) -> relu -> fc2: dense(3)\n  train {\n    data = csv("d.csv", label="y")\n    split = [30, 5, 5]\n    loss = cross_entropy(logits, y)\n    optimizer = adam(lr=0.05)\n    batch_size = 8\n    epochs = 1\n  }\n}\n`,
    );
    const out = join(dir, "out");
    expect(await main(["train", model, "-o", out, "--backend", "reference", "--progress", "none", "--no-simd"], bufferIo())).toBe(0);
    const ck = parseSafetensors(new Uint8Array(readFileSync(join(out, "checkpoint.safetensors"))));
    expect([...ck.tensors.keys()].some((k) => k.startsWith("optim."))).toBe(true);
    const io = bufferIo();
    const onnx = join(dir, "mlp.onnx");
    expect(await main(["export", "--onnx", model, "-o", onnx, "--weights", join(out, "checkpoint.safetensors")], io), io.stderr.join("\n")).toBe(0);
    const inits = decodeOnnxModel(readFileSync(onnx)).graph!.initializer!;
    const params = [...ck.tensors.keys()].filter((k) => !k.startsWith("optim."));
    expect(inits.map((t) => t.name!).sort()).toEqual(params.sort());
    for (const t of inits) expect(sameF32(floats(t), ck.tensors.get(t.name!)!.data as Float32Array), t.name).toBe(true);
  });

  it("--heads with a checkpoint of the whole model: the other heads' and dead params are dropped (mnist-cvae, recon)", async () => {
    const file = join(ROOT, "dsl-examples/mnist-cvae.model");
    const declared = checkSource(readFileSync(file, "utf8"), file).graph!;
    const w = randomWeights(declared, 11);
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of w) {
      tensors.set(name, { shape: t.shape, data: t.data });
      tensors.set(`optim.${name}.exp_avg`, { shape: t.shape, data: new Float32Array(t.data.length) });
      tensors.set(`optim.${name}.exp_avg_sq`, { shape: t.shape, data: new Float32Array(t.data.length) });
    }
    expect(w.has("fc_logvar.weight")).toBe(true);
    const ck = join(tmp, "cvae-ck.safetensors");
    writeFileSync(ck, writeSafetensors(tensors, { format: "modelc-checkpoint/1" }));
    const io = bufferIo();
    const out = join(tmp, "cvae-recon.onnx");
    expect(await main(["export", "--onnx", file, "--heads", "recon", "--weights", ck, "-o", out], io), io.stderr.join("\n")).toBe(0);
    const graph = decodeOnnxModel(readFileSync(out)).graph!;
    expect(graph.output!.map((o) => o.name)).toEqual(["recon"]);
    const named = graph.initializer!.filter((t) => !t.name!.includes("/"));
    expect(named.map((t) => t.name).sort()).toEqual(["cond.weight", "dec.fc1.bias", "dec.fc1.weight", "dec.fc2.bias", "dec.fc2.weight", "dec.fc3.bias", "dec.fc3.weight", "enc1.bias", "enc1.weight", "enc2.bias", "enc2.weight", "fc_mu.bias", "fc_mu.weight"]);
    for (const t of named) expect(sameF32(floats(t), w.get(t.name!)!.data), t.name).toBe(true);
    // without the checkpoint marker, optim.* tensors are still reported as not weights of the model
    writeFileSync(ck, writeSafetensors(tensors));
    const io2 = bufferIo();
    expect(await main(["export", "--onnx", file, "--heads", "recon", "--weights", ck, "-o", join(tmp, "cvae-bad.onnx")], io2)).toBe(1);
    expect(io2.stderr.join("\n")).toMatch(/extra +optim\.cond\.weight\.exp_avg /);
  });

  it("--heads with a near miss suggests the output", async () => {
    const io = bufferIo();
    expect(await main(["export", "--onnx", join(ROOT, "dsl-examples/mnist-cvae.model"), "--heads", "recn", "-o", join(tmp, "h.onnx")], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/has no output 'recn' \(outputs: recon, generated\); did you mean 'recon'\?/);
  });

  it("explains what is missing: --onnx, --source for an artifact; an unsupported op names it", async () => {
    const model = join(ROOT, "dsl-examples/mnist-mlp.model");
    const io = bufferIo();
    expect(await main(["export", model, "-o", join(tmp, "x.onnx")], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/--onnx/);
    const io2 = bufferIo();
    writeFileSync(join(tmp, "fake.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    expect(await main(["export", "--onnx", join(tmp, "fake.wasm"), "-o", join(tmp, "y.onnx")], io2)).toBe(1);
    expect(io2.stderr.join("\n")).toMatch(/pass --source FILE\.model/);
    expect(existsSync(join(tmp, "x.onnx"))).toBe(false);
  });
});

/** The batchnorm layer name inside mnist-cnn's stage block (e.g. "bn"). */
function bnLayer(g: Graph): string {
  const n = g.nodes.find((x) => x.op === "batchnorm")!;
  return n.layer!.split(".").slice(1).join(".");
}
