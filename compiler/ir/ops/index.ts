// The op table: every op defined once (ops/*.ts), collected here by name.
// Neighbours: ops/def.ts (entry shape); read by lowering, interpreter, backend, spec and tests.

import type { OpDef } from "./def.js";
import { relu } from "./activation.js";

/** All ops by name. */
export const OPS: Record<string, OpDef> = Object.fromEntries([relu].map((d) => [d.name, d]));

/** The op named `name`, or undefined. */
export function getOp(name: string): OpDef | undefined {
  return Object.prototype.hasOwnProperty.call(OPS, name) ? OPS[name] : undefined;
}
