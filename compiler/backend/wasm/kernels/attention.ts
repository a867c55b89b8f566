// multihead_attention forward (PyTorch nn.MultiheadAttention, batch_first) and padding_mask kernels, plus
// the row helpers the backward (kernels/attention-train.ts) shares. Weights are read at run time (one kernel
// for inference and training modules). Neighbours: ir/ops/attention.ts (reference), gemm.ts, gemm-packed.ts
// (the forward's projections and scores), math.ts (exp).

import type { Graph, Node } from "../../../ir/types.js";
import type { Expr, Fn, Local } from "../module.js";
import { F32 } from "../module.js";
import { exp } from "../math.js";
import { emitGemm } from "./gemm.js";
import { emitPackedGemm, PANEL } from "./gemm-packed.js";
import { epilogueOf } from "../../../passes/fuse-epilogue.js";
import { sampleDims, type Kernel, type KernelCtx } from "./context.js";
import { attentionScratchPieces } from "../plan.js";

/** Static geometry of a multihead_attention(_grad) node. */
export interface AttnGeom {
  L: number;
  S: number;
  E: number;
  H: number;
  d: number;
  causal: boolean;
  /** The key_padding_mask value id and dtype, when the node has one. */
  mask?: { id: string; i32: boolean };
  /** Input ids: query, key_value, in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias. */
  q: string;
  kv: string;
  win: string;
  bin: string;
  wo: string;
  bo: string;
}

/** Geometry of a forward node (inputs [q, kv, mask?, 4 params]) or a grad node (g first: `skip` = 1). */
export function attnGeom(g: Graph, n: Node, skip = 0): AttnGeom {
  const ins = n.inputs.slice(skip, n.inputs.length - epilogueOf(n).operands.length); // fused residuals come last
  const nAct = ins.length - 4;
  const [L, E] = g.values[ins[0]!]!.type.shape.slice(1) as [number, number];
  const S = g.values[ins[1]!]!.type.shape[1] as number;
  const H = n.attrs["num_heads"] as number;
  const [win, bin, wo, bo] = ins.slice(nAct) as [string, string, string, string];
  const geo: AttnGeom = { L, S, E, H, d: E / H, causal: n.attrs["causal"] === true, q: ins[0]!, kv: ins[1]!, win, bin, wo, bo };
  if (nAct === 3) geo.mask = { id: ins[2]!, i32: g.values[ins[2]!]!.type.dtype === "i32" };
  return geo;
}

/** Allocate consecutive 16-aligned f32 pieces of the scratch region: returns byte offsets. */
export function scratchPieces(sizes: number[]): number[] {
  let off = 0;
  return sizes.map((s) => {
    const o = off;
    off += Math.ceil(s / 4) * 16;
    return o;
  });
}

/** dst[c][r] = src[r][c] for an R x C row-major matrix (byte addresses in locals). */
export function transposeInto(f: Fn, src: Local, dst: Local, R: number, C: number): Expr {
  const [r, c, ps, pd] = [f.local(), f.local(), f.local(), f.local()];
  return f.forRange(r, f.i(0), f.i(R), [
    f.set(ps, f.add(f.get(src), f.mulk(f.get(r), C * 4))),
    f.set(pd, f.at(f.get(dst), f.get(r))),
    f.forRange(c, f.i(0), f.i(C), [f.s.store(f.get(pd), f.s.load(f.at(f.get(ps), f.get(c)))), f.set(pd, f.addk(f.get(pd), R * 4))]),
  ]);
}

/** acc = sum_c a[c] b[c] over `d` contiguous f32 (lane groups then a scalar tail), into f32 local `acc`. */
export function dot(f: Fn, acc: Local, a: () => Expr, b: () => Expr, d: number): Expr[] {
  const simd = f.v.lanes > 1 && d >= 4;
  const va = simd ? f.local(f.v.type) : undefined;
  const out: Expr[] = [f.set(acc, f.s.c(0))];
  if (va) out.push(f.set(va, f.v.c(0)));
  const body = (o: typeof f.v, idx: () => Expr): Expr[] => {
    const prod = o.mul(o.load(f.at(a(), idx())), o.load(f.at(b(), idx())));
    return o.lanes === 1 ? [f.set(acc, f.s.add(f.get(acc), prod))] : [f.set(va!, o.add(f.get(va!), prod))];
  };
  if (simd) out.push(f.forLanes(() => f.i(d), body));
  else {
    const c = f.local();
    out.push(f.forRange(c, f.i(0), f.i(d), body(f.s, () => f.get(c))));
  }
  if (va) out.push(f.set(acc, f.s.add(f.get(acc), f.v.hsum(() => f.get(va)))));
  return out;
}

/** y[c] += alpha * x[c] over `d` contiguous f32; `alpha` an f32 local. */
export function axpy(f: Fn, alpha: Local, x: () => Expr, y: () => Expr, d: number): Expr {
  return f.forLanes(() => f.i(d), (o, idx) => [
    o.store(f.at(y(), idx()), o.add(o.load(f.at(y(), idx())), o.mul(o.splat(f.get(alpha)), o.load(f.at(x(), idx()))))),
  ]);
}

/** Where one attention row reads from: query row (head slice), key rows, the sample's mask, the row buffer. */
export interface RowSpec {
  /** Byte address of Q[i, h*d]. */
  q: () => Expr;
  /** Byte address of K[0, h*d]; key j is at + j * kStride bytes. */
  k0: () => Expr;
  kStride: number;
  /** Byte address of the sample's mask row [S] (when the node has a mask). */
  mask?: () => Expr;
  /** The query index i (local), for the causal mask. */
  i: Local;
  /** Byte address of the f32 row buffer [S]. */
  row: () => Expr;
}

/**
 * Fill row[j] = softmax_j(Q_i . K_j / sqrt(d)) over unmasked keys (masked: causal j > i, or mask[j] != 0;
 * i32 compared as integers, f32 as floats), max-subtracted; masked entries 0 and a fully masked row all 0
 * (sum 0 -> scale 0, never NaN).
 */
export function probsRow(f: Fn, a: AttnGeom, r: RowSpec): Expr[] {
  const m = f.m;
  const [j, pk] = [f.local(), f.local()];
  const [s, mx, sum, inv, e] = [f.local(F32), f.local(F32), f.local(F32), f.local(F32), f.local(F32)];
  const scale = 1 / Math.sqrt(a.d);
  const masked = (): Expr => {
    let c: Expr | undefined;
    if (a.causal) c = m.i32.gt_s(f.get(j), f.get(r.i));
    if (a.mask && r.mask) {
      const mc = a.mask.i32
        ? m.i32.ne(m.i32.load(0, 4, f.add(r.mask(), f.mulk(f.get(j), 4)), "mem"), f.i(0))
        : m.f32.ne(f.s.load(f.at(r.mask(), f.get(j))), f.s.c(0));
      c = c === undefined ? mc : m.i32.or(c, mc);
    }
    return c ?? f.i(0);
  };
  const at = (): Expr => f.at(r.row(), f.get(j));
  return [
    f.set(mx, f.s.c(-Infinity)),
    f.set(pk, r.k0()),
    f.forRange(j, f.i(0), f.i(a.S), [
      ...dot(f, s, r.q, () => f.get(pk), a.d),
      f.s.store(at(), m.select(masked(), f.s.c(-Infinity), f.s.mul(f.get(s), f.s.c(scale)))),
      f.set(mx, f.s.max(f.get(mx), f.s.load(at()))),
      f.set(pk, f.addk(f.get(pk), r.kStride)),
    ]),
    f.set(sum, f.s.c(0)),
    f.forRange(j, f.i(0), f.i(a.S), [
      f.set(s, f.s.load(at())),
      f.set(e, m.select(m.f32.gt(f.get(s), f.s.c(-Infinity)), exp(f, f.s, f.s.sub(f.get(s), f.get(mx))), f.s.c(0))),
      f.s.store(at(), f.get(e)),
      f.set(sum, f.s.add(f.get(sum), f.get(e))),
    ]),
    f.set(inv, m.select(m.f32.gt(f.get(sum), f.s.c(0)), f.s.div(f.s.c(1), f.get(sum)), f.s.c(0))),
    f.forLanes(() => f.i(a.S), (o, idx) => [o.store(f.at(r.row(), idx()), o.mul(o.load(f.at(r.row(), idx())), o.splat(f.get(inv))))]),
  ];
}

/**
 * Per sample n of a forward node with W_in^T at `winT` (scratch): Q = q[n] W_q^T + b_q, KV = kv[n]
 * [W_k; W_v]^T + [b_k; b_v] (two calls of the shared gemm), then for every head and query row the
 * probabilities (probsRow) and O[i, h] = sum_j P_j V[j, h]. `O` is zeroed here.
 */
export function attendSample(
  ctx: KernelCtx,
  a: AttnGeom,
  p: { n: Local; winT: Local; Q: Local; KV: Local; O: Local; row: Local },
): Expr[] {
  const { f } = ctx;
  const E = a.E;
  const [h, i, j, pv] = [f.local(), f.local(), f.local(), f.local()];
  const pj = f.local(F32);
  const qRow = (): Expr => f.add(f.add(f.get(p.Q), f.mulk(f.get(i), E * 4)), f.mulk(f.get(h), a.d * 4));
  const oRow = (): Expr => f.add(f.add(f.get(p.O), f.mulk(f.get(i), E * 4)), f.mulk(f.get(h), a.d * 4));
  return [
    emitGemm(f, {
      M: f.i(a.L), N: E, K: E,
      a: f.add(ctx.ptr(a.q), f.mulk(f.get(p.n), a.L * E * 4)), lda: E,
      b: f.get(p.winT), ldb: 3 * E,
      c: f.get(p.Q), ldc: E,
      bias: { ptr: ctx.ptr(a.bin), along: "col" },
    }),
    emitGemm(f, {
      M: f.i(a.S), N: 2 * E, K: E,
      a: f.add(ctx.ptr(a.kv), f.mulk(f.get(p.n), a.S * E * 4)), lda: E,
      b: f.addk(f.get(p.winT), E * 4), ldb: 3 * E,
      c: f.get(p.KV), ldc: 2 * E,
      bias: { ptr: f.addk(ctx.ptr(a.bin), E * 4), along: "col" },
    }),
    f.zero(f.get(p.O), f.i(a.L * E * 4)),
    f.forRange(h, f.i(0), f.i(a.H), [
      f.forRange(i, f.i(0), f.i(a.L), [
        ...probsRow(f, a, {
          q: qRow,
          k0: () => f.add(f.get(p.KV), f.mulk(f.get(h), a.d * 4)),
          kStride: 2 * E * 4,
          ...(a.mask ? { mask: () => f.add(ctx.ptr(a.mask!.id), f.mulk(f.get(p.n), a.S * 4)) } : {}),
          i,
          row: () => f.get(p.row),
        }),
        // V[j, h] lives at KV + j*2E + E + h*d.
        f.set(pv, f.add(f.addk(f.get(p.KV), E * 4), f.mulk(f.get(h), a.d * 4))),
        f.forRange(j, f.i(0), f.i(a.S), [
          f.set(pj, f.s.load(f.at(f.get(p.row), f.get(j)))),
          f.if(f.m.f32.ne(f.get(pj), f.s.c(0)), [axpy(f, pj, () => f.get(pv), oRow, a.d)]),
          f.set(pv, f.addk(f.get(pv), 2 * E * 4)),
        ]),
      ]),
    ]),
  ];
}

/**
 * Pack W [N, K] (W[n][k] at byte src + (n*sn + k*sk)*4) into kn_panels (runtime/layout.ts, PANEL columns per
 * panel) at dst: the run-time counterpart of packKnPanels, so gemm_packed reads weights held in PyTorch layout.
 */
function packPanelsInto(f: Fn, src: () => Expr, dst: () => Expr, N: number, K: number, sn: number, sk: number): Expr {
  const [n, k, ps, pd] = [f.local(), f.local(), f.local(), f.local()];
  const full = Math.floor(N / PANEL) * PANEL;
  const rows = (lo: number, hi: number, w: number, at: () => Expr): Expr =>
    f.forRange(n, f.i(lo), f.i(hi), [
      f.set(ps, f.add(src(), f.mulk(f.get(n), sn * 4))),
      f.set(pd, f.add(dst(), at())),
      f.forRange(k, f.i(0), f.i(K), [
        f.s.store(f.get(pd), f.s.load(f.get(ps))),
        f.set(pd, f.addk(f.get(pd), w * 4)),
        f.set(ps, f.addk(f.get(ps), sk * 4)),
      ]),
    ]);
  const out: Expr[] = [];
  // Full panels: (n - n%PANEL)*K + n%PANEL.
  if (full > 0)
    out.push(rows(0, full, PANEL, () => f.mulk(f.add(f.mulk(f.m.i32.and(f.get(n), f.i(~(PANEL - 1))), K), f.m.i32.and(f.get(n), f.i(PANEL - 1))), 4)));
  if (full < N) out.push(rows(full, N, N - full, () => f.mulk(f.add(f.i(full * K - full), f.get(n)), 4)));
  return f.block(out);
}

/**
 * In place over `n` = S contiguous f32 scores of query row `i` at `row()`: row = softmax(row * scale) over
 * unmasked keys, with probsRow's semantics (masked entries and a fully masked row 0). Lane groups when the node
 * has no mask (max, exp, sum vectorized); a scalar masking pass first otherwise.
 */
function softmaxScores(f: Fn, a: AttnGeom, row: () => Expr, i: Local, mask?: () => Expr): Expr[] {
  const m = f.m;
  const scale = 1 / Math.sqrt(a.d);
  const [mx, sum, inv] = [f.local(F32), f.local(F32), f.local(F32)];
  const vec = f.v.lanes > 1;
  const [vmx, vsum] = vec ? [f.local(f.v.type), f.local(f.v.type)] : [undefined, undefined];
  const out: Expr[] = [f.set(mx, f.s.c(-Infinity)), f.set(sum, f.s.c(0))];
  if (vmx) out.push(f.set(vmx, f.v.c(-Infinity)), f.set(vsum, f.v.c(0)));
  const maxInto = (o: typeof f.v, v: Expr): Expr =>
    o.lanes === 1 ? f.set(mx, f.s.max(f.get(mx), v)) : f.set(vmx!, o.max(f.get(vmx!), v));
  if (a.causal || a.mask) {
    const j = f.local();
    const at = (): Expr => f.at(row(), f.get(j));
    let c: Expr | undefined;
    const masked = (): Expr => {
      c = undefined;
      if (a.causal) c = m.i32.gt_s(f.get(j), f.get(i));
      if (a.mask && mask) {
        const mc = a.mask.i32
          ? m.i32.ne(m.i32.load(0, 4, f.add(mask(), f.mulk(f.get(j), 4)), "mem"), f.i(0))
          : m.f32.ne(f.s.load(f.at(mask(), f.get(j))), f.s.c(0));
        c = c === undefined ? mc : m.i32.or(c, mc);
      }
      return c ?? f.i(0);
    };
    out.push(
      f.forRange(j, f.i(0), f.i(a.S), [
        f.s.store(at(), m.select(masked(), f.s.c(-Infinity), f.s.mul(f.s.load(at()), f.s.c(scale)))),
        f.set(mx, f.s.max(f.get(mx), f.s.load(at()))),
      ]),
    );
  } else {
    out.push(
      f.forLanes(() => f.i(a.S), (o, idx) => {
        const t = f.local(o.type);
        return [f.set(t, o.mul(o.load(f.at(row(), idx())), o.c(scale))), o.store(f.at(row(), idx()), f.get(t)), maxInto(o, f.get(t))];
      }),
    );
  }
  if (vmx) out.push(f.set(mx, f.s.max(f.get(mx), f.v.hmax(() => f.get(vmx)))));
  out.push(
    f.forLanes(() => f.i(a.S), (o, idx) => {
      const [s, e] = [f.local(o.type), f.local(o.type)];
      return [
        f.set(s, o.load(f.at(row(), idx()))),
        f.set(e, o.select(o.gt(f.get(s), o.c(-Infinity)), exp(f, o, o.sub(f.get(s), o.splat(f.get(mx)))), o.c(0))),
        o.store(f.at(row(), idx()), f.get(e)),
        o.lanes === 1 ? f.set(sum, f.s.add(f.get(sum), f.get(e))) : f.set(vsum!, o.add(f.get(vsum!), f.get(e))),
      ];
    }),
  );
  if (vsum) out.push(f.set(sum, f.s.add(f.get(sum), f.v.hsum(() => f.get(vsum)))));
  out.push(
    f.set(inv, m.select(m.f32.gt(f.get(sum), f.s.c(0)), f.s.div(f.s.c(1), f.get(sum)), f.s.c(0))),
    f.forLanes(() => f.i(a.S), (o, idx) => [o.store(f.at(row(), idx()), o.mul(o.load(f.at(row(), idx())), o.splat(f.get(inv))))]),
  );
  return out;
}

/**
 * Kernel for `multihead_attention` (inputs [query [N, L, E], key_value [N, S, E], key_padding_mask? [N, S],
 * in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E]]; attrs num_heads,
 * causal). Per call W_in and W_out are packed into scratch as kn_panels (packPanelsInto; params read at run
 * time in PyTorch layout, so training modules use it too); per sample: Q, KV projections (gemm_packed), then
 * per head K_h packed and the scores Q_h K_h^T as one gemm_packed [L, S], softmax per row (softmaxScores),
 * O_h = P V_h as one gemm; then y[n] = O W_out^T + b_out (gemm_packed, with the fused epilogue of
 * passes/fuse-epilogue.ts in its store: e.g. the transformer's residual x + attn; the residual input comes last). The backward (attention-train.ts)
 * recomputes with attendSample instead.
 */
export const multiheadAttentionKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const a = attnGeom(ctx.g, node);
  const E = a.E;
  const [offWin, offWo, offQ, offKV, offO, offKT, offP] = scratchPieces(attentionScratchPieces(ctx.g, node));
  const [n, winT, woT, Q, KV, O, KT, P] = [f.local(), f.local(), f.local(), f.local(), f.local(), f.local(), f.local(), f.local()];
  const [h, i] = [f.local(), f.local()];
  const row = (): Expr => f.add(f.get(P), f.mulk(f.get(i), a.S * 4));
  const epi = epilogueOf(node); // passes/fuse-epilogue.ts: activations / a residual in out_proj's store
  return [
    f.set(winT, f.addk(ctx.scratch(), offWin!)),
    f.set(woT, f.addk(ctx.scratch(), offWo!)),
    f.set(Q, f.addk(ctx.scratch(), offQ!)),
    f.set(KV, f.addk(ctx.scratch(), offKV!)),
    f.set(O, f.addk(ctx.scratch(), offO!)),
    f.set(KT, f.addk(ctx.scratch(), offKT!)),
    f.set(P, f.addk(ctx.scratch(), offP!)),
    packPanelsInto(f, () => ctx.ptr(a.win), () => f.get(winT), E, E, E, 1),
    packPanelsInto(f, () => f.addk(ctx.ptr(a.win), E * E * 4), () => f.addk(f.get(winT), E * E * 4), 2 * E, E, E, 1),
    packPanelsInto(f, () => ctx.ptr(a.wo), () => f.get(woT), E, E, E, 1),
    f.forRange(n, f.i(0), ctx.batch(), [
      emitPackedGemm(f, {
        M: f.i(a.L), N: E, K: E,
        a: f.add(ctx.ptr(a.q), f.mulk(f.get(n), a.L * E * 4)), lda: E,
        b: f.get(winT),
        c: f.get(Q), ldc: E,
        bias: ctx.ptr(a.bin),
      }),
      emitPackedGemm(f, {
        M: f.i(a.S), N: 2 * E, K: E,
        a: f.add(ctx.ptr(a.kv), f.mulk(f.get(n), a.S * E * 4)), lda: E,
        b: f.addk(f.get(winT), E * E * 4),
        c: f.get(KV), ldc: 2 * E,
        bias: f.addk(ctx.ptr(a.bin), E * 4),
      }),
      f.forRange(h, f.i(0), f.i(a.H), [
        // K_h [S, d] (rows 2E apart in KV) packed as the B operand of Q_h K_h^T.
        packPanelsInto(f, () => f.add(f.get(KV), f.mulk(f.get(h), a.d * 4)), () => f.get(KT), a.S, a.d, 2 * E, 1),
        emitPackedGemm(f, {
          M: f.i(a.L), N: a.S, K: a.d,
          a: f.add(f.get(Q), f.mulk(f.get(h), a.d * 4)), lda: E,
          b: f.get(KT),
          c: f.get(P), ldc: a.S,
        }),
        f.forRange(i, f.i(0), f.i(a.L),
          softmaxScores(f, a, row, i, a.mask ? () => f.add(ctx.ptr(a.mask!.id), f.mulk(f.get(n), a.S * 4)) : undefined)),
        emitGemm(f, {
          M: f.i(a.L), N: a.d, K: a.S,
          a: f.get(P), lda: a.S,
          b: f.add(f.addk(f.get(KV), E * 4), f.mulk(f.get(h), a.d * 4)), ldb: 2 * E,
          c: f.add(f.get(O), f.mulk(f.get(h), a.d * 4)), ldc: E,
        }),
      ]),
      emitPackedGemm(f, {
        M: f.i(a.L), N: E, K: E,
        a: f.get(O), lda: E,
        b: f.get(woT),
        c: f.add(ctx.ptr(node.outputs[0]!), f.mulk(f.get(n), a.L * E * 4)), ldc: E,
        bias: ctx.ptr(a.bo),
        ...(epi.steps.length > 0 ? { epilogue: { steps: epi.steps, deltas: epi.operands.map((r) => f.sub(ctx.ptr(r), ctx.ptr(node.outputs[0]!))) } } : {}),
      }),
    ]),
  ];
};

/** Kernel for `padding_mask`: i32 ids [N, ...] -> i32 (ids == pad_id). */
export const paddingMaskKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const count = sampleDims(ctx, node.inputs[0]!).reduce((x, y) => x * y, 1);
  const pad = node.attrs["pad_id"] as number;
  const [k, px, py] = [f.local(), f.local(), f.local()];
  return [
    f.set(px, ctx.ptr(node.inputs[0]!)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.forRange(k, f.i(0), f.mulk(ctx.batch(), count), [
      m.i32.store(0, 4, f.at(f.get(py), f.get(k)), m.i32.eq(m.i32.load(0, 4, f.at(f.get(px), f.get(k)), "mem"), f.i(pad)), "mem"),
    ]),
  ];
};
