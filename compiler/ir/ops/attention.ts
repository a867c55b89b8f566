// Attention ops: multihead_attention (PyTorch nn.MultiheadAttention, batch_first, with bias) and
// padding_mask. Neighbours: ops/grad-attention.ts (backward, shares mhaForward), ops/def.ts, ops/index.ts.

import type { OpDef } from "./def.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import type { Attrs, RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, elementwiseCost, requireFloat, staticDim } from "./common.js";

/** Static geometry of one multihead_attention node: batch N, query length L, key length S, width E, heads H, head dim d. */
export interface MhaGeom {
  L: number;
  S: number;
  E: number;
  H: number;
  d: number;
  masked: boolean;
  causal: boolean;
}

/** Hint for PyTorch's (query, key, value) calling convention, here or in the frontend (too many tensor inputs). */
export const MHA_QKV_HINT =
  "modelc's multihead_attention takes (query, key_value, key_padding_mask): key and value are one tensor; pass multihead_attention(q, kv, num_heads=...)";

/**
 * Check the activation types of multihead_attention (query [N, L, E] f32, key_value [N, S, E] f32,
 * key_padding_mask? [N, S] i32/f32) and the divisibility of E by `num_heads`; returns the geometry.
 * `acts` = the activation inputs only. Errors: OpTypeError / OpDTypeError naming the input.
 */
export function mhaGeom(op: string, acts: readonly TensorType[], attrs: Attrs): MhaGeom {
  const [q, kv, mask] = acts as [TensorType, TensorType | undefined, TensorType | undefined];
  requireFloat(op, q);
  if (q.shape.length !== 3) throw new OpTypeError(`${op}: expected a query [N, L, E], got ${showShape(q.shape)}`, undefined, 0);
  const L = staticDim(op, q, 1);
  const E = staticDim(op, q, 2);
  if (!kv) throw new OpTypeError(`${op}: missing key_value input`);
  requireFloat(op, kv, 1);
  if (kv.shape.length !== 3 || kv.shape[2] !== E || kv.shape[0] !== q.shape[0])
    throw new OpTypeError(`${op}: key_value ${showShape(kv.shape)} does not match query ${showShape(q.shape)} (expected [N, S, ${E}])`, undefined, 1);
  const S = staticDim(op, kv, 1, 1);
  if (mask) {
    // PyTorch's (query, key, value): the value lands in the key_padding_mask slot.
    const likeQuery = mask.shape.length === q.shape.length && mask.shape.every((d, i) => d === q.shape[i]);
    if (mask.shape.length === 3 && (mask.dtype === "f32" || likeQuery))
      throw new OpTypeError(
        `${op}: the third input is the key_padding_mask [N, ${S}], got ${mask.dtype} ${showShape(mask.shape)}: a separate value, as in PyTorch's (query, key, value)?`,
        MHA_QKV_HINT,
        2,
      );
    if (mask.dtype !== "i32" && mask.dtype !== "f32")
      throw new OpDTypeError(`${op}: key_padding_mask must be i32 or f32, got ${mask.dtype}`, undefined, 2);
    if (mask.shape.length !== 2 || mask.shape[1] !== S || mask.shape[0] !== q.shape[0])
      throw new OpTypeError(`${op}: key_padding_mask ${showShape(mask.shape)} does not match key_value ${showShape(kv.shape)} (expected [N, ${S}])`, undefined, 2);
  }
  const H = attrs["num_heads"] as number;
  if (E % H !== 0) throw new OpArgError(`${op}: embedding size ${E} is not divisible by num_heads ${H}`, "num_heads", `use a num_heads dividing ${E}`);
  const causal = attrs["causal"] === true;
  if (causal && L !== S)
    throw new OpTypeError(`${op}: causal needs as many queries as keys, got L = ${L} and S = ${S}`, "causal masks key j > query i of one sequence", 1);
  return { L, S, E, H, d: E / H, masked: mask !== undefined, causal };
}

/** Shapes of the four parameters ([3E, E], [3E], [E, E], [E]) against E; errors name the offending one. */
export function checkParams(op: string, ps: readonly (TensorType | undefined)[], E: number, first: number): void {
  const want = [[3 * E, E], [3 * E], [E, E], [E]];
  const names = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"];
  want.forEach((w, k) => {
    const p = ps[k];
    if (!p || p.shape.length !== w.length || p.shape.some((d, i) => d !== w[i]))
      throw new OpTypeError(`${op}: ${names[k]} ${p ? showShape(p.shape) : "missing"} is not [${w.join(", ")}]`, undefined, first + k);
  });
}

/** Number of activation inputs of a multihead_attention node (2, or 3 with a key_padding_mask). */
export function mhaActs(inputs: readonly unknown[]): number {
  return inputs.length - 4;
}

/** Everything the forward computes, float64: projections, per-head probabilities and outputs. */
export interface MhaForward {
  /** Q [N, L, E], K and V [N, S, E] (after the in-projection, with bias). */
  Q: Float64Array;
  K: Float64Array;
  V: Float64Array;
  /** Softmax probabilities [N, H, L, S] (0 where masked; a fully masked row is all 0). */
  P: Float64Array;
  /** Concatenated head outputs before out_proj [N, L, E]. */
  O: Float64Array;
  /** Output [N, L, E]. */
  y: Float64Array;
  /** Head-averaged attention weights [N, L, S] (PyTorch need_weights=True, average_attn_weights=True). */
  weights: Float64Array;
}

/** True when key j is ignored for (sample n, query i). */
function isMasked(g: MhaGeom, mask: RefTensor | undefined, n: number, i: number, j: number): boolean {
  return (g.causal && j > i) || (mask !== undefined && mask.data[n * g.S + j]! !== 0);
}

/**
 * The float64 forward of PyTorch's multi_head_attention_forward (batch_first, bias, no dropout):
 * [Q | K | V] = [query Wq^T + bq | kv Wk^T + bk | kv Wv^T + bv]; per head h, P = softmax(Q_h K_h^T / sqrt(d))
 * over unmasked keys (max-subtracted; a row with every key masked is all 0 instead of PyTorch's NaN);
 * O_h = P V_h; y = O Wo^T + bo. Inputs as the node: [query, key_value, mask?, in_proj_weight,
 * in_proj_bias, out_proj.weight, out_proj.bias].
 */
export function mhaForward(inputs: readonly RefTensor[], attrs: Attrs): MhaForward {
  const nAct = mhaActs(inputs);
  const [q, kv] = inputs as [RefTensor, RefTensor];
  const mask = nAct === 3 ? inputs[2] : undefined;
  const [Win, bin, Wo, bo] = inputs.slice(nAct) as [RefTensor, RefTensor, RefTensor, RefTensor];
  const [N, L, E] = q.shape as [number, number, number];
  const S = kv.shape[1]!;
  const H = attrs["num_heads"] as number;
  const g: MhaGeom = { L, S, E, H, d: E / H, masked: mask !== undefined, causal: attrs["causal"] === true };
  const proj = (x: RefTensor, rows: number, off: number): Float64Array => {
    const out = new Float64Array(N * rows * E);
    for (let r = 0; r < N * rows; r++)
      for (let o = 0; o < E; o++) {
        let s = bin.data[off + o]!;
        for (let k = 0; k < E; k++) s += x.data[r * E + k]! * Win.data[(off + o) * E + k]!;
        out[r * E + o] = s;
      }
    return out;
  };
  const Q = proj(q, L, 0);
  const K = proj(kv, S, E);
  const V = proj(kv, S, 2 * E);
  const P = new Float64Array(N * H * L * S);
  const O = new Float64Array(N * L * E);
  const weights = new Float64Array(N * L * S);
  const scale = 1 / Math.sqrt(g.d);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) {
        const row = ((n * H + h) * L + i) * S;
        let m = -Infinity;
        for (let j = 0; j < S; j++) {
          if (isMasked(g, mask, n, i, j)) continue;
          let s = 0;
          for (let c = 0; c < g.d; c++) s += Q[(n * L + i) * E + h * g.d + c]! * K[(n * S + j) * E + h * g.d + c]!;
          P[row + j] = s * scale;
          m = Math.max(m, s * scale);
        }
        if (m === -Infinity) continue; // every key masked: weights stay 0, O row 0
        let z = 0;
        for (let j = 0; j < S; j++) {
          if (isMasked(g, mask, n, i, j)) continue;
          P[row + j] = Math.exp(P[row + j]! - m);
          z += P[row + j]!;
        }
        for (let j = 0; j < S; j++) {
          P[row + j]! /= z;
          weights[(n * L + i) * S + j]! += P[row + j]! / H;
          for (let c = 0; c < g.d; c++) O[(n * L + i) * E + h * g.d + c]! += P[row + j]! * V[(n * S + j) * E + h * g.d + c]!;
        }
      }
  const y = new Float64Array(N * L * E);
  for (let r = 0; r < N * L; r++)
    for (let o = 0; o < E; o++) {
      let s = bo.data[o]!;
      for (let k = 0; k < E; k++) s += O[r * E + k]! * Wo.data[o * E + k]!;
      y[r * E + o] = s;
    }
  return { Q, K, V, P, O, y, weights };
}

/** FLOPs of one multihead_attention forward at batch `N`. */
export function mhaFlops(g: MhaGeom, N: number): number {
  return N * (2 * g.L * g.E * g.E + 4 * g.S * g.E * g.E + 4 * g.L * g.S * g.E + 2 * g.L * g.E * g.E + 5 * g.H * g.L * g.S);
}

/**
 * multihead_attention(query, key_value?, key_padding_mask?, num_heads, causal=false): PyTorch
 * nn.MultiheadAttention(E, num_heads, bias=True, batch_first=True, dropout=0) returning the attention
 * output (see mhaForward). Inputs [query [N, L, E] f32, key_value [N, S, E] f32 (omitted = query: self
 * attention), key_padding_mask? [N, S] i32 or f32 (nonzero = ignore that key, PyTorch's bool True),
 * in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E]] -> [N, L, E] f32.
 * Attrs { num_heads, causal } (causal masks key j > query i, needs L == S). Params init like PyTorch's
 * _reset_parameters: in_proj_weight xavier_uniform U(±sqrt(6 / 4E)), biases 0, out_proj.weight
 * nn.Linear's U(±1/sqrt(E)). A fully masked row gets weights 0 (PyTorch: NaN), so its output is
 * out_proj.bias. Errors: num_heads < 1 or not dividing E (OpArgError "num_heads"), shapes (OpTypeError).
 */
export const multihead_attention: OpDef = {
  name: "multihead_attention",
  doc: "Multi-head scaled dot-product attention with in/out projections (self or cross, padding and causal masks)",
  semantics: "PyTorch torch.nn.MultiheadAttention(E, num_heads, batch_first=True), output only; fully masked rows give weights 0",
  arity: 3,
  minArity: 2,
  inputs: [
    { name: "query", doc: "[N, L, E] f32" },
    { name: "key_value", doc: "[N, S, E] f32 keys and values (self-attention when omitted)", ifMissing: "query" },
    { name: "key_padding_mask", doc: "[N, S] i32 or f32, nonzero = ignore that key", ifMissing: "drop" },
  ],
  args: [
    { name: "num_heads", kind: "int", doc: "number of heads (must divide E)" },
    { name: "causal", kind: "bool", default: false, doc: "mask key j > query i (needs L == S)" },
  ],
  normalize: (a, inputs) => {
    const H = a["num_heads"] as number;
    if (!Number.isInteger(H) || H < 1) throw new OpArgError(`multihead_attention: num_heads must be >= 1, got ${H}`, "num_heads");
    const attrs = { num_heads: H, causal: a["causal"] === true };
    mhaGeom("multihead_attention", inputs, attrs);
    return attrs;
  },
  params: (inputs, attrs) => {
    const { E } = mhaGeom("multihead_attention", inputs, attrs);
    const xav = Math.sqrt(6 / (4 * E));
    const lin = 1 / Math.sqrt(E);
    return [
      { suffix: "in_proj_weight", shape: [3 * E, E], kind: "param", init: { kind: "uniform", low: -xav, high: xav } },
      { suffix: "in_proj_bias", shape: [3 * E], kind: "param", init: { kind: "zeros" } },
      { suffix: "out_proj.weight", shape: [E, E], kind: "param", init: { kind: "uniform", low: -lin, high: lin } },
      { suffix: "out_proj.bias", shape: [E], kind: "param", init: { kind: "zeros" } },
    ];
  },
  infer: (inputs, attrs) => {
    const nAct = mhaActs(inputs);
    if (nAct < 2 || nAct > 3) throw new OpTypeError(`multihead_attention: expected 6 or 7 inputs (2-3 activations + 4 params), got ${inputs.length}`);
    const g = mhaGeom("multihead_attention", inputs.slice(0, nAct), attrs);
    checkParams("multihead_attention", inputs.slice(nAct), g.E, nAct);
    return [{ dtype: "f32", shape: [...inputs[0]!.shape] }];
  },
  reference: (inputs, attrs) => {
    const f = mhaForward(inputs, attrs);
    return [{ shape: [...inputs[0]!.shape], data: f.y }];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const nAct = mhaActs(inputs);
    const g = mhaGeom("multihead_attention", inputs.slice(0, nAct), attrs);
    const bytes = 4 * inputs.reduce((s, t) => s + countAt(t, batch), countAt(outputs[0]!, batch));
    return { flops: mhaFlops(g, batch), bytes };
  },
};

/**
 * padding_mask(ids, pad_id=0): i32 [N, S] -> i32 [N, S], 1 where ids == pad_id else 0 (the
 * key_padding_mask of multihead_attention for padded token ids; PyTorch `ids == pad_id`). Not
 * differentiable. Errors: ids not i32 (OpDTypeError), not rank 2 (OpTypeError), pad_id not an int (OpArgError).
 */
export const padding_mask: OpDef = {
  name: "padding_mask",
  doc: "1 where a token id equals pad_id, else 0 (a key_padding_mask)",
  semantics: "PyTorch (ids == pad_id).to(int32)",
  arity: 1,
  inputs: [{ name: "ids", doc: "[N, S] i32 token ids" }],
  args: [{ name: "pad_id", kind: "int", default: 0, doc: "the padding token id" }],
  normalize: (a) => {
    const p = a["pad_id"] as number;
    if (!Number.isInteger(p)) throw new OpArgError(`padding_mask: pad_id must be an integer, got ${p}`, "pad_id");
    return { pad_id: p };
  },
  infer: (inputs) => {
    const x = inputs[0]!;
    if (x.dtype !== "i32") throw new OpDTypeError(`padding_mask: expected i32 token ids, got ${x.dtype}`, "pass the token input (i32)", 0);
    if (x.shape.length !== 2) throw new OpTypeError(`padding_mask: expected ids [N, S], got ${showShape(x.shape)}`, undefined, 0);
    return [{ dtype: "i32", shape: [...x.shape] }];
  },
  reference: (inputs, attrs) => {
    const x = inputs[0]!;
    const p = attrs["pad_id"] as number;
    return [{ shape: [...x.shape], data: x.data.map((v) => (v === p ? 1 : 0)) }];
  },
  cost: (inputs, _o, _a, batch) => elementwiseCost(inputs[0]!, batch, 1),
};

/** Attention ops. */
export const ATTENTION_OPS: OpDef[] = [multihead_attention, padding_mask];
