// Backward primitives of pooling: maxpool2d_grad (routes to the argmax), avgpool2d_grad (spreads by the
// forward divisor). Neighbours: autodiff/rules.ts emits them; ops/pool.ts holds the forwards and poolOutSize.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { Attrs, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, zeros } from "./common.js";
import { avgpoolWindow, poolOutSize } from "./pool.js";

function checkPoolGrad(op: string, g: TensorType, H: number, W: number, attrs: Attrs): void {
  const [kh, kw] = attrs["kernel"] as [number, number];
  const [sh, sw] = attrs["stride"] as [number, number];
  const [pt, pl] = attrs["padding"] as [number, number];
  const [dh, dw] = (attrs["dilation"] as [number, number] | undefined) ?? [1, 1];
  const ceil = attrs["ceil_mode"] as boolean;
  if (g.shape.length !== 4 || g.shape[2] !== poolOutSize(H, pt, kh, sh, dh, ceil) || g.shape[3] !== poolOutSize(W, pl, kw, sw, dw, ceil))
    throw new OpTypeError(`${op}: gradient ${showShape(g.shape)} does not match input size [${H}, ${W}]`);
}

/**
 * maxpool2d_grad(x, g): routes each output gradient to the argmax of its window, recomputed from x:
 * the first maximum in row-major window order on ties, a NaN wins (PyTorch CPU max_pool2d: `val > max ||
 * isnan(val)`). Inputs [x [N, C, H, W], g [N, C, Ho, Wo]] -> [N, C, H, W]. Attrs: the maxpool2d attrs.
 */
export const maxpool2d_grad: OpDef = {
  name: "maxpool2d_grad",
  doc: "Max pooling backward (gradient to the first argmax)",
  semantics: "PyTorch max_pool2d_with_indices_backward",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs, attrs) => {
    const [x, g] = [inputs[0]!, inputs[1]!];
    if (x.shape.length !== 4) throw new OpTypeError(`maxpool2d_grad: expected x [N, C, H, W], got ${showShape(x.shape)}`);
    checkPoolGrad("maxpool2d_grad", g, x.shape[2] as number, x.shape[3] as number, attrs);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, g] = [inputs[0]!, inputs[1]!];
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = g.shape as [number, number, number, number];
    const [kh, kw] = attrs["kernel"] as [number, number];
    const [sh, sw] = attrs["stride"] as [number, number];
    const [pt, pl] = attrs["padding"] as [number, number];
    const [dh, dw] = (attrs["dilation"] as [number, number] | undefined) ?? [1, 1];
    const dx = zeros([N, C, H, W]);
    for (let nc = 0; nc < N * C; nc++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          let m = -Infinity;
          let at = -1;
          for (let i = 0; i < kh; i++) {
            const ih = oh * sh - pt + i * dh;
            if (ih < 0 || ih >= H) continue;
            for (let j = 0; j < kw; j++) {
              const iw = ow * sw - pl + j * dw;
              if (iw < 0 || iw >= W) continue;
              const k = (nc * H + ih) * W + iw;
              const v = x.data[k]!;
              if (at < 0 || v > m || Number.isNaN(v)) {
                at = k;
                m = v;
              }
            }
          }
          if (at >= 0) dx.data[at]! += g.data[(nc * Ho + oh) * Wo + ow]!;
        }
    return [dx];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const [kh, kw] = attrs["kernel"] as [number, number];
    return { flops: countAt(inputs[1]!, batch) * kh * kw, bytes: 4 * (countAt(inputs[0]!, batch) + countAt(inputs[1]!, batch) + countAt(outputs[0]!, batch)) };
  },
};

/**
 * avgpool2d_grad(g): each output gradient divided by its window's forward divisor (count_include_pad
 * and ceil_mode clipping exactly as ops/pool.ts avgpool2d) and added to the window's input pixels.
 * Inputs [g [N, C, Ho, Wo]] -> [N, C, H, W]. Attrs: the avgpool2d attrs plus { input_size: [H, W] }.
 * Also the gradient of global_avgpool2d (kernel = stride = [H, W]). (PyTorch avg_pool2d_backward.)
 */
export const avgpool2d_grad: OpDef = {
  name: "avgpool2d_grad",
  doc: "Average pooling backward",
  semantics: "PyTorch avg_pool2d_backward",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs, attrs) => {
    const g = inputs[0]!;
    const [H, W] = attrs["input_size"] as [number, number];
    checkPoolGrad("avgpool2d_grad", g, H, W, attrs);
    return [{ dtype: "f32", shape: [g.shape[0]!, g.shape[1]!, H, W] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const g = inputs[0]!;
    const [N, C, Ho, Wo] = g.shape as [number, number, number, number];
    const [H, W] = attrs["input_size"] as [number, number];
    const [kh, kw] = attrs["kernel"] as [number, number];
    const [sh, sw] = attrs["stride"] as [number, number];
    const [pt, pl] = attrs["padding"] as [number, number];
    const includePad = attrs["count_include_pad"] as boolean;
    const dx = zeros([N, C, H, W]);
    for (let nc = 0; nc < N * C; nc++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const { h0, w0, h1, w1, div } = avgpoolWindow(oh, ow, H, W, [kh, kw], [sh, sw], [pt, pl], includePad);
          if (div <= 0) continue;
          const v = g.data[(nc * Ho + oh) * Wo + ow]! / div;
          for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) dx.data[(nc * H + ih) * W + iw]! += v;
        }
    return [dx];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const [kh, kw] = attrs["kernel"] as [number, number];
    return { flops: countAt(inputs[0]!, batch) * kh * kw, bytes: 4 * (countAt(inputs[0]!, batch) + countAt(outputs[0]!, batch)) };
  },
};

/** Pooling backward primitives. */
export const GRAD_POOL_OPS: OpDef[] = [maxpool2d_grad, avgpool2d_grad];
