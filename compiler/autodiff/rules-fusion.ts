// Gradient rules of the token / fusion ops (ir/ops/fusion.ts), written with existing primitives only:
// transpose, mean, gated_sum. Neighbours: autodiff/rules.ts registers them; spec/autodiff.md lists them.

import type { GradRule } from "./rules.js";

function one(gys: (string | null)[]): string {
  const g = gys[0];
  if (!g) throw new Error("gradGraph: missing output gradient");
  return g;
}

/** transpose swaps two axes, so its backward is the same transpose of g. */
export const transposeRule: GradRule = ({ node, emit }, gys) => [emit.node1("transpose", [one(gys)], node.attrs)];

/**
 * mean over axis k of size K: dx = broadcast(g / K) along k. g is reshaped to the keepdim shape (size 1
 * at k) and multiplied by a constant [K, 1, ..., 1] of 1/K (NumPy broadcasting of `mul`).
 */
export const meanRule: GradRule = ({ node, emit }, gys) => {
  const x = emit.typeOf(node.inputs[0]!);
  const axis = node.attrs["axis"] as number;
  const K = x.shape[axis] as number;
  let g = one(gys);
  if (node.attrs["keepdim"] !== true) {
    const keep = x.shape.slice(1).map((d, i) => (i + 1 === axis ? 1 : (d as number)));
    g = emit.node1("reshape", [g], { shape: keep });
  }
  const after = x.shape.length - axis - 1;
  const c = emit.constant([K, ...new Array<number>(after).fill(1)], new Array<number>(K).fill(1 / K));
  return [emit.node1("mul", [g, c])];
};

/**
 * gated_sum(a, b, W, bias): with c = concat(a, b), z = dense(c), g = sigmoid(z), out = g a + (1 - g) b:
 * dz = g (1 - g) gy (a - b) (sigmoid_grad), dc = dense_grad_input(dz, W) split into [dca, dcb],
 * da = g gy + dca, db = (1 - g) gy + dcb, dW = dense_grad_weight(dz, c), dbias = channel_sum(dz).
 * The gate is recomputed from the inputs (the forward kernel is fused and keeps no intermediates).
 */
export const gatedSumRule: GradRule = ({ node, emit, needs }, gys) => {
  const gy = one(gys);
  const [a, b, w, bias] = node.inputs as [string, string, string, string];
  const at = emit.typeOf(a);
  const last = at.shape.length - 1;
  const D = at.shape[last] as number;
  const minus1 = (): string => emit.constant([1], [-1]);
  const c = emit.node1("concat", [a, b], { axis: last });
  const z = emit.node1("dense", [c, w, bias], { units: D, bias: true });
  const g = emit.node1("sigmoid", [z]);
  const diff = emit.node1("add", [a, emit.node1("mul", [b, minus1()])]);
  const dz = emit.node1("sigmoid_grad", [g, emit.node1("mul", [gy, diff])]);
  const gyg = emit.node1("mul", [gy, g]);
  const needC = needs[0] || needs[1];
  const dc = needC ? emit.node1("dense_grad_input", [dz, w]) : null;
  const da = needs[0] ? emit.node1("add", [gyg, emit.node1("slice", [dc!], { axis: last, start: 0, end: D })]) : null;
  const db = needs[1]
    ? emit.node1("add", [emit.node1("add", [gy, emit.node1("mul", [gyg, minus1()])]), emit.node1("slice", [dc!], { axis: last, start: D, end: 2 * D })])
    : null;
  return [
    da,
    db,
    needs[2] ? emit.node1("dense_grad_weight", [dz, c]) : null,
    needs[3] ? emit.node1("channel_sum", [dz], { axis: last }) : null,
  ];
};
