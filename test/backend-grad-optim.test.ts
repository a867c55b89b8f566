// Optimizer kernels over several steps: adam / adamw / momentum run 3 steps on SIMD and scalar builds,
// state fed back from the kernel's own outputs, compared with the float64 reference iterated alike.

import { describe, expect, it } from "vitest";
import { buildKernel, reference, uniform, worstRelError, type KernelCase } from "./kernel-harness.js";

const TOL = 1e-5;

/** Run `steps` updates; inputs [param, grad, ...state, lr, step] with nState state tensors. */
async function multiStep(op: string, attrs: Record<string, number | boolean>, shape: number[], nState: number, steps: number): Promise<number> {
  const n = shape.reduce((a, b) => a * b, 1);
  const kc: KernelCase = {
    op,
    attrs,
    inputs: [
      ...Array.from({ length: 2 + nState }, () => ({ shape, kind: "param" as const, data: () => new Float32Array(n) })),
      { shape: [1], data: () => [0] },
      ...(op === "sgd_update" ? [] : [{ shape: [1], data: () => [0] }]),
    ],
  };
  let worst = 0;
  for (const simd of [true, false]) {
    const km = await buildKernel(kc, simd, 1);
    let p: ArrayLike<number> = uniform(n, 1);
    let state: ArrayLike<number>[] = Array.from({ length: nState }, () => new Float32Array(n));
    let refP: ArrayLike<number> = Float64Array.from(p);
    let refState: ArrayLike<number>[] = state.map((s) => Float64Array.from(s));
    for (let t = 1; t <= steps; t++) {
      const g = uniform(n, 100 + t);
      const lr = Math.fround(0.01 * t);
      const scalars = op === "sgd_update" ? [[lr]] : [[lr], [t]];
      const got = km.run([p as Float32Array, g, ...(state as Float32Array[]), ...scalars], 1);
      const ref = reference(kc, [refP, g, ...refState, ...scalars], 1);
      worst = Math.max(worst, worstRelError(got, ref));
      [p, ...state] = got;
      [refP, ...refState] = ref.map((r) => r.data);
    }
  }
  return worst;
}

describe("optimizer updates over 3 steps (state fed back)", () => {
  for (const wd of [0, 0.01]) {
    it(`adam_update weight_decay ${wd}`, async () => {
      expect(await multiStep("adam_update", { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: wd }, [13, 7], 2, 3)).toBeLessThanOrEqual(TOL);
    });
    it(`adamw_update weight_decay ${wd}`, async () => {
      expect(await multiStep("adamw_update", { beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: wd }, [33], 2, 3)).toBeLessThanOrEqual(TOL);
    });
    it(`momentum_update weight_decay ${wd} (nesterov and plain)`, async () => {
      for (const nesterov of [false, true])
        expect(await multiStep("momentum_update", { momentum: 0.9, dampening: 0, weight_decay: wd, nesterov }, [5, 7], 1, 3)).toBeLessThanOrEqual(TOL);
    });
    it(`sgd_update weight_decay ${wd}`, async () => {
      expect(await multiStep("sgd_update", { weight_decay: wd }, [13], 0, 3)).toBeLessThanOrEqual(TOL);
    });
  }
  it("adam bias correction at a large step count (step 5000) matches the reference", async () => {
    const kc: KernelCase = {
      op: "adam_update",
      attrs: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 },
      inputs: [
        { shape: [7], data: () => uniform(7, 1) },
        { shape: [7], data: () => uniform(7, 2) },
        { shape: [7], data: () => uniform(7, 3, -0.1, 0.1) },
        { shape: [7], data: () => uniform(7, 4, 0, 0.01) },
        { shape: [1], data: () => [0.001] },
        { shape: [1], data: () => [5000] },
      ],
    };
    for (const simd of [true, false]) {
      const km = await buildKernel(kc, simd, 1);
      const data = kc.inputs.map((i) => i.data(1));
      expect(worstRelError(km.run(data, 1), reference(kc, data as ArrayLike<number>[], 1))).toBeLessThanOrEqual(TOL);
    }
  });
});
