// The one thin wrapper over binaryen: module setup, locals, loops, i32 address math, and the
// target-neutral float pseudo-ops (FOps) kernels use. Neighbours: kernels/* and math.ts build code
// through it; emit.ts drives it. No other file imports binaryen.

import binaryen from "binaryen";
import { bytesWithRoom, uleb128 } from "../../artifact/sections.js";
import { relaxedFromSimdBytes } from "./relaxed-bytes.js";

/** A binaryen expression reference. */
export type Expr = number;

/** A function-local variable: its index and value type. */
export interface Local {
  readonly index: number;
  readonly type: number;
}

/** Value types used by kernels. */
export const I32 = binaryen.i32;
export const F32 = binaryen.f32;
export const V128 = binaryen.v128;
/** f64 (training kernels: loss / batch-statistics accumulators). */
export const F64 = binaryen.f64;

/**
 * Target-neutral float ops over a "lane group": a v128 of 4 f32 (SIMD) or a single f32 (scalar).
 * Kernels written against FOps run unchanged on both targets; `lanes` says how many elements one
 * load/store covers. Masks (from comparisons) are i32 (scalar) or v128 (SIMD); use them with `select`.
 */
export interface FOps {
  readonly lanes: 1 | 4;
  readonly type: number;
  /** Load `lanes` f32 from byte address `ptr + off`. */
  load(ptr: Expr, off?: number): Expr;
  /** Store `lanes` f32 at byte address `ptr + off`. */
  store(ptr: Expr, v: Expr, off?: number): Expr;
  /** Broadcast a scalar f32 expression. */
  splat(s: Expr): Expr;
  /** Load one f32 from byte address `ptr + off` into every lane (SIMD: v128.load32_splat; scalar: f32.load). */
  loadSplat(ptr: Expr, off?: number): Expr;
  /** a * b + c: mul then add, or f32x4.relaxed_madd in relaxed-SIMD modules (ModuleBuilder `relaxed`). */
  madd(a: Expr, b: Expr, c: Expr): Expr;
  /** A constant in every lane. */
  c(x: number): Expr;
  add(a: Expr, b: Expr): Expr;
  sub(a: Expr, b: Expr): Expr;
  mul(a: Expr, b: Expr): Expr;
  div(a: Expr, b: Expr): Expr;
  min(a: Expr, b: Expr): Expr;
  max(a: Expr, b: Expr): Expr;
  neg(a: Expr): Expr;
  abs(a: Expr): Expr;
  sqrt(a: Expr): Expr;
  nearest(a: Expr): Expr;
  lt(a: Expr, b: Expr): Expr;
  gt(a: Expr, b: Expr): Expr;
  /** mask ? a : b, lane-wise. */
  select(mask: Expr, a: Expr, b: Expr): Expr;
  /** Copy the sign bit of `sign` onto `mag` (mag assumed non-negative). */
  withSignOf(mag: Expr, sign: Expr): Expr;
  /** 2^k for float lanes holding integers k in [-126, 127] (exact, via the exponent bits). */
  pow2i(k: Expr): Expr;
  /** Horizontal sum / max to a scalar f32 (identity for scalar ops); `v` is called once per lane. */
  hsum(v: () => Expr): Expr;
  hmax(v: () => Expr): Expr;
}

let labelCounter = 0;

/** Internal name of the module's one memory (loads/stores name it explicitly: it is defined last). */
const MEM = "mem";


/**
 * Builds one wasm function body: locals, loops, i32 arithmetic, f32 scalar ops (`s`) and lane-group
 * ops (`v`: f32x4 when the module is SIMD, else the same as `s`).
 */
export class Fn {
  private readonly vars: number[] = [];
  /** Scalar f32 ops (always available). */
  readonly s: FOps;
  /** Lane-group ops: f32x4 on SIMD modules, scalar f32 otherwise. */
  readonly v: FOps;

  constructor(
    readonly mb: ModuleBuilder,
    private readonly params: number[],
  ) {
    this.s = scalarOps(mb.mod);
    this.v = mb.simd ? simdOps(mb.mod, mb.relaxed, (x, a, b, c) => mb.noteMadd(x, a, b, c)) : this.s;
  }

  get m(): binaryen.Module {
    return this.mb.mod;
  }

  /** A parameter as a local (index = position). */
  param(i: number): Local {
    return { index: i, type: this.params[i]! };
  }

  /** A fresh local of `type`. */
  local(type: number = I32): Local {
    this.vars.push(type);
    return { index: this.params.length + this.vars.length - 1, type };
  }

  get(l: Local): Expr {
    return this.m.local.get(l.index, l.type);
  }
  set(l: Local, v: Expr): Expr {
    const e = this.m.local.set(l.index, v);
    if (this.mb.noteSet(e, v)) this.madds++;
    return e;
  }

  /** How many noted madds (ModuleBuilder.noteMadd) are the value of a local.set of this function. */
  madds = 0;

  /** i32 constant. */
  i(x: number): Expr {
    return this.m.i32.const(x | 0);
  }
  add(a: Expr, b: Expr): Expr {
    return this.m.i32.add(a, b);
  }
  sub(a: Expr, b: Expr): Expr {
    return this.m.i32.sub(a, b);
  }
  mul(a: Expr, b: Expr): Expr {
    return this.m.i32.mul(a, b);
  }
  /** a + k for a static k (returns `a` when k = 0). */
  addk(a: Expr, k: number): Expr {
    return k === 0 ? a : this.m.i32.add(a, this.i(k));
  }
  /** a * k for a static k. */
  mulk(a: Expr, k: number): Expr {
    if (k === 1) return a;
    if (k > 0 && (k & (k - 1)) === 0) return this.m.i32.shl(a, this.i(Math.log2(k)));
    return this.m.i32.mul(a, this.i(k));
  }
  /** Byte address of f32 element `idx` from byte base `base`. */
  at(base: Expr, idx: Expr): Expr {
    return this.m.i32.add(base, this.m.i32.shl(idx, this.i(2)));
  }
  ltS(a: Expr, b: Expr): Expr {
    return this.m.i32.lt_s(a, b);
  }
  geS(a: Expr, b: Expr): Expr {
    return this.m.i32.ge_s(a, b);
  }
  /** 0 <= a < n as one unsigned compare. */
  inRange(a: Expr, n: number): Expr {
    return this.m.i32.lt_u(a, this.i(n));
  }
  /** Signed i32 min/max of two repeatable expressions (each thunk is called twice). */
  minS(a: () => Expr, b: () => Expr): Expr {
    return this.m.select(this.m.i32.lt_s(a(), b()), a(), b());
  }
  maxS(a: () => Expr, b: () => Expr): Expr {
    return this.m.select(this.m.i32.gt_s(a(), b()), a(), b());
  }
  and(a: Expr, b: Expr): Expr {
    return this.m.i32.and(a, b);
  }

  /** Statements then a value: `{ stmts; result }` as one expression of `type`. */
  seq(stmts: Expr[], result: Expr, type: number): Expr {
    return stmts.length === 0 ? result : this.m.block(null, [...stmts, result], type);
  }
  /** Statements then the value of local `l`. */
  seqGet(stmts: Expr[], l: Local): Expr {
    return this.seq(stmts, this.get(l), l.type);
  }

  block(body: Expr[]): Expr {
    return body.length === 1 ? body[0]! : this.m.block(null, body, binaryen.none);
  }
  if(cond: Expr, then: Expr[], otherwise?: Expr[]): Expr {
    return this.m.if(cond, this.block(then), otherwise ? this.block(otherwise) : undefined);
  }
  nop(): Expr {
    return this.m.nop();
  }

  /**
   * `for (i = start; i + step <= end; i += step) body` — with step 1 this is the usual `i < end`.
   * `start` null keeps the current value of `i` (continue a vector loop with its scalar tail).
   * `end` is an i32 expression evaluated each iteration (keep it a local or constant).
   */
  forRange(i: Local, start: Expr | null, end: Expr, body: Expr[], step = 1): Expr {
    const id = labelCounter++;
    const brk = `b${id}`;
    const cont = `l${id}`;
    const m = this.m;
    const exit = m.i32.gt_s(this.addk(this.get(i), step), end);
    const loop = m.loop(
      cont,
      m.block(null, [m.br(brk, exit), ...body, this.set(i, this.addk(this.get(i), step)), m.br(cont)], binaryen.none),
    );
    const init = start === null ? [] : [this.set(i, start)];
    return m.block(brk, [...init, loop], binaryen.none);
  }

  /**
   * Map over `n` contiguous f32 elements with lane groups then a scalar tail:
   * `body(ops, idx)` returns the statements for the group starting at element `idx()` (a local.get;
   * call it once per use: binaryen expressions are trees, never shared). `n` is called per loop.
   * On scalar modules only one loop is emitted.
   */
  forLanes(n: () => Expr, body: (ops: FOps, idx: () => Expr) => Expr[]): Expr {
    const i = this.local();
    const idx = (): Expr => this.get(i);
    if (this.v.lanes === 1) return this.forRange(i, this.i(0), n(), body(this.s, idx));
    return this.block([
      this.forRange(i, this.i(0), n(), body(this.v, idx), this.v.lanes),
      this.forRange(i, null, n(), body(this.s, idx)),
    ]);
  }

  /**
   * Load one lane group of `o` whose elements are `stride` f32 apart, starting at byte `ptr()`:
   * stride 1 is one v128.load, stride 2 two overlapping loads and a shuffle, otherwise 4 scalar
   * loads into lanes. Only the 4 elements' span is read. Scalar ops: one f32.load.
   */
  loadStrided(o: FOps, ptr: () => Expr, stride: number): Expr {
    const m = this.m;
    if (o.lanes === 1) return o.load(ptr());
    if (stride === 1) return o.load(ptr());
    if (stride === 2) {
      // Elements 0, 2 from [0..3] and 4, 6 from [3..6]: never reads past the last element used.
      const pick = [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 28, 29, 30, 31];
      return m.i8x16.shuffle(o.load(ptr()), o.load(ptr(), 12), pick);
    }
    let v = m.f32x4.splat(this.s.load(ptr()));
    for (let l = 1; l < 4; l++) v = m.f32x4.replace_lane(v, l as unknown as Expr, this.s.load(ptr(), l * stride * 4));
    return v;
  }

  /** memory.copy of `bytes` (i32 expr) from `src` to `dst` (bulk memory). */
  copy(dst: Expr, src: Expr, bytes: Expr): Expr {
    return this.m.memory.copy(dst, src, bytes, MEM, MEM);
  }
  /** memory.fill with zero bytes. */
  zero(dst: Expr, bytes: Expr): Expr {
    return this.m.memory.fill(dst, this.i(0), bytes, MEM);
  }

  /** Value of an i32 global of the module (see ModuleBuilder.addConstGlobal). */
  global(name: string): Expr {
    return this.m.global.get(name, binaryen.i32);
  }

  /** Declared (non-param) local types, for addFunction. */
  varTypes(): number[] {
    return [...this.vars];
  }
}

function scalarOps(m: binaryen.Module): FOps {
  const f = m.f32;
  return {
    lanes: 1,
    type: binaryen.f32,
    load: (p, off = 0) => f.load(off, 4, p, MEM),
    store: (p, v, off = 0) => f.store(off, 4, p, v, MEM),
    splat: (s) => s,
    loadSplat: (p, off = 0) => f.load(off, 4, p, MEM),
    madd: (a, b, c) => f.add(f.mul(a, b), c),
    c: (x) => f.const(Math.fround(x)),
    add: (a, b) => f.add(a, b),
    sub: (a, b) => f.sub(a, b),
    mul: (a, b) => f.mul(a, b),
    div: (a, b) => f.div(a, b),
    min: (a, b) => f.min(a, b),
    max: (a, b) => f.max(a, b),
    neg: (a) => f.neg(a),
    abs: (a) => f.abs(a),
    sqrt: (a) => f.sqrt(a),
    nearest: (a) => f.nearest(a),
    lt: (a, b) => f.lt(a, b),
    gt: (a, b) => f.gt(a, b),
    select: (mask, a, b) => m.select(mask, a, b),
    withSignOf: (mag, sign) => f.copysign(mag, sign),
    pow2i: (k) => f.reinterpret(m.i32.shl(m.i32.add(m.i32.trunc_s_sat.f32(k), m.i32.const(127)), m.i32.const(23))),
    hsum: (v) => v(),
    hmax: (v) => v(),
  };
}

/** f32x4.relaxed_madd(a, b, c) = a * b + c: binaryen.js has no wrapper method, so through its C API (the op id is exported). */
function relaxedMadd(m: binaryen.Module, a: Expr, b: Expr, c: Expr): Expr {
  const api = binaryen as unknown as { _BinaryenSIMDTernary(mod: number, op: number, a: Expr, b: Expr, c: Expr): Expr; RelaxedMaddVecF32x4: number };
  return api._BinaryenSIMDTernary(m.ptr, api.RelaxedMaddVecF32x4, a, b, c);
}

/** `note` sees every plain (mul then add) madd: its add `x` and operands. */
function simdOps(m: binaryen.Module, relaxed: boolean, note: (x: Expr, a: Expr, b: Expr, c: Expr) => void): FOps {
  const f = m.f32x4;
  const lane = (v: () => Expr, k: number): Expr => f.extract_lane(v(), k as unknown as Expr);
  const signMask = (): Expr => m.i32x4.splat(m.i32.const(0x80000000 | 0));
  return {
    lanes: 4,
    type: binaryen.v128,
    load: (p, off = 0) => m.v128.load(off, 4, p, MEM),
    store: (p, v, off = 0) => m.v128.store(off, 4, p, v, MEM),
    splat: (s) => f.splat(s),
    loadSplat: (p, off = 0) => m.v128.load32_splat(off, 4, p, MEM),
    madd: relaxed
      ? (a, b, c) => relaxedMadd(m, a, b, c)
      : (a, b, c) => {
          const x = f.add(f.mul(a, b), c);
          note(x, a, b, c);
          return x;
        },
    c: (x) => f.splat(m.f32.const(Math.fround(x))),
    add: (a, b) => f.add(a, b),
    sub: (a, b) => f.sub(a, b),
    mul: (a, b) => f.mul(a, b),
    div: (a, b) => f.div(a, b),
    min: (a, b) => f.min(a, b),
    max: (a, b) => f.max(a, b),
    neg: (a) => f.neg(a),
    abs: (a) => f.abs(a),
    sqrt: (a) => f.sqrt(a),
    nearest: (a) => f.nearest(a),
    lt: (a, b) => f.lt(a, b),
    gt: (a, b) => f.gt(a, b),
    select: (mask, a, b) => m.v128.bitselect(a, b, mask),
    withSignOf: (mag, sign) => m.v128.or(mag, m.v128.and(sign, signMask())),
    pow2i: (k) => m.i32x4.shl(m.i32x4.add(m.i32x4.trunc_sat_f32x4_s(k), m.i32x4.splat(m.i32.const(127))), m.i32.const(23)),
    hsum: (v) => m.f32.add(m.f32.add(lane(v, 0), lane(v, 1)), m.f32.add(lane(v, 2), lane(v, 3))),
    hmax: (v) => m.f32.max(m.f32.max(lane(v, 0), lane(v, 1)), m.f32.max(lane(v, 2), lane(v, 3))),
  };
}

/** A data segment placed at an absolute byte offset. */
export interface Segment {
  offset: number;
  data: Uint8Array;
}

/** Options of `ModuleBuilder.finish`. */
export interface FinishOptions {
  /** Initial memory pages (64 KiB); maximum is always 65536. */
  initialPages: number;
  /** Active data segments (embedded weights and internal constants). */
  segments: Segment[];
  /** Run binaryen's optimizer at level 3 / shrink 1 (default true). */
  optimize: boolean;
}

/**
 * One wasm module under construction. `simd` selects the feature set (SIMD128 or none) and what
 * `Fn.v` lowers to. Call `fn()` per function, `addFunction`, then `finish()` once.
 */
export class ModuleBuilder {
  readonly mod: binaryen.Module;

  /**
   * `relaxed` (SIMD modules only) adds the relaxed-SIMD feature: `FOps.madd` becomes f32x4.relaxed_madd (a fused
   * multiply-add on hosts with FMA; results may differ from mul-then-add in the last bit).
   */
  constructor(
    readonly simd: boolean,
    readonly relaxed = false,
  ) {
    this.mod = new binaryen.Module();
    if (!simd) guardScalar(this.mod);
    const f = simd ? BASE_FEATURES | binaryen.Features.SIMD128 : BASE_FEATURES;
    this.mod.setFeatures(simd && relaxed ? f | binaryen.Features.RelaxedSIMD : f);
  }

  /** A new function body builder with i32 params. */
  fn(nParams: number): Fn {
    return new Fn(this, Array.from({ length: nParams }, () => binaryen.i32));
  }

  /**
   * Add a function built with `f` (i32 params; no result, or `result`, e.g. I32, when `body` is one expression of
   * that type); `exportAs` exports it.
   */
  addFunction(name: string, f: Fn, nParams: number, body: Expr[], exportAs?: string, result: number = binaryen.none): void {
    const params = binaryen.createType(Array.from({ length: nParams }, () => binaryen.i32));
    this.mod.addFunction(name, params, result, f.varTypes(), f.block(body.length ? body : [f.nop()]));
    this.fnMadds.push(f.madds);
    if (exportAs) this.mod.addFunctionExport(name, exportAs);
  }

  private readonly helpers = new Set<string>();

  /**
   * Plain madds of a SIMD module (add `x` of mul(a, b) + c) not yet the value of a local.set, and those that are
   * (`set`): what finishWithRelaxed rewrites into f32x4.relaxed_madd(a, b, c).
   */
  private readonly pendingMadds = new Map<Expr, [Expr, Expr, Expr]>();
  private readonly maddSets: { set: Expr; x: Expr; abc: [Expr, Expr, Expr] }[] = [];

  /** Fn.v's madd on a non-relaxed SIMD module: remember `x` = add(mul(a, b), c) and its operands. */
  noteMadd(x: Expr, a: Expr, b: Expr, c: Expr): void {
    this.pendingMadds.set(x, [a, b, c]);
  }
  /** Fn.set: a local.set `set` whose value is `v` (a noted madd moves to maddSets; then true). */
  noteSet(set: Expr, v: Expr): boolean {
    const abc = this.pendingMadds.get(v);
    if (abc === undefined) return false;
    this.pendingMadds.delete(v);
    this.maddSets.push({ set, x: v, abc });
    return true;
  }

  /** Fn.madds of each function, in the order added (binaryen writes functions in that order). */
  private readonly fnMadds: number[] = [];

  /**
   * Add a shared helper function the first time it is asked for (`build` adds it), e.g. the one
   * GEMM routine all dense/conv nodes call. Returns `name`.
   */
  helper(name: string, build: () => void): string {
    if (!this.helpers.has(name)) {
      this.helpers.add(name);
      build();
    }
    return name;
  }

  /** An immutable i32 global (e.g. the activation base, known only after all kernels are emitted). */
  addConstGlobal(name: string, value: number): void {
    this.mod.addGlobal(name, binaryen.i32, false, this.mod.i32.const(value));
  }

  /** A call statement to a function of this module. */
  call(name: string, args: Expr[]): Expr {
    return this.mod.call(name, args, binaryen.none);
  }

  /**
   * Define and export `memory`, validate (throws with binaryen's message), optimize, emit the binary.
   * Validation without `optimize`: the emitted bytes are checked by the host's engine (WebAssembly.validate, the
   * spec validator every consumer runs; far cheaper than binaryen's validator on a first compile in a fresh
   * process, whose code is cold), and binaryen's validator runs only when the engine rejects the module or cannot
   * judge it (no WebAssembly global, or a feature it lacks, e.g. relaxed SIMD without the flag): it then decides
   * (scalar modules: with a feature set without SIMD128), and prints its messages. With `optimize`, binaryen
   * validates first (its optimizer needs valid IR).
   * A scalar module also has no v128 anywhere, so it runs on hosts without SIMD: that is proved while it is built,
   * not by a validator (guardScalar: no SIMD instruction and no v128 type can be made through its binaryen.Module),
   * and the engine's validation then shows the module valid without using SIMD.
   * Errors: Error("wasm backend: invalid module: ...") when validation fails (a backend bug); building a SIMD
   * instruction or a v128 type in a scalar module throws there (guardScalar).
   */
  finish(opts: FinishOptions): Uint8Array {
    const bytes = this.emitValidated(opts);
    this.mod.dispose();
    return opts.segments.length ? appendDataSection(bytes, opts.segments) : bytes;
  }

  /**
   * A SIMD module without `relaxed`: finish() it, then make its relaxed-SIMD twin from the same IR instead of
   * building it again: every madd (f32x4.add(f32x4.mul(a, b), c)) becomes f32x4.relaxed_madd(a, b, c) in place and
   * the RelaxedSIMD feature is added, which is exactly the IR `new ModuleBuilder(true, true)` would have built, since
   * kernels differ between the two only in FOps.madd (test/emit-prep.test.ts compares the bytes on every example).
   * That needs each madd to be the value of a local.set made by Fn.set (the parent to rewrite); when one is not, or
   * with `optimize` (binaryen rewrites the IR), `relaxed` is undefined and the caller builds the relaxed module.
   * The relaxed module is valid by construction (the argument is in the code; its premises are checked on the IR,
   * and binaryen validates when they do not hold). Its bytes are the SIMD bytes with each madd rewritten
   * (relaxed-bytes.ts) when every madd's c is a local.get and the rewrite finds exactly the madds; else binaryen
   * writes the rewritten IR (the same bytes).
   * Errors: as finish().
   */
  finishWithRelaxed(opts: FinishOptions): { simd: Uint8Array; relaxed?: Uint8Array } {
    if (!this.simd || this.relaxed) throw new Error("finishWithRelaxed: not a plain SIMD module");
    const m = this.mod;
    const simd = this.emitValidated(opts);
    const withData = (b: Uint8Array): Uint8Array => (opts.segments.length ? appendDataSection(b, opts.segments) : b);
    if (opts.optimize || this.pendingMadds.size > 0) {
      m.dispose();
      return { simd: withData(simd) };
    }
    const api = binaryen as unknown as { _BinaryenLocalSetGetValue(set: Expr): Expr; _BinaryenLocalSetSetValue(set: Expr, value: Expr): void };
    // Validity of the relaxed module without binaryen's validator (~40-70 ms CPU on a first compile): the SIMD module
    // was validated above, and the relaxed one is that IR with each `x` = f32x4.add(f32x4.mul(a, b), c), the value of
    // a local.set, replaced by f32x4.relaxed_madd(a, b, c): same result type (v128) from operands of the same types
    // (v128), each operand subtree moved unchanged under the same enclosing blocks, loops and locals, and the
    // RelaxedSIMD feature added. Wasm validation is compositional over the expression tree, so every function still
    // validates. The checks below make sure of the premises on the IR itself (each set still holds `x`; x, a, b and
    // c are v128, not unreachable); if one fails, the engine validates the relaxed bytes when it can, else binaryen.
    const v128 = binaryen.v128;
    const type = (e: Expr): number => binaryen.getExpressionType(e);
    let premises = true;
    for (const { set, x, abc } of this.maddSets)
      premises &&= api._BinaryenLocalSetGetValue(set) === x && type(x) === v128 && abc.every((e) => type(e) === v128);
    // With every c a local.get, each madd is written as `a b f32x4.mul local.get(c) f32x4.add`, and the relaxed
    // module's bytes are those with that run rewritten (relaxed-bytes.ts: the same rewrite on the bytes, where it
    // can tell every madd apart; the same validity argument). That spares a second emitBinary (~15-50 ms CPU).
    const localGet = binaryen.LocalGetId;
    if (premises && this.maddSets.every(({ abc }) => binaryen.getExpressionId(abc[2]) === localGet)) {
      const relaxed = relaxedFromSimdBytes(simd, this.fnMadds);
      if (relaxed) {
        m.dispose();
        return { simd: withData(simd), relaxed: withData(relaxed) };
      }
    }
    for (const { set, abc } of this.maddSets) api._BinaryenLocalSetSetValue(set, relaxedMadd(m, ...abc));
    m.setFeatures(m.getFeatures() | binaryen.Features.RelaxedSIMD);
    const relaxed = m.emitBinary();
    if (!premises && !engineAccepts(relaxed) && !m.validate()) throw this.invalid();
    m.dispose();
    return { simd: withData(simd), relaxed: withData(relaxed) };
  }

  private invalid(): Error {
    this.mod.dispose();
    return new Error("wasm backend: invalid module (binaryen validation failed; its messages are on stderr)");
  }

  /** Memory, validation (see finish), optimization and the binary without the data section; the module stays. */
  private emitValidated(opts: FinishOptions): Uint8Array {
    const m = this.mod;
    // Segments (the weights: up to megabytes) do not go through binaryen: the data section is appended to its
    // binary (appendDataSection), which spares copying them into binaryen's heap, validating and re-emitting them.
    m.setMemory(opts.initialPages, 65536, "memory", [], false, false, MEM);
    if (opts.optimize) {
      if (!m.validate()) throw this.invalid();
      binaryen.setOptimizeLevel(3);
      binaryen.setShrinkLevel(1);
      m.optimize();
    }
    const bytes = m.emitBinary();
    // Scalar modules too: guardScalar made SIMD impossible in them, so the engine's validator (which knows SIMD)
    // judges them as an engine without SIMD would. (Binaryen's validator here cost ~20 ms wall, ~40 ms CPU on a
    // first compile, nearly all of it compiling its cold code.)
    if (!opts.optimize && !engineAccepts(bytes) && !m.validate()) throw this.invalid();
    return bytes;
  }
}

/** True when the host's WebAssembly engine validates `bytes` (false when it rejects them or has no WebAssembly). */
function engineAccepts(bytes: Uint8Array): boolean {
  try {
    return typeof WebAssembly !== "undefined" && WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

/** Signed LEB128 bytes of any 32-bit integer (unsigned: artifact/sections.ts uleb128). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

/**
 * `wasm` (a binaryen binary without a data section; its last non-custom section is the code section) with a
 * data section (id 11) of active segments for memory 0 appended: per segment flags 0, offset `i32.const o; end`,
 * then the bytes. Valid after the code section (custom sections may sit anywhere); no DataCount section is
 * needed since no memory.init / data.drop refers to the segments. The result is a new array with room after it
 * (artifact/sections.ts bytesWithRoom), where buildArtifact's custom sections go without another copy.
 */
export function appendDataSection(wasm: Uint8Array, segments: Segment[]): Uint8Array {
  const heads = segments.map((s) => [0, 0x41, ...sleb(s.offset), 0x0b, ...uleb128(s.data.length)]);
  const count = uleb128(segments.length);
  let body = count.length;
  for (let i = 0; i < segments.length; i++) body += heads[i]!.length + segments[i]!.data.length;
  const size = uleb128(body);
  // Room after the module for artifact/build.ts's custom sections (the manifest: a few KB), written there without
  // copying the module again; pages of it left unused cost nothing.
  const out = bytesWithRoom(wasm.length + 1 + size.length + body, MANIFEST_ROOM);
  out.set(wasm);
  let p = wasm.length;
  out[p++] = 11;
  for (const b of size) out[p++] = b;
  for (const b of count) out[p++] = b;
  for (let i = 0; i < segments.length; i++) {
    for (const b of heads[i]!) out[p++] = b;
    out.set(segments[i]!.data, p);
    p += segments[i]!.data.length;
  }
  return out;
}

/** Bytes of room after a module with a data section for its custom sections (bytesWithRoom). */
const MANIFEST_ROOM = 64 * 1024;

/** binaryen.Module's SIMD namespaces: every SIMD instruction (v128 load, store and const too) is made through one. */
const SIMD_NAMESPACES = ["v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"] as const;

/**
 * binaryen.Module methods (path, positions of value-type arguments) through which a caller chooses a type: a
 * declaration (function params / results / locals, globals, imports) or an expression's result (block, local.get /
 * tee, global.get, calls, typed select). Every other expression constructor takes its type from its operands or
 * from a fixed non-SIMD opcode.
 */
const TYPED_METHODS: [path: string, typeArgs: number[]][] = [
  ["block", [2]],
  ["local.get", [1]],
  ["local.tee", [2]],
  ["global.get", [1]],
  ["call", [2]],
  ["callIndirect", [3, 4]],
  ["call_indirect", [3, 4]],
  ["returnCall", [2]],
  ["return_call", [2]],
  ["returnCallIndirect", [3, 4]],
  ["return_call_indirect", [3, 4]],
  ["call_ref", [2]],
  ["return_call_ref", [2]],
  ["select", [3]],
  ["addFunction", [1, 2, 3]],
  ["addGlobal", [1]],
  ["addFunctionImport", [3, 4]],
  ["addGlobalImport", [3]],
];

/** True when `t` (a value type, a tuple type or an array of them) is or holds v128; common types need no binaryen call. */
function hasV128(t: unknown): boolean {
  if (Array.isArray(t)) return t.some(hasV128);
  if (typeof t !== "number" || t === binaryen.none || t === I32 || t === F32 || t === F64 || t === binaryen.i64) return false;
  if (t === binaryen.unreachable || t === binaryen.auto) return false;
  return t === V128 || binaryen.expandType(t).includes(V128);
}

/**
 * Make SIMD impossible in scalar module `m` (the proof that a scalar module runs on hosts without SIMD): each SIMD
 * namespace of `m` becomes one whose every method throws, and each TYPED_METHODS method throws when given a type
 * holding v128. So no SIMD instruction, no v128 local, param, result or global and no v128-typed expression can be
 * made through `m`, the only way kernels reach binaryen (module.ts calls binaryen's C API directly only for
 * relaxed_madd, in SIMD modules). Then bytes the engine validates are valid without SIMD: a wasm module can hold
 * v128 only as a SIMD instruction or a v128 type, and these are never written. test/backend.test.ts tries both.
 * Errors: Error("wasm backend: SIMD instruction f32x4.add in a scalar module ...") and the like, at the call.
 */
function guardScalar(m: binaryen.Module): void {
  const refuse = (what: string): never => {
    throw new Error(`wasm backend: ${what} in a scalar module (a kernel bug: use Fn.v / FOps, scalar ops in this build)`);
  };
  for (const ns of SIMD_NAMESPACES)
    Object.defineProperty(m, ns, { value: new Proxy({}, { get: (_, op) => () => refuse(`SIMD instruction ${ns}.${String(op)}`) }) });
  type Methods = Record<string, (...a: unknown[]) => unknown>;
  for (const [path, at] of TYPED_METHODS) {
    const parts = path.split(".");
    const owner = (parts.length === 2 ? (m as unknown as Record<string, Methods>)[parts[0]!] : m) as Methods | undefined;
    const key = parts[parts.length - 1]!;
    const orig = owner?.[key];
    if (!owner || typeof orig !== "function") continue;
    owner[key] = (...a: unknown[]) => {
      for (const i of at) if (hasV128(a[i])) refuse(`a v128 type (${path})`);
      return orig.apply(owner, a);
    };
  }
}

/** Features of every module; SIMD modules add SIMD128. */
const BASE_FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt;

/**
 * True when `wasm` contains any v128 type or SIMD instruction (checked on binaryen's text form,
 * data segments excluded). For tests and `modelc inspect`.
 */
export function usesSimd(wasm: Uint8Array): boolean {
  const m = binaryen.readBinary(wasm);
  const text = m.emitText();
  m.dispose();
  return text
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("(data"))
    .some((l) => /\bv128\b|\b[fi](8x16|16x8|32x4|64x2)\./.test(l));
}
