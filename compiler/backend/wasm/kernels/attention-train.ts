// multihead_attention_grad: the fused attention backward of training modules (recomputes the forward per
// sample in scratch). Neighbours: kernels/attention.ts (forward pieces: attendSample, probsRow, dot, axpy),
// ir/ops/grad-attention.ts (float64 reference), gemm.ts / gemm-acc.ts, train-index.ts (registration).

import type { Expr, Local } from "../module.js";
import { F32 } from "../module.js";
import { emitGemm } from "./gemm.js";
import { emitGemmAcc } from "./gemm-acc.js";
import type { Kernel } from "./context.js";
import type { Fn } from "../module.js";
import { attendSample, attnGeom, axpy, dot, probsRow, scratchPieces, transposeInto } from "./attention.js";
import { attentionScratchPieces } from "../plan.js";

/** dst[c] += sum over `rows` rows of src[r][c] (row-major, `width` columns); src / dst byte addresses. */
function colSums(f: Fn, src: () => Expr, dst: () => Expr, rows: number, width: number): Expr {
  const [r, p] = [f.local(), f.local()];
  return f.block([
    f.set(p, src()),
    f.forRange(r, f.i(0), f.i(rows), [
      f.forLanes(() => f.i(width), (o, idx) => [o.store(f.at(dst(), idx()), o.add(o.load(f.at(dst(), idx())), o.load(f.at(f.get(p), idx()))))]),
      f.set(p, f.addk(f.get(p), width * 4)),
    ]),
  ]);
}

/**
 * Kernel for multihead_attention_grad(g, query, key_value, key_padding_mask?, in_proj_weight, in_proj_bias,
 * out_proj.weight, out_proj.bias) -> [dquery, dkey_value, din_proj_weight, din_proj_bias, dout_proj.weight,
 * dout_proj.bias]. W_in^T goes to scratch once; the four parameter gradients are zeroed, then per sample:
 * attendSample recomputes Q, KV and O; dout_proj.bias += col sums of g, dout_proj.weight += g^T O (gemm_acc),
 * dO = g W_out; per head and query row the probabilities again (probsRow), dP_j = dO_i . V_j, t = sum P dP,
 * dS_j = P_j (dP_j - t) / sqrt(d) and dQ_i += dS_j K_j, dK_j += dS_j Q_i, dV_j += P_j dO_i (keys with
 * P_j = 0 skipped: masked, or no weight); dquery = dQ W_q, dkey_value = [dK | dV] [W_k; W_v] (gemm),
 * din_proj_weight += [dQ^T query; [dK | dV]^T key_value] (gemm_acc), din_proj_bias += col sums. f32 sums
 * in sample order (deterministic). Outputs must not alias inputs.
 */
export const multiheadAttentionGradKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const a = attnGeom(ctx.g, node, 1);
  const { E, L, S, d } = a;
  const gId = node.inputs[0]!;
  const [dq, dkv, dWin, dbin, dWo, dbo] = node.outputs as [string, string, string, string, string, string];
  const offs = scratchPieces(attentionScratchPieces(ctx.g, node));
  const L_ = (): Local => f.local();
  const [n, winT, Q, KV, O, dO, dQ, dKV, P, dP, src, h, i, j] = [L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_(), L_()];
  const [s, t, p, ds] = [f.local(F32), f.local(F32), f.local(F32), f.local(F32)];
  const scale = 1 / Math.sqrt(d);
  const locals = [winT, Q, KV, O, dO, dQ, dKV, P, dP];
  const gN = (): Expr => f.add(ctx.ptr(gId), f.mulk(f.get(n), L * E * 4));
  const head = (base: Local, row: Local, stride: number, extra = 0): (() => Expr) => () =>
    f.add(f.add(f.addk(f.get(base), extra), f.mulk(f.get(row), stride * 4)), f.mulk(f.get(h), d * 4));
  const qi = head(Q, i, E);
  const dOi = head(dO, i, E);
  const dQi = head(dQ, i, E);
  const kj = head(KV, j, 2 * E);
  const vj = head(KV, j, 2 * E, E * 4);
  const dKj = head(dKV, j, 2 * E);
  const dVj = head(dKV, j, 2 * E, E * 4);
  const at = (l: Local): Expr => f.at(f.get(l), f.get(j));
  return [
    ...locals.map((l, k) => f.set(l, f.addk(ctx.scratch(), offs[k]!))),
    f.set(src, ctx.ptr(a.win)),
    transposeInto(f, src, winT, 3 * E, E),
    f.zero(ctx.ptr(dWin), f.i(3 * E * E * 4)),
    f.zero(ctx.ptr(dbin), f.i(3 * E * 4)),
    f.zero(ctx.ptr(dWo), f.i(E * E * 4)),
    f.zero(ctx.ptr(dbo), f.i(E * 4)),
    f.forRange(n, f.i(0), ctx.batch(), [
      ...attendSample(ctx, a, { n, winT, Q, KV, O, row: P }),
      colSums(f, gN, () => ctx.ptr(dbo), L, E),
      emitGemmAcc(f, { M: f.i(E), N: f.i(E), K: f.i(L), a: gN(), aRow: 1, aCol: E, b: f.get(O), ldb: E, c: ctx.ptr(dWo), ldc: E, accumulate: true }),
      emitGemm(f, { M: f.i(L), N: E, K: E, a: gN(), lda: E, b: ctx.ptr(a.wo), ldb: E, c: f.get(dO), ldc: E }),
      f.zero(f.get(dQ), f.i(L * E * 4)),
      f.zero(f.get(dKV), f.i(2 * S * E * 4)),
      f.forRange(h, f.i(0), f.i(a.H), [
        f.forRange(i, f.i(0), f.i(L), [
          ...probsRow(f, a, {
            q: qi,
            k0: () => f.add(f.get(KV), f.mulk(f.get(h), d * 4)),
            kStride: 2 * E * 4,
            ...(a.mask ? { mask: () => f.add(ctx.ptr(a.mask!.id), f.mulk(f.get(n), S * 4)) } : {}),
            i,
            row: () => f.get(P),
          }),
          f.set(t, f.s.c(0)),
          f.forRange(j, f.i(0), f.i(S), [
            ...dot(f, s, dOi, vj, d),
            f.s.store(at(dP), f.get(s)),
            f.set(t, f.s.add(f.get(t), f.s.mul(f.s.load(at(P)), f.get(s)))),
          ]),
          f.forRange(j, f.i(0), f.i(S), [
            f.set(p, f.s.load(at(P))),
            f.if(f.m.f32.ne(f.get(p), f.s.c(0)), [
              f.set(ds, f.s.mul(f.s.mul(f.get(p), f.s.sub(f.s.load(at(dP)), f.get(t))), f.s.c(scale))),
              axpy(f, ds, kj, dQi, d),
              axpy(f, ds, qi, dKj, d),
              axpy(f, p, dOi, dVj, d),
            ]),
          ]),
        ]),
      ]),
      emitGemm(f, { M: f.i(L), N: E, K: E, a: f.get(dQ), lda: E, b: ctx.ptr(a.win), ldb: E, c: f.add(ctx.ptr(dq), f.mulk(f.get(n), L * E * 4)), ldc: E }),
      emitGemm(f, { M: f.i(S), N: E, K: 2 * E, a: f.get(dKV), lda: 2 * E, b: f.addk(ctx.ptr(a.win), E * E * 4), ldb: E, c: f.add(ctx.ptr(dkv), f.mulk(f.get(n), S * E * 4)), ldc: E }),
      emitGemmAcc(f, {
        M: f.i(E), N: f.i(E), K: f.i(L), a: f.get(dQ), aRow: 1, aCol: E,
        b: f.add(ctx.ptr(a.q), f.mulk(f.get(n), L * E * 4)), ldb: E, c: ctx.ptr(dWin), ldc: E, accumulate: true,
      }),
      emitGemmAcc(f, {
        M: f.i(2 * E), N: f.i(E), K: f.i(S), a: f.get(dKV), aRow: 1, aCol: 2 * E,
        b: f.add(ctx.ptr(a.kv), f.mulk(f.get(n), S * E * 4)), ldb: E, c: f.addk(ctx.ptr(dWin), E * E * 4), ldc: E, accumulate: true,
      }),
      colSums(f, () => f.get(dQ), () => ctx.ptr(dbin), L, E),
      colSums(f, () => f.get(dKV), () => f.addk(ctx.ptr(dbin), E * 4), S, 2 * E),
    ]),
  ];
};
