// wasm kernels of the losses and their gradients vs the float64 references (SIMD and scalar builds,
// batches 1, 3, 64): every reduction, label smoothing, logits ±90 (CE), ±100 (BCE), zero KL targets.

import { describe, expect, it } from "vitest";
import { buildKernel, checkCase, countAt, f32In, rand, reference, worstRelError, type CaseInput, type KernelCase } from "./kernel-harness.js";

const TOL = 1e-5;
const gl: CaseInput = { shape: [1], data: () => [0.7] };

/** The loss and its grad op on the same inputs (grad gets gl appended). */
async function both(op: string, attrs: Record<string, string | number | boolean>, inputs: CaseInput[]): Promise<number> {
  const a = await checkCase({ op, attrs, inputs });
  const b = await checkCase({ op: `${op}_grad`, attrs, inputs: [...inputs, gl] });
  return Math.max(a, b);
}

describe("mse / binary_cross_entropy / kl_divergence", () => {
  for (const w of [7, 13, 33])
    for (const reduction of ["mean", "sum"]) {
      it(`mse ${reduction} width ${w}`, async () => {
        expect(await both("mse", { reduction }, [f32In(["N", w], 1), f32In(["N", w], 2)])).toBeLessThanOrEqual(TOL);
      });
      it(`binary_cross_entropy ${reduction} width ${w}`, async () => {
        expect(await both("binary_cross_entropy", { reduction }, [f32In(["N", w], 3, -6, 6), f32In(["N", w], 4, 0, 1)])).toBeLessThanOrEqual(TOL);
      });
    }
  it("binary_cross_entropy at logits ±100 is finite and exact", async () => {
    const xs = [100, -100, 100, -100, 0, 30];
    const ys = [1, 0, 0, 1, 0.5, 1];
    const ins: CaseInput[] = [
      { shape: ["N", 6], data: (B) => Array.from({ length: 6 * B }, (_, i) => xs[i % 6]!) },
      { shape: ["N", 6], data: (B) => Array.from({ length: 6 * B }, (_, i) => ys[i % 6]!) },
    ];
    expect(await both("binary_cross_entropy", { reduction: "sum" }, ins)).toBeLessThanOrEqual(TOL);
    expect(await both("binary_cross_entropy", { reduction: "mean" }, ins)).toBeLessThanOrEqual(TOL);
  });
  for (const reduction of ["mean", "sum", "batchmean"])
    for (const logTarget of [false, true])
      it(`kl_divergence ${reduction} log_target ${logTarget} (zero targets included)`, async () => {
        const r = rand(5);
        const t: CaseInput = {
          shape: ["N", 13],
          data: (B) => Float32Array.from({ length: 13 * B }, (_, i) => (logTarget ? r(-3, 0) : i % 4 === 0 ? 0 : r(0, 1))),
        };
        expect(await both("kl_divergence", { reduction, log_target: logTarget }, [f32In(["N", 13], 6, -4, 0), t])).toBeLessThanOrEqual(TOL);
      });
});

describe("cross_entropy", () => {
  const idx = (C: number, seed: number): CaseInput => {
    const r = rand(seed);
    return { dtype: "i32", shape: ["N"], data: (B) => Int32Array.from({ length: B }, () => Math.floor(r(0, C)) % C) };
  };
  for (const C of [7, 13, 33])
    for (const reduction of ["mean", "sum"])
      for (const eps of [0, 0.1]) {
        it(`class indices C ${C} ${reduction} smoothing ${eps}`, async () => {
          expect(await both("cross_entropy", { reduction, label_smoothing: eps }, [f32In(["N", C], 7, -5, 5), idx(C, 8)])).toBeLessThanOrEqual(TOL);
        });
        it(`probabilities C ${C} ${reduction} smoothing ${eps}`, async () => {
          const r = rand(9);
          const t: CaseInput = {
            shape: ["N", C],
            data: (B) => {
              const d = Float32Array.from({ length: C * B }, (_, i) => (i % 3 === 0 ? 0 : r(0, 1)));
              for (let n = 0; n < B; n++) {
                let s = 0;
                for (let c = 0; c < C; c++) s += d[n * C + c]!;
                for (let c = 0; c < C; c++) d[n * C + c] = Math.fround(d[n * C + c]! / s);
              }
              return d;
            },
          };
          expect(await both("cross_entropy", { reduction, label_smoothing: eps }, [f32In(["N", C], 10, -5, 5), t])).toBeLessThanOrEqual(TOL);
        });
      }
  it("logits ±90: loss 180 exactly on the wrong class, gradient exact", async () => {
    const kc: KernelCase = {
      op: "cross_entropy",
      attrs: { reduction: "sum", label_smoothing: 0 },
      inputs: [
        { shape: ["N", 3], data: (B) => Array.from({ length: 3 * B }, (_, i) => [90, -90, 0][i % 3]!) },
        { dtype: "i32", shape: ["N"], data: (B) => Array.from({ length: B }, (_, n) => n % 3) },
      ],
    };
    expect(await both(kc.op, kc.attrs as Record<string, string | number>, kc.inputs)).toBeLessThanOrEqual(TOL);
    const km = await buildKernel(kc, true, 3);
    const data = kc.inputs.map((i) => i.data(3));
    const [loss] = km.run(data, 3);
    expect(loss![0]).toBeCloseTo(0 + 180 + 90, 3);
    expect(worstRelError(km.run(data, 3), reference(kc, data as ArrayLike<number>[], 3))).toBeLessThanOrEqual(TOL);
    expect(countAt(["N", 3], 3)).toBe(9);
  });
});
