// Backward of the token ops: embedding_grad (scatter-add of g into the table's rows) and
// positional_encoding_grad (learned table: g summed over the batch). Neighbours: ops/embedding.ts
// (forwards), autodiff/rules.ts (the rules that emit these), kernels/embedding.ts (wasm).

import type { OpDef } from "./def.js";
import { OpDTypeError, OpTypeError } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt, staticDim } from "./common.js";
import { checkEmbeddingId } from "./embedding.js";

/**
 * embedding_grad(g, ids) {num_embeddings V, embedding_dim D, padding_idx?}: the gradient of embedding's
 * weight. g f32 [N, ..., D], ids i32 [N, ...] -> dweight f32 [V, D], zero except
 * dweight[ids[k], :] += g[k, :] for every position k (ids repeated in a batch accumulate); the padding_idx
 * row stays zero (PyTorch embedding_dense_backward). Errors: an id outside [0, V) (Error, reference).
 */
export const embedding_grad: OpDef = {
  name: "embedding_grad",
  doc: "Embedding backward: scatter-add of g into the table rows",
  semantics: "PyTorch embedding_dense_backward (scale_grad_by_freq=False)",
  internal: true,
  arity: 2,
  args: [],
  infer: (inputs: TensorType[], attrs) => {
    const [g, ids] = inputs as [TensorType, TensorType];
    const V = attrs["num_embeddings"] as number;
    const D = attrs["embedding_dim"] as number;
    if (ids.dtype !== "i32") throw new OpDTypeError(`embedding_grad: ids must be i32, got ${ids.dtype}`, undefined, 1);
    const want = [...ids.shape, D];
    if (g.shape.length !== want.length || g.shape.some((d, i) => d !== want[i]))
      throw new OpTypeError(`embedding_grad: gradient ${showShape(g.shape)} does not match ids ${showShape(ids.shape)} x ${D}`, undefined, 0);
    return [{ dtype: "f32", shape: [V, D] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const [g, ids] = inputs as [RefTensor, RefTensor];
    const V = attrs["num_embeddings"] as number;
    const D = attrs["embedding_dim"] as number;
    const pad = attrs["padding_idx"] as number | undefined;
    const dw = new Float64Array(V * D);
    for (let r = 0; r < ids.data.length; r++) {
      const id = checkEmbeddingId("embedding_grad", ids.data[r]!, r, V);
      if (id === pad) continue;
      for (let j = 0; j < D; j++) dw[id * D + j]! += g.data[r * D + j]!;
    }
    return [{ shape: [V, D], data: dw }];
  },
  cost: (inputs, outputs, _a, batch) => ({
    flops: countAt(inputs[0]!, batch),
    bytes: 4 * (2 * countAt(inputs[0]!, batch) + countAt(inputs[1]!, batch) + countAt(outputs[0]!, batch)),
  }),
};

/**
 * positional_encoding_grad(g) {max_len}: the gradient of a learned positional table. g f32 [N, L, D] ->
 * dweight f32 [max_len, D] with rows [0, L) = sum over the batch of g and rows [L, max_len) zero.
 */
export const positional_encoding_grad: OpDef = {
  name: "positional_encoding_grad",
  doc: "Learned positional encoding backward: g summed over the batch into rows [0, L)",
  semantics: "autograd of x + weight[:L]",
  internal: true,
  arity: 1,
  args: [],
  infer: (inputs: TensorType[], attrs) => {
    const g = inputs[0]!;
    if (g.shape.length !== 3) throw new OpTypeError(`positional_encoding_grad: expected a gradient [N, L, D], got ${showShape(g.shape)}`);
    const D = staticDim("positional_encoding_grad", g, 2);
    return [{ dtype: "f32", shape: [attrs["max_len"] as number, D] }];
  },
  reference: (inputs: RefTensor[], attrs) => {
    const g = inputs[0]!;
    const [, L, D] = g.shape as [number, number, number];
    const dw = new Float64Array((attrs["max_len"] as number) * D);
    for (let k = 0; k < g.data.length; k++) dw[k % (L * D)]! += g.data[k]!;
    return [{ shape: [attrs["max_len"] as number, D], data: dw }];
  },
  cost: (inputs, outputs, _a, batch) => ({ flops: countAt(inputs[0]!, batch), bytes: 4 * (countAt(inputs[0]!, batch) + countAt(outputs[0]!, batch)) }),
};

/** Gradient ops of the token ops. */
export const GRAD_EMBEDDING_OPS: OpDef[] = [embedding_grad, positional_encoding_grad];
