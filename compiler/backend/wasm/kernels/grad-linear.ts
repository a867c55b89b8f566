// Backward kernels of dense and conv2d: dense_grad_input (g W, shared gemm), dense_grad_weight (g^T x
// over all rows), conv2d_grad_input (W^T g per group into col scratch, then col2im), conv2d_grad_weight
// (im2col of x and g^T into scratch, dW^T += col g^T per sample). Weights are read at run time.
// Neighbours: ir/ops/grad-linear.ts (references), kernels/gemm.ts, gemm-acc.ts, conv.ts (im2col),
// window.ts (geometry), train-index.ts (scratch).

import type { Expr, Local } from "../module.js";
import type { Graph, Node } from "../../../ir/types.js";
import { emitGemm } from "./gemm.js";
import { emitGemmAcc } from "./gemm-acc.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { im2col } from "./conv.js";
import { stride1Cols, windowAttrs, type WindowGeom } from "./window.js";

/**
 * dense_grad_input(g [N, ..., units], weight [units, in]) -> [N, ..., in]: dx = g W as one GEMM over
 * all rows (the shared inference gemm: A = g row-major, B = W row-major, read at run time).
 */
export const denseGradInputKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [g, w] = node.inputs as [string, string];
  const gd = sampleDims(ctx, g);
  const units = gd[gd.length - 1]!;
  const rows = prod(gd.slice(0, -1));
  const inF = sampleDims(ctx, w)[1]!;
  return [
    emitGemm(f, { M: typeOf0(ctx, g) ? f.mulk(ctx.batch(), rows) : f.i(rows), N: inF, K: units, a: ctx.ptr(g), lda: units, b: ctx.ptr(w), ldb: inF, c: ctx.ptr(node.outputs[0]!), ldc: inF }),
  ];
};

/**
 * dense_grad_weight(g [N, ..., units], x [N, ..., in]) -> [units, in]: dW = g^T x summed over all
 * batch*rows rows, as one gemm_acc with A = g^T (strided view), f32 sums in row order.
 */
export const denseGradWeightKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [g, x] = node.inputs as [string, string];
  const gd = sampleDims(ctx, g);
  const units = gd[gd.length - 1]!;
  const rows = prod(gd.slice(0, -1));
  const xd = sampleDims(ctx, x);
  const inF = xd[xd.length - 1]!;
  const M = typeOf0(ctx, g) ? f.mulk(ctx.batch(), rows) : f.i(rows);
  return [
    emitGemmAcc(f, { M: f.i(units), N: f.i(inF), K: M, a: ctx.ptr(g), aRow: 1, aCol: units, b: ctx.ptr(x), ldb: inF, c: ctx.ptr(node.outputs[0]!), ldc: inF, accumulate: false }),
  ];
};

/** True when value `id` has the batch dim. */
function typeOf0(ctx: KernelCtx, id: string): boolean {
  return ctx.g.values[id]!.type.shape[0] === "N";
}

/** Static conv geometry of a conv2d_grad_* node: the forward window geometry plus O, groups and per-group sizes. */
interface Geom extends WindowGeom {
  O: number;
  groups: number;
  /** Output pixels per plane: Ho * Wo. */
  P: number;
  /** Output channels per group: O / groups. */
  Og: number;
  /** col rows per group: (C / groups) * kh * kw. */
  Kg: number;
}

function geomOf(g: Graph, n: Node): Geom {
  const gs = g.values[n.inputs[0]!]!.type.shape as number[];
  const [O, Ho, Wo] = [gs[1]!, gs[2]!, gs[3]!];
  let C: number;
  let H: number;
  let W: number;
  if (n.op === "conv2d_grad_input") {
    C = n.attrs["in_channels"] as number;
    [H, W] = n.attrs["input_size"] as [number, number];
  } else {
    const xs = g.values[n.inputs[1]!]!.type.shape as number[];
    [C, H, W] = [xs[1]!, xs[2]!, xs[3]!];
  }
  const groups = (n.attrs["groups"] as number | undefined) ?? 1;
  const wa = windowAttrs(n.attrs);
  return { C, H, W, O, Ho, Wo, ...wa, groups, P: Ho * Wo, Og: O / groups, Kg: (C / groups) * wa.kh * wa.kw };
}

/** 1x1, stride 1, unpadded: the col matrix of conv2d_grad_input is dx itself (no scratch). */
function direct(q: Geom): boolean {
  return q.kh === 1 && q.kw === 1 && q.sh === 1 && q.sw === 1 && q.pt === 0 && q.pl === 0;
}

/**
 * Scratch bytes of the conv backward kernels (16-aligned, batch independent: one sample at a time):
 * conv2d_grad_input C*kh*kw x Ho*Wo (0 when 1x1/stride 1/unpadded); conv2d_grad_weight
 * C*kh*kw x Ho*Wo + Ho*Wo x O + (C/groups)*kh*kw x O (col, g^T, dW^T); 0 for every other op.
 */
export function convGradScratchBytes(g: Graph, n: Node): number {
  if (n.op !== "conv2d_grad_input" && n.op !== "conv2d_grad_weight") return 0;
  const q = geomOf(g, n);
  if (n.op === "conv2d_grad_input" && direct(q)) return 0;
  const col = q.C * q.kh * q.kw * q.P;
  const elems = n.op === "conv2d_grad_input" ? col : col + q.P * q.O + q.Kg * q.O;
  return Math.ceil((elems * 4) / 16) * 16;
}

/**
 * conv2d_grad_input(g [N, O, Ho, Wo], weight [O, C/groups, kh, kw]) -> [N, C, H, W] (transposed conv):
 * per sample and group, col[g] [Cg*kh*kw, Ho*Wo] = W[g]^T g[g] (gemm_acc with a transposed view of W),
 * then col2im: dx[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw] += col[(c, ky, kx)][oy, ox] in that order
 * (stride-1 columns as one lane-group run per row). 1x1/stride 1/unpadded: the GEMM writes dx directly.
 */
export const conv2dGradInputKernel: Kernel = (ctx) => {
  const { f, node, g } = ctx;
  const q = geomOf(g, node);
  const { P, Og, Kg } = q;
  const isDirect = direct(q);
  const [n, gs, xs, gi, pw] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const colBase = (): Expr => (isDirect ? f.get(xs) : ctx.scratch());
  const perSample: Expr[] = [
    f.set(gs, f.add(ctx.ptr(node.inputs[0]!), f.mulk(f.get(n), q.O * P * 4))),
    f.set(xs, f.add(ctx.ptr(node.outputs[0]!), f.mulk(f.get(n), q.C * q.H * q.W * 4))),
    f.forRange(gi, f.i(0), f.i(q.groups), [
      emitGemmAcc(f, {
        M: f.i(Kg),
        N: f.i(P),
        K: f.i(Og),
        a: f.add(f.get(pw), f.mulk(f.get(gi), Og * Kg * 4)),
        aRow: 1,
        aCol: Kg,
        b: f.add(f.get(gs), f.mulk(f.get(gi), Og * P * 4)),
        ldb: P,
        c: f.add(colBase(), f.mulk(f.get(gi), Kg * P * 4)),
        ldc: P,
        accumulate: false,
      }),
    ]),
  ];
  if (!isDirect) perSample.push(f.zero(f.get(xs), f.i(q.C * q.H * q.W * 4)), col2im(ctx, q, xs));
  return [f.set(pw, ctx.ptr(node.inputs[1]!)), f.forRange(n, f.i(0), ctx.batch(), perSample)];
};

/** Scatter-add the scratch col matrix [C*kh*kw, Ho*Wo] into the sample's dx planes at `xs`. */
function col2im(ctx: KernelCtx, q: Geom, xs: Local): Expr {
  const f = ctx.f;
  const [c, ky, kx, oy, ox, iy, ix, src, row, lo, hi] = Array.from({ length: 11 }, () => f.local());
  // Valid output columns for this kx: ix = ox*sw - pl + kx*dw in [0, W).
  const colRange: Expr[] = q.sw === 1 ? stride1Cols(f, q, kx, lo, hi) : [];
  const dstRow = (): Expr => f.add(f.get(xs), f.mulk(f.add(f.mulk(f.get(c), q.H), f.get(iy)), q.W * 4));
  const rowBody: Expr[] = [
    f.set(iy, f.add(f.sub(f.mulk(f.get(oy), q.sh), f.i(q.pt)), f.mulk(f.get(ky), q.dh))),
    f.if(f.inRange(f.get(iy), q.H), [
      f.set(row, dstRow()),
      q.sw === 1
        ? f.block([
            // dx[row][lo - pl + kx*dw + t] += col[src][oy*Wo + lo + t], t < hi - lo.
            f.set(ix, f.add(f.sub(f.get(lo), f.i(q.pl)), f.mulk(f.get(kx), q.dw))),
            f.forLanes(() => f.sub(f.get(hi), f.get(lo)), (o, t) => {
              const d = (): Expr => f.at(f.at(f.get(row), f.get(ix)), t());
              return [o.store(d(), o.add(o.load(d()), o.load(f.at(f.at(f.get(src), f.add(f.mulk(f.get(oy), q.Wo), f.get(lo))), t()))))];
            }),
          ])
        : f.forRange(ox, f.i(0), f.i(q.Wo), [
            f.set(ix, f.add(f.sub(f.mulk(f.get(ox), q.sw), f.i(q.pl)), f.mulk(f.get(kx), q.dw))),
            f.if(f.inRange(f.get(ix), q.W), [
              f.s.store(
                f.at(f.get(row), f.get(ix)),
                f.s.add(f.s.load(f.at(f.get(row), f.get(ix))), f.s.load(f.at(f.get(src), f.add(f.mulk(f.get(oy), q.Wo), f.get(ox))))),
              ),
            ]),
          ]),
    ]),
  ];
  return f.block([
    f.set(src, ctx.scratch()),
    f.forRange(c, f.i(0), f.i(q.C), [
      f.forRange(ky, f.i(0), f.i(q.kh), [
        f.forRange(kx, f.i(0), f.i(q.kw), [...colRange, f.forRange(oy, f.i(0), f.i(q.Ho), rowBody), f.set(src, f.addk(f.get(src), q.Ho * q.Wo * 4))]),
      ]),
    ]),
  ]);
}

/**
 * conv2d_grad_weight(g [N, O, Ho, Wo], x [N, C, H, W]) -> [O, C/groups, kh, kw], computed transposed in
 * scratch: per sample, col [C*kh*kw, P] = im2col(x) (stride-1 rows as zero/memory.copy/zero) and
 * gT [P, O] = g^T, then per group dWT[g] [Kg, Og] += col[g] gT[:, group] (gemm_acc: f32 sums over P per
 * sample, added in sample order: deterministic); finally dW[o][k] = dWT[k][o]. Scratch layout:
 * [col Kt*P][gT P*O][dWT Kg*O] (convGradScratchBytes).
 */
export const conv2dGradWeightKernel: Kernel = (ctx) => {
  const { f, node, g } = ctx;
  const q = geomOf(g, node);
  const { P, Og, Kg } = q;
  const Kt = q.C * q.kh * q.kw;
  const [n, gs, xs, gi, o, k, src, dst] = Array.from({ length: 8 }, () => f.local());
  const gT = (): Expr => f.addk(ctx.scratch(), Kt * P * 4);
  const dWT = (): Expr => f.addk(ctx.scratch(), (Kt * P + P * q.O) * 4);
  return [
    f.zero(dWT(), f.i(Kg * q.O * 4)),
    f.forRange(n, f.i(0), ctx.batch(), [
      f.set(gs, f.add(ctx.ptr(node.inputs[0]!), f.mulk(f.get(n), q.O * P * 4))),
      f.set(xs, f.add(ctx.ptr(node.inputs[1]!), f.mulk(f.get(n), q.C * q.H * q.W * 4))),
      im2col(ctx, q, xs),
      // gT[p][o] = g[o][p]: contiguous loads, stores strided by O.
      f.set(src, f.get(gs)),
      f.forRange(o, f.i(0), f.i(q.O), [
        f.set(dst, f.at(gT(), f.get(o))),
        f.forRange(k, f.i(0), f.i(P), [
          f.s.store(f.get(dst), f.s.load(f.get(src))),
          f.set(src, f.addk(f.get(src), 4)),
          f.set(dst, f.addk(f.get(dst), q.O * 4)),
        ]),
      ]),
      f.forRange(gi, f.i(0), f.i(q.groups), [
        emitGemmAcc(f, {
          M: f.i(Kg),
          N: f.i(Og),
          K: f.i(P),
          a: f.add(ctx.scratch(), f.mulk(f.get(gi), Kg * P * 4)),
          aRow: P,
          aCol: 1,
          b: f.add(gT(), f.mulk(f.get(gi), Og * 4)),
          ldb: q.O,
          c: f.add(dWT(), f.mulk(f.get(gi), Kg * Og * 4)),
          ldc: Og,
          accumulate: true,
        }),
      ]),
    ]),
    // dW[gi][o][k] = dWT[gi][k][o].
    f.set(dst, ctx.ptr(node.outputs[0]!)),
    f.forRange(gi, f.i(0), f.i(q.groups), [
      f.forRange(o, f.i(0), f.i(Og), [
        f.set(src, f.add(dWT(), f.mulk(f.add(f.mulk(f.get(gi), Kg * Og), f.get(o)), 4))),
        f.forRange(k, f.i(0), f.i(Kg), [
          f.s.store(f.get(dst), f.s.load(f.get(src))),
          f.set(src, f.addk(f.get(src), Og * 4)),
          f.set(dst, f.addk(f.get(dst), 4)),
        ]),
      ]),
    ]),
  ];
};
