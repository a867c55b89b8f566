// `modelc eval` on the multi-task and VQA examples (seeded random weights, a 200-sample test split from a
// checkpoint config next to the artifact): the run's data source (mnist_vqa(seed=N)), the train section's
// derived fields and per-head targets (from --model-file or the .model file found), --output / --label,
// and the errors that say which flag to pass. Neighbours: compiler/cli/eval.ts, compiler/cli/eval-data.ts.

import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bufferIo } from "../compiler/cli/common.js";
import { parseDataArg } from "../compiler/cli/eval-data.js";
import { main } from "../compiler/cli/main.js";
import { mnistDataset } from "../compiler/data/mnist.js";
import { splitDataset } from "../compiler/data/split.js";
import { writeSafetensors } from "../compiler/weights/safetensors.js";

const SPLIT = { train: 9600, validation: 200, test: 200, unit: "count" };
const VQA_MODEL = "dsl-examples/mnist-vqa.model";
const MT_MODEL = "dsl-examples/mnist-multitask.model";
let dir = "";

/** A checkpoint with only the `config` metadata eval reads (as train/driver.ts writes it). */
function writeConfig(out: string, data: object, losses: string[]): void {
  const config = { data, split: SPLIT, batch_size: 64, seed: 0, augment: [], losses };
  const meta = { format: "modelc-checkpoint/1", config: JSON.stringify(JSON.stringify(config)) };
  writeFileSync(join(out, "checkpoint.safetensors"), writeSafetensors(new Map([["x", { shape: [1], data: new Float32Array(1) }]]), meta));
}

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const io = bufferIo();
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr.join("\n") };
}

async function json(args: string[]): Promise<any> {
  const r = await run([...args, "--json"]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out[0]!);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "modelc-eval-heads-"));
  for (const [file, name] of [[VQA_MODEL, "vqa"], [MT_MODEL, "mt"]] as const) {
    const r = await run(["compile", file, "-o", join(dir, name), "--no-simd"]);
    expect(r.err).toBe("");
  }
  writeConfig(join(dir, "vqa"), { source: "mnist_vqa", fields: {}, seed: 0 }, ["loss"]);
  writeConfig(join(dir, "mt"), { source: "mnist", fields: {} }, ["digit", "parity", "bigger"]);
  // The same artifact after a run no .model file here matches (other loss names): nothing to find.
  mkdirSync(join(dir, "mt2"));
  for (const f of readdirSync(join(dir, "mt"))) if (f !== "checkpoint.safetensors") copyFileSync(join(dir, "mt", f), join(dir, "mt2", f));
  writeConfig(join(dir, "mt2"), { source: "mnist", fields: {} }, ["a", "b"]);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--data", () => {
  it("parses built-in sources with their arguments, else a file", () => {
    expect(parseDataArg("mnist")).toEqual({ kind: "mnist" });
    expect(parseDataArg("mnist()")).toEqual({ kind: "mnist" });
    expect(parseDataArg("mnist_vqa")).toEqual({ kind: "mnist_vqa" });
    expect(parseDataArg("mnist_vqa(seed=3)")).toEqual({ kind: "mnist_vqa", seed: 3 });
    expect(parseDataArg("mnist_vqa( 4 )")).toEqual({ kind: "mnist_vqa", seed: 4 });
    expect(parseDataArg("d/x.npz")).toEqual({ kind: "file", path: "d/x.npz" });
    expect(() => parseDataArg("mnist_vqa(size=3)")).toThrow(/only seed=N/);
    expect(() => parseDataArg("npz()")).toThrow(/unknown data source 'npz\(\)'/);
    expect(() => parseDataArg("mnsit")).toThrow(/expected mnist, mnist_vqa\(seed=N\)/);
  });
});

describe("modelc eval: mnist_vqa", () => {
  const art = (): string => join(dir, "vqa", "mnist_vqa.nosimd.wasm");

  it("reads the run's data (mnist_vqa with its seed) and scores the logits against 'answer'", { timeout: 120_000 }, async () => {
    const a = await json(["eval", art()]);
    expect(a).toMatchObject({ split: "test", samples: 200, output: "logits", target: "answer", data: "mnist_vqa(seed=0)" });
    expect(a.heads).toHaveLength(1);
    expect(a.confusion.flat().reduce((s: number, v: number) => s + v, 0)).toBe(200);
    expect(await json(["eval", art(), "--data", "mnist_vqa"])).toEqual(a);
    expect(await json(["eval", art(), "--data", "mnist_vqa(seed=0)", "--model-file", VQA_MODEL])).toEqual({ ...a, modelFile: VQA_MODEL });
    const other = await json(["eval", art(), "--data", "mnist_vqa(seed=1)"]);
    expect(other.data).toBe("mnist_vqa(seed=1)");
    expect(other.samples).toBe(200);
  });

  it("--data mnist: names the missing input and the run's data source", async () => {
    const r = await run(["eval", art(), "--data", "mnist"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no data field for model input 'question' i32 \[5\]/);
    expect(r.err).toContain(`pass --data "mnist_vqa(seed=0)" or leave --data out`);
  });
});

describe("modelc eval: multi-task", () => {
  const art = (d = "mt"): string => join(dir, d, "mnist_multitask.nosimd.wasm");
  // The test split's digits, as the run made it (split sizes and seed of the config).
  const labels = (): Int32Array => splitDataset(mnistDataset(), SPLIT, 0).test.fields["label"]!.data as Int32Array;

  it("every head against its own target, derived fields computed (--model-file)", { timeout: 120_000 }, async () => {
    const a = await json(["eval", art(), "--data", "mnist", "--model-file", MT_MODEL]);
    expect(a.heads.map((h: any) => [h.output, h.target, h.confusion.length])).toEqual([["digit", "label", 10], ["parity", "odd", 2], ["bigger", "big", 2]]);
    const y = [...labels()];
    const rowTotals = (c: number[][]): number[] => c.map((r) => r.reduce((s, v) => s + v, 0));
    expect(rowTotals(a.heads[0].confusion)).toEqual(Array.from({ length: 10 }, (_, d) => y.filter((v) => v === d).length));
    const odd = y.filter((v) => v % 2 === 1).length;
    expect(rowTotals(a.heads[1].confusion)).toEqual([200 - odd, odd]);
    const big = y.filter((v) => v > 4).length;
    expect(rowTotals(a.heads[2].confusion)).toEqual([200 - big, big]);
    expect(a).toMatchObject({ ...a.heads[0], split: "test", modelFile: MT_MODEL });

    // --output picks one head with its target; --label picks the head scored against that field.
    const parity = await json(["eval", art(), "--output", "parity", "--model-file", MT_MODEL]);
    expect(parity.heads).toEqual([a.heads[1]]);
    expect((await json(["eval", art(), "--label", "big", "--model-file", MT_MODEL])).heads).toEqual([a.heads[2]]);

    // Without --model-file: the one .model file in the working directory with this model, data and losses.
    const found = await json(["eval", art(), "--data", "mnist", "--output", "parity"]);
    expect(found.heads).toEqual([a.heads[1]]);
    expect(found.modelFile).toMatch(/mnist-multitask\.model$/);

    const text = await run(["eval", art(), "--model-file", MT_MODEL]);
    expect(text.code).toBe(0);
    expect(text.out[0]).toBe("mnist_multitask on mnist() (test, 200 samples, 3 heads)");
    expect(text.out.some((l) => /^parity\s+odd\s+2\s+\d+\.\d\d% \(\d+\/200\)\s+\d\.\d{4}$/.test(l))).toBe(true);
    expect(text.out.filter((l) => /^\w+ \(target \w+\):$/.test(l))).toEqual(["digit (target label):", "parity (target odd):", "bigger (target big):"]);
  });

  it("errors say which flag to pass when the targets are unknown", { timeout: 60_000 }, async () => {
    const r = await run(["eval", art("mt2"), "--data", "mnist", "--output", "parity"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/sample \d+ has label [2-9] in 'label', outside the 2 classes \[0, 2\) of output 'parity'/);
    expect(r.err).toMatch(/pass --label FIELD with this output's target, or --model-file FILE\.model/);
    const o = await run(["eval", art("mt2"), "--label", "odd"]);
    expect(o.code).toBe(1);
    expect(o.err).toMatch(/no field 'odd'.*needs --model-file FILE\.model/);
    // Only the first head without a train section; the note says how to get the others.
    const d = await run(["eval", art("mt2")]);
    expect(d.code).toBe(0);
    expect(d.out.some((l) => l.startsWith("note: 3 [N, C] outputs (digit, parity, bigger); scored only 'digit' against 'label'"))).toBe(true);
    const m = await run(["eval", art(), "--model-file", VQA_MODEL]);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/mnist_multitask/);
  });
});
