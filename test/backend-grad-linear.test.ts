// wasm kernels of the dense/conv2d/pool backward ops vs their float64 references (SIMD and scalar
// builds, batches 1, 3, 64): odd widths, stride 2, dilation, groups, asymmetric padding, ceil_mode, ties.

import { describe, expect, it } from "vitest";
import { checkCase, f32In, type CaseInput, type KernelCase } from "./kernel-harness.js";
import { convOutSize } from "../compiler/ir/ops/conv.js";
import { poolOutSize } from "../compiler/ir/ops/pool.js";

const TOL = 1e-5;

describe("dense grads", () => {
  for (const [inF, units] of [[7, 13], [33, 7], [13, 33], [1, 1]] as const) {
    it(`dense_grad_input in ${inF} units ${units}`, async () => {
      const kc: KernelCase = { op: "dense_grad_input", attrs: {}, inputs: [f32In(["N", units], 1), f32In([units, inF], 2, -1, 1, "param")] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
    it(`dense_grad_weight in ${inF} units ${units}`, async () => {
      const kc: KernelCase = { op: "dense_grad_weight", attrs: {}, inputs: [f32In(["N", units], 3), f32In(["N", inF], 4)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
  }
  it("3-D rows [N, 5, 9] -> units 6", async () => {
    expect(await checkCase({ op: "dense_grad_input", attrs: {}, inputs: [f32In(["N", 5, 6], 5), f32In([6, 9], 6, -1, 1, "param")] })).toBeLessThanOrEqual(TOL);
    expect(await checkCase({ op: "dense_grad_weight", attrs: {}, inputs: [f32In(["N", 5, 6], 7), f32In(["N", 5, 9], 8)] })).toBeLessThanOrEqual(TOL);
  });
  it("values without a batch dim ([5, 6] gradients)", async () => {
    expect(await checkCase({ op: "dense_grad_input", attrs: {}, inputs: [f32In([5, 6], 9), f32In([6, 9], 10, -1, 1, "param")] })).toBeLessThanOrEqual(TOL);
    expect(await checkCase({ op: "dense_grad_weight", attrs: {}, inputs: [f32In([5, 6], 11), f32In([5, 9], 12)] })).toBeLessThanOrEqual(TOL);
  });
});

interface ConvCase {
  C: number;
  H: number;
  W: number;
  O: number;
  k: [number, number];
  s?: [number, number];
  p?: [number, number, number, number];
  d?: [number, number];
  groups?: number;
}

describe("conv2d grads", () => {
  const cases: ConvCase[] = [
    { C: 3, H: 7, W: 7, O: 5, k: [3, 3] },
    { C: 3, H: 13, W: 13, O: 4, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] },
    { C: 4, H: 9, W: 11, O: 6, k: [3, 2], d: [2, 2], p: [2, 1, 0, 2] },
    { C: 4, H: 8, W: 7, O: 6, k: [3, 3], groups: 2, p: [1, 1, 1, 1] },
    { C: 4, H: 6, W: 6, O: 4, k: [3, 3], groups: 4, s: [2, 1], p: [1, 1, 1, 1] },
    { C: 5, H: 7, W: 7, O: 3, k: [1, 1] },
    { C: 2, H: 5, W: 33, O: 3, k: [2, 5], s: [1, 3] },
  ];
  for (const c of cases) {
    const [s, p, d, groups] = [c.s ?? [1, 1], c.p ?? [0, 0, 0, 0], c.d ?? [1, 1], c.groups ?? 1];
    const attrs = { kernel: c.k, stride: s, padding: p, dilation: d, groups };
    const Ho = convOutSize(c.H, p[0], p[2], c.k[0], s[0], d[0]);
    const Wo = convOutSize(c.W, p[1], p[3], c.k[1], s[1], d[1]);
    const name = JSON.stringify(c);
    it(`conv2d_grad_input ${name}`, async () => {
      const kc: KernelCase = {
        op: "conv2d_grad_input",
        attrs: { ...attrs, in_channels: c.C, input_size: [c.H, c.W] },
        inputs: [f32In(["N", c.O, Ho, Wo], 1), f32In([c.O, c.C / groups, ...c.k], 2, -1, 1, "param")],
      };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
    it(`conv2d_grad_weight ${name}`, async () => {
      const kc: KernelCase = { op: "conv2d_grad_weight", attrs, inputs: [f32In(["N", c.O, Ho, Wo], 3), f32In(["N", c.C, c.H, c.W], 4)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe("pool grads", () => {
  const pools: { H: number; W: number; k: [number, number]; s: [number, number]; p: [number, number]; d?: [number, number]; ceil: boolean }[] = [
    { H: 8, W: 8, k: [2, 2], s: [2, 2], p: [0, 0], ceil: false },
    { H: 7, W: 13, k: [3, 3], s: [2, 2], p: [1, 1], ceil: true },
    { H: 9, W: 7, k: [3, 2], s: [2, 3], p: [1, 0], ceil: true },
    { H: 7, W: 7, k: [3, 3], s: [1, 1], p: [1, 1], ceil: false },
  ];
  for (const q of pools) {
    const Ho = poolOutSize(q.H, q.p[0], q.k[0], q.s[0], q.d?.[0] ?? 1, q.ceil);
    const Wo = poolOutSize(q.W, q.p[1], q.k[1], q.s[1], q.d?.[1] ?? 1, q.ceil);
    const attrs = { kernel: q.k, stride: q.s, padding: [q.p[0], q.p[1], q.p[0], q.p[1]], ceil_mode: q.ceil };
    it(`maxpool2d_grad ${JSON.stringify(q)}`, async () => {
      const kc: KernelCase = { op: "maxpool2d_grad", attrs: { ...attrs, dilation: [1, 1] }, inputs: [f32In(["N", 3, q.H, q.W], 5), f32In(["N", 3, Ho, Wo], 6)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
    });
    for (const include of [true, false])
      it(`avgpool2d_grad ${JSON.stringify(q)} count_include_pad ${include}`, async () => {
        const kc: KernelCase = { op: "avgpool2d_grad", attrs: { ...attrs, count_include_pad: include, input_size: [q.H, q.W] }, inputs: [f32In(["N", 3, Ho, Wo], 7)] };
        expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
      });
  }
  it("maxpool2d_grad on wide rows (SIMD interior path): strides 1-3, dilation 2, ties and NaN", async () => {
    const pattern = [1, 1, 0, 1, 1, NaN, 2, 2, 2, 0, NaN, NaN, 3, 3, 1, 1, -Infinity, -Infinity, 5];
    for (const [sw, dw] of [[1, 1], [2, 1], [3, 1], [2, 2]]) {
      const [H, W] = [6, 37];
      const Ho = poolOutSize(H, 1, 3, 2, 1, false);
      const Wo = poolOutSize(W, 1, 3, sw!, dw!, false);
      const attrs = { kernel: [3, 3], stride: [2, sw!], padding: [1, 1, 1, 1], dilation: [1, dw!], ceil_mode: false };
      const x: CaseInput = { shape: ["N", 2, H, W], data: (B) => Array.from({ length: 2 * H * W * B }, (_, i) => pattern[(i * 7) % 19]!) };
      const kc: KernelCase = { op: "maxpool2d_grad", attrs, inputs: [x, f32In(["N", 2, Ho, Wo], 11)] };
      expect(await checkCase(kc)).toBeLessThanOrEqual(1e-6);
      const rnd: KernelCase = { op: "maxpool2d_grad", attrs, inputs: [f32In(["N", 2, H, W], 12), f32In(["N", 2, Ho, Wo], 13)] };
      expect(await checkCase(rnd)).toBeLessThanOrEqual(TOL);
    }
  });
  it("maxpool2d_grad with dilation 2", async () => {
    const Ho = poolOutSize(9, 1, 3, 2, 2, false);
    const attrs = { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], dilation: [2, 2], ceil_mode: false };
    const kc: KernelCase = { op: "maxpool2d_grad", attrs, inputs: [f32In(["N", 2, 9, 9], 8), f32In(["N", 2, Ho, Ho], 9)] };
    expect(await checkCase(kc)).toBeLessThanOrEqual(TOL);
  });
  it("maxpool2d_grad ties go to the first maximum, NaN wins (overlapping windows)", async () => {
    const pattern = [1, 1, 0, 1, 1, NaN, 2, 2, 2, 0, NaN, NaN, 3, 3, 1, 1];
    const x: CaseInput = { shape: ["N", 1, 4, 4], data: (B) => Array.from({ length: 16 * B }, (_, i) => pattern[i % 16]!) };
    const attrs = { kernel: [2, 2], stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], ceil_mode: false };
    const kc: KernelCase = { op: "maxpool2d_grad", attrs, inputs: [x, f32In(["N", 1, 3, 3], 10)] };
    // Only f32 rounding of the sums where windows share an argmax; a wrong route would be O(1).
    expect(await checkCase(kc)).toBeLessThanOrEqual(1e-6);
  });
});
