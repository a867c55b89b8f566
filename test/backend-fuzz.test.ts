// Seeded random conv2d / pooling / broadcasting configurations against the float64 reference
// (unoptimized builds, to keep the test fast; optimized ones are covered by backend-ops.test.ts).

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { rng, worstError } from "./backend.helpers.js";

const U = { kind: "uniform" as const, low: -1, high: 1 };

describe("random conv2d configurations", () => {
  const r = rng(2024);
  const int = (lo: number, hi: number) => Math.min(hi, lo + Math.floor(r(0, 1) * (hi - lo + 1)));
  for (let t = 0; t < 12; t++) {
    const groups = [1, 1, 2, 3][int(0, 3)]!;
    const C = groups * int(1, 3);
    const O = groups * int(1, 3);
    const kh = int(1, 4);
    const kw = int(1, 4);
    const sh = int(1, 3);
    const sw = int(1, 3);
    const dh = int(1, 2);
    const dw = int(1, 2);
    const pad = [int(0, 2), int(0, 2), int(0, 2), int(0, 2)];
    const H = (kh - 1) * dh + 1 + int(0, 6);
    const W = (kw - 1) * dw + 1 + int(0, 6);
    const bias = int(0, 1) === 1;
    const attrs = { out_channels: O, kernel: [kh, kw], stride: [sh, sw], padding: pad, dilation: [dh, dw], groups, bias };
    it(`C${C} O${O} ${H}x${W} ${JSON.stringify(attrs)}`, async () => {
      const b = new GraphBuilder("c");
      const x = b.input("x", "f32", [C, H, W]);
      const ps = [b.param("w", [O, C / groups, kh, kw], U), ...(bias ? [b.param("b", [O], U)] : [])];
      const [y] = b.node("conv2d", [x, ...ps], attrs);
      b.output("y", y!);
      expect(await worstError(b.build(), { batches: [1, 2], optimize: false, seed: t })).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe("conv2d as implicit GEMM (stride-1 columns, Wo >= 8: plan.ts convImplicit)", () => {
  // [C, O, H, W, kernel, stride, padding, dilation, groups, bias, relu]: Wo a multiple of 8 or not (the last block
  // shifted left), O % 4 != 0 (single-row tail), unpadded (B is the input), row stride 2, groups, dilation.
  const cases: [number, number, number, number, number[], number[], number[], number[], number, boolean, boolean][] = [
    [1, 8, 9, 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1, true, true],
    [3, 6, 7, 13, [3, 2], [1, 1], [0, 2, 1, 0], [1, 1], 1, false, false],
    [4, 5, 6, 10, [2, 3], [2, 1], [0, 0, 0, 0], [2, 1], 1, true, true],
    [4, 6, 8, 12, [3, 3], [1, 1], [1, 1, 1, 1], [1, 2], 2, true, false],
    [2, 9, 5, 9, [1, 1], [1, 1], [0, 1, 0, 0], [1, 1], 1, true, true],
  ];
  for (const [C, O, H, W, kernel, stride, padding, dilation, groups, bias, relu] of cases) {
    const attrs = { out_channels: O, kernel, stride, padding, dilation, groups, bias };
    it(`C${C} O${O} ${H}x${W} ${JSON.stringify(attrs)}${relu ? " + relu" : ""}`, async () => {
      const b = new GraphBuilder("c");
      const x = b.input("x", "f32", [C, H, W]);
      const ps = [b.param("w", [O, C / groups, ...kernel], U), ...(bias ? [b.param("b", [O], U)] : [])];
      let [y] = b.node("conv2d", [x, ...ps], attrs);
      if (relu) [y] = b.node("relu", [y!], {});
      b.output("y", y!);
      expect(await worstError(b.build(), { batches: [1, 3], optimize: false })).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe("random pooling configurations", () => {
  const r = rng(77);
  const int = (lo: number, hi: number) => Math.min(hi, lo + Math.floor(r(0, 1) * (hi - lo + 1)));
  for (let t = 0; t < 8; t++) {
    const k = int(1, 4);
    const s = int(1, 3);
    const p = int(0, Math.floor(k / 2));
    const H = k + int(0, 6);
    const W = k + int(0, 6);
    const ceil = int(0, 1) === 1;
    const op = t % 2 ? "maxpool2d" : "avgpool2d";
    const attrs =
      op === "maxpool2d"
        ? { kernel: [k, k], stride: [s, s], padding: [p, p, p, p], dilation: [1, 1], ceil_mode: ceil }
        : { kernel: [k, k], stride: [s, s], padding: [p, p, p, p], ceil_mode: ceil, count_include_pad: int(0, 1) === 1 };
    it(`${op} ${H}x${W} ${JSON.stringify(attrs)}`, async () => {
      const b = new GraphBuilder("p");
      const x = b.input("x", "f32", [2, H, W]);
      const [y] = b.node(op, [x], attrs);
      b.output("y", y!);
      expect(await worstError(b.build(), { batches: [1, 3], optimize: false })).toBeLessThanOrEqual(1e-5);
    });
  }
});
