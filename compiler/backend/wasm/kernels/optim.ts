// Optimizer-update kernels (sgd, momentum, adam, adamw) and gradient clipping (global_norm, scale):
// elementwise lane groups over the param, lr/step read at run time from their [1] values.
// Neighbours: ir/optim.ts (float64 references, PyTorch torch.optim), kernels/train-util.ts.

import { F64, type Expr, type FOps, type Fn, type Local } from "../module.js";
import type { Kernel, KernelCtx } from "./context.js";
import { countOf, powiF64, sumF64 } from "./train-util.js";

/**
 * Elementwise update over the param's elements: `body(o, load, store)` with load(k)/store(k, v) for
 * input k / output k at the current lane group. Every element is read before it is written, so the
 * outputs may alias their inputs (param' on param, state' on state: in-place safe).
 */
function elementwise(
  ctx: KernelCtx,
  setup: Expr[],
  body: (o: FOps, load: (k: number) => Expr, store: (k: number, v: Expr) => Expr) => Expr[],
): Expr[] {
  const { f, node } = ctx;
  const ins = node.inputs.map(() => f.local());
  const outs = node.outputs.map(() => f.local());
  const n = f.local();
  return [
    ...node.inputs.map((id, k) => f.set(ins[k]!, ctx.ptr(id))),
    ...node.outputs.map((id, k) => f.set(outs[k]!, ctx.ptr(id))),
    f.set(n, countOf(ctx, node.inputs[0]!)),
    ...setup,
    f.forLanes(() => f.get(n), (o, idx) => {
      const cache = new Map<number, Local>();
      const pre: Expr[] = [];
      const load = (k: number): Expr => {
        let l = cache.get(k);
        if (!l) {
          l = f.local(o.type);
          cache.set(k, l);
          pre.push(f.set(l, o.load(f.at(f.get(ins[k]!), idx()))));
        }
        return f.get(l);
      };
      const stmts = body(o, load, (k, v) => o.store(f.at(f.get(outs[k]!), idx()), v));
      return [...pre, ...stmts];
    }),
  ];
}

/** Scalar f32 of a [1] input. */
function scalarIn(ctx: KernelCtx, k: number): Expr {
  return ctx.f.s.load(ctx.ptr(ctx.node.inputs[k]!));
}

/** Splat of a scalar f32 local for lane group ops. */
function sp(f: Fn, o: FOps, l: Local): Expr {
  return o.splat(f.get(l));
}

/** sgd_update(param, grad, lr) {weight_decay}: p' = p - lr (g + wd p) (PyTorch SGD, momentum 0). */
export const sgdKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const wd = ctx.node.attrs["weight_decay"] as number;
  const lr = f.local(f.s.type);
  return elementwise(ctx, [f.set(lr, scalarIn(ctx, 2))], (o, ld, st) => {
    const d = wd !== 0 ? o.add(ld(1), o.mul(o.c(wd), ld(0))) : ld(1);
    return [st(0, o.sub(ld(0), o.mul(sp(f, o, lr), d)))];
  });
};

/**
 * momentum_update(param, grad, buf, lr, step) {momentum, dampening, weight_decay, nesterov}:
 * d = g + wd p; buf' = d at step 1 (step < 1.5), else mu buf + (1 - dampening) d; d = nesterov ?
 * d + mu buf' : buf'; p' = p - lr d (PyTorch SGD with momentum).
 */
export const momentumKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const a = ctx.node.attrs;
  const [mo, damp, wd, nesterov] = [a["momentum"] as number, a["dampening"] as number, a["weight_decay"] as number, !!a["nesterov"]];
  const [lr, step] = [f.local(f.s.type), f.local(f.s.type)];
  return elementwise(ctx, [f.set(lr, scalarIn(ctx, 3)), f.set(step, scalarIn(ctx, 4))], (o, ld, st) => {
    const [d, b] = [f.local(o.type), f.local(o.type)];
    const first = o.lt(sp(f, o, step), o.c(1.5));
    return [
      f.set(d, wd !== 0 ? o.add(ld(1), o.mul(o.c(wd), ld(0))) : ld(1)),
      f.set(b, o.select(first, f.get(d), o.add(o.mul(o.c(mo), ld(2)), o.mul(o.c(1 - damp), f.get(d))))),
      st(1, f.get(b)),
      st(0, o.sub(ld(0), o.mul(sp(f, o, lr), nesterov ? o.add(f.get(d), o.mul(o.c(mo), f.get(b))) : f.get(b)))),
    ];
  });
};

/**
 * adam_update / adamw_update(param, grad, m, v, lr, step) {beta1, beta2, eps, weight_decay}: bias
 * corrections 1 - beta^step by exact binary powering in f64 (step read at run time), then per element
 * g += wd p (adam) or p *= 1 - lr wd (adamw); m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
 * p' = p - (lr / bc1) m' / (sqrt(v') / sqrt(bc2) + eps) (PyTorch Adam / AdamW, amsgrad off).
 */
function adamKernel(decoupled: boolean): Kernel {
  return (ctx) => {
    const f = ctx.f;
    const m = f.m;
    const a = ctx.node.attrs;
    const [b1, b2, eps, wd] = [a["beta1"] as number, a["beta2"] as number, a["eps"] as number, a["weight_decay"] as number];
    const [lr, stepSize, bc2s, decay] = [f.local(f.s.type), f.local(f.s.type), f.local(f.s.type), f.local(f.s.type)];
    const [p1, p2] = [f.local(F64), f.local(F64)];
    const k = f.local();
    const setup: Expr[] = [
      f.set(lr, scalarIn(ctx, 4)),
      f.set(k, m.i32.trunc_s_sat.f32(scalarIn(ctx, 5))),
      ...powiF64(f, p1, b1, f.get(k)),
      ...powiF64(f, p2, b2, f.get(k)),
      f.set(stepSize, m.f32.demote(m.f64.div(m.f64.promote(f.get(lr)), m.f64.sub(m.f64.const(1), f.get(p1))))),
      f.set(bc2s, m.f32.demote(m.f64.sqrt(m.f64.sub(m.f64.const(1), f.get(p2))))),
      f.set(decay, m.f32.demote(m.f64.sub(m.f64.const(1), m.f64.mul(m.f64.promote(f.get(lr)), m.f64.const(wd))))),
    ];
    return elementwise(ctx, setup, (o, ld, st) => {
      const [p, g, mm, vv] = [f.local(o.type), f.local(o.type), f.local(o.type), f.local(o.type)];
      const out: Expr[] = [f.set(p, ld(0)), f.set(g, ld(1))];
      if (decoupled && wd !== 0) out.push(f.set(p, o.mul(f.get(p), sp(f, o, decay))));
      if (!decoupled && wd !== 0) out.push(f.set(g, o.add(f.get(g), o.mul(o.c(wd), f.get(p)))));
      out.push(
        f.set(mm, o.add(o.mul(ld(2), o.c(b1)), o.mul(o.c(1 - b1), f.get(g)))),
        f.set(vv, o.add(o.mul(ld(3), o.c(b2)), o.mul(o.mul(o.c(1 - b2), f.get(g)), f.get(g)))),
        st(1, f.get(mm)),
        st(2, f.get(vv)),
        st(
          0,
          o.sub(f.get(p), o.div(o.mul(sp(f, o, stepSize), f.get(mm)), o.add(o.div(o.sqrt(f.get(vv)), sp(f, o, bc2s)), o.c(eps)))),
        ),
      );
      return out;
    });
  };
}

/** adam_update (see adamKernel). */
export const adamUpdateKernel = adamKernel(false);
/** adamw_update (see adamKernel). */
export const adamwUpdateKernel = adamKernel(true);

/**
 * global_norm(g0, g1, ...) {max_norm} -> [norm [1], coef [1]]: sqrt of the sum of squares of all
 * inputs in input order (f64 accumulation), coef = min(1, max_norm / (norm + 1e-6)) (clip_grad_norm_).
 */
export const globalNormKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const acc = f.local(F64);
  const [p, n, nrm] = [f.local(), f.local(), f.local(F64)];
  const maxNorm = node.attrs["max_norm"] as number;
  const body: Expr[] = [f.set(acc, m.f64.const(0))];
  for (const id of node.inputs)
    body.push(
      f.set(p, ctx.ptr(id)),
      f.set(n, countOf(ctx, id)),
      ...sumF64(f, acc, () => f.get(n), [() => f.get(p)], (w, [x]) => w.mul(x!(), x!())),
    );
  return [
    ...body,
    f.set(nrm, m.f64.sqrt(f.get(acc))),
    f.s.store(ctx.ptr(node.outputs[0]!), m.f32.demote(f.get(nrm))),
    f.s.store(
      ctx.ptr(node.outputs[1]!),
      m.f32.demote(m.f64.min(m.f64.const(1), m.f64.div(m.f64.const(maxNorm), m.f64.add(f.get(nrm), m.f64.const(1e-6))))),
    ),
  ];
};

/** scale(x, s): x * s with s a [1] value (in-place safe). */
export const scaleKernel: Kernel = (ctx) => {
  const f = ctx.f;
  const s = f.local(f.s.type);
  return elementwise(ctx, [f.set(s, scalarIn(ctx, 1))], (o, ld, st) => [st(0, o.mul(ld(0), sp(f, o, s)))]);
};
