// GEMM with a prepacked constant B (dense weights in runtime/layout.ts "kn_panels"): C[M, N] = A[M, K] B[K, N]
// (+ bias[N]) (then ReLU), one shared wasm function per module. Neighbours: kernels/dense.ts (packs and calls it),
// kernels/gemm.ts (the row-major-B GEMM of conv and training), module.ts, runtime/layout.ts (the layout).

import type { Expr, FOps, Fn, Local } from "../module.js";
import type { FusedStep } from "../../../passes/fuse-steps.js";
import { emitSteps } from "./fused.js";

/** Columns per B panel (2 f32x4 lane groups): the width the micro-kernel reads and the packed layout's `panel`. */
export const PANEL = 8;

/**
 * Rows per register block of the SIMD micro-kernel. V8 schedules a loop body's loads first, so all MR splatted A
 * values, the 2 B lane groups and the MR x 2 accumulators are live at once: 4 rows use 14 of the 15 xmm registers
 * V8 allocates on x64 (5 or 6 rows, or unrolling k, spill; measured slower).
 */
export const PACKED_MR = 4;

/**
 * Bytes of A kept in cache per row block (L2-sized: mcb rows x K): every 8-column B panel (K x 32 bytes, in L1
 * for K <= 1024) is reused by all row blocks of the chunk before the next panel, so per k step the micro-kernel
 * streams 4 A floats (16 bytes) from L2 instead of 8 B floats (32 bytes). Measured (GEMM 512^3, interleaved,
 * CPU time): relaxed FMA 67-71% -> 73-74% of the relaxed peak; plain within noise of the column-block order.
 */
const A_BLOCK_BYTES = 128 * 1024;

/** Epilogue flags of the gemm_packed call. */
export const GEMM_BIAS = 1;
export const GEMM_RELU = 2;

/** One gemm_packed call: pointers are byte-address i32 expressions; sizes static except M. */
export interface PackedGemmSpec {
  M: Expr;
  N: number;
  K: number;
  /** A [M, K] row-major with leading dim `lda` (elements). */
  a: Expr;
  lda: number;
  /** B packed as kn_panels (PANEL columns per panel), N*K floats. */
  b: Expr;
  /** C [M, N] row-major with leading dim `ldc`. */
  c: Expr;
  ldc: number;
  /** bias[N] added to every row. */
  bias?: Expr;
  /** max(0, .) on the way out (a fused ReLU). */
  relu?: boolean;
  /**
   * A general epilogue (passes/fuse-epilogue.ts): the stored value is emitSteps(steps, [acc, operand 1, ...]), where
   * operand k is the f32 at C's element address + deltas[k-1] bytes (a tensor laid out like C). Overrides relu.
   */
  epilogue?: { steps: readonly FusedStep[]; deltas: Expr[] };
}

/** A short stable name suffix for an epilogue's step list (FNV-1a of its JSON). */
function epilogueKey(steps: readonly FusedStep[]): string {
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(steps)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h >>> 0).toString(16);
}

/**
 * Rows per cache block of A for K: the A chunk (mcb rows x K) stays within A_BLOCK_BYTES so it is reused from L2
 * by every B panel; a multiple of PACKED_MR, at least PACKED_MR.
 */
export function rowBlock(K: number): number {
  return Math.max(PACKED_MR, Math.floor(A_BLOCK_BYTES / (K * 4) / PACKED_MR) * PACKED_MR);
}

/**
 * A call to the module's `gemm_packed_<lda>` function (emitted on first use; one per distinct A row stride, so the
 * micro-kernel reads the block's rows at constant offsets from one pointer).
 */
export function emitPackedGemm(f: Fn, spec: PackedGemmSpec): Expr {
  const epi = spec.epilogue;
  // A lone ReLU keeps the shared function's flag; any other epilogue gets its own copy with the steps compiled in.
  const onlyRelu = epi !== undefined && epi.steps.length === 1 && epi.steps[0]!.op === "relu";
  const custom = epi !== undefined && epi.steps.length > 0 && !onlyRelu ? epi : undefined;
  const name = custom ? `gemm_packed_${spec.lda}_e${custom.deltas.length}_${epilogueKey(custom.steps)}` : `gemm_packed_${spec.lda}`;
  const nParams = 11 + (custom?.deltas.length ?? 0);
  f.mb.helper(name, () => buildPackedGemm(f.mb.fn(nParams), spec.lda, name, custom?.steps, custom?.deltas.length));
  const flags = (spec.bias ? GEMM_BIAS : 0) | (spec.relu || onlyRelu ? GEMM_RELU : 0);
  return f.mb.call(name, [
    spec.M,
    f.i(spec.N),
    f.i(spec.K),
    spec.a,
    f.i(spec.lda * 4),
    spec.b,
    spec.c,
    f.i(spec.ldc * 4),
    spec.bias ?? f.i(0),
    f.i(flags),
    f.i(rowBlock(spec.K)),
    ...(custom?.deltas ?? []),
  ]);
}

interface P {
  f: Fn;
  M: Local;
  N: Local;
  K: Local;
  a: Local;
  b: Local;
  c: Local;
  ldc4: Local;
  bias: Local;
  flags: Local;
  /** Rows per cache block (rowBlock(K); a multiple of PACKED_MR). */
  mcb: Local;
  i: Local;
  j: Local;
  ic: Local;
  iend: Local;
  n8: Local;
  /** Row pointers of C for the current row block. */
  pc: Local[];
  /** A pointer of the block's first row (the base, and the one advanced over k), its end, the B pointer. */
  pa: Local;
  ap: Local;
  aend: Local;
  bp: Local;
  k: Local;
  /** A row stride in bytes (static: the function is specialized per lda). */
  lda4: number;
  /** Epilogue steps (static) and the byte deltas of its operands from C (params 11..). */
  steps?: readonly FusedStep[];
  deltas: Local[];
}

/**
 * gemm_packed(M, N, K, a, lda*4, b, c, ldc*4, bias, flags, mcb). Loops: row chunks of mcb rows (A chunk in L2)
 * > panels of 8 columns (B panel in L1) > row blocks of MR rows; the micro-kernel keeps MR x 8 accumulators in
 * locals over all of K (SIMD: A by load32_splat, B by two v128 loads per k). Rows past the chunk's last full
 * block go one at a time, ROW_PANELS panels per pass (then single panels); the last, narrower panel (N % 8 columns, its own row stride) by lane groups then
 * scalars. Scalar modules use 1-row blocks. Per output element the sum runs over k in order (bias first).
 */
function buildPackedGemm(f: Fn, lda: number, name: string, steps?: readonly FusedStep[], nDeltas = 0): void {
  const p = (i: number): Local => f.param(i);
  const mr = f.v.lanes === 4 ? PACKED_MR : 1;
  const g: P = {
    f,
    M: p(0),
    N: p(1),
    K: p(2),
    a: p(3),
    lda4: lda * 4,
    b: p(5),
    c: p(6),
    ldc4: p(7),
    bias: p(8),
    flags: p(9),
    mcb: p(10),
    i: f.local(),
    j: f.local(),
    ic: f.local(),
    iend: f.local(),
    n8: f.local(),
    pc: Array.from({ length: mr }, () => f.local()),
    pa: f.local(),
    ap: f.local(),
    aend: f.local(),
    bp: f.local(),
    k: f.local(),
    ...(steps ? { steps } : {}),
    deltas: [],
  };
  for (let d = 0; d < nDeltas; d++) g.deltas.push(p(11 + d));
  const rowSetup = (rows: number): Expr[] => {
    const out: Expr[] = [
      f.set(g.pa, f.add(f.get(g.a), f.mulk(f.get(g.i), g.lda4))),
      f.set(g.pc[0]!, f.add(f.get(g.c), f.mul(f.get(g.i), f.get(g.ldc4)))),
    ];
    for (let r = 1; r < rows; r++) out.push(f.set(g.pc[r]!, f.add(f.get(g.pc[r - 1]!), f.get(g.ldc4))));
    return out;
  };
  // Per panel j: the chunk's full row blocks (scalar modules: every row, mr = 1).
  const panelBody: Expr[] = [f.set(g.i, f.get(g.ic)), f.forRange(g.i, null, f.get(g.iend), [...rowSetup(mr), panelMicro(g, mr)], mr)];
  const chunkBody: Expr[] = [
    f.set(g.iend, f.minS(() => f.add(f.get(g.ic), f.get(g.mcb)), () => f.get(g.M))),
    f.forRange(g.j, f.i(0), f.get(g.n8), panelBody, PANEL),
  ];
  // Then the chunk's rows past its last full block (all rows when M < mr, e.g. batch 1), one at a time over
  // ROW_PANELS panels at once, then single panels.
  if (mr > 1)
    chunkBody.push(
      f.set(g.i, f.add(f.get(g.ic), f.m.i32.and(f.sub(f.get(g.iend), f.get(g.ic)), f.i(~(mr - 1))))),
      f.forRange(g.i, null, f.get(g.iend), [
        ...rowSetup(1),
        f.set(g.j, f.i(0)),
        f.forRange(g.j, null, f.get(g.n8), [rowMicroPanels(g, ROW_PANELS)], PANEL * ROW_PANELS),
        f.forRange(g.j, null, f.get(g.n8), [panelMicro(g, 1)], PANEL),
      ]),
    );
  // Row chunks: ic = 0, mcb, 2 mcb, ... < M (the step is a run-time value: the body adds mcb - 1, the loop 1).
  const chunks = f.forRange(g.ic, f.i(0), f.get(g.M), [...chunkBody, f.set(g.ic, f.sub(f.add(f.get(g.ic), f.get(g.mcb)), f.i(1)))]);
  const body: Expr[] = [f.set(g.n8, f.m.i32.and(f.get(g.N), f.i(~(PANEL - 1)))), chunks, tailPanel(g)];
  f.mb.addFunction(name, f, 11 + g.deltas.length, body);
}

/** acc = bias lanes (flags & BIAS) or 0, for `nv` lane groups of `o` at column j + colOff. */
function initAcc(g: P, o: FOps, acc: Local[][], nv: number, col: () => Expr): Expr {
  const f = g.f;
  const withBias: Expr[] = [];
  const zero: Expr[] = [];
  for (const row of acc)
    for (let v = 0; v < nv; v++) {
      withBias.push(f.set(row[v]!, o.load(f.at(f.get(g.bias), col()), v * o.lanes * 4)));
      zero.push(f.set(row[v]!, o.c(0)));
    }
  return f.if(f.and(f.get(g.flags), f.i(1)), withBias, zero);
}

/**
 * Store the accumulators at row pointers pc[r] + (col) * 4: through the epilogue steps when the function has them
 * (operand k read at the same address + deltas[k-1]), else through max(0, .) when flags & RELU.
 */
function storeAcc(g: P, o: FOps, acc: Local[][], nv: number, col: () => Expr): Expr {
  const f = g.f;
  if (g.steps) {
    const out: Expr[] = [];
    acc.forEach((row, r) => {
      for (let v = 0; v < nv; v++) {
        const off = v * o.lanes * 4;
        const extra = g.deltas.map((d) => o.load(f.add(f.at(f.get(g.pc[r]!), col()), f.get(d)), off));
        out.push(o.store(f.at(f.get(g.pc[r]!), col()), emitSteps(f, o, g.steps!, [f.get(row[v]!), ...extra]), off));
      }
    });
    return f.block(out);
  }
  const st = (relu: boolean): Expr[] => {
    const out: Expr[] = [];
    acc.forEach((row, r) => {
      for (let v = 0; v < nv; v++) {
        const val = relu ? o.max(f.get(row[v]!), o.c(0)) : f.get(row[v]!);
        out.push(o.store(f.at(f.get(g.pc[r]!), col()), val, v * o.lanes * 4));
      }
    });
    return out;
  };
  return f.if(f.and(f.get(g.flags), f.i(2)), st(true), st(false));
}

/**
 * One rows x 8 block on the full panel at column j: per k, the 2 B lane groups (32 bytes on) and one splatted A
 * element per row (rows lda*4 bytes apart: constant offsets from one pointer); the A pointer is the loop counter.
 */
function panelMicro(g: P, rows: number): Expr {
  const f = g.f;
  const m = f.m;
  const o = f.v;
  const nv = PANEL / o.lanes;
  const acc: Local[][] = Array.from({ length: rows }, () => Array.from({ length: nv }, () => f.local(o.type)));
  const bv = Array.from({ length: nv }, () => f.local(o.type));
  const av = f.local(o.type);
  const body: Expr[] = [];
  for (let v = 0; v < nv; v++) body.push(f.set(bv[v]!, o.load(f.get(g.bp), v * o.lanes * 4)));
  for (let r = 0; r < rows; r++) {
    body.push(f.set(av, o.loadSplat(f.get(g.ap), r * g.lda4)));
    for (let v = 0; v < nv; v++) body.push(f.set(acc[r]![v]!, o.madd(f.get(av), f.get(bv[v]!), f.get(acc[r]![v]!))));
  }
  body.push(f.set(g.ap, f.addk(f.get(g.ap), 4)), f.set(g.bp, f.addk(f.get(g.bp), PANEL * 4)));
  const col = (): Expr => f.get(g.j);
  const label = `gp${loopId++}`;
  return f.block([
    initAcc(g, o, acc, nv, col),
    f.set(g.ap, f.get(g.pa)),
    f.set(g.aend, f.add(f.get(g.pa), f.mulk(f.get(g.K), 4))),
    f.set(g.bp, f.add(f.get(g.b), f.mul(f.get(g.j), f.mulk(f.get(g.K), 4)))),
    // do { ... } while (ap < aend): K >= 1 always (a dense layer has at least one input feature)
    m.loop(label, f.block([...body, m.br(label, m.i32.lt_u(f.get(g.ap), f.get(g.aend)))])),
    storeAcc(g, o, acc, nv, col),
  ]);
}

let loopId = 0;

/**
 * Panels per pass of a lone row (SIMD): one row x 8 columns has only 2 accumulator chains, so it runs at the add
 * (or FMA) latency, not the throughput; 3 panels give 6 chains and use 14 xmm registers (6 accumulators, the 6 B
 * lane groups V8 loads first, the splat, a temporary). Each output element still sums bias, then k ascending.
 * Measured (bench MLP batch 1, interleaved in one process, CPU time): 2 panels no better plain and slower relaxed;
 * 4 panels spill and run slower.
 */
export const ROW_PANELS = 3;

/** One row x (np * 8) columns from column j: np panels (K*32 bytes apart) read side by side, one splat per k. */
function rowMicroPanels(g: P, np: number): Expr {
  const f = g.f;
  const m = f.m;
  const o = f.v;
  const nv = PANEL / o.lanes;
  const acc = Array.from({ length: np * nv }, () => f.local(o.type));
  const bv = Array.from({ length: np * nv }, () => f.local(o.type));
  const bps = [g.bp, ...Array.from({ length: np - 1 }, () => f.local())];
  const av = f.local(o.type);
  const body: Expr[] = [];
  for (let q = 0; q < np; q++)
    for (let v = 0; v < nv; v++) body.push(f.set(bv[q * nv + v]!, o.load(f.get(bps[q]!), v * o.lanes * 4)));
  body.push(f.set(av, o.loadSplat(f.get(g.ap), 0)));
  for (let x = 0; x < np * nv; x++) body.push(f.set(acc[x]!, o.madd(f.get(av), f.get(bv[x]!), f.get(acc[x]!))));
  body.push(f.set(g.ap, f.addk(f.get(g.ap), 4)));
  for (const bp of bps) body.push(f.set(bp, f.addk(f.get(bp), PANEL * 4)));
  const setB: Expr[] = [f.set(g.bp, f.add(f.get(g.b), f.mul(f.get(g.j), f.mulk(f.get(g.K), 4))))];
  for (let q = 1; q < np; q++) setB.push(f.set(bps[q]!, f.add(f.get(bps[q - 1]!), f.mulk(f.get(g.K), PANEL * 4))));
  const col = (): Expr => f.get(g.j);
  const label = `gr${loopId++}`;
  return f.block([
    initAcc(g, o, [acc], np * nv, col),
    f.set(g.ap, f.get(g.pa)),
    f.set(g.aend, f.add(f.get(g.pa), f.mulk(f.get(g.K), 4))),
    ...setB,
    m.loop(label, f.block([...body, m.br(label, m.i32.lt_u(f.get(g.ap), f.get(g.aend)))])),
    storeAcc(g, o, [acc], np * nv, col),
  ]);
}

/**
 * The last panel when N % 8 != 0: w = N - n8 columns, B rows w*4 bytes apart; one row at a time, one lane
 * group (SIMD, when w >= 4) then single columns.
 */
function tailPanel(g: P): Expr {
  const f = g.f;
  const w4 = f.local();
  const cols = (o: FOps): Expr => {
    const acc = [[f.local(o.type)]];
    const col = (): Expr => f.get(g.j);
    return f.block([
      initAcc(g, o, acc, 1, col),
      f.set(g.ap, f.get(g.pa)),
      f.set(g.bp, f.add(f.add(f.get(g.b), f.mul(f.get(g.n8), f.mulk(f.get(g.K), 4))), f.mulk(f.sub(f.get(g.j), f.get(g.n8)), 4))),
      f.forRange(g.k, f.i(0), f.get(g.K), [
        f.set(acc[0]![0]!, o.madd(o.loadSplat(f.get(g.ap)), o.load(f.get(g.bp)), f.get(acc[0]![0]!))),
        f.set(g.ap, f.addk(f.get(g.ap), 4)),
        f.set(g.bp, f.add(f.get(g.bp), f.get(w4))),
      ]),
      storeAcc(g, o, acc, 1, col),
    ]);
  };
  const rowBody: Expr[] = [
    f.set(g.pa, f.add(f.get(g.a), f.mulk(f.get(g.i), g.lda4))),
    f.set(g.pc[0]!, f.add(f.get(g.c), f.mul(f.get(g.i), f.get(g.ldc4)))),
    f.set(g.j, f.get(g.n8)),
  ];
  if (f.v.lanes > 1) rowBody.push(f.forRange(g.j, null, f.get(g.N), [cols(f.v)], f.v.lanes));
  rowBody.push(f.forRange(g.j, null, f.get(g.N), [cols(f.s)]));
  return f.if(f.ltS(f.get(g.n8), f.get(g.N)), [
    f.set(w4, f.mulk(f.sub(f.get(g.N), f.get(g.n8)), 4)),
    f.forRange(g.i, f.i(0), f.get(g.M), rowBody),
  ]);
}
