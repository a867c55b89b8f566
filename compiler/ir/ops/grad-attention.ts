// Backward of multihead_attention as one fused primitive (recomputes the forward): multihead_attention_grad.
// Neighbours: ops/attention.ts (forward, mhaForward), autodiff/rules.ts (emits it), kernels/attention-train.ts.

import type { OpDef } from "./def.js";
import { OpTypeError } from "./def.js";
import type { RefTensor, TensorType } from "../types.js";
import { showShape } from "../graph.js";
import { countAt } from "./common.js";
import { checkParams, mhaFlops, mhaForward, mhaGeom } from "./attention.js";

/** Split the grad node's inputs: g, then the forward node's inputs (2-3 activations + 4 params). */
function fwdInputs<T>(inputs: readonly T[]): T[] {
  return inputs.slice(1);
}

/**
 * multihead_attention_grad(g, query, key_value, key_padding_mask?, in_proj_weight, in_proj_bias,
 * out_proj.weight, out_proj.bias) {num_heads, causal} -> [dquery, dkey_value, din_proj_weight,
 * din_proj_bias, dout_proj.weight, dout_proj.bias]. Recomputes the forward (mhaForward), then with
 * dO = g Wo: per head and query row dP = dO_h V_h^T, dS = P (dP - sum(P dP)) / sqrt(d) (0 where masked
 * and on fully masked rows); dQ_h = dS K_h, dK_h = dS^T Q_h, dV_h = P^T dO_h; dquery = dQ Wq,
 * dkey_value = dK Wk + dV Wv, din_proj_weight = [dQ^T query; dK^T kv; dV^T kv], din_proj_bias = row sums
 * of [dQ | dK | dV], dout_proj.weight = g^T O, dout_proj.bias = sum g (summed over batch and rows).
 * When key_value is the query value autodiff adds dquery and dkey_value. (PyTorch autograd of
 * multi_head_attention_forward.)
 */
export const multihead_attention_grad: OpDef = {
  name: "multihead_attention_grad",
  doc: "Multi-head attention backward (fused, recomputes the forward)",
  semantics: "PyTorch autograd of nn.MultiheadAttention (batch_first, bias, no dropout)",
  internal: true,
  arity: 4,
  minArity: 3,
  args: [],
  infer: (inputs, attrs) => {
    const g = inputs[0]!;
    const f = fwdInputs(inputs);
    const nAct = f.length - 4;
    if (nAct < 2 || nAct > 3) throw new OpTypeError(`multihead_attention_grad: expected 7 or 8 inputs, got ${inputs.length}`);
    const geo = mhaGeom("multihead_attention_grad", f.slice(0, nAct), attrs);
    const q = f[0]!;
    if (g.shape.length !== q.shape.length || g.shape.some((d, i) => d !== q.shape[i]))
      throw new OpTypeError(`multihead_attention_grad: gradient ${showShape(g.shape)} and query ${showShape(q.shape)} differ`, undefined, 0);
    const ps = f.slice(nAct) as TensorType[];
    checkParams("multihead_attention_grad", ps, geo.E, nAct + 1);
    const out: TensorType[] = [
      { dtype: "f32", shape: [...q.shape] },
      { dtype: "f32", shape: [...f[1]!.shape] },
    ];
    for (const p of ps) out.push({ dtype: "f32", shape: [...p.shape] });
    return out;
  },
  reference: (inputs: RefTensor[], attrs) => {
    const G = inputs[0]!;
    const f = fwdInputs(inputs);
    const nAct = f.length - 4;
    const [xq, xkv] = f as [RefTensor, RefTensor];
    const [Win, , Wo] = f.slice(nAct) as [RefTensor, RefTensor, RefTensor, RefTensor];
    const [N, L, E] = xq.shape as [number, number, number];
    const S = xkv.shape[1]!;
    const H = attrs["num_heads"] as number;
    const d = E / H;
    const scale = 1 / Math.sqrt(d);
    const fw = mhaForward(f, attrs);
    const dbo = new Float64Array(E);
    const dWo = new Float64Array(E * E);
    const dO = new Float64Array(N * L * E);
    for (let r = 0; r < N * L; r++)
      for (let o = 0; o < E; o++) {
        const gv = G.data[r * E + o]!;
        dbo[o]! += gv;
        for (let k = 0; k < E; k++) {
          dWo[o * E + k]! += gv * fw.O[r * E + k]!;
          dO[r * E + k]! += gv * Wo.data[o * E + k]!;
        }
      }
    const dQ = new Float64Array(N * L * E);
    const dK = new Float64Array(N * S * E);
    const dV = new Float64Array(N * S * E);
    const dP = new Float64Array(S);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++) {
          const row = ((n * H + h) * L + i) * S;
          const qi = (n * L + i) * E + h * d;
          let t = 0;
          for (let j = 0; j < S; j++) {
            const vj = (n * S + j) * E + h * d;
            let s = 0;
            for (let c = 0; c < d; c++) s += dO[qi + c]! * fw.V[vj + c]!;
            dP[j] = s;
            t += fw.P[row + j]! * s;
          }
          for (let j = 0; j < S; j++) {
            const p = fw.P[row + j]!;
            const ds = p * (dP[j]! - t) * scale;
            const kj = (n * S + j) * E + h * d;
            for (let c = 0; c < d; c++) {
              dQ[qi + c]! += ds * fw.K[kj + c]!;
              dK[kj + c]! += ds * fw.Q[qi + c]!;
              dV[kj + c]! += p * dO[qi + c]!;
            }
          }
        }
    const dWin = new Float64Array(3 * E * E);
    const dbin = new Float64Array(3 * E);
    const dxq = new Float64Array(N * L * E);
    const dxkv = new Float64Array(N * S * E);
    const back = (dY: Float64Array, x: RefTensor, rows: number, off: number, dx: Float64Array): void => {
      for (let r = 0; r < rows; r++)
        for (let o = 0; o < E; o++) {
          const gv = dY[r * E + o]!;
          dbin[off + o]! += gv;
          for (let k = 0; k < E; k++) {
            dWin[(off + o) * E + k]! += gv * x.data[r * E + k]!;
            dx[r * E + k]! += gv * Win.data[(off + o) * E + k]!;
          }
        }
    };
    back(dQ, xq, N * L, 0, dxq);
    back(dK, xkv, N * S, E, dxkv);
    back(dV, xkv, N * S, 2 * E, dxkv);
    return [
      { shape: [...xq.shape], data: dxq },
      { shape: [...xkv.shape], data: dxkv },
      { shape: [3 * E, E], data: dWin },
      { shape: [3 * E], data: dbin },
      { shape: [E, E], data: dWo },
      { shape: [E], data: dbo },
    ];
  },
  cost: (inputs, outputs, attrs, batch) => {
    const f = fwdInputs(inputs);
    const g = mhaGeom("multihead_attention_grad", f.slice(0, f.length - 4), attrs);
    const bytes = 4 * [...inputs, ...outputs].reduce((s, t) => s + countAt(t, batch), 0);
    return { flops: 3 * mhaFlops(g, batch), bytes };
  },
};

/** Attention backward primitives. */
export const GRAD_ATTENTION_OPS: OpDef[] = [multihead_attention_grad];
