// Optimizer-update ops (sgd, momentum, adam, adamw) and gradient clipping (global_norm, scale), float64
// references of PyTorch 1.13's torch.optim formulas. Neighbours: autodiff/optimizer.ts appends them; spec/autodiff.md.
//
// In-place semantics: an update op OUTPUTS the new param (and new optimizer state); the training driver
// (and later the wasm backend, by aliasing) writes them back onto the param/state buffers after the step.
// lr and step are runtime scalars: f32 [1] graph inputs (LR schedules live in the JS driver); step counts from 1.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { Attrs, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt } from "./common.js";

function same(a: TensorType, b: TensorType): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function isScalar(t: TensorType): boolean {
  return t.shape.length === 1 && t.shape[0] === 1;
}

/**
 * Shared op shape: inputs [param, grad, ...state (param-shaped), ...scalars ([1])] -> [param, ...state].
 * `arity` counts inputs that are not params/state in the canonical graph (grad + scalars).
 */
function update(
  name: string,
  doc: string,
  semantics: string,
  nState: number,
  scalars: string[],
  step: (p: Float64Array, g: Float64Array, state: Float64Array[], s: number[], attrs: Attrs) => void,
): OpDef {
  return {
    name,
    doc,
    semantics,
    internal: true,
    arity: 1 + scalars.length,
    args: [],
    infer: (inputs) => {
      const p = inputs[0]!;
      if (inputs.length !== 2 + nState + scalars.length)
        throw new OpTypeError(`${name}: expected [param, grad${", state".repeat(nState)}, ${scalars.join(", ")}], got ${inputs.length} inputs`);
      for (let i = 1; i < 2 + nState; i++)
        if (!same(inputs[i]!, p)) throw new OpTypeError(`${name}: input ${i} ${showShape(inputs[i]!.shape)} does not match param ${showShape(p.shape)}`, undefined, i);
      for (let i = 2 + nState; i < inputs.length; i++)
        if (!isScalar(inputs[i]!)) throw new OpTypeError(`${name}: ${scalars[i - 2 - nState]} must be a [1] scalar, got ${showShape(inputs[i]!.shape)}`, undefined, i);
      return Array.from({ length: 1 + nState }, () => ({ dtype: "f32" as const, shape: [...p.shape] }));
    },
    reference: (inputs: RefTensor[], attrs) => {
      const p = inputs[0]!.data.slice();
      const state = inputs.slice(2, 2 + nState).map((t) => t.data.slice());
      step(p, inputs[1]!.data, state, inputs.slice(2 + nState).map((t) => t.data[0]!), attrs);
      const shape = inputs[0]!.shape;
      return [{ shape: [...shape], data: p }, ...state.map((d) => ({ shape: [...shape], data: d }))];
    },
    cost: (inputs, _o, _a, batch) => {
      const n = countAt(inputs[0]!, batch);
      return { flops: n * (3 + 4 * nState), bytes: 4 * n * (3 + 2 * nState) };
    },
  };
}

/**
 * sgd_update(param, grad, lr) -> [param'] with d = grad + weight_decay * param; param' = param - lr * d
 * (PyTorch torch.optim.SGD, momentum 0). Attrs { weight_decay }.
 */
export const sgd_update = update("sgd_update", "SGD step", "PyTorch torch.optim.SGD (momentum=0)", 0, ["lr"], (p, g, _s, [lr], a) => {
  const wd = a["weight_decay"] as number;
  for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr! * (g[i]! + wd * p[i]!);
});

/**
 * momentum_update(param, grad, buf, lr, step) -> [param', buf']. d = grad + weight_decay * param;
 * buf' = d at step 1 (PyTorch clones d into the new buffer), else momentum * buf + (1 - dampening) * d;
 * nesterov: d = d + momentum * buf', else d = buf'; param' = param - lr * d (PyTorch torch.optim.SGD
 * with momentum). Attrs { momentum, dampening, weight_decay, nesterov: boolean }.
 */
export const momentum_update = update(
  "momentum_update",
  "SGD with momentum / Nesterov step",
  "PyTorch torch.optim.SGD (momentum > 0)",
  1,
  ["lr", "step"],
  (p, g, [buf], [lr, step], a) => {
    const [mo, damp, wd] = [a["momentum"] as number, a["dampening"] as number, a["weight_decay"] as number];
    for (let i = 0; i < p.length; i++) {
      let d = g[i]! + wd * p[i]!;
      buf![i] = step === 1 ? d : mo * buf![i]! + (1 - damp) * d;
      d = a["nesterov"] ? d + mo * buf![i]! : buf![i]!;
      p[i] = p[i]! - lr! * d;
    }
  },
);

function adamStep(decoupled: boolean) {
  return (p: Float64Array, g: Float64Array, [m, v]: Float64Array[], [lr, step]: number[], a: Attrs): void => {
    const [b1, b2, eps, wd] = [a["beta1"] as number, a["beta2"] as number, a["eps"] as number, a["weight_decay"] as number];
    const bc1 = 1 - b1 ** step!;
    const bc2sqrt = Math.sqrt(1 - b2 ** step!);
    const stepSize = lr! / bc1;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i]!;
      if (decoupled) p[i] = p[i]! * (1 - lr! * wd);
      else gi += wd * p[i]!;
      m![i] = m![i]! * b1 + (1 - b1) * gi;
      v![i] = v![i]! * b2 + (1 - b2) * gi * gi;
      p[i] = p[i]! - (stepSize * m![i]!) / (Math.sqrt(v![i]!) / bc2sqrt + eps);
    }
  };
}

/**
 * adam_update(param, grad, m, v, lr, step) -> [param', m', v'] (PyTorch torch.optim.Adam, amsgrad off):
 * g = grad + weight_decay * param; m' = beta1 m + (1 - beta1) g; v' = beta2 v + (1 - beta2) g^2;
 * param' = param - lr / (1 - beta1^step) * m' / (sqrt(v') / sqrt(1 - beta2^step) + eps) — eps outside the
 * sqrt, step counted from 1. Attrs { beta1, beta2, eps, weight_decay }.
 */
export const adam_update = update("adam_update", "Adam step", "PyTorch torch.optim.Adam", 2, ["lr", "step"], adamStep(false));

/**
 * adamw_update(param, grad, m, v, lr, step) -> [param', m', v'] (PyTorch torch.optim.AdamW): decoupled
 * decay param *= 1 - lr * weight_decay first, then the adam_update step with no decay in the gradient.
 * Attrs { beta1, beta2, eps, weight_decay }.
 */
export const adamw_update = update("adamw_update", "AdamW step (decoupled weight decay)", "PyTorch torch.optim.AdamW", 2, ["lr", "step"], adamStep(true));

/**
 * global_norm(g0, g1, ...) -> [norm [1], coef [1]]: norm = sqrt(sum of all squared elements of all inputs),
 * coef = min(1, max_norm / (norm + 1e-6)) (PyTorch torch.nn.utils.clip_grad_norm_, norm_type 2).
 * Attrs { max_norm }. Multiply each gradient by coef with `scale` to clip.
 */
export const global_norm: OpDef = {
  name: "global_norm",
  doc: "Global L2 norm of several tensors and the clip coefficient",
  semantics: "PyTorch torch.nn.utils.clip_grad_norm_ (norm_type=2)",
  internal: true,
  arity: "variadic",
  args: [],
  infer: (inputs) => {
    if (inputs.length < 1) throw new OpTypeError("global_norm: needs at least one input");
    return [{ dtype: "f32", shape: [1] }, { dtype: "f32", shape: [1] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    let s = 0;
    for (const t of inputs) for (const x of t.data) s += x * x;
    const norm = Math.sqrt(s);
    const coef = Math.min(1, (attrs["max_norm"] as number) / (norm + 1e-6));
    return [{ shape: [1], data: Float64Array.of(norm) }, { shape: [1], data: Float64Array.of(coef) }];
  },
  cost: (inputs, _o, _a, batch) => {
    const n = inputs.reduce((s, t) => s + countAt(t, batch), 0);
    return { flops: 2 * n, bytes: 4 * n };
  },
};

/** scale(x, s) = x * s with s a [1] scalar (e.g. global_norm's clip coefficient). x f32 -> same. Attrs {}. */
export const scale: OpDef = {
  name: "scale",
  doc: "Multiply a tensor by a runtime scalar",
  semantics: "PyTorch Tensor.mul_(scalar tensor)",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs) => {
    if (!isScalar(inputs[1]!)) throw new OpTypeError(`scale: factor must be [1], got ${showShape(inputs[1]!.shape)}`, undefined, 1);
    return [{ dtype: "f32", shape: [...inputs[0]!.shape] }];
  },
  reference: (inputs: RefTensor[]) => {
    const s = inputs[1]!.data[0]!;
    return [{ shape: [...inputs[0]!.shape], data: inputs[0]!.data.map((x) => x * s) }];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: countAt(inputs[0]!, batch), bytes: 8 * countAt(inputs[0]!, batch) }),
};

/** Optimizer and clipping ops. */
export const OPTIM_OPS: OpDef[] = [sgd_update, momentum_update, adam_update, adamw_update, global_norm, scale];
