// wasm kernels of batchnorm in training form and dropout_train vs their float64 references (SIMD and
// scalar builds, batches 1 (where defined), 3, 64); the dropout mask must match bit for bit.

import { describe, expect, it } from "vitest";
import { buildKernel, checkCase, f32In, reference, type CaseInput, type KernelCase } from "./kernel-harness.js";

const TOL = 1e-5;

describe("batchnorm training form", () => {
  for (const shape of [["N", 7], ["N", 3, 13], ["N", 5, 6, 7], ["N", 2, 33]] as (number | "N")[][]) {
    const C = shape[1] as number;
    const batches = shape.length === 2 ? [3, 64] : [1, 3, 64];
    it(`batchnorm_train ${JSON.stringify(shape)}`, async () => {
      const kc: KernelCase = { op: "batchnorm_train", attrs: { eps: 1e-5, momentum: 0.1 }, inputs: [f32In(shape, 1, 1, 3), f32In([C], 2), f32In([C], 3)] };
      expect(await checkCase(kc, batches)).toBeLessThanOrEqual(TOL);
    });
    it(`batchnorm_grad ${JSON.stringify(shape)}`, async () => {
      const kc: KernelCase = {
        op: "batchnorm_grad",
        attrs: { eps: 1e-5 },
        inputs: [f32In(shape, 4), f32In(shape, 5, 1, 3), f32In([C], 6), f32In([C], 7, 1.5, 2.5), f32In([C], 8, 0.2, 1)],
      };
      expect(await checkCase(kc, batches)).toBeLessThanOrEqual(TOL);
    });
  }
  it("batchnorm_stats_update (13 channels)", async () => {
    const kc: KernelCase = { op: "batchnorm_stats_update", attrs: { momentum: 0.1 }, inputs: [1, 2, 3, 4].map((s) => f32In([13], s)) };
    expect(await checkCase(kc, [1])).toBeLessThanOrEqual(TOL);
  });
});

describe("dropout_train", () => {
  const rngIn = (seed: number, step: number): CaseInput => ({ dtype: "i32", shape: [2], data: () => [seed, step] });
  for (const p of [0, 0.1, 0.5, 0.9, 1])
    for (const w of [7, 33])
      it(`p ${p} width ${w}: mask bit-exact, values within 1e-6`, async () => {
        const kc: KernelCase = { op: "dropout_train", attrs: { p, salt: 3 }, inputs: [f32In(["N", w], 9, 0.5, 2), rngIn(12345, 7)] };
        for (const simd of [true, false]) {
          const km = await buildKernel(kc, simd, 64);
          for (const B of [1, 3, 64]) {
            const data = kc.inputs.map((i) => i.data(B));
            const [got] = km.run(data, B);
            const [ref] = reference(kc, data as ArrayLike<number>[], B);
            for (let k = 0; k < got!.length; k++) {
              expect(got![k] === 0).toBe(ref!.data[k] === 0);
              expect(Math.abs(got![k]! - ref!.data[k]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref!.data[k]!)));
            }
          }
        }
      });
  it("different seeds, steps and salts give different masks", async () => {
    const masks = new Set<string>();
    for (const [seed, step, salt] of [[1, 1, 0], [2, 1, 0], [1, 2, 0], [1, 1, 1]] as const) {
      const kc: KernelCase = { op: "dropout_train", attrs: { p: 0.5, salt }, inputs: [f32In(["N", 16], 1, 0.5, 2), rngIn(seed, step)] };
      const km = await buildKernel(kc, true, 4);
      const [got] = km.run(kc.inputs.map((i) => i.data(4)), 4);
      masks.add(Array.from(got!, (v) => (v === 0 ? "0" : "1")).join(""));
    }
    expect(masks.size).toBe(4);
  });
});
