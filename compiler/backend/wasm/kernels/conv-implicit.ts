// conv2d as an implicit GEMM (no im2col): y[o][oy][ox..ox+7] = b[o] + sum_k W[o][k] xpad[tap(k) + oy*sh*Wp + ox],
// the 4 x 8 register block of kernels/gemm-packed.ts with B read straight from the (zero-padded) input planes.
// Chosen by plan.ts convImplicit (stride-1 columns, Wo >= 8). Neighbours: conv.ts (dispatch, im2col path), plan.ts.

import type { Expr, FOps, Fn, Local } from "../module.js";
import type { FusedStep } from "../../../passes/fuse-steps.js";
import { PACKED_MR, PANEL } from "./gemm-packed.js";
import { sampleDims, type Kernel } from "./context.js";
import { windowAttrs } from "./window.js";
import { epilogueOf } from "../../../passes/fuse-epilogue.js";
import { emitSteps } from "./fused.js";

/**
 * Kernel for conv2d shapes with convImplicit true. Per sample: the input planes are copied into the zeroed scratch
 * region with their padding (skipped when unpadded: B is the input itself); then per group, per block of 4 output
 * channels (SIMD; scalar modules 1) and output row, 8-column blocks (the last one shifted left to end at Wo, so
 * its overlap is recomputed, never out of range). The micro-kernel walks k = (c, ky, kx) with A = W[o][k] (the
 * PyTorch layout, rows Kg*4 bytes apart, load32_splat) and B = 8 contiguous padded-input floats at the byte
 * offset tap[k] = (c*Hp*Wp + ky*dh*Wp + kx*dw)*4 read from an i32 table that each call writes into scratch after
 * the padded planes (the weights region stays the tensors only).
 * Accumulation order (bias, then k ascending) equals the im2col GEMM's, so the results are bit-identical.
 * attrs.epilogue (passes/fuse-epilogue.ts: activations, a residual of y's shape as the last input) is applied in the
 * store (convEpilogue).
 */
export const implicitConvKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const epi = epilogueOf(node);
  const [x, w, b] = node.inputs.slice(0, node.inputs.length - epi.operands.length) as [string, string, string | undefined];
  const [C, H, W] = sampleDims(ctx, x) as [number, number, number];
  const [O, Ho, Wo] = sampleDims(ctx, node.outputs[0]!) as [number, number, number];
  const { kh, kw, sh, dh, dw } = windowAttrs(node.attrs);
  const [pt, pl, pb, pr] = (node.attrs["padding"] as [number, number, number, number] | undefined) ?? [0, 0, 0, 0];
  const groups = (node.attrs["groups"] as number | undefined) ?? 1;
  const P = Ho * Wo;
  const Cg = C / groups;
  const Og = O / groups;
  const Kg = Cg * kh * kw;
  const deltas = epi.operands.map(() => f.local());
  const padded = pt + pl + pb + pr > 0;
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  const plane = Hp * Wp;
  // The tap table (Kg i32 byte offsets) follows the padded planes in scratch, written once per call.
  const padElems = padded ? Math.ceil((C * plane) / 4) * 4 : 0;
  const o = f.v;
  const mr = o.lanes === 4 ? PACKED_MR : 1;
  const nv = PANEL / o.lanes;
  const [n, xs, ys, xb, px, py, pw, pbias, gi, xg, yg, wg, bg, i, pa, aend, pcb, oy, rowB, rowC, ox, j, ap, tp, q, c, yy, bp, tab] =
    Array.from({ length: 29 }, () => f.local());

  const micro = (rows: number): Expr => {
    const acc: Local[][] = Array.from({ length: rows }, () => Array.from({ length: nv }, () => f.local(o.type)));
    const bv = Array.from({ length: nv }, () => f.local(o.type));
    const av = f.local(o.type);
    const init: Expr[] = [];
    for (let r = 0; r < rows; r++)
      for (let v = 0; v < nv; v++)
        init.push(f.set(acc[r]![v]!, b ? o.splat(f.s.load(f.add(f.get(bg), f.mulk(f.get(i), 4)), r * 4)) : o.c(0)));
    const body: Expr[] = [f.set(q, f.add(f.get(bp), m.i32.load(0, 4, f.get(tp), "mem")))];
    for (let v = 0; v < nv; v++) body.push(f.set(bv[v]!, o.load(f.get(q), v * o.lanes * 4)));
    for (let r = 0; r < rows; r++) {
      body.push(f.set(av, o.loadSplat(f.get(ap), r * Kg * 4)));
      for (let v = 0; v < nv; v++) body.push(f.set(acc[r]![v]!, o.madd(f.get(av), f.get(bv[v]!), f.get(acc[r]![v]!))));
    }
    body.push(f.set(ap, f.addk(f.get(ap), 4)), f.set(tp, f.addk(f.get(tp), 4)));
    const store: Expr[] = [f.set(q, f.add(f.get(rowC), f.mulk(f.get(j), 4)))];
    for (let r = 0; r < rows; r++) for (let v = 0; v < nv; v++) {
        const off = r * P * 4 + v * o.lanes * 4;
        store.push(o.store(f.get(q), convEpilogue(f, o, epi.steps, f.get(acc[r]![v]!), deltas, q, off), off));
      }
    const label = `ic${loopId++}`;
    return f.block([
      ...init,
      f.set(ap, f.get(pa)),
      f.set(tp, f.get(tab)),
      f.set(bp, f.add(f.get(rowB), f.mulk(f.get(j), 4))),
      // do { ... } while (ap < aend): Kg >= 1
      m.loop(label, f.block([...body, m.br(label, m.i32.lt_u(f.get(ap), f.get(aend)))])),
      ...store,
    ]);
  };
  const rowBlock = (rows: number): Expr[] => [
    f.set(pa, f.add(f.get(wg), f.mulk(f.get(i), Kg * 4))),
    f.set(aend, f.addk(f.get(pa), Kg * 4)),
    f.set(pcb, f.add(f.get(yg), f.mulk(f.get(i), P * 4))),
    f.forRange(oy, f.i(0), f.i(Ho), [
      f.set(rowB, f.add(f.get(xg), f.mulk(f.get(oy), sh * Wp * 4))),
      f.set(rowC, f.add(f.get(pcb), f.mulk(f.get(oy), Wo * 4))),
      // ox = 0, 8, ... < Wo; the block starts at j = min(ox, Wo - 8)
      f.forRange(ox, f.i(0), f.i(Wo + PANEL - 1), [f.set(j, f.minS(() => f.get(ox), () => f.i(Wo - PANEL))), micro(rows)], PANEL),
    ]),
  ];
  const perSample: Expr[] = [
    f.set(xs, f.add(f.get(px), f.mulk(f.get(n), C * H * W * 4))),
    f.set(ys, f.add(f.get(py), f.mulk(f.get(n), O * P * 4))),
  ];
  if (padded)
    perSample.push(
      f.forRange(c, f.i(0), f.i(C), [
        f.forRange(yy, f.i(0), f.i(H), [
          f.copy(
            f.add(f.get(xb), f.addk(f.mulk(f.add(f.mulk(f.get(c), Hp), f.get(yy)), Wp * 4), (pt * Wp + pl) * 4)),
            f.add(f.get(xs), f.mulk(f.add(f.mulk(f.get(c), H), f.get(yy)), W * 4)),
            f.i(W * 4),
          ),
        ]),
      ]),
    );
  else perSample.push(f.set(xb, f.get(xs)));
  const groupBody: Expr[] = [
    f.set(xg, f.add(f.get(xb), f.mulk(f.get(gi), Cg * plane * 4))),
    f.set(yg, f.add(f.get(ys), f.mulk(f.get(gi), Og * P * 4))),
    f.set(wg, f.add(f.get(pw), f.mulk(f.get(gi), Og * Kg * 4))),
    f.set(bg, f.add(f.get(pbias), f.mulk(f.get(gi), Og * 4))),
    f.forRange(i, f.i(0), f.i(Og), rowBlock(mr), mr),
  ];
  if (mr > 1) groupBody.push(f.forRange(i, null, f.i(Og), rowBlock(1)));
  perSample.push(f.forRange(gi, f.i(0), f.i(groups), groupBody));
  const tapStores: Expr[] = [];
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      tapStores.push(m.i32.store((ky * kw + kx) * 4, 4, f.get(tp), f.addk(f.mulk(f.get(c), plane * 4), (ky * dh * Wp + kx * dw) * 4), "mem"));
  return [
    f.set(px, ctx.ptr(x)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    ...epi.operands.map((r, k) => f.set(deltas[k]!, f.sub(ctx.ptr(r), f.get(py)))),
    f.set(pw, ctx.ptr(w)),
    f.set(pbias, b ? ctx.ptr(b) : f.i(0)),
    f.set(tab, f.addk(ctx.scratch(), padElems * 4)),
    f.set(tp, f.get(tab)),
    f.forRange(c, f.i(0), f.i(Cg), [...tapStores, f.set(tp, f.addk(f.get(tp), kh * kw * 4))]),
    ...(padded ? [f.set(xb, ctx.scratch()), f.zero(f.get(xb), f.i(C * plane * 4))] : []),
    f.forRange(n, f.i(0), ctx.batch(), perSample),
  ];
};

let loopId = 0;

/**
 * The value stored for accumulator `acc` at byte address q + off: the epilogue steps over [acc, operand k at
 * q + deltas[k-1] + off] (the operands are laid out like y). No steps: acc itself.
 */
function convEpilogue(f: Fn, o: FOps, steps: readonly FusedStep[], acc: Expr, deltas: Local[], q: Local, off: number): Expr {
  if (steps.length === 0) return acc;
  return emitSteps(f, o, steps, [acc, ...deltas.map((d) => o.load(f.add(f.get(q), f.get(d)), off))]);
}
