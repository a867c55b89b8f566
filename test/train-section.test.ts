// The `train { ... }` section: parsing (soft keyword, entries, recovery), lowering to the exact TrainSpec,
// defaults, every data source / optimizer / loss form, and CLI overrides. Neighbours: frontend/lower-train.ts,
// compiler/check.ts; the error cases are fixtures (test/fixtures/diagnostics/train-*.model, diagnostics.test.ts).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkSource } from "../compiler/check.js";
import { formatDiagnostic } from "../compiler/diagnostics.js";
import { parseModelFile } from "../compiler/frontend/parse.js";
import { applyTrainOverrides, lowerTrain } from "../compiler/frontend/lower-train.js";
import type { Graph } from "../compiler/ir/types.js";
import type { TrainSpec } from "../compiler/train/spec.js";

const ROOT = join(import.meta.dirname, "..");

function checked(source: string, file = "t.model"): { graph: Graph; train: TrainSpec } {
  const r = checkSource(source, file);
  const errors = r.diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col} ${d.message}`);
  expect(errors).toEqual([]);
  expect(r.graph).toBeDefined();
  expect(r.train).toBeDefined();
  return { graph: r.graph!, train: r.train! };
}

/** Value id of graph output `name`. */
function outputId(g: Graph, name: string): string {
  const o = g.outputs.find((x) => x.name === name);
  expect(o, `output ${name}`).toBeDefined();
  return o!.value;
}

/** A small classifier with `body` as its train section. */
function model(body: string, input = "input image: f32[1, 28, 28]"): string {
  return `model m {\n  ${input}\n  let h = image -> flatten -> fc: dense(10)\n  output logits = h\n  train {\n${body}\n  }\n}\n`;
}

const REQUIRED = "data = mnist()\n loss = cross_entropy(logits, label)\n optimizer = adam()";

describe("train section: the examples", () => {
  const cases = [
    {
      file: "dsl-examples/mnist-mlp.model",
      schedule: { kind: "cosine", warmup_epochs: 1, min_lr: 0 },
      epochs: 20,
      augment: [
        { kind: "shift", pixels: 2 },
        { kind: "rotate", degrees: 10 },
      ],
    },
    {
      file: "dsl-examples/mnist-cnn.model",
      schedule: { kind: "cosine", warmup_epochs: 1, min_lr: 0 },
      epochs: 20,
      augment: [
        { kind: "shift", pixels: 2 },
        { kind: "rotate", degrees: 10 },
      ],
    },
  ] as const;
  for (const c of cases) {
    it(`${c.file} lowers to the exact TrainSpec`, () => {
      const { graph, train } = checked(readFileSync(join(ROOT, c.file), "utf8"), c.file);
      const logits = outputId(graph, "logits");
      expect(graph.values[logits]!.type.shape).toEqual(["N", 10]);
      expect(train).toEqual({
        data: { source: "mnist", fields: {} },
        split: { train: 8000, validation: 1000, test: 1000, unit: "count" },
        losses: [{ name: "loss", op: "cross_entropy", input: logits, target: "label", attrs: { reduction: "mean", label_smoothing: 0 }, weight: 1 }],
        optimizer: { kind: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 },
        schedule: c.schedule,
        batch_size: 64,
        epochs: c.epochs,
        seed: 0,
        metrics: [{ kind: "accuracy", input: logits, target: "label" }],
        augment: c.augment,
      });
    });

    it(`${c.file}: the train section leaves the inference graph unchanged`, () => {
      const source = readFileSync(join(ROOT, c.file), "utf8");
      const without = source.replace(/\n\s*#[^\n]*\n\s*train \{[\s\S]*?\n {2}\}\n/, "\n");
      expect(without).not.toContain("train {");
      const a = checkSource(source, c.file);
      const b = checkSource(without, c.file);
      expect(b.train).toBeUndefined();
      expect(JSON.stringify(a.graph)).toBe(JSON.stringify(b.graph));
    });
  }
});

describe("train section: parsing", () => {
  it("builds TrainEntry nodes with keys, loss names, values and locations", () => {
    const src = "model m {\n  input x: f32[4]\n  output x\n  train {\n    epochs = 3; loss aux = mse(x, y)\n    metrics = [\n      accuracy(x, y),\n    ]\n  }\n}\n";
    const { ast, diagnostics } = parseModelFile(src, "t.model");
    expect(diagnostics).toEqual([]);
    const t = ast.models[0]!.train!;
    expect(t.keyword).toMatchObject({ line: 4, col: 3, endCol: 8 });
    expect(t.entries.map((e) => [e.key.text, e.name?.text, e.value.kind, e.loc.line, e.loc.col])).toEqual([
      ["epochs", undefined, "number", 5, 5],
      ["loss", "aux", "call", 5, 17],
      ["metrics", undefined, "list", 6, 5],
    ]);
    expect(ast.models[0]!.statements.map((s) => s.kind)).toEqual(["input", "output"]);
  });

  it("keeps 'train', 'trainer', 'loss' and 'loss_weight' usable as names", () => {
    const src = "model m {\n  input train: f32[4]\n  let loss = train -> relu\n  let trainer = loss * 2\n  let loss_weight = trainer\n  output loss_weight\n}\n";
    const r = checkSource(src, "t.model");
    expect(r.diagnostics).toEqual([]);
    expect(r.graph!.inputs.map((i) => i.name)).toEqual(["train"]);
    expect(r.train).toBeUndefined();
  });

  it("accepts a train section between statements, and a model value declared after it", () => {
    const src = "model m {\n  input image: f32[1, 28, 28]\n  train {\n    data = mnist(); optimizer = sgd(0.5)\n    loss = cross_entropy(logits, label)\n  }\n  output logits = image -> flatten -> dense(10)\n}\n";
    const { graph, train } = checked(src);
    expect(train.losses[0]!.input).toBe(outputId(graph, "logits"));
    expect(train.optimizer).toEqual({ kind: "sgd", lr: 0.5, weight_decay: 0 });
  });

  it("reports a syntax error once per line and keeps parsing the following entries", () => {
    const src = model(" data = mnist()\n batch_size 64\n epochs 3 4\n seed = 1\n loss = cross_entropy(logits, label)\n optimizer = adam()");
    const { ast, diagnostics } = parseModelFile(src, "t.model");
    expect(diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col}`)).toEqual(["E0201 7:13", "E0201 8:9"]);
    expect(ast.models[0]!.train!.entries.map((e) => e.key.text)).toEqual(["data", "batch_size", "epochs", "seed", "loss", "optimizer"]);
    expect(ast.models[0]!.train!.entries[2]!.value).toMatchObject({ kind: "number", value: 3 });
  });

  it("formats a train diagnostic with the caret under the key and a hint", () => {
    const src = model(` ${REQUIRED}\n batch_sise = 64`);
    const r = checkSource(src, "t.model");
    expect(r.diagnostics).toHaveLength(1);
    expect(formatDiagnostic(r.diagnostics[0]!, { "t.model": src })).toBe(
      [
        "t.model:9:2: error[E0801]: unknown train entry 'batch_sise'",
        "  |",
        "9 |  batch_sise = 64",
        "  |  ^^^^^^^^^^",
        "  = hint: did you mean 'batch_size'?",
      ].join("\n"),
    );
  });

  it("has at least 10 train diagnostics fixtures", () => {
    const dir = join(ROOT, "test", "fixtures", "diagnostics");
    expect(readdirSync(dir).filter((f) => f.startsWith("train-") && f.endsWith(".model")).length).toBeGreaterThanOrEqual(10);
  });
});

describe("train section: lowering", () => {
  it("fills the documented defaults", () => {
    const { train } = checked(model(` ${REQUIRED}`));
    expect(train.split).toEqual({ train: 0.8, validation: 0.1, test: 0.1, unit: "fraction" });
    expect([train.batch_size, train.epochs, train.seed]).toEqual([32, 10, 0]);
    expect(train.schedule).toEqual({ kind: "constant" });
    expect(train.metrics).toEqual([]);
    expect(train.augment).toEqual([]);
    expect("clip_grad_norm" in train || "early_stopping" in train).toBe(false);
  });

  it("reads every optional entry", () => {
    const { train } = checked(
      model(
        ` ${REQUIRED}\n split = [0.7, 0.2, 0.1]\n schedule = step(5, gamma=0.5)\n clip_grad_norm = 1.0\n seed = 42\n` +
          ` early_stopping = early_stopping(patience=2, min_delta=0.01)\n augment = [rotate(7.5)]`,
      ),
    );
    expect(train.split).toEqual({ train: 0.7, validation: 0.2, test: 0.1, unit: "fraction" });
    expect(train.schedule).toEqual({ kind: "step", step_size: 5, gamma: 0.5 });
    expect(train.clip_grad_norm).toBe(1);
    expect(train.seed).toBe(42);
    expect(train.early_stopping).toEqual({ patience: 2, min_delta: 0.01 });
    expect(train.augment).toEqual([{ kind: "rotate", degrees: 7.5 }]);
  });

  it("fills every optimizer default (PyTorch's)", () => {
    const opt = (o: string): TrainSpec["optimizer"] =>
      checked(model(` data = mnist()\n loss = cross_entropy(logits, label)\n optimizer = ${o}`)).train.optimizer;
    expect(opt("sgd(lr=0.1, weight_decay=0.001)")).toEqual({ kind: "sgd", lr: 0.1, weight_decay: 0.001 });
    expect(opt("momentum(0.05, nesterov=true)")).toEqual({ kind: "momentum", lr: 0.05, momentum: 0.9, dampening: 0, nesterov: true, weight_decay: 0 });
    expect(opt("adam(betas=[0.8, 0.99], eps=1e-6)")).toEqual({ kind: "adam", lr: 0.001, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0 });
    expect(opt("adamw(lr=0.003)")).toEqual({ kind: "adamw", lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 });
    expect(opt("adam")).toEqual({ kind: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 });
  });

  it("lowers named losses with op attrs and weights, targets that are model inputs, and file data sources", () => {
    const src = [
      "model ae {",
      "  input x: f32[8]",
      "  let code = x -> enc: dense(3)",
      "  let recon = code -> dec: dense(8)",
      "  let logp = code -> softmax(axis=1)",
      "  output recon",
      "  train {",
      '    data = npz("d.npz", x="features")',
      "    loss = mse(recon, x, reduction=\"sum\")",
      "    loss kl = kl_divergence(logp, prior, \"batchmean\", true, weight=0.1)",
      "    loss cls = cross_entropy(code, y, 0.1)",
      "    optimizer = adam()",
      "  }",
      "}",
    ].join("\n");
    const { graph, train } = checked(src);
    const x = graph.inputs[0]!.value;
    const producerOf = (op: string): string => graph.nodes.find((n) => n.op === op)!.outputs[0]!;
    expect(train.data).toEqual({ source: "npz", path: "d.npz", fields: { x: "features" } });
    expect(train.losses).toEqual([
      { name: "loss", op: "mse", input: outputId(graph, "recon"), target: "x", attrs: { reduction: "sum" }, weight: 1 },
      { name: "kl", op: "kl_divergence", input: producerOf("softmax"), target: "prior", attrs: { reduction: "batchmean", log_target: true }, weight: 0.1 },
      { name: "cls", op: "cross_entropy", input: graph.nodes.find((n) => n.layer === "enc")!.outputs[0]!, target: "y", attrs: { reduction: "mean", label_smoothing: 0.1 }, weight: 1 },
    ]);
    expect(x).not.toBe(train.losses[0]!.input);
  });

  it("maps npy files, csv label columns and safetensors paths", () => {
    const data = (d: string): TrainSpec["data"] =>
      checked(model(` data = ${d}\n loss = cross_entropy(logits, label)\n optimizer = adam()`)).train.data;
    expect(data('npy(image="x.npy", label="y.npy")')).toEqual({ source: "npy", paths: { image: "x.npy", label: "y.npy" }, fields: {} });
    expect(data('csv("d.csv", label="digit")')).toEqual({ source: "csv", path: "d.csv", fields: {}, label: "digit" });
    expect(data('safetensors("d.safetensors", label="y")')).toEqual({ source: "safetensors", path: "d.safetensors", fields: { label: "y" } });
    expect(data('mnist(label="label")')).toEqual({ source: "mnist", fields: { label: "label" } });
  });

  it("maps a differently named model input onto an mnist field", () => {
    const src = 'model m {\n  input px: f32[784]\n  output logits = px -> dense(10)\n  train {\n    data = mnist(px="image")\n    loss = cross_entropy(logits, label)\n    optimizer = adam()\n  }\n}\n';
    expect(checked(src).train.data).toEqual({ source: "mnist", fields: { px: "image" } });
  });

  it("still checks the train section when the model itself has errors, without cascading", () => {
    const src = model(` ${REQUIRED}\n epochz = 3`).replace("dense(10)", "dense(10) -> relux");
    const r = checkSource(src, "t.model");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E0301", "E0801"]);
    expect(r.graph).toBeUndefined();
    expect(r.train).toBeUndefined();
  });

  it("returns the graph but no spec when only the train section is wrong", () => {
    const r = checkSource(model(` ${REQUIRED}\n epochs = 0`), "t.model");
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual(["E0806 'epochs' must be >= 1, got 0"]);
    expect(r.graph).toBeDefined();
    expect(r.train).toBeUndefined();
  });

  it("lowerTrain of a model without a train section is empty", () => {
    const { ast } = parseModelFile("model m {\n  input x: f32[2]\n  output x\n}\n", "t.model");
    expect(lowerTrain(ast.models[0]!)).toEqual({ diagnostics: [] });
  });
});

describe("applyTrainOverrides", () => {
  const base = checked(readFileSync(join(ROOT, "dsl-examples/mnist-cnn.model"), "utf8")).train;

  it("overrides epochs, batch_size, lr and seed without touching the original", () => {
    const before = structuredClone(base);
    const out = applyTrainOverrides(base, { epochs: 2, batch_size: 8, lr: 0.01, seed: 7 });
    expect([out.epochs, out.batch_size, out.optimizer.lr, out.seed]).toEqual([2, 8, 0.01, 7]);
    expect(out.optimizer).toEqual({ ...base.optimizer, lr: 0.01 });
    expect(out.augment).toEqual(base.augment);
    expect(base).toEqual(before);
    expect(applyTrainOverrides(base, {})).toEqual(base);
  });

  it("switches the optimizer kind with that kind's defaults and the current (or given) lr", () => {
    expect(applyTrainOverrides(base, { optimizer: "sgd" }).optimizer).toEqual({ kind: "sgd", lr: 0.001, weight_decay: 0 });
    expect(applyTrainOverrides(base, { optimizer: "momentum", lr: 0.1 }).optimizer).toEqual({
      kind: "momentum",
      lr: 0.1,
      momentum: 0.9,
      dampening: 0,
      nesterov: false,
      weight_decay: 0,
    });
    expect(applyTrainOverrides(base, { optimizer: "adamw" }).optimizer).toMatchObject({ kind: "adamw", weight_decay: 0.01 });
    expect(applyTrainOverrides(base, { optimizer: "adam" }).optimizer).toEqual(base.optimizer);
  });

  it("rejects invalid values with the option and the rule in the message", () => {
    expect(() => applyTrainOverrides(base, { epochs: 0 })).toThrow("--epochs must be an integer >= 1, got 0");
    expect(() => applyTrainOverrides(base, { batch_size: 2.5 })).toThrow("--batch-size must be an integer >= 1, got 2.5");
    expect(() => applyTrainOverrides(base, { lr: 0 })).toThrow("--lr must be a number > 0, got 0");
    expect(() => applyTrainOverrides(base, { lr: Number.NaN })).toThrow("--lr must be a number > 0");
    expect(() => applyTrainOverrides(base, { seed: -1 })).toThrow("--seed must be an integer in [0, 4294967295], got -1");
    expect(() => applyTrainOverrides(base, { optimizer: "adma" })).toThrow("--optimizer: unknown optimizer 'adma'; did you mean one of 'adam', 'adamw'?");
  });
});
