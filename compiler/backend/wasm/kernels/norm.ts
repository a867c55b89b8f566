// batchnorm in inference form, folded at compile time into y = x * scale[c] + shift[c] with
// scale = w / sqrt(var + eps), shift = b - mean * scale (float64, stored as f32 derived data).
// Neighbours: kernels/context.ts (derived data), module.ts; train-kernels.ts (run-time fold, same loops).

import type { Expr } from "../module.js";
import { prod, sampleDims, type Kernel, type KernelCtx } from "./context.js";

/**
 * Kernel for `batchnorm`: inputs [x [N, C, ...], weight [C], bias [C], running_mean [C],
 * running_var [C]], attrs.eps (PyTorch nn.BatchNorm1d/2d, eval mode). Channels-contiguous rows
 * (no spatial dims) vectorize over C; otherwise each (n, c) plane is one lane-group loop.
 */
export const batchnormKernel: Kernel = (ctx) => {
  const { f, node } = ctx;
  const [x, w, b, mean, vr] = node.inputs as [string, string, string, string, string];
  const eps = (node.attrs["eps"] as number | undefined) ?? 1e-5;
  const xd = sampleDims(ctx, x);
  const C = xd[0]!;
  const inner = prod(xd.slice(1));
  const [wd, bd, md, vd] = [w, b, mean, vr].map((id) => ctx.weightData(id)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const scale = new Float32Array(C);
  const shift = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const s = wd[c]! / Math.sqrt(vd[c]! + eps);
    scale[c] = s;
    shift[c] = bd[c]! - md[c]! * s;
  }
  const sOff = ctx.addDerived(`${node.id}:bn_scale`, scale);
  const tOff = ctx.addDerived(`${node.id}:bn_shift`, shift);
  return scaleShiftLoops(ctx, C, inner, () => f.i(sOff), () => f.i(tOff));
};

/**
 * y = x * scale[c] + shift[c] for x [N, C, inner] (the node's first input and output), with the C-element
 * f32 tables at the addresses `scale()` / `shift()` (built afresh per use). inner = 1 vectorizes over C;
 * otherwise each (n, c) plane is one lane-group loop. Also used by train-kernels.ts (tables in scratch).
 */
export function scaleShiftLoops(ctx: KernelCtx, C: number, inner: number, scale: () => Expr, shift: () => Expr): Expr[] {
  const { f, node } = ctx;
  const sAt = (i: Expr): Expr => f.at(scale(), i);
  const tAt = (i: Expr): Expr => f.at(shift(), i);
  const [px, py, n, c, sc, sh] = [f.local(), f.local(), f.local(), f.local(), f.local(f.v.type), f.local(f.v.type)];
  const setup = [f.set(px, ctx.ptr(node.inputs[0]!)), f.set(py, ctx.ptr(node.outputs[0]!))];
  if (inner === 1)
    return [
      ...setup,
      f.forRange(n, f.i(0), ctx.batch(), [
        f.forLanes(() => f.i(C), (o, idx) => [
          o.store(f.at(f.get(py), idx()), o.add(o.mul(o.load(f.at(f.get(px), idx())), o.load(sAt(idx()))), o.load(tAt(idx())))),
        ]),
        f.set(px, f.addk(f.get(px), C * 4)),
        f.set(py, f.addk(f.get(py), C * 4)),
      ]),
    ];
  return [
    ...setup,
    f.forRange(n, f.i(0), ctx.batch(), [
      f.forRange(c, f.i(0), f.i(C), [
        f.set(sc, f.v.splat(f.s.load(sAt(f.get(c))))),
        f.set(sh, f.v.splat(f.s.load(tAt(f.get(c))))),
        f.forLanes(() => f.i(inner), (o, idx) => {
          const s = o.lanes === f.v.lanes ? f.get(sc) : f.s.load(sAt(f.get(c)));
          const t = o.lanes === f.v.lanes ? f.get(sh) : f.s.load(tAt(f.get(c)));
          return [o.store(f.at(f.get(py), idx()), o.add(o.mul(o.load(f.at(f.get(px), idx())), s), t))];
        }),
        f.set(px, f.addk(f.get(px), inner * 4)),
        f.set(py, f.addk(f.get(py), inner * 4)),
      ]),
    ]),
  ];
}
