// In-place claims of kernels/train-index.ts IN_PLACE_SAFE: each listed kernel, with its outputs sharing
// the buffers of same-shaped inputs, still matches the float64 reference (SIMD and scalar, batches 1, 3, 64).

import { describe, expect, it } from "vitest";
import { checkCase, f32In, type CaseInput, type KernelCase } from "./kernel-harness.js";
import { IN_PLACE_SAFE } from "../compiler/backend/wasm/kernels/train-index.js";

const TOL = 1e-5;
const s1 = (v: number): CaseInput => ({ shape: [1], data: () => [v] });
const X = ["N", 3, 13] as (number | "N")[];
const P = [13, 7];
const bn = { eps: 1e-5, momentum: 0.1 };

/** One case per op, with every output aliased to an input (output k -> input alias[k]). */
const CASES: Record<string, Omit<KernelCase, "op">[]> = {
  relu_grad: [{ attrs: {}, inputs: [f32In(X, 1), f32In(X, 2)], alias: { 0: 0 } }, { attrs: {}, inputs: [f32In(X, 1), f32In(X, 2)], alias: { 0: 1 } }],
  leaky_relu_grad: [{ attrs: { alpha: 0.2 }, inputs: [f32In(X, 1), f32In(X, 2)], alias: { 0: 1 } }],
  sigmoid_grad: [{ attrs: {}, inputs: [f32In(X, 1, 0, 1), f32In(X, 2)], alias: { 0: 0 } }],
  tanh_grad: [{ attrs: {}, inputs: [f32In(X, 1), f32In(X, 2)], alias: { 0: 1 } }],
  gelu_grad: [{ attrs: { approximate: "none" }, inputs: [f32In(X, 1), f32In(X, 2)], alias: { 0: 0 } }],
  softmax_grad: [
    { attrs: { axis: 2 }, inputs: [f32In(X, 1, 0, 1), f32In(X, 2)], alias: { 0: 1 } },
    { attrs: { axis: 1 }, inputs: [f32In(X, 1, 0, 1), f32In(X, 2)], alias: { 0: 0 } },
  ],
  batchnorm_train: [{ attrs: bn, inputs: [f32In(X, 1), f32In([3], 2), f32In([3], 3)], alias: { 0: 0 } }],
  batchnorm_grad: [
    { attrs: { eps: 1e-5 }, inputs: [f32In(X, 1), f32In(X, 2), f32In([3], 3), f32In([3], 4), f32In([3], 5, 0.5, 1)], alias: { 0: 0 } },
    { attrs: { eps: 1e-5 }, inputs: [f32In(X, 1), f32In(X, 2), f32In([3], 3), f32In([3], 4), f32In([3], 5, 0.5, 1)], alias: { 0: 1 } },
  ],
  batchnorm_stats_update: [{ attrs: { momentum: 0.1 }, inputs: [1, 2, 3, 4].map((k) => f32In([13], k)), alias: { 0: 0, 1: 1 } }],
  dropout_train: [{ attrs: { p: 0.3, salt: 1 }, inputs: [f32In(X, 1), { dtype: "i32", shape: [2], data: () => [5, 9] }], alias: { 0: 0 } }],
  cross_entropy_grad: [
    { attrs: { reduction: "mean", label_smoothing: 0.1 }, inputs: [f32In(["N", 13], 1, -3, 3), { dtype: "i32", shape: ["N"], data: (B) => Array.from({ length: B }, (_, i) => i % 13) }, s1(1)], alias: { 0: 0 } },
  ],
  mse_grad: [{ attrs: { reduction: "mean" }, inputs: [f32In(X, 1), f32In(X, 2), s1(1)], alias: { 0: 1 } }],
  binary_cross_entropy_grad: [{ attrs: { reduction: "sum" }, inputs: [f32In(X, 1), f32In(X, 2, 0, 1), s1(0.5)], alias: { 0: 0 } }],
  kl_divergence_grad: [{ attrs: { reduction: "batchmean", log_target: true }, inputs: [f32In(X, 1), f32In(X, 2), s1(1)], alias: { 0: 1 } }],
  sgd_update: [{ attrs: { weight_decay: 0.1 }, inputs: [f32In(P, 1), f32In(P, 2), s1(0.1)], alias: { 0: 0 } }],
  momentum_update: [
    { attrs: { momentum: 0.9, dampening: 0, weight_decay: 0.1, nesterov: true }, inputs: [f32In(P, 1), f32In(P, 2), f32In(P, 3), s1(0.1), s1(2)], alias: { 0: 0, 1: 2 } },
  ],
  adam_update: [
    { attrs: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1 }, inputs: [f32In(P, 1), f32In(P, 2), f32In(P, 3), f32In(P, 4, 0, 1), s1(0.1), s1(3)], alias: { 0: 0, 1: 2, 2: 3 } },
  ],
  adamw_update: [
    { attrs: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1 }, inputs: [f32In(P, 1), f32In(P, 2), f32In(P, 3), f32In(P, 4, 0, 1), s1(0.1), s1(3)], alias: { 0: 0, 1: 2, 2: 3 } },
  ],
  scale: [{ attrs: {}, inputs: [f32In(X, 1), s1(0.3)], alias: { 0: 0 } }],
  reparameterize_grad: [
    { attrs: {}, inputs: [f32In(X, 1), f32In(X, 2, -2, 2), f32In(X, 3)], alias: { 0: 0 } },
    { attrs: {}, inputs: [f32In(X, 1), f32In(X, 2, -2, 2), f32In(X, 3)], alias: { 0: 2 } },
  ],
};

describe("in-place safe kernels", () => {
  it("every IN_PLACE_SAFE op has a case here", () => {
    expect([...IN_PLACE_SAFE].filter((op) => !CASES[op])).toEqual([]);
  });
  for (const [op, cases] of Object.entries(CASES))
    cases.forEach((c, i) =>
      it(`${op} #${i} with outputs over inputs ${JSON.stringify(c.alias)}`, async () => {
        const fixed = c.inputs[0]!.shape[0] !== "N";
        expect(await checkCase({ op, ...c }, fixed ? [1] : undefined)).toBeLessThanOrEqual(TOL);
      }),
    );
});
