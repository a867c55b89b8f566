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

/**
 * All ops by name: relu, sigmoid, tanh, leaky_relu, gelu (activation.ts); add, mul (elementwise.ts);
 * dense (dense.ts); conv2d (conv.ts); maxpool2d, avgpool2d, global_avgpool2d (pool.ts);
 * flatten, reshape, concat (shape.ts); batchnorm, softmax, dropout (norm.ts).
 */
export const OPS: Record<string, OpDef> = Object.fromEntries(
  [...ACTIVATION_OPS, ...ELEMENTWISE_OPS, dense, conv2d, ...POOL_OPS, ...SHAPE_OPS, ...NORM_OPS].map((d) => [d.name, d]),
);

/** The op named `name`, or undefined. */
export function getOp(name: string): OpDef | undefined {
  return Object.prototype.hasOwnProperty.call(OPS, name) ? OPS[name] : undefined;
}
