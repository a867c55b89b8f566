// Register-blocked GEMM C = A B (+ bias), the core of dense and conv2d: one shared wasm function per
// module (sizes and strides are arguments), called by every dense/conv node. A is read by
// broadcasting elements, B and C rows by lane groups. Neighbours: module.ts, kernels/dense.ts, conv.ts,
// gemm-acc.ts (reuses blockLoops).

import type { Expr, FOps, Fn, Local } from "../module.js";

/** Rows per register block. */
export const GEMM_MR = 4;

/**
 * One GEMM call: C[M, N] = A[M, K] B[K, N] (+ bias), all f32 row-major with leading dims in
 * elements. Pointers are byte addresses (i32 expressions). `bias.along` "col": bias[N] added to
 * every row (dense); "row": bias[M] added to every column (conv).
 */
export interface GemmSpec {
  M: Expr;
  N: number;
  K: number;
  a: Expr;
  lda: number;
  b: Expr;
  ldb: number;
  c: Expr;
  ldc: number;
  bias?: { ptr: Expr; along: "row" | "col" };
}

const BIAS_NONE = 0;
const BIAS_COL = 1;
const BIAS_ROW = 2;

/**
 * A call to the module's `gemm_<lda>` function (emitted on first use; one per distinct A row stride, so the
 * micro-kernel reads a block's A rows at constant offsets from one pointer).
 */
export function emitGemm(f: Fn, spec: GemmSpec): Expr {
  const name = f.mb.helper(`gemm_${spec.lda}`, () => buildGemm(f.mb.fn(11), spec.lda, `gemm_${spec.lda}`));
  const mode = !spec.bias ? BIAS_NONE : spec.bias.along === "col" ? BIAS_COL : BIAS_ROW;
  return f.mb.call(name, [
    spec.M,
    f.i(spec.N),
    f.i(spec.K),
    spec.a,
    f.i(spec.lda * 4),
    spec.b,
    f.i(spec.ldb * 4),
    spec.c,
    f.i(spec.ldc * 4),
    spec.bias ? spec.bias.ptr : f.i(0),
    f.i(mode),
  ]);
}

/** Locals of the gemm function: its 11 params, then loop state. */
interface G {
  f: Fn;
  M: Local;
  N: Local;
  K: Local;
  a: Local;
  lda4: Local;
  b: Local;
  ldb4: Local;
  c: Local;
  ldc4: Local;
  bias: Local;
  mode: Local;
  i: Local;
  j: Local;
  /** Row pointers of A (advance with k) and C (fixed per row block), one per block row. */
  pa: Local[];
  pc: Local[];
  pbk: Local;
  k: Local;
}

/**
 * gemm(M, N, K, a, lda*4, b, ldb*4, c, ldc*4, bias, mode). Blocking: 4 rows x (2 lane groups = 8
 * columns on SIMD, 4 scalar columns otherwise); each k step loads the B lane groups once and
 * broadcasts one A element per row, so accumulators stay in locals (registers). Tails: columns by
 * single lane groups then scalars, rows one at a time — any M, N, K work.
 */
function buildGemm(f: Fn, lda: number, name: string): void {
  const p = (i: number): Local => f.param(i);
  const g: G = {
    f,
    M: p(0),
    N: p(1),
    K: p(2),
    a: p(3),
    lda4: p(4),
    b: p(5),
    ldb4: p(6),
    c: p(7),
    ldc4: p(8),
    bias: p(9),
    mode: p(10),
    i: f.local(),
    j: f.local(),
    pa: Array.from({ length: GEMM_MR }, () => f.local()),
    pc: Array.from({ length: GEMM_MR }, () => f.local()),
    pbk: f.local(),
    k: f.local(),
  };
  const body = blockLoops(f, { ...g, aRow4: g.lda4 }, (rows, o, nv) => micro(g, rows, o, nv, lda * 4));
  f.mb.addFunction(name, f, 11, body);
}

/** What blockLoops needs: sizes, A / C bases and row strides (bytes), loop counters, row pointers. */
export interface BlockLoopLocals {
  M: Local;
  N: Local;
  a: Local;
  aRow4: Local;
  c: Local;
  ldc4: Local;
  i: Local;
  j: Local;
  /** Per block row: pa[r] = a + (i + r) * aRow4, pc[r] = c + (i + r) * ldc4 (GEMM_MR each). */
  pa: Local[];
  pc: Local[];
}

/**
 * The loops around a micro-kernel, shared with gemm-acc.ts: GEMM_MR-row blocks then single rows; in
 * each, columns by `nvMain` lane groups (2 on SIMD, 4 scalar columns otherwise), then single lane
 * groups, then scalars. `micro(rows, o, nv)` emits one rows x (nv lane groups of o) block at (i, j).
 */
export function blockLoops(f: Fn, g: BlockLoopLocals, micro: (rows: number, o: FOps, nv: number) => Expr): Expr[] {
  const nvMain = f.v.lanes === 4 ? 2 : 4;
  const colLoops = (rows: number): Expr[] => {
    const loops: Expr[] = [f.forRange(g.j, f.i(0), f.get(g.N), [micro(rows, f.v, nvMain)], nvMain * f.v.lanes)];
    if (f.v.lanes > 1) loops.push(f.forRange(g.j, null, f.get(g.N), [micro(rows, f.v, 1)], f.v.lanes));
    loops.push(f.forRange(g.j, null, f.get(g.N), [micro(rows, f.s, 1)]));
    return loops;
  };
  const rowSetup = (rows: number): Expr[] => {
    const out: Expr[] = [
      f.set(g.pa[0]!, f.add(f.get(g.a), f.mul(f.get(g.i), f.get(g.aRow4)))),
      f.set(g.pc[0]!, f.add(f.get(g.c), f.mul(f.get(g.i), f.get(g.ldc4)))),
    ];
    for (let r = 1; r < rows; r++)
      out.push(
        f.set(g.pa[r]!, f.add(f.get(g.pa[r - 1]!), f.get(g.aRow4))),
        f.set(g.pc[r]!, f.add(f.get(g.pc[r - 1]!), f.get(g.ldc4))),
      );
    return out;
  };
  return [
    f.forRange(g.i, f.i(0), f.get(g.M), [...rowSetup(GEMM_MR), ...colLoops(GEMM_MR)], GEMM_MR),
    f.forRange(g.i, null, f.get(g.M), [...rowSetup(1), ...colLoops(1)]),
  ];
}

/** The micro-kernel: `rows` x (`nv` lane groups of `o`) block at row i, column j; A rows `lda4` bytes apart. */
function micro(g: G, rows: number, o: FOps, nv: number, lda4: number): Expr {
  const f = g.f;
  const gw = o.lanes * 4; // bytes per lane group
  const acc: Local[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: nv }, () => f.local(o.type)));
  const bv = Array.from({ length: nv }, () => f.local(o.type));
  const av = f.local(o.type);
  const k4 = f.local();
  const isMode = (m: number): Expr => f.m.i32.eq(f.get(g.mode), f.i(m));
  const init: Expr[] = [];
  const colBias: Expr[] = [];
  const rowBias: Expr[] = [];
  const zero: Expr[] = [];
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < nv; v++) {
      colBias.push(f.set(acc[r]![v]!, o.load(f.at(f.get(g.bias), f.get(g.j)), v * gw)));
      rowBias.push(f.set(acc[r]![v]!, o.splat(f.s.load(f.at(f.get(g.bias), f.get(g.i)), r * 4))));
      zero.push(f.set(acc[r]![v]!, o.c(0)));
    }
  init.push(f.if(isMode(BIAS_COL), colBias, [f.if(isMode(BIAS_ROW), rowBias, zero)]));
  const body: Expr[] = [];
  for (let v = 0; v < nv; v++) body.push(f.set(bv[v]!, o.load(f.get(g.pbk), v * gw)));
  for (let r = 0; r < rows; r++) {
    body.push(f.set(av, o.loadSplat(f.add(f.get(g.pa[0]!), f.get(k4)), r * lda4)));
    for (let v = 0; v < nv; v++) body.push(f.set(acc[r]![v]!, o.add(f.get(acc[r]![v]!), o.mul(f.get(av), f.get(bv[v]!)))));
  }
  body.push(f.set(g.pbk, f.add(f.get(g.pbk), f.get(g.ldb4))));
  const store: Expr[] = [];
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < nv; v++) store.push(o.store(f.at(f.get(g.pc[r]!), f.get(g.j)), f.get(acc[r]![v]!), v * gw));
  return f.block([
    ...init,
    f.set(g.pbk, f.at(f.get(g.b), f.get(g.j))),
    f.forRange(k4, f.i(0), f.mulk(f.get(g.K), 4), body, 4),
    ...store,
  ]);
}
