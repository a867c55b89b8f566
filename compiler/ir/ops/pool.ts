// Pooling over NCHW: maxpool2d, avgpool2d (PyTorch semantics incl. ceil_mode and count_include_pad),
// global_avgpool2d. Neighbours: ops/def.ts, ops/common.ts; attrs in ir/attrs.ts (Pool2dAttrs).

import type { ArgSpec, OpDef } from "./def.js";
import { OpArgError, OpTypeError } from "./def.js";
import type { Attrs, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, intPair, requireFloat, requireRank, staticDim, zeros } from "./common.js";

/**
 * Output size of one pooling axis, PyTorch `pooling_output_shape`:
 * out = floor((size + 2 pad - d (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1, and with ceil_mode the
 * last window must start inside the input or the left padding: if (out - 1) s >= size + pad, out -= 1.
 */
export function poolOutSize(size: number, pad: number, k: number, s: number, d: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + pad) out--;
  return out;
}

const kernelArg: ArgSpec = { name: "kernel", kind: "int_or_ints", doc: "window k or [kh, kw]" };
const strideArg: ArgSpec = { name: "stride", kind: "int_or_ints", optional: true, doc: "stride; default = kernel" };
const padArg: ArgSpec = {
  name: "padding",
  kind: "int_or_ints",
  default: 0,
  doc: "symmetric padding p or [ph, pw]; at most half the kernel",
};
const ceilArg: ArgSpec = { name: "ceil_mode", kind: "bool", default: false, doc: "ceil instead of floor for the output size" };

/** Shared normalization of pool args → { kernel, stride, padding: [t, l, b, r], ceil_mode }. */
function normalizePool(op: string, a: Attrs, inputs: TensorType[]): Attrs {
  requireRank(op, inputs[0]!, 4, "[N, C, H, W]");
  const kernel = intPair(op, "kernel", a["kernel"], 1);
  const stride = a["stride"] === undefined ? kernel : intPair(op, "stride", a["stride"], 1);
  const [ph, pw] = intPair(op, "padding", a["padding"], 0);
  if (ph > Math.floor(kernel[0] / 2) || pw > Math.floor(kernel[1] / 2))
    throw new OpArgError(
      `${op}: padding [${ph}, ${pw}] must be at most half the kernel [${kernel[0]}, ${kernel[1]}]`,
      "padding",
    );
  return { kernel, stride, padding: [ph, pw, ph, pw], ceil_mode: a["ceil_mode"] as boolean };
}

/** Shared shape rule of maxpool2d/avgpool2d. */
function inferPool(op: string, inputs: TensorType[], attrs: Attrs): TensorType[] {
  const x = inputs[0]!;
  requireFloat(op, x);
  requireRank(op, x, 4, "[N, C, H, W]");
  const H = staticDim(op, x, 2);
  const W = staticDim(op, x, 3);
  const [kh, kw] = attrs["kernel"] as [number, number];
  const [sh, sw] = attrs["stride"] as [number, number];
  const [pt, pl] = attrs["padding"] as number[];
  const [dh, dw] = (attrs["dilation"] as [number, number] | undefined) ?? [1, 1];
  const ceil = attrs["ceil_mode"] as boolean;
  const Ho = poolOutSize(H, pt!, kh, sh, dh, ceil);
  const Wo = poolOutSize(W, pl!, kw, sw, dw, ceil);
  if (Ho < 1 || Wo < 1)
    throw new OpTypeError(`${op}: window [${kh}, ${kw}] is larger than the input ${showShape(x.shape)} (output would be ${Ho}x${Wo})`);
  return [{ dtype: "f32", shape: [x.shape[0]!, x.shape[1]!, Ho, Wo] }];
}

function poolCost(inputs: TensorType[], outputs: TensorType[], attrs: Attrs, batch: number) {
  const [kh, kw] = attrs["kernel"] as [number, number];
  const outN = countAt(outputs[0]!, batch);
  return { flops: outN * kh * kw, bytes: 4 * (countAt(inputs[0]!, batch) + outN) };
}

/**
 * maxpool2d(kernel, stride=kernel, padding=0, dilation=1, ceil_mode=false). [N, C, H, W] -> [N, C, Ho, Wo].
 * Attrs { kernel, stride, padding: [t, l, b, r], dilation, ceil_mode }; pads are -inf, NaN propagates
 * (PyTorch nn.MaxPool2d). Errors: OpArgError for kernel/stride/dilation < 1 or padding > kernel/2;
 * OpTypeError when no window fits.
 */
export const maxpool2d: OpDef = {
  name: "maxpool2d",
  doc: "2-D max pooling (NCHW)",
  semantics: "PyTorch torch.nn.MaxPool2d",
  arity: 1,
  args: [
    kernelArg,
    strideArg,
    padArg,
    { name: "dilation", kind: "int_or_ints", default: 1, doc: "window dilation d or [dh, dw]" },
    ceilArg,
  ],
  normalize: (a, inputs) => ({
    ...normalizePool("maxpool2d", a, inputs),
    dilation: intPair("maxpool2d", "dilation", a["dilation"], 1),
  }),
  infer: (inputs, attrs) => inferPool("maxpool2d", inputs, attrs),
  reference: (inputs: RefTensor[], attrs: Attrs) => {
    const x = inputs[0]!;
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [kh, kw] = attrs["kernel"] as [number, number];
    const [sh, sw] = attrs["stride"] as [number, number];
    const [pt, pl] = attrs["padding"] as [number, number];
    const [dh, dw] = (attrs["dilation"] as [number, number] | undefined) ?? [1, 1];
    const ceil = attrs["ceil_mode"] as boolean;
    const Ho = poolOutSize(H, pt, kh, sh, dh, ceil);
    const Wo = poolOutSize(W, pl, kw, sw, dw, ceil);
    const y = zeros([N, C, Ho, Wo]);
    for (let nc = 0; nc < N * C; nc++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          let m = -Infinity;
          for (let i = 0; i < kh; i++) {
            const ih = oh * sh - pt + i * dh;
            if (ih < 0 || ih >= H) continue;
            for (let j = 0; j < kw; j++) {
              const iw = ow * sw - pl + j * dw;
              if (iw < 0 || iw >= W) continue;
              const v = x.data[(nc * H + ih) * W + iw]!;
              if (v > m || Number.isNaN(v)) m = v;
              if (Number.isNaN(m)) break;
            }
          }
          y.data[(nc * Ho + oh) * Wo + ow] = m;
        }
    return [y];
  },
  cost: poolCost,
};

/**
 * The input window of avgpool2d output (oh, ow), clipped to the input, and its divisor, as PyTorch
 * computes them: the window may reach into right/bottom padding only up to H + pad (ceil_mode), the
 * padded size counts when `includePad`, else only the in-bounds elements. Rows [h0, h1), columns [w0, w1).
 * Shared by the forward reference and avgpool2d_grad (grad-pool.ts).
 */
export function avgpoolWindow(
  oh: number, ow: number, H: number, W: number,
  [kh, kw]: [number, number], [sh, sw]: [number, number], [pt, pl]: [number, number], includePad: boolean,
): { h0: number; w0: number; h1: number; w1: number; div: number } {
  const ph0 = oh * sh - pt;
  const pw0 = ow * sw - pl;
  const ph1 = Math.min(ph0 + kh, H + pt);
  const pw1 = Math.min(pw0 + kw, W + pl);
  const h0 = Math.max(ph0, 0);
  const w0 = Math.max(pw0, 0);
  const h1 = Math.min(ph1, H);
  const w1 = Math.min(pw1, W);
  return { h0, w0, h1, w1, div: includePad ? (ph1 - ph0) * (pw1 - pw0) : (h1 - h0) * (w1 - w0) };
}

/**
 * avgpool2d(kernel, stride=kernel, padding=0, ceil_mode=false, count_include_pad=true). [N, C, H, W] -> [N, C, Ho, Wo].
 * Attrs { kernel, stride, padding: [t, l, b, r], ceil_mode, count_include_pad }. Divisor as PyTorch
 * nn.AvgPool2d: the window clipped to input+padding when count_include_pad, else to the input only.
 * Errors as maxpool2d.
 */
export const avgpool2d: OpDef = {
  name: "avgpool2d",
  doc: "2-D average pooling (NCHW)",
  semantics: "PyTorch torch.nn.AvgPool2d (no divisor_override)",
  arity: 1,
  args: [
    kernelArg,
    strideArg,
    padArg,
    ceilArg,
    { name: "count_include_pad", kind: "bool", default: true, doc: "count padded zeros in the divisor" },
  ],
  normalize: (a, inputs) => ({
    ...normalizePool("avgpool2d", a, inputs),
    count_include_pad: a["count_include_pad"] as boolean,
  }),
  infer: (inputs, attrs) => inferPool("avgpool2d", inputs, attrs),
  reference: (inputs: RefTensor[], attrs: Attrs) => {
    const x = inputs[0]!;
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [kh, kw] = attrs["kernel"] as [number, number];
    const [sh, sw] = attrs["stride"] as [number, number];
    const [pt, pl] = attrs["padding"] as [number, number];
    const ceil = attrs["ceil_mode"] as boolean;
    const includePad = attrs["count_include_pad"] as boolean;
    const Ho = poolOutSize(H, pt, kh, sh, 1, ceil);
    const Wo = poolOutSize(W, pl, kw, sw, 1, ceil);
    const y = zeros([N, C, Ho, Wo]);
    for (let nc = 0; nc < N * C; nc++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const { h0, w0, h1, w1, div } = avgpoolWindow(oh, ow, H, W, [kh, kw], [sh, sw], [pt, pl], includePad);
          let s = 0;
          for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) s += x.data[(nc * H + ih) * W + iw]!;
          y.data[(nc * Ho + oh) * Wo + ow] = div > 0 ? s / div : 0;
        }
    return [y];
  },
  cost: poolCost,
};

/** global_avgpool2d(): [N, C, H, W] -> [N, C, 1, 1], mean over H and W (ONNX GlobalAveragePool). No attrs. */
export const global_avgpool2d: OpDef = {
  name: "global_avgpool2d",
  doc: "Mean over the spatial axes, keeping them as 1x1",
  semantics: "ONNX GlobalAveragePool / PyTorch nn.AdaptiveAvgPool2d(1)",
  arity: 1,
  args: [],
  normalize: () => ({}),
  infer: (inputs) => {
    const x = inputs[0]!;
    requireFloat("global_avgpool2d", x);
    requireRank("global_avgpool2d", x, 4, "[N, C, H, W]");
    return [{ dtype: "f32", shape: [x.shape[0]!, x.shape[1]!, 1, 1] }];
  },
  reference: (inputs: RefTensor[]) => {
    const x = inputs[0]!;
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const y = zeros([N, C, 1, 1]);
    const hw = H * W;
    for (let nc = 0; nc < N * C; nc++) {
      let s = 0;
      for (let k = 0; k < hw; k++) s += x.data[nc * hw + k]!;
      y.data[nc] = s / hw;
    }
    return [y];
  },
  cost: (inputs, outputs, _attrs, batch) => {
    const inN = countAt(inputs[0]!, batch);
    return { flops: inN, bytes: 4 * (inN + countAt(outputs[0]!, batch)) };
  },
};

/** All pooling ops. */
export const POOL_OPS: OpDef[] = [maxpool2d, avgpool2d, global_avgpool2d];
