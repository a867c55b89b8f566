// The backend's op -> kernel table of inference ops (tinygrad style: a backend is a small table from op to code).
// Neighbours: emit.ts looks kernels up here; kernels/index.ts adds the training ops (train.ts, tests); each kernel
// family lives in its own file. The training kernels are not imported here: an inference compile does not load them.

import type { Kernel } from "./context.js";
import { denseKernel } from "./dense.js";
import { conv2dKernel } from "./conv.js";
import { avgpoolKernel, globalAvgpoolKernel, maxpoolKernel } from "./pool.js";
import { concatKernel, reshapeKernel } from "./shape.js";
import { addKernel, mulKernel } from "./binary.js";
import { batchnormKernel, layernormKernel } from "./norm.js";
import { geluKernel, leakyReluKernel, reluKernel, sigmoidKernel, tanhKernel } from "./unary.js";
import { softmaxKernel } from "./softmax.js";
import { embeddingKernel, positionalEncodingKernel } from "./embedding.js";
import { multiheadAttentionKernel, paddingMaskKernel } from "./attention.js";
import { gatedSumKernel, meanKernel, transposeKernel } from "./fusion.js";
import { randomNormalKernel } from "./cvae.js";
import { fusedElementwiseKernel } from "./fused.js";

/** Inference kernels by op name. Ops missing here make emitWasm throw "wasm backend: no kernel for op X". */
export const INFER_KERNELS: Record<string, Kernel> = {
  dense: denseKernel,
  conv2d: conv2dKernel,
  maxpool2d: maxpoolKernel,
  avgpool2d: avgpoolKernel,
  global_avgpool2d: globalAvgpoolKernel,
  flatten: reshapeKernel,
  reshape: reshapeKernel,
  concat: concatKernel,
  add: addKernel,
  mul: mulKernel,
  batchnorm: batchnormKernel,
  layernorm: layernormKernel,
  relu: reluKernel,
  leaky_relu: leakyReluKernel,
  sigmoid: sigmoidKernel,
  tanh: tanhKernel,
  gelu: geluKernel,
  softmax: softmaxKernel,
  multihead_attention: multiheadAttentionKernel,
  padding_mask: paddingMaskKernel,
  random_normal: randomNormalKernel,
  embedding: embeddingKernel,
  positional_encoding: positionalEncodingKernel,
  transpose: transposeKernel,
  mean: meanKernel,
  gated_sum: gatedSumKernel,
  // Backend-only: an elementwise region fused by passes/fuse-elementwise.ts.
  fused_elementwise: fusedElementwiseKernel,
};
