// Autodiff vs central finite differences of the float64 reference, for every differentiable op and every
// loss (h = 1e-6, tolerance 1e-6 relative). Neighbours: autodiff.helpers.ts; autodiff-golden.test.ts (PyTorch).

import { describe, expect, it } from "vitest";
import type { Graph, RefTensor } from "../compiler/ir/types.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";
import {
  checkFiniteDifferences,
  lowerSource,
  randomWeights,
  rng,
  run64,
  uniform,
  withLoss,
  type FdOptions,
  type LossSpec,
} from "./autodiff.helpers.js";

const MSE_SUM = (shape: number[]): LossSpec => ({ op: "mse", attrs: { reduction: "sum" }, target: { dtype: "f32", shape } });

interface FdCase {
  name: string;
  source: string;
  /** Per-sample shape of the output y (for the mse target). */
  out: number[];
  batch?: number;
  loss?: LossSpec;
  /** Per-input overrides (full shape incl. batch). */
  inputs?: Record<string, RefTensor>;
  opts?: FdOptions;
}

/** Lower, append the loss, differentiate wrt every param and f32 input, validate, compare with FD. */
function fdCase(c: FdCase, seed = 1): { graph: Graph; grads: Record<string, string> } {
  const r = rng(seed);
  const batch = c.batch ?? 2;
  const { graph, loss } = withLoss(lowerSource(c.source), "y", c.loss ?? MSE_SUM(c.out));
  const inIds = graph.inputs.filter((i) => i.name !== "target" && graph.values[i.value]!.type.dtype === "f32").map((i) => i.value);
  const params = Object.values(graph.values).filter((v) => v.kind === "param").map((v) => v.id);
  const res = gradGraph(graph, { loss, wrt: [...params, ...inIds] });
  expect(validateGraph(res.graph)).toEqual([]);
  const weights = randomWeights(graph, r);
  const inputs: Record<string, RefTensor> = {};
  for (const gi of res.graph.inputs) {
    const t = res.graph.values[gi.value]!.type;
    const shape = t.shape.map((d) => (d === "N" ? batch : d));
    if (gi.name === "dropout_rng") inputs[gi.name] = { shape: [2], data: Float64Array.of(7, 3) };
    else inputs[gi.name] = c.inputs?.[gi.name] ?? uniform(r, shape, -2, 2);
  }
  const names = [...params.map((id) => graph.values[id]!.name!), ...inIds.map((id) => graph.values[id]!.name!)];
  expect(Object.keys(res.grads).sort()).toEqual([...names].sort());
  expect(checkFiniteDifferences(res.graph, weights, inputs, names, c.opts)).toBeGreaterThan(0);
  return res;
}

const act = (name: string, call: string) => ({
  name,
  source: `model m {\n  input x: f32[3, 4]\n  output y = x -> ${call}\n}\n`,
  out: [3, 4],
});

describe("gradients vs finite differences: activations", () => {
  for (const c of [
    act("relu", "relu"),
    act("leaky_relu", "leaky_relu(alpha=0.2)"),
    act("sigmoid", "sigmoid"),
    act("tanh", "tanh"),
    act("gelu exact", "gelu"),
    act("gelu tanh", 'gelu(approximate="tanh")'),
    act("softmax last axis", "softmax(axis=-1)"),
    act("softmax axis 1", "softmax(axis=1)"),
  ])
    it(c.name, () => void fdCase(c));

  it("relu at exactly 0 has gradient 0 (as PyTorch), FD elsewhere", () => {
    const x = uniform(rng(5), [2, 3, 4], -2, 2);
    for (const k of [0, 5, 11, 17]) x.data[k] = 0;
    const c = { ...act("relu0", "relu"), inputs: { x }, opts: { skip: (_n: string, k: number) => x.data[k] === 0 } };
    const res = fdCase(c, 5);
    const r = rng(9);
    const weights = new Map<string, RefTensor>();
    const out = run64(res.graph, weights, { x, target: uniform(r, [2, 3, 4]) });
    for (const k of [0, 5, 11, 17]) expect(out["grad:x"]!.data[k]).toBe(0);
  });

  it("relu_grad follows threshold_backward: x <= 0 gives 0, NaN x passes the gradient", () => {
    const def = getOp("relu_grad")!;
    const y = def.reference([{ shape: [4], data: Float64Array.of(-1, 0, NaN, 2) }, { shape: [4], data: Float64Array.of(3, 3, 3, 3) }], {});
    expect([...y[0]!.data]).toEqual([0, 0, 3, 3]);
  });
});

describe("gradients vs finite differences: layers", () => {
  const cases: FdCase[] = [
    { name: "dense", source: "model m {\n  input x: f32[5]\n  output y = x -> fc: dense(3)\n}\n", out: [3] },
    { name: "dense no bias, rank 3", source: "model m {\n  input x: f32[2, 5]\n  output y = x -> fc: dense(3, bias=false)\n}\n", out: [2, 3] },
    { name: "mlp dense-relu-dense", source: "model m {\n  input x: f32[4]\n  output y = x -> a: dense(6) -> tanh -> b: dense(2)\n}\n", out: [2] },
    { name: "conv2d 3x3", source: "model m {\n  input x: f32[2, 5, 5]\n  output y = x -> c: conv2d(3, kernel=3)\n}\n", out: [3, 3, 3] },
    {
      name: "conv2d stride 2, same padding, dilation",
      source: 'model m {\n  input x: f32[2, 7, 6]\n  output y = x -> c: conv2d(2, kernel=3, stride=2, padding="same")\n}\n',
      out: [2, 4, 3],
    },
    {
      name: "conv2d dilation 2, asymmetric padding",
      source: "model m {\n  input x: f32[1, 6, 6]\n  output y = x -> c: conv2d(2, kernel=[2, 3], dilation=2, padding=[1, 0, 2, 1])\n}\n",
      out: [2, 7, 3],
    },
    {
      name: "conv2d groups 2, no bias",
      source: "model m {\n  input x: f32[4, 4, 4]\n  output y = x -> c: conv2d(6, kernel=2, groups=2, bias=false)\n}\n",
      out: [6, 3, 3],
    },
    { name: "maxpool2d 2", source: "model m {\n  input x: f32[2, 4, 4]\n  output y = x -> maxpool2d(2)\n}\n", out: [2, 2, 2] },
    {
      name: "maxpool2d padding, stride, ceil_mode, dilation",
      source: "model m {\n  input x: f32[1, 7, 6]\n  output y = x -> maxpool2d(3, stride=2, padding=1, ceil_mode=true)\n}\n",
      out: [1, 4, 4],
    },
    {
      name: "maxpool2d dilation 2",
      source: "model m {\n  input x: f32[1, 6, 6]\n  output y = x -> maxpool2d(2, stride=1, dilation=2)\n}\n",
      out: [1, 4, 4],
    },
    {
      name: "avgpool2d ceil_mode, count_include_pad=false",
      source: "model m {\n  input x: f32[2, 5, 5]\n  output y = x -> avgpool2d(2, stride=2, padding=1, ceil_mode=true, count_include_pad=false)\n}\n",
      out: [2, 3, 3],
    },
    {
      name: "avgpool2d count_include_pad",
      source: "model m {\n  input x: f32[1, 5, 4]\n  output y = x -> avgpool2d([3, 2], stride=[2, 1], padding=1, ceil_mode=true)\n}\n",
      out: [1, 3, 5],
    },
    { name: "global_avgpool2d", source: "model m {\n  input x: f32[3, 4, 5]\n  output y = x -> global_avgpool2d\n}\n", out: [3, 1, 1] },
    { name: "flatten", source: "model m {\n  input x: f32[2, 3, 2]\n  output y = x -> flatten -> fc: dense(2)\n}\n", out: [2] },
    { name: "reshape", source: "model m {\n  input x: f32[6, 2]\n  output y = x -> reshape([3, -1]) -> fc: dense(2)\n}\n", out: [3, 2] },
    {
      name: "concat axis 1 of computed branches",
      source: "model m {\n  input x: f32[3]\n  input z: f32[2]\n  let a = x -> p: dense(2)\n  output y = concat(a, z, x -> tanh, axis=1)\n}\n",
      out: [7],
    },
    { name: "concat last axis", source: "model m {\n  input a: f32[2, 2]\n  input b: f32[2, 3]\n  output y = concat(a, b, axis=-1)\n}\n", out: [2, 5] },
    { name: "add same shape, reused value", source: "model m {\n  input a: f32[3]\n  output y = a + a * a\n}\n", out: [3] },
    { name: "add row broadcast", source: "model m {\n  input x: f32[4, 5]\n  input r: f32[1, 5]\n  output y = x + r\n}\n", out: [4, 5] },
    { name: "mul both-sides broadcast", source: "model m {\n  input a: f32[3, 1, 5]\n  input b: f32[1, 4, 1]\n  output y = a * b\n}\n", out: [3, 4, 5] },
    { name: "mul scalar constant", source: "model m {\n  input x: f32[2, 3]\n  output y = x * 0.5 + 1.5\n}\n", out: [2, 3] },
    {
      name: "SE gate x * sigmoid(global_avgpool2d(x))",
      source: "model m {\n  input x: f32[3, 2, 3]\n  let g = x -> global_avgpool2d -> sigmoid\n  output y = x * g\n}\n",
      out: [3, 2, 3],
    },
    {
      name: "residual conv-relu",
      source: 'model m {\n  input x: f32[2, 4, 4]\n  output y = x + (x -> c: conv2d(2, kernel=3, padding="same") -> relu)\n}\n',
      out: [2, 4, 4],
    },
    { name: "batchnorm train [N, C, H, W]", source: "model m {\n  input x: f32[3, 2, 2]\n  output y = x -> bn: batchnorm\n}\n", out: [3, 2, 2], batch: 3 },
    { name: "batchnorm train [N, C] after dense", source: "model m {\n  input x: f32[4]\n  output y = x -> fc: dense(3) -> bn: batchnorm(eps=0.001) -> relu\n}\n", out: [3], batch: 4 },
    { name: "dropout train (fixed mask)", source: "model m {\n  input x: f32[6]\n  output y = x -> fc: dense(8) -> dropout(0.5) -> g: dense(2)\n}\n", out: [2], batch: 3 },
  ];
  for (const c of cases) it(c.name, () => void fdCase(c));
});

describe("losses vs finite differences", () => {
  const src = (C: number) => `model m {\n  input x: f32[${C}]\n  output y = x -> fc: dense(${C})\n}\n`;
  const probs = (N: number, C: number, seed: number): RefTensor => {
    const t = uniform(rng(seed), [N, C], 0, 1);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += t.data[n * C + c]!;
      for (let c = 0; c < C; c++) t.data[n * C + c]! /= s;
    }
    return t;
  };
  const cases: FdCase[] = [
    { name: "mse mean", source: src(3), out: [3], loss: { op: "mse", attrs: { reduction: "mean" }, target: { dtype: "f32", shape: [3] } } },
    {
      name: "cross_entropy class indices, mean",
      source: src(4),
      out: [4],
      batch: 3,
      loss: { op: "cross_entropy", attrs: { reduction: "mean", label_smoothing: 0 }, target: { dtype: "i32", shape: [] } },
      inputs: { target: { shape: [3], data: Float64Array.of(0, 3, 1) } },
    },
    {
      name: "cross_entropy label smoothing, sum",
      source: src(4),
      out: [4],
      batch: 3,
      loss: { op: "cross_entropy", attrs: { reduction: "sum", label_smoothing: 0.1 }, target: { dtype: "i32", shape: [] } },
      inputs: { target: { shape: [3], data: Float64Array.of(2, 2, 0) } },
    },
    {
      name: "cross_entropy probabilities + smoothing",
      source: src(4),
      out: [4],
      batch: 3,
      loss: { op: "cross_entropy", attrs: { reduction: "mean", label_smoothing: 0.2 }, target: { dtype: "f32", shape: [4] } },
      inputs: { target: probs(3, 4, 4) },
    },
    {
      name: "binary_cross_entropy (logits)",
      source: src(3),
      out: [3],
      loss: { op: "binary_cross_entropy", attrs: { reduction: "mean" }, target: { dtype: "f32", shape: [3] } },
      inputs: { target: uniform(rng(3), [2, 3], 0, 1) },
    },
    {
      name: "kl_divergence batchmean with zero targets",
      source: "model m {\n  input x: f32[4]\n  output y = x -> fc: dense(4) -> softmax -> tanh\n}\n",
      out: [4],
      loss: { op: "kl_divergence", attrs: { reduction: "batchmean", log_target: false }, target: { dtype: "f32", shape: [4] } },
      inputs: { target: { shape: [2, 4], data: Float64Array.of(0, 0.5, 0.5, 0, 0.25, 0, 0.75, 0) } },
    },
    {
      name: "kl_divergence log_target, mean",
      source: src(3),
      out: [3],
      loss: { op: "kl_divergence", attrs: { reduction: "mean", log_target: true }, target: { dtype: "f32", shape: [3] } },
    },
  ];
  for (const c of cases) it(c.name, () => void fdCase(c));
});

/** A graph x -> loss(x, target) with x an input, for exact checks at extreme logits. */
function lossOnly(op: string, attrs: Record<string, number | string | boolean>, x: RefTensor, target: RefTensor, tDtype: "f32" | "i32") {
  const b = new GraphBuilder("l");
  const xi = b.input("x", "f32", x.shape.slice(1));
  const ti = b.input("target", tDtype, target.shape.slice(1));
  const l = b.node(op, [xi, ti], attrs)[0]!;
  b.output("loss", l);
  const res = gradGraph(b.build(), { loss: l, wrt: [xi] });
  expect(validateGraph(res.graph)).toEqual([]);
  return { res, out: run64(res.graph, new Map(), { x, target }) };
}

describe("losses at extreme logits", () => {
  it("cross_entropy with logits +-90 is finite and exact", () => {
    const x = { shape: [2, 3], data: Float64Array.of(90, -90, 0, -90, -90, 90) };
    const { res, out } = lossOnly("cross_entropy", { reduction: "sum", label_smoothing: 0 }, x, { shape: [2], data: Float64Array.of(1, 2) }, "i32");
    // row 0: lse = 90 + log(1 + e^-90 + e^-180) ~ 90 (+8.2e-40); loss = lse - (-90) = 180
    expect(out["loss"]!.data[0]).toBe(180);
    const g = out["grad:x"]!.data;
    expect(g[0]).toBeCloseTo(1, 15);
    expect(g[1]).toBe(-1 + Math.exp(-180));
    expect(g[5]).toBe(Math.exp(0) * (1 / (1 + 2 * Math.exp(-180))) - 1);
    expect([...g].every(Number.isFinite)).toBe(true);
    expect(checkFiniteDifferences(res.graph, new Map(), { x, target: { shape: [2], data: Float64Array.of(1, 2) } }, ["x"], { atol: 1e-7 })).toBe(6);
  });

  it("binary_cross_entropy with logits +-100 is finite and exact", () => {
    const x = { shape: [1, 4], data: Float64Array.of(100, -100, 100, -100) };
    const y = { shape: [1, 4], data: Float64Array.of(1, 1, 0, 0) };
    const { out } = lossOnly("binary_cross_entropy", { reduction: "sum" }, x, y, "f32");
    const tiny = Math.log1p(Math.exp(-100));
    expect(out["loss"]!.data[0]).toBe(tiny + (100 + tiny) + (100 + tiny) + tiny);
    const s = 1 / (1 + Math.exp(-100));
    const e = Math.exp(-100) / (1 + Math.exp(-100));
    expect([...out["grad:x"]!.data]).toEqual([s - 1, e - 1, s, e]);
  });

  it("kl_divergence: zero targets add 0 to value and gradient", () => {
    const x = { shape: [1, 3], data: Float64Array.of(-1, -50, -2) };
    const t = { shape: [1, 3], data: Float64Array.of(0.4, 0, 0.6) };
    const { out } = lossOnly("kl_divergence", { reduction: "sum", log_target: false }, x, t, "f32");
    expect(out["loss"]!.data[0]).toBeCloseTo(0.4 * (Math.log(0.4) + 1) + 0.6 * (Math.log(0.6) + 2), 15);
    expect([...out["grad:x"]!.data]).toEqual([-0.4, -0, -0.6]);
  });
});

describe("gradGraph structure", () => {
  it("accumulates reused values, differentiates only loss ancestors, skips state, names outputs", () => {
    const { graph, loss } = withLoss(
      lowerSource("model m {\n  input x: f32[3]\n  let h = x -> a: dense(3)\n  output y = h + h -> bn: batchnorm\n  output unused = x -> u: dense(2)\n}\n"),
      "y",
      MSE_SUM([3]),
    );
    const res = gradGraph(graph, { loss });
    expect(validateGraph(res.graph)).toEqual([]);
    expect(Object.keys(res.grads).sort()).toEqual(["a.bias", "a.weight", "bn.bias", "bn.weight"]);
    expect(Object.keys(res.stateUpdates).sort()).toEqual(["bn.running_mean", "bn.running_var"]);
    const ops = res.graph.nodes.map((n) => n.op);
    expect(ops).toContain("batchnorm_train");
    expect(ops).not.toContain("batchnorm");
    // h feeds add twice: the two identical gradients are summed by one add.
    expect(res.graph.nodes.filter((n) => n.op === "add" && n.mode === "train")).toHaveLength(1);
    expect(res.graph.nodes.filter((n) => n.mode === "train").every((n) => n.op !== "dense_grad_input")).toBe(true);
    expect(res.graph.outputs.map((o) => o.name)).toEqual(
      expect.arrayContaining(["grad:a.weight", "grad:bn.weight", "state:bn.running_mean", "state:bn.running_var"]),
    );
    expect(graph.nodes.some((n) => n.op === "batchnorm")).toBe(true); // input untouched
    // the "train" pipeline (dce) keeps every gradient and state-update node
    const opt = optimizeGraph(res.graph, { mode: "train" });
    expect(validateGraph(opt)).toEqual([]);
    expect(opt.outputs.map((o) => o.name)).toEqual(res.graph.outputs.map((o) => o.name));
    expect(opt.nodes.filter((n) => n.mode === "train")).toHaveLength(res.graph.nodes.filter((n) => n.mode === "train").length);
  });

  it("batchnorm running statistics update as PyTorch (momentum, unbiased variance)", () => {
    const { graph, loss } = withLoss(lowerSource("model m {\n  input x: f32[2]\n  output y = x -> bn: batchnorm(momentum=0.25)\n}\n"), "y", MSE_SUM([2]));
    const res = gradGraph(graph, { loss });
    const w = new Map<string, RefTensor>([
      ["bn.weight", { shape: [2], data: Float64Array.of(1, 2) }],
      ["bn.bias", { shape: [2], data: Float64Array.of(0, 1) }],
      ["bn.running_mean", { shape: [2], data: Float64Array.of(1, -1) }],
      ["bn.running_var", { shape: [2], data: Float64Array.of(2, 0.5) }],
    ]);
    const x = { shape: [3, 2], data: Float64Array.of(1, 0, 2, 4, 6, 8) };
    const out = run64(res.graph, w, { x, target: { shape: [3, 2], data: new Float64Array(6) } });
    // channel 0: mean 3, unbiased var ((4 + 1 + 9) / 2) = 7; channel 1: mean 4, var 16
    expect([...out["state:bn.running_mean"]!.data]).toEqual([0.75 * 1 + 0.25 * 3, 0.75 * -1 + 0.25 * 4]);
    expect([...out["state:bn.running_var"]!.data]).toEqual([0.75 * 2 + 0.25 * 7, 0.75 * 0.5 + 0.25 * 16]);
    // one value per channel is an error, as in PyTorch
    expect(() => run64(res.graph, w, { x: { shape: [1, 2], data: Float64Array.of(1, 2) }, target: { shape: [1, 2], data: new Float64Array(2) } })).toThrow(
      /Expected more than 1 value per channel when training/,
    );
  });

  it("reports an op without a gradient rule and a non-scalar loss", () => {
    const b = new GraphBuilder("g");
    const x = b.input("x", "f32", [3]);
    const y = b.node("relu", [x], {})[0]!;
    expect(() => gradGraph(b.build(), { loss: y, wrt: [x] })).toThrow(/the loss must be f32 \[1\], got f32\[N, 3\]/);
    const t = b.input("t", "f32", [3]);
    const [norm] = b.node("global_norm", [y], { max_norm: 1 });
    const l = b.node("mse", [b.node("mul", [y, norm!], {})[0]!, t], { reduction: "sum" })[0]!;
    expect(() => gradGraph(b.build(), { loss: l, wrt: [x] })).toThrow(/op 'global_norm' \(node n\d+\) has no gradient rule/);
  });
});
