// Loss ops (mse, cross_entropy, binary_cross_entropy, kl_divergence, gaussian_kl) and their backward primitives.
// Neighbours: autodiff/rules.ts (loss -> *_grad), autodiff/grad.ts seeds the loss gradient; spec/autodiff.md.
//
// Scalar convention: a loss (and every scalar of the training graph: lr, step, norms) is an f32 value of
// shape [1], no batch dim. Gradient ops take the loss gradient as such a [1] value `gl`.

import type { OpDef } from "./def.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import type { Attrs, Dim, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, elementwiseCost, requireFloat } from "./common.js";

const SCALAR: TensorType = { dtype: "f32", shape: [1] };

function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkReduction(op: string, attrs: Attrs, allowed: string[]): string {
  const r = attrs["reduction"] as string;
  if (!allowed.includes(r)) throw new OpArgError(`${op}: reduction must be one of ${allowed.join(", ")}, got ${JSON.stringify(r)}`, "reduction");
  return r;
}

/** A loss over two same-shaped f32 tensors with a pointwise term, plus its `_grad` op. */
interface Pointwise {
  name: string;
  doc: string;
  semantics: string;
  reductions: string[];
  /** Pointwise loss term l(x, t). */
  value(x: number, t: number, attrs: Attrs): number;
  /** d l(x, t) / d x. */
  deriv(x: number, t: number, attrs: Attrs): number;
}

/** Divisor of the summed loss: "mean" = all elements, "batchmean" = axis 0 (batch), "sum" = 1. */
function divisor(reduction: string, x: RefTensor): number {
  if (reduction === "mean") return x.data.length;
  if (reduction === "batchmean") return x.shape[0]!;
  return 1;
}

function pointwisePair(p: Pointwise): [OpDef, OpDef] {
  const infer2 = (op: string, inputs: TensorType[], attrs: Attrs): void => {
    const [x, t] = [inputs[0]!, inputs[1]!];
    requireFloat(op, x);
    requireFloat(op, t, 1);
    if (!sameShape(x.shape, t.shape)) throw new OpTypeError(`${op}: input ${showShape(x.shape)} and target ${showShape(t.shape)} differ`, undefined, 1);
    checkReduction(op, attrs, p.reductions);
  };
  const loss: OpDef = {
    name: p.name,
    doc: p.doc,
    semantics: p.semantics,
    internal: true,
    arity: 2,
    args: [],
    infer: (inputs, attrs) => {
      infer2(p.name, inputs, attrs);
      return [{ ...SCALAR, shape: [1] }];
    },
    reference: (inputs: RefTensor[], attrs) => {
      const [x, t] = [inputs[0]!, inputs[1]!];
      let s = 0;
      for (let k = 0; k < x.data.length; k++) s += p.value(x.data[k]!, t.data[k]!, attrs);
      return [{ shape: [1], data: Float64Array.of(s / divisor(attrs["reduction"] as string, x)) }];
    },
    cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 4, 2),
  };
  const grad: OpDef = {
    name: `${p.name}_grad`,
    doc: `${p.name} backward to its first input`,
    semantics: p.semantics,
    internal: true,
    arity: 3,
    args: [],
    infer: (inputs, attrs) => {
      infer2(`${p.name}_grad`, inputs, attrs);
      if (!sameShape(inputs[2]!.shape, [1])) throw new OpTypeError(`${p.name}_grad: loss gradient must be [1], got ${showShape(inputs[2]!.shape)}`);
      return [{ dtype: "f32", shape: [...inputs[0]!.shape] }];
    },
    reference: (inputs: RefTensor[], attrs) => {
      const [x, t, gl] = [inputs[0]!, inputs[1]!, inputs[2]!];
      const c = gl.data[0]! / divisor(attrs["reduction"] as string, x);
      const out = new Float64Array(x.data.length);
      for (let k = 0; k < out.length; k++) out[k] = c * p.deriv(x.data[k]!, t.data[k]!, attrs);
      return [{ shape: [...x.shape], data: out }];
    },
    cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 4, 2),
  };
  return [loss, grad];
}

/**
 * mse(input, target): sum((input - target)^2), divided by the element count for reduction "mean"
 * (PyTorch F.mse_loss). Inputs two f32 tensors of one shape -> [1]. Attrs { reduction: "mean" | "sum" }.
 * mse_grad(input, target, gl) = gl * 2 (input - target) / count -> input's shape.
 */
export const [mse, mse_grad] = pointwisePair({
  name: "mse",
  doc: "Mean squared error",
  semantics: "PyTorch torch.nn.functional.mse_loss",
  reductions: ["mean", "sum"],
  value: (x, t) => (x - t) * (x - t),
  deriv: (x, t) => 2 * (x - t),
});

/**
 * binary_cross_entropy(logits, target): the with-logits form, per element
 * max(x, 0) - x y + log1p(exp(-|x|)) (finite for any x), mean over elements or sum
 * (PyTorch F.binary_cross_entropy_with_logits, no weight / pos_weight). Inputs two f32 tensors of one
 * shape (targets in [0, 1]) -> [1]. Attrs { reduction }. Gradient: gl * (sigmoid(x) - y) / count.
 */
export const [binary_cross_entropy, binary_cross_entropy_grad] = pointwisePair({
  name: "binary_cross_entropy",
  doc: "Binary cross-entropy on logits (numerically stable)",
  semantics: "PyTorch torch.nn.functional.binary_cross_entropy_with_logits",
  reductions: ["mean", "sum"],
  value: (x, y) => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x))),
  deriv: (x, y) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))) - y,
});

/**
 * kl_divergence(input, target) with `input` log-probabilities (PyTorch F.kl_div): per element
 * xlogy(t, t) - t x (0 log 0 = 0, so zero targets add 0 to the value and the gradient), or with
 * log_target: exp(t) (t - x). Reduction "mean" (all elements, PyTorch's default), "sum", "batchmean"
 * (sum / batch size, the mathematically correct KL). Inputs two f32 tensors of one shape -> [1].
 * Attrs { reduction, log_target: boolean }. Gradient to input: gl * (-t or -exp(t)) / divisor.
 */
export const [kl_divergence, kl_divergence_grad] = pointwisePair({
  name: "kl_divergence",
  doc: "Kullback-Leibler divergence with log-probability input",
  semantics: "PyTorch torch.nn.functional.kl_div",
  reductions: ["mean", "sum", "batchmean"],
  value: (x, t, a) => (a["log_target"] ? Math.exp(t) * (t - x) : (t === 0 ? 0 : t * Math.log(t)) - t * x),
  deriv: (_x, t, a) => (a["log_target"] ? -Math.exp(t) : -t),
});

/** Shape rule of gaussian_kl(_grad): mu and logvar f32 [N, ...] of one shape, reduction "mean" or "sum". */
function inferGaussianKL(op: string, inputs: TensorType[], attrs: Attrs): void {
  const [mu, lv] = [inputs[0]!, inputs[1]!];
  requireFloat(op, mu);
  requireFloat(op, lv, 1);
  if (mu.shape.length < 1) throw new OpTypeError(`${op}: expected mu [N, ...], got ${showShape(mu.shape)}`);
  if (!sameShape(mu.shape, lv.shape)) throw new OpTypeError(`${op}: mu ${showShape(mu.shape)} and logvar ${showShape(lv.shape)} differ`, undefined, 1);
  checkReduction(op, attrs, ["mean", "sum"]);
}

/**
 * gaussian_kl(mu, logvar): KL(N(mu, exp(logvar)) || N(0, I)) of a diagonal Gaussian, per sample
 * -0.5 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)) over every non-batch element, then the mean over the
 * batch (axis 0; reduction "mean") or the sum ("sum") (Kingma & Welling 2014, appendix B). Inputs two f32
 * tensors [N, ...] of one shape -> [1]. Attrs { reduction }.
 */
export const gaussian_kl: OpDef = {
  name: "gaussian_kl",
  doc: "KL divergence of N(mu, exp(logvar)) from N(0, I), summed per sample (VAE)",
  semantics: "-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1), then mean (or sum) over the batch",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs, attrs) => {
    inferGaussianKL("gaussian_kl", inputs, attrs);
    return [{ ...SCALAR, shape: [1] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [mu, lv] = [inputs[0]!, inputs[1]!];
    let s = 0;
    for (let k = 0; k < mu.data.length; k++) s += 1 + lv.data[k]! - mu.data[k]! * mu.data[k]! - Math.exp(lv.data[k]!);
    return [{ shape: [1], data: Float64Array.of((-0.5 * s) / (attrs["reduction"] === "mean" ? mu.shape[0]! : 1)) }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 8, 2),
};

/**
 * gaussian_kl_grad(mu, logvar, gl) -> [dmu, dlogvar]: with c = gl / D (D = N for "mean", 1 for "sum"),
 * dmu = c mu, dlogvar = c 0.5 (exp(logvar) - 1). Attrs as gaussian_kl.
 */
export const gaussian_kl_grad: OpDef = {
  name: "gaussian_kl_grad",
  doc: "gaussian_kl backward to mu and logvar",
  semantics: "d/dmu = mu, d/dlogvar = 0.5 (exp(logvar) - 1), / batch for mean",
  internal: true,
  arity: 3,
  args: [],
  infer: (inputs, attrs) => {
    inferGaussianKL("gaussian_kl_grad", inputs, attrs);
    if (!sameShape(inputs[2]!.shape, [1])) throw new OpTypeError(`gaussian_kl_grad: loss gradient must be [1], got ${showShape(inputs[2]!.shape)}`);
    return [
      { dtype: "f32", shape: [...inputs[0]!.shape] },
      { dtype: "f32", shape: [...inputs[0]!.shape] },
    ];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [mu, lv, gl] = [inputs[0]!, inputs[1]!, inputs[2]!];
    const c = gl.data[0]! / (attrs["reduction"] === "mean" ? mu.shape[0]! : 1);
    const dmu = new Float64Array(mu.data.length);
    const dlv = new Float64Array(mu.data.length);
    for (let k = 0; k < dmu.length; k++) {
      dmu[k] = c * mu.data[k]!;
      dlv[k] = c * 0.5 * (Math.exp(lv.data[k]!) - 1);
    }
    return [
      { shape: [...mu.shape], data: dmu },
      { shape: [...mu.shape], data: dlv },
    ];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 6, 2),
};

/** Row-wise log-sum-exp of [N, C] logits, max-subtracted (finite for any finite logits). */
function logSumExp(x: RefTensor, n: number, C: number): number {
  let m = -Infinity;
  for (let c = 0; c < C; c++) m = Math.max(m, x.data[n * C + c]!);
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(x.data[n * C + c]! - m);
  return m + Math.log(s);
}

/** Smoothed target row t'_c (length C) for row n: class index or probability targets. */
function targetRow(x: RefTensor, t: RefTensor, n: number, eps: number): Float64Array {
  const C = x.shape[1]!;
  const row = new Float64Array(C);
  if (t.shape.length === 1) {
    const y = t.data[n]!;
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`cross_entropy: Target ${y} is out of bounds (${C} classes)`);
    row.fill(eps / C);
    row[y]! += 1 - eps;
  } else for (let c = 0; c < C; c++) row[c] = (1 - eps) * t.data[n * C + c]! + eps / C;
  return row;
}

function inferCE(op: string, inputs: TensorType[], attrs: Attrs): void {
  const [x, t] = [inputs[0]!, inputs[1]!];
  requireFloat(op, x);
  if (x.shape.length !== 2) throw new OpTypeError(`${op}: expected logits [N, C], got ${showShape(x.shape)}`);
  if (t.shape.length === 1) {
    if (t.dtype !== "i32") throw new OpDTypeError(`${op}: class-index targets must be i32, got ${t.dtype}`, undefined, 1);
    if (t.shape[0] !== x.shape[0]) throw new OpTypeError(`${op}: targets ${showShape(t.shape)} do not match logits ${showShape(x.shape)}`, undefined, 1);
  } else {
    if (t.dtype !== "f32") throw new OpDTypeError(`${op}: probability targets must be f32, got ${t.dtype}`, undefined, 1);
    if (!sameShape(t.shape, x.shape)) throw new OpTypeError(`${op}: targets ${showShape(t.shape)} do not match logits ${showShape(x.shape)}`, undefined, 1);
  }
  checkReduction(op, attrs, ["mean", "sum"]);
  const eps = attrs["label_smoothing"] as number;
  if (!(eps >= 0 && eps <= 1)) throw new OpArgError(`${op}: label_smoothing must be in [0, 1], got ${eps}`, "label_smoothing");
}

/**
 * cross_entropy(logits, target): softmax cross-entropy with a fused, max-subtracted log-softmax
 * (PyTorch F.cross_entropy, no weight / ignore_index). Inputs [logits f32 [N, C], target i32 [N] class
 * indices or f32 [N, C] probabilities] -> [1]. Attrs { reduction: "mean" | "sum", label_smoothing: ε }.
 * Per row: -sum_c t'_c log_softmax(x)_c with t' = (1 - ε) onehot(y) + ε / C (indices) or
 * (1 - ε) t + ε / C (probabilities), as PyTorch; "mean" divides by N in both cases.
 * Errors (reference): a class index outside [0, C).
 */
export const cross_entropy: OpDef = {
  name: "cross_entropy",
  doc: "Softmax cross-entropy on logits (class indices or probabilities, label smoothing)",
  semantics: "PyTorch torch.nn.functional.cross_entropy",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs, attrs) => {
    inferCE("cross_entropy", inputs, attrs);
    return [{ ...SCALAR, shape: [1] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, t] = [inputs[0]!, inputs[1]!];
    const [N, C] = x.shape as [number, number];
    const eps = attrs["label_smoothing"] as number;
    let s = 0;
    for (let n = 0; n < N; n++) {
      const lse = logSumExp(x, n, C);
      const row = targetRow(x, t, n, eps);
      for (let c = 0; c < C; c++) if (row[c] !== 0) s -= row[c]! * (x.data[n * C + c]! - lse);
    }
    return [{ shape: [1], data: Float64Array.of(attrs["reduction"] === "mean" ? s / N : s) }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 6, 2),
};

/**
 * cross_entropy_grad(logits, target, gl): d/dlogits = gl / D * (softmax(x) * sum_c t'_c - t') per row,
 * D = N for "mean", 1 for "sum". Inputs as cross_entropy plus gl [1] -> [N, C]. Attrs as cross_entropy.
 */
export const cross_entropy_grad: OpDef = {
  name: "cross_entropy_grad",
  doc: "cross_entropy backward to the logits",
  semantics: "PyTorch log_softmax + nll_loss backward",
  internal: true,
  arity: 3,
  args: [],
  infer: (inputs, attrs) => {
    inferCE("cross_entropy_grad", inputs, attrs);
    return [{ dtype: "f32", shape: [...inputs[0]!.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, t, gl] = [inputs[0]!, inputs[1]!, inputs[2]!];
    const [N, C] = x.shape as [number, number];
    const k = gl.data[0]! / (attrs["reduction"] === "mean" ? N : 1);
    const out = new Float64Array(N * C);
    for (let n = 0; n < N; n++) {
      const lse = logSumExp(x, n, C);
      const row = targetRow(x, t, n, attrs["label_smoothing"] as number);
      let S = 0;
      for (let c = 0; c < C; c++) S += row[c]!;
      for (let c = 0; c < C; c++) out[n * C + c] = k * (Math.exp(x.data[n * C + c]! - lse) * S - row[c]!);
    }
    return [{ shape: [N, C], data: out }];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: 6 * countAt(inputs[0]!, batch), bytes: 8 * countAt(inputs[0]!, batch) }),
};

/** Loss ops and their backward primitives. */
export const LOSS_OPS: OpDef[] = [
  mse,
  mse_grad,
  cross_entropy,
  cross_entropy_grad,
  binary_cross_entropy,
  binary_cross_entropy_grad,
  kl_divergence,
  kl_divergence_grad,
  gaussian_kl,
  gaussian_kl_grad,
];
