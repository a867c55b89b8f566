// CVAE in the language and the trainer: shared layers (same name + same arguments = same weights), gaussian_kl
// in the train section, the generation seed left out of training graphs, a few wasm training steps on MNIST
// digits with both losses falling, and `modelc sample` writing a decodable PNG grid.
// Neighbours: test/cvae-ops.test.ts (ops), dsl-examples/mnist-cvae.model, compiler/cli/sample.ts.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PNG } from "pngjs";
import { checkSource } from "../compiler/check.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { initWeights } from "../compiler/weights/init.js";
import { createWasmTrainBackend } from "../compiler/backend/wasm/train.js";
import { loadMnist, MNIST_PIXELS } from "../compiler/data/mnist.js";
import { main } from "../compiler/cli/main.js";
import { bufferIo } from "../compiler/cli/common.js";
import { gridSize } from "../compiler/io/png-grid.js";
import { compile } from "../compiler/index.js";
import { loadModel } from "../runtime/index.js";
import { train } from "../compiler/train/driver.js";
import { mlpSpec, setup, synthetic } from "./train.helpers.js";

/** A small CVAE (latent 4) in the shape of dsl-examples/mnist-cvae.model. */
const CVAE = (recon = "sum", kl = "sum") => `
block decoder(z, c) {
  return concat(z, c) -> fc1: dense(32) -> relu -> fc2: dense(784) -> reshape([1, 28, 28])
}
model small_cvae {
  input image: f32[1, 28, 28]
  input label: i32[]
  input seed: i32[]
  let c = label -> cond: embedding(10, 4)
  let h = concat(image -> flatten, c) -> enc: dense(32) -> relu
  let mu = h -> fc_mu: dense(4)
  let logvar = h -> fc_logvar: dense(4)
  let recon_logits = dec: decoder(reparameterize(mu, logvar), c)
  output recon = sigmoid(recon_logits)
  output generated = dec: decoder(random_normal(seed, 4), c) -> sigmoid
  train {
    data = mnist()
    split = [256, 32, 32]
    loss recon = binary_cross_entropy(recon_logits, image, reduction="${recon}")
    loss kl = gaussian_kl(mu, logvar, reduction="${kl}")
    optimizer = adam(lr=0.003)
    batch_size = 32
    epochs = 1
  }
}
`;

const codes = (src: string) => checkSource(src, "t.model").diagnostics.map((d) => `${d.code} ${d.message}`);

describe("shared layers", () => {
  it("a block instance name used again with the same arguments reuses its weights", () => {
    const r = checkSource(CVAE(), "t.model");
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const params = Object.values(r.graph!.values).filter((v) => v.kind === "param").map((v) => v.name!);
    expect(params.filter((n) => n.startsWith("dec."))).toEqual(["dec.fc1.weight", "dec.fc1.bias", "dec.fc2.weight", "dec.fc2.bias"]);
    const denseOnDecoder = r.graph!.nodes.filter((n) => n.layer === "dec.fc1");
    expect(denseOnDecoder).toHaveLength(2);
    expect(denseOnDecoder[0]!.inputs[1]).toBe(denseOnDecoder[1]!.inputs[1]);
  });
  it("an op layer called twice shares weights; different arguments stay E0304", () => {
    const ok = checkSource("model m {\n  input x: f32[4]\n  input y: f32[4]\n  output a = x -> fc: dense(3)\n  output b = y -> fc: dense(3)\n}\n", "t.model");
    expect(Object.values(ok.graph!.values).filter((v) => v.kind === "param")).toHaveLength(2);
    const bad = codes("model m {\n  input x: f32[4]\n  output a = x -> fc: dense(3) -> relu\n  output b = x -> fc: dense(2)\n}\n");
    expect(bad.some((c) => c.startsWith("E0304"))).toBe(true);
    const shape = codes("model m {\n  input x: f32[4]\n  input y: f32[5]\n  output a = x -> fc: dense(3)\n  output b = y -> fc: dense(3)\n}\n");
    expect(shape.some((c) => c.startsWith("E0501") && c.includes("fc.weight"))).toBe(true);
  });
});

describe("gaussian_kl in the train section; training leaves out the generation seed", () => {
  it("both arguments are model values, checked by the op's shape rule", () => {
    const r = checkSource(CVAE(), "t.model");
    const kl = r.train!.losses.find((l) => l.name === "kl")!;
    expect(kl.op).toBe("gaussian_kl");
    expect(kl.targetValue).toBe(true);
    expect(kl.target).toBe(r.graph!.nodes.find((n) => n.layer === "fc_logvar")!.outputs[0]);
    expect(codes(CVAE().replace("gaussian_kl(mu, logvar", "gaussian_kl(mu, label")).some((c) => c.startsWith("E0809"))).toBe(true);
    expect(codes(CVAE().replace("gaussian_kl(mu, logvar", "gaussian_kl(mu, sigma")).some((c) => c.startsWith("E0302"))).toBe(true);
    expect(codes(CVAE().replace("gaussian_kl(mu, logvar", "gaussian_kl(mu, h")).some((c) => c.startsWith("E0809"))).toBe(true);
  });
  it("the training graph has no seed input and no generated output; the inference graph keeps both", () => {
    const r = checkSource(CVAE(), "t.model");
    const tg = buildTrainingGraph(r.graph!, r.train!, { image: { dtype: "f32", shape: [1, 28, 28] }, label: { dtype: "i32", shape: [] } });
    expect(tg.dataInputs.map((d) => d.name).sort()).toEqual(["image", "label"]);
    expect(tg.evalGraph.outputs.some((o) => o.name === "generated")).toBe(false);
    expect(tg.graph.nodes.some((n) => n.op === "reparameterize_train")).toBe(true);
    expect(r.graph!.inputs.map((i) => i.name)).toEqual(["image", "label", "seed"]);
  });
});

describe("CVAE training steps (wasm training module, SIMD + scalar)", () => {
  for (const simd of [true, false])
    it(`recon and kl both fall over 24 steps on 256 MNIST digits (simd=${simd})`, () => {
      // recon as a per-pixel mean and kl as a per-sample sum: the KL term dominates the encoder's gradient,
      // so it falls from its initial value while the decoder learns the class-conditional mean image.
      const r = checkSource(CVAE("mean", "mean"), "t.model");
      const tg = buildTrainingGraph(r.graph!, r.train!, { image: { dtype: "f32", shape: [1, 28, 28] }, label: { dtype: "i32", shape: [] } });
      const b = createWasmTrainBackend(tg, initWeights(r.graph!, 3), { simd, optimize: false });
      const m = loadMnist();
      const hist: { recon: number; kl: number }[] = [];
      let step = 0;
      for (let epoch = 0; epoch < 3; epoch++)
        for (let s = 0; s < 256; s += 32) {
          const l = b.trainStep(32, { image: m.images.slice(s * MNIST_PIXELS, (s + 32) * MNIST_PIXELS), label: m.labels.slice(s, s + 32) }, { lr: 0.003, step: ++step, seed: 5 });
          hist.push({ recon: l["recon"]!, kl: l["kl"]! });
        }
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const head = hist.slice(0, 4);
      const tail = hist.slice(-4);
      expect(hist.every((h) => Number.isFinite(h.recon) && Number.isFinite(h.kl))).toBe(true);
      expect(mean(tail.map((h) => h.recon))).toBeLessThan(0.8 * mean(head.map((h) => h.recon)));
      expect(mean(tail.map((h) => h.kl))).toBeLessThan(0.8 * mean(head.map((h) => h.kl)));
    }, 60_000);
});

describe("driver: per-step loss of a sum-reduced loss", () => {
  const dir = mkdtempSync(join(tmpdir(), "modelc-sumloss-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("is per sample (÷ batch), on the epoch means' scale (a summed ELBO would be batch times larger)", async () => {
    const spec = mlpSpec({ epochs: 1 });
    spec.losses = spec.losses.map((l) => ({ ...l, attrs: { ...l.attrs, reduction: "sum" } }));
    const { tg, backend } = setup(spec);
    const r = await train({ graph: tg, spec, backend, data: synthetic(), outDir: dir });
    const steps = r.history.steps.map((s) => s.loss);
    const mean = steps.reduce((a, x) => a + x, 0) / steps.length;
    // 3 classes at init: about ln 3 = 1.1 per sample (batch 5 summed would be ~5.5)
    expect(steps[0]!).toBeGreaterThan(0.5);
    expect(steps[0]!).toBeLessThan(2);
    const epochMean = r.history.epochs[0]!.train.loss;
    expect(Math.abs(mean - epochMean) / epochMean).toBeLessThan(0.1);
  });
});

describe("generator module: compile --heads generated", () => {
  it("binds a whole-model state_dict (logvar layer included), keeps only label and seed, same samples as the full module", async () => {
    const r = checkSource(CVAE(), "t.model");
    const weights = initWeights(r.graph!, 1);
    expect([...weights.keys()]).toContain("fc_logvar.weight");
    const build = async (heads?: string[]) => {
      const c = await compile(CVAE(), { file: "t.model", weights, simd: "simd", ...(heads ? { heads } : {}) });
      expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      return loadModel(c.artifact!.files.get("small_cvae.wasm") as Uint8Array);
    };
    const [full, gen] = [await build(), await build(["generated"])];
    expect(gen.inputs.map((i) => i.name)).toEqual(["label", "seed"]);
    expect(gen.outputs.map((o) => o.name)).toEqual(["generated"]);
    const label = Int32Array.of(0, 3, 9, 3);
    const seed = Int32Array.of(5, 6, 7, 6);
    const a = gen.run({ label, seed })["generated"] as Float32Array;
    const b = full.run({ image: new Float32Array(4 * 784), label, seed })["generated"] as Float32Array;
    expect(Array.from(a)).toEqual(Array.from(b));
    // rows 1 and 3: same label and seed -> same image; row 0 differs
    expect(Array.from(a.subarray(784, 1568))).toEqual(Array.from(a.subarray(3 * 784, 4 * 784)));
    expect(Array.from(a.subarray(0, 784))).not.toEqual(Array.from(a.subarray(784, 1568)));
  }, 60_000);
});

describe("modelc sample", () => {
  const dir = mkdtempSync(join(tmpdir(), "modelc-sample-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("writes a grid PNG of classes x per-class cells that decodes to the right size; same seed same bytes", async () => {
    const src = join(dir, "small.model");
    await import("node:fs/promises").then((fs) => fs.writeFile(src, CVAE()));
    const io = bufferIo();
    expect(await main(["compile", src, "-o", join(dir, "art")], io)).toBe(0);
    const art = join(dir, "art", "small_cvae.wasm");
    const out = (s: number) => join(dir, `s${s}.png`);
    expect(await main(["sample", art, "--per-class", "3", "--seed", "0", "-o", out(0), "--scale", "2"], io), io.stderr.join("\n")).toBe(0);
    expect(await main(["sample", art, "--per-class", "3", "--seed", "0", "-o", join(dir, "again.png"), "--scale", "2"], io)).toBe(0);
    expect(await main(["sample", art, "--per-class", "3", "--seed", "1", "-o", out(1), "--scale", "2"], io)).toBe(0);
    const png = PNG.sync.read(readFileSync(out(0)));
    const want = gridSize({ rows: 10, cols: 3, height: 28, width: 28, channels: 1, scale: 2 });
    expect([png.width, png.height]).toEqual([want.width, want.height]);
    expect([png.width, png.height]).toEqual([3 * (56 + 2) + 2, 10 * (56 + 2) + 2]);
    expect(readFileSync(join(dir, "again.png")).equals(readFileSync(out(0)))).toBe(true);
    expect(readFileSync(out(1)).equals(readFileSync(out(0)))).toBe(false);
    // Cells hold gray pixels (sigmoid outputs), the padding is the background.
    expect([png.data[0], png.data[3]]).toEqual([40, 255]);
    expect(io.stdout.join("\n")).toContain("10 classes x 3 samples");
  }, 60_000);
  it("a model without the seed input is a clear error", async () => {
    const src = join(dir, "plain.model");
    await import("node:fs/promises").then((fs) => fs.writeFile(src, "model p {\n  input x: f32[4]\n  output y = x -> dense(2)\n}\n"));
    const io = bufferIo();
    expect(await main(["compile", src, "-o", join(dir, "plain")], io)).toBe(0);
    expect(await main(["sample", join(dir, "plain", "p.wasm"), "-o", join(dir, "p.png")], io)).toBe(1);
    expect(io.stderr.join("\n")).toContain("no condition input 'label'");
  });
});
