// Variational-autoencoder ops: random_normal (seeded N(0, 1) samples), reparameterize (inference form: mu)
// and its training form reparameterize_train + backward reparameterize_grad. Neighbours: ops/normal-rng.ts
// (the RNG), autodiff/train-forward.ts (rewrites reparameterize), kernels/cvae.ts (wasm), loss.ts (gaussian_kl).

import type { OpDef } from "./def.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, elementwiseCost, requireFloat } from "./common.js";
import { dropoutKey } from "./grad-rng.js";
import { normalAt, randomNormalKey } from "./normal-rng.js";

/**
 * random_normal(seed, size): seed i32 [N] (one integer per sample) -> f32 [N, size] standard normal
 * numbers. Row n is the stream key = randomNormalKey(seed[n]); element j = normalAt(key, j) (Box-Muller of
 * two 24-bit counter-based hash draws, ops/normal-rng.ts). Pure function of (seed, j): the same seed gives
 * the same row in every batch position, build (SIMD/scalar) and the float64 reference (within f32
 * rounding). Not differentiable. Attrs { size }. Errors: size < 1 → OpArgError; seed not i32 [N] →
 * OpDTypeError / OpTypeError. (Semantics: torch.randn per sample with its own generator; the stream differs.)
 */
export const random_normal: OpDef = {
  name: "random_normal",
  doc: "Seeded standard normal samples, one row of `size` per sample seed",
  semantics: "torch.randn(size) per sample (counter-based Box-Muller stream, not PyTorch's)",
  arity: 1,
  inputs: [{ name: "seed", doc: "[N] i32, one RNG seed per sample (e.g. `input seed: i32[]`)" }],
  args: [{ name: "size", kind: "int", doc: "numbers per sample (>= 1)" }],
  normalize: (a) => {
    const size = a["size"] as number;
    if (!Number.isInteger(size) || size < 1) throw new OpArgError(`random_normal: size must be an integer >= 1, got ${size}`, "size");
    return { size };
  },
  infer: (inputs, attrs) => {
    const s = inputs[0]!;
    if (s.dtype !== "i32") throw new OpDTypeError(`random_normal: seed must be i32 (one integer per sample), got ${s.dtype}`, "declare it `input seed: i32[]`");
    if (s.shape.length !== 1) throw new OpTypeError(`random_normal: seed must be [N] (one integer per sample), got ${showShape(s.shape)}`);
    return [{ dtype: "f32", shape: [s.shape[0]!, attrs["size"] as number] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const seed = inputs[0]!;
    const size = attrs["size"] as number;
    const N = seed.data.length;
    const out = new Float64Array(N * size);
    for (let n = 0; n < N; n++) {
      const key = randomNormalKey(seed.data[n]!);
      for (let j = 0; j < size; j++) out[n * size + j] = normalAt(key, j);
    }
    return [{ shape: [N, size], data: out }];
  },
  cost: (_i, outputs, _a, batch) => ({ flops: 60 * countAt(outputs[0]!, batch), bytes: 4 * countAt(outputs[0]!, batch) }),
};

/** Shape rule shared by reparameterize and its training forms: two f32 tensors of one shape. */
function inferPair(op: string, mu: TensorType, lv: TensorType): void {
  requireFloat(op, mu);
  requireFloat(op, lv, 1);
  if (mu.shape.length !== lv.shape.length || mu.shape.some((d, i) => d !== lv.shape[i]))
    throw new OpTypeError(`${op}: mu ${showShape(mu.shape)} and logvar ${showShape(lv.shape)} differ`, undefined, 1);
}

/**
 * reparameterize(mu, logvar): the VAE reparameterization trick (Kingma & Welling 2014). Inference form
 * (this op): z = mu (the mean of q(z | x)); trainOnly, so passes/remove-dropout.ts rewires its uses to
 * mu. Training graphs use reparameterize_train instead (autodiff/train-forward.ts). Inputs
 * [mu f32 [N, ...], logvar f32, same shape] -> z, that shape.
 */
export const reparameterize: OpDef = {
  name: "reparameterize",
  doc: "VAE sample mu + exp(logvar / 2) * eps in training (eps ~ N(0, 1), seeded); mu at inference",
  semantics: "Kingma & Welling 2014 reparameterization (torch: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))",
  arity: 2,
  inputs: [
    { name: "mu", doc: "[N, ...] f32 mean of q(z | x)" },
    { name: "logvar", doc: "[N, ...] f32 log-variance, same shape" },
  ],
  args: [],
  infer: (inputs) => {
    inferPair("reparameterize", inputs[0]!, inputs[1]!);
    return [{ dtype: "f32", shape: [...inputs[0]!.shape] }];
  },
  reference: (inputs: RefTensor[]) => [{ shape: [...inputs[0]!.shape], data: inputs[0]!.data.slice() }],
  cost: (inputs, _o, _a, batch) => ({ flops: 0, bytes: 8 * countAt(inputs[0]!, batch) }),
  trainOnly: true,
};

/**
 * reparameterize_train(mu, logvar, rng): z = mu + exp(0.5 logvar) eps, eps[k] = normalAt(dropoutKey(seed,
 * step, salt), k) for element k row-major over the whole [N, ...] tensor. Inputs [mu, logvar, rng i32 [2] =
 * [seed, step]] -> [z, eps] (eps is kept for the backward). Attrs { salt } (REPARAM_SALT_BASE + ordinal,
 * set by autodiff/train-forward.ts).
 */
export const reparameterize_train: OpDef = {
  name: "reparameterize_train",
  doc: "Reparameterized sample with the seeded counter-based normal stream (training form)",
  semantics: "mu + exp(0.5 * logvar) * eps, eps ~ N(0, 1) counter-based",
  internal: true,
  arity: 3,
  args: [],
  infer: (inputs) => {
    const [mu, lv, r] = [inputs[0]!, inputs[1]!, inputs[2]!];
    inferPair("reparameterize_train", mu, lv);
    if (r.dtype !== "i32" || r.shape.length !== 1 || r.shape[0] !== 2)
      throw new OpTypeError(`reparameterize_train: rng must be i32 [2] = [seed, step], got ${r.dtype}${showShape(r.shape)}`, undefined, 2);
    return [
      { dtype: "f32", shape: [...mu.shape] },
      { dtype: "f32", shape: [...mu.shape] },
    ];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [mu, lv, r] = inputs as [RefTensor, RefTensor, RefTensor];
    const key = dropoutKey(r.data[0]!, r.data[1]!, attrs["salt"] as number);
    const z = new Float64Array(mu.data.length);
    const eps = new Float64Array(mu.data.length);
    for (let k = 0; k < z.length; k++) {
      eps[k] = normalAt(key, k);
      z[k] = mu.data[k]! + Math.exp(0.5 * lv.data[k]!) * eps[k]!;
    }
    return [
      { shape: [...mu.shape], data: z },
      { shape: [...mu.shape], data: eps },
    ];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: 70 * countAt(inputs[0]!, batch), bytes: 16 * countAt(inputs[0]!, batch) }),
  trainOnly: true,
};

/**
 * reparameterize_grad(g, logvar, eps): dlogvar = 0.5 g exp(0.5 logvar) eps (dz/dlogvar); dmu = g needs no
 * op. Inputs three f32 tensors of one shape -> that shape.
 */
export const reparameterize_grad: OpDef = {
  name: "reparameterize_grad",
  doc: "reparameterize backward to logvar",
  semantics: "d(mu + exp(0.5 logvar) eps)/dlogvar = 0.5 exp(0.5 logvar) eps",
  internal: true,
  arity: 3,
  args: [],
  infer: (inputs) => {
    const [g, lv, eps] = [inputs[0]!, inputs[1]!, inputs[2]!];
    inferPair("reparameterize_grad", g, lv);
    inferPair("reparameterize_grad", g, eps);
    return [{ dtype: "f32", shape: [...g.shape] }];
  },
  reference: (inputs: RefTensor[]) => {
    const [g, lv, eps] = inputs as [RefTensor, RefTensor, RefTensor];
    const out = new Float64Array(g.data.length);
    for (let k = 0; k < out.length; k++) out[k] = 0.5 * g.data[k]! * Math.exp(0.5 * lv.data[k]!) * eps.data[k]!;
    return [{ shape: [...g.shape], data: out }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 20, 3),
};

/** Language-level CVAE ops (OPS). */
export const CVAE_OPS: OpDef[] = [random_normal, reparameterize];
/** IR-only training forms (IR_OPS). */
export const CVAE_TRAIN_OPS: OpDef[] = [reparameterize_train, reparameterize_grad];
