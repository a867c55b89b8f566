// The training kernels' part of the op -> kernel table (IR-only ops: gradients, losses, optimizer
// updates) and their scratch needs. Neighbours: kernels/index.ts joins TRAIN_KERNELS and INFER_KERNELS into KERNELS;
// the training-module emitter sizes the scratch region with trainScratchBytes (like plan.ts for conv2d).

import type { Graph, Node } from "../../../ir/types.js";
import type { Kernel } from "./context.js";
import {
  channelSumKernel,
  geluGradKernel,
  leakyReluGradKernel,
  reduceSumToKernel,
  reluGradKernel,
  sigmoidGradKernel,
  sliceKernel,
  softmaxGradKernel,
  tanhGradKernel,
} from "./grad-elementwise.js";
import {
  bceGradKernel,
  bceKernel,
  crossEntropyGradKernel,
  crossEntropyKernel,
  gaussianKlGradKernel,
  gaussianKlKernel,
  klGradKernel,
  klKernel,
  mseGradKernel,
  mseKernel,
} from "./loss.js";
import { batchnormGradKernel, batchnormStatsKernel, batchnormTrainKernel, layernormGradKernel } from "./norm-train.js";
import { dropoutTrainKernel } from "./dropout-train.js";
import { reparameterizeGradKernel, reparameterizeTrainKernel } from "./cvae.js";
import { embeddingGradKernel, positionalEncodingGradKernel } from "./embedding.js";
import { conv2dGradInputKernel, conv2dGradWeightKernel, convGradScratchBytes, denseGradInputKernel, denseGradWeightKernel } from "./grad-linear.js";
import { avgpoolGradKernel, maxpoolGradKernel } from "./grad-pool.js";
import { attentionScratchElems } from "../plan.js";
import { multiheadAttentionGradKernel } from "./attention-train.js";
import { adamUpdateKernel, adamwUpdateKernel, globalNormKernel, momentumKernel, scaleKernel, sgdKernel } from "./optim.js";

/** Kernels of the IR-only training ops by op name (see ir/ops/index.ts IR_OPS). */
export const TRAIN_KERNELS: Record<string, Kernel> = {
  relu_grad: reluGradKernel,
  leaky_relu_grad: leakyReluGradKernel,
  sigmoid_grad: sigmoidGradKernel,
  tanh_grad: tanhGradKernel,
  gelu_grad: geluGradKernel,
  softmax_grad: softmaxGradKernel,
  reduce_sum_to: reduceSumToKernel,
  channel_sum: channelSumKernel,
  slice: sliceKernel,
  dense_grad_input: denseGradInputKernel,
  dense_grad_weight: denseGradWeightKernel,
  conv2d_grad_input: conv2dGradInputKernel,
  conv2d_grad_weight: conv2dGradWeightKernel,
  maxpool2d_grad: maxpoolGradKernel,
  avgpool2d_grad: avgpoolGradKernel,
  batchnorm_train: batchnormTrainKernel,
  batchnorm_grad: batchnormGradKernel,
  batchnorm_stats_update: batchnormStatsKernel,
  layernorm_grad: layernormGradKernel,
  multihead_attention_grad: multiheadAttentionGradKernel,
  embedding_grad: embeddingGradKernel,
  positional_encoding_grad: positionalEncodingGradKernel,
  dropout_train: dropoutTrainKernel,
  mse: mseKernel,
  mse_grad: mseGradKernel,
  cross_entropy: crossEntropyKernel,
  cross_entropy_grad: crossEntropyGradKernel,
  binary_cross_entropy: bceKernel,
  binary_cross_entropy_grad: bceGradKernel,
  kl_divergence: klKernel,
  kl_divergence_grad: klGradKernel,
  gaussian_kl: gaussianKlKernel,
  gaussian_kl_grad: gaussianKlGradKernel,
  reparameterize_train: reparameterizeTrainKernel,
  reparameterize_grad: reparameterizeGradKernel,
  sgd_update: sgdKernel,
  momentum_update: momentumKernel,
  adam_update: adamUpdateKernel,
  adamw_update: adamwUpdateKernel,
  global_norm: globalNormKernel,
  scale: scaleKernel,
};

/**
 * Batch-independent scratch bytes node `n` needs at ctx.scratch() (16-aligned; 0 for most ops). The
 * training-module emitter must reserve the maximum over its nodes (it may share the region with
 * plan.ts's conv2d im2col scratch: nodes run one at a time).
 */
export function trainScratchBytes(g: Graph, n: Node): number {
  return Math.max(convGradScratchBytes(g, n), attentionScratchElems(g, n) * 4);
}

/**
 * Ops whose kernels may write an output over an input's buffer (same byte size): every element (or
 * every channel / row) is read before the outputs covering it are written. The training emitter may
 * alias `new:<name>` outputs of the update ops onto the param/state buffers, and reuse a dead
 * input's buffer for these outputs. Kernels not listed (reduce_sum_to, channel_sum, slice,
 * dense/conv/pool grads, losses) need distinct output buffers.
 */
export const IN_PLACE_SAFE: ReadonlySet<string> = new Set([
  "relu_grad",
  "leaky_relu_grad",
  "sigmoid_grad",
  "tanh_grad",
  "gelu_grad",
  "softmax_grad",
  "batchnorm_train",
  "batchnorm_grad",
  "batchnorm_stats_update",
  "dropout_train",
  "cross_entropy_grad",
  "mse_grad",
  "binary_cross_entropy_grad",
  "kl_divergence_grad",
  "reparameterize_grad",
  "sgd_update",
  "momentum_update",
  "adam_update",
  "adamw_update",
  "scale",
]);
