// Register-blocked GEMM C = A B (+ bias), the core of dense and conv2d. A is read by broadcasting
// elements, B and C rows by lane groups. Neighbours: module.ts (Fn/FOps), kernels/dense.ts, kernels/conv.ts.

import type { Expr, FOps, Fn, Local } from "../module.js";

/** Rows per register block. */
export const GEMM_MR = 4;

/**
 * One GEMM call: C[M, N] = A[M, K] B[K, N] (+ bias), all f32 row-major with leading dims in
 * elements. Pointers are byte addresses given as thunks (called once per use: binaryen expressions
 * are trees); return a local.get or a constant.
 * `bias.along` "col": bias[N] added to every row (dense); "row": bias[M] added to every column (conv).
 */
export interface GemmSpec {
  M: Expr;
  N: number;
  K: number;
  a: () => Expr;
  lda: number;
  b: () => Expr;
  ldb: number;
  c: () => Expr;
  ldc: number;
  bias?: { ptr: () => Expr; along: "row" | "col" };
}

/**
 * Emit the GEMM loops. Blocking: 4 rows x (2 lane groups = 8 columns on SIMD, 4 scalar columns
 * otherwise), each k step loads the B lane groups once and broadcasts one A element per row, so the
 * accumulators stay in locals (registers). Tails: columns by single lane groups then scalars, rows
 * one at a time — any M, N, K work.
 */
export function emitGemm(f: Fn, spec: GemmSpec): Expr {
  const i = f.local();
  const j = f.local();
  const m = f.local();
  const pa = f.local();
  const pc = f.local();
  const nvMain = f.v.lanes === 4 ? 2 : 4;
  const colLoops = (rows: number): Expr[] => {
    const loops: Expr[] = [f.forRange(j, f.i(0), f.i(spec.N), [micro(f, spec, rows, f.v, nvMain, i, j, pa, pc)], nvMain * f.v.lanes)];
    if (f.v.lanes > 1) loops.push(f.forRange(j, null, f.i(spec.N), [micro(f, spec, rows, f.v, 1, i, j, pa, pc)], f.v.lanes));
    loops.push(f.forRange(j, null, f.i(spec.N), [micro(f, spec, rows, f.s, 1, i, j, pa, pc)]));
    return loops;
  };
  const rowSetup = (): Expr[] => [
    f.set(pa, f.add(spec.a(), f.mulk(f.get(i), spec.lda * 4))),
    f.set(pc, f.add(spec.c(), f.mulk(f.get(i), spec.ldc * 4))),
  ];
  return f.block([
    f.set(m, spec.M),
    f.forRange(i, f.i(0), f.get(m), [...rowSetup(), ...colLoops(GEMM_MR)], GEMM_MR),
    f.forRange(i, null, f.get(m), [...rowSetup(), ...colLoops(1)]),
  ]);
}

/** The micro-kernel: `rows` x (`nv` lane groups of `o`) block at row i, column j. */
function micro(f: Fn, spec: GemmSpec, rows: number, o: FOps, nv: number, i: Local, j: Local, pa: Local, pc: Local): Expr {
  const gw = o.lanes * 4; // bytes per lane group
  const acc: Local[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: nv }, () => f.local(o.type)));
  const bv = Array.from({ length: nv }, () => f.local(o.type));
  const k = f.local();
  const pak = f.local();
  const pbk = f.local();
  const init: Expr[] = [];
  const bias = spec.bias;
  const biasCol = (): Expr => f.at(bias!.ptr(), f.get(j));
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < nv; v++) {
      let val: Expr;
      if (!bias) val = o.c(0);
      else if (bias.along === "col") val = o.load(biasCol(), v * gw);
      else val = o.splat(f.s.load(f.at(bias.ptr(), f.get(i)), r * 4));
      init.push(f.set(acc[r]![v]!, val));
    }
  const body: Expr[] = [];
  for (let v = 0; v < nv; v++) body.push(f.set(bv[v]!, o.load(f.get(pbk), v * gw)));
  for (let r = 0; r < rows; r++) {
    const a = f.local(o.type);
    body.push(f.set(a, o.splat(f.s.load(f.get(pak), r * spec.lda * 4))));
    for (let v = 0; v < nv; v++) body.push(f.set(acc[r]![v]!, o.add(f.get(acc[r]![v]!), o.mul(f.get(a), f.get(bv[v]!)))));
  }
  body.push(f.set(pak, f.addk(f.get(pak), 4)), f.set(pbk, f.addk(f.get(pbk), spec.ldb * 4)));
  const store: Expr[] = [];
  const pcj = f.local();
  store.push(f.set(pcj, f.at(f.get(pc), f.get(j))));
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < nv; v++) store.push(o.store(f.get(pcj), f.get(acc[r]![v]!), r * spec.ldc * 4 + v * gw));
  return f.block([
    ...init,
    f.set(pak, f.get(pa)),
    f.set(pbk, f.at(spec.b(), f.get(j))),
    f.forRange(k, f.i(0), f.i(spec.K), body),
    ...store,
  ]);
}
