// Backward primitives of the matmul-like ops: dense_grad_input/weight, conv2d_grad_input/weight.
// Neighbours: autodiff/rules.ts emits them; ops/dense.ts and ops/conv.ts hold the forwards.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { Attrs, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, requireFloat, zeros } from "./common.js";
import { convOutSize } from "./conv.js";

function lastDim(t: TensorType): number {
  return t.shape[t.shape.length - 1] as number;
}

/**
 * dense_grad_input(g, weight): dx = g · W. Inputs [g [N, ..., units], weight [units, in]] -> [N, ..., in], f32.
 * Attrs {}. (PyTorch nn.Linear backward, grad_input = grad_output @ weight.)
 */
export const dense_grad_input: OpDef = {
  name: "dense_grad_input",
  doc: "Dense backward to the input: g · W",
  semantics: "PyTorch linear backward (grad_output @ weight)",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs) => {
    const [g, w] = [inputs[0]!, inputs[1]!];
    requireFloat("dense_grad_input", g);
    if (w.shape.length !== 2 || w.shape[0] !== lastDim(g))
      throw new OpTypeError(`dense_grad_input: weight ${showShape(w.shape)} does not match gradient ${showShape(g.shape)}`, undefined, 1);
    return [{ dtype: "f32", shape: [...g.shape.slice(0, -1), w.shape[1]!] }];
  },
  reference: (inputs: RefTensor[]) => {
    const [g, w] = [inputs[0]!, inputs[1]!];
    const [units, inF] = w.shape as [number, number];
    const rows = g.data.length / units;
    const out = new Float64Array(rows * inF);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let o = 0; o < units; o++) s += g.data[r * units + o]! * w.data[o * inF + i]!;
        out[r * inF + i] = s;
      }
    return [{ shape: [...g.shape.slice(0, -1), inF], data: out }];
  },
  cost: (inputs, outputs, _a, batch) => ({
    flops: 2 * countAt(outputs[0]!, batch) * lastDim(inputs[0]!),
    bytes: 4 * (countAt(inputs[0]!, batch) + countAt(inputs[1]!, batch) + countAt(outputs[0]!, batch)),
  }),
};

/**
 * dense_grad_weight(g, x): dW = sum over all rows (batch and middle axes) of g^T x.
 * Inputs [g [N, ..., units], x [N, ..., in]] -> [units, in], f32. Attrs {}. (PyTorch grad_output^T @ input.)
 */
export const dense_grad_weight: OpDef = {
  name: "dense_grad_weight",
  doc: "Dense backward to the weight: sum over rows of g^T x",
  semantics: "PyTorch linear backward (grad_output^T @ input)",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs) => {
    const [g, x] = [inputs[0]!, inputs[1]!];
    requireFloat("dense_grad_weight", g);
    requireFloat("dense_grad_weight", x, 1);
    if (g.shape.length !== x.shape.length || g.shape.slice(0, -1).some((d, i) => d !== x.shape[i]))
      throw new OpTypeError(`dense_grad_weight: gradient ${showShape(g.shape)} and input ${showShape(x.shape)} differ in rows`, undefined, 1);
    return [{ dtype: "f32", shape: [lastDim(g), lastDim(x)] }];
  },
  reference: (inputs: RefTensor[]) => {
    const [g, x] = [inputs[0]!, inputs[1]!];
    const units = g.shape[g.shape.length - 1]!;
    const inF = x.shape[x.shape.length - 1]!;
    const rows = g.data.length / units;
    const out = new Float64Array(units * inF);
    for (let o = 0; o < units; o++)
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += g.data[r * units + o]! * x.data[r * inF + i]!;
        out[o * inF + i] = s;
      }
    return [{ shape: [units, inF], data: out }];
  },
  cost: (inputs, outputs, _a, batch) => ({
    flops: 2 * countAt(inputs[0]!, batch) * lastDim(inputs[1]!),
    bytes: 4 * (countAt(inputs[0]!, batch) + countAt(inputs[1]!, batch) + countAt(outputs[0]!, batch)),
  }),
};

/** Conv geometry from attrs (shared by both conv backward ops). */
interface ConvGeom {
  kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; dh: number; dw: number; G: number;
}

function geom(attrs: Attrs): ConvGeom {
  const [kh, kw] = attrs["kernel"] as [number, number];
  const [sh, sw] = attrs["stride"] as [number, number];
  const [pt, pl, pb, pr] = attrs["padding"] as [number, number, number, number];
  const [dh, dw] = attrs["dilation"] as [number, number];
  return { kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, G: attrs["groups"] as number };
}

/**
 * Visit every (output pixel, kernel tap) pair of a conv with its input pixel: f(n, o, c, oh, ow, i, j, ih, iw),
 * `c` the input channel index within the whole input (group offset applied), taps in the padding skipped.
 */
function forEachTap(
  N: number, C: number, H: number, W: number, O: number, Ho: number, Wo: number, q: ConvGeom,
  f: (gi: number, xi: number, wi: number) => void,
): void {
  const cg = C / q.G;
  const og = O / q.G;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / og);
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const gi = ((n * O + o) * Ho + oh) * Wo + ow;
          for (let c = 0; c < cg; c++) {
            const ci = grp * cg + c;
            for (let i = 0; i < q.kh; i++) {
              const ih = oh * q.sh - q.pt + i * q.dh;
              if (ih < 0 || ih >= H) continue;
              for (let j = 0; j < q.kw; j++) {
                const iw = ow * q.sw - q.pl + j * q.dw;
                if (iw < 0 || iw >= W) continue;
                f(gi, ((n * C + ci) * H + ih) * W + iw, ((o * cg + c) * q.kh + i) * q.kw + j);
              }
            }
          }
        }
    }
}

/**
 * conv2d_grad_input(g, weight): the transposed convolution giving dx. Inputs [g [N, O, Ho, Wo],
 * weight [O, C/groups, kh, kw]] -> [N, C, H, W], f32. Attrs: the conv2d attrs { kernel, stride,
 * padding, dilation, groups } plus { in_channels: C, input_size: [H, W] } (H, W are not recoverable
 * from Ho, Wo when the stride drops pixels). (PyTorch convolution_backward, grad_input.)
 */
export const conv2d_grad_input: OpDef = {
  name: "conv2d_grad_input",
  doc: "Conv2d backward to the input (transposed convolution)",
  semantics: "PyTorch convolution_backward (grad_input)",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs, attrs) => {
    const [g, w] = [inputs[0]!, inputs[1]!];
    requireFloat("conv2d_grad_input", g);
    const q = geom(attrs);
    const C = attrs["in_channels"] as number;
    const [H, W] = attrs["input_size"] as [number, number];
    const O = g.shape[1] as number;
    const want = [O, C / q.G, q.kh, q.kw];
    if (g.shape.length !== 4 || w.shape.length !== 4 || w.shape.some((d, i) => d !== want[i]))
      throw new OpTypeError(`conv2d_grad_input: weight ${showShape(w.shape)} does not match gradient ${showShape(g.shape)}`, undefined, 1);
    if (convOutSize(H, q.pt, q.pb, q.kh, q.sh, q.dh) !== g.shape[2] || convOutSize(W, q.pl, q.pr, q.kw, q.sw, q.dw) !== g.shape[3])
      throw new OpTypeError(`conv2d_grad_input: gradient ${showShape(g.shape)} does not match input size [${H}, ${W}]`);
    return [{ dtype: "f32", shape: [g.shape[0]!, C, H, W] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [g, w] = [inputs[0]!, inputs[1]!];
    const [N, O, Ho, Wo] = g.shape as [number, number, number, number];
    const C = attrs["in_channels"] as number;
    const [H, W] = attrs["input_size"] as [number, number];
    const dx = zeros([N, C, H, W]);
    forEachTap(N, C, H, W, O, Ho, Wo, geom(attrs), (gi, xi, wi) => {
      dx.data[xi]! += g.data[gi]! * w.data[wi]!;
    });
    return [dx];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const q = geom(attrs);
    const cg = (attrs["in_channels"] as number) / q.G;
    const gN = countAt(inputs[0]!, batch);
    return { flops: 2 * gN * cg * q.kh * q.kw, bytes: 4 * (gN + countAt(inputs[1]!, batch) + countAt(outputs[0]!, batch)) };
  },
};

/**
 * conv2d_grad_weight(g, x): dW summed over the batch. Inputs [g [N, O, Ho, Wo], x [N, C, H, W]]
 * -> [O, C/groups, kh, kw], f32. Attrs: the conv2d attrs { kernel, stride, padding, dilation, groups }.
 * (PyTorch convolution_backward, grad_weight.)
 */
export const conv2d_grad_weight: OpDef = {
  name: "conv2d_grad_weight",
  doc: "Conv2d backward to the weight (correlation of input and gradient)",
  semantics: "PyTorch convolution_backward (grad_weight)",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs, attrs) => {
    const [g, x] = [inputs[0]!, inputs[1]!];
    requireFloat("conv2d_grad_weight", g);
    requireFloat("conv2d_grad_weight", x, 1);
    const q = geom(attrs);
    if (g.shape.length !== 4 || x.shape.length !== 4 || g.shape[0] !== x.shape[0])
      throw new OpTypeError(`conv2d_grad_weight: gradient ${showShape(g.shape)} and input ${showShape(x.shape)} do not match`, undefined, 1);
    const [C, H, W] = [x.shape[1] as number, x.shape[2] as number, x.shape[3] as number];
    if (convOutSize(H, q.pt, q.pb, q.kh, q.sh, q.dh) !== g.shape[2] || convOutSize(W, q.pl, q.pr, q.kw, q.sw, q.dw) !== g.shape[3])
      throw new OpTypeError(`conv2d_grad_weight: gradient ${showShape(g.shape)} does not match input ${showShape(x.shape)}`);
    return [{ dtype: "f32", shape: [g.shape[1] as number, C / q.G, q.kh, q.kw] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [g, x] = [inputs[0]!, inputs[1]!];
    const [N, O, Ho, Wo] = g.shape as [number, number, number, number];
    const [, C, H, W] = x.shape as [number, number, number, number];
    const q = geom(attrs);
    const dw = zeros([O, C / q.G, q.kh, q.kw]);
    forEachTap(N, C, H, W, O, Ho, Wo, q, (gi, xi, wi) => {
      dw.data[wi]! += g.data[gi]! * x.data[xi]!;
    });
    return [dw];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const q = geom(attrs);
    const cg = (inputs[1]!.shape[1] as number) / q.G;
    const gN = countAt(inputs[0]!, batch);
    return { flops: 2 * gN * cg * q.kh * q.kw, bytes: 4 * (gN + countAt(inputs[1]!, batch) + countAt(outputs[0]!, batch)) };
  },
};

/** Matmul-like backward primitives. */
export const GRAD_LINEAR_OPS: OpDef[] = [dense_grad_input, dense_grad_weight, conv2d_grad_input, conv2d_grad_weight];
