// Token ops: embedding (PyTorch nn.Embedding, i32 ids -> f32 rows) and positional_encoding (sinusoidal or
// learned, added to [N, L, D]). Neighbours: ops/grad-embedding.ts (their backward), kernels/embedding.ts.

import type { OpDef } from "./def.js";
import { OpArgError, OpDTypeError, OpTypeError } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, requireFloat, requireRank, staticDim } from "./common.js";

/**
 * Check an embedding id against a table of V rows (reference interpreter and gradients).
 * Errors: Error naming the id, its flat position and the table size.
 */
export function checkEmbeddingId(op: string, id: number, at: number, V: number): number {
  if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`${op}: id ${id} at flat index ${at} is outside [0, ${V})`);
  return id;
}

/**
 * embedding(num_embeddings, embedding_dim, padding_idx=none). Inputs [ids i32 [N, ...], weight f32 [V, D]]
 * -> f32 [N, ..., D]: out[..., :] = weight[ids[...], :]. Attrs { num_embeddings: V, embedding_dim: D,
 * padding_idx? } (padding_idx normalized to [0, V), a negative one counts from the end as in PyTorch;
 * absent = none). Param "weight" [V, D], init N(0, 1) with the padding_idx row zeroed (PyTorch
 * nn.Embedding). The forward reads the padding row like any other (it stays zero only because it gets no
 * gradient). Errors: V or D < 1, padding_idx outside [-V, V) (OpArgError); ids not i32 (OpDTypeError).
 * Out-of-range ids: Error in the reference, a trap in wasm, a named run-time error in the runtime.
 */
export const embedding: OpDef = {
  name: "embedding",
  doc: "Lookup table: i32 ids [N, ...] -> rows of weight [V, D], giving [N, ..., D]",
  semantics: "PyTorch torch.nn.Embedding (max_norm=None)",
  arity: 1,
  args: [
    { name: "num_embeddings", kind: "int", doc: "rows V of the table; ids must lie in [0, V)" },
    { name: "embedding_dim", kind: "int", doc: "size D of each row" },
    { name: "padding_idx", kind: "int", optional: true, doc: "row zeroed at init that receives no gradient; default none" },
  ],
  normalize: (a) => {
    const V = a["num_embeddings"] as number;
    const D = a["embedding_dim"] as number;
    if (!Number.isInteger(V) || V < 1) throw new OpArgError(`embedding: num_embeddings must be >= 1, got ${V}`, "num_embeddings");
    if (!Number.isInteger(D) || D < 1) throw new OpArgError(`embedding: embedding_dim must be >= 1, got ${D}`, "embedding_dim");
    const out: Record<string, number> = { num_embeddings: V, embedding_dim: D };
    const p = a["padding_idx"];
    if (p !== undefined) {
      const pi = p as number;
      if (!Number.isInteger(pi) || pi < -V || pi >= V)
        throw new OpArgError(`embedding: padding_idx must be within [-${V}, ${V}) (num_embeddings), got ${pi}`, "padding_idx");
      out["padding_idx"] = pi < 0 ? pi + V : pi;
    }
    return out;
  },
  params: (_inputs, attrs) => {
    const V = attrs["num_embeddings"] as number;
    const D = attrs["embedding_dim"] as number;
    const p = attrs["padding_idx"] as number | undefined;
    return [{ suffix: "weight", shape: [V, D], kind: "param", init: { kind: "normal", mean: 0, std: 1, ...(p !== undefined ? { zeroRow: p } : {}) } }];
  },
  infer: (inputs: TensorType[], attrs) => {
    const [ids, w] = inputs as [TensorType, TensorType | undefined];
    if (ids.dtype !== "i32")
      throw new OpDTypeError(`embedding: expected i32 ids, got ${ids.dtype}${showShape(ids.shape)}`, "declare the input as i32, e.g. `input tokens: i32[12]`", 0);
    const V = attrs["num_embeddings"] as number;
    const D = attrs["embedding_dim"] as number;
    if (!w || w.shape.length !== 2 || w.shape[0] !== V || w.shape[1] !== D)
      throw new OpTypeError(`embedding: weight ${w ? showShape(w.shape) : "missing"} is not [${V}, ${D}]`, undefined, 1);
    return [{ dtype: "f32", shape: [...ids.shape, D] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [ids, w] = inputs as [RefTensor, RefTensor];
    const V = attrs["num_embeddings"] as number;
    const D = attrs["embedding_dim"] as number;
    const out = new Float64Array(ids.data.length * D);
    for (let r = 0; r < ids.data.length; r++) {
      const id = checkEmbeddingId("embedding", ids.data[r]!, r, V);
      out.set(w.data.subarray(id * D, id * D + D), r * D);
    }
    return [{ shape: [...ids.shape, D], data: out }];
  },
  cost: (inputs, outputs, _attrs, batch) => ({ flops: 0, bytes: 4 * (countAt(inputs[0]!, batch) + 2 * countAt(outputs[0]!, batch)) }),
};

/**
 * The sinusoidal table P [L, D] of Vaswani et al. 2017 as in the PyTorch tutorial
 * (div_term = exp(arange(0, D, 2) * -ln(10000) / D); P[:, 0::2] = sin(pos div), P[:, 1::2] = cos(pos div)),
 * in float64. An odd D has no cosine column for the last pair.
 */
export function sinusoidalTable(L: number, D: number): Float64Array {
  const out = new Float64Array(L * D);
  for (let i = 0; 2 * i < D; i++) {
    const div = Math.exp(2 * i * (-Math.log(10000) / D));
    for (let pos = 0; pos < L; pos++) {
      out[pos * D + 2 * i] = Math.sin(pos * div);
      if (2 * i + 1 < D) out[pos * D + 2 * i + 1] = Math.cos(pos * div);
    }
  }
  return out;
}

/** L and D of positional_encoding's input [N, L, D] (rank 3, static). */
function peDims(inputs: readonly TensorType[]): { L: number; D: number } {
  const x = inputs[0]!;
  requireRank("positional_encoding", x, 3, "[N, L, D]");
  return { L: staticDim("positional_encoding", x, 1), D: staticDim("positional_encoding", x, 2) };
}

/**
 * positional_encoding(kind="sinusoidal", max_len=L). Input x f32 [N, L, D] -> x + P[:L] (broadcast over N).
 * kind "sinusoidal": P = sinusoidalTable (a compile-time constant, no params); "learned": param "weight"
 * [max_len, D] init N(0, 0.02), P = weight. Attrs { kind, max_len }. Errors: L > max_len or max_len < 1
 * (OpArgError); rank != 3 or a non-f32 input (OpTypeError / OpDTypeError).
 */
export const positional_encoding: OpDef = {
  name: "positional_encoding",
  doc: "Adds position encodings P[:L] to x [N, L, D]",
  semantics: "Vaswani et al. 2017 §3.5 (PyTorch transformer tutorial PositionalEncoding, no dropout); learned: a [max_len, D] table",
  arity: 1,
  args: [
    { name: "kind", kind: "string", default: "sinusoidal", choices: ["sinusoidal", "learned"], doc: "fixed sin/cos table or a learned table" },
    { name: "max_len", kind: "int", optional: true, doc: "longest sequence (rows of the table); default the input's L" },
  ],
  normalize: (a, inputs) => {
    const { L } = peDims(inputs);
    const maxLen = (a["max_len"] as number | undefined) ?? L;
    if (!Number.isInteger(maxLen) || maxLen < 1) throw new OpArgError(`positional_encoding: max_len must be >= 1, got ${maxLen}`, "max_len");
    if (L > maxLen)
      throw new OpArgError(`positional_encoding: sequence length ${L} of ${showShape(inputs[0]!.shape)} exceeds max_len ${maxLen}`, "max_len", `use max_len >= ${L}`);
    return { kind: a["kind"] as string, max_len: maxLen };
  },
  params: (inputs, attrs) => {
    if (attrs["kind"] !== "learned") return [];
    const { D } = peDims(inputs);
    return [{ suffix: "weight", shape: [attrs["max_len"] as number, D], kind: "param", init: { kind: "normal", mean: 0, std: 0.02 } }];
  },
  infer: (inputs: TensorType[], attrs) => {
    const x = inputs[0]!;
    requireFloat("positional_encoding", x);
    const { L, D } = peDims(inputs);
    const maxLen = attrs["max_len"] as number;
    if (L > maxLen) throw new OpTypeError(`positional_encoding: sequence length ${L} exceeds max_len ${maxLen}`);
    const w = inputs[1];
    if (attrs["kind"] === "learned") {
      if (!w || w.shape.length !== 2 || w.shape[0] !== maxLen || w.shape[1] !== D)
        throw new OpTypeError(`positional_encoding: weight ${w ? showShape(w.shape) : "missing"} is not [${maxLen}, ${D}]`, undefined, 1);
    } else if (w) throw new OpTypeError("positional_encoding: a sinusoidal encoding takes no weight", undefined, 1);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [x, w] = inputs as [RefTensor, RefTensor | undefined];
    const [, L, D] = x.shape as [number, number, number];
    const P = attrs["kind"] === "learned" ? w!.data : sinusoidalTable(L, D);
    const out = new Float64Array(x.data.length);
    for (let k = 0; k < x.data.length; k++) out[k] = x.data[k]! + P[k % (L * D)]!;
    return [{ shape: [...x.shape], data: out }];
  },
  cost: (inputs, _o, _a, batch) => ({ flops: countAt(inputs[0]!, batch), bytes: 4 * 3 * countAt(inputs[0]!, batch) }),
};

/** Token ops. */
export const EMBEDDING_OPS: OpDef[] = [embedding, positional_encoding];
