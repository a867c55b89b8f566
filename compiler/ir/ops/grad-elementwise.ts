// Backward primitives for elementwise and shape ops: activation grads, softmax_grad, reduce_sum_to,
// channel_sum, slice. Neighbours: autodiff/rules.ts emits them; ops/activation.ts, shape.ts hold the forwards.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { Attrs, Dim, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, elementwiseCost, requireFloat, strides } from "./common.js";
import { erfc } from "./erf.js";

function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A (v, g) -> dx elementwise op: `v` is the forward input or output (see each op), `g` the output gradient. */
function unaryGrad(name: string, doc: string, semantics: string, f: (v: number, g: number, attrs: Attrs) => number, flops: number): OpDef {
  return {
    name,
    doc,
    semantics,
    internal: true,
    arity: 2,
    args: [],
    infer: (inputs: TensorType[]) => {
      const [v, g] = [inputs[0]!, inputs[1]!];
      requireFloat(name, v);
      requireFloat(name, g, 1);
      if (!sameShape(v.shape, g.shape))
        throw new OpTypeError(`${name}: value ${showShape(v.shape)} and gradient ${showShape(g.shape)} differ`, undefined, 1);
      return [{ dtype: "f32", shape: [...v.shape] }];
    },
    reference: (inputs: RefTensor[], attrs: Attrs) => {
      const [v, g] = [inputs[0]!, inputs[1]!];
      const out = new Float64Array(v.data.length);
      for (let k = 0; k < out.length; k++) out[k] = f(v.data[k]!, g.data[k]!, attrs);
      return [{ shape: [...v.shape], data: out }];
    },
    cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, flops, 2),
  };
}

/**
 * relu_grad(x, g) = 0 where x <= 0 (so 0 at exactly x = 0), else g; a NaN x passes g, exactly as
 * PyTorch's threshold_backward (where(x <= 0, 0, g)). Inputs [x, g] same shape, f32 -> same. Attrs {}.
 */
export const relu_grad = unaryGrad("relu_grad", "ReLU backward: g * (x > 0)", "PyTorch threshold_backward(g, x, 0)", (x, g) => (x <= 0 ? 0 : g), 1);

/** leaky_relu_grad(x, g) = g if x > 0 else alpha * g (PyTorch leaky_relu_backward). Attrs { alpha }. */
export const leaky_relu_grad = unaryGrad(
  "leaky_relu_grad",
  "Leaky ReLU backward: g if x > 0 else alpha * g",
  "PyTorch leaky_relu_backward",
  (x, g, a) => (x > 0 ? g : (a["alpha"] as number) * g),
  2,
);

/** sigmoid_grad(y, g) = g * y * (1 - y) with y the forward OUTPUT (PyTorch sigmoid_backward). Attrs {}. */
export const sigmoid_grad = unaryGrad("sigmoid_grad", "Sigmoid backward from its output: g * y * (1 - y)", "PyTorch sigmoid_backward", (y, g) => g * y * (1 - y), 3);

/** tanh_grad(y, g) = g * (1 - y^2) with y the forward OUTPUT (PyTorch tanh_backward). Attrs {}. */
export const tanh_grad = unaryGrad("tanh_grad", "Tanh backward from its output: g * (1 - y^2)", "PyTorch tanh_backward", (y, g) => g * (1 - y * y), 3);

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * gelu_grad(x, g), x the forward INPUT. "none": g * (Phi(x) + x phi(x)); "tanh": derivative of
 * 0.5 x (1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3) (PyTorch gelu_backward). Attrs { approximate }.
 */
export const gelu_grad = unaryGrad(
  "gelu_grad",
  "GELU backward (exact or tanh form)",
  "PyTorch gelu_backward",
  (x, g, a) => {
    if (a["approximate"] === "tanh") {
      const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
      return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du);
    }
    return g * (0.5 * erfc(-x * SQRT1_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x));
  },
  10,
);

/**
 * softmax_grad(y, g) = y * (g - sum_axis(g * y)) with y the forward OUTPUT, along attrs.axis
 * (PyTorch _softmax_backward_data). Inputs [y, g] same shape -> same. Attrs { axis } (>= 1).
 */
export const softmax_grad: OpDef = {
  ...unaryGrad("softmax_grad", "Softmax backward from its output along an axis", "PyTorch _softmax_backward_data", () => 0, 4),
  reference: (inputs: RefTensor[], attrs: Attrs) => {
    const [y, g] = [inputs[0]!, inputs[1]!];
    const axis = attrs["axis"] as number;
    const n = y.shape[axis]!;
    let inner = 1;
    for (const d of y.shape.slice(axis + 1)) inner *= d;
    const outer = y.data.length / (n * inner);
    const out = new Float64Array(y.data.length);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let s = 0;
        for (let k = 0; k < n; k++) s += g.data[base + k * inner]! * y.data[base + k * inner]!;
        for (let k = 0; k < n; k++) out[base + k * inner] = y.data[base + k * inner]! * (g.data[base + k * inner]! - s);
      }
    return [{ shape: [...y.shape], data: out }];
  },
};

/** Target shape attr -> dims: -1 stands for the batch dim "N". */
function targetDims(shape: number[]): Dim[] {
  return shape.map((d) => (d === -1 ? "N" : d));
}

/**
 * reduce_sum_to(g, shape): the inverse of NumPy broadcasting. Sums `g` over the leading axes it has
 * beyond `shape` and over the axes where `shape` has 1 (right-aligned), giving exactly `shape`.
 * Attrs { shape: number[] } where -1 stands for the batch dim "N". Input f32 -> f32 `shape`.
 * Errors: OpTypeError when `shape` does not broadcast to g's shape. (The gradient of add/mul.)
 */
export const reduce_sum_to: OpDef = {
  name: "reduce_sum_to",
  doc: "Sum a tensor down to a shape it was broadcast from",
  semantics: "PyTorch Tensor.sum_to_size / autograd's reduce over broadcast axes",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs, attrs) => {
    const g = inputs[0]!;
    const want = targetDims(attrs["shape"] as number[]);
    const off = g.shape.length - want.length;
    if (off < 0 || want.some((d, i) => d !== 1 && d !== g.shape[i + off]))
      throw new OpTypeError(`reduce_sum_to: cannot sum ${showShape(g.shape)} to ${showShape(want)}`);
    return [{ dtype: g.dtype, shape: want }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const g = inputs[0]!;
    const spec = attrs["shape"] as number[];
    const off = g.shape.length - spec.length;
    const shape = spec.map((d, i) => (d === -1 ? g.shape[i + off]! : d));
    const ostr = strides(shape);
    // Stride in the output for each axis of g (0 where summed).
    const map = g.shape.map((d, i) => (i < off || (shape[i - off] === 1 && d !== 1) ? 0 : ostr[i - off]!));
    let n = 1;
    for (const d of shape) n *= d;
    const out = new Float64Array(n);
    const idx = new Array<number>(g.shape.length).fill(0);
    let o = 0;
    for (let k = 0; k < g.data.length; k++) {
      out[o]! += g.data[k]!;
      for (let d = g.shape.length - 1; d >= 0; d--) {
        idx[d]!++;
        o += map[d]!;
        if (idx[d]! < g.shape[d]!) break;
        o -= map[d]! * g.shape[d]!;
        idx[d] = 0;
      }
    }
    return [{ shape, data: out }];
  },
  cost: (inputs, outputs, _a, batch) => ({ flops: countAt(inputs[0]!, batch), bytes: 4 * (countAt(inputs[0]!, batch) + countAt(outputs[0]!, batch)) }),
};

/**
 * channel_sum(g, axis): sum over every axis except `axis` -> [g.shape[axis]] (static). The bias
 * gradient of dense (last axis) and conv2d / batchnorm (axis 1). Attrs { axis }. f32 -> f32 [C].
 */
export const channel_sum: OpDef = {
  name: "channel_sum",
  doc: "Sum over all axes but one (bias gradients)",
  semantics: "PyTorch g.sum(dims except axis)",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs, attrs) => {
    const g = inputs[0]!;
    const axis = attrs["axis"] as number;
    const c = g.shape[axis];
    if (typeof c !== "number") throw new OpTypeError(`channel_sum: axis ${axis} of ${showShape(g.shape)} must be static`);
    return [{ dtype: g.dtype, shape: [c] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const g = inputs[0]!;
    const axis = attrs["axis"] as number;
    const C = g.shape[axis]!;
    let inner = 1;
    for (const d of g.shape.slice(axis + 1)) inner *= d;
    const out = new Float64Array(C);
    for (let k = 0; k < g.data.length; k++) out[Math.floor(k / inner) % C]! += g.data[k]!;
    return [{ shape: [C], data: out }];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: countAt(inputs[0]!, batch), bytes: 4 * countAt(inputs[0]!, batch) }),
};

/**
 * slice(x, axis, start, end): x[..., start:end, ...] along `axis` (>= 1, never the batch axis);
 * the gradient of concat. Attrs { axis, start, end } with 0 <= start < end <= size. Same dtype.
 */
export const slice: OpDef = {
  name: "slice",
  doc: "Contiguous slice along one axis (concat backward)",
  semantics: "PyTorch Tensor.narrow(axis, start, end - start)",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs, attrs) => {
    const x = inputs[0]!;
    const [axis, start, end] = [attrs["axis"] as number, attrs["start"] as number, attrs["end"] as number];
    const d = x.shape[axis];
    if (axis < 1 || typeof d !== "number" || !(start >= 0 && start < end && end <= d))
      throw new OpTypeError(`slice: [${start}, ${end}) on axis ${axis} does not fit ${showShape(x.shape)}`);
    const shape = [...x.shape];
    shape[axis] = end - start;
    return [{ dtype: x.dtype, shape }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const x = inputs[0]!;
    const [axis, start, end] = [attrs["axis"] as number, attrs["start"] as number, attrs["end"] as number];
    let inner = 1;
    for (const d of x.shape.slice(axis + 1)) inner *= d;
    const n = x.shape[axis]!;
    const outer = x.data.length / (n * inner);
    const w = end - start;
    const out = new Float64Array(outer * w * inner);
    for (let o = 0; o < outer; o++) out.set(x.data.subarray((o * n + start) * inner, (o * n + end) * inner), o * w * inner);
    const shape = [...x.shape];
    shape[axis] = w;
    return [{ shape, data: out }];
  },
  cost: (_i, outputs, _a, batch) => ({ flops: 0, bytes: 8 * countAt(outputs[0]!, batch) }),
};

/** Elementwise/shape backward primitives. */
export const GRAD_ELEMENTWISE_OPS: OpDef[] = [
  relu_grad,
  leaky_relu_grad,
  sigmoid_grad,
  tanh_grad,
  gelu_grad,
  softmax_grad,
  reduce_sum_to,
  channel_sum,
  slice,
];
