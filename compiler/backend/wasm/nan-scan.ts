// The module's `nan_scan(ptr, n) -> i32` export (ABI in runtime/manifest.ts): does any of `n` f32 at byte address
// `ptr` hold a NaN? Model.run calls it on each f32 input after copying it into memory, instead of a JS loop.
// Neighbours: emit.ts (adds it to every inference module), module.ts (Fn, FOps), runtime/model.ts (the caller).

import { I32, V128, type Expr, type FOps, type Fn, type Local, type ModuleBuilder } from "./module.js";

/** Name of the export (runtime/model.ts looks it up by this name). */
export const NAN_SCAN_EXPORT = "nan_scan";

/** Lane groups loaded per iteration of the main loop (independent loads; one OR chain). */
const UNROLL = 4;

/** Lane-wise x != x (true exactly for NaN; ±Infinity and -0 compare equal to themselves): i32 or v128 mask. */
function nanMask(f: Fn, o: FOps, x: () => Expr): Expr {
  return o.lanes === 4 ? f.m.f32x4.ne(x(), x()) : f.m.f32.ne(x(), x());
}

/** Bitwise OR of two masks of `o`'s lane group. */
function or(f: Fn, o: FOps, a: Expr, b: Expr): Expr {
  return o.lanes === 4 ? f.m.v128.or(a, b) : f.m.i32.or(a, b);
}

/**
 * Add the exported `nan_scan(ptr: i32, n: i32) -> i32` to `mb`: 1 when one of the `n` f32 at byte address `ptr`
 * (4-aligned) is a NaN (any payload), else 0; n <= 0 gives 0. SIMD modules: UNROLL v128 loads per iteration,
 * f32x4.ne(v, v) OR-accumulated, then 4-wide steps, v128.any_true and a scalar tail; scalar modules: the same
 * loop on f32 (x != x) with i32 ORs, no v128. Reads memory only; no early exit (the whole range is read).
 */
export function addNanScan(mb: ModuleBuilder): void {
  const f = mb.fn(2);
  const ptr = f.param(0);
  const n = f.param(1);
  const i = f.local();
  const hit = f.local();
  const x = f.s === f.v ? [] : Array.from({ length: UNROLL }, () => f.local(V128));
  const xs = f.local(f.s.type);
  const stmts: Expr[] = [f.set(hit, f.i(0))];
  // Lane-group loop of `o` with `k` loads per iteration into `into` (locals of o.type), ORing masks into `acc`.
  const loop = (o: FOps, into: Local[], acc: Local, start: Expr | null): Expr => {
    const addr = (): Expr => f.at(f.get(ptr), f.get(i));
    const body = into.map((l, k) => f.set(l, o.load(addr(), k * o.lanes * 4)));
    const masks = into.map((l) => nanMask(f, o, () => f.get(l)));
    const all = masks.reduce((a, b) => or(f, o, a, b));
    body.push(f.set(acc, or(f, o, f.get(acc), all)));
    return f.forRange(i, start, f.get(n), body, into.length * o.lanes);
  };
  if (f.v.lanes === 4) {
    const acc = f.local(V128);
    stmts.push(f.set(acc, f.v.c(0)), loop(f.v, x, acc, f.i(0)), loop(f.v, [x[0]!], acc, null), f.set(hit, f.m.v128.any_true(f.get(acc))));
    stmts.push(loop(f.s, [xs], hit, null));
  } else {
    const more = Array.from({ length: UNROLL - 1 }, () => f.local(f.s.type));
    stmts.push(loop(f.s, [xs, ...more], hit, f.i(0)), loop(f.s, [xs], hit, null));
  }
  mb.addFunction(NAN_SCAN_EXPORT, f, 2, [f.seqGet(stmts, hit)], NAN_SCAN_EXPORT, I32);
}
