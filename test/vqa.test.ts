// The VQA pieces: the mnist_vqa() data set (vocabulary, tokens, balance, determinism), --ablate (zeros for an
// input, clear errors), and a few wasm training steps of dsl-examples/mnist-vqa.model lowering the loss.
// Neighbours: compiler/data/vqa.ts, compiler/train/ablate.ts, dsl-examples/mnist-vqa.model, scripts/vqa-ablation.ts.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeDataset, selectSamples, type Dataset } from "../compiler/data/dataset.js";
import { mnistDataset } from "../compiler/data/mnist.js";
import { mnistVqaDataset, questionText, tokenizeQuestion, VQA_MAX_LEN, VQA_QUESTIONS, VQA_VOCAB, vqaQuestionTable } from "../compiler/data/vqa.js";
import { ablateInputs, AblateError } from "../compiler/train/ablate.js";
import { checkSource } from "../compiler/check.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { createWasmTrainBackend } from "../compiler/backend/wasm/train.js";
import { initWeights } from "../compiler/weights/init.js";
import { fieldTypes } from "../compiler/train/data.js";
import { trainCommand } from "../compiler/cli/train.js";
import { bufferIo } from "../compiler/cli/common.js";
import { tmpdir } from "node:os";

const MODEL = join(dirname(fileURLToPath(import.meta.url)), "..", "dsl-examples", "mnist-vqa.model");

/** A fake "mnist": `perDigit` images per digit (pixel value = sample index / n), labels 0..9 interleaved. */
function fakeMnist(perDigit: number): Dataset {
  const n = perDigit * 10;
  const image = new Float32Array(n * 784);
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    label[i] = i % 10;
    image.fill(i / n, i * 784, (i + 1) * 784);
  }
  return makeDataset({ image: { dtype: "f32", shape: [1, 28, 28], data: image }, label: { dtype: "i32", shape: [], data: label } });
}

describe("mnist_vqa vocabulary and questions", () => {
  it("18 words with 0 = padding; 30 templates of at most 5 words, all distinct", () => {
    expect(VQA_VOCAB.length).toBe(18);
    expect(VQA_VOCAB[0]).toBe("<pad>");
    expect(VQA_QUESTIONS.length).toBe(30);
    expect(new Set(VQA_QUESTIONS.map((q) => q.text)).size).toBe(30);
    expect(Math.max(...VQA_QUESTIONS.map((q) => q.text.split(" ").length))).toBe(VQA_MAX_LEN);
  });
  it("tokenizes with 0 padding and decodes back", () => {
    expect(Array.from(tokenizeQuestion("is it bigger than three"))).toEqual([1, 2, 5, 7, 11]);
    expect(Array.from(tokenizeQuestion("is it even"))).toEqual([1, 2, 3, 0, 0]);
    for (const q of VQA_QUESTIONS) expect(questionText(tokenizeQuestion(q.text))).toBe(q.text);
  });
  it("unknown words and too long questions are clear errors", () => {
    expect(() => tokenizeQuestion("is it purple")).toThrow(/unknown word 'purple'.*vocabulary: is, it/);
    expect(() => tokenizeQuestion("is it bigger than three or four")).toThrow(/at most 5/);
  });
  it("answers follow the templates", () => {
    const ans = (t: string, d: number): boolean => VQA_QUESTIONS.find((q) => q.text === t)!.answer(d);
    expect([ans("is it even", 4), ans("is it odd", 4), ans("is it seven", 7), ans("is it seven", 1)]).toEqual([true, false, true, false]);
    expect([ans("is it bigger than three", 4), ans("is it bigger than three", 3), ans("is it smaller than six", 5), ans("is it smaller than six", 6)]).toEqual([true, false, true, false]);
  });
  it("the question table has equal yes and no mass per question and the digit marginals", () => {
    const p = new Array(10).fill(0.1);
    const [no, yes] = vqaQuestionTable(p);
    for (let q = 0; q < 30; q++) {
      const sy = yes![q]!.reduce((a, b) => a + b, 0);
      const sn = no![q]!.reduce((a, b) => a + b, 0);
      expect(Math.abs(sy - sn)).toBeLessThan(1e-9);
      for (let d = 0; d < 10; d++) {
        if (VQA_QUESTIONS[q]!.answer(d)) expect(no![q]![d]).toBe(0);
        else expect(yes![q]![d]).toBe(0);
      }
    }
    for (let d = 0; d < 10; d++) expect(Math.abs(yes!.reduce((s, row) => s + row[d]!, 0) - 0.05)).toBeLessThan(1e-9);
  });
});

describe("mnist_vqa data set", () => {
  const small = fakeMnist(60);
  it("fields, dtypes, shapes; every answer is the template's answer for the digit", () => {
    const ds = mnistVqaDataset({ mnist: small, seed: 3 });
    expect(ds.count).toBe(600);
    expect(Object.fromEntries(Object.entries(ds.fields).map(([k, f]) => [k, [f.dtype, f.shape]]))).toEqual({
      image: ["f32", [1, 28, 28]], question: ["i32", [5]], answer: ["i32", []], label: ["i32", []], question_id: ["i32", []],
    });
    const q = ds.fields["question"]!.data;
    for (let i = 0; i < ds.count; i++) {
      const t = VQA_QUESTIONS[ds.fields["question_id"]!.data[i]!]!;
      expect(questionText(q.subarray(i * 5, i * 5 + 5))).toBe(t.text);
      expect(ds.fields["answer"]!.data[i]).toBe(t.answer(ds.fields["label"]!.data[i]!) ? 1 : 0);
    }
    expect(ds.fields["image"]).toBe(small.fields["image"]);
  });
  it("deterministic per seed; another seed gives other questions", () => {
    const a = mnistVqaDataset({ mnist: small, seed: 1 });
    const b = mnistVqaDataset({ mnist: small, seed: 1 });
    const c = mnistVqaDataset({ mnist: small, seed: 2 });
    expect(Array.from(a.fields["question"]!.data)).toEqual(Array.from(b.fields["question"]!.data));
    expect(Array.from(a.fields["answer"]!.data)).toEqual(Array.from(b.fields["answer"]!.data));
    expect(Array.from(a.fields["question"]!.data)).not.toEqual(Array.from(c.fields["question"]!.data));
  });
  it("balanced on the real digits: each digit yes 50% (±1 image), each question yes 50% (±3 samples)", () => {
    const ds = mnistVqaDataset({ seed: 0 });
    expect(ds.count).toBe(10000);
    const perD = Array.from({ length: 10 }, () => [0, 0]);
    const perQ = VQA_QUESTIONS.map(() => [0, 0]);
    for (let i = 0; i < ds.count; i++) {
      const a = ds.fields["answer"]!.data[i]!;
      perD[ds.fields["label"]!.data[i]!]![a]!++;
      perQ[ds.fields["question_id"]!.data[i]!]![a]!++;
    }
    for (const [no, yes] of perD) expect(Math.abs(yes! - no!)).toBeLessThanOrEqual(1);
    for (const [no, yes] of perQ) {
      expect(Math.abs(yes! - no!)).toBeLessThanOrEqual(3);
      expect(yes! + no!).toBeGreaterThan(150);
    }
    // Families: a third each (±1%).
    const fam = { parity: 0, identity: 0, compare: 0 };
    perQ.forEach(([n, y], q) => (fam[VQA_QUESTIONS[q]!.family] += n! + y!));
    for (const v of Object.values(fam)) expect(Math.abs(v / ds.count - 1 / 3)).toBeLessThan(0.01);
  });
});

describe("--ablate", () => {
  const src = readFileSync(MODEL, "utf8");
  const checked = checkSource(src, MODEL);
  const ds = mnistVqaDataset({ mnist: fakeMnist(3), seed: 0 });
  it("the example checks and its train section reads mnist_vqa(seed=0)", () => {
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(checked.train!.data).toMatchObject({ source: "mnist_vqa", seed: 0 });
  });
  it("zeros the named input's field (same dtype and shape), leaves the others shared", () => {
    const q = ablateInputs(ds, checked.graph!, checked.train!, ["question"]);
    expect(q.fields["question"]!.data).toBeInstanceOf(Int32Array);
    expect(q.fields["question"]!.shape).toEqual([5]);
    expect(q.fields["question"]!.data.every((v) => v === 0)).toBe(true);
    expect(q.fields["image"]).toBe(ds.fields["image"]);
    expect(q.fields["answer"]).toBe(ds.fields["answer"]);
    const im = ablateInputs(ds, checked.graph!, checked.train!, ["image"]);
    expect(im.fields["image"]!.data).toBeInstanceOf(Float32Array);
    expect(im.fields["image"]!.data.every((v) => v === 0)).toBe(true);
    expect(im.fields["question"]).toBe(ds.fields["question"]);
    expect(ds.fields["question"]!.data.some((v) => v !== 0)).toBe(true);
  });
  it("modelc train --ablate with a name that is not an input stops before training with that message", async () => {
    await expect(trainCommand(MODEL, { out: join(tmpdir(), "h5-vqa-ablate-err"), ablate: ["answer"], progress: "none" }, bufferIo()))
      .rejects.toThrow(/--ablate: 'answer' is not an input of model 'mnist_vqa'/);
  });
  it("a name that is not a model input is a clear error", () => {
    expect(() => ablateInputs(ds, checked.graph!, checked.train!, ["answer"])).toThrow(AblateError);
    expect(() => ablateInputs(ds, checked.graph!, checked.train!, ["answer"])).toThrow(/'answer' is not an input of model 'mnist_vqa' \(inputs: image, question\)/);
  });
});

describe("mnist-vqa.model trains in wasm", () => {
  it("20 Adam steps on one batch of 32 real digits lower the loss (SIMD training module, unoptimized build)", () => {
    const checked = checkSource(readFileSync(MODEL, "utf8"), MODEL);
    const ds = selectSamples(mnistVqaDataset({ mnist: selectSamples(mnistDataset(), Array.from({ length: 32 }, (_, i) => i)), seed: 0 }), Array.from({ length: 32 }, (_, i) => i));
    const spec = { ...checked.train!, augment: [] };
    const tg = buildTrainingGraph(checked.graph!, spec, fieldTypes(ds));
    const b = createWasmTrainBackend(tg, initWeights(checked.graph!, 0), { simd: true, optimize: false });
    const fields = { image: ds.fields["image"]!.data, question: ds.fields["question"]!.data, answer: ds.fields["answer"]!.data };
    const losses: number[] = [];
    for (let k = 1; k <= 20; k++) losses.push(b.trainStep(32, fields, { lr: 0.002, step: k, seed: 0 })["loss"]!);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.abs(losses[0]! - Math.log(2))).toBeLessThan(0.1);
    expect(losses.at(-1)!).toBeLessThan(0.7 * losses[0]!);
  });
});
