// Training forms of batchnorm and dropout, and their backward: batchnorm_train, batchnorm_grad,
// batchnorm_stats_update, dropout_train (+ its counter-based RNG), layernorm_grad. Neighbours: autodiff/train-forward.ts
// rewrites ops/norm.ts's inference forms into these; autodiff/rules.ts differentiates them.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { RefTensor } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, elementwiseCost, requireFloat, staticDim } from "./common.js";
import { lastAxisRows, rowStats } from "./norm.js";
import { dropoutDraw, dropoutKey, dropoutThreshold } from "./grad-rng.js";

/** Channels C and elements per channel M = N * prod(spatial) of an [N, C, ...] tensor. */
function perChannel(x: RefTensor): { C: number; inner: number; M: number } {
  const C = x.shape[1]!;
  let inner = 1;
  for (const d of x.shape.slice(2)) inner *= d;
  return { C, inner, M: x.data.length / C };
}

/**
 * batchnorm_train(x, weight, bias): batch-statistics batch normalization (PyTorch nn.BatchNorm1d/2d in
 * train()). Inputs [x [N, C, ...], weight [C], bias [C]] -> [y [N, C, ...], mean [C], var [C] (biased,
 * divides by M = N * spatial, used to normalize), var_unbiased [C] (divides by M - 1, for the running
 * statistics)]. y = (x - mean) / sqrt(var + eps) * weight + bias. Attrs { eps, momentum } (momentum only
 * carried for batchnorm_stats_update). Errors (reference): M = 1 throws "Expected more than 1 value per
 * channel when training", as PyTorch.
 */
export const batchnorm_train: OpDef = {
  name: "batchnorm_train",
  doc: "Batch normalization with batch statistics (training form)",
  semantics: "PyTorch torch.nn.BatchNorm1d / BatchNorm2d (train mode)",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs) => {
    const x = inputs[0]!;
    requireFloat("batchnorm_train", x);
    if (x.shape.length < 2) throw new OpTypeError(`batchnorm_train: expected an input [N, C, ...], got ${showShape(x.shape)}`);
    const C = staticDim("batchnorm_train", x, 1);
    for (let i = 1; i <= 2; i++) {
      const p = inputs[i];
      if (!p || p.shape.length !== 1 || p.shape[0] !== C)
        throw new OpTypeError(`batchnorm_train: parameter ${i} ${p ? showShape(p.shape) : "missing"} does not match ${C} channels`, undefined, i);
    }
    const c = { dtype: "f32" as const, shape: [C] };
    return [{ dtype: "f32", shape: [...x.shape] }, c, { ...c }, { ...c }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, w, b] = inputs as [RefTensor, RefTensor, RefTensor];
    const eps = attrs["eps"] as number;
    const { C, inner, M } = perChannel(x);
    if (M <= 1) throw new Error(`batchnorm_train: Expected more than 1 value per channel when training, got input size ${showShape(x.shape)}`);
    const mean = new Float64Array(C);
    const v = new Float64Array(C);
    for (let k = 0; k < x.data.length; k++) mean[Math.floor(k / inner) % C]! += x.data[k]!;
    for (let c = 0; c < C; c++) mean[c]! /= M;
    for (let k = 0; k < x.data.length; k++) {
      const d = x.data[k]! - mean[Math.floor(k / inner) % C]!;
      v[Math.floor(k / inner) % C]! += d * d;
    }
    const vb = v.map((s) => s / M);
    const vu = v.map((s) => s / (M - 1));
    const y = new Float64Array(x.data.length);
    for (let k = 0; k < x.data.length; k++) {
      const c = Math.floor(k / inner) % C;
      y[k] = ((x.data[k]! - mean[c]!) / Math.sqrt(vb[c]! + eps)) * w.data[c]! + b.data[c]!;
    }
    return [{ shape: [...x.shape], data: y }, { shape: [C], data: mean }, { shape: [C], data: vb }, { shape: [C], data: vu }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 7, 2),
};

/**
 * batchnorm_grad(g, x, weight, mean, var): backward of batchnorm_train. With xhat = (x - mean) * invstd,
 * invstd = 1 / sqrt(var + eps), M elements per channel:
 * dx = weight * invstd / M * (M g - sum(g) - xhat * sum(g xhat)); dweight = sum(g xhat); dbias = sum(g)
 * (sums per channel). Inputs [g, x [N, C, ...], weight [C], mean [C], var [C]] -> [dx, dweight [C], dbias [C]].
 * Attrs { eps }. (PyTorch native_batch_norm_backward, train=True.)
 */
export const batchnorm_grad: OpDef = {
  name: "batchnorm_grad",
  doc: "Batch normalization backward (batch statistics)",
  semantics: "PyTorch native_batch_norm_backward (training)",
  internal: true,
  arity: 4,
  args: [],
  infer: (inputs) => {
    const [g, x] = [inputs[0]!, inputs[1]!];
    if (g.shape.length !== x.shape.length || g.shape.some((d, i) => d !== x.shape[i]))
      throw new OpTypeError(`batchnorm_grad: gradient ${showShape(g.shape)} and input ${showShape(x.shape)} differ`, undefined, 1);
    const C = staticDim("batchnorm_grad", x, 1, 1);
    return [{ dtype: "f32", shape: [...x.shape] }, { dtype: "f32", shape: [C] }, { dtype: "f32", shape: [C] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [g, x, w, mean, v] = inputs as [RefTensor, RefTensor, RefTensor, RefTensor, RefTensor];
    const eps = attrs["eps"] as number;
    const { C, inner, M } = perChannel(x);
    const invstd = v.data.map((s) => 1 / Math.sqrt(s + eps));
    const sg = new Float64Array(C);
    const sgx = new Float64Array(C);
    for (let k = 0; k < x.data.length; k++) {
      const c = Math.floor(k / inner) % C;
      sg[c]! += g.data[k]!;
      sgx[c]! += g.data[k]! * (x.data[k]! - mean.data[c]!) * invstd[c]!;
    }
    const dx = new Float64Array(x.data.length);
    for (let k = 0; k < x.data.length; k++) {
      const c = Math.floor(k / inner) % C;
      const xhat = (x.data[k]! - mean.data[c]!) * invstd[c]!;
      dx[k] = ((w.data[c]! * invstd[c]!) / M) * (M * g.data[k]! - sg[c]! - xhat * sgx[c]!);
    }
    return [{ shape: [...x.shape], data: dx }, { shape: [C], data: sgx }, { shape: [C], data: sg }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 10, 2),
};

/**
 * batchnorm_stats_update(running_mean, running_var, mean, var_unbiased): the running-statistics update,
 * new = (1 - momentum) * running + momentum * batch (PyTorch BatchNorm, momentum not None;
 * num_batches_tracked is not modelled). Inputs four [C] tensors -> [new_running_mean, new_running_var].
 * Attrs { momentum }. In-place semantics: the outputs replace the state buffers after the step.
 */
export const batchnorm_stats_update: OpDef = {
  name: "batchnorm_stats_update",
  doc: "Batch normalization running-statistics update (state update)",
  semantics: "PyTorch torch.nn.BatchNorm running_mean / running_var update",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs) => {
    const C = inputs[0]!.shape[0] as number;
    if (inputs.length !== 4 || inputs.some((t) => t.shape.length !== 1 || t.shape[0] !== C))
      throw new OpTypeError(`batchnorm_stats_update: expected four [${C}] tensors`);
    return [{ dtype: "f32", shape: [C] }, { dtype: "f32", shape: [C] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [rm, rv, m, v] = inputs as [RefTensor, RefTensor, RefTensor, RefTensor];
    const mo = attrs["momentum"] as number;
    const upd = (r: RefTensor, b: RefTensor) => ({ shape: [...r.shape], data: r.data.map((x, i) => (1 - mo) * x + mo * b.data[i]!) });
    return [upd(rm, m), upd(rv, v)];
  },
  cost: (inputs) => ({ flops: 6 * (inputs[0]!.shape[0] as number), bytes: 24 * (inputs[0]!.shape[0] as number) }),
};

/**
 * dropout_train(x, rng): inverted dropout. Element k (row-major over the whole [N, ...] tensor) is kept
 * iff dropoutDraw(dropoutKey(seed, step, salt), k) >= dropoutThreshold(p); kept elements are scaled by
 * 1 / (1 - p), the rest are 0 (p = 1 gives all zeros, as PyTorch). Inputs [x f32 [N, ...], rng i32 [2] =
 * [seed, step]] -> [N, ...]. Attrs { p, salt } (salt distinguishes dropout layers; set by
 * autodiff/train-forward.ts). The mask is a pure function of integers, so the float64 reference and the
 * wasm kernel agree on it bit for bit. Its own backward: dx = dropout_train(g, rng) with the same attrs.
 * (Semantics of PyTorch nn.Dropout in train(); the random stream differs from PyTorch's.)
 */
export const dropout_train: OpDef = {
  name: "dropout_train",
  doc: "Inverted dropout with a counter-based hash mask (training form)",
  semantics: "PyTorch torch.nn.Dropout (train mode), counter-based mask",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs) => {
    const [x, r] = [inputs[0]!, inputs[1]!];
    requireFloat("dropout_train", x);
    if (r.dtype !== "i32" || r.shape.length !== 1 || r.shape[0] !== 2)
      throw new OpTypeError(`dropout_train: rng must be i32 [2] = [seed, step], got ${r.dtype}${showShape(r.shape)}`, undefined, 1);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, r] = [inputs[0]!, inputs[1]!];
    const p = attrs["p"] as number;
    const key = dropoutKey(r.data[0]!, r.data[1]!, attrs["salt"] as number);
    const t = dropoutThreshold(p);
    const scale = p < 1 ? 1 / (1 - p) : 0;
    const y = new Float64Array(x.data.length);
    for (let k = 0; k < y.length; k++) y[k] = dropoutDraw(key, k) >= t ? x.data[k]! * scale : 0;
    return [{ shape: [...x.shape], data: y }];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: 8 * countAt(inputs[0]!, batch), bytes: 8 * countAt(inputs[0]!, batch) }),
  trainOnly: true,
};

/**
 * layernorm_grad(g, x, weight): backward of layernorm over the last axis (D). Per row, with the two-pass
 * statistics of x recomputed, invstd = 1 / sqrt(var + eps), xhat = (x - mean) invstd, gh = g weight:
 * dx = invstd / D * (D gh - sum(gh) - xhat sum(gh xhat)); dweight[j] = sum over rows g xhat;
 * dbias[j] = sum over rows g. Inputs [g, x [N, ..., D], weight [D]] -> [dx, dweight [D], dbias [D]].
 * Attrs { eps }. (PyTorch native_layer_norm_backward.)
 */
export const layernorm_grad: OpDef = {
  name: "layernorm_grad",
  doc: "Layer normalization backward (last axis)",
  semantics: "PyTorch native_layer_norm_backward",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs) => {
    const [g, x, w] = [inputs[0]!, inputs[1]!, inputs[2]!];
    if (g.shape.length !== x.shape.length || g.shape.some((d, i) => d !== x.shape[i]))
      throw new OpTypeError(`layernorm_grad: gradient ${showShape(g.shape)} and input ${showShape(x.shape)} differ`, undefined, 1);
    const D = staticDim("layernorm_grad", x, x.shape.length - 1, 1);
    if (w.shape.length !== 1 || w.shape[0] !== D) throw new OpTypeError(`layernorm_grad: weight ${showShape(w.shape)} is not [${D}]`, undefined, 2);
    return [{ dtype: "f32", shape: [...x.shape] }, { dtype: "f32", shape: [D] }, { dtype: "f32", shape: [D] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [g, x, w] = inputs as [RefTensor, RefTensor, RefTensor];
    const eps = attrs["eps"] as number;
    const { D, rows } = lastAxisRows(x);
    const dx = new Float64Array(x.data.length);
    const dw = new Float64Array(D);
    const db = new Float64Array(D);
    for (let r = 0; r < rows; r++) {
      const { mean, v } = rowStats(x.data, r, D);
      const inv = 1 / Math.sqrt(v + eps);
      let sgh = 0;
      let sghx = 0;
      for (let j = 0; j < D; j++) {
        const k = r * D + j;
        const xh = (x.data[k]! - mean) * inv;
        const gh = g.data[k]! * w.data[j]!;
        sgh += gh;
        sghx += gh * xh;
        dw[j]! += g.data[k]! * xh;
        db[j]! += g.data[k]!;
      }
      for (let j = 0; j < D; j++) {
        const k = r * D + j;
        const xh = (x.data[k]! - mean) * inv;
        dx[k] = (inv / D) * (D * g.data[k]! * w.data[j]! - sgh - xh * sghx);
      }
    }
    return [{ shape: [...x.shape], data: dx }, { shape: [D], data: dw }, { shape: [D], data: db }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 14, 2),
};

/** Training-form normalization/regularization ops. */
export const GRAD_NORM_OPS: OpDef[] = [batchnorm_train, batchnorm_grad, batchnorm_stats_update, dropout_train, layernorm_grad];
