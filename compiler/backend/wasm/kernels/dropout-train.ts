// dropout_train: inverted dropout with the counter-based hash mask of ir/ops/grad-rng.ts, in i32 (scalar)
// or i32x4 (SIMD) integer ops, so the mask equals the float64 reference's bit for bit.
// Neighbours: ir/ops/grad-rng.ts (mix32, key, draw, threshold), ir/ops/grad-norm.ts (reference).

import type { Expr, Fn } from "../module.js";
import { dropoutThreshold } from "../../../ir/ops/grad-rng.js";
import type { Kernel } from "./context.js";
import { countOf } from "./train-util.js";

/** Integer lane ops: i32x4 on SIMD lane groups, i32 on scalar ones. */
interface IOps {
  xor(a: Expr, b: Expr): Expr;
  mul(a: Expr, b: Expr): Expr;
  shrU(a: Expr, k: number): Expr;
  c(x: number): Expr;
  geS(a: Expr, b: Expr): Expr;
}

function iops(f: Fn, simd: boolean): IOps {
  const m = f.m;
  return simd
    ? {
        xor: (a, b) => m.v128.xor(a, b),
        mul: (a, b) => m.i32x4.mul(a, b),
        shrU: (a, k) => m.i32x4.shr_u(a, f.i(k)),
        c: (x) => m.i32x4.splat(f.i(x)),
        geS: (a, b) => m.i32x4.ge_s(a, b),
      }
    : {
        xor: (a, b) => m.i32.xor(a, b),
        mul: (a, b) => m.i32.mul(a, b),
        shrU: (a, k) => m.i32.shr_u(a, f.i(k)),
        c: (x) => f.i(x),
        geS: (a, b) => m.i32.ge_s(a, b),
      };
}

/** murmur3 fmix32 on a local holding h (statements; result left in the local). */
function mix32(f: Fn, o: IOps, h: { get: () => Expr; set: (v: Expr) => Expr }): Expr[] {
  return [
    h.set(o.xor(h.get(), o.shrU(h.get(), 16))),
    h.set(o.mul(h.get(), o.c(0x85ebca6b))),
    h.set(o.xor(h.get(), o.shrU(h.get(), 13))),
    h.set(o.mul(h.get(), o.c(0xc2b2ae35))),
    h.set(o.xor(h.get(), o.shrU(h.get(), 16))),
  ];
}

/**
 * dropout_train(x, rng i32 [2] = [seed, step]) {p, salt}: key = mix32(mix32(mix32(salt ^ 0x9e3779b9) ^ seed)
 * ^ step) once, then element k (row-major over the whole [N, ...] tensor) is kept iff
 * mix32(key ^ k) >>> 8 >= T = min(2^24, ceil(p 2^24)); kept elements are x / (1 - p), others 0 (p = 1:
 * all 0). In-place safe.
 */
export const dropoutTrainKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const m = f.m;
  const p = node.attrs["p"] as number;
  const salt = node.attrs["salt"] as number;
  const T = dropoutThreshold(p);
  const scale = p < 1 ? 1 / (1 - p) : 0;
  const [px, py, n, key, h] = [f.local(), f.local(), f.local(), f.local(), f.local()];
  const hv = f.local(f.v.type);
  const pr = (): Expr => ctx.ptr(node.inputs[1]!);
  const s = iops(f, false);
  const hl = { get: () => f.get(h), set: (v: Expr) => f.set(h, v) };
  const keyStmts: Expr[] = [
    f.set(h, f.i((salt ^ 0x9e3779b9) | 0)),
    ...mix32(f, s, hl),
    f.set(h, m.i32.xor(f.get(h), m.i32.reinterpret(f.s.load(pr())))),
    ...mix32(f, s, hl),
    f.set(h, m.i32.xor(f.get(h), m.i32.reinterpret(f.s.load(pr(), 4)))),
    ...mix32(f, s, hl),
    f.set(key, f.get(h)),
  ];
  return [
    f.set(px, ctx.ptr(node.inputs[0]!)),
    f.set(py, ctx.ptr(node.outputs[0]!)),
    f.set(n, countOf(ctx, node.inputs[0]!)),
    ...keyStmts,
    f.forLanes(() => f.get(n), (o, idx) => {
      const simd = o.lanes === 4;
      const io = iops(f, simd);
      const l = simd ? hv : h;
      const ll = { get: () => f.get(l), set: (v: Expr) => f.set(l, v) };
      const kvec = simd ? m.i32x4.add(m.i32x4.splat(idx()), m.v128.const([0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])) : idx();
      const keyv = simd ? m.i32x4.splat(f.get(key)) : f.get(key);
      return [
        ll.set(io.xor(keyv, kvec)),
        ...mix32(f, io, ll),
        o.store(
          f.at(f.get(py), idx()),
          o.select(io.geS(io.shrU(ll.get(), 8), io.c(T)), o.mul(o.load(f.at(f.get(px), idx())), o.c(scale)), o.c(0)),
        ),
      ];
    }),
  ];
};
