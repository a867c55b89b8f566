// GEMM for the training kernels: C[M, N] (+)= A[M, K] B[K, N] with A read through arbitrary element
// strides (so A may be a transposed view: g^T, W^T) and an accumulate flag, all sizes at run time. One
// shared wasm function per module. Neighbours: kernels/gemm.ts (the inference GEMM: its block loops are
// shared, the micro-kernels differ in A addressing, bias and accumulate), grad-linear.ts.

import type { Expr, FOps, Fn, Local } from "../module.js";
import { blockLoops, GEMM_MR } from "./gemm.js";

/**
 * One call: C = A B, or C += A B when `accumulate`. A[i][k] is at byte a + i*aRow*4 + k*aCol*4 (element
 * strides; aRow = K, aCol = 1 is row-major; aRow = 1, aCol = M is a transposed row-major matrix).
 * B and C are row-major with leading dims ldb / ldc (elements). Sizes are i32 expressions (run time).
 * Sums over k run in f32 registers in increasing k, then (accumulate) one add into C: deterministic.
 */
export interface GemmAccSpec {
  M: Expr;
  N: Expr;
  K: Expr;
  a: Expr;
  aRow: number;
  aCol: number;
  b: Expr;
  ldb: number;
  c: Expr;
  ldc: number;
  accumulate: boolean;
}

/** A call to the module's shared `gemm_acc` function (emitted on first use). */
export function emitGemmAcc(f: Fn, s: GemmAccSpec): Expr {
  const name = f.mb.helper("gemm_acc", () => buildGemmAcc(f.mb.fn(11)));
  return f.mb.call(name, [s.M, s.N, s.K, s.a, f.i(s.aRow * 4), f.i(s.aCol * 4), s.b, f.i(s.ldb * 4), s.c, f.i(s.ldc * 4), f.i(s.accumulate ? 1 : 0)]);
}

interface G {
  f: Fn;
  M: Local;
  N: Local;
  K: Local;
  a: Local;
  ar4: Local;
  ac4: Local;
  b: Local;
  ldb4: Local;
  c: Local;
  ldc4: Local;
  acc: Local;
  i: Local;
  j: Local;
  /** Row pointers of A at k = 0 and of C, one per block row. */
  pa: Local[];
  pc: Local[];
}

/**
 * gemm_acc(M, N, K, a, aRow*4, aCol*4, b, ldb*4, c, ldc*4, accumulate): 4 rows x (2 lane groups on
 * SIMD, 4 scalar columns otherwise) register blocks, column tails by one lane group then scalars,
 * row tail one row at a time (gemm.ts's blockLoops around this file's micro-kernel).
 */
function buildGemmAcc(f: Fn): void {
  const p = (i: number): Local => f.param(i);
  const g: G = {
    f,
    M: p(0),
    N: p(1),
    K: p(2),
    a: p(3),
    ar4: p(4),
    ac4: p(5),
    b: p(6),
    ldb4: p(7),
    c: p(8),
    ldc4: p(9),
    acc: p(10),
    i: f.local(),
    j: f.local(),
    pa: Array.from({ length: GEMM_MR }, () => f.local()),
    pc: Array.from({ length: GEMM_MR }, () => f.local()),
  };
  f.mb.addFunction("gemm_acc", f, 11, blockLoops(f, { ...g, aRow4: g.ar4 }, (rows, o, nv) => micro(g, rows, o, nv)));
}

/** The micro-kernel: `rows` x (`nv` lane groups of `o`) block at row i, column j. */
function micro(g: G, rows: number, o: FOps, nv: number): Expr {
  const f = g.f;
  const gw = o.lanes * 4;
  const acc: Local[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: nv }, () => f.local(o.type)));
  const bv = Array.from({ length: nv }, () => f.local(o.type));
  const av = f.local(o.type);
  const qa = Array.from({ length: rows }, () => f.local());
  const [pbk, k] = [f.local(), f.local()];
  const zero: Expr[] = [];
  for (let r = 0; r < rows; r++) for (let v = 0; v < nv; v++) zero.push(f.set(acc[r]![v]!, o.c(0)));
  // Sums start at 0 and are added to C once at the end (accumulate), so every C element gets
  // C + (sum over k) regardless of the block it falls in: same result on every tail path.
  const body: Expr[] = [];
  for (let v = 0; v < nv; v++) body.push(f.set(bv[v]!, o.load(f.get(pbk), v * gw)));
  for (let r = 0; r < rows; r++) {
    body.push(f.set(av, o.splat(f.s.load(f.get(qa[r]!)))));
    for (let v = 0; v < nv; v++) body.push(f.set(acc[r]![v]!, o.add(f.get(acc[r]![v]!), o.mul(f.get(av), f.get(bv[v]!)))));
    body.push(f.set(qa[r]!, f.add(f.get(qa[r]!), f.get(g.ac4))));
  }
  body.push(f.set(pbk, f.add(f.get(pbk), f.get(g.ldb4))));
  const store: Expr[] = [];
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < nv; v++) {
      const at = f.at(f.get(g.pc[r]!), f.get(g.j));
      const prev = o.load(f.at(f.get(g.pc[r]!), f.get(g.j)), v * gw);
      store.push(o.store(at, f.m.select(f.get(g.acc), o.add(prev, f.get(acc[r]![v]!)), f.get(acc[r]![v]!)), v * gw));
    }
  return f.block([
    ...zero,
    ...qa.map((q, r) => f.set(q, f.get(g.pa[r]!))),
    f.set(pbk, f.at(f.get(g.b), f.get(g.j))),
    f.forRange(k, f.i(0), f.get(g.K), body),
    ...store,
  ]);
}
