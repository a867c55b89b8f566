// ONNX lowerings of the sequence / multimodal ops: embedding (Gather), positional_encoding, multihead_attention (a
// composition of MatMul/Softmax/Where), padding_mask, transpose, mean, slice, gated_sum, reparameterize (its mean).
// Neighbours: export/onnx.ts (the builder and the v1 ops); ir/ops/embedding.ts, attention.ts, fusion.ts (semantics).

import type { Node } from "../ir/types.js";
// The op table before ops/embedding.ts: entering the embedding <-> graph <-> op table import cycle from
// embedding.ts would evaluate the table before embedding.ts has defined its ops.
import "../ir/ops/index.js";
import { sinusoidalTable } from "../ir/ops/embedding.js";
import type { SeqBuilder, SeqLowering } from "./onnx.js";

const int = (name: string, i: number) => ({ name, type: 2, i });
const ints = (name: string, v: readonly number[]) => ({ name, type: 7, ints: [...v] });

/** x[axis][start:end] as an ONNX Slice (opset 13: starts/ends/axes are int64 inputs). */
function slice(b: SeqBuilder, x: string, axis: number, start: number, end: number, base: string, out?: string[]): string {
  const s = b.initializer(`${base}/starts`, [1], [start], "i64");
  const e = b.initializer(`${base}/ends`, [1], [end], "i64");
  const a = b.initializer(`${base}/axes`, [1], [axis], "i64");
  return out ? b.emit("Slice", [x, s, e, a], out, [], base) : b.temp("Slice", [x, s, e, a], base);
}

/** y = x W^T + bias over the last axis (nn.Linear) with W an initializer of shape [out, in]. */
function linear(b: SeqBuilder, x: string, w: string, bias: string | undefined, base: string, out?: string[]): string {
  const wt = b.temp("Transpose", [w], `${base}/wt`, [ints("perm", [1, 0])]);
  if (!bias) return out ? b.emit("MatMul", [x, wt], out, [], base) : b.temp("MatMul", [x, wt], base);
  const mm = b.temp("MatMul", [x, wt], `${base}/matmul`);
  return out ? b.emit("Add", [mm, bias], out, [], base) : b.temp("Add", [mm, bias], base);
}

/**
 * multihead_attention (PyTorch nn.MultiheadAttention, batch_first, ir/ops/attention.ts mhaForward): Q/K/V projections
 * from slices of in_proj_weight/bias, heads split by Reshape [0, L, H, d] + Transpose, scores Q K^T / sqrt(d), masked
 * keys (key_padding_mask nonzero, and j > i when causal) set to -1e30 before Softmax and their weights to 0 after it,
 * so a fully masked row gives weights 0 (modelc's rule; PyTorch gives NaN) and output out_proj.bias.
 */
const multiheadAttention: SeqLowering = (b, n, ins, outs, base) => {
  const nAct = n.inputs.length - 4;
  const [q, kv] = [ins[0]!, ins[1]!];
  const mask = nAct === 3 ? ins[2] : undefined;
  const [win, bin, wo, bo] = ins.slice(nAct) as [string, string, string, string];
  const [, L, E] = b.value(n.inputs[0]!).type.shape as [unknown, number, number];
  const S = b.value(n.inputs[1]!).type.shape[1] as number;
  const H = n.attrs["num_heads"] as number;
  const d = E / H;
  const proj = (x: string, k: number, name: string): string =>
    linear(b, x, slice(b, win, 0, k * E, (k + 1) * E, `${base}/w${name}`), slice(b, bin, 0, k * E, (k + 1) * E, `${base}/b${name}`), `${base}/${name}`);
  const heads = (x: string, len: number, perm: number[], name: string): string => {
    const shape = b.initializer(`${base}/${name}_shape`, [4], [0, len, H, d], "i64");
    return b.temp("Transpose", [b.temp("Reshape", [x, shape], `${base}/${name}_split`)], `${base}/${name}_heads`, [ints("perm", perm)]);
  };
  const Q = heads(proj(q, 0, "q"), L, [0, 2, 1, 3], "q"); // [N, H, L, d]
  const K = heads(proj(kv, 1, "k"), S, [0, 2, 3, 1], "k"); // [N, H, d, S]
  const V = heads(proj(kv, 2, "v"), S, [0, 2, 1, 3], "v"); // [N, H, S, d]
  let scores = b.temp("Mul", [b.temp("MatMul", [Q, K], `${base}/qk`), b.scalar(`${base}/scale`, 1 / Math.sqrt(d))], `${base}/scores`);
  // masked[n, h, i, j] (bool), broadcast from [N, 1, 1, S] and [L, S]
  let masked: string | undefined;
  if (mask !== undefined) {
    const mt = b.value(n.inputs[2]!).type.dtype;
    const zero = mt === "i32" ? b.initializer(`${base}/zero_i`, [], [0], "i32") : b.scalar(`${base}/zero_f`, 0);
    const keep = b.temp("Equal", [mask, zero], `${base}/keep`);
    const m = b.temp("Not", [keep], `${base}/ignore`);
    const axes = b.initializer(`${base}/unsq_axes`, [2], [1, 2], "i64");
    masked = b.temp("Unsqueeze", [m, axes], `${base}/ignore4`);
  }
  if (n.attrs["causal"]) {
    const tri: number[] = [];
    for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) tri.push(j > i ? 1 : 0);
    const c = b.temp("Cast", [b.initializer(`${base}/causal`, [L, S], tri, "i32")], `${base}/causal_b`, [int("to", 9)]);
    masked = masked ? b.temp("Or", [masked, c], `${base}/masked`) : c;
  }
  if (masked) scores = b.temp("Where", [masked, b.scalar(`${base}/neg`, -1e30), scores], `${base}/scores_m`);
  let p = b.temp("Softmax", [scores], `${base}/weights`, [int("axis", -1)]);
  if (masked) p = b.temp("Where", [masked, b.scalar(`${base}/zero`, 0), p], `${base}/weights_m`);
  const o = b.temp("Transpose", [b.temp("MatMul", [p, V], `${base}/pv`)], `${base}/pv_t`, [ints("perm", [0, 2, 1, 3])]);
  const merged = b.temp("Reshape", [o, b.initializer(`${base}/merge_shape`, [3], [0, L, E], "i64")], `${base}/merged`);
  linear(b, merged, wo, bo, `${base}/out_proj`, outs);
};

/** positional_encoding: x + P[:L], P the sinusoidal table (a constant) or the learned weight's first L rows. */
const positionalEncoding: SeqLowering = (b, n, ins, outs, base) => {
  const [, L, D] = b.value(n.inputs[0]!).type.shape as [unknown, number, number];
  const table = n.attrs["kind"] === "learned" ? slice(b, ins[1]!, 0, 0, L, `${base}/rows`) : b.initializer(`${base}/table`, [L, D], sinusoidalTable(L, D), "f32");
  b.emit("Add", [ins[0]!, table], outs, [], base);
};

/** gated_sum (Arevalo et al. 2017): g = sigmoid(gate(concat(a, b))); out = b + g * (a - b) = g a + (1 - g) b. */
const gatedSum: SeqLowering = (b, _n, ins, outs, base) => {
  const [x, y, w, bias] = ins as [string, string, string, string];
  const cat = b.temp("Concat", [x, y], `${base}/concat`, [int("axis", -1)]);
  const g = b.temp("Sigmoid", [linear(b, cat, w, bias, `${base}/gate`)], `${base}/g`);
  b.emit("Add", [y, b.temp("Mul", [g, b.temp("Sub", [x, y], `${base}/diff`)], `${base}/gdiff`)], outs, [], base);
};

/** The lowerings of this file by modelc op name (merged into export/onnx.ts's table). */
export const SEQ_LOWERINGS: Record<string, SeqLowering> = {
  embedding: (b, _n, ins, outs, base) => void b.emit("Gather", [ins[1]!, ins[0]!], outs, [int("axis", 0)], base),
  positional_encoding: positionalEncoding,
  multihead_attention: multiheadAttention,
  padding_mask: (b, n: Node, ins, outs, base) => {
    const pad = b.initializer(`${base}/pad_id`, [], [n.attrs["pad_id"] as number], "i32");
    b.emit("Cast", [b.temp("Equal", [ins[0]!, pad], `${base}/eq`)], outs, [int("to", 6)], base);
  },
  transpose: (b, n, ins, outs, base) => {
    const rank = b.value(n.inputs[0]!).type.shape.length;
    const perm = Array.from({ length: rank }, (_, i) => i);
    const [d0, d1] = [n.attrs["dim0"] as number, n.attrs["dim1"] as number];
    [perm[d0], perm[d1]] = [perm[d1]!, perm[d0]!];
    b.emit("Transpose", [ins[0]!], outs, [ints("perm", perm)], base);
  },
  mean: (b, n, ins, outs, base) =>
    void b.emit("ReduceMean", [ins[0]!], outs, [ints("axes", [n.attrs["axis"] as number]), int("keepdims", n.attrs["keepdim"] ? 1 : 0)], base),
  slice: (b, n, ins, outs, base) => void slice(b, ins[0]!, n.attrs["axis"] as number, n.attrs["start"] as number, n.attrs["end"] as number, base, outs),
  gated_sum: gatedSum,
  reparameterize: (b, _n, ins, outs, base) => void b.emit("Identity", [ins[0]!], outs, [], base),
};
