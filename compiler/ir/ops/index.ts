// The op table: every op defined once (ops/*.ts, one file per family), collected here by name.
// Neighbours: ops/def.ts (entry shape); read by lowering, interpreter, backend, spec and tests.

import type { OpDef } from "./def.js";
import { ACTIVATION_OPS } from "./activation.js";
import { ELEMENTWISE_OPS } from "./elementwise.js";
import { dense } from "./dense.js";
import { conv2d } from "./conv.js";
import { POOL_OPS } from "./pool.js";
import { SHAPE_OPS } from "./shape.js";
import { NORM_OPS } from "./norm.js";
import { softmax } from "./softmax.js";
import { dropout } from "./dropout.js";
import { GRAD_ELEMENTWISE_OPS } from "./grad-elementwise.js";
import { GRAD_LINEAR_OPS } from "./grad-linear.js";
import { GRAD_POOL_OPS } from "./grad-pool.js";
import { GRAD_NORM_OPS } from "./grad-norm.js";
import { LOSS_OPS } from "./loss.js";
import { OPTIM_OPS } from "./optim.js";
import { EMBEDDING_OPS } from "./embedding.js";
import { GRAD_EMBEDDING_OPS } from "./grad-embedding.js";
import { CVAE_OPS, CVAE_TRAIN_OPS } from "./cvae.js";
import { ATTENTION_OPS } from "./attention.js";
import { GRAD_ATTENTION_OPS } from "./grad-attention.js";
import { FUSION_OPS } from "./fusion.js";

/**
 * All ops by name: relu, sigmoid, tanh, leaky_relu, gelu (activation.ts); add, mul (elementwise.ts);
 * dense (dense.ts); conv2d (conv.ts); maxpool2d, avgpool2d, global_avgpool2d (pool.ts);
 * flatten, reshape, concat (shape.ts); batchnorm (norm.ts); softmax (softmax.ts); dropout (dropout.ts);
 * embedding, positional_encoding (embedding.ts); multihead_attention, padding_mask (attention.ts);
 * transpose, mean, gated_sum (fusion.ts).
 */
export const OPS: Record<string, OpDef> = Object.fromEntries(
  [...ACTIVATION_OPS, ...ELEMENTWISE_OPS, dense, conv2d, ...POOL_OPS, ...SHAPE_OPS, ...NORM_OPS, softmax, dropout, ...CVAE_OPS, ...EMBEDDING_OPS, ...ATTENTION_OPS, ...FUSION_OPS].map((d) => [d.name, d]),
);

/**
 * IR-only ops (`internal: true`, not callable from `.model`): gradient primitives (grad-*.ts), losses
 * (loss.ts) and optimizer updates (optim.ts), made by compiler/autodiff. Kept out of OPS so the
 * language's op set stays the v1 table.
 */
export const IR_OPS: Record<string, OpDef> = Object.fromEntries(
  [...GRAD_ELEMENTWISE_OPS, ...GRAD_LINEAR_OPS, ...GRAD_POOL_OPS, ...GRAD_NORM_OPS, ...LOSS_OPS, ...OPTIM_OPS, ...CVAE_TRAIN_OPS, ...GRAD_EMBEDDING_OPS, ...GRAD_ATTENTION_OPS].map((d) => [d.name, d]),
);

/** The op named `name` (language op from OPS or IR-only op from IR_OPS), or undefined. */
export function getOp(name: string): OpDef | undefined {
  if (Object.prototype.hasOwnProperty.call(OPS, name)) return OPS[name];
  return Object.prototype.hasOwnProperty.call(IR_OPS, name) ? IR_OPS[name] : undefined;
}
