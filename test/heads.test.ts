// Multi-task training (issue 4 part 1): derived data fields, loss-weight schedules, freeze / trainable,
// heads selection, and `compile --heads`. Small models and synthetic data. Neighbours: test/train.test.ts.

import { describe, expect, it } from "vitest";
import { checkSource } from "../compiler/check.js";
import { compile } from "../compiler/index.js";
import type { Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";
import { addDerivedFields } from "../compiler/data/derived.js";
import { makeDataset } from "../compiler/data/dataset.js";
import { applyTrainOverrides } from "../compiler/frontend/lower-train.js";
import { runReference } from "../compiler/interp/reference.js";
import { ReferenceTrainBackend } from "../compiler/train/backend.js";
import { buildTrainingGraph } from "../compiler/train/build.js";
import { epochWeights, train } from "../compiler/train/driver.js";
import { frozenParams, TrainSelectionError } from "../compiler/train/heads.js";
import { lossWeight } from "../compiler/train/schedule.js";
import type { TrainSpec } from "../compiler/train/spec.js";
import { createWasmTrainBackend } from "../compiler/backend/wasm/train.js";
import { initWeights } from "../compiler/weights/init.js";
import { loadModel } from "../runtime/index.js";
import { initFrom } from "../compiler/cli/train.js";
import { writeSafetensors } from "../compiler/weights/safetensors.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { main } from "../compiler/cli/main.js";
import { bufferIo } from "../compiler/cli/common.js";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** A 4 -> 8 -> bn -> two heads model: `cls` (3 classes) and `odd` (2 classes) on one trunk. */
const SOURCE = `model mt {
  input x: f32[4]
  let h = x -> trunk: dense(8) -> bn: batchnorm -> relu
  output cls = h -> cls_head: dense(3)
  output odd = h -> odd_head: dense(6) -> relu -> odd_out: dense(2)
  train {
    data = npz("d.npz")
    field parity = relabel(label, [0, 1, 0])
    field m2 = mod(label, 2)
    field big = greater(label, 0)
    loss cls = cross_entropy(cls, label)
    loss odd = cross_entropy(odd, parity, weight=warmup(0.5, epochs=2))
    optimizer = adam(lr=0.05)
    batch_size = 8
    epochs = 3
    split = [24, 8, 8]
    seed = 3
    metrics = [accuracy(cls, label), accuracy(odd, parity)]
  }
}
`;

function checked(source = SOURCE): { graph: Graph; spec: TrainSpec } {
  const r = checkSource(source, "mt.model");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.graph || !r.train || errors.length) throw new Error(errors.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col} ${d.message}`).join("\n"));
  return { graph: r.graph, spec: r.train };
}

/** 40 samples: x uniform in [-1, 1)^4 (seeded LCG), label = argmax(x0 + x1, x2 - x0, x3 - x1). */
function data(count = 40) {
  let s = 12345;
  const r = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const x = new Float32Array(count * 4);
  const label = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < 4; k++) x[n * 4 + k] = 2 * r() - 1;
    const [p, q, t, u] = [0, 1, 2, 3].map((k) => x[n * 4 + k]!) as [number, number, number, number];
    const sc = [p + q, t - p, u - q];
    label[n] = sc.indexOf(Math.max(...sc));
  }
  return makeDataset({ x: { dtype: "f32", shape: [4], data: x }, label: { dtype: "i32", shape: [], data: label } });
}

const ref = (shape: number[], d: ArrayLike<number>): RefTensor => ({ shape, data: Float64Array.from(d) });

describe("derived data fields", () => {
  it("lower to TrainSpec.derived and are computed per sample (relabel, mod, greater)", () => {
    const { spec } = checked();
    expect(spec.derived).toEqual([
      { name: "parity", op: "relabel", source: "label", table: [0, 1, 0] },
      { name: "m2", op: "mod", source: "label", divisor: 2 },
      { name: "big", op: "greater", source: "label", threshold: 0 },
    ]);
    const ds = makeDataset({ label: { dtype: "i32", shape: [], data: Int32Array.of(0, 1, 2, 2, 1) } });
    const out = addDerivedFields(ds, spec.derived);
    expect(Array.from(out.fields["parity"]!.data)).toEqual([0, 1, 0, 0, 1]);
    expect(Array.from(out.fields["m2"]!.data)).toEqual([0, 1, 0, 0, 1]);
    expect(Array.from(out.fields["big"]!.data)).toEqual([0, 1, 1, 1, 1]);
    expect(out.fields["parity"]!.dtype).toBe("i32");
    // mod follows Python (non-negative); a value outside the relabel table is a clear error
    const neg = makeDataset({ label: { dtype: "i32", shape: [], data: Int32Array.of(-3, 5) } });
    expect(Array.from(addDerivedFields(neg, [{ name: "m", op: "mod", source: "label", divisor: 4 }]).fields["m"]!.data)).toEqual([1, 1]);
    expect(() => addDerivedFields(neg, spec.derived)).toThrow("field 'parity': 'label' of sample 0 is -3, outside the relabel table [0, 3)");
    expect(() => addDerivedFields(ds, [{ name: "q", op: "mod", source: "nope", divisor: 2 }])).toThrow("no data field 'nope'");
  });

  it("a derived field may read an earlier one; its class count checks the relabel table (npz: fields unknown until read)", () => {
    const ok = SOURCE.replace("    field big = greater(label, 0)", "    field big = greater(label, 0)\n    field twice = relabel(m2, [1, 0])");
    expect(checked(ok).spec.derived!.at(-1)).toEqual({ name: "twice", op: "relabel", source: "m2", table: [1, 0] });
    const bad = SOURCE.replace("    field big = greater(label, 0)", "    field big = greater(label, 0)\n    field twice = relabel(m2, [1, 0, 1])");
    const r = checkSource(bad, "mt.model");
    expect(r.diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col}`)).toEqual(["E0806 11:31"]);
    expect(r.diagnostics[0]!.message).toBe("relabel: the table has 3 entries, but field 'm2' has 2 classes (0..1)");
  });
});

describe("loss weight schedules", () => {
  it("warmup and ramp give the documented per-epoch values", () => {
    const warm = { weight: 1, weight_schedule: { kind: "warmup" as const, value: 1, epochs: 4 } };
    expect([0, 1, 2, 3, 4, 9].map((e) => lossWeight(warm, e))).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
    const ramp = { weight: 0.5, weight_schedule: { kind: "ramp" as const, start: 0.1, end: 0.5, epochs: 5 } };
    expect([0, 1, 2, 3, 4, 5].map((e) => lossWeight(ramp, e))).toEqual([0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.5]);
    expect(lossWeight({ weight: 0.3, weight_schedule: { kind: "ramp", start: 0, end: 0.3, epochs: 1 } }, 0)).toBe(0.3);
    expect(lossWeight({ weight: 0.7 }, 5)).toBe(0.7);
  });

  it("are fixed inputs of the training graph; the driver sets them per epoch and records them", async () => {
    const { graph, spec } = checked();
    expect(spec.losses.map((l) => [l.name, l.weight, l.weight_schedule])).toEqual([
      ["cls", 1, undefined],
      ["odd", 0.5, { kind: "warmup", value: 0.5, epochs: 2 }],
    ]);
    const ds = addDerivedFields(data(), spec.derived);
    const tg = buildTrainingGraph(graph, spec, { label: { dtype: "i32", shape: [] }, parity: { dtype: "i32", shape: [] } });
    expect(tg.graph.inputs.map((i) => i.name).filter((n) => n.startsWith("loss_weight:"))).toEqual(["loss_weight:cls", "loss_weight:odd"]);
    expect([0, 1, 2].map((e) => epochWeights(tg, e))).toEqual([{ cls: 1, odd: 0.25 }, { cls: 1, odd: 0.5 }, { cls: 1, odd: 0.5 }]);
    // one step: total_loss = Σ w · loss with the given weights (reference backend, float64)
    const be = new ReferenceTrainBackend(tg, initWeights(graph, 0));
    const fields = { x: ds.fields["x"]!.data.slice(0, 16), label: ds.fields["label"]!.data.slice(0, 4), parity: ds.fields["parity"]!.data.slice(0, 4) };
    const inputs: Record<string, RefTensor> = {
      x: ref([4, 4], fields.x), label: ref([4], fields.label), parity: ref([4], fields.parity),
      "loss_weight:cls": ref([1], [1]), "loss_weight:odd": ref([1], [0.25]), lr: ref([1], [0.05]), step: ref([1], [1]),
    };
    const out = runReference(tg.graph, new Map([...be.readTensors()].map(([k, t]) => [k, { shape: t.shape, data: t.data }])), inputs, { batch: 4 });
    expect(out["total_loss"]!.data[0]).toBeCloseTo(out["loss:cls"]!.data[0]! + 0.25 * out["loss:odd"]!.data[0]!, 12);
    const dir = mkdtempSync(join(tmpdir(), "modelc-heads-"));
    try {
      const res = await train({ graph: tg, spec, backend: be, data: ds, outDir: dir });
      expect(res.history.epochs.map((e) => e.weights)).toEqual([{ cls: 1, odd: 0.25 }, { cls: 1, odd: 0.5 }, { cls: 1, odd: 0.5 }]);
      const e1 = res.history.epochs[0]!;
      expect(e1.train.loss).toBeCloseTo(e1.train.losses["cls"]! + 0.25 * e1.train.losses["odd"]!, 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("freeze / trainable / heads", () => {
  const fieldTypes = { label: { dtype: "i32" as const, shape: [] }, parity: { dtype: "i32" as const, shape: [] } };

  it("frozen params and batchnorm stats stay bit-identical over wasm train steps; the others change; no optimizer state or gradient for them", async () => {
    const { graph, spec } = checked();
    const s = { ...spec, freeze: ["trunk", "bn"] };
    const tg = buildTrainingGraph(graph, s, fieldTypes);
    expect(tg.tensors.filter((t) => t.role === "optim").map((t) => t.name).some((n) => n.startsWith("trunk.") || n.startsWith("bn."))).toBe(false);
    expect(tg.graph.outputs.map((o) => o.name).filter((n) => n.startsWith("grad:"))).toEqual(
      expect.not.arrayContaining(["grad:trunk.weight", "grad:trunk.bias", "grad:bn.weight", "grad:bn.bias"]),
    );
    // frozen batchnorm runs in inference form: no batch statistics, no running-stat update
    expect(tg.graph.nodes.some((n) => n.op === "batchnorm_train")).toBe(false);
    const w0 = initWeights(graph, 0);
    const be = createWasmTrainBackend(tg, w0, { simd: true, optimize: false });
    const ds = addDerivedFields(data(), spec.derived);
    for (let step = 1; step <= 3; step++) {
      const sl = (f: string, k: number) => ds.fields[f]!.data.slice((step - 1) * 8 * k, step * 8 * k);
      be.trainStep(8, { x: sl("x", 4), label: sl("label", 1), parity: sl("parity", 1) }, { lr: 0.05, step, seed: 0 });
    }
    const after = be.readTensors();
    for (const name of ["trunk.weight", "trunk.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"])
      expect(Array.from(after.get(name)!.data), name).toEqual(Array.from(w0.get(name)!.data));
    for (const name of ["cls_head.weight", "odd_head.weight", "odd_out.bias"])
      expect(Array.from(after.get(name)!.data), name).not.toEqual(Array.from(w0.get(name)!.data));
  });

  it("gradients flow through a frozen (inference-form) batchnorm: equal central differences of the float64 loss", () => {
    const { graph, spec } = checked();
    const s: TrainSpec = { ...spec, freeze: ["bn"], losses: [spec.losses[0]!], optimizer: { kind: "sgd", lr: 1 }, metrics: [] };
    const tg = buildTrainingGraph(graph, s, fieldTypes);
    const w = initWeights(graph, 1);
    // non-trivial running statistics so the inference form matters
    w.set("bn.running_mean", { shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => 0.1 * i - 0.3) });
    w.set("bn.running_var", { shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => 0.5 + 0.2 * i) });
    const ds = data();
    const inputs = { x: ref([6, 4], ds.fields["x"]!.data.slice(0, 24)), label: ref([6], ds.fields["label"]!.data.slice(0, 6)), lr: ref([1], [1]) };
    const out = runReference(tg.graph, w, inputs, { batch: 6 });
    const grad = out["grad:trunk.weight"]!.data;
    const lossAt = (ws: WeightMap): number => runReference(tg.evalGraph, ws, { x: inputs.x, label: inputs.label }, { batch: 6 })["loss:cls"]!.data[0]!;
    let worst = 0;
    for (const k of [0, 5, 13, 22, 31]) {
      const h = 1e-3;
      const shifted = (d: number): WeightMap => {
        const m = new Map(w);
        const t = Float64Array.from(w.get("trunk.weight")!.data);
        t[k]! += d;
        m.set("trunk.weight", { shape: [8, 4], data: t as unknown as Float32Array });
        return m;
      };
      const fd = (lossAt(shifted(h)) - lossAt(shifted(-h))) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[k]!));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it("wasm training through a frozen batchnorm equals the float64 reference (1e-5)", () => {
    const { graph, spec } = checked();
    const s: TrainSpec = { ...spec, freeze: ["bn"], optimizer: { kind: "sgd", lr: 0.5 } };
    const tg = buildTrainingGraph(graph, s, fieldTypes);
    const w = initWeights(graph, 2);
    w.set("bn.running_mean", { shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => 0.05 * i - 0.2) });
    w.set("bn.running_var", { shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => 0.6 + 0.1 * i) });
    const ds = addDerivedFields(data(), spec.derived);
    const fields = { x: ds.fields["x"]!.data.slice(0, 40), label: ds.fields["label"]!.data.slice(0, 10), parity: ds.fields["parity"]!.data.slice(0, 10) };
    const wasm = createWasmTrainBackend(tg, w, { simd: true, optimize: false });
    const refB = new ReferenceTrainBackend(tg, w);
    const lw = { lossWeights: { cls: 1, odd: 0.25 } };
    const lossW = wasm.trainStep(10, fields, { lr: 0.5, step: 1, seed: 0, ...lw });
    const lossR = refB.trainStep(10, fields, { lr: 0.5, step: 1, seed: 0, ...lw });
    expect(Math.abs(lossW["odd"]! - lossR["odd"]!)).toBeLessThan(1e-5);
    const a = wasm.readTensors();
    const b = refB.readTensors();
    let worst = 0;
    for (const name of ["trunk.weight", "trunk.bias", "cls_head.weight", "odd_out.weight"]) {
      const x = a.get(name)!.data;
      const y = b.get(name)!.data;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
    }
    expect(worst).toBeLessThan(1e-5);
    expect(Array.from(a.get("trunk.weight")!.data)).not.toEqual(Array.from(w.get("trunk.weight")!.data));
    expect(Array.from(a.get("bn.running_var")!.data)).toEqual(Array.from(w.get("bn.running_var")!.data));
  });

  it("trainable is the complement; unknown names and both at once are errors", () => {
    const { graph, spec } = checked();
    const frozen = frozenParams(graph, { trainable: ["odd_head", "odd_out"] });
    expect([...frozen].sort()).toEqual(["bn.bias", "bn.weight", "cls_head.bias", "cls_head.weight", "trunk.bias", "trunk.weight"]);
    expect(() => frozenParams(graph, { freeze: ["trunkk"] })).toThrow(TrainSelectionError);
    expect(() => frozenParams(graph, { freeze: ["trunk"], trainable: ["bn"] })).toThrow("exclude each other");
    expect(() => frozenParams(graph, { freeze: ["trunk", "bn", "cls_head", "odd_head", "odd_out"] })).toThrow("leaves no parameter to train");
    // prefixes stop at a '.', a trailing * matches any prefix
    expect([...frozenParams(graph, { freeze: ["odd*"] })].sort()).toEqual(["odd_head.bias", "odd_head.weight", "odd_out.bias", "odd_out.weight"]);
    expect(() => buildTrainingGraph(graph, { ...spec, freeze: ["odd"] }, fieldTypes)).toThrow("'odd' names no layer or parameter");
  });

  it("heads selects the active losses: the other head gets no loss, gradient, update or optimizer state", () => {
    const { graph, spec } = checked();
    const s = applyTrainOverrides(spec, { heads: ["odd"], trainable: ["odd_head", "odd_out"] });
    expect(s.heads).toEqual(["odd"]);
    expect(s.trainable).toEqual(["odd_head", "odd_out"]);
    const tg = buildTrainingGraph(graph, s, fieldTypes);
    expect(tg.losses.map((l) => l.name)).toEqual(["odd"]);
    expect(Object.keys(tg.updates).sort()).toEqual([
      "odd_head.bias", "odd_head.bias.exp_avg", "odd_head.bias.exp_avg_sq", "odd_head.weight", "odd_head.weight.exp_avg", "odd_head.weight.exp_avg_sq",
      "odd_out.bias", "odd_out.bias.exp_avg", "odd_out.bias.exp_avg_sq", "odd_out.weight", "odd_out.weight.exp_avg", "odd_out.weight.exp_avg_sq",
    ]);
    // metrics of inactive heads are still evaluated
    expect(tg.metrics.map((m) => m.output)).toEqual(["cls", "odd"]);
    expect(() => applyTrainOverrides(spec, { heads: ["od"] })).toThrow("--heads: no loss named 'od'; did you mean 'odd'?");
    expect(() => applyTrainOverrides(spec, { freeze: ["a"], trainable: ["b"] })).toThrow("exclude each other");
  });
});

describe("train section entries and --init", () => {
  it("freeze / trainable / heads lower to the spec (names and strings)", () => {
    const src = SOURCE.replace("    optimizer = adam(lr=0.05)", '    optimizer = adam(lr=0.05)\n    freeze = [trunk, "bn"]\n    heads = [odd]');
    const { spec } = checked(src);
    expect(spec.freeze).toEqual(["trunk", "bn"]);
    expect(spec.heads).toEqual(["odd"]);
    expect(spec.trainable).toBeUndefined();
    const t = checked(SOURCE.replace("    optimizer = adam(lr=0.05)", "    optimizer = adam(lr=0.05)\n    trainable = [odd_head, odd_out]")).spec;
    expect(t.trainable).toEqual(["odd_head", "odd_out"]);
  });

  it("initFrom takes same-named tensors, keeps the init for the rest, rejects other shapes", () => {
    const { graph } = checked();
    const init = initWeights(graph, 0);
    const file = new Map([
      ["trunk.weight", { dtype: "F32" as const, shape: [8, 4], data: new Float32Array(32).fill(0.5) }],
      ["optim.trunk.weight.exp_avg", { dtype: "F32" as const, shape: [8, 4], data: new Float32Array(32) }],
    ]);
    const before = Float32Array.from(init.get("cls_head.weight")!.data);
    const r = initFrom(init, file, "ck.safetensors");
    expect(r.taken).toBe(1);
    expect(r.missing).toContain("cls_head.weight");
    expect(Array.from(init.get("trunk.weight")!.data)).toEqual(new Array(32).fill(0.5));
    expect(Array.from(init.get("cls_head.weight")!.data)).toEqual(Array.from(before));
    const bad = new Map([["trunk.weight", { dtype: "F32" as const, shape: [4, 8], data: new Float32Array(32) }]]);
    expect(() => initFrom(initWeights(graph, 0), bad, "ck.safetensors")).toThrow("--init ck.safetensors: 'trunk.weight' is [4, 8] there, but the model needs [8, 4]");
    expect(() => initFrom(initWeights(graph, 0), new Map(), "ck.safetensors")).toThrow("no tensor of the model is in the file");
  });
});

describe("compile --heads", () => {
  const TWO = `model two {
  input x: f32[4]
  input extra: f32[2]
  let h = x -> trunk: dense(8) -> relu
  let e = extra -> proj: dense(8)
  output a = h -> head_a: dense(3)
  output b = (h + e) -> head_b: dense(16) -> relu -> out_b: dense(2)
}
`;
  it("one head: smaller module (code and weights), unused input gone, bit-identical outputs", async () => {
    const full = await compile(TWO, { simd: "simd" });
    const one = await compile(TWO, { simd: "simd", heads: ["a"] });
    expect(one.diagnostics).toEqual([]);
    const wasm = (r: typeof full): Uint8Array => r.artifact!.files.get("two.wasm") as Uint8Array;
    expect(wasm(one).length).toBeLessThan(wasm(full).length);
    const bytes = (w: WeightMap): number => [...w.values()].reduce((s, t) => s + t.data.length * 4, 0);
    expect(bytes(one.weights!)).toBeLessThan(bytes(full.weights!));
    expect([...one.weights!.keys()]).toEqual(["trunk.weight", "trunk.bias", "head_a.weight", "head_a.bias"]);
    expect(one.graph!.inputs.map((i) => i.name)).toEqual(["x"]);
    expect(one.graph!.outputs.map((o) => o.name)).toEqual(["a"]);
    const mFull = await loadModel(wasm(full), { simd: "force" });
    const mOne = await loadModel(wasm(one), { simd: "force" });
    const x = Float32Array.from({ length: 5 * 4 }, (_, i) => Math.sin(i * 1.7));
    const extra = Float32Array.from({ length: 5 * 2 }, (_, i) => Math.cos(i));
    const a1 = mFull.run({ x, extra })["a"]!;
    const a2 = mOne.run({ x })["a"]!;
    expect(Array.from(a2)).toEqual(Array.from(a1));
    // the other head keeps both inputs
    const b = await compile(TWO, { simd: "simd", heads: ["b"] });
    expect(b.graph!.inputs.map((i) => i.name)).toEqual(["x", "extra"]);
  });

  it("--weights may be a modelc training checkpoint (optim.* tensors are not weights)", async () => {
    const g = checkSource(TWO, "two.model").graph!;
    const w = initWeights(g, 3);
    const ck = new Map<string, { shape: number[]; data: Float32Array }>([...w].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
    ck.set("optim.head_a.weight.exp_avg", { shape: [3, 8], data: new Float32Array(24) });
    const bytes = writeSafetensors(ck, { format: "modelc-checkpoint/1" });
    const r = await compile(TWO, { simd: "simd", weights: bytes, heads: ["a"] });
    expect(r.diagnostics).toEqual([]);
    expect(Array.from(r.weights!.get("head_a.weight")!.data)).toEqual(Array.from(w.get("head_a.weight")!.data));
    // without the checkpoint marker an extra tensor is still an E0601 error
    const plain = await compile(TWO, { simd: "simd", weights: writeSafetensors(ck) });
    expect(plain.diagnostics.map((d) => d.code)).toEqual(["E0601"]);
  });

  it("an unknown head is an E0810 diagnostic listing the outputs, with a 'did you mean' hint for a near name", async () => {
    const r = await compile(TWO, { simd: "simd", heads: ["nope"] });
    expect(r.artifact).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([["E0810", "--heads: model 'two' has no output 'nope' (outputs: a, b)", undefined]]);
    const near = await compile(TWO, { simd: "simd", heads: ["c"] });
    expect(near.diagnostics.map((d) => [d.code, d.hint])).toEqual([["E0810", "did you mean one of 'a', 'b'?"]]);
  });

  it("modelc compile --heads parityy: the same hint as train --heads", async () => {
    const io = bufferIo();
    expect(await main(["compile", join(ROOT, "dsl-examples/mnist-multitask.model"), "--heads", "parityy", "-o", join(tmpdir(), "modelc-heads-never")], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/has no output 'parityy' \(outputs: digit, parity, bigger\)\n\s*= hint: did you mean 'parity'\?/);
  });
});
