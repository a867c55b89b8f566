// Lowering tests: .model source -> Graph (blocks, layer names, params, all ops reachable) and the
// semantic diagnostics. Neighbours: compiler/frontend/lower.ts, compiler/check.ts; fixtures in
// test/fixtures/diagnostics/sem-*.model are run by test/diagnostics.test.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkSource } from "../compiler/check.js";
import { formatDiagnostic } from "../compiler/diagnostics.js";
import { validateGraph } from "../compiler/ir/validate.js";
import type { Graph } from "../compiler/ir/types.js";

function lower(src: string, model?: string): Graph {
  const r = checkSource(src, "t.model", model !== undefined ? { model } : {});
  if (!r.graph) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col} ${d.message}`).join("\n"));
  expect(validateGraph(r.graph)).toEqual([]);
  return r.graph;
}

function codes(src: string, model?: string): string[] {
  return checkSource(src, "t.model", model !== undefined ? { model } : {}).diagnostics.map(
    (d) => `${d.code} ${d.loc?.line}:${d.loc?.col}`,
  );
}

/** state_dict name -> shape of every param/state. */
function params(g: Graph): Record<string, unknown> {
  return Object.fromEntries(
    Object.values(g.values)
      .filter((v) => v.kind === "param" || v.kind === "state")
      .map((v) => [v.name, v.type.shape]),
  );
}

describe("lowering the examples", () => {
  it("mnist-cnn: block instances prefix weight names like nested PyTorch modules", () => {
    const g = lower(readFileSync(new URL("../dsl-examples/mnist-cnn.model", import.meta.url), "utf8"));
    expect(params(g)).toEqual({
      "stage1.conv.weight": [16, 1, 3, 3],
      "stage1.conv.bias": [16],
      "stage1.bn.weight": [16],
      "stage1.bn.bias": [16],
      "stage1.bn.running_mean": [16],
      "stage1.bn.running_var": [16],
      "stage2.conv.weight": [32, 16, 3, 3],
      "stage2.conv.bias": [32],
      "stage2.bn.weight": [32],
      "stage2.bn.bias": [32],
      "stage2.bn.running_mean": [32],
      "stage2.bn.running_var": [32],
      "fc1.weight": [128, 1568],
      "fc1.bias": [128],
      "fc2.weight": [10, 128],
      "fc2.bias": [10],
    });
    expect(g.nodes.map((n) => n.op)).toEqual([
      "conv2d", "batchnorm", "relu", "maxpool2d", "conv2d", "batchnorm", "relu", "maxpool2d", "flatten", "dense", "relu", "dropout", "dense", "softmax",
    ]);
    expect(g.nodes[0]!.layer).toBe("stage1.conv");
    expect(g.nodes[0]!.attrs).toEqual({
      out_channels: 16, kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1, bias: true,
    });
    expect(g.outputs.map((o) => [o.name, g.values[o.value]!.type.shape])).toEqual([
      ["logits", ["N", 10]],
      ["probs", ["N", 10]],
    ]);
    expect(g.inputs.map((i) => [i.name, g.values[i.value]!.type])).toEqual([["image", { dtype: "f32", shape: ["N", 1, 28, 28] }]]);
  });
});

describe("layer naming", () => {
  it("gives unnamed param-creating ops and block instances automatic names <op><k>", () => {
    const g = lower(`
block mlp(x, n: int) {
  return x -> dense(n) -> relu -> out: dense(n)
}
model m {
  input x: f32[4]
  let a = x -> dense(8) -> dense(8) -> batchnorm
  let b = a -> mlp(3) -> mlp(3)
  output b
}`);
    expect(Object.keys(params(g))).toEqual([
      "dense0.weight", "dense0.bias", "dense1.weight", "dense1.bias",
      "batchnorm0.weight", "batchnorm0.bias", "batchnorm0.running_mean", "batchnorm0.running_var",
      "mlp0.dense0.weight", "mlp0.dense0.bias", "mlp0.out.weight", "mlp0.out.bias",
      "mlp1.dense0.weight", "mlp1.dense0.bias", "mlp1.out.weight", "mlp1.out.bias",
    ]);
    expect(g.values[Object.values(g.values).find((v) => v.name === "batchnorm0.running_var")!.id]!.kind).toBe("state");
    expect(g.nodes.find((n) => n.op === "relu")!.layer).toBeUndefined();
  });

  it("nests prefixes, fills defaults and keyword args, skips names already taken", () => {
    const g = lower(`
block inner(x, units: int, use_bias: bool = false) {
  return x -> fc: dense(units, bias=use_bias)
}
block outer(x, width: int = 6) {
  let h = x -> a: inner(width)
  return h -> b: inner(units=2, use_bias=true)
}
model m {
  input x: f32[5]
  let y = x -> dense0: dense(3) -> dense(4) -> top: outer()
  output y
}`);
    expect(params(g)).toEqual({
      "dense0.weight": [3, 5],
      "dense0.bias": [3],
      "dense1.weight": [4, 3],
      "dense1.bias": [4],
      "top.a.fc.weight": [6, 4],
      "top.b.fc.weight": [2, 6],
      "top.b.fc.bias": [2],
    });
  });

  it("keeps model-level blocks private to their model and picks models by name", () => {
    const src = `
model first {
  block twice(x) { return x + x }
  input x: f32[2]
  output y = x -> twice()
}
model second {
  input x: f32[2]
  output y = x -> twice()
}`;
    expect(lower(src).name).toBe("first");
    expect(codes(src, "second")).toEqual(["E0301 9:19"]);
    expect(codes(src, "third")).toEqual(["E0701 1:1"]);
  });
});

describe("expressions", () => {
  it("maps + and * to add/mul, numbers to scalar constants", () => {
    const g = lower(`
model m {
  input a: f32[3, 4]
  input b: f32[3, 1]
  output y = a + b * 0.5
}`);
    expect(g.nodes.map((n) => n.op)).toEqual(["mul", "add"]);
    const c = Object.values(g.values).find((v) => v.kind === "const")!;
    expect(c.type).toEqual({ dtype: "f32", shape: [] });
    expect(c.data).toEqual([0.5]);
    expect(g.values[g.outputs[0]!.value]!.type.shape).toEqual(["N", 3, 4]);
  });

  it("reaches every op of the table from the language", () => {
    const g = lower(`
model all_ops {
  input img: f32[4, 8, 8]
  input v: f32[6]
  let c = img -> conv2d(4, kernel=[3, 3], stride=1, padding="same", dilation=1, groups=2, bias=false)
    -> batchnorm(eps=0.001, momentum=0.1) -> leaky_relu(alpha=0.2)
  let p = c -> maxpool2d(3, stride=2, padding=1, dilation=1, ceil_mode=true)
  let q = c -> avgpool2d([2, 2], padding=[1, 1], ceil_mode=false, count_include_pad=false)
  let g = c -> global_avgpool2d -> flatten(start_dim=1)
  let f = concat(p -> flatten, q -> flatten, axis=-1)
  let h = f -> reshape([-1, 2]) -> flatten -> dense(6, bias=true) -> gelu(approximate="tanh") -> dropout(p=0.1)
  let s = (h + v) * (v -> sigmoid) -> tanh -> relu -> gelu
  output out = s -> softmax(axis=-1)
  output pooled = g
}`);
    expect(new Set(g.nodes.map((n) => n.op))).toEqual(
      new Set([
        "add", "avgpool2d", "batchnorm", "concat", "conv2d", "dense", "dropout", "flatten", "gelu",
        "global_avgpool2d", "leaky_relu", "maxpool2d", "mul", "relu", "reshape", "sigmoid", "softmax", "tanh",
      ]),
    );
    const mp = g.nodes.find((n) => n.op === "maxpool2d")!;
    expect(g.values[mp.outputs[0]!]!.type.shape).toEqual(["N", 4, 5, 5]); // ceil_mode: 5th window starts at 4*2 - 1 = 7, inside the input
    const ap = g.nodes.find((n) => n.op === "avgpool2d")!;
    expect(ap.attrs).toEqual({ kernel: [2, 2], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: false, count_include_pad: false });
    expect(g.values[ap.outputs[0]!]!.type.shape).toEqual(["N", 4, 5, 5]);
    const rs = g.nodes.find((n) => n.op === "reshape")!;
    expect(rs.attrs).toEqual({ shape: [100, 2] });
    expect(g.nodes.find((n) => n.op === "concat")!.attrs).toEqual({ axis: 1 });
  });
});

describe("diagnostics", () => {
  it("collects independent errors and silences follow-on ones", () => {
    expect(
      codes(`
model m {
  input x: f32[8]
  let a = x -> dense(0)
  let b = a -> dense(4) -> relu
  let c = x -> fc: dense(4, bias=1)
  let d = x -> fc: dense(2)
  output b
  output c
  output d
}`),
    ).toEqual(["E0404 4:22", "E0403 6:34", "E0304 7:16"]);
  });

  it("points E0501 at the call with notes for where each input's shape came from", () => {
    const r = checkSource(`model m {\n  input x: f32[3, 4]\n  let y = x -> dense(5)\n  output z = x -> concat(y)\n}\n`, "t.model");
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect(d.code).toBe("E0501");
    expect(d.message).toBe("concat: cannot join [N, 3, 4] with [N, 3, 5] along axis 1");
    expect(d.related?.map((x) => [x.loc.line, x.message])).toEqual([[3, "input 2 [N, 3, 5] f32 came from here"]]);
  });

  it("reports missing inputs, outputs and tensor inputs", () => {
    expect(codes(`model m {\n  let a = 3\n}\n`)).toEqual(["E0703 1:7", "E0702 1:7"]);
    expect(codes(`model m {\n  input x: f32[2]\n  output y = relu()\n}\n`)).toEqual(["E0402 3:14"]);
    expect(codes(`model m {\n  input x: f32[2]\n  output y = add(x)\n}\n`)).toEqual(["E0402 3:14"]);
  });

  it("hints an unknown argument with the nearest name, else the callee's arguments (file:line:col and caret kept)", () => {
    const src = `block stage(x, channels: int) { return x -> conv2d(channels, 3) }
model m {
  input x: f32[1, 8, 8]
  let a = x -> flatten -> dense(3, activaton=2)
  let b = x -> flatten -> dense(3, bais=false)
  let c = x -> stage(4, zzzzzzzz=1)
  output a
  output b
  output c
}
`;
    const r = checkSource(src, "t.model");
    expect(r.diagnostics.map((d) => `${d.code} ${d.loc?.line}:${d.loc?.col} ${d.hint}`)).toEqual([
      "E0401 4:36 dense takes 'units', 'bias'; activations are ops of their own: x -> dense(...) -> relu",
      "E0401 5:36 did you mean 'bias'?",
      "E0401 6:25 stage takes 'channels'",
    ]);
    expect(formatDiagnostic(r.diagnostics[0]!, { "t.model": src }).split("\n")).toEqual([
      "t.model:4:36: error[E0401]: dense: unknown argument 'activaton'",
      "  |",
      "4 |   let a = x -> flatten -> dense(3, activaton=2)",
      "  |                                    ^^^^^^^^^",
      "  = hint: dense takes 'units', 'bias'; activations are ops of their own: x -> dense(...) -> relu",
    ]);
  });

  it("detects direct recursion and unknown dtypes", () => {
    expect(codes(`block r(x) { return x -> r() }\nmodel m {\n  input x: f32[2]\n  output y = x -> r()\n}\n`)).toEqual([
      "E0305 1:26",
    ]);
    expect(codes(`model m {\n  input x: f64[2]\n  output y = x -> relu\n}\n`)).toEqual(["E0502 2:12"]);
  });
});

describe("op resolution", () => {
  it("does not expose IR-only ops (gradients, losses, optimizer updates) to the language", async () => {
    const { IR_OPS } = (await import("../compiler/ir/ops/index.js")) as { IR_OPS?: Record<string, unknown> };
    for (const name of Object.keys(IR_OPS ?? {}).slice(0, 5))
      expect(codes(`model m {\n  input x: f32[2]\n  output y = x -> ${name}()\n}\n`)[0]).toBe("E0301 3:19");
  });
});
