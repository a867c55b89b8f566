// Op table tests: float64 references on small hand-computed cases, normalization, params and shape errors.
// Neighbours: compiler/ir/ops/* (under test); test/golden.test.ts checks the same ops against PyTorch.

import { describe, expect, it } from "vitest";
import { OPS, getOp } from "../compiler/ir/ops/index.js";
import { OpArgError, OpDTypeError, OpTypeError } from "../compiler/ir/ops/def.js";
import { erf, erfc } from "../compiler/ir/ops/erf.js";
import { poolOutSize } from "../compiler/ir/ops/pool.js";
import type { Attrs, Dim, RefTensor, TensorType } from "../compiler/ir/types.js";

const t = (shape: number[], data: number[]): RefTensor => ({ shape, data: Float64Array.from(data) });
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const f32 = (...shape: Dim[]): TensorType => ({ dtype: "f32", shape });
const ones = (n: number): number[] => new Array<number>(n).fill(1);

/** Defaults of an op's args filled, then normalized against the input types. */
function attrsOf(op: string, args: Attrs, inputs: TensorType[]): Attrs {
  const def = getOp(op)!;
  const full: Attrs = {};
  for (const a of def.args) if (a.default !== undefined) full[a.name] = a.default;
  return def.normalize ? def.normalize({ ...full, ...args }, inputs) : full;
}

function run(op: string, inputs: RefTensor[], attrs: Attrs): RefTensor {
  return getOp(op)!.reference(inputs, attrs)[0]!;
}

describe("op table", () => {
  it("registers every v1 op", () => {
    expect(Object.keys(OPS).sort()).toEqual(
      [
        "add", "avgpool2d", "batchnorm", "concat", "conv2d", "dense", "dropout", "embedding", "flatten", "gelu",
        "global_avgpool2d", "layernorm", "leaky_relu", "maxpool2d", "mul", "positional_encoding", "relu", "reshape", "sigmoid", "softmax", "tanh",
        "transpose", "mean", "gated_sum",
        "multihead_attention", "padding_mask", "random_normal", "reparameterize",
      ].sort(),
    );
  });
});

describe("erf", () => {
  it("matches libm to ~1e-15", () => {
    // Values from CPython math.erf / math.erfc (correctly rounded libm).
    expect(Math.abs(erf(0.5) - 0.5204998778130465)).toBeLessThan(1e-15);
    expect(Math.abs(erf(1) - 0.8427007929497149)).toBeLessThan(1e-15);
    expect(Math.abs(erf(2.6) - 0.9997639655834707)).toBeLessThan(1e-15);
    expect(Math.abs(erf(-1.5) + 0.9661051464753108)).toBeLessThan(1e-15);
    expect(erfc(6) / 2.1519736712498916e-17).toBeCloseTo(1, 12);
    expect(erfc(4) / 1.541725790028002e-8).toBeCloseTo(1, 12);
    expect(erf(0)).toBe(0);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erf(Infinity)).toBe(1);
  });
});

describe("activations", () => {
  it("relu, leaky_relu, sigmoid, tanh", () => {
    expect([...run("relu", [t([3], [-1, 0, 2])], {}).data]).toEqual([0, 0, 2]);
    expect([...run("leaky_relu", [t([2], [-2, 3])], { alpha: 0.1 }).data]).toEqual([-0.2, 3]);
    const s = run("sigmoid", [t([3], [0, -800, 3])], {}).data;
    expect(s[0]).toBe(0.5);
    expect(s[1]).toBe(0);
    expect(s[2]).toBeCloseTo(1 - 0.04742587317756678, 15);
    expect(run("tanh", [t([1], [0.5])], {}).data[0]).toBeCloseTo(Math.tanh(0.5), 15);
    expect(attrsOf("leaky_relu", {}, [f32("N", 3)])).toEqual({ alpha: 0.01 });
  });
  it("gelu exact (erf) and tanh approximation", () => {
    const g = run("gelu", [t([2], [1, -3])], { approximate: "none" }).data;
    expect(Math.abs(g[0]! - 0.8413447460685429)).toBeLessThan(1e-15);
    expect(Math.abs(g[1]! + 0.004049694094890287)).toBeLessThan(1e-17);
    expect(run("gelu", [t([1], [1])], { approximate: "tanh" }).data[0]).toBeCloseTo(0.8411919906082768, 15);
    expect(() => attrsOf("gelu", { approximate: "fast" }, [f32("N", 3)])).toThrow(OpArgError);
  });
  it("refuses non-float inputs", () => {
    expect(() => OPS.relu!.infer([{ dtype: "i32", shape: ["N", 3] }], {})).toThrow(OpDTypeError);
  });
});

describe("add / mul broadcasting", () => {
  it("infers NumPy shapes with the batch rule", () => {
    expect(OPS.add!.infer([f32("N", 3, 1), f32(4)], {})[0]!.shape).toEqual(["N", 3, 4]);
    expect(OPS.mul!.infer([f32("N", 1), f32(1, 5)], {})[0]!.shape).toEqual(["N", 5]);
    expect(OPS.add!.infer([f32("N", 4), f32()], {})[0]!.shape).toEqual(["N", 4]);
    expect(() => OPS.add!.infer([f32("N", 32), f32("N", 16)], {})).toThrow("add: cannot broadcast [N, 32] with [N, 16]");
    expect(() => OPS.add!.infer([f32("N", 3), f32(2, 3)], {})).toThrow("cannot broadcast [N, 3] with [2, 3]");
    expect(() => OPS.add!.infer([f32("N"), { dtype: "i32", shape: ["N"] }], {})).toThrow(OpDTypeError);
    // Found by the fuzzer: different ranks would move the batch dimension off axis 0.
    expect(() => OPS.add!.infer([f32("N", 1, 4), f32("N", 4)], {})).toThrow("the batch dimension N would land on axis 1");
  });
  it("broadcasts in the reference", () => {
    const y = run("add", [t([2, 3, 1], [1, 2, 3, 4, 5, 6]), t([2], [10, 20])], {});
    expect(y.shape).toEqual([2, 3, 2]);
    expect([...y.data]).toEqual([11, 21, 12, 22, 13, 23, 14, 24, 15, 25, 16, 26]);
    const m = run("mul", [t([2, 2], [1, 2, 3, 4]), t([], [0.5])], {});
    expect([...m.data]).toEqual([0.5, 1, 1.5, 2]);
  });
});

describe("dense", () => {
  it("computes x W^T + b with PyTorch params", () => {
    const y = run("dense", [t([1, 2], [1, 2]), t([3, 2], [1, 0, 0, 1, 1, 1]), t([3], [0.5, 0, -1])], { units: 3, bias: true });
    expect(y.shape).toEqual([1, 3]);
    expect([...y.data]).toEqual([1.5, 2, 2]);
    const ps = OPS.dense!.params!([f32("N", 4)], { units: 3, bias: true });
    expect(ps.map((p) => [p.suffix, p.shape])).toEqual([["weight", [3, 4]], ["bias", [3]]]);
    expect(ps[0]!.init).toEqual({ kind: "uniform", low: -0.5, high: 0.5 });
    expect(OPS.dense!.infer([f32("N", 4), f32(3, 4), f32(3)], { units: 3, bias: true })[0]!.shape).toEqual(["N", 3]);
    expect(() => attrsOf("dense", { units: 0 }, [f32("N", 4)])).toThrow(OpArgError);
    expect(() => OPS.dense!.infer([f32("N", 5), f32(3, 4), f32(3)], { units: 3, bias: true })).toThrow(/weight \[3, 4\]/);
  });
});

describe("conv2d", () => {
  const x = t([1, 1, 4, 4], iota(16));
  const x4 = f32("N", 1, 4, 4);
  it("valid, stride 2 + padding 1, dilation 2", () => {
    let a = attrsOf("conv2d", { out_channels: 1, kernel: 3 }, [x4]);
    expect(a).toEqual({ out_channels: 1, kernel: [3, 3], stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1, bias: true });
    expect(OPS.conv2d!.infer([x4, f32(1, 1, 3, 3), f32(1)], a)[0]!.shape).toEqual(["N", 1, 2, 2]);
    expect([...run("conv2d", [x, t([1, 1, 3, 3], ones(9)), t([1], [0])], a).data]).toEqual([54, 63, 90, 99]);
    a = attrsOf("conv2d", { out_channels: 1, kernel: 3, stride: 2, padding: 1, bias: false }, [x4]);
    expect([...run("conv2d", [x, t([1, 1, 3, 3], ones(9))], a).data]).toEqual([14, 30, 57, 99]);
    a = attrsOf("conv2d", { out_channels: 1, kernel: 2, dilation: 2, bias: false }, [x4]);
    expect([...run("conv2d", [x, t([1, 1, 2, 2], ones(4))], a).data]).toEqual([24, 28, 40, 44]);
  });
  it("groups and bias", () => {
    const a = attrsOf("conv2d", { out_channels: 2, kernel: 1, groups: 2 }, [f32("N", 2, 1, 2)]);
    const y = run("conv2d", [t([1, 2, 1, 2], [1, 2, 3, 4]), t([2, 1, 1, 1], [2, 3]), t([2], [1, -1])], a);
    expect([...y.data]).toEqual([3, 5, 8, 11]);
    const ps = OPS.conv2d!.params!([f32("N", 4, 8, 8)], attrsOf("conv2d", { out_channels: 6, kernel: 3, groups: 2 }, [f32("N", 4, 8, 8)]));
    expect(ps[0]!.shape).toEqual([6, 2, 3, 3]);
    expect(ps[0]!.init).toEqual({ kind: "uniform", low: -1 / Math.sqrt(18), high: 1 / Math.sqrt(18) });
    expect(() => attrsOf("conv2d", { out_channels: 6, kernel: 3, groups: 3 }, [f32("N", 4, 8, 8)])).toThrow(/groups 3 does not divide the 4 input/);
    expect(() => attrsOf("conv2d", { out_channels: 3, kernel: 3, groups: 2 }, [f32("N", 4, 8, 8)])).toThrow(OpArgError);
    expect(() => attrsOf("conv2d", { out_channels: 3, kernel: 0 }, [x4])).toThrow(OpArgError);
  });
  it('"same" padding follows TF/PyTorch, extra pixel bottom/right', () => {
    const pad = (H: number, k: number, s: number, d = 1) =>
      attrsOf("conv2d", { out_channels: 1, kernel: k, stride: s, dilation: d, padding: "same" }, [f32("N", 1, H, H)])["padding"];
    expect(pad(4, 3, 2)).toEqual([0, 0, 1, 1]);
    expect(pad(5, 3, 2)).toEqual([1, 1, 1, 1]);
    expect(pad(4, 4, 1)).toEqual([1, 1, 2, 2]);
    expect(pad(8, 3, 1, 2)).toEqual([2, 2, 2, 2]);
    expect(attrsOf("conv2d", { out_channels: 1, kernel: 3, padding: [1, 2] }, [x4])["padding"]).toEqual([1, 2, 1, 2]);
    expect(attrsOf("conv2d", { out_channels: 1, kernel: 3, padding: [0, 1, 2, 3] }, [x4])["padding"]).toEqual([0, 1, 2, 3]);
  });
  it("reports a kernel larger than the input", () => {
    const a = attrsOf("conv2d", { out_channels: 1, kernel: 5 }, [x4]);
    expect(() => OPS.conv2d!.infer([x4, f32(1, 1, 5, 5), f32(1)], a)).toThrow(OpTypeError);
    expect(() => OPS.conv2d!.infer([f32("N", 1, 4), f32(1, 1, 5, 5)], a)).toThrow(/rank-4 input \[N, C, H, W\], got \[N, 1, 4\]/);
  });
});

describe("pooling", () => {
  it("maxpool2d ceil_mode and PyTorch's last-window rule", () => {
    const a = attrsOf("maxpool2d", { kernel: 2, ceil_mode: true }, [f32("N", 1, 5, 5)]);
    expect(a).toEqual({ kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], dilation: [1, 1], ceil_mode: true });
    const y = run("maxpool2d", [t([1, 1, 5, 5], iota(25))], a);
    expect(y.shape).toEqual([1, 1, 3, 3]);
    expect([...y.data]).toEqual([7, 9, 10, 17, 19, 20, 22, 24, 25]);
    // H=3, k=2, s=2, pad=1: ceil gives 3 windows but the third would start in the right padding.
    expect(poolOutSize(3, 1, 2, 2, 1, true)).toBe(2);
    expect(poolOutSize(3, 1, 2, 2, 1, false)).toBe(2);
    expect(poolOutSize(6, 0, 3, 2, 1, true)).toBe(3);
    expect(poolOutSize(6, 0, 3, 2, 1, false)).toBe(2);
  });
  it("maxpool2d padding is -inf and NaN propagates", () => {
    const a = attrsOf("maxpool2d", { kernel: 3, stride: 1, padding: 1 }, [f32("N", 1, 2, 2)]);
    expect([...run("maxpool2d", [t([1, 1, 2, 2], [-5, -6, -7, -8])], a).data]).toEqual([-5, -5, -5, -5]);
    expect(run("maxpool2d", [t([1, 1, 2, 2], [1, NaN, 3, 4])], a).data[0]).toBeNaN();
    expect(() => attrsOf("maxpool2d", { kernel: 2, padding: 2 }, [f32("N", 1, 4, 4)])).toThrow(/at most half/);
  });
  it("avgpool2d count_include_pad and ceil clipping", () => {
    const x = t([1, 1, 3, 3], iota(9));
    const inc = attrsOf("avgpool2d", { kernel: 3, stride: 1, padding: 1 }, [f32("N", 1, 3, 3)]);
    const exc = attrsOf("avgpool2d", { kernel: 3, stride: 1, padding: 1, count_include_pad: false }, [f32("N", 1, 3, 3)]);
    const yi = run("avgpool2d", [x], inc).data;
    const ye = run("avgpool2d", [x], exc).data;
    expect(yi[0]).toBeCloseTo(12 / 9, 15);
    expect(ye[0]).toBe(3);
    expect(yi[1]).toBeCloseTo(21 / 9, 15);
    expect(ye[1]).toBe(3.5);
    expect(yi[4]).toBe(5);
    const c = attrsOf("avgpool2d", { kernel: 2, ceil_mode: true }, [f32("N", 1, 5, 5)]);
    const yc = run("avgpool2d", [t([1, 1, 5, 5], iota(25))], c);
    expect(yc.shape).toEqual([1, 1, 3, 3]);
    expect(yc.data[2]).toBe(7.5); // window clipped to [5, 10]: divisor 2
    expect(yc.data[8]).toBe(25); // 1x1 window
  });
  it("global_avgpool2d", () => {
    expect(OPS.global_avgpool2d!.infer([f32("N", 3, 4, 4)], {})[0]!.shape).toEqual(["N", 3, 1, 1]);
    expect([...run("global_avgpool2d", [t([1, 2, 1, 2], [1, 2, 3, 5])], {}).data]).toEqual([1.5, 4]);
  });
});

describe("shape ops", () => {
  it("flatten", () => {
    expect(OPS.flatten!.infer([f32("N", 2, 3, 4)], attrsOf("flatten", {}, [f32("N", 2, 3, 4)]))[0]!.shape).toEqual(["N", 24]);
    expect(attrsOf("flatten", { start_dim: -2 }, [f32("N", 2, 3, 4)])).toEqual({ start_dim: 2 });
    expect(() => attrsOf("flatten", { start_dim: 0 }, [f32("N", 2)])).toThrow(/batch axis/);
  });
  it("reshape with one -1", () => {
    const x = f32("N", 2, 3, 4);
    expect(attrsOf("reshape", { shape: [-1, 4] }, [x])).toEqual({ shape: [6, 4] });
    expect(OPS.reshape!.infer([x], { shape: [6, 4] })[0]!.shape).toEqual(["N", 6, 4]);
    expect(() => attrsOf("reshape", { shape: [5, -1] }, [x])).toThrow("reshape: cannot reshape [N, 2, 3, 4] to [N, 5, -1]");
    expect(() => attrsOf("reshape", { shape: [-1, -1] }, [x])).toThrow(OpArgError);
    expect(() => attrsOf("reshape", { shape: [0, 24] }, [x])).toThrow(OpArgError);
  });
  it("concat", () => {
    const a = attrsOf("concat", { axis: -1 }, [f32("N", 2, 3), f32("N", 2, 1)]);
    expect(a).toEqual({ axis: 2 });
    expect(OPS.concat!.infer([f32("N", 2, 3), f32("N", 2, 1)], a)[0]!.shape).toEqual(["N", 2, 4]);
    const y = run("concat", [t([1, 2, 2], [1, 2, 3, 4]), t([1, 2, 1], [9, 8])], a);
    expect([...y.data]).toEqual([1, 2, 9, 3, 4, 8]);
    expect(() => OPS.concat!.infer([f32("N", 2, 3), f32("N", 3, 1)], a)).toThrow("concat: cannot join [N, 2, 3] with [N, 3, 1] along axis 2");
    expect(() => attrsOf("concat", { axis: 0 }, [f32("N", 2)])).toThrow(/batch axis/);
  });
});

describe("batchnorm, softmax, dropout", () => {
  it("batchnorm inference form and PyTorch params", () => {
    const y = run(
      "batchnorm",
      [t([1, 2, 1, 1], [1, 2]), t([2], [2, 1]), t([2], [1, 0]), t([2], [0, 1]), t([2], [3, 0])],
      { eps: 1, momentum: 0.1 },
    );
    expect([...y.data]).toEqual([2, 1]);
    const ps = OPS.batchnorm!.params!([f32("N", 3, 4, 4)], { eps: 1e-5, momentum: 0.1 });
    expect(ps.map((p) => [p.suffix, p.kind, p.init.kind, p.shape])).toEqual([
      ["weight", "param", "ones", [3]],
      ["bias", "param", "zeros", [3]],
      ["running_mean", "state", "zeros", [3]],
      ["running_var", "state", "ones", [3]],
    ]);
  });
  it("softmax is stable for large logits", () => {
    const y = run("softmax", [t([1, 3], [90, 91, 92])], { axis: 1 }).data;
    expect(y[0]).toBeCloseTo(0.09003057317038046, 15);
    expect(y[1]).toBeCloseTo(0.24472847105479764, 15);
    expect(y[2]).toBeCloseTo(0.6652409557748218, 15);
    const z = run("softmax", [t([1, 2, 2], [0, 0, 1000, 0])], { axis: 1 }).data;
    expect([...z]).toEqual([0, 0.5, 1, 0.5]);
    expect(attrsOf("softmax", {}, [f32("N", 10)])).toEqual({ axis: 1 });
  });
  it("dropout is the identity and train-only", () => {
    expect([...run("dropout", [t([2], [1, 2])], { p: 0.5 }).data]).toEqual([1, 2]);
    expect(OPS.dropout!.trainOnly).toBe(true);
    expect(() => attrsOf("dropout", { p: 1.5 }, [f32("N", 2)])).toThrow(OpArgError);
  });
});

describe("cost", () => {
  it("counts a multiply-add as 2 flops", () => {
    const c = OPS.dense!.cost([f32("N", 4), f32(3, 4), f32(3)], [f32("N", 3)], { units: 3, bias: true }, 2);
    expect(c.flops).toBe(2 * 3 * 4 * 2 + 6);
    expect(c.bytes).toBe(4 * (8 + 12 + 3 + 6));
  });
});
