// conv2d: 2-D convolution over NCHW with stride, padding (incl. "same"), dilation and groups.
// Neighbours: ops/def.ts, ops/common.ts, ops/pool.ts (shares the padding helpers); attrs in ir/attrs.ts.

import type { OpDef } from "./def.js";
import { OpArgError, OpTypeError } from "./def.js";
import type { AttrValue, Attrs, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, intPair, requireFloat, requireRank, staticDim, zeros } from "./common.js";

/**
 * Explicit padding from a language value: int p → [p, p, p, p]; [ph, pw] → [ph, pw, ph, pw];
 * [t, l, b, r] as is; "valid" → zeros. ("same" is handled by the caller, it needs the input size.)
 * Errors: OpArgError for negatives, non-integers or other list lengths.
 */
export function explicitPadding(op: string, v: AttrValue): [number, number, number, number] {
  let p: number[];
  if (v === "valid") p = [0, 0, 0, 0];
  else if (typeof v === "number") p = [v, v, v, v];
  else if (Array.isArray(v) && v.length === 2) p = [v[0]!, v[1]!, v[0]!, v[1]!];
  else if (Array.isArray(v) && v.length === 4) p = [...v];
  else
    throw new OpArgError(
      `${op}: padding must be "valid", "same", an int, [ph, pw] or [top, left, bottom, right], got ${JSON.stringify(v)}`,
      "padding",
    );
  for (const x of p)
    if (!Number.isInteger(x) || x < 0) throw new OpArgError(`${op}: padding must be non-negative ints, got ${JSON.stringify(v)}`, "padding");
  return [p[0]!, p[1]!, p[2]!, p[3]!];
}

/**
 * "same" padding for one spatial axis (TF/PyTorch rule, also for stride > 1):
 * total = max((ceil(size/s) - 1) * s + (k - 1) * d + 1 - size, 0); before = floor(total/2), after = rest.
 */
export function samePadding(size: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Output size of a convolution axis: floor((size + pads - d (k - 1) - 1) / s) + 1 (PyTorch Conv2d). */
export function convOutSize(size: number, padBefore: number, padAfter: number, k: number, s: number, d: number): number {
  return Math.floor((size + padBefore + padAfter - d * (k - 1) - 1) / s) + 1;
}

/**
 * conv2d(out_channels, kernel, stride=1, padding="valid", dilation=1, groups=1, bias=true).
 * Inputs [x [N, C, H, W], weight [O, C/groups, kh, kw], bias? [O]] -> [N, O, Ho, Wo], f32.
 * Attrs (ir/attrs.ts Conv2dAttrs) { out_channels, kernel: [kh, kw], stride, padding: [t, l, b, r], dilation, groups, bias };
 * in_channels comes from the input. Params weight/bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C/groups*kh*kw
 * (PyTorch nn.Conv2d default init). Errors: OpArgError for kernel/stride/dilation < 1, groups not dividing
 * C or O; OpTypeError when the (dilated) kernel is larger than the padded input.
 */
export const conv2d: OpDef = {
  name: "conv2d",
  doc: "2-D convolution (NCHW) with stride, padding, dilation and groups",
  semantics: "PyTorch torch.nn.Conv2d (cross-correlation, NCHW); padding \"same\" as TF for stride > 1",
  arity: 1,
  args: [
    { name: "out_channels", kind: "int", doc: "output channels O" },
    { name: "kernel", kind: "int_or_ints", doc: "kernel size k or [kh, kw]" },
    { name: "stride", kind: "int_or_ints", default: 1, doc: "stride s or [sh, sw]" },
    {
      name: "padding",
      kind: "padding",
      default: "valid",
      doc: '"valid", "same", p, [ph, pw] or [top, left, bottom, right]; "same" puts the extra pixel bottom/right',
    },
    { name: "dilation", kind: "int_or_ints", default: 1, doc: "dilation d or [dh, dw]" },
    { name: "groups", kind: "int", default: 1, doc: "groups; must divide in and out channels" },
    { name: "bias", kind: "bool", default: true, doc: "add a learned bias" },
  ],
  normalize: (a, inputs) => {
    const x = inputs[0]!;
    requireRank("conv2d", x, 4, "[N, C, H, W]");
    const C = staticDim("conv2d", x, 1);
    const out = a["out_channels"] as number;
    if (!Number.isInteger(out) || out < 1) throw new OpArgError(`conv2d: out_channels must be >= 1, got ${out}`, "out_channels");
    const kernel = intPair("conv2d", "kernel", a["kernel"], 1);
    const stride = intPair("conv2d", "stride", a["stride"], 1);
    const dilation = intPair("conv2d", "dilation", a["dilation"], 1);
    const groups = a["groups"] as number;
    if (!Number.isInteger(groups) || groups < 1) throw new OpArgError(`conv2d: groups must be >= 1, got ${groups}`, "groups");
    if (C % groups !== 0) throw new OpArgError(`conv2d: groups ${groups} does not divide the ${C} input channels`, "groups");
    if (out % groups !== 0) throw new OpArgError(`conv2d: groups ${groups} does not divide out_channels ${out}`, "groups");
    let padding: [number, number, number, number];
    if (a["padding"] === "same") {
      const H = staticDim("conv2d", x, 2);
      const W = staticDim("conv2d", x, 3);
      const [t, b] = samePadding(H, kernel[0], stride[0], dilation[0]);
      const [l, r] = samePadding(W, kernel[1], stride[1], dilation[1]);
      padding = [t, l, b, r];
    } else padding = explicitPadding("conv2d", a["padding"]!);
    return { out_channels: out, kernel, stride, padding, dilation, groups, bias: a["bias"] as boolean };
  },
  params: (inputs, attrs) => {
    const C = staticDim("conv2d", inputs[0]!, 1);
    const [kh, kw] = attrs["kernel"] as number[];
    const O = attrs["out_channels"] as number;
    const cg = C / (attrs["groups"] as number);
    const bound = 1 / Math.sqrt(cg * kh! * kw!);
    const init = { kind: "uniform" as const, low: -bound, high: bound };
    const ps = [{ suffix: "weight", shape: [O, cg, kh!, kw!], kind: "param" as const, init }];
    if (attrs["bias"]) ps.push({ suffix: "bias", shape: [O], kind: "param" as const, init });
    return ps;
  },
  infer: (inputs: TensorType[], attrs: Attrs) => {
    const [x, w, b] = inputs as [TensorType, TensorType | undefined, TensorType | undefined];
    requireFloat("conv2d", x);
    requireRank("conv2d", x, 4, "[N, C, H, W]");
    const C = staticDim("conv2d", x, 1);
    const H = staticDim("conv2d", x, 2);
    const W = staticDim("conv2d", x, 3);
    const [kh, kw] = attrs["kernel"] as [number, number];
    const [sh, sw] = attrs["stride"] as [number, number];
    const [pt, pl, pb, pr] = attrs["padding"] as [number, number, number, number];
    const [dh, dw] = attrs["dilation"] as [number, number];
    const O = attrs["out_channels"] as number;
    const groups = attrs["groups"] as number;
    const wantW = [O, C / groups, kh, kw];
    if (!w || w.shape.length !== 4 || w.shape.some((d, i) => d !== wantW[i]))
      throw new OpTypeError(
        `conv2d: weight ${w ? showShape(w.shape) : "missing"} does not match input ${showShape(x.shape)} (expected ${showShape(wantW)})`,
        undefined,
        1,
      );
    if (attrs["bias"] && (!b || b.shape.length !== 1 || b.shape[0] !== O))
      throw new OpTypeError(`conv2d: bias ${b ? showShape(b.shape) : "missing"} does not match out_channels ${O}`, undefined, 2);
    const Ho = convOutSize(H, pt, pb, kh, sh, dh);
    const Wo = convOutSize(W, pl, pr, kw, sw, dw);
    if (Ho < 1 || Wo < 1)
      throw new OpTypeError(
        `conv2d: kernel [${kh}, ${kw}] (dilation [${dh}, ${dw}]) is larger than the padded input ${showShape(x.shape)} with padding [${pt}, ${pl}, ${pb}, ${pr}]`,
      );
    return [{ dtype: "f32", shape: [x.shape[0]!, O, Ho, Wo] }];
  },
  reference: (inputs: RefTensor[], attrs: Attrs) => {
    const [x, w, b] = inputs as [RefTensor, RefTensor, RefTensor | undefined];
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [kh, kw] = attrs["kernel"] as [number, number];
    const [sh, sw] = attrs["stride"] as [number, number];
    const [pt, pl, pb, pr] = attrs["padding"] as [number, number, number, number];
    const [dh, dw] = attrs["dilation"] as [number, number];
    const O = attrs["out_channels"] as number;
    const G = attrs["groups"] as number;
    const cg = C / G;
    const og = O / G;
    const Ho = convOutSize(H, pt, pb, kh, sh, dh);
    const Wo = convOutSize(W, pl, pr, kw, sw, dw);
    const y = zeros([N, O, Ho, Wo]);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        const g = Math.floor(o / og);
        for (let oh = 0; oh < Ho; oh++)
          for (let ow = 0; ow < Wo; ow++) {
            let s = b ? b.data[o]! : 0;
            for (let c = 0; c < cg; c++) {
              const ci = g * cg + c;
              for (let i = 0; i < kh; i++) {
                const ih = oh * sh - pt + i * dh;
                if (ih < 0 || ih >= H) continue;
                for (let j = 0; j < kw; j++) {
                  const iw = ow * sw - pl + j * dw;
                  if (iw < 0 || iw >= W) continue;
                  s += x.data[((n * C + ci) * H + ih) * W + iw]! * w.data[((o * cg + c) * kh + i) * kw + j]!;
                }
              }
            }
            y.data[((n * O + o) * Ho + oh) * Wo + ow] = s;
          }
      }
    return [y];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const outN = countAt(outputs[0]!, batch);
    const [kh, kw] = attrs["kernel"] as [number, number];
    const cg = (inputs[0]!.shape[1] as number) / (attrs["groups"] as number);
    const paramN = inputs.slice(1).reduce((s, t) => s + countAt(t, batch), 0);
    return {
      flops: outN * cg * kh * kw * 2 + (attrs["bias"] ? outN : 0),
      bytes: 4 * (countAt(inputs[0]!, batch) + paramN + outN),
    };
  },
};
