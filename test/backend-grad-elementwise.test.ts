// wasm kernels of the elementwise/shape backward ops and the optimizer updates vs their float64
// references (SIMD and scalar builds, batches 1, 3, 64). Neighbours: test/kernel-harness.ts.

import { describe, expect, it } from "vitest";
import { checkCase, countAt, f32In, type KernelCase } from "./kernel-harness.js";

const TOL = 1e-5;
const g = (shape: (number | "N")[], seed: number) => f32In(shape, seed);

describe("activation grads", () => {
  for (const w of [7, 13, 33])
    for (const [op, attrs] of [
      ["relu_grad", {}],
      ["leaky_relu_grad", { alpha: 0.1 }],
      ["sigmoid_grad", {}],
      ["tanh_grad", {}],
      ["gelu_grad", { approximate: "none" }],
      ["gelu_grad", { approximate: "tanh" }],
    ] as const)
      it(`${op} ${JSON.stringify(attrs)} width ${w}`, async () => {
        const kc: KernelCase = { op, attrs, inputs: [f32In(["N", w], 1, -4, 4), g(["N", w], 2)] };
        expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
      });
  it("relu_grad: exactly 0 gives 0, NaN passes g, on fixed (no-batch) values too", async () => {
    const xs = [0, -0, 1, -1, NaN, 2, 0, NaN, -3];
    const kc: KernelCase = { op: "relu_grad", attrs: {}, inputs: [{ shape: ["N", 9], data: (B) => Array.from({ length: 9 * B }, (_, i) => xs[i % 9]!) }, g(["N", 9], 3)] };
    expect(await checkCase(kc)).toBe(0);
    const fixed: KernelCase = { op: "relu_grad", attrs: {}, inputs: [{ shape: [9], data: () => xs }, g([9], 4)] };
    expect(await checkCase(fixed)).toBe(0);
  });
});

describe("softmax_grad", () => {
  for (const [shape, axis] of [
    [["N", 7], 1],
    [["N", 33], 1],
    [["N", 3, 13], 1],
    [["N", 3, 13], 2],
    [["N", 5, 4, 6], 2],
  ] as [(number | "N")[], number][])
    it(`shape ${JSON.stringify(shape)} axis ${axis}`, async () => {
      const kc: KernelCase = { op: "softmax_grad", attrs: { axis }, inputs: [f32In(shape, 5, 0, 1), g(shape, 6)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
});

describe("reduce_sum_to / channel_sum / slice", () => {
  for (const [from, to] of [
    [["N", 13], [13]],
    [["N", 13], [-1, 13]],
    [["N", 7, 5, 5], [7, 1, 1]],
    [["N", 7, 5, 5], [-1, 7, 1, 1]],
    [["N", 3, 33], [1, 33]],
    [["N", 3, 33], [3, 1]],
    [["N", 4, 6, 7], [6, 1]],
    [["N", 5], [1]],
  ] as [(number | "N")[], number[]][])
    it(`reduce_sum_to ${JSON.stringify(from)} -> ${JSON.stringify(to)}`, async () => {
      const kc: KernelCase = { op: "reduce_sum_to", attrs: { shape: to }, inputs: [g(from, 7)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
  for (const [shape, axis] of [
    [["N", 13], 1],
    [["N", 7, 5, 5], 1],
    [["N", 4, 33], 2],
    [["N", 3, 6, 7], 2],
    [[6, 7], 0],
  ] as [(number | "N")[], number][])
    it(`channel_sum ${JSON.stringify(shape)} axis ${axis}`, async () => {
      const kc: KernelCase = { op: "channel_sum", attrs: { axis }, inputs: [g(shape, 8)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
  for (const [shape, axis, start, end] of [
    [["N", 13], 1, 3, 10],
    [["N", 7, 5, 5], 1, 2, 7],
    [["N", 4, 6, 7], 2, 0, 1],
  ] as [(number | "N")[], number, number, number][])
    it(`slice ${JSON.stringify(shape)} axis ${axis} [${start}, ${end})`, async () => {
      const kc: KernelCase = { op: "slice", attrs: { axis, start, end }, inputs: [g(shape, 9)] };
      expect(await checkCase(kc)).toBe(0);
    });
});

describe("optimizer updates", () => {
  const scalar = (v: number) => ({ shape: [1], data: () => [v] });
  for (const shape of [[7], [13, 33]]) {
    const n = countAt(shape, 1);
    it(`sgd_update ${JSON.stringify(shape)}`, async () => {
      const kc: KernelCase = { op: "sgd_update", attrs: { weight_decay: 0.01 }, inputs: [g(shape, 1), g(shape, 2), scalar(0.1)] };
      expect(await checkCase(kc, [1])).toBeLessThanOrEqual(TOL);
    });
    for (const step of [1, 2])
      for (const nesterov of [false, true])
        it(`momentum_update ${JSON.stringify(shape)} step ${step} nesterov ${nesterov}`, async () => {
          const kc: KernelCase = {
            op: "momentum_update",
            attrs: { momentum: 0.9, dampening: 0.1, weight_decay: 0.01, nesterov },
            inputs: [g(shape, 1), g(shape, 2), g(shape, 3), scalar(0.05), scalar(step)],
          };
          expect(await checkCase(kc, [1])).toBeLessThanOrEqual(TOL);
        });
    it(`scale and global_norm ${JSON.stringify(shape)} (${n} elements)`, async () => {
      expect(await checkCase({ op: "scale", attrs: {}, inputs: [g(shape, 4), scalar(0.37)] }, [1])).toBeLessThanOrEqual(TOL);
      for (const maxNorm of [0.5, 100])
        expect(await checkCase({ op: "global_norm", attrs: { max_norm: maxNorm }, inputs: [g(shape, 5), g([7], 6), g(["N", 3], 7)] })).toBeLessThanOrEqual(TOL);
    });
  }
});
