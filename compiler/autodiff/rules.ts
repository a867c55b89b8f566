// Gradient rules as data: op name -> (node, output gradients) -> input gradients, each built from
// primitive ops (ir/ops/grad-*.ts, loss.ts) so the backend never sees a composite "gradient node".
// Neighbours: autodiff/grad.ts walks the graph and calls these; autodiff/emit.ts emits; spec/autodiff.md lists them.

import type { Attrs, Dim, Node, TensorType } from "../ir/types.js";
import type { GraphEmitter } from "./emit.js";
import { gatedSumRule, meanRule, transposeRule } from "./rules-fusion.js";

/** What a rule sees: the forward node, the emitter, and which inputs need a gradient at all. */
export interface GradContext {
  node: Node;
  emit: GraphEmitter;
  /** needs[i]: input i is on a path from a differentiated value to the loss (else return null for it). */
  needs: boolean[];
}

/**
 * A gradient rule: given the gradients of the node's outputs (value ids; null for an output that does
 * not reach the loss), return one gradient value id per node input, null for inputs that are not
 * differentiable (targets, rng, running statistics) or not needed. Each returned gradient has exactly
 * the type of its input (checked by grad.ts).
 */
export type GradRule = (ctx: GradContext, gys: (string | null)[]) => (string | null)[];

/** Encode a shape for reduce_sum_to's `shape` attr ("N" -> -1). */
function shapeAttr(shape: readonly Dim[]): number[] {
  return shape.map((d) => (d === "N" ? -1 : d));
}

function sameShape(a: TensorType, b: TensorType): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/** g summed down to the type of `like` (the broadcasting inverse), or g itself when shapes agree. */
function sumTo(e: GraphEmitter, g: string, like: string): string {
  const t = e.typeOf(like);
  return sameShape(e.typeOf(g), t) ? g : e.node1("reduce_sum_to", [g], { shape: shapeAttr(t.shape) });
}

/** The one output gradient of a single-output op (rules are only called when some output has one). */
function one(gys: (string | null)[]): string {
  const g = gys[0];
  if (!g) throw new Error("gradGraph: missing output gradient");
  return g;
}

/** Rule for (input, g) -> elementwise grad op fed with the forward input (`use: "x"`) or output (`"y"`). */
function unary(op: string, use: "x" | "y", attrKeys: string[] = []): GradRule {
  return ({ node, emit }, gys) => {
    const attrs: Attrs = {};
    for (const k of attrKeys) attrs[k] = node.attrs[k]!;
    return [emit.node1(op, [use === "x" ? node.inputs[0]! : node.outputs[0]!, one(gys)], attrs)];
  };
}

/** The rule of a loss op: gradient to its first input via `${op}_grad`; the target gets none. */
function loss(op: string): GradRule {
  return ({ node, emit }, gys) => [emit.node1(`${op}_grad`, [node.inputs[0]!, node.inputs[1]!, one(gys)], node.attrs), null];
}

/** Per-sample shape of x (for reshape back), whose axis 0 is the batch dim. */
function perSample(t: TensorType): number[] {
  return t.shape.slice(1) as number[];
}

const CONV_KEYS = ["kernel", "stride", "padding", "dilation", "groups"];

/**
 * The rule table. Ops without an entry are not differentiable (gradGraph reports them if they lie on a
 * path to the loss). See spec/autodiff.md for the formulas.
 */
export const GRAD_RULES: Record<string, GradRule> = {
  relu: unary("relu_grad", "x"),
  leaky_relu: unary("leaky_relu_grad", "x", ["alpha"]),
  sigmoid: unary("sigmoid_grad", "y"),
  tanh: unary("tanh_grad", "y"),
  gelu: unary("gelu_grad", "x", ["approximate"]),
  softmax: unary("softmax_grad", "y", ["axis"]),

  add: ({ node, emit, needs }, gys) => {
    const g = one(gys);
    return node.inputs.map((x, i) => (needs[i] ? sumTo(emit, g, x) : null));
  },
  mul: ({ node, emit, needs }, gys) => {
    const g = one(gys);
    const [a, b] = node.inputs as [string, string];
    return [
      needs[0] ? sumTo(emit, emit.node1("mul", [g, b]), a) : null,
      needs[1] ? sumTo(emit, emit.node1("mul", [g, a]), b) : null,
    ];
  },

  dense: ({ node, emit, needs }, gys) => {
    const g = one(gys);
    const [x, w] = node.inputs as [string, string];
    const out: (string | null)[] = [
      needs[0] ? emit.node1("dense_grad_input", [g, w]) : null,
      needs[1] ? emit.node1("dense_grad_weight", [g, x]) : null,
    ];
    if (node.inputs.length > 2) out.push(needs[2] ? emit.node1("channel_sum", [g], { axis: emit.typeOf(g).shape.length - 1 }) : null);
    return out;
  },
  conv2d: ({ node, emit, needs }, gys) => {
    const g = one(gys);
    const [x, w] = node.inputs as [string, string];
    const geo: Attrs = {};
    for (const k of CONV_KEYS) geo[k] = node.attrs[k]!;
    const xt = emit.typeOf(x);
    const out: (string | null)[] = [
      needs[0]
        ? emit.node1("conv2d_grad_input", [g, w], { ...geo, in_channels: xt.shape[1] as number, input_size: [xt.shape[2] as number, xt.shape[3] as number] })
        : null,
      needs[1] ? emit.node1("conv2d_grad_weight", [g, x], geo) : null,
    ];
    if (node.inputs.length > 2) out.push(needs[2] ? emit.node1("channel_sum", [g], { axis: 1 }) : null);
    return out;
  },

  maxpool2d: ({ node, emit }, gys) => [emit.node1("maxpool2d_grad", [node.inputs[0]!, one(gys)], node.attrs)],
  avgpool2d: ({ node, emit }, gys) => {
    const xt = emit.typeOf(node.inputs[0]!);
    return [emit.node1("avgpool2d_grad", [one(gys)], { ...node.attrs, input_size: [xt.shape[2] as number, xt.shape[3] as number] })];
  },
  global_avgpool2d: ({ node, emit }, gys) => {
    const xt = emit.typeOf(node.inputs[0]!);
    const hw = [xt.shape[2] as number, xt.shape[3] as number];
    const attrs = { kernel: hw, stride: hw, padding: [0, 0, 0, 0], ceil_mode: false, count_include_pad: true, input_size: hw };
    return [emit.node1("avgpool2d_grad", [one(gys)], attrs)];
  },

  flatten: ({ node, emit }, gys) => [emit.node1("reshape", [one(gys)], { shape: perSample(emit.typeOf(node.inputs[0]!)) })],
  reshape: ({ node, emit }, gys) => [emit.node1("reshape", [one(gys)], { shape: perSample(emit.typeOf(node.inputs[0]!)) })],
  concat: ({ node, emit, needs }, gys) => {
    const g = one(gys);
    const axis = node.attrs["axis"] as number;
    let start = 0;
    return node.inputs.map((x, i) => {
      const end = start + (emit.typeOf(x).shape[axis] as number);
      const r = needs[i] ? emit.node1("slice", [g], { axis, start, end }) : null;
      start = end;
      return r;
    });
  },

  batchnorm_train: ({ node, emit }, gys) => {
    if (gys.slice(1).some((g) => g !== null))
      throw new Error("gradGraph: gradients through batchnorm_train's batch statistics are not supported");
    const [x, w] = node.inputs as [string, string];
    const [, mean, v] = node.outputs as [string, string, string];
    const [dx, dw, db] = emit.node("batchnorm_grad", [one(gys), x, w, mean, v], { eps: node.attrs["eps"]! });
    return [dx!, dw!, db!];
  },
  // Inference form (a frozen layer, running statistics): y = (x - rm) / sqrt(rv + eps) · w + b is per-channel
  // affine, so dx = dy / sqrt(rv + eps) · w = batchnorm(dy, w, 0, 0, rv). Frozen w/b get no gradient.
  batchnorm: ({ node, emit, needs }, gys) => {
    if (needs[1] || needs[2]) throw new Error(`gradGraph: batchnorm${node.layer ? ` '${node.layer}'` : ""} in inference form has trainable weight or bias`);
    if (!needs[0]) return [null, null, null, null, null];
    const [, w, , , rv] = node.inputs as [string, string, string, string, string];
    const c = emit.typeOf(w).shape[0] as number;
    const zeros = (): string => emit.constant([c], new Array<number>(c).fill(0));
    return [emit.node1("batchnorm", [one(gys), w, zeros(), zeros(), rv], node.attrs), null, null, null, null];
  },
  layernorm: ({ node, emit }, gys) => {
    const [x, w] = node.inputs as [string, string];
    const [dx, dw, db] = emit.node("layernorm_grad", [one(gys), x, w], { eps: node.attrs["eps"]! });
    return [dx!, dw!, db!];
  },
  // ids (i32) get no gradient; the table gets a scatter-add (padding_idx row excluded).
  embedding: ({ node, emit, needs }, gys) => [null, needs[1] ? emit.node1("embedding_grad", [one(gys), node.inputs[0]!], node.attrs) : null],
  positional_encoding: ({ node, emit, needs }, gys) => [
    needs[0] ? one(gys) : null,
    ...(node.inputs.length > 1 ? [needs[1] ? emit.node1("positional_encoding_grad", [one(gys)], { max_len: node.attrs["max_len"]! }) : null] : []),
  ],
  // One fused backward (recomputes the forward); the mask gets none. key_value = query: grad.ts adds both.
  multihead_attention: ({ node, emit }, gys) => {
    const outs = emit.node("multihead_attention_grad", [one(gys), ...node.inputs], node.attrs);
    const nAct = node.inputs.length - 4;
    return [outs[0]!, outs[1]!, ...(nAct === 3 ? [null] : []), ...outs.slice(2)];
  },
  transpose: transposeRule,
  mean: meanRule,
  gated_sum: gatedSumRule,
  dropout_train: ({ node, emit }, gys) => [emit.node1("dropout_train", [one(gys), node.inputs[1]!], node.attrs), null],
  // Inference-form dropout is the identity (only seen when the train rewrite is skipped).
  dropout: (_ctx, gys) => [one(gys)],

  mse: loss("mse"),
  cross_entropy: loss("cross_entropy"),
  binary_cross_entropy: loss("binary_cross_entropy"),
  kl_divergence: loss("kl_divergence"),
  gaussian_kl: ({ node, emit }, gys) => {
    const [dmu, dlv] = emit.node("gaussian_kl_grad", [node.inputs[0]!, node.inputs[1]!, one(gys)], node.attrs);
    return [dmu!, dlv!];
  },
  // z = mu + exp(0.5 logvar) eps: dmu = g, dlogvar = 0.5 g exp(0.5 logvar) eps (eps = output 1); rng none.
  reparameterize_train: ({ node, emit, needs }, gys) => [
    needs[0] ? one(gys) : null,
    needs[1] ? emit.node1("reparameterize_grad", [one(gys), node.inputs[1]!, node.outputs[1]!]) : null,
    null,
  ],
  // Inference form z = mu (only seen when the train rewrite is skipped).
  reparameterize: ({ needs }, gys) => [needs[0] ? one(gys) : null, null],
  random_normal: () => [null],
  scale: ({ node, emit, needs }, gys) => [needs[0] ? emit.node1("scale", [one(gys), node.inputs[1]!]) : null, null],
};
