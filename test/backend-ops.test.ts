// Every op of the wasm backend against the float64 reference interpreter: SIMD (embedded weights)
// and scalar (weights blob copied by the loader) builds, batches 1, 3 and 64, max abs error <= 1e-5.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import type { Attrs } from "../compiler/ir/types.js";
import { worstError } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -1, high: 1 };
const TOL = 1e-5;

/** One-op graph: input [N, ...shape], the op with params created from the op's names. */
function single(op: string, shape: number[], attrs: Attrs, params: [string, number[]][] = []) {
  const b = new GraphBuilder(op);
  const x = b.input("x", "f32", shape);
  const ps = params.map(([n, s]) => b.param(`l.${n}`, s, U, n.startsWith("running") ? "state" : "param"));
  const [y] = b.node(op, [x, ...ps], attrs);
  b.output("y", y!);
  return b.build();
}

describe("dense", () => {
  for (const [inF, out] of [[7, 13], [33, 7], [16, 8], [1, 1], [13, 33]] as const)
    it(`in ${inF} -> out ${out} with bias`, async () => {
      const g = single("dense", [inF], { units: out, bias: true }, [["weight", [out, inF]], ["bias", [out]]]);
      expect(await worstError(g)).toBeLessThanOrEqual(TOL);
    });
  it("in 2000 -> out 13: several A row chunks (16 rows each at K = 2000), rows and columns past the blocks", async () => {
    // gemm_packed caches A in chunks of rowBlock(K) rows: batch 37 = 16 + 16 + 5 (one 4-row block + one row);
    // 13 columns = one 8-column panel + the tail (a lane group + a single column). Small inputs keep the f32
    // rounding of 2000-term sums far below the tolerance; an indexing slip shows as an O(1) error.
    const g = single("dense", [2000], { units: 13, bias: true }, [["weight", [13, 2000]], ["bias", [13]]]);
    expect(await worstError(g, { batches: [1, 5, 37], lo: -0.05, hi: 0.05 })).toBeLessThanOrEqual(TOL);
  });
  it("in 21 -> out 59: lone rows over 3 panels at once, then single panels, then the tail panel", async () => {
    // Rows past the last 4-row block go 3 panels (24 columns) at a time: 59 = 2 x 24 + one 8-column panel + 3
    // tail columns. Batches 1 and 3 are all lone rows; 5 = one block + one lone row.
    const g = single("dense", [21], { units: 59, bias: true }, [["weight", [59, 21]], ["bias", [59]]]);
    expect(await worstError(g, { batches: [1, 3, 5] })).toBeLessThanOrEqual(TOL);
  });
  it("no bias, 3-D input [N, 5, 9] -> [N, 5, 6]", async () => {
    const g = single("dense", [5, 9], { units: 6, bias: false }, [["weight", [6, 9]]]);
    expect(await worstError(g)).toBeLessThanOrEqual(TOL);
  });
});

describe("conv2d", () => {
  const conv = (C: number, H: number, W: number, a: Partial<Record<string, unknown>> & { out_channels: number; kernel: [number, number] }) => {
    const attrs = { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1, bias: true, ...a } as Attrs;
    const g = (attrs["groups"] as number) ?? 1;
    const ps: [string, number[]][] = [["weight", [a.out_channels, C / g, ...a.kernel]]];
    if (attrs["bias"]) ps.push(["bias", [a.out_channels]]);
    return single("conv2d", [C, H, W], attrs, ps);
  };
  const cases: [string, () => ReturnType<typeof single>][] = [
    ["3x3 valid", () => conv(3, 7, 9, { out_channels: 5, kernel: [3, 3] })],
    ["3x3 SAME stride 2 (pad bottom/right)", () => conv(2, 8, 8, { out_channels: 4, kernel: [3, 3], stride: [2, 2], padding: [0, 0, 1, 1] })],
    ["5x3 asymmetric padding, dilation 2", () => conv(3, 11, 10, { out_channels: 6, kernel: [5, 3], padding: [2, 1, 3, 0], dilation: [2, 2] })],
    ["groups 2, no bias", () => conv(4, 6, 6, { out_channels: 6, kernel: [3, 3], groups: 2, bias: false, padding: [1, 1, 1, 1] })],
    ["depthwise 3x3", () => conv(5, 7, 7, { out_channels: 5, kernel: [3, 3], groups: 5, padding: [1, 1, 1, 1] })],
    ["depthwise 3x3 stride 2, asymmetric pad, width 29", () => conv(3, 9, 29, { out_channels: 3, kernel: [3, 3], stride: [2, 2], groups: 3, padding: [0, 0, 1, 1] })],
    ["depthwise 5x3 dilation 2, no bias, width 23", () => conv(4, 11, 23, { out_channels: 4, kernel: [5, 3], dilation: [2, 2], groups: 4, bias: false, padding: [2, 1, 3, 2] })],
    ["depthwise channel multiplier 2 (im2col path)", () => conv(3, 6, 6, { out_channels: 6, kernel: [3, 3], groups: 3, padding: [1, 1, 1, 1] })],
    ["1x1 direct GEMM", () => conv(6, 5, 7, { out_channels: 9, kernel: [1, 1] })],
    ["1x1 stride 2", () => conv(3, 5, 5, { out_channels: 2, kernel: [1, 1], stride: [2, 2] })],
    ["1x1 padding 2 (all-padding rows and columns)", () => conv(2, 3, 4, { out_channels: 3, kernel: [1, 1], padding: [2, 2, 2, 2] })],
    ["2x4 stride [1, 3] dilation [2, 1]", () => conv(3, 9, 13, { out_channels: 4, kernel: [2, 4], stride: [1, 3], dilation: [2, 1], padding: [1, 2, 0, 1] })],
  ];
  for (const [name, mk] of cases)
    it(name, async () => {
      expect(await worstError(mk(), { batches: [1, 3, 8] })).toBeLessThanOrEqual(TOL);
    });
});

describe("pooling", () => {
  it("maxpool 3x3 stride 2 ceil_mode padding 1", async () => {
    const g = single("maxpool2d", [3, 9, 10], { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1], ceil_mode: true });
    expect(await worstError(g)).toBeLessThanOrEqual(TOL);
  });
  it("maxpool 2x2 dilation 2", async () => {
    const g = single("maxpool2d", [2, 8, 7], { kernel: [2, 2], stride: [1, 1], padding: [0, 0, 0, 0], dilation: [2, 2], ceil_mode: false });
    expect(await worstError(g)).toBeLessThanOrEqual(TOL);
  });
  for (const [s, d] of [[1, 1], [2, 1], [3, 2], [2, 2]])
    it(`maxpool 3x3 stride ${s} dilation ${d} pad 1 on width 31 (SIMD interior columns)`, async () => {
      const g = single("maxpool2d", [2, 9, 31], { kernel: [3, 3], stride: [s, s], padding: [1, 1, 1, 1], dilation: [d, d], ceil_mode: s === 2 });
      expect(await worstError(g, { batches: [1, 3] })).toBeLessThanOrEqual(TOL);
    });
  for (const [s, include] of [[1, true], [2, false], [3, true], [2, true]] as const)
    it(`avgpool 3x3 stride ${s} pad 1 count_include_pad=${include} on width 31 (SIMD interior columns)`, async () => {
      const g = single("avgpool2d", [2, 9, 31], { kernel: [3, 3], stride: [s, s], padding: [1, 1, 1, 1], ceil_mode: s === 2, count_include_pad: include });
      expect(await worstError(g, { batches: [1, 3] })).toBeLessThanOrEqual(TOL);
    });
  for (const include of [true, false])
    it(`avgpool 3x3 stride 2 ceil_mode pad 1 count_include_pad=${include}`, async () => {
      const g = single("avgpool2d", [2, 8, 9], { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: true, count_include_pad: include });
      expect(await worstError(g)).toBeLessThanOrEqual(TOL);
    });
  it("global_avgpool2d 7x5", async () => {
    expect(await worstError(single("global_avgpool2d", [6, 7, 5], {}))).toBeLessThanOrEqual(TOL);
  });
});

describe("activations", () => {
  for (const [op, attrs] of [
    ["relu", {}],
    ["leaky_relu", { alpha: 0.1 }],
    ["sigmoid", {}],
    ["tanh", {}],
    ["gelu", { approximate: "none" }],
    ["gelu", { approximate: "tanh" }],
  ] as [string, Attrs][]) {
    it(`${op} ${JSON.stringify(attrs)} on [-6, 6), width 13`, async () => {
      expect(await worstError(single(op, [13], attrs), { lo: -6, hi: 6 })).toBeLessThanOrEqual(TOL);
    });
    it(`${op} ${JSON.stringify(attrs)} at |x| up to 1e4 (no overflow/NaN)`, async () => {
      expect(await worstError(single(op, [2, 7], attrs), { lo: -1e4, hi: 1e4, batches: [1, 5] })).toBeLessThanOrEqual(TOL * 1e4);
    });
  }
});

describe("softmax", () => {
  it("last axis, width 33, logits ~90", async () => {
    expect(await worstError(single("softmax", [33], { axis: 1 }), { lo: 80, hi: 95 })).toBeLessThanOrEqual(TOL);
  });
  it("axis 1 of [N, 5, 3, 2] (strided)", async () => {
    expect(await worstError(single("softmax", [5, 3, 2], { axis: 1 }), { lo: -90, hi: 90 })).toBeLessThanOrEqual(TOL);
  });
  it("axis 2 of [N, 3, 7]", async () => {
    expect(await worstError(single("softmax", [3, 7], { axis: 2 }))).toBeLessThanOrEqual(TOL);
  });
});

describe("batchnorm", () => {
  const bnParams = (C: number): [string, number[]][] => [["weight", [C]], ["bias", [C]], ["running_mean", [C]], ["running_var", [C]]];
  it("2-D [N, C=5, 6, 7]", async () => {
    expect(await worstError(single("batchnorm", [5, 6, 7], { eps: 1e-5, momentum: 0.1 }, bnParams(5)))).toBeLessThanOrEqual(TOL);
  });
  it("1-D [N, C=13]", async () => {
    expect(await worstError(single("batchnorm", [13], { eps: 1e-3, momentum: 0.1 }, bnParams(13)))).toBeLessThanOrEqual(TOL);
  });
});

describe("broadcasting add/mul", () => {
  const two = (op: string, sa: number[], sb: number[], bIsParam: boolean) => {
    const b = new GraphBuilder(op);
    const x = b.input("x", "f32", sa);
    const z = bIsParam ? b.param("p", sb, U) : b.input("z", "f32", sb);
    const [y] = b.node(op, [x, z], {});
    b.output("y", y!);
    return b.build();
  };
  for (const op of ["add", "mul"]) {
    it(`${op} same shape [N, 3, 13]`, async () => expect(await worstError(two(op, [3, 13], [3, 13], false))).toBeLessThanOrEqual(TOL));
    it(`${op} [N, 3, 13] with param [13]`, async () => expect(await worstError(two(op, [3, 13], [13], true))).toBeLessThanOrEqual(TOL));
    it(`${op} [N, 4, 5, 6] with param [4, 1, 1]`, async () => expect(await worstError(two(op, [4, 5, 6], [4, 1, 1], true))).toBeLessThanOrEqual(TOL));
    it(`${op} [N, 3, 1] with [N, 1, 7]`, async () => expect(await worstError(two(op, [3, 1], [1, 7], false))).toBeLessThanOrEqual(TOL));
    it(`${op} [N, 6] with param [1, 6] ("N" vs 1)`, async () => expect(await worstError(two(op, [6], [1, 6], true))).toBeLessThanOrEqual(TOL));
  }
});

describe("shape ops and pass-through", () => {
  it("flatten -> dense (aliased)", async () => {
    const b = new GraphBuilder("f");
    const x = b.input("x", "f32", [2, 3, 5]);
    const [f] = b.node("flatten", [x], { start_dim: 1 });
    const w = b.param("fc.weight", [7, 30], U);
    const [y] = b.node("dense", [f!, w], { units: 7, bias: false });
    b.output("y", y!);
    expect(await worstError(b.build())).toBeLessThanOrEqual(TOL);
  });
  it("reshape as a graph output, concat axis 1 and 2, input passed straight through", async () => {
    const b = new GraphBuilder("s");
    const x = b.input("x", "f32", [2, 6]);
    const z = b.input("z", "f32", [3, 6]);
    const [r] = b.node("relu", [x], {});
    const [c1] = b.node("concat", [r!, z], { axis: 1 });
    const [c2] = b.node("concat", [x, r!], { axis: 2 });
    const [rs] = b.node("reshape", [c1!], { shape: [6, 5] });
    b.output("c2", c2!);
    b.output("rs", rs!);
    b.output("same", x);
    expect(await worstError(b.build())).toBeLessThanOrEqual(TOL);
  });
});
